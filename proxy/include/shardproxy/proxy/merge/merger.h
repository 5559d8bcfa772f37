// The merge of several shards' rows into one answer, as router::MergeSpec describes it: the
// order of the k-way merge, groups and their aggregates, HAVING, DISTINCT, LIMIT / OFFSET and the
// rows the client finally gets (hidden columns removed). No I/O: the merge engine
// (merge_engine.h) reads the shards' packets and hands the rows here, so this is tested with
// rows built in memory.
// Place in the request flow: ClientSession::executeMulti → relayMergeSpec() → Merger.
// Memory: the current group, or — only where the query needs a set (DISTINCT, groups sorted by
// an aggregate) — up to `setLimit` rows; past it the merge fails with a clear error.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "shardproxy/common/errors.h"
#include "shardproxy/proxy/merge/cells.h"
#include "shardproxy/router/merge_spec.h"

namespace shardproxy::proxy::merge {

class Merger {
 public:
  // `types`: every column of a shard row (visible then hidden), from the first shard's column
  // definitions. Fails when the shards' rows cannot carry the spec (too few columns).
  Status init(const router::MergeSpec& spec, std::vector<ColumnType> types, bool binary,
              std::size_t setLimit);

  std::size_t columns() const { return types_.size(); }
  std::size_t visible() const { return visible_; }
  bool binary() const { return binary_; }
  bool ordered() const { return !spec_->streamOrder.empty(); }

  // Decodes a shard row into `cells` (columns() of them).
  bool decode(protocol::ByteView payload, std::span<Cell> cells) const {
    return binary_ ? decodeBinaryRow(payload, types_, cells) : decodeTextRow(payload, cells);
  }

  // The k-way merge order of two decoded rows (<0: a first). Errors are latched in error().
  int compareStream(const Cell* a, const Cell* b);

  // The k-way merge's first sort key as a rank, when it is an integer column: the engine keeps
  // it beside each shard's head row, so most steps of the merge are one integer comparison per
  // shard (without a branch to mispredict). The rank never contradicts compareStream() (a lower
  // rank sorts first) but may tie where the rows differ: NULL ranks as 0 ascending and as
  // kEndRank descending, where values rank as themselves (complemented for DESC), and a shard with
  // no row left ranks kEndRank. Heads of the same rank are compared with compareStream().
  static constexpr std::uint64_t kEndRank = ~std::uint64_t{0};
  bool hasStreamRank() const { return prefixColumn_ < types_.size(); }
  std::uint64_t streamRank(const Cell* row) const {
    const Cell& c = row[prefixColumn_];
    if (c.null) return prefixDesc_ ? kEndRank : 0;
    const std::uint64_t v = integerOrderKey(types_[prefixColumn_], binary_, c);
    return prefixDesc_ ? ~v : v;
  }

  // GROUP BY ... WITH ROLLUP (MergeSpec::rollup): each shard's stream holds its groups and, after
  // the groups they sum up, its super-aggregate rows. A row's level is how many group keys it
  // holds (all of them for a group, fewer for a super-aggregate row, whose keys past its level
  // are NULL), told from the same shard's previous row: a row that does not sort after it is
  // the next super-aggregate row. rollupLevel() reads shard `source`'s rows in its order.
  bool rollup() const { return spec_->rollup; }
  std::uint16_t rollupLevel(std::size_t source, const Cell* row);
  // The merge order of two rows of given levels: by their common keys, then a super-aggregate
  // row after the groups (and deeper super-aggregate rows) it sums up.
  int compareRollup(const Cell* a, std::uint16_t levelA, const Cell* b, std::uint16_t levelB);
  // The level of the row the next add() hands (rollup only).
  void setRowLevel(std::uint16_t level) { rowLevel_ = level; }

