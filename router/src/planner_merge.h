// What planner_merge.cpp (SELECT blocks) and planner_union.cpp (UNION) share while they build a
// merge (router/merge_spec.h). Not a public header: router/src only.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planner_internal.h"

namespace shardproxy::router::planning {

// The merge being built: the hidden columns' SQL and the spec.
struct MergeBuild {
  const SelectBlock& block;
  MergeSpec& spec;
  std::string hiddenSql;
  std::vector<std::string_view> hiddenTexts;  // for de-duplication ("WEIGHT_STRING(" + x + ")"
  std::deque<std::string> ownedTexts;         //  texts are owned here; a deque keeps them put)
  bool star = false;
  std::string_view distinctArgText;  // the x of the query's COUNT / SUM / AVG(DISTINCT x)
  std::vector<std::string_view> distinctSetTexts;  // and of its further lists (distinctSets)
  bool concatList = false;      // distinctArgText is a GROUP_CONCAT's ORDER BY / DISTINCT list
  std::string distinctGroupBy;  // SELECT DISTINCT sent as GROUP BY these (planMerge)
  bool having = false;          // compiling HAVING: names resolve to select-list items
  std::vector<std::uint16_t> indexKeys;  // hidden `(e) + 0` of selected ENUM / SET items
  // Per GROUP BY key: the table's column it names though an alias has its name (Run::
  // groupByColumn), qualified; empty where the key is what it looks like.
  std::vector<std::string> groupColumns;
  // Text inserted into the shards' copy of the select list, at offsets of the statement's text:
  // a GROUP_CONCAT the merge joins from values is sent as `GROUP_CONCAT(... LIMIT 0) AS name` —
  // the same column definition, and no cut (with its 1260 warning) of a sub-group's string.
  std::vector<std::pair<std::size_t, std::string>> edits;
  // Hidden columns the shards compute for HAVING or an expression over aggregates (a part without
  // aggregates), with the expression each is; and, WITH ROLLUP, the expressions grouped by
  // (planner_merge_rollup.cpp).
  std::vector<std::pair<ColumnRef, const Expr*>> computed;
  std::vector<const Expr*> rollupKeys;       // the keys that are plain columns
  std::vector<const Expr*> rollupMixedKeys;  // the keys that are expressions over those
};

// The DISTINCT lists the shards also group by, "x, a, b": MergeBuild::distinctArgText, then
// distinctSetTexts.
void appendDistinctLists(std::string& out, const MergeBuild& m);

// text[from, to) with the edits whose offsets are in (from, to] inserted (in offset order).
void appendEdited(std::string& out, std::string_view text, std::size_t from, std::size_t to,
                  const std::vector<std::pair<std::size_t, std::string>>& edits);

// What a tracked column's DATA_TYPE holds, as the merge and MariaDB's planner tell them apart.
enum class DataClass : std::uint8_t { kNumber, kTemporal, kYear, kText, kBytes, kOther };
DataClass dataClass(std::string_view dataType);

bool isMergeableAggregate(const Function& f, MergeAgg& agg);
MergeColumn aggColumn(MergeAgg agg);
// The hidden per-shard columns an aggregate's merge reads besides its own: SUM and COUNT for AVG,
// COUNT, SUM and VAR_POP for the variances and standard deviations.
void addAggregateInputs(MergeBuild& m, const Function& f, MergeColumn& c);
Instruction instruction(OpCode op);
bool containsAggregate(const Expr* e);
// A BIT_AND / BIT_OR / BIT_XOR call in `e`.
bool containsBitAggregate(const Expr* e);
// Texts compared as the server would resolve them: case and spacing do not matter.
bool sameText(std::string_view a, std::string_view b);
bool sameColumn(const Column& a, const Column& b);
// The hidden column for `text` (shared when the same text and merge are already there).
ColumnRef addHidden(MergeBuild& m, std::string_view text, MergeColumn column);
ColumnRef addHiddenOwned(MergeBuild& m, std::string text, MergeColumn column);
// WEIGHT_STRING(expr) / COLLATION(expr) as hidden columns.
ColumnRef weightOf(MergeBuild& m, std::string_view exprText);
ColumnRef collationOf(MergeBuild& m, std::string_view exprText);
// `(expr) + 0` as a hidden column: an ENUM / SET member's number (how the server orders them).
ColumnRef memberNumberOf(MergeBuild& m, std::string_view exprText);

// A `?` outside quotes in `sql`.
bool hasPlaceholder(std::string_view sql);
// The offset of each `?` outside quotes and comments, in text order: the i-th is parameter i.
std::vector<std::size_t> placeholderOffsets(std::string_view sql);
// The select-list item an ORDER BY / GROUP BY expression names (by alias when `aliases`, by
// column, by text), or -1.
int matchItem(const MergeBuild& m, const Expr* e, bool aliases);
// The select-list item an identifier in HAVING names, or -1 for the table's column.
int havingItem(const MergeBuild& m, const Column& c);
// Whether a HAVING expression involves aggregates: calls, or names of items that are.
bool havingAggregates(const MergeBuild& m, const Expr* e);
// A name in the expression `e` (an ORDER BY key; not inside an aggregate) that is the alias of an
// item over aggregates and no column of `table`: MariaDB refuses it (1247).
const Column* aggregateAliasIn(const MergeBuild& m, const Expr* e, const TrackedTable& table);
// `e`'s text with each name HAVING resolves to a select-list alias spelled as that item.
std::string spelledAliases(const MergeBuild& m, const Expr* e);

// planner_merge_shape.cpp: whether the WHERE fixes a GROUP BY / ORDER BY key for MariaDB's
// planner (`table`: the one table read, as tracked; `collation`: the session's
// collation_connection), and whether one server sorts the groups again after grouping.
bool fixedKey(const SelectBlock& b, const Expr* e, const TrackedTable* table,
              std::string_view collation);
bool sortsGroupsAgain(const SelectBlock& b, const Query& q, const MergeSpec& spec,
                      const TrackedTable* table, std::string_view collation);
// The select options without DISTINCT / DISTINCTROW, one space apart ("" when that was all).
std::string withoutDistinct(std::string_view options);
// The GROUP BY one server makes of the SELECT DISTINCT `b` (the ORDER BY's columns first, then the
// others); empty where the shards must be sent the DISTINCT itself.
std::string distinctGroupList(const SelectBlock& b, const Query& q, const MergeSpec& spec);
// Whether one server answers the SELECT DISTINCT `q` (its ORDER BY keys in `spec.order`) as a
// GROUP BY of the select list; std::nullopt when that depends on its indexes.
std::optional<bool> distinctBecomesGroup(const SelectBlock& b, const Query& q,
                                         const MergeSpec& spec, const TrackedTable* table,
                                         std::string_view collation);

}  // namespace shardproxy::router::planning
