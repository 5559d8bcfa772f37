// Merger (merge/merger.h): groups, aggregates, HAVING, DISTINCT, LIMIT over merged shard rows.
#include "shardproxy/proxy/merge/merger.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <numeric>

#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy::merge {

using router::ColumnRef;
using router::MergeAgg;
using router::MergeColumn;
using router::OpCode;

namespace {

const MergeColumn kAnyColumn{};

bool isComputed(MergeAgg a) {
  return a != MergeAgg::kAny && a != MergeAgg::kMin && a != MergeAgg::kMax;
}

double toDouble(const Number& n) {
  return n.kind == Number::Kind::kExact    ? n.exact.toDouble()
         : n.kind == Number::Kind::kDouble ? n.dbl
                                           : 0;
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
  if (spec.distinct) {
    for (std::size_t i = 0; i < visible_; ++i) {
      // The planner skips the weight of a column its tracked schema says is a number or a date;
      // a string here (the schema changed since) cannot be compared by its collation.
      const bool fixed = i < spec.distinctFixed.size() && spec.distinctFixed[i] != 0;
      if (types_[i].isCollatedString() && !fixed &&
          (i >= spec.distinctWeights.size() || !spec.distinctWeights[i].valid())) {
        return Error::make(ErrorCode::kNotSupportedYet,
                           fmt::format("SELECT DISTINCT over several shards: column {} is a "
                                       "string the proxy's tracked schema did not know; try again",
                                       i + 1));
      }
    }
  }
  // Rows ordered by every column DISTINCT compares (ORDER BY all of them, in any order and
  // direction; the stream's ties are the duplicates) need no set.
  distinctAdjacent_ = spec.distinct && !spec.aggregate && !spec.streamOrder.empty();
  for (std::size_t i = 0; i < visible_ && distinctAdjacent_; ++i) {
    if (i < spec.distinctFixed.size() && spec.distinctFixed[i] != 0) continue;
    bool ordered = false;
    for (const router::SortKey& k : spec.streamOrder)
      ordered = ordered || (!k.column.hidden && k.column.index == i);
    distinctAdjacent_ = ordered;
  }
  havePrevKey_ = false;
  rawRows_ = !spec.aggregate && !spec.distinct && spec.hidden == 0;
  offset_ = spec.offset;
  limit_ = spec.limit.value_or(~std::uint64_t{0});
  collated_.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    collated_[i] = types_[i].isCollatedString() ? 1 : 0;
  // One server that groups in order (by an index, or after a sort) and then sorts the groups
  // again keeps each finished group in a temporary table, AVG there as a DECIMAL of its own scale:
  // an expression over it starts from the rounded average. Grouping in a temporary table (its
  // group columns carry GROUP_FLAG) keeps the sum and count instead. The shards were asked so
  // that they take one server's plan (MergeSpec::groupsSortedAgain): their columns say which.
  roundAvg_ = spec.groupsSortedAgain;
  for (const router::SortKey& g : spec.group) {
    const std::size_t c = abs(g.column);
    if (c < n && (types_[c].flags & fflag::kGroup) != 0) roundAvg_ = false;
  }
  // (A key the shards are sent as an expression — an ENUM's `(e) + 0` — carries no flags of its
  // own; the selected column it is the number of does.)
  for (std::size_t i = 0; i < n && roundAvg_; ++i)
    if (col(i).agg == MergeAgg::kAny && (types_[i].flags & fflag::kGroup) != 0) roundAvg_ = false;
  prefixColumn_ = static_cast<std::size_t>(-1);
  if (!spec.streamOrder.empty() && !spec.rollup) {
    const router::SortKey& first = spec.streamOrder.front();
    const std::size_t c = abs(first.column);
    if (c < n && types_[c].isInteger()) {
      prefixColumn_ = c;
      prefixDesc_ = first.desc;
    }
  }
  stored_.assign(n, Stored{});
  acc_.assign(n, Acc{});
  concat_.assign(n, std::string());
  concatValues_.assign(n, 0);
  cutRows_.clear();
  values_.assign(n, Value{});
  computed_.assign(n, false);
  for (std::size_t i = 0; i < n; ++i)
    computed_[i] = isComputed(col(i).agg);
  rowCells_.assign(n, Cell{});
  padCache_.assign(n, {std::string(), nullptr});
  distinctCollation_.assign(n, {false, std::string()});
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
  rollupColumns_.clear();
  prevRows_.clear();
  prevLevels_.clear();
  havePrev_.clear();
  lastGroup_.assign(spec.rollup ? n : 0, Stored{});
  if (spec.rollup) {
    for (const router::SortKey& k : spec.group) {
      for (ColumnRef r : {k.column, k.weight, k.collation})
        if (r.valid() && abs(r) < n) rollupColumns_.push_back(abs(r));
    }
    prevCells_.assign(n, Cell{});
  }
  groupSets_.assign(spec.distinctSets.size(), {});
  newInSet_.assign(spec.distinctSets.size(), 0);
  groupSetValues_ = 0;
  lastDistinct_.assign(spec.distinctArgs.size(), Stored{});
  lastDistinctWeight_.assign(spec.distinctArgs.size(), Stored{});
  return {};
}

const MergeColumn& Merger::col(std::size_t i) const {
  if (i >= visible_) return spec_->hiddenColumns[i - visible_];
  return i < spec_->visible.size() ? spec_->visible[i] : kAnyColumn;
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

void Merger::failMixedCollations() {
  fail(1235, "42000",
       "Strings under different collations meet in one column of a merge over several shards "
       "(UNION branches whose columns differ in collation, or shards whose definitions differ): "
       "the proxy cannot order or de-duplicate them as one server would; give the branches one "
       "collation with COLLATE, or narrow the query to one shard");
}

int Merger::compareKeys(std::span<const router::SortKey> keys, const Cell* a, const Cell* b) {
  for (const router::SortKey& k : keys) {
    const std::size_t i = abs(k.column);
    Cell wa, wb;
    if (k.weight.valid()) {
      wa = a[abs(k.weight)];
      wb = b[abs(k.weight)];
    }
    CompareError e = CompareError::kNone;
    if (k.collation.valid() && collated_[i] != 0 && !a[i].null && !b[i].null &&
        a[abs(k.collation)].view() != b[abs(k.collation)].view()) {
      failMixedCollations();
      return 0;
    }
    const std::string* pad = collated_[i] != 0 ? padOf(k.collation, a, i) : nullptr;
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
  if (spec_->rollup && rowLevel_ != groupLevel_) return false;
  std::vector<Cell>& g = rowCells_;  // the stored group's cells (refreshed by startGroup)
  return compareKeys(spec_->group, g.data(), row) == 0;
}

void Merger::startGroup(const Cell* row) {
  groupLevel_ = rowLevel_;
  for (std::size_t i = 0; i < types_.size(); ++i) {
    stored_[i].set(row[i]);
    acc_[i] = Acc{};
    concat_[i].clear();
  }
  for (std::size_t i = 0; i < types_.size(); ++i)
    rowCells_[i] = stored_[i].cell();
  haveDistinct_ = false;
  for (auto& set : groupSets_)
    set.clear();
  groupSetValues_ = 0;
  accumulate(row);
  inGroup_ = true;
}

// Whether the row's value of further DISTINCT list `set` is new to the group (a tuple with a NULL
// never counts). Past merge_buffer_rows values in all, the merge fails (1038).
bool Merger::newInSet(const Cell* row, std::size_t set) {
  key_.clear();
  for (const router::SortKey& k : spec_->distinctSets[set]) {
    const std::size_t i = abs(k.column);
    if (row[i].null) return false;
    std::string_view v = row[i].view();
    if (collated_[i] != 0 && k.weight.valid() && !row[abs(k.weight)].null) {
      v = trimPadding(padOf(k.collation, row, i), row[abs(k.weight)].view());
    }
    auto len = static_cast<std::uint32_t>(v.size());
    key_.append(reinterpret_cast<const char*>(&len), 4);
    key_.append(v);
  }
  if (!groupSets_[set].insert(key_).second) return false;
  if (++groupSetValues_ + distinct_.size() + sorted_.size() > setLimit_) {
    fail(1038, "HY001",
         fmt::format("The merge of this query's shards needs more than {} distinct values of a "
                     "group in memory (merge_buffer_rows); narrow it with the shard key",
                     setLimit_));
  }
  return true;
}

void Merger::accumulate(const Cell* row) {
  // COUNT / SUM(DISTINCT x), COUNT(DISTINCT a, b): rows of a group arrive sorted by x (a, b), so
  // a value is new when it differs from the previous row's; a tuple with a NULL never counts.
  bool newDistinct = false;
  const std::vector<router::SortKey>& dks = spec_->distinctArgs;
  bool anyNull = dks.empty();
  for (const router::SortKey& k : dks)
    anyNull = anyNull || row[abs(k.column)].null;
  if (!anyNull) {
    if (!haveDistinct_) {
      newDistinct = true;
    } else {
      // Compare against the stored previous value (and its weight; the collation is the same on
      // every row).
      std::vector<Cell>& prev = scratch_;
      for (std::size_t j = 0; j < dks.size(); ++j) {
        const router::SortKey& k = dks[j];
        prev[abs(k.column)] = lastDistinct_[j].cell();
        if (k.weight.valid()) prev[abs(k.weight)] = lastDistinctWeight_[j].cell();
        if (k.collation.valid()) prev[abs(k.collation)] = row[abs(k.collation)];
      }
      newDistinct = compareKeys(dks, prev.data(), row) != 0;
    }
    if (newDistinct) {
      for (std::size_t j = 0; j < dks.size(); ++j) {
        lastDistinct_[j].set(row[abs(dks[j].column)]);
        if (dks[j].weight.valid()) lastDistinctWeight_[j].set(row[abs(dks[j].weight)]);
      }
      haveDistinct_ = true;
    }
  }
  for (std::size_t s = 0; s < groupSets_.size(); ++s)
    newInSet_[s] = newInSet(row, s) ? 1 : 0;
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
        if (n.kind != Number::Kind::kNull) addToSum(a, n, types_[i].isFloating());
        break;
      }
      case MergeAgg::kCountDistinct:
        if (c.distinctSet == 0 ? newDistinct : newInSet_[c.distinctSet - 1] != 0) ++a.count;
        break;
      case MergeAgg::kSumDistinct: {
        if (!(c.distinctSet == 0 ? newDistinct : newInSet_[c.distinctSet - 1] != 0)) break;
        const std::size_t x =
            abs((c.distinctSet == 0 ? dks : spec_->distinctSets[c.distinctSet - 1]).front().column);
        addToSum(a, numberOf(types_[x], binary_, row[x]), types_[i].isFloating());
        break;
      }
      case MergeAgg::kBitAnd:
      case MergeAgg::kBitOr:
      case MergeAgg::kBitXor: {
        // BIGINT UNSIGNED, never NULL: each shard's partial (its identity over no rows).
        Number n = numberOf(types_[i], binary_, row[i]);
        if (n.kind != Number::Kind::kExact) break;
        const auto bits = static_cast<std::uint64_t>(n.exact.value);
        a.bits = !a.seen                      ? bits
                 : c.agg == MergeAgg::kBitAnd ? a.bits & bits
                 : c.agg == MergeAgg::kBitOr  ? a.bits | bits
                                              : a.bits ^ bits;
        a.seen = true;
        break;
      }
      case MergeAgg::kVarPop:
      case MergeAgg::kVarSamp:
      case MergeAgg::kStdPop:
      case MergeAgg::kStdSamp:
        addMoments(a, c, row);
        break;
      case MergeAgg::kConcat:
        addConcat(i, a, c, row, newDistinct);
        break;
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
          // MIN / MAX compare ENUM and SET values as strings (by their weights), not by number.
          ColumnType t = types_[i];
          t.flags &= static_cast<std::uint16_t>(~(fflag::kEnum | fflag::kSet));
          if (t.type == ftype::kEnum || t.type == ftype::kSet) t.type = ftype::kString;
          int r = compareCells(t, binary_, row[i], cur, w < types_.size() ? row[w] : Cell{},
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

// A value added to a SUM: exactly (DECIMAL, to 38 digits: past them `overflow`), or as a double
// where the sum's column is one.
void Merger::addToSum(Acc& a, const Number& n, bool floating) {
  if (n.kind == Number::Kind::kExact && !floating) {
    auto s = a.seen ? merge::add(a.exact, n.exact) : std::optional<Decimal>(n.exact);
    if (!s) {
      a.overflow = true;
    } else {
      a.exact = *s;
    }
  } else {
    a.dbl += toDouble(n);
  }
  a.seen = true;
}

// A shard's partial moments of x (COUNT, SUM, VAR_POP over its rows of the group) added to the
// group's by Chan, Golub and LeVeque's pairwise update: the means' difference weighs in the
// product of the two counts, so no sum of squares cancels.
void Merger::addMoments(Acc& a, const MergeColumn& c, const Cell* row) const {
  const std::size_t ci = abs(c.count), si = abs(c.sum), vi = abs(c.var);
  Number count = numberOf(types_[ci], binary_, row[ci]);
  if (count.kind != Number::Kind::kExact || count.exact.value <= 0) return;
  const auto nb = static_cast<std::uint64_t>(count.exact.value);
  const double mean = toDouble(numberOf(types_[si], binary_, row[si])) / static_cast<double>(nb);
  const double m2 = toDouble(numberOf(types_[vi], binary_, row[vi])) * static_cast<double>(nb);
  if (a.count == 0) {
    a.count = nb;
    a.dbl = mean;
    a.m2 = m2;
    return;
  }
  const double na = static_cast<double>(a.count);
  const double n = na + static_cast<double>(nb);
  const double delta = mean - a.dbl;
  a.dbl += delta * static_cast<double>(nb) / n;
  a.m2 += m2 + delta * delta * na * static_cast<double>(nb) / n;
  a.count += nb;
}

// A shard's GROUP_CONCAT of the group's values joined to the others' by the separator — or, with
// ORDER BY / DISTINCT, the row's `piece` (its values' bytes) `count` times, or once when new —
// and cut as the server cuts its own at group_concat_max_len bytes: on the last whole character
// (a multi-byte charset's continuation bytes dropped), then nothing more is added.
void Merger::addConcat(std::size_t column, Acc& a, const MergeColumn& c, const Cell* row,
                       bool newDistinct) {
  if (a.overflow) return;
  std::uint64_t max = ~std::uint64_t{0};
  if (c.maxLength.valid()) {
    const std::size_t m = abs(c.maxLength);
    Number n = numberOf(types_[m], binary_, row[m]);
    if (n.kind == Number::Kind::kExact && n.exact.value >= 0)
      max = static_cast<std::uint64_t>(n.exact.value);
  }
  std::string& s = concat_[column];
  const Cell& part = c.piece.valid() ? row[abs(c.piece)] : row[column];
  if (part.null || (c.distinctPieces && !newDistinct)) return;
  std::string_view text = part.view();
  if (c.jsonArray || c.jsonObject) {  // "[1,null]", {"a":1, "b":2}: its elements, members
    if (text.size() < 2) return;
    text = text.substr(1, text.size() - 2);
  }
  std::uint64_t times = 1;
  if (c.piece.valid() && !c.distinctPieces && c.count.valid()) {
    const std::size_t ci = abs(c.count);
    Number n = numberOf(types_[ci], binary_, row[ci]);
    times = n.kind == Number::Kind::kExact && n.exact.value > 0
                ? static_cast<std::uint64_t>(n.exact.value)
                : 0;
  }
  for (std::uint64_t k = 0; k < times && s.size() <= max; ++k) {
    if (a.seen) {
      s.append(c.jsonArray    ? std::string_view(",")
               : c.jsonObject ? std::string_view(", ")
                              : c.separator);
    }
    s.append(text);
    a.seen = true;
    ++concatValues_[column];
  }
  if (s.size() <= max) return;
  if (c.piece.valid()) cutRows_.push_back(concatValues_[column]);
  std::size_t cut = static_cast<std::size_t>(max);
  const std::uint16_t cs = types_[column].charset;
  const bool utf8 = cs == 33 || cs == 45 || cs == 46 || cs == 83 || cs == 192 || cs == 224 ||
                    (cs >= 193 && cs <= 247) || (cs >= 255 && cs <= 323);
  if (utf8) {
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80)
      --cut;
  }
  s.resize(cut);
  a.overflow = true;  // cut: the server adds no more to this group's string
}

bool Merger::admit(const Cell* row) {
  if (spec_->distinct) {
    key_.clear();
    for (std::size_t i = 0; i < visible_; ++i) {
      if (i < spec_->distinctFixed.size() && spec_->distinctFixed[i] != 0) continue;
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
        if (coll.valid() && !row[abs(coll)].null) {
          // Weights compare only under one collation: the first row's is every row's.
          auto& [seen, name] = distinctCollation_[i];
          if (!seen) {
            seen = true;
            name.assign(row[abs(coll)].view());
          } else if (name != row[abs(coll)].view()) {
            failMixedCollations();
            return false;
          }
        }
        if (!w.null) v = trimPadding(padOf(coll, row, i), w.view());
      }
      key_.push_back('\1');
      auto len = static_cast<std::uint32_t>(v.size());
      key_.append(reinterpret_cast<const char*>(&len), 4);
      key_.append(v);
    }
    if (distinctAdjacent_) {
      if (havePrevKey_ && key_ == prevKey_) return false;
      prevKey_.swap(key_);
      havePrevKey_ = true;
    } else if (!distinct_.insert(key_).second) {
      return false;
    } else if (setSize() > setLimit_) {
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
  if (spec_->hidden == 0) {
    protocol::appendPacket(out, payload, seq);
    return;
  }
  std::size_t start = protocol::beginPacket(out);
  if (!binary_) {
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
  if (spec_->rollup) {
    // A super-aggregate row shows, in the columns one server does not recompute for it, what the
    // last group before it held (over every shard: each shard's own row has its last group's).
    const bool group = groupLevel_ == spec_->group.size();
    for (std::size_t i = 0; i < types_.size(); ++i) {
      if (!col(i).fromLastGroup) continue;
      if (group) {
        lastGroup_[i] = stored_[i];
      } else {
        stored_[i] = lastGroup_[i];
        rowCells_[i] = stored_[i].cell();
      }
    }
  }
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
                 std::uint8_t& seq, protocol::ByteView raw) {
  if (error_) return false;
  if (!spec_->aggregate) {
    if (full()) return false;
    // (admit() only counts the OFFSET and checks DISTINCT: neither applies to most rows.)
    if ((!spec_->distinct && skipped_ >= spec_->offset) || admit(row)) {
      if (spec_->hidden == 0 && raw.size() == payload.size() + protocol::kHeaderSize &&
          raw.data() + protocol::kHeaderSize == payload.data()) {
        // The row as the shard framed it; only the sequence id is the client's. (Here, not in
        // writeVisible(): the call per row measured 5 ns of the merge's ~36.)
        out.insert(out.end(), raw.begin(), raw.end());
        out[out.size() - raw.size() + 3] = seq++;
      } else {
        writeVisible(payload, row, out, seq);
      }
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
