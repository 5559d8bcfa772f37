// Merger (merge/merger.h): groups, aggregates, HAVING, DISTINCT, LIMIT over merged shard rows.
#include "shardproxy/proxy/merge/merger.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <numeric>

#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy::merge {

using router::ColumnRef;
using router::MergeAgg;
using router::MergeColumn;
using router::OpCode;

namespace {

const MergeColumn kAnyColumn{};

bool isComputed(MergeAgg a) {
  return a == MergeAgg::kCount || a == MergeAgg::kSum || a == MergeAgg::kAvg ||
         a == MergeAgg::kExpr || a == MergeAgg::kCountDistinct || a == MergeAgg::kSumDistinct;
}

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

double toDouble(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  double d = 0;
  std::from_chars(s.data(), s.data() + s.size(), d);
  return d;
}

}  // namespace

Status Merger::init(const router::MergeSpec& spec, std::vector<ColumnType> types, bool binary,
                    std::size_t setLimit) {
  spec_ = &spec;
  types_ = std::move(types);
  binary_ = binary;
  setLimit_ = setLimit;
  if (types_.size() <= spec.hidden ||
      (!spec.visible.empty() && types_.size() - spec.hidden != spec.visible.size())) {
    return Error::make(ErrorCode::kInternal,
                       fmt::format("The shards answered {} columns where the merge expects {} "
                                   "visible and {} hidden",
                                   types_.size(), spec.visible.size(), spec.hidden));
  }
  visible_ = types_.size() - spec.hidden;
  const std::size_t n = types_.size();
  stored_.assign(n, Stored{});
  acc_.assign(n, Acc{});
  values_.assign(n, Value{});
  computed_.assign(n, false);
  for (std::size_t i = 0; i < n; ++i)
    computed_[i] = isComputed(col(i).agg);
  rowCells_.assign(n, Cell{});
  padCache_.assign(n, {std::string(), nullptr});
  scratch_.assign(n, Cell{});
  // AVG columns as one-instruction programs, built once.
  avgProgram_.assign(n, router::Program{});
  for (std::size_t i = 0; i < n; ++i) {
    const MergeColumn& c = col(i);
    if (c.agg != MergeAgg::kAvg) continue;
    router::Instruction in;
    in.op = OpCode::kAvg;
    in.column = c.sum;
    in.other = c.count;
    avgProgram_[i].code.push_back(in);
  }
  stack_.reserve(16);
  distinctKey_.assign(1, spec.distinctArg);
  return {};
}

const MergeColumn& Merger::col(std::size_t i) const {
  if (i >= visible_) return spec_->hiddenColumns[i - visible_];
  return i < spec_->visible.size() ? spec_->visible[i] : kAnyColumn;
}

bool Merger::decode(protocol::ByteView payload, std::span<Cell> cells) const {
  return binary_ ? decodeBinaryRow(payload, types_, cells) : decodeTextRow(payload, cells);
}

void Merger::fail(std::uint16_t code, std::string_view state, std::string message) {
  if (!error_) error_ = Error::fromServer(code, state, std::move(message));
}

const std::string* Merger::padOf(ColumnRef collation, const Cell* row, std::size_t column) {
  if (collation.valid()) {
    const std::size_t c = abs(collation);
    const Cell& name = row[c];
    if (!name.null) {
      auto& [cached, pad] = padCache_[c];
      if (cached != name.view()) {
        cached.assign(name.view());
        pad = padWeight(name.view());
      }
      return pad;
    }
  }
  return padWeight(types_[column].charset);
}

int Merger::compareKeys(const std::vector<router::SortKey>& keys, const Cell* a, const Cell* b) {
  for (const router::SortKey& k : keys) {
    const std::size_t i = abs(k.column);
    Cell wa, wb;
    if (k.weight.valid()) {
      wa = a[abs(k.weight)];
      wb = b[abs(k.weight)];
    }
    CompareError e = CompareError::kNone;
    const std::string* pad = types_[i].isCollatedString() ? padOf(k.collation, a, i) : nullptr;
    int c = compareCells(types_[i], binary_, a[i], b[i], wa, wb, pad, e);
    if (e != CompareError::kNone) {
      fail(1235, "42000",
           e == CompareError::kEnum
               ? "ORDER BY / GROUP BY / MIN / MAX of an ENUM or SET value over several shards "
                 "(the server orders them by their index; not supported yet)"
               : "Cannot compare string values over several shards without their collation "
                 "weights");
      return 0;
    }
    if (c != 0) return k.desc ? -c : c;
  }
  return 0;
}

