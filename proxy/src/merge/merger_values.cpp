// Merger's values (merge/merger.h): numbers of cells, the evaluation of programs (HAVING,
// expressions over aggregates) with MySQL's type rules, and the encoding of a merged group as a
// row in the text or binary protocol.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "shardproxy/proxy/merge/merger.h"
#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy::merge {

using router::ColumnRef;
using router::MergeAgg;
using router::MergeColumn;
using router::OpCode;

namespace {

void lenencHeader(std::string& out, std::uint64_t n) {
  if (n < 251) {
    out.push_back(static_cast<char>(n));
  } else if (n < (1u << 16)) {
    out.push_back(static_cast<char>(0xfc));
    out.push_back(static_cast<char>(n & 0xff));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
  } else if (n < (1u << 24)) {
    out.push_back(static_cast<char>(0xfd));
    for (int i = 0; i < 3; ++i)
      out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  } else {
    out.push_back(static_cast<char>(0xfe));
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
}

void fixedLe(std::string& out, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::size_t fixedWidth(std::uint8_t type) {
  switch (type) {
    case ftype::kTiny:
      return 1;
    case ftype::kShort:
    case ftype::kYear:
      return 2;
    case ftype::kLong:
    case ftype::kInt24:
    case ftype::kFloat:
      return 4;
    case ftype::kLongLong:
    case ftype::kDouble:
      return 8;
    default:
      return 0;
  }
}

bool temporal(std::uint8_t type) {
  return type == ftype::kDate || type == ftype::kDateTime || type == ftype::kTimestamp ||
         type == ftype::kNewDate || type == ftype::kTime;
}

}  // namespace

Merger::Value Merger::numberValue(std::size_t column, const Cell& c) const {
  Value v;
  Number n = numberOf(types_[column], binary_, c);
  switch (n.kind) {
    case Number::Kind::kNull:
      break;
    case Number::Kind::kExact:
      v.kind = Value::Kind::kExact;
      v.exact = n.exact;
      v.temporal = n.temporal;
      break;
    case Number::Kind::kDouble:
      v.kind = Value::Kind::kDouble;
      v.dbl = n.dbl;
      break;
    case Number::Kind::kString:
      v.kind = Value::Kind::kString;
      v.str = n.str;
      break;
  }
  return v;
}

Merger::Value Merger::valueOf(std::size_t column) const {
  if (computed_[column]) return values_[column];
  return numberValue(column, stored_[column].cell());
}

namespace {

bool truthy(const Decimal& d) {
  return d.value != 0;
}

}  // namespace

// `v` where it is compared with `other` and one of them is a date or time: as a DATETIME's or
// (both TIMEs, or a TIME and a non-temporal value) a TIME's number at scale 6.
std::optional<Decimal> Merger::comparableTemporal(const Value& v, const Value& other) {
  using Kind = Value::Kind;
  const bool vTime = v.temporal == ftype::kTime;
  const bool oTime = other.temporal == ftype::kTime;
  if ((vTime && other.temporal != 0 && !oTime) || (oTime && v.temporal != 0 && !vTime)) {
    return std::nullopt;  // a TIME and a date: MariaDB adds the current date
  }
  const bool timeSpace = vTime || oTime;
  if (v.temporal == ftype::kDate) {
    return Decimal{v.exact.value * 1000000 * 1000000, 6};  // its midnight
  }
  if (v.temporal != 0) return v.exact.rescaled(6);
  if (v.kind == Kind::kString) return timeSpace ? timeFromString(v.str) : datetimeFromString(v.str);
  std::optional<Decimal> n = v.exact;
  if (v.kind == Kind::kDouble) n = Decimal::parse(fmt::format("{:.6f}", v.dbl));
  if (v.kind != Kind::kExact && v.kind != Kind::kDouble) n.reset();
  if (!n) return std::nullopt;
  return timeSpace ? n->rescaled(6) : datetimeFromNumber(*n);
}

std::optional<Merger::Value> Merger::evaluate(const router::Program& p) {
  std::vector<Value>& st = stack_;  // reused: no allocation per group
  st.clear();
  auto exactOf = [](bool b) {
    Value v;
    v.kind = Value::Kind::kExact;
    v.exact = Decimal{b ? 1 : 0, 0};
    return v;
  };
  auto asDouble = [](const Value& v) {
    return v.kind == Value::Kind::kDouble  ? v.dbl
           : v.kind == Value::Kind::kExact ? v.exact.toDouble()
                                           : stringToDouble(v.str);
  };
  // Whether a comparison holds for a three-way result c.
  auto holds = [](OpCode op, int c) {
    switch (op) {
      case OpCode::kEq:
      case OpCode::kNullSafeEq:
        return c == 0;
      case OpCode::kNe:
        return c != 0;
      case OpCode::kLt:
        return c < 0;
      case OpCode::kLe:
        return c <= 0;
      case OpCode::kGt:
        return c > 0;
      default:
        return c >= 0;
    }
  };
  // -1 false, 0 NULL, 1 true
  auto truth = [&](const Value& v) {
    if (v.kind == Value::Kind::kNull) return 0;
    if (v.kind == Value::Kind::kExact) return truthy(v.exact) ? 1 : -1;
    return asDouble(v) != 0 ? 1 : -1;
  };
  for (const router::Instruction& in : p.code) {
    Value v;
    switch (in.op) {
      case OpCode::kColumn:
        st.push_back(valueOf(abs(in.column)));
        continue;
      case OpCode::kAvg: {
        Value s = valueOf(abs(in.column));
        Value n = valueOf(abs(in.other));
        if (s.kind == Value::Kind::kNull || n.kind != Value::Kind::kExact || n.exact.value == 0) {
          st.push_back(v);
          continue;
        }
        if (s.kind == Value::Kind::kExact) {
          // Unrounded (whole 9-digit words), as the server computes AVG(x) * 2 unless it keeps
          // finished groups in a temporary table: then AVG is rounded to its decimals first.
          auto q = divide(s.exact, n.exact, 4);
          if (q && roundAvg_)
            q = q->rescaled(static_cast<std::uint8_t>(std::min(s.exact.scale + 4, 38)));
          if (!q) return std::nullopt;
          v.kind = Value::Kind::kExact;
          v.exact = *q;
        } else {
          v.kind = Value::Kind::kDouble;
          v.dbl = asDouble(s) / n.exact.toDouble();
        }
        st.push_back(v);
        continue;
      }
      case OpCode::kInteger:
      case OpCode::kDecimal:
        if (auto d = Decimal::parse(in.text)) {
          v.kind = Value::Kind::kExact;
          v.exact = *d;
        } else {
          v.kind = Value::Kind::kDouble;
          v.dbl = stringToDouble(in.text);
        }
        st.push_back(v);
        continue;
      case OpCode::kDouble:
        v.kind = Value::Kind::kDouble;
        v.dbl = stringToDouble(in.text);
        st.push_back(v);
        continue;
      case OpCode::kString:
        v.kind = Value::Kind::kString;
        v.str = in.text;
        st.push_back(v);
        continue;
      case OpCode::kNull:
        st.push_back(v);
        continue;
      default:
        break;
    }
    if (in.op == OpCode::kCoalesce || in.op == OpCode::kRound || in.op == OpCode::kTruncate ||
        in.op == OpCode::kAbs) {
      if (!applyFunction(in, st)) return std::nullopt;
      continue;
    }
    if (in.op == OpCode::kAnd || in.op == OpCode::kOr) {
      if (st.size() < in.count) return std::nullopt;
      bool anyNull = false, anyTrue = false, anyFalse = false;
      for (std::size_t i = st.size() - in.count; i < st.size(); ++i) {
        int t = truth(st[i]);
        anyNull |= t == 0;
        anyTrue |= t > 0;
        anyFalse |= t < 0;
      }
      st.resize(st.size() - in.count);
      if (in.op == OpCode::kAnd) {
        st.push_back(anyFalse ? exactOf(false) : anyNull ? Value{} : exactOf(true));
      } else {
        st.push_back(anyTrue ? exactOf(true) : anyNull ? Value{} : exactOf(false));
      }
      continue;
    }
    if (in.op == OpCode::kBitNot) {
      if (st.empty()) return std::nullopt;
      if (st.back().kind == Value::Kind::kNull) continue;
      auto x = bitOperand(st.back());
      if (!x) return std::nullopt;
      st.back() = unsignedValue(~*x);
      continue;
    }
    if (in.op == OpCode::kNeg || in.op == OpCode::kNot || in.op == OpCode::kIsNull ||
        in.op == OpCode::kIsNotNull) {
      if (st.empty()) return std::nullopt;
      Value a = st.back();
      st.pop_back();
      if (in.op == OpCode::kIsNull || in.op == OpCode::kIsNotNull) {
        st.push_back(exactOf((a.kind == Value::Kind::kNull) == (in.op == OpCode::kIsNull)));
      } else if (a.kind == Value::Kind::kNull) {
        st.push_back(a);
      } else if (in.op == OpCode::kNot) {
        st.push_back(exactOf(truth(a) < 0));
      } else if (a.kind == Value::Kind::kExact) {
        a.exact.value = -a.exact.value;
        a.temporal = 0;
        st.push_back(a);
      } else {
        v.kind = Value::Kind::kDouble;
        v.dbl = -asDouble(a);
        st.push_back(v);
      }
      continue;
    }
    if (st.size() < 2) return std::nullopt;
    Value b = st.back();
    st.pop_back();
    Value a = st.back();
    st.pop_back();
    const bool anyNull = a.kind == Value::Kind::kNull || b.kind == Value::Kind::kNull;
    if (in.op == OpCode::kNullSafeEq && anyNull) {
      st.push_back(exactOf(a.kind == b.kind));
      continue;
    }
    if (anyNull) {
      st.push_back(Value{});
      continue;
    }
    if (in.op == OpCode::kXor) {
      st.push_back(exactOf((truth(a) > 0) != (truth(b) > 0)));
      continue;
    }
    if (in.op == OpCode::kBitAnd || in.op == OpCode::kBitOr || in.op == OpCode::kBitXor ||
        in.op == OpCode::kShiftLeft || in.op == OpCode::kShiftRight) {
      auto x = bitOperand(a), y = bitOperand(b);
      if (!x || !y) return std::nullopt;
      const std::uint64_t r = in.op == OpCode::kBitAnd      ? *x & *y
                              : in.op == OpCode::kBitOr     ? *x | *y
                              : in.op == OpCode::kBitXor    ? *x ^ *y
                              : *y >= 64                    ? 0
                              : in.op == OpCode::kShiftLeft ? *x << *y
                                                            : *x >> *y;
      st.push_back(unsignedValue(r));
      continue;
    }
    const bool cmpOp = in.op == OpCode::kEq || in.op == OpCode::kNullSafeEq ||
                       in.op == OpCode::kNe || in.op == OpCode::kLt || in.op == OpCode::kLe ||
                       in.op == OpCode::kGt || in.op == OpCode::kGe;
    if (cmpOp && (a.temporal != 0 || b.temporal != 0)) {
      // A date or time compares as one with the other side read as one (MAX(ts) > '2026-06-01',
      // MIN(d) < 20250102, MAX(d) > MIN(ts): a DATE is its midnight).
      auto x = comparableTemporal(a, b);
      auto y = comparableTemporal(b, a);
      if (!x || !y) {
        fail(1235, "42000",
             "Comparing a date or time in HAVING over aggregates of several shards with a value "
             "that is not a valid date or time of its kind (write it as 'YYYY-MM-DD "
             "hh:mm:ss'), or narrow the query to one shard");
        return std::nullopt;
      }
      const int c = compare(*x, *y);
      st.push_back(exactOf(holds(in.op, c)));
      continue;
    }
    if (cmpOp && a.kind == Value::Kind::kString && b.kind == Value::Kind::kString) {
      fail(1235, "42000",
           "Comparing strings in HAVING over aggregates of several shards (the collation is the "
           "server's); compare group keys in HAVING without aggregates, or narrow to one shard");
      return std::nullopt;
    }
    const bool dbl = a.kind != Value::Kind::kExact || b.kind != Value::Kind::kExact;
    if (cmpOp) {
      int c;
      if (dbl) {
        double x = asDouble(a), y = asDouble(b);
        c = x < y ? -1 : x > y ? 1 : 0;
      } else {
        c = compare(a.exact, b.exact);
      }
      st.push_back(exactOf(holds(in.op, c)));
      continue;
    }
    if (dbl) {
      double x = asDouble(a), y = asDouble(b);
      v.kind = Value::Kind::kDouble;
      switch (in.op) {
        case OpCode::kAdd:
          v.dbl = x + y;
          break;
        case OpCode::kSub:
          v.dbl = x - y;
          break;
        case OpCode::kMul:
          v.dbl = x * y;
          break;
        case OpCode::kDiv:
          if (y == 0) v.kind = Value::Kind::kNull;
          v.dbl = y == 0 ? 0 : x / y;
          break;
        case OpCode::kIntDiv:
          if (y == 0) {
            v.kind = Value::Kind::kNull;
          } else {
            v.kind = Value::Kind::kExact;
            v.exact = Decimal{static_cast<__int128>(x / y), 0};
          }
          break;
        case OpCode::kMod:
          if (y == 0) v.kind = Value::Kind::kNull;
          v.dbl = y == 0 ? 0 : std::fmod(x, y);
          break;
        default:
          return std::nullopt;
      }
      st.push_back(v);
      continue;
    }
    std::optional<Decimal> r;
    switch (in.op) {
      case OpCode::kAdd:
        r = merge::add(a.exact, b.exact);
        break;
      case OpCode::kSub:
        r = subtract(a.exact, b.exact);
        break;
      case OpCode::kMul:
        r = multiply(a.exact, b.exact);
        break;
      case OpCode::kDiv:
        if (b.exact.value == 0) {
          st.push_back(Value{});
          continue;
        }
        r = divide(a.exact, b.exact, 4);
        break;
      case OpCode::kIntDiv:
      case OpCode::kMod: {
        if (b.exact.value == 0) {
          st.push_back(Value{});
          continue;
        }
        std::uint8_t s = std::max(a.exact.scale, b.exact.scale);
        auto x = a.exact.rescaled(s), y = b.exact.rescaled(s);
        if (!x || !y) return std::nullopt;
        r = in.op == OpCode::kIntDiv ? Decimal{x->value / y->value, 0}
                                     : Decimal{x->value % y->value, s};
        break;
      }
      default:
        return std::nullopt;
    }
    if (!r) return std::nullopt;
    v.kind = Value::Kind::kExact;
    v.exact = *r;
    st.push_back(v);
  }
  if (st.size() != 1) return std::nullopt;
  return st.back();
}

bool Merger::materialize() {
  const std::size_t n = types_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const MergeColumn& c = col(i);
    Value v;
    const Acc& a = acc_[i];
    if (c.agg == MergeAgg::kCount || c.agg == MergeAgg::kCountDistinct) {
      v.kind = Value::Kind::kExact;
      v.exact = Decimal::fromUint(a.count);
    } else if (c.agg == MergeAgg::kBitAnd || c.agg == MergeAgg::kBitOr ||
               c.agg == MergeAgg::kBitXor) {
      // Over no rows at all (no shard row: its groups were by a DISTINCT argument too), the
      // operation's identity, as every shard would answer.
      v.kind = Value::Kind::kExact;
      v.exact = Decimal::fromUint(a.seen                       ? a.bits
                                  : c.agg == MergeAgg::kBitAnd ? ~std::uint64_t{0}
                                                               : 0);
    } else if (c.agg == MergeAgg::kVarPop || c.agg == MergeAgg::kVarSamp ||
               c.agg == MergeAgg::kStdPop || c.agg == MergeAgg::kStdSamp) {
      // NULL over no rows, and for a sample of one row; 0 for a population of one.
      const bool sample = c.agg == MergeAgg::kVarSamp || c.agg == MergeAgg::kStdSamp;
      if (a.count > (sample ? 1u : 0u)) {
        const double var =
            a.count == 1 ? 0.0
                         : std::max(0.0, a.m2) / static_cast<double>(a.count - (sample ? 1 : 0));
        v.kind = Value::Kind::kDouble;
        v.dbl = c.agg == MergeAgg::kStdPop || c.agg == MergeAgg::kStdSamp ? std::sqrt(var) : var;
      }
    } else if (c.agg == MergeAgg::kConcat) {
      if (a.seen) {
        if (c.jsonArray) concat_[i].insert(0, "[").push_back(']');
        if (c.jsonObject) concat_[i].insert(0, "{").push_back('}');
        v.kind = Value::Kind::kString;
        v.str = concat_[i];
      }
    } else if (c.agg == MergeAgg::kSum || c.agg == MergeAgg::kSumDistinct) {
      if (a.overflow) {
        fail(1235, "42000", "A SUM over several shards exceeds 38 digits (not supported yet)");
        return false;
      }
      if (a.seen) {
        if (types_[i].isFloating()) {
          v.kind = Value::Kind::kDouble;
          v.dbl = a.dbl;
        } else {
          v.kind = Value::Kind::kExact;
          v.exact = a.exact;
        }
      }
    }
    values_[i] = v;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const MergeColumn& c = col(i);
    if (c.agg == MergeAgg::kAvg) {
      auto v = evaluate(avgProgram_[i]);
      if (!v) {
        fail(1235, "42000", "AVG over several shards could not be computed exactly");
        return false;
      }
      values_[i] = *v;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const MergeColumn& c = col(i);
    if (c.agg != MergeAgg::kExpr) continue;
    if (types_[i].isTemporal()) {
      // A date the merge computed would print as its number: refused, never misprinted.
      fail(1235, "42000",
           "An expression over aggregates of several shards whose value is a date or time (not "
           "supported yet); narrow the query to one shard");
      return false;
    }
    auto v = evaluate(spec_->programs[c.program]);
    if (!v) {
      fail(1235, "42000", "An expression over aggregates could not be evaluated after the merge");
      return false;
    }
    values_[i] = *v;
  }
  if (spec_->having >= 0) {
    auto v = evaluate(spec_->programs[static_cast<std::size_t>(spec_->having)]);
    if (!v) {
      fail(1235, "42000", "HAVING could not be evaluated after the merge");
      return false;
    }
    bool pass = v->kind == Value::Kind::kExact    ? v->exact.value != 0
                : v->kind == Value::Kind::kDouble ? v->dbl != 0
                : v->kind == Value::Kind::kString ? stringToDouble(v->str) != 0
                                                  : false;
    if (!pass) return false;
  }
  encodeRow(rowBuf_);
  if (!decode(protocol::asBytes(rowBuf_), rowCells_)) {
    fail(1105, "HY000", "The proxy could not encode a merged row");
    return false;
  }
  return true;
}

void Merger::appendValue(std::string& out, std::size_t column, const Value& v) {
  const ColumnType& t = types_[column];
  std::string text;
  if (binary_) {
    if (std::size_t w = fixedWidth(t.type); w != 0) {
      if (t.type == ftype::kDouble || t.type == ftype::kFloat) {
        double d = v.kind == Value::Kind::kExact ? v.exact.toDouble() : v.dbl;
        if (t.type == ftype::kFloat) {
          float f = static_cast<float>(d);
          std::uint32_t bits;
          std::memcpy(&bits, &f, 4);
          fixedLe(out, bits, 4);
        } else {
          std::uint64_t bits;
          std::memcpy(&bits, &d, 8);
          fixedLe(out, bits, 8);
        }
        return;
      }
      std::int64_t i = 0;
      if (v.kind == Value::Kind::kExact) {
        auto r = v.exact.rescaled(0);
        i = r ? static_cast<std::int64_t>(r->value) : 0;
      } else {
        i = static_cast<std::int64_t>(v.dbl);
      }
      fixedLe(out, static_cast<std::uint64_t>(i), static_cast<int>(w));
      return;
    }
  }
  if (t.isInteger()) {
    if (v.kind == Value::Kind::kExact) {
      auto r = v.exact.rescaled(0);
      if (r) r->appendTo(text);
    } else {
      text = fmt::format("{}", static_cast<std::int64_t>(v.dbl));
    }
  } else if (t.isDecimal()) {
    if (v.kind == Value::Kind::kExact) {
      auto r = v.exact.rescaled(t.decimals);
      if (r) r->appendTo(text);
    } else {
      text = fmt::format("{:.{}f}", v.dbl, t.decimals);
    }
  } else if (t.isFloating()) {
    double d = v.kind == Value::Kind::kExact ? v.exact.toDouble() : v.dbl;
    appendDouble(text, d, t.type == ftype::kFloat, t.decimals);
  } else if (v.kind == Value::Kind::kString) {
    text = std::string(v.str);
  } else if (v.kind == Value::Kind::kExact) {
    v.exact.appendTo(text);
  } else {
    appendDouble(text, v.dbl, false);
  }
  lenencHeader(out, text.size());
  out.append(text);
}

void Merger::encodeRow(std::string& out) {
  out.clear();
  const std::size_t n = types_.size();
  std::size_t bitmapAt = 0;
  if (binary_) {
    out.push_back(0);
    bitmapAt = out.size();
    out.append((n + 7 + 2) / 8, '\0');
  }
  for (std::size_t i = 0; i < n; ++i) {
    const bool isNull = computed_[i] ? values_[i].kind == Value::Kind::kNull : stored_[i].null;
    if (isNull) {
      if (binary_) {
        out[bitmapAt + (i + 2) / 8] =
            static_cast<char>(out[bitmapAt + (i + 2) / 8] | (1 << ((i + 2) % 8)));
      } else {
        out.push_back(static_cast<char>(0xfb));
      }
      continue;
    }
    if (computed_[i]) {
      appendValue(out, i, values_[i]);
      continue;
    }
    const std::string& b = stored_[i].bytes;
    if (binary_) {
      if (fixedWidth(types_[i].type) != 0) {
        out.append(b);
        continue;
      }
      if (temporal(types_[i].type)) {
        out.push_back(static_cast<char>(b.size()));
        out.append(b);
        continue;
      }
    }
    lenencHeader(out, b.size());
    out.append(b);
  }
}

}  // namespace shardproxy::proxy::merge
