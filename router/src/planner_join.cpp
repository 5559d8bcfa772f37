// Joins of two sharded tables that are not co-located (docs/routing.md, "Joins across shards"):
// `A [LEFT] JOIN B ON A.x = B.y` where x and y are not both shard keys. The planner splits the
// SELECT into the outer side's query (A's columns, then the join key) and the inner side's,
// which the session runs per batch of outer keys with `B.y IN (...)` — routed like any read, so
// when y is B's shard key each batch goes only to the shards owning its keys — and joins the rows
// in the proxy (Plan::join). What it cannot split exactly (aggregates, ORDER BY, LIMIT, conditions
// over both tables besides the key) is refused, naming it; never answered differently.
#include <fmt/format.h>

#include <functional>

#include "planner_internal.h"

namespace shardproxy::router::planning {
namespace {

struct Side {
  const TableName* table = nullptr;
  const catalog::TableRule* rule = nullptr;
  const TrackedTable* tracked = nullptr;
  std::string items;  // select-list texts, comma-separated
  std::uint16_t width = 0;
  std::string conditions;  // AND-joined
};

}  // namespace

void conjuncts(const Expr* e, std::vector<const Expr*>& out) {
  if (e == nullptr) return;
  if (const auto* l = e->as<Logical>(); l != nullptr && l->op == LogicalOp::kAnd) {
    for (const Expr* x : l->operands)
      conjuncts(x, out);
    return;
  }
  out.push_back(e);
}

bool Run::tryJoinPlan(const SelectBlock& b) {
  // Two base tables: A JOIN B / A LEFT JOIN B (ON ...), or FROM A, B.
  const TableName* names[2] = {nullptr, nullptr};
  const Expr* on = nullptr;
  bool left = false;
  if (b.from.size() == 1) {
    const auto* j = b.from[0]->as<Join>();
    if (j == nullptr || j->left->kind != TableRefKind::kTable ||
        j->right->kind != TableRefKind::kTable || !j->usingColumns.empty()) {
      return false;
    }
    if (j->join != JoinKind::kInner && j->join != JoinKind::kLeft && j->join != JoinKind::kCross &&
        j->join != JoinKind::kStraight) {
      return false;
    }
    names[0] = j->left->as<BaseTable>()->table;
    names[1] = j->right->as<BaseTable>()->table;
    on = j->on;
    left = j->join == JoinKind::kLeft;
  } else if (b.from.size() == 2 && b.from[0]->kind == TableRefKind::kTable &&
             b.from[1]->kind == TableRefKind::kTable) {
    names[0] = b.from[0]->as<BaseTable>()->table;
    names[1] = b.from[1]->as<BaseTable>()->table;
  } else {
    return false;
  }
  Side sides[2];
  for (int i = 0; i < 2; ++i) {
    const TableName* t = names[i];
    if (t->cte || (!t->db.empty() && !iequals(t->db.name, ks_->name))) return false;
    const catalog::TableRule* rule = snap_.findTable(ks_->name, t->name.name);
    if (rule == nullptr || rule->kind != catalog::TableKind::kSharded) return false;
    sides[i].table = t;
    sides[i].rule = rule;
    sides[i].tracked =
        in_.tracked != nullptr ? in_.tracked->table(ks_->name, t->name.name) : nullptr;
  }
  auto sideOf = [&](const Column& c) -> int {
    if (!c.table.empty()) {
      for (int i = 0; i < 2; ++i) {
        const TableName* t = sides[i].table;
        const std::string_view name = t->alias.empty() ? t->name.name : t->alias.name;
        if (iequals(name, c.table.name)) return i;
      }
      return -1;
    }
    int found = -1;
    for (int i = 0; i < 2; ++i) {
      if (sides[i].tracked != nullptr && sides[i].tracked->position(c.column.name)) {
        if (found >= 0) return -2;  // ambiguous, as the server would say
        found = i;
      }
    }
    return found;
  };
  // The sides an expression reads (bit 0: A, bit 1: B); -1 when it cannot be told.
  std::function<int(const Expr*)> sidesOf = [&](const Expr* e) -> int {
    if (e == nullptr) return 0;
    if (nestedQuery(e) != nullptr) return -1;
    if (const auto* c = e->as<Column>()) {
      const int s = sideOf(*c);
      return s < 0 ? -1 : 1 << s;
    }
    if (e->kind == ExprKind::kStar) return -1;
    int mask = 0;
    bool unknown = false;
    forEachChildExpr(e, [&](const Expr* x) {
      const int m = sidesOf(x);
      if (m < 0)
        unknown = true;
      else
        mask |= m;
    });
    return unknown ? -1 : mask;
  };
  // The key equality: A.x = B.y (or B.y = A.x), not both shard keys (that join is co-located).
  std::vector<const Expr*> whereParts, onParts;
  conjuncts(b.where, whereParts);
  conjuncts(on, onParts);
  const Column* key[2] = {nullptr, nullptr};
  const Expr* keyExpr = nullptr;
  for (const auto* parts : {&onParts, &whereParts}) {
    if (left && parts == &whereParts) break;  // LEFT JOIN: the key is in ON
    for (const Expr* e : *parts) {
      const auto* bin = e->as<Binary>();
      if (bin == nullptr || bin->op != BinaryOp::kEq) continue;
      const auto* l = bin->left->as<Column>();
      const auto* r = bin->right->as<Column>();
      if (l == nullptr || r == nullptr) continue;
      const int ls = sideOf(*l), rs = sideOf(*r);
      if (ls < 0 || rs < 0 || ls == rs) continue;
      const Column* a = ls == 0 ? l : r;
      const Column* c = ls == 0 ? r : l;
      if (iequals(a->column.name, sides[0].rule->shardKey) &&
          iequals(c->column.name, sides[1].rule->shardKey)) {
        return false;  // co-located on the shard keys: the ordinary plan
      }
      if (keyExpr == nullptr) {
        key[0] = a;
        key[1] = c;
        keyExpr = e;
      }
    }
  }
  if (keyExpr == nullptr) return false;
  // From here on the statement is a join across shards: what it cannot do is refused.
  auto refuse = [&](std::string_view what) {
    notSupported(fmt::format(
        "A join of sharded tables '{}' and '{}' on {} runs in the proxy (nested loop), which "
        "does not support {} yet",
        sides[0].table->name.name, sides[1].table->name.name, keyExpr->text, what));
    return true;  // handled: refused
  };
  if (in_.prepared || in_.executing) return refuse("prepared statements (send it as text)");
  if (b.hasAggregate || !b.groupBy.empty() || b.having != nullptr) {
    return refuse("aggregates or GROUP BY");
  }
  if (b.distinct) return refuse("DISTINCT");
  if (!b.orderBy.empty() || b.limit != nullptr) return refuse("ORDER BY or LIMIT");
  if (b.hasWindow || !b.window.empty()) return refuse("window functions");
  if (!b.into.empty() || b.locking.mode != LockMode::kNone) return refuse("INTO or locking reads");
  if (!b.with.empty()) return refuse("WITH");
  Plan::JoinPlan join;
  join.left = left;
  for (const SelectItem* item : b.items) {
    const int m = sidesOf(item->expr);
    if (m != 1 && m != 2) {
      return refuse(
          fmt::format("the select-list item {} (name the columns of one table each, "
                      "qualified by table)",
                      item->text));
    }
    Side& s = sides[m == 1 ? 0 : 1];
    if (!s.items.empty()) s.items += ", ";
    s.items += item->text;
    join.output.push_back({m == 2, s.width++});
  }
  auto addCondition = [&](Side& s, const Expr* e) {
    if (!s.conditions.empty()) s.conditions += " AND ";
    s.conditions += "(";
    s.conditions += e->text;
    s.conditions += ")";
  };
  for (const Expr* e : onParts) {
    if (e == keyExpr) continue;
    const int m = sidesOf(e);
    if (m == 2 || (m == 1 && !left) || m == 0) {
      addCondition(sides[m == 1 ? 0 : 1], e);
    } else {
      return refuse(fmt::format("the ON condition {}", e->text));
    }
  }
  for (const Expr* e : whereParts) {
    if (e == keyExpr) continue;
    const int m = sidesOf(e);
    if (m == 1 || m == 0 || (m == 2 && !left)) {
      addCondition(sides[m == 2 ? 1 : 0], e);
    } else {
      return refuse(fmt::format("the WHERE condition {}", e->text));
    }
  }
  auto from = [](const TableName* t) { return std::string(t->text); };
  join.outerWidth = sides[0].width;
  join.innerWidth = sides[1].width;
  // String keys of one collation (tracked) are matched by their WEIGHT_STRING, as the server
  // compares them ('a' = 'A ' under _ci); integers by their digits; anything else is checked (and
  // refused unless integer) when the rows come.
  const TrackedColumn* keyColumn[2] = {nullptr, nullptr};
  for (int i = 0; i < 2; ++i) {
    if (sides[i].tracked == nullptr) continue;
    if (auto pos = sides[i].tracked->position(key[i]->column.name)) {
      keyColumn[i] = &sides[i].tracked->columns[*pos];
    }
  }
  auto stringType = [](const TrackedColumn* c) {
    return c != nullptr && (c->dataType == "char" || c->dataType == "varchar" ||
                            c->dataType == "binary" || c->dataType == "varbinary");
  };
  if (stringType(keyColumn[0]) || stringType(keyColumn[1])) {
    if (!stringType(keyColumn[0]) || !stringType(keyColumn[1]) ||
        keyColumn[0]->collation != keyColumn[1]->collation) {
      return refuse("a join key of two types or collations (string keys must share a collation)");
    }
    join.weights = true;
  }
  const std::string outerKey = join.weights ? fmt::format("{0}, WEIGHT_STRING({0})", key[0]->text)
                                            : std::string(key[0]->text);
  const std::string innerKey = join.weights ? fmt::format("{0}, WEIGHT_STRING({0})", key[1]->text)
                                            : std::string(key[1]->text);
  join.outerSql = fmt::format("SELECT {}{}{} FROM {}{}{}", sides[0].items,
                              sides[0].items.empty() ? "" : ", ", outerKey, from(sides[0].table),
                              sides[0].conditions.empty() ? "" : " WHERE ", sides[0].conditions);
  join.innerPrefix =
      fmt::format("SELECT {}{}{} FROM {} WHERE {} IN (", sides[1].items,
                  sides[1].items.empty() ? "" : ", ", innerKey, from(sides[1].table), key[1]->text);
  join.innerSuffix =
      sides[1].conditions.empty() ? ")" : fmt::format(") AND {}", sides[1].conditions);
  plan_.join = std::move(join);
  plan_.reason = "join across shards (nested loop in the proxy)";
  fail(ErrorCode::kInternal,
       fmt::format("{} JOIN {} on {} runs as a nested loop in the proxy", sides[0].table->name.name,
                   sides[1].table->name.name, keyExpr->text));
  return true;
}

}  // namespace shardproxy::router::planning
