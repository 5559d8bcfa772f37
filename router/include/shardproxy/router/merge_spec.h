// How the shards' answers to a multi-shard read combine into the one answer a single server holding
// every row would give.
// Place in the request flow: the planner (planner_merge.cpp) rewrites a SELECT that reads several
// shards — ORDER BY keys, aggregates and GROUP BY keys the merge needs are appended to the select
// list as hidden columns, ORDER BY / LIMIT pushed down — and describes the merge here; the proxy's
// merge engine (proxy/merge_engine.h) executes it over the shards' result streams. The spec refers
// to result columns by position only: it never holds values, so it can be built before any row
// exists, and the engine is tested against it without a planner (docs/merging.md).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::router {

// A column of the per-shard result. Visible columns (the client's select list) count from 0;
// hidden ones (appended by the planner, never sent to the client) count from the first hidden
// column — their absolute position is known only from the result when the list has a `*`.
struct ColumnRef {
  static constexpr std::uint16_t kNone = 0xffff;
  std::uint16_t index = kNone;
  bool hidden = false;
  bool valid() const { return index != kNone; }
  friend bool operator==(const ColumnRef&, const ColumnRef&) = default;
};

// How one column's values from several shards (and several rows of a group) combine.
enum class MergeAgg : std::uint8_t {
  kAny,    // a group key, or a value constant within the group: the first row's
  kCount,  // COUNT(*) / COUNT(x): summed
  kSum,    // SUM(x): summed with the column's type (DECIMAL exact, DOUBLE)
  kMin,    // MIN(x) / MAX(x): compared by type and collation (`weight`)
  kMax,
  kAvg,   // AVG(x): SUM(x) / COUNT(x) from the hidden `sum` and `count` columns
  kExpr,  // an expression over aggregates: MergeSpec::programs[program] after the merge
  // COUNT(DISTINCT x) / SUM(DISTINCT x): the shards group by x too and return rows sorted by it
  // within each group, so equal values from several shards meet; each new MergeSpec::distinctArgs
  // value (a tuple for COUNT(DISTINCT a, b): none of them NULL) counts (adds) once.
  kCountDistinct,
  kSumDistinct,
  // BIT_AND / BIT_OR / BIT_XOR(x): the shards' 64-bit partials combined by the same operation
  // (each shard answers the operation's identity for no rows, as one server does).
  kBitAnd,
  kBitOr,
  kBitXor,
  // VAR_POP / VAR_SAMP / STDDEV_POP / STDDEV_SAMP(x) (VARIANCE, STD, STDDEV): each shard's
  // COUNT(x), SUM(x) and VAR_POP(x) (hidden `count`, `sum`, `var`) combined as partial moments
  // (n, mean, n * variance) by Chan's pairwise update, in doubles as the server's own recurrence.
  kVarPop,
  kVarSamp,
  kStdPop,
  kStdSamp,
  // GROUP_CONCAT(x ...): without DISTINCT or ORDER BY the shards' strings joined by the separator
  // (one server's order of the values is its reading order, which no query fixes); with them the
  // shards group by the ORDER BY keys and the values too (MergeSpec::distinctArgs) and the merge
  // joins `piece` (the values as one string) in that order — `count` times (its rows), or once
  // per new value with DISTINCT. Then cut at the session's group_concat_max_len (hidden
  // `@@group_concat_max_len`: `maxLength`) on a whole character, as the server cuts it.
  kConcat,
};