  // Hands one row, in merge order. The packets of rows the client gets are appended to `out`
  // (framed, sequence ids from `seq`). Returns false when nothing more can be emitted (LIMIT
  // reached) or on error: the caller stops reading rows (and drains the shards).
  // `raw`: the row's packet as received (header and payload), when the caller has it whole: a
  // row passed on unchanged is then copied in one piece.
  bool add(const Cell* row, protocol::ByteView payload, protocol::Bytes& out, std::uint8_t& seq,
           protocol::ByteView raw = {});
  // add() of a row passed on as its shard framed it (`raw`: its whole packet), inline: the rows
  // of a plain ORDER BY (no aggregate, DISTINCT or hidden column) once the OFFSET is skipped, most
  // of the rows a merge sees. False when this row is not such a row (call add() instead, which
  // also tells when the LIMIT was reached); after a true, done() does.
  bool addRaw(protocol::ByteView raw, protocol::Bytes& out, std::uint8_t& seq) {
    if (!rawRows_ || raw.empty() || skipped_ < offset_ || emitted_ >= limit_ || error_) {
      return false;
    }
    out.insert(out.end(), raw.begin(), raw.end());
    out[out.size() - raw.size() + 3] = seq++;
    ++emitted_;
    return true;
  }
  // Nothing more can be emitted: the LIMIT was reached, or an error latched.
  bool done() const { return emitted_ >= limit_ || error_.has_value(); }
  // After the last row: the last group, the buffered groups in their order.
  void finish(protocol::Bytes& out, std::uint8_t& seq);
  // Rows buffered or remembered for the query's sets (DISTINCT, sorted groups, the group's values
  // of further DISTINCT lists).
  std::size_t setSize() const { return distinct_.size() + sorted_.size() + groupSetValues_; }

  const std::optional<Error>& error() const { return error_; }
  // A GROUP_CONCAT the merge cut (ORDER BY or DISTINCT inside: the shards sent its values, not
  // their own cut strings): the server's 1260 "Row N was cut by GROUP_CONCAT()", N counting the
  // values that column's groups took so far as the server counts them, one per cut group.
  const std::vector<std::uint64_t>& cutRows() const { return cutRows_; }
  std::uint64_t emitted() const { return emitted_; }  // rows written for the client

 private:
  struct Stored {
    std::string bytes;
    bool null = true;
    Cell cell() const {
      return null ? Cell{}
                  : Cell{reinterpret_cast<const std::uint8_t*>(bytes.data()),
                         static_cast<std::uint32_t>(bytes.size()), false};
    }
    void set(const Cell& c) {
      null = c.null;
      if (!c.null) bytes.assign(reinterpret_cast<const char*>(c.data), c.size);
    }
  };
  struct Acc {
    std::uint64_t count = 0;
    Decimal exact;
    double dbl = 0;
    bool seen = false;  // a non-NULL partial was added
    bool overflow = false;
    std::uint64_t bits = 0;  // BIT_AND / BIT_OR / BIT_XOR
    double m2 = 0;           // the variances: n * variance of the rows so far (mean in `dbl`)
  };
  struct Value {
    enum class Kind : std::uint8_t { kNull, kExact, kDouble, kString } kind = Kind::kNull;
    Decimal exact;
    double dbl = 0;
    std::string_view str;
    std::uint8_t temporal = 0;  // a date / time as its number (cells.h: Number::temporal)
  };
  static std::optional<Decimal> comparableTemporal(const Value& v, const Value& other);
  std::optional<std::uint64_t> bitOperand(const Value& v);
  static Value unsignedValue(std::uint64_t bits);
  // COALESCE / ROUND / TRUNCATE / ABS over the top `in.count` values of `st` (replaced by the
  // result); false (the query failed) where MySQL's answer would not be this one's.
  bool applyFunction(const router::Instruction& in, std::vector<Value>& st);

  std::size_t abs(router::ColumnRef r) const { return r.hidden ? visible_ + r.index : r.index; }
  const router::MergeColumn& col(std::size_t i) const;
  int compareKeys(std::span<const router::SortKey> keys, const Cell* a, const Cell* b);
  // The space weight of the collation named by row[collation] (COLLATION(expr)), else of the
  // column definition's collation id; cached per column (the name is the same on every row).
  const std::string* padOf(router::ColumnRef collation, const Cell* row, std::size_t column);
  bool sameGroup(const Cell* row);
  void startGroup(const Cell* row);
  void accumulate(const Cell* row);
  static void addToSum(Acc& a, const Number& n, bool floating);
  void addMoments(Acc& a, const router::MergeColumn& c, const Cell* row) const;
  void addConcat(std::size_t column, Acc& a, const router::MergeColumn& c, const Cell* row,
                 bool newDistinct);
  // Computes the group's row (all columns), HAVING; false when HAVING drops it.
  bool materialize();
  Value valueOf(std::size_t column) const;
  Value numberValue(std::size_t column, const Cell& c) const;
  std::optional<Value> evaluate(const router::Program& p);
  void encodeRow(std::string& out);
  void appendValue(std::string& out, std::size_t column, const Value& v);
  bool admit(const Cell* row);  // DISTINCT, OFFSET; false = skip this row
  void writeVisible(protocol::ByteView payload, const Cell* row, protocol::Bytes& out,
                    std::uint8_t& seq) const;
  bool emitGroup(protocol::Bytes& out, std::uint8_t& seq);
  void fail(std::uint16_t code, std::string_view state, std::string message);
  bool full() const { return spec_->limit && emitted_ >= *spec_->limit; }

