// What one server's planner decides about a merged SELECT, as far as the shards must decide it the
// same way for their answers (column definitions, AVG's rounding) to be one server's:
// docs/merging.md "Where one server's answer depends on its plan".
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planner_merge.h"

namespace shardproxy::router::planning {

namespace {

// Whether `column = value` lets MariaDB's planner treat the column as constant (MariaDB 10.11,
// measured): a number compared with a number, a temporal column with a string or temporal
// literal, a string column with a string literal in the column's own collation (the session's
// collation_connection; `grp = 'x'` does not fix a utf8mb4_general_ci column for a session in
// utf8mb4_unicode_ci, and `qty = '5'` never fixes an INT). Unknown types fix nothing.
bool fixesColumn(const TrackedColumn& col, const Literal& v, std::string_view collation) {
  const bool number = v.type == LiteralType::kInteger || v.type == LiteralType::kDecimal ||
                      v.type == LiteralType::kFloat;
  const bool string = v.type == LiteralType::kString && v.charset.empty() && !v.national;
  switch (dataClass(col.dataType)) {
    case DataClass::kNumber:
      return number;
    case DataClass::kTemporal:
      return string || v.type == LiteralType::kTemporal;
    case DataClass::kText:
      return string && !collation.empty() && iequals(collation, col.collation);
    default:
      return false;
  }
}

}  // namespace

// Whether a GROUP BY / ORDER BY key is constant for the query: a literal, or a column that a
// `column = literal` conjunct of the WHERE fixes (itself, or the select-list item it names by
// position or alias). MariaDB drops such keys before it plans (remove_const). `table`: the one
// table read, as tracked (nullptr: unknown, and no column is taken as fixed).
bool fixedKey(const SelectBlock& b, const Expr* e, const TrackedTable* table,
              std::string_view collation) {
  if (const auto* lit = e->as<Literal>()) {
    if (lit->type != LiteralType::kInteger) return true;
    const std::uint64_t n = lit->magnitude;  // a position in the select list
    if (lit->negative || n == 0 || n > b.items.size()) return false;
    e = b.items[n - 1]->expr;
  }
  const auto* c = e->as<Column>();
  if (c != nullptr && c->table.empty()) {
    for (const SelectItem* item : b.items) {
      if (!item->alias.empty() && iequals(item->alias.name, c->column.name)) {
        c = item->expr->as<Column>();
        break;
      }
    }
  }
  if (c == nullptr || table == nullptr) return false;
  const auto pos = table->position(c->column.name);
  if (!pos) return false;
  std::vector<const Expr*> conj;
  conjuncts(b.where, conj);
  for (const Expr* x : conj) {
    const auto* eq = x->as<Binary>();
    if (eq == nullptr || eq->op != BinaryOp::kEq || eq->quantifier != Quantifier::kNone) continue;
    const Expr* col = eq->left->as<Literal>() != nullptr ? eq->right : eq->left;
    const Expr* val = col == eq->left ? eq->right : eq->left;
    const auto* cc = col->as<Column>();
    const auto* lit = val->as<Literal>();
    if (cc != nullptr && lit != nullptr && iequals(cc->column.name, c->column.name) &&
        fixesColumn(table->columns[*pos], *lit, collation)) {
      return true;
    }
  }
  return false;
}

// Whether one server sorts the groups again after grouping: its ORDER BY, without the keys the
// WHERE fixes, is not a prefix of its GROUP BY without them (MariaDB's test_if_subpart after
// remove_const). `spec.order` and `spec.group` are the keys of `q.orderBy` and `b.groupBy`.
bool sortsGroupsAgain(const SelectBlock& b, const Query& q, const MergeSpec& spec,
                      const TrackedTable* table, std::string_view collation) {
  std::vector<const SortKey*> group, order;
  for (std::size_t i = 0; i < spec.group.size() && i < b.groupBy.size(); ++i)
    if (!fixedKey(b, b.groupBy[i], table, collation)) group.push_back(&spec.group[i]);
  for (std::size_t i = 0; i < spec.order.size() && i < q.orderBy.size(); ++i)
    if (!fixedKey(b, q.orderBy[i]->expr, table, collation)) order.push_back(&spec.order[i]);
  if (group.empty() || order.empty() || order.size() > group.size()) {
    return !group.empty() && !order.empty();
  }
  for (std::size_t i = 0; i < order.size(); ++i)
    if (!(order[i]->column == group[i]->column)) return true;
  return false;
}

// Whether one server answers SELECT DISTINCT as a GROUP BY of its select list (MariaDB 10.11,
// JOIN::optimize_inner, "Change DISTINCT to GROUP BY"; measured). Only when it reads one table and
// has no HAVING; then always without a LIMIT; with a
// LIMIT but no ORDER BY never (a temporary table that stops at LIMIT distinct rows), and ORDER BY
// keys the WHERE fixes were dropped before (remove_const); with both, when the ORDER BY names
// every selected column (its group list is then the ORDER BY itself, and either an index gives
// that order or the rows are sorted anyway). An ORDER BY that names only some of the columns
// leaves it to whether an index gives its order: std::nullopt, not known here.
std::optional<bool> distinctBecomesGroup(const SelectBlock& b, const Query& q,
                                         const MergeSpec& spec, const TrackedTable* table,
                                         std::string_view collation) {
  if (b.having != nullptr || b.from.size() != 1 || b.from[0]->kind != TableRefKind::kTable) {
    return false;
  }
  if (q.limit == nullptr) return true;
  std::vector<const SortKey*> order;
  for (std::size_t i = 0; i < spec.order.size() && i < q.orderBy.size(); ++i)
    if (!fixedKey(b, q.orderBy[i]->expr, table, collation)) order.push_back(&spec.order[i]);
  if (order.empty()) return false;
  for (std::size_t i = 0; i < b.items.size(); ++i) {
    bool ordered = false;
    for (const SortKey* k : order)
      ordered = ordered || (!k->column.hidden && k->column.index == i);
    if (!ordered) return std::nullopt;
  }
  return true;
}

// The select options without DISTINCT / DISTINCTROW, one space apart ("" when that was all).
std::string withoutDistinct(std::string_view options) {
  std::string out;
  std::size_t i = 0;
  while (i < options.size()) {
    const std::size_t begin = options.find_first_not_of(" \t\r\n", i);
    if (begin == std::string_view::npos) break;
    std::size_t end = options.find_first_of(" \t\r\n", begin);
    if (end == std::string_view::npos) end = options.size();
    const std::string_view word = options.substr(begin, end - begin);
    if (!iequals(word, "DISTINCT") && !iequals(word, "DISTINCTROW")) {
      if (!out.empty()) out.append(" ");
      out.append(word);
    }
    i = end;
  }
  return out;
}

// The GROUP BY one server makes of a SELECT DISTINCT (create_distinct_group): the ORDER BY's
// columns first, then the other selected columns. Empty where the shards must be sent the
// DISTINCT itself: an item that is not a plain column (a literal would read as a position, an
// expression's weight would name columns the GROUP BY does not), a placeholder, a WINDOW clause, or
// options that are not plain words (a comment).
std::string distinctGroupList(const SelectBlock& b, const Query& q, const MergeSpec& spec) {
  if (!b.window.empty()) return {};
  for (char c : b.options) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::isalpha(u) || c == '_' || std::isspace(u))) return {};
  }
  for (const SelectItem* item : b.items)
    if (item->expr->as<Column>() == nullptr) return {};
  std::vector<std::string_view> texts;
  auto add = [&](const Expr* e) {
    for (std::string_view t : texts)
      if (sameText(t, e->text)) return;
    texts.push_back(e->text);
  };
  for (std::size_t i = 0; i < spec.order.size() && i < q.orderBy.size(); ++i) {
    const ColumnRef& c = spec.order[i].column;
    if (c.hidden || c.index >= b.items.size()) return {};
    add(b.items[c.index]->expr);
  }
  for (const SelectItem* item : b.items)
    add(item->expr);
  std::string list;
  for (std::string_view t : texts) {
    if (!list.empty()) list.append(", ");
    list.append(t);
  }
  return list;
}

}  // namespace shardproxy::router::planning