int Merger::compareStream(const Cell* a, const Cell* b) {
  return compareKeys(spec_->streamOrder, a, b);
}

bool Merger::sameGroup(const Cell* row) {
  std::vector<Cell>& g = rowCells_;  // the stored group's cells (refreshed by startGroup)
  return compareKeys(spec_->group, g.data(), row) == 0;
}

void Merger::startGroup(const Cell* row) {
  for (std::size_t i = 0; i < types_.size(); ++i) {
    stored_[i].set(row[i]);
    acc_[i] = Acc{};
  }
  for (std::size_t i = 0; i < types_.size(); ++i)
    rowCells_[i] = stored_[i].cell();
  lastDistinct_.null = true;
  lastDistinctWeight_.null = true;
  accumulate(row);
  inGroup_ = true;
}

void Merger::accumulate(const Cell* row) {
  // COUNT / SUM(DISTINCT x): rows of a group arrive sorted by x, so a value is new when it differs
  // from the previous row's.
  bool newDistinct = false;
  const router::SortKey& dk = spec_->distinctArg;
  if (dk.column.valid()) {
    const std::size_t x = abs(dk.column);
    if (!row[x].null) {
      if (lastDistinct_.null) {
        newDistinct = true;
      } else {
        // Compare against the stored previous value (and its weight; the collation is the
        // same on every row).
        std::vector<Cell>& prev = scratch_;
        prev[x] = lastDistinct_.cell();
        if (dk.weight.valid()) prev[abs(dk.weight)] = lastDistinctWeight_.cell();
        if (dk.collation.valid()) prev[abs(dk.collation)] = row[abs(dk.collation)];
        newDistinct = compareKeys(distinctKey_, prev.data(), row) != 0;
      }
      if (newDistinct) {
        lastDistinct_.set(row[x]);
        if (dk.weight.valid()) lastDistinctWeight_.set(row[abs(dk.weight)]);
      }
    }
  }
  for (std::size_t i = 0; i < types_.size(); ++i) {
    const MergeColumn& c = col(i);
    Acc& a = acc_[i];
    switch (c.agg) {
      case MergeAgg::kCount: {
        Number n = numberOf(types_[i], binary_, row[i]);
        if (n.kind == Number::Kind::kExact) {
          a.count += static_cast<std::uint64_t>(n.exact.value);
        }
        break;
      }
      case MergeAgg::kSum: {
        Number n = numberOf(types_[i], binary_, row[i]);
        if (n.kind == Number::Kind::kNull) break;
        if (n.kind == Number::Kind::kExact && !types_[i].isFloating()) {
          auto s = a.seen ? merge::add(a.exact, n.exact) : std::optional<Decimal>(n.exact);
          if (!s) {
            a.overflow = true;
          } else {
            a.exact = *s;
          }
        } else {
          a.dbl += n.kind == Number::Kind::kExact ? n.exact.toDouble() : n.dbl;
        }
        a.seen = true;
        break;
      }
      case MergeAgg::kCountDistinct:
        if (newDistinct) ++a.count;
        break;
      case MergeAgg::kSumDistinct: {
        if (!newDistinct) break;
        const std::size_t x = abs(dk.column);
        Number n = numberOf(types_[x], binary_, row[x]);
        if (n.kind == Number::Kind::kExact && !types_[i].isFloating()) {
          auto sum = a.seen ? merge::add(a.exact, n.exact) : std::optional<Decimal>(n.exact);
          if (!sum) {
            a.overflow = true;
          } else {
            a.exact = *sum;
          }
        } else {
          a.dbl += n.kind == Number::Kind::kExact    ? n.exact.toDouble()
                   : n.kind == Number::Kind::kDouble ? n.dbl
                                                     : 0;
        }
        a.seen = true;
        break;
      }
      case MergeAgg::kMin:
      case MergeAgg::kMax: {
        if (row[i].null) break;
        const std::size_t w = c.weight.valid() ? abs(c.weight) : types_.size();
        Cell cur = stored_[i].cell();
        bool take = cur.null;
        if (!take) {
          CompareError e = CompareError::kNone;
          const std::string* pad =
              types_[i].isCollatedString() ? padOf(c.collation, row, i) : nullptr;
          int r = compareCells(types_[i], binary_, row[i], cur, w < types_.size() ? row[w] : Cell{},
                               w < types_.size() ? stored_[w].cell() : Cell{}, pad, e);
          if (e != CompareError::kNone) {
            fail(1235, "42000",
                 "MIN / MAX of a value the proxy cannot compare over several shards (ENUM, SET)");
            return;
          }
          take = c.agg == MergeAgg::kMin ? r < 0 : r > 0;
        }
        if (take) {
          stored_[i].set(row[i]);
          rowCells_[i] = stored_[i].cell();
          if (w < types_.size()) {
            stored_[w].set(row[w]);
            rowCells_[w] = stored_[w].cell();
          }
        }
        break;
      }
      default:
        break;
    }
  }
}