struct MergeColumn {
  MergeAgg agg = MergeAgg::kAny;
  ColumnRef weight;     // kMin / kMax: WEIGHT_STRING of the value (strings compare by collation)
  ColumnRef collation;  // kMin / kMax: COLLATION() of the value (its trailing-space rule)
  ColumnRef sum;        // kAvg, the variances
  ColumnRef count;      // kAvg, the variances
  ColumnRef var;        // the variances: VAR_POP(x) of the shard's rows
  ColumnRef maxLength;  // kConcat: @@group_concat_max_len
  ColumnRef piece;      // kConcat with DISTINCT / ORDER BY: CAST(CONCAT(x ...) AS BINARY)
  bool distinctPieces = false;  // kConcat: GROUP_CONCAT(DISTINCT ...)
  // kConcat of JSON_ARRAYAGG(x): the shards' arrays without their brackets joined by ',', cut at
  // group_concat_max_len as the server cuts the elements' text, then bracketed again.
  bool jsonArray = false;
  // kConcat of JSON_OBJECTAGG(k, v): the shards' objects' members joined by ", " and braced
  // again, never cut.
  bool jsonObject = false;
  std::string_view separator = ",";  // kConcat (a view into MergeSpec::literals)
  std::uint16_t program = 0;         // kExpr
  // kCountDistinct / kSumDistinct: 0 of MergeSpec::distinctArgs, n of distinctSets[n - 1].
  std::uint8_t distinctSet = 0;
  // kAny under WITH ROLLUP: a column one server does not recompute for a super-aggregate row (a
  // column outside GROUP BY, a repeat of a group key) shows there the value it had in the last
  // group before that row, over all the shards — not one shard's own last group's.
  bool fromLastGroup = false;
};

struct SortKey {
  ColumnRef column;
  ColumnRef weight;     // WEIGHT_STRING(<key>), used when the column is a non-binary string
  ColumnRef collation;  // COLLATION(<key>): whether and how trailing spaces count
  bool desc = false;
};

// An expression evaluated over a merged row (HAVING, expressions over aggregates), in postfix.
enum class OpCode : std::uint8_t {
  kColumn,   // push the merged value of `column`
  kInteger,  // push `text` as an integer, a decimal when it does not fit 64 bits
  kDecimal,  // push `text` as an exact decimal
  kDouble,   // push `text` as a double
  kString,   // push `text`
  kNull,
  kAvg,  // push SUM / COUNT of the columns `column` (sum) and `other` (count)
  kNeg,
  kNot,
  kIsNull,
  kIsNotNull,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kIntDiv,
  kMod,
  kEq,
  kNullSafeEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,  // `count` operands
  kOr,
  kXor,
  kCoalesce,  // COALESCE / IFNULL: the first non-NULL of `count` operands
  kRound,     // ROUND(x, d): `count` 1 (d = 0) or 2
  kTruncate,  // TRUNCATE(x, d)
  kAbs,
  // | & ^ << >> ~ over BIGINT UNSIGNED: operands rounded half away from zero, negatives as two's
  // complement, past the range clamped (as the server's Item_func_bit)
  kBitAnd,
  kBitOr,
  kBitXor,
  kShiftLeft,
  kShiftRight,
  kBitNot,
};

struct Instruction {
  OpCode op = OpCode::kNull;
  ColumnRef column;
  ColumnRef other;
  std::uint16_t count = 2;
  std::string_view text;  // a literal: a view into the statement (valid while the plan is)
};

struct Program {
  std::vector<Instruction> code;
};

