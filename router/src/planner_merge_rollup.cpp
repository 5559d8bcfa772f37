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

// Whether MariaDB's item for `e` is a function (Item_func: operators, comparisons, CASE, CAST,
// IS NULL, ... — not AND / OR, a row, a subquery, a literal or a column).
bool isFunction(const Expr* e) {
  switch (e->kind) {
    case ExprKind::kUnary:
    case ExprKind::kBinary:
    case ExprKind::kIs:
    case ExprKind::kLike:
    case ExprKind::kIn:
    case ExprKind::kBetween:
    case ExprKind::kFunction:
    case ExprKind::kCase:
    case ExprKind::kCast:
    case ExprKind::kInterval:
    case ExprKind::kCollate:
    case ExprKind::kMatch:
      return true;
    default:
      return false;
  }
}

bool hasColumn(const Expr* e, bool& subquery) {
  if (e->kind == ExprKind::kSubquery || e->kind == ExprKind::kExists) subquery = true;
  if (e->kind == ExprKind::kColumn) return true;
  bool found = false;
  forEachChildExpr(e, [&](const Expr* c) { found = hasColumn(c, subquery) || found; });
  return found;
}

// MariaDB (10.11, JOIN::rollup_init and change_group_ref): in a select-list item that is a
// function, each argument that is a column grouped by (a GROUP BY key that is a plain column) is
// replaced by that key — NULL in a super-aggregate row that rolls it up — and so on through the
// arguments that are functions themselves; every other column (one outside GROUP BY, one under
// AND / OR or in a row, a column inside a key that is an expression) keeps what it held in the
// last group's row. `key`: the item reads a replaced column; `other`: one that is not.
void readsOf(const Expr* e, const std::vector<const Expr*>& columnKeys, bool& key, bool& other,
             bool& subquery) {
  forEachChildExpr(e, [&](const Expr* c) {
    if (c->kind == ExprKind::kColumn) {
      (namesKey(c, columnKeys) ? key : other) = true;
    } else if (isFunction(c)) {
      readsOf(c, columnKeys, key, other, subquery);
    } else if (hasColumn(c, subquery)) {
      other = true;
    }
  });
}

template <typename F>
void forEachExpr(const Expr* e, F&& f) {
  f(e);
  forEachChildExpr(e, [&](const Expr* x) { forEachExpr(x, f); });
}

template <typename F>
void forEachColumn(const Expr* e, F&& f) {
  if (const auto* c = e->as<Column>()) {
    f(*c);
    return;
  }
  forEachChildExpr(e, [&](const Expr* x) { forEachColumn(x, f); });
}

// Whether `e` is a number or a date whichever its arguments (the merge compares those by value,
// never by their WEIGHT_STRING): comparisons, arithmetic, and functions such as YEAR() or FLOOR().
bool numberValued(const Expr* e) {
  static constexpr std::string_view kNumbers[] = {
      "YEAR",      "MONTH",          "DAY",          "DAYOFMONTH",  "DAYOFWEEK",
      "DAYOFYEAR", "WEEK",           "WEEKDAY",      "QUARTER",     "HOUR",
      "MINUTE",    "SECOND",         "TO_DAYS",      "DATE",        "DATEDIFF",
      "FLOOR",     "CEIL",           "CEILING",      "ROUND",       "TRUNCATE",
      "ABS",       "SIGN",           "LENGTH",       "CHAR_LENGTH", "BIT_LENGTH",
      "CRC32",     "UNIX_TIMESTAMP", "OCTET_LENGTH", "TO_SECONDS"};
  switch (e->kind) {
    case ExprKind::kBinary:
    case ExprKind::kIs:
    case ExprKind::kLike:
    case ExprKind::kIn:
    case ExprKind::kBetween:
      return true;
    case ExprKind::kUnary: {
      const UnaryOp op = e->as<Unary>()->op;
      return op != UnaryOp::kBinary && op != UnaryOp::kPlus;
    }
    case ExprKind::kFunction: {
      const auto* f = e->as<Function>();
      if (!f->qualifier.empty()) return false;
      for (std::string_view n : kNumbers)
        if (iequals(f->name.name, n)) return true;
      return false;
    }
    default:
      return false;
  }
}

// How a super-aggregate row gets the value of `e`, an item of the shards' select list that is not
// a group key's own: 0 evaluated again (over group keys only: each shard's row has it), 1 the last
// group's (MergeColumn::fromLastGroup), -1 neither (refused).
int rollupValue(const Expr* e, const std::vector<const Expr*>& columnKeys) {
  bool key = false, other = false, subquery = false;
  if (e->kind == ExprKind::kColumn) {
    other = true;  // outside GROUP BY, or a repeat of a key's item
  } else if (isFunction(e)) {
    readsOf(e, columnKeys, key, other, subquery);
  } else {
    other = hasColumn(e, subquery);
  }
  if (subquery || (key && other)) return -1;
  return other ? 1 : 0;
}

}  // namespace