  const router::MergeSpec* spec_ = nullptr;
  std::vector<ColumnType> types_;
  std::vector<std::uint8_t> collated_;  // per column: types_[i].isCollatedString()
  std::size_t prefixColumn_ = static_cast<std::size_t>(-1);  // hasStreamRank()
  bool prefixDesc_ = false;
  std::size_t visible_ = 0;
  bool binary_ = false;
  bool roundAvg_ = false;  // an AVG in an expression is rounded to its scale first (init())
  std::size_t setLimit_ = 0;
  std::optional<Error> error_;

  // WITH ROLLUP: per shard its previous row's key columns (`rollupColumns_`) and level; the
  // group's level and the next row's; the last group's values of fromLastGroup columns.
  std::vector<std::size_t> rollupColumns_;
  std::vector<std::vector<Stored>> prevRows_;
  std::vector<std::uint16_t> prevLevels_;
  std::vector<std::uint8_t> havePrev_;
  std::vector<Cell> prevCells_;
  std::uint16_t rowLevel_ = 0;
  std::uint16_t groupLevel_ = 0;
  std::vector<Stored> lastGroup_;

  // The current group.
  bool inGroup_ = false;
  std::vector<Stored> stored_;
  // The group's previous DISTINCT argument values (one per argument) and their collation weights.
  std::vector<Stored> lastDistinct_;
  std::vector<Stored> lastDistinctWeight_;
  bool haveDistinct_ = false;  // lastDistinct_ holds a value of this group
  // Per further DISTINCT list (MergeSpec::distinctSets): the group's values so far (their keys:
  // collation weights of strings, values of the rest), whether this row's is new, and how many
  // the sets hold together.
  std::vector<std::unordered_set<std::string>> groupSets_;
  std::vector<std::uint8_t> newInSet_;
  std::size_t groupSetValues_ = 0;
  bool newInSet(const Cell* row, std::size_t set);
  std::vector<Cell> scratch_;
  std::vector<router::Program> avgProgram_;  // per column: SUM / COUNT for an AVG column
  std::vector<Value> stack_;                 // evaluate()'s
  std::vector<Acc> acc_;
  std::vector<std::string> concat_;          // GROUP_CONCAT per column: the group's string (reused)
  std::vector<std::uint64_t> concatValues_;  // per column: values taken over every group
  std::vector<std::uint64_t> cutRows_;
  std::vector<Value> values_;   // materialize(): per column, computed ones
  std::vector<bool> computed_;  // per column: values_ holds it (not stored_)
  std::string rowBuf_;          // the group's row as a shard row payload
  std::vector<Cell> rowCells_;

  // Groups buffered for sorting (sortGroups).
  std::vector<std::string> sorted_;

  std::vector<std::pair<std::string, const std::string*>> padCache_;
  std::vector<std::pair<bool, std::string>> distinctCollation_;  // DISTINCT: the first row's
  void failMixedCollations();
  std::unordered_set<std::string> distinct_;
  std::string key_;
  // DISTINCT whose rows arrive ordered by every column it compares: duplicates are next to each
  // other, and the previous row's key is all the merge keeps (no set, no merge_buffer_rows).
  bool distinctAdjacent_ = false;
  bool havePrevKey_ = false;
  std::string prevKey_;
  std::uint64_t skipped_ = 0;  // OFFSET rows skipped so far
  // addRaw()'s: rows pass unchanged (no aggregate, DISTINCT, hidden column); the spec's OFFSET and
  // LIMIT (no LIMIT: the largest count).
  bool rawRows_ = false;
  std::uint64_t offset_ = 0;
  std::uint64_t limit_ = ~std::uint64_t{0};
  std::uint64_t emitted_ = 0;
};

}  // namespace shardproxy::proxy::merge