struct MergeSpec {
  std::uint16_t hidden = 0;  // trailing columns of each shard row the client never sees
  // Per visible column, when the select list has no `*` (with one, every column is kAny).
  std::vector<MergeColumn> visible;
  std::vector<MergeColumn> hiddenColumns;
  // Rows combine into groups: GROUP BY, or aggregates without it (one group, one row even over
  // no rows).
  bool aggregate = false;
  bool scalar = false;  // aggregates without GROUP BY
  // Equal keys make one group. The shards return rows sorted by `streamOrder`; with
  // `sortGroups` the groups are buffered and sorted by `order` after the merge.
  std::vector<SortKey> group;
  // The x of COUNT / SUM / AVG(DISTINCT x), the a, b of COUNT(DISTINCT a, b) (one per query).
  std::vector<SortKey> distinctArgs;
  // Further DISTINCT lists (COUNT(DISTINCT a) beside COUNT(DISTINCT b)): the shards group by them
  // too, after distinctArgs; their values do not arrive next to each other, so each group keeps
  // the set of them it has seen (bounded by merge_buffer_rows: past it, 1038).
  std::vector<std::vector<SortKey>> distinctSets;
  std::vector<SortKey> streamOrder;  // the order the shards were asked for (the k-way merge)
  std::vector<SortKey> order;        // the client's order, when it differs (sortGroups)
  bool sortGroups = false;
  // One server sorts the groups again after grouping (the shards were sent the client's ORDER BY
  // after the group keys, so they take its plan and send its column definitions).
  bool groupsSortedAgain = false;
  // GROUP BY ... WITH ROLLUP: the shards are sent it too and each returns its super-aggregate
  // rows (the group keys past a level NULL) after the groups they sum up. The merge tells them from
  // groups by their place in each shard's stream (a row that does not sort after the shard's
  // previous row), merges equal rows of equal level, and orders a super-aggregate row after
  // every group it sums up (docs/merging.md). Group keys all ascending.
  bool rollup = false;
  bool distinct = false;
  std::vector<ColumnRef> distinctWeights;     // per visible column: its WEIGHT_STRING (DISTINCT)
  std::vector<ColumnRef> distinctCollations;  // and its COLLATION()
  // Per visible column: the WHERE fixes it (`column = literal`), so every row holds a value equal
  // to the literal under the column's collation: left out of the comparison, and no weight.
  std::vector<std::uint8_t> distinctFixed;
  std::optional<std::uint64_t> limit;  // after the merge
  std::uint64_t offset = 0;
  int having = -1;  // index into programs: rows (groups) for which it is not true are dropped
  std::vector<Program> programs;
  // A prepared statement (COM_STMT_EXECUTE): the shards' SQL is prepared on them in its own
  // right. Its placeholders are the client's minus `droppedParams` (the LIMIT's), in order, then
  // one more when `limitParam`: the pushed-down LIMIT, whose value is `pushedLimit`.
  std::vector<std::uint32_t> droppedParams;
  bool limitParam = false;
  std::uint64_t pushedLimit = 0;
  // The first ask (0: none): the shards are sent the statement with LIMIT `firstLimit` instead
  // of OFFSET + LIMIT (Plan::firstAskSql), the rows the merge needs if they are spread over the
  // shards as hashing spreads rows (firstAskLimit()). When a shard returns that many and the
  // merge needs a row past its last one, the answer is not known from them: nothing has reached
  // the client yet, and every shard is asked again with the full LIMIT (docs/merging.md).
  std::uint64_t firstLimit = 0;
  // SELECT SQL_CALC_FOUND_ROWS: the session asks each shard FOUND_ROWS() afterwards and answers
  // the client's SELECT FOUND_ROWS() with the sum (rows, not groups: only without aggregates
  // and DISTINCT).
  bool calcFoundRows = false;
  std::deque<std::string> literals;  // bound values a program uses (Instruction::text views them)

  const MergeColumn& column(ColumnRef r) const {
    return r.hidden ? hiddenColumns[r.index] : visible[r.index];
  }
};

}  // namespace shardproxy::router

namespace shardproxy::router {

// One line per merge step, for EXPLAIN ROUTE and the golden plan files:
// "aggregate: v0=count v1=avg(h0/h1) | group: h2~h3 | order: v1 desc | limit: 10 offset 5".
// `h2~h3` is a key with its collation weight; `vN` / `hN` visible / hidden columns.
std::string describe(const MergeSpec& spec);

// The LIMIT each of `shards` shards is first asked for when the merge needs `needed` rows
// (OFFSET + LIMIT) in order: the share of one shard when rows and sort keys are unrelated
// (binomial: needed / shards on average) plus five standard deviations, so that fewer than one
// ask in a million under that assumption needs the second, full one. 0 when it would not save
// much: fewer than 3 shards, fewer than 32 rows, more than 10,000 (the merge holds its answer
// until it knows), or a first ask above two thirds of `needed`.
std::uint64_t firstAskLimit(std::uint64_t needed, std::size_t shards);

}  // namespace shardproxy::router
