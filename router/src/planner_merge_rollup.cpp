// GROUP BY ... WITH ROLLUP over several shards (MergeSpec::rollup): the shards are sent the
// query with its ROLLUP and return their super-aggregate rows after the groups they sum up; the
// merge adds up equal rows of equal level. What is left to the planner: which select-list items
// a super-aggregate row recomputes and which keep a group's value (measured on MariaDB 10.11),
// and what the merge cannot do for such rows (docs/merging.md "WITH ROLLUP").
#include <string>
#include <vector>

#include "planner_merge.h"

namespace shardproxy::router::planning {

namespace {

bool namesKey(const Expr* e, const std::vector<const Expr*>& keys) {
  for (const Expr* k : keys) {
    const auto* a = e->as<Column>();
    const auto* b = k->as<Column>();
    if (a != nullptr && b != nullptr ? sameColumn(*a, *b) : sameText(e->text, k->text)) return true;
  }
  return false;
}

// What `e` reads beside the group keys: a group key inside an expression is replaced by NULL in
// a super-aggregate row (the server evaluates the expression again), a column outside GROUP BY
// holds what the last group's row held.
void readsOf(const Expr* e, const std::vector<const Expr*>& keys, bool& key, bool& other) {
  if (namesKey(e, keys)) {
    key = true;
    return;
  }
  switch (e->kind) {
    case ExprKind::kColumn:
      other = true;
      return;
    case ExprKind::kSubquery:
    case ExprKind::kExists:
      key = other = true;  // (not followed: refused)
      return;
    default:
      forEachChildExpr(e, [&](const Expr* c) { readsOf(c, keys, key, other); });
  }
}

}  // namespace

bool Run::rollupColumns(MergeBuild& m) {
  MergeSpec& spec = m.spec;
  const SelectBlock& b = m.block;
  for (const std::string& c : m.groupColumns) {
    if (!c.empty()) {
      return notSupported(
          "GROUP BY a select-list alias that is also a column's name, WITH ROLLUP, over several "
          "shards");
    }
  }
  spec.rollup = true;
  // The expressions grouped by (a select-list item's own where the key names one), and the items
  // they are: MariaDB shows NULL in a super-aggregate row in that item only — a repeat of it
  // elsewhere in the list keeps the last group's value.
  std::vector<const Expr*>& keys = m.rollupKeys;
  std::vector<bool> keyItem(b.items.size(), false);
  for (const Expr* g : b.groupBy) {
    int item = -1;
    if (const auto* lit = g->as<Literal>(); lit != nullptr && lit->type == LiteralType::kInteger) {
      auto pos = lit->asUint64();
      if (pos && *pos >= 1 && *pos <= b.items.size()) item = static_cast<int>(*pos - 1);
    } else {
      item = matchItem(m, g, true);
    }
    if (item >= 0) {
      keyItem[static_cast<std::size_t>(item)] = true;
      keys.push_back(b.items[static_cast<std::size_t>(item)]->expr);
    } else {
      keys.push_back(g);
    }
  }
  for (std::size_t i = 0; i < b.items.size(); ++i) {
    MergeColumn& c = spec.visible[i];
    if (keyItem[i] || c.agg != MergeAgg::kAny) continue;
    const Expr* e = b.items[i]->expr;
    bool key = false, other = false;
    if (e->kind == ExprKind::kColumn || namesKey(e, keys)) {
      other = true;
    } else {
      readsOf(e, keys, key, other);
    }
    if (key && other) {
      return notSupported(fmt::format(
          "{} reads both a GROUP BY key and a column outside GROUP BY, WITH ROLLUP, over several "
          "shards (its super-aggregate rows' value is not known from the shards' rows)",
          e->text));
    }
    c.fromLastGroup = other;
  }
  return true;
}

bool Run::rollupMergeable(const MergeBuild& m) {
  const MergeSpec& spec = m.spec;
  if (!spec.distinctArgs.empty()) {
    return notSupported(
        "COUNT / SUM / AVG(DISTINCT ...) or GROUP_CONCAT with ORDER BY or DISTINCT, WITH ROLLUP, "
        "over several shards (a super-aggregate row's distinct values span the shards' groups)");
  }
  // A part of HAVING or of an expression over aggregates the shards compute (a hidden column)
  // holds in a super-aggregate row what its shard computed there: right over group keys (NULL
  // where rolled up, as one server evaluates it), not where it reads another column (one shard's
  // last group's value, where one server's is the last group's over every shard).
  for (const auto& [column, e] : m.computed) {
    bool key = false;
    for (const SortKey& g : spec.group)
      key = key || g.column == column;
    if (key) continue;
    bool keys = false, other = false;
    readsOf(e, m.rollupKeys, keys, other);
    if (other) {
      return notSupported(fmt::format(
          "{} in HAVING or an expression over aggregates reads a column outside GROUP BY, WITH "
          "ROLLUP, over several shards",
          e->text));
    }
  }
  return true;
}

}  // namespace shardproxy::router::planning