Merger::Value Merger::numberValue(std::size_t column, const Cell& c) const {
  Value v;
  Number n = numberOf(types_[column], binary_, c);
  switch (n.kind) {
    case Number::Kind::kNull:
      break;
    case Number::Kind::kExact:
      v.kind = Value::Kind::kExact;
      v.exact = n.exact;
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
                                           : toDouble(v.str);
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
          // Unrounded (whole 9-digit words), as the server computes AVG(x) * 2 when it does not
          // store the group in a temporary table first (then it rounds AVG to its decimals).
          auto q = divide(s.exact, n.exact, 4);
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
          v.dbl = toDouble(in.text);
        }
        st.push_back(v);
        continue;
      case OpCode::kDouble:
        v.kind = Value::Kind::kDouble;
        v.dbl = toDouble(in.text);
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
    const bool cmpOp = in.op == OpCode::kEq || in.op == OpCode::kNullSafeEq ||
                       in.op == OpCode::kNe || in.op == OpCode::kLt || in.op == OpCode::kLe ||
                       in.op == OpCode::kGt || in.op == OpCode::kGe;
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
      bool r = in.op == OpCode::kEq || in.op == OpCode::kNullSafeEq ? c == 0
               : in.op == OpCode::kNe                               ? c != 0
               : in.op == OpCode::kLt                               ? c < 0
               : in.op == OpCode::kLe                               ? c <= 0
               : in.op == OpCode::kGt                               ? c > 0
                                                                    : c >= 0;
      st.push_back(exactOf(r));
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
                : v->kind == Value::Kind::kString ? toDouble(v->str) != 0
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

bool Merger::admit(const Cell* row) {
  if (spec_->distinct) {
    key_.clear();
    for (std::size_t i = 0; i < visible_; ++i) {
      if (row[i].null) {
        key_.push_back('\0');
        continue;
      }
      std::string_view v = row[i].view();
      if (types_[i].isCollatedString() && i < spec_->distinctWeights.size() &&
          spec_->distinctWeights[i].valid()) {
        const Cell& w = row[abs(spec_->distinctWeights[i])];
        ColumnRef coll =
            i < spec_->distinctCollations.size() ? spec_->distinctCollations[i] : ColumnRef{};
        if (!w.null) v = trimPadding(padOf(coll, row, i), w.view());
      }
      key_.push_back('\1');
      auto len = static_cast<std::uint32_t>(v.size());
      key_.append(reinterpret_cast<const char*>(&len), 4);
      key_.append(v);
    }
    if (!distinct_.insert(key_).second) return false;
    if (setSize() > setLimit_) {
      fail(1038, "HY001",
           fmt::format("The merge of this query's shards needs more than {} distinct rows in "
                       "memory (merge_buffer_rows); narrow it with the shard key or a LIMIT",
                       setLimit_));
      return false;
    }
  }
  if (skipped_ < spec_->offset) {
    ++skipped_;
    return false;
  }
  return true;
}

void Merger::writeVisible(protocol::ByteView payload, const Cell* row, protocol::Bytes& out,
                          std::uint8_t& seq) const {
  std::size_t start = protocol::beginPacket(out);
  if (spec_->hidden == 0) {
    out.insert(out.end(), payload.begin(), payload.end());
  } else if (!binary_) {
    // The visible columns are a prefix of the row.
    std::size_t pos = 0;
    for (std::size_t i = 0; i < visible_; ++i) {
      std::uint8_t b = payload[pos];
      if (b == 0xfb) {
        pos += 1;
        continue;
      }
      std::uint64_t len = row[i].size;
      pos += (b < 0xfb ? 1 : b == 0xfc ? 3 : b == 0xfd ? 4 : 9) + len;
    }
    out.insert(out.end(), payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(pos));
  } else {
    const std::size_t oldBitmap = (types_.size() + 9) / 8;
    const std::size_t newBitmap = (visible_ + 9) / 8;
    out.push_back(0);
    const std::size_t at = out.size();
    out.insert(out.end(), newBitmap, 0);
    for (std::size_t i = 0; i < visible_; ++i) {
      if (row[i].null) out[at + (i + 2) / 8] |= static_cast<std::uint8_t>(1u << ((i + 2) % 8));
    }
    const std::uint8_t* begin = payload.data() + 1 + oldBitmap;
    const std::uint8_t* end = begin;
    for (std::size_t i = visible_; i-- > 0;) {
      if (!row[i].null) {
        end = row[i].data + row[i].size;
        break;
      }
    }
    out.insert(out.end(), begin, end);
  }
  protocol::endPacket(out, start, seq);
}

bool Merger::emitGroup(protocol::Bytes& out, std::uint8_t& seq) {
  inGroup_ = false;
  if (!materialize()) return !error_;
  if (spec_->sortGroups) {
    sorted_.push_back(rowBuf_);
    if (setSize() > setLimit_) {
      fail(1038, "HY001",
           fmt::format("The merge of this query's shards needs more than {} groups in memory "
                       "to sort them (merge_buffer_rows); narrow it with the shard key",
                       setLimit_));
      return false;
    }
    return true;
  }
  if (full()) return false;
  if (admit(rowCells_.data())) {
    writeVisible(protocol::asBytes(rowBuf_), rowCells_.data(), out, seq);
    ++emitted_;
  }
  return !full() && !error_;
}

bool Merger::add(const Cell* row, protocol::ByteView payload, protocol::Bytes& out,
                 std::uint8_t& seq) {
  if (error_) return false;
  if (!spec_->aggregate) {
    if (full()) return false;
    if (admit(row)) {
      writeVisible(payload, row, out, seq);
      ++emitted_;
    }
    return !full() && !error_;
  }
  if (!inGroup_) {
    startGroup(row);
  } else if (spec_->scalar || sameGroup(row)) {
    accumulate(row);
  } else {
    if (!emitGroup(out, seq)) return false;
    startGroup(row);
  }
  return !error_;
}

void Merger::finish(protocol::Bytes& out, std::uint8_t& seq) {
  if (error_) return;
  if (spec_->scalar && !inGroup_ && emitted_ == 0 && sorted_.empty()) {
    // Aggregates without GROUP BY answer one row even over no rows (the shards grouped by a
    // DISTINCT argument and returned none): COUNT 0, the rest NULL.
    std::vector<Cell> none(types_.size());
    startGroup(none.data());
  }
  if (spec_->aggregate && inGroup_ && !emitGroup(out, seq)) {
    if (error_) return;
  }
  if (!spec_->sortGroups || sorted_.empty()) return;
  const std::size_t n = types_.size();
  std::vector<Cell> cells(sorted_.size() * n);
  for (std::size_t r = 0; r < sorted_.size(); ++r) {
    if (!decode(protocol::asBytes(sorted_[r]), std::span<Cell>(cells.data() + r * n, n))) {
      fail(1105, "HY000", "The proxy could not decode a merged row");
      return;
    }
  }
  std::vector<std::size_t> order(sorted_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return compareKeys(spec_->order, cells.data() + a * n, cells.data() + b * n) < 0;
  });
  if (error_) return;
  for (std::size_t r : order) {
    if (full()) break;
    const Cell* row = cells.data() + r * n;
    if (admit(row)) {
      writeVisible(protocol::asBytes(sorted_[r]), row, out, seq);
      ++emitted_;
    }
  }
}

}  // namespace shardproxy::proxy::merge