bool Run::rollupAllowed(const Query& q, const SelectBlock& b) {
  if (!q.orderBy.empty()) {
    return serverError(1221, "HY000", "Incorrect usage of CUBE/ROLLUP and ORDER BY");
  }
  if (b.distinct) return notSupported("SELECT DISTINCT ... WITH ROLLUP over several shards");
  if (b.groupDesc != 0 || b.groupDescPast64) {
    return notSupported("GROUP BY ... DESC WITH ROLLUP over several shards");
  }
  return true;
}

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
  // The expressions grouped by (a select-list item's own where the key names one); MariaDB shows
  // NULL in a super-aggregate row in that item only — a repeat of it elsewhere in the list keeps
  // the last group's value.
  std::vector<const Expr*> keys;
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
  for (const Expr* k : keys)
    if (k->kind == ExprKind::kColumn) m.rollupKeys.push_back(k);
  // Keys that are expressions over a column grouped by: an expression over one of them reads it
  // one way as a select-list item in the text protocol and another way in a prepared statement
  // (MariaDB 10.11, measured), and HAVING a third.
  for (const Expr* k : keys) {
    bool key = false, other = false, subquery = false;
    if (k->kind != ExprKind::kColumn) readsOf(k, m.rollupKeys, key, other, subquery);
    if (key) m.rollupMixedKeys.push_back(k);
  }
  // A key that is an expression over a column grouped by after it: its WEIGHT_STRING would read
  // that column as NULL in the rows that roll the column up but keep the key (harmless where the
  // key is a number or a date: compared by value).
  for (std::size_t i = 0; i < keys.size() && i < spec.group.size(); ++i) {
    if (keys[i]->kind == ExprKind::kColumn || !spec.group[i].weight.valid() ||
        numberValued(keys[i])) {
      continue;
    }
    std::vector<const Expr*> later;
    for (std::size_t j = i + 1; j < keys.size(); ++j)
      if (keys[j]->kind == ExprKind::kColumn) later.push_back(keys[j]);
    bool key = false, other = false, subquery = false;
    readsOf(keys[i], later, key, other, subquery);
    if (key) {
      return notSupported(fmt::format(
          "GROUP BY {} over a column grouped by after it, WITH ROLLUP, over several shards",
          keys[i]->text));
    }
  }
  for (std::size_t i = 0; i < b.items.size(); ++i) {
    MergeColumn& c = spec.visible[i];
    if (keyItem[i] || c.agg != MergeAgg::kAny) continue;
    const Expr* e = b.items[i]->expr;
    const int how = rollupValue(e, m.rollupKeys);
    if (how < 0) {
      return notSupported(fmt::format(
          "{} reads both a column grouped by and another column (or a subquery), WITH ROLLUP, "
          "over several shards (its super-aggregate rows' value is not known from the shards' "
          "rows)",
          e->text));
    }
    c.fromLastGroup = how == 1;
  }
  return true;
}

bool Run::rollupMergeable(MergeBuild& m) {
  MergeSpec& spec = m.spec;
  if (!spec.distinctArgs.empty()) {
    return notSupported(
        "COUNT / SUM / AVG(DISTINCT ...) or GROUP_CONCAT with ORDER BY or DISTINCT, WITH ROLLUP, "
        "over several shards (a super-aggregate row's distinct values span the shards' groups)");
  }
  // A part of HAVING or of an expression over aggregates the shards compute (a hidden column) is
  // an item of their select list like any other.
  for (const auto& [column, e] : m.computed) {
    bool key = false;
    for (const SortKey& g : spec.group)
      key = key || g.column == column;
    if (key || spec.column(column).agg != MergeAgg::kAny) continue;
    bool mixed = false;
    forEachExpr(e, [&](const Expr* x) {
      for (const Expr* k : m.rollupMixedKeys)
        mixed = mixed || sameText(x->text, k->text);
    });
    if (mixed) {
      return notSupported(fmt::format(
          "{} in HAVING reads a GROUP BY key that is an expression over another key, WITH "
          "ROLLUP, over several shards",
          e->text));
    }
    // HAVING names a select-list item before a column: where that item is a repeat of a key
    // (the last group's value in a super-aggregate row), the shards' copy of the expression would
    // read the key instead (NULL there).
    bool repeat = false;
    forEachColumn(e, [&](const Column& c) {
      const int item = havingItem(m, c);
      repeat = repeat || (item >= 0 && spec.visible[static_cast<std::size_t>(item)].fromLastGroup &&
                          namesKey(&c, m.rollupKeys));
    });
    if (repeat) {
      return notSupported(fmt::format(
          "{} in HAVING names a repeat of a GROUP BY key in the select list, WITH ROLLUP, over "
          "several shards",
          e->text));
    }
    const int how = rollupValue(e, m.rollupKeys);
    if (how < 0) {
      return notSupported(fmt::format(
          "{} in HAVING or an expression over aggregates reads both a column grouped by and "
          "another column (or a subquery), WITH ROLLUP, over several shards",
          e->text));
    }
    if (how == 1) {
      (column.hidden ? spec.hiddenColumns[column.index] : spec.visible[column.index])
          .fromLastGroup = true;
    }
  }
  return true;
}

}  // namespace shardproxy::router::planning
