// The planner's merges, column by column (merge_spec.h, docs/merging.md): aggregate calls and
// their DISTINCT forms, sort and group keys with their collation weights, and the programs that
// evaluate HAVING and expressions over aggregates after the merge.
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "planner_internal.h"
#include "planner_merge.h"

namespace shardproxy::router::planning {

// An identifier in HAVING outside an aggregate's arguments names a select-list item: the one it
// is the alias of, or an unaliased column of that name, else an aliased column of that name —
// unless a GROUP BY column of that name is another expression, which then wins (MariaDB parses
// it as a reference: resolve_ref_in_select_and_group).
int havingItem(const MergeBuild& m, const Column& c) {
  if (!c.table.empty()) return -1;
  const auto& items = m.block.items;
  const std::string_view name = c.column.name;
  int found = -1;
  int behindAlias = -1;
  for (std::size_t i = 0; i < items.size() && found < 0; ++i) {
    const SelectItem* item = items[i];
    const auto* col = item->expr->as<Column>();
    if (!item->alias.empty() ? iequals(item->alias.name, name)
                             : col != nullptr && iequals(col->column.name, name)) {
      found = static_cast<int>(i);
    } else if (col != nullptr && behindAlias < 0 && iequals(col->column.name, name)) {
      behindAlias = static_cast<int>(i);
    }
  }
  if (found < 0) found = behindAlias;
  if (found < 0) return -1;
  const SelectItem* item = items[static_cast<std::size_t>(found)];
  const auto* col = item->expr->as<Column>();
  for (std::size_t g = 0; g < m.block.groupBy.size(); ++g) {
    const auto* gc = m.block.groupBy[g]->as<Column>();
    if (gc == nullptr || !iequals(gc->column.name, name)) continue;
    // GROUP BY the alias itself (no table column shadows it), or the item's own column.
    const bool shadowed = g < m.groupColumns.size() && !m.groupColumns[g].empty();
    const bool byAlias =
        !shadowed && gc->table.empty() && !item->alias.empty() && iequals(item->alias.name, name);
    if (!byAlias && (col == nullptr || !sameColumn(*col, *gc))) return -1;
  }
  return found;
}

const Column* aggregateAliasIn(const MergeBuild& m, const Expr* e, const TrackedTable& table) {
  if (e == nullptr) return nullptr;
  if (const auto* c = e->as<Column>()) {
    if (!c->table.empty() || table.position(c->column.name)) return nullptr;
    for (const SelectItem* item : m.block.items) {
      if (!item->alias.empty() && iequals(item->alias.name, c->column.name))
        return containsAggregate(item->expr) ? c : nullptr;
    }
    return nullptr;
  }
  if (const auto* f = e->as<Function>(); f != nullptr && f->aggregate) return nullptr;
  const Column* found = nullptr;
  forEachChildExpr(e, [&](const Expr* x) {
    if (found == nullptr) found = aggregateAliasIn(m, x, table);
  });
  return found;
}

bool havingAggregates(const MergeBuild& m, const Expr* e) {
  if (e == nullptr) return false;
  if (containsAggregate(e)) return true;
  if (const auto* c = e->as<Column>()) {
    int item = havingItem(m, *c);
    return item >= 0 && containsAggregate(m.block.items[static_cast<std::size_t>(item)]->expr);
  }
  bool found = false;
  forEachChildExpr(e, [&](const Expr* x) { found = found || havingAggregates(m, x); });
  return found;
}

std::string spelledAliases(const MergeBuild& m, const Expr* e) {
  std::vector<std::pair<const Column*, const SelectItem*>> refs;
  auto collect = [&](auto&& self, const Expr* x) -> void {
    if (const auto* c = x->as<Column>()) {
      int item = havingItem(m, *c);
      const SelectItem* it = item >= 0 ? m.block.items[static_cast<std::size_t>(item)] : nullptr;
      if (it != nullptr && !it->alias.empty() && iequals(it->alias.name, c->column.name))
        refs.emplace_back(c, it);
      return;
    }
    forEachChildExpr(x, [&](const Expr* y) { self(self, y); });
  };
  collect(collect, e);
  std::sort(refs.begin(), refs.end(), [](const auto& a, const auto& b) {
    return a.first->text.data() < b.first->text.data();
  });
  std::string out;
  const char* at = e->text.data();
  for (const auto& [c, item] : refs) {
    out.append(at, c->text.data());
    out.append("(").append(item->expr->text).append(")");
    at = c->text.data() + c->text.size();
  }
  out.append(at, e->text.data() + e->text.size());
  return out;
}

// Postfix code for an expression over aggregates (HAVING, select-list expressions).

bool Run::compileMerged(MergeBuild& m, const Expr* e, Program& p) {
  Instruction in;
  if (const auto* lit = e->as<Literal>()) {
    in.text = lit->value;
    switch (lit->type) {
      case LiteralType::kNull:
        in.op = OpCode::kNull;
        break;
      case LiteralType::kTrue:
      case LiteralType::kFalse:
        in.op = OpCode::kInteger;
        in.text = lit->type == LiteralType::kTrue ? "1" : "0";
        break;
      case LiteralType::kInteger:
      case LiteralType::kDecimal:
        in.op = lit->type == LiteralType::kInteger ? OpCode::kInteger : OpCode::kDecimal;
        in.text = lit->text;
        break;
      case LiteralType::kFloat:
        in.op = OpCode::kDouble;
        in.text = lit->text;
        break;
      case LiteralType::kString:
        in.op = OpCode::kString;
        break;
      default:
        in.op = OpCode::kColumn;
        in.column = addHidden(m, e->text, MergeColumn{});
        break;
    }
    p.code.push_back(in);
    return true;
  }
  if (const auto* ph = e->as<Placeholder>()) {
    // A bound value (EXECUTE): a literal of the program. At PREPARE, NULL: EXECUTE plans again.
    in.op = OpCode::kNull;
    if (ph->index < in_.params.size()) {
      const BoundValue& v = in_.params[ph->index];
      switch (v.type) {
        case BoundValue::Type::kInt:
          m.spec.literals.push_back(std::to_string(v.i));
          in.op = OpCode::kInteger;
          break;
        case BoundValue::Type::kUint:
          m.spec.literals.push_back(std::to_string(v.u));
          in.op = OpCode::kInteger;
          break;
        case BoundValue::Type::kDouble:
          m.spec.literals.push_back(fmt::format("{}", v.d));
          in.op = OpCode::kDouble;
          break;
        case BoundValue::Type::kString:
          m.spec.literals.emplace_back(v.s);
          in.op = OpCode::kString;
          break;
        case BoundValue::Type::kNull:
          break;
        case BoundValue::Type::kOther:
          if (!v.temporalText().empty()) {  // compared as a date or time after the merge
            m.spec.literals.emplace_back(v.temporalText());
            in.op = OpCode::kString;
            break;
          }
          [[fallthrough]];
        default:
          return notSupported(
              "A date or time bound to a HAVING over aggregates of several "
              "shards (not supported yet)");
      }
      if (in.op != OpCode::kNull) in.text = m.spec.literals.back();
    }
    p.code.push_back(in);
    return true;
  }
  if (m.having ? !havingAggregates(m, e) : !containsAggregate(e)) {
    // Constant within a group (it may name only group keys): the shards compute it, spelled
    // without HAVING's aliases where it is not a select-list item.
    int item = -1;
    if (!m.star) {
      const auto* c = e->as<Column>();
      item =
          m.having && c != nullptr && c->table.empty() ? havingItem(m, *c) : matchItem(m, e, true);
    }
    in.op = OpCode::kColumn;
    if (item >= 0 && m.spec.visible[static_cast<std::size_t>(item)].agg == MergeAgg::kAny) {
      in.column = ColumnRef{static_cast<std::uint16_t>(item), false};
    } else if (m.having) {
      in.column = addHiddenOwned(m, spelledAliases(m, e), MergeColumn{});
      m.computed.emplace_back(in.column, e);
    } else {
      in.column = addHidden(m, e->text, MergeColumn{});
      m.computed.emplace_back(in.column, e);
    }
    p.code.push_back(in);
    return true;
  }
  if (const auto* c = e->as<Column>()) {
    // HAVING naming an item over aggregates (SELECT COUNT(*) AS n ... HAVING n > 5): its value
    // after the merge.
    if (m.star) {
      return notSupported(fmt::format(
          "HAVING {} names an aggregate of a select list with * in a query that reads several "
          "shards: name the columns",
          c->text));
    }
    in.op = OpCode::kColumn;
    in.column = ColumnRef{static_cast<std::uint16_t>(havingItem(m, *c)), false};
    p.code.push_back(in);
    return true;
  }
  if (const auto* f = e->as<Function>(); f != nullptr && f->aggregate) {
    ColumnRef count;
    if (!aggregateColumn(m, *f, in.column, count)) return false;
    in.op = count.valid() ? OpCode::kAvg : OpCode::kColumn;
    in.other = count;
    p.code.push_back(in);
    return true;
  }
  if (const auto* bt = e->as<Between>()) {
    // x BETWEEN a AND b: x >= a AND x <= b, NULL as MariaDB's (a NULL bound with x outside the
    // other one: false); NOT BETWEEN its negation.
    if (!compileMerged(m, bt->operand, p) || !compileMerged(m, bt->low, p)) return false;
    p.code.push_back(instruction(OpCode::kGe));
    if (!compileMerged(m, bt->operand, p) || !compileMerged(m, bt->high, p)) return false;
    p.code.push_back(instruction(OpCode::kLe));
    Instruction both = instruction(OpCode::kAnd);
    both.count = 2;
    p.code.push_back(both);
    if (bt->negated) p.code.push_back(instruction(OpCode::kNot));
    return true;
  }
  if (const auto* list = e->as<In>(); list != nullptr && list->subquery == nullptr) {
    // x IN (a, b, ...): x = a OR x = b ..., NULL where nothing matched and a NULL was compared.
    for (const Expr* v : list->list) {
      if (!compileMerged(m, list->operand, p) || !compileMerged(m, v, p)) return false;
      p.code.push_back(instruction(OpCode::kEq));
    }
    if (list->list.size() > 1) {
      Instruction any = instruction(OpCode::kOr);
      any.count = static_cast<std::uint16_t>(list->list.size());
      p.code.push_back(any);
    }
    if (list->negated) p.code.push_back(instruction(OpCode::kNot));
    return true;
  }
  if (const auto* f = e->as<Function>(); f != nullptr && !f->aggregate && f->qualifier.empty() &&
                                         f->over.empty() && f->modifier.empty()) {
    // Functions of aggregates the merge evaluates as MySQL does: COALESCE(SUM(x), 0),
    // IFNULL(MAX(x), 0), ROUND(AVG(x), 2), TRUNCATE(AVG(x), 1), ABS(SUM(x)).
    const std::string_view name = f->name.name;
    const std::size_t n = f->args.size();
    OpCode op = OpCode::kNull;
    if (iequals(name, "COALESCE") && n >= 1) {
      op = OpCode::kCoalesce;
    } else if (iequals(name, "IFNULL") && n == 2) {
      op = OpCode::kCoalesce;
    } else if (iequals(name, "ROUND") && (n == 1 || n == 2)) {
      op = OpCode::kRound;
    } else if (iequals(name, "TRUNCATE") && n == 2) {
      op = OpCode::kTruncate;
    } else if (iequals(name, "ABS") && n == 1) {
      op = OpCode::kAbs;
    }
    if (op != OpCode::kNull && n < 65536) {
      for (const Expr* a : f->args)
        if (!compileMerged(m, a, p)) return false;
      in.op = op;
      in.count = static_cast<std::uint16_t>(n);
      p.code.push_back(in);
      return true;
    }
  }
  if (const auto* u = e->as<Unary>()) {
    if (u->op != UnaryOp::kNeg && u->op != UnaryOp::kNot && u->op != UnaryOp::kPlus &&
        u->op != UnaryOp::kBitNot) {
      return cannotMerge(e);
    }
    if (!compileMerged(m, u->operand, p)) return false;
    if (u->op != UnaryOp::kPlus) {
      p.code.push_back(instruction(u->op == UnaryOp::kNeg      ? OpCode::kNeg
                                   : u->op == UnaryOp::kBitNot ? OpCode::kBitNot
                                                               : OpCode::kNot));
    }
    return true;
  }
  if (const auto* is = e->as<IsTest>()) {
    if (is->what != IsWhat::kNull) return cannotMerge(e);
    if (!compileMerged(m, is->operand, p)) return false;
    p.code.push_back(instruction(is->negated ? OpCode::kIsNotNull : OpCode::kIsNull));
    return true;
  }
  if (const auto* l = e->as<Logical>()) {
    for (const Expr* x : l->operands)
      if (!compileMerged(m, x, p)) return false;
    in.op = l->op == LogicalOp::kAnd ? OpCode::kAnd : OpCode::kOr;
    in.count = static_cast<std::uint16_t>(l->operands.size());
    p.code.push_back(in);
    return true;
  }
  if (const auto* b = e->as<Binary>(); b != nullptr && b->quantifier == Quantifier::kNone) {
    // The select list's and ORDER BY's expressions also run on every shard (for their column
    // definitions): arithmetic over a BIT_* partial — any 64-bit unsigned value — can overflow
    // BIGINT UNSIGNED there (1690) where the whole group's value would not.
    const bool arithmetic = b->op == BinaryOp::kAdd || b->op == BinaryOp::kSub ||
                            b->op == BinaryOp::kMul || b->op == BinaryOp::kDiv ||
                            b->op == BinaryOp::kIntDiv || b->op == BinaryOp::kMod;
    if (arithmetic && !m.having &&
        (containsBitAggregate(b->left) || containsBitAggregate(b->right))) {
      return notSupported(fmt::format(
          "'{}': arithmetic over BIT_AND / BIT_OR / BIT_XOR in the select list or ORDER BY of a "
          "query that reads several shards (each shard's part can overflow BIGINT UNSIGNED "
          "where the whole would not); select the aggregate and compute in the application, or "
          "narrow the query to one shard",
          e->text));
    }
    switch (b->op) {
      case BinaryOp::kAdd:
        in.op = OpCode::kAdd;
        break;
      case BinaryOp::kSub:
        in.op = OpCode::kSub;
        break;
      case BinaryOp::kMul:
        in.op = OpCode::kMul;
        break;
      case BinaryOp::kDiv:
        in.op = OpCode::kDiv;
        break;
      case BinaryOp::kIntDiv:
        in.op = OpCode::kIntDiv;
        break;
      case BinaryOp::kMod:
        in.op = OpCode::kMod;
        break;
      case BinaryOp::kEq:
        in.op = OpCode::kEq;
        break;
      case BinaryOp::kNullSafeEq:
        in.op = OpCode::kNullSafeEq;
        break;
      case BinaryOp::kNe:
        in.op = OpCode::kNe;
        break;
      case BinaryOp::kLt:
        in.op = OpCode::kLt;
        break;
      case BinaryOp::kLe:
        in.op = OpCode::kLe;
        break;
      case BinaryOp::kGt:
        in.op = OpCode::kGt;
        break;
      case BinaryOp::kGe:
        in.op = OpCode::kGe;
        break;
      case BinaryOp::kXor:
        in.op = OpCode::kXor;
        break;
      case BinaryOp::kBitAnd:
        in.op = OpCode::kBitAnd;
        break;
      case BinaryOp::kBitOr:
        in.op = OpCode::kBitOr;
        break;
      case BinaryOp::kBitXor:
        in.op = OpCode::kBitXor;
        break;
      case BinaryOp::kShl:
        in.op = OpCode::kShiftLeft;
        break;
      case BinaryOp::kShr:
        in.op = OpCode::kShiftRight;
        break;
      default:
        return cannotMerge(e);
    }
    if (!compileMerged(m, b->left, p) || !compileMerged(m, b->right, p)) return false;
    p.code.push_back(in);
    return true;
  }
  return cannotMerge(e);
}

bool Run::cannotMerge(const Expr* e) {
  return notSupported(fmt::format(
      "'{}' combines aggregates in a way the proxy cannot evaluate after merging the shards' "
      "answers (it evaluates + - * / DIV MOD | & ^ << >> ~, comparisons, BETWEEN, IN (...), AND / "
      "OR / NOT, IS NULL, COALESCE, IFNULL, ROUND, TRUNCATE and ABS over COUNT, SUM, MIN, MAX, "
      "AVG, BIT_AND / BIT_OR / BIT_XOR and the variances and standard deviations); "
      "narrow the query to one shard with the shard key",
      e->text));
}

// A sort key for an ORDER BY / GROUP BY expression: the select-list item it names, or a hidden
// column; strings also get their collation weight.
bool Run::sortKey(MergeBuild& m, const Expr* e, bool desc, bool aliases, SortKey& key) {
  key.desc = desc;
  int item = -1;
  if (const auto* lit = e->as<Literal>(); lit != nullptr && lit->type == LiteralType::kInteger) {
    auto pos = lit->asUint64();
    if (!pos || *pos == 0 || *pos > m.block.items.size() ||
        m.block.items[*pos - 1]->expr->kind == ExprKind::kStar) {
      return notSupported(fmt::format(
          "ORDER BY / GROUP BY position {} in a query that reads several shards must name a "
          "select-list expression (not a *)",
          e->text));
    }
    item = static_cast<int>(*pos - 1);
  } else if (!m.star) {
    item = matchItem(m, e, aliases);
  }
  const Expr* target = item >= 0 ? m.block.items[static_cast<std::size_t>(item)]->expr : e;
  if (ordersByIndex(m, target)) {
    // ENUM / SET: the server orders (and groups) by the member's number, not its string.
    key.column = memberNumberOf(m, target->text);
    if (item >= 0) m.indexKeys.push_back(key.column.index);
    return true;
  }
  if (item >= 0) {
    const auto i = static_cast<std::size_t>(item);
    key.column = ColumnRef{static_cast<std::uint16_t>(i), false};
    const MergeColumn& c = m.spec.visible[i];
    if (c.agg == MergeAgg::kAny && needsWeight(m, m.block.items[i]->expr)) {
      bool exact = false;
      key.weight = weightOf(m, weightArg(m, m.block.items[i]->expr, exact));
      key.collation = collationOf(m, m.block.items[i]->expr->text);
    } else if (c.agg == MergeAgg::kMin || c.agg == MergeAgg::kMax) {
      key.weight = c.weight;
      key.collation = c.collation;
    }
    return true;
  }
  if (containsAggregate(e)) {
    if (const auto* f = e->as<Function>(); f != nullptr && f->aggregate) {
      ColumnRef count;
      if (!aggregateColumn(m, *f, key.column, count)) return false;
      if (!count.valid()) {
        const MergeColumn& c = m.spec.column(key.column);
        key.weight = c.weight;
        key.collation = c.collation;
        return true;
      }
      // AVG(x) not selected: its SUM and COUNT are merged (above), the AVG computed from them
      // as an expression over aggregates (below), sorted at the decimals the server sorts it at.
    }
    Program p;
    if (!compileMerged(m, e, p)) return false;
    m.spec.programs.push_back(std::move(p));
    MergeColumn c = aggColumn(MergeAgg::kExpr);
    c.program = static_cast<std::uint16_t>(m.spec.programs.size() - 1);
    key.column = addHidden(m, e->text, c);
    return true;
  }
  if (const TrackedTable* table = trackedTable(m); table != nullptr && !m.star) {
    // ORDER BY n + 1 naming the alias of an aggregate where the table has no column n: MariaDB
    // looks the name up among the aliases and refuses it (only a bare alias can be ordered by).
    const Column* ref = aggregateAliasIn(m, e, *table);
    if (ref != nullptr) {
      return serverError(1247, "42000",
                         fmt::format("Reference '{}' not supported (reference to group function)",
                                     ref->column.name));
    }
  }
  key.column = addHidden(m, e->text, MergeColumn{});
  if (needsWeight(m, e)) {
    key.weight = weightOf(m, e->text);
    key.collation = collationOf(m, e->text);
  }
  return true;
}

DataClass dataClass(std::string_view dataType) {
  struct Entry {
    std::string_view type;
    DataClass is;
  };
  static constexpr Entry kTypes[] = {
      {"tinyint", DataClass::kNumber},     {"smallint", DataClass::kNumber},
      {"mediumint", DataClass::kNumber},   {"int", DataClass::kNumber},
      {"bigint", DataClass::kNumber},      {"decimal", DataClass::kNumber},
      {"float", DataClass::kNumber},       {"double", DataClass::kNumber},
      {"date", DataClass::kTemporal},      {"datetime", DataClass::kTemporal},
      {"timestamp", DataClass::kTemporal}, {"time", DataClass::kTemporal},
      {"year", DataClass::kYear},          {"char", DataClass::kText},
      {"varchar", DataClass::kText},       {"tinytext", DataClass::kText},
      {"text", DataClass::kText},          {"mediumtext", DataClass::kText},
      {"longtext", DataClass::kText},      {"binary", DataClass::kBytes},
      {"varbinary", DataClass::kBytes},    {"tinyblob", DataClass::kBytes},
      {"blob", DataClass::kBytes},         {"mediumblob", DataClass::kBytes},
      {"longblob", DataClass::kBytes}};
  for (const Entry& e : kTypes)
    if (iequals(e.type, dataType)) return e.is;
  return DataClass::kOther;
}

bool Run::ordersByIndex(const MergeBuild& m, const Expr* e) {
  const TrackedColumn* col = trackedColumn(m, e);
  return col != nullptr && (iequals(col->dataType, "enum") || iequals(col->dataType, "set"));
}

std::optional<const TableName*> Run::tableWithColumn(const MergeBuild& m, std::string_view name) {
  if (in_.tracked == nullptr) return std::nullopt;
  auto onlyBase = [](auto&& self, List<TableRef> refs) -> bool {
    for (const TableRef* r : refs) {
      if (const auto* j = r->as<Join>()) {
        const TableRef* sides[] = {j->left, j->right};
        if (!self(self, List<TableRef>(sides, 2))) return false;
      } else if (r->as<BaseTable>() == nullptr) {
        return false;
      }
    }
    return true;
  };
  if (!onlyBase(onlyBase, m.block.from)) return std::nullopt;
  std::vector<const TableName*>& tables = s_.weightTables;
  tables.clear();
  tablesIn(m.block.from, tables);
  if (tables.empty()) return std::nullopt;
  const TableName* found = nullptr;
  for (const TableName* t : tables) {
    if (!t->db.empty() && !iequals(t->db.name, ks_->name)) return std::nullopt;
    const TrackedTable* tracked = in_.tracked->table(ks_->name, t->name.name);
    if (tracked == nullptr) return std::nullopt;
    if (found == nullptr && tracked->position(name)) found = t;
  }
  return found;
}

namespace {

std::string quoted(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    out.push_back(c);
    if (c == '`') out.push_back('`');
  }
  out.push_back('`');
  return out;
}

}  // namespace

// A bare GROUP BY name that is the alias of another expression and also a column of a table of
// the FROM groups by the column: MariaDB's find_order_in_list prefers it for GROUP BY (with a
// warning), where ORDER BY takes the alias — so the shards' ORDER BY names it qualified.
bool Run::groupByColumn(const MergeBuild& m, const Expr* g, std::string& column) {
  column.clear();
  const auto* c = g->as<Column>();
  if (c == nullptr || !c->table.empty() || m.star) return true;
  for (const SelectItem* item : m.block.items) {
    if (item->alias.empty() || !iequals(item->alias.name, c->column.name)) continue;
    const auto* col = item->expr->as<Column>();
    if (col != nullptr && iequals(col->column.name, c->column.name)) return true;
    std::optional<const TableName*> table = tableWithColumn(m, c->column.name);
    if (!table) {
      return notSupported(fmt::format(
          "GROUP BY {} names a select-list alias in a query that reads several shards, and the "
          "proxy does not know whether a table of the query has a column of that name (MariaDB "
          "would group by the column): group by the expression, or let the proxy track the "
          "schema (--dba-user)",
          g->text));
    }
    if (*table != nullptr) {
      const TableName& t = **table;
      column = quoted(!t.alias.empty() ? t.alias.name : t.name.name) + "." + quoted(c->column.name);
    }
    return true;
  }
  return true;
}

const TrackedColumn* Run::trackedColumn(const MergeBuild& m, const Expr* e) {
  const auto* c = e->as<Column>();
  if (c == nullptr || in_.tracked == nullptr) return nullptr;
  std::vector<const TableName*>& tables = s_.weightTables;
  tables.clear();
  tablesIn(m.block.from, tables);
  const TableName* t = nullptr;
  if (!c->table.empty()) {
    for (const TableName* cand : tables) {
      const bool named = !cand->alias.empty() ? iequals(cand->alias.name, c->table.name)
                                              : iequals(cand->name.name, c->table.name);
      if (named) t = cand;
    }
  } else if (tables.size() == 1) {
    t = tables[0];
  }
  if (t == nullptr || (!t->db.empty() && !iequals(t->db.name, ks_->name))) return nullptr;
  const TrackedTable* tracked = in_.tracked->table(ks_->name, t->name.name);
  if (tracked == nullptr) return nullptr;
  auto pos = tracked->position(c->column.name);
  return pos ? &tracked->columns[*pos] : nullptr;
}

bool Run::needsWeight(const MergeBuild& m, const Expr* e) {
  // Numbers and temporal values the merge compares by value (merge/cells.cpp). A stale tracked
  // type only costs a refusal: the merge cannot compare strings without weights.
  const TrackedColumn* col = trackedColumn(m, e);
  if (col == nullptr) return true;
  const DataClass c = dataClass(col->dataType);
  return c != DataClass::kNumber && c != DataClass::kTemporal && c != DataClass::kYear;
}

std::string Run::weightArg(const MergeBuild& m, const Expr* e, bool& exact) {
  const TrackedColumn* col = trackedColumn(m, e);
  exact = false;
  if (col == nullptr) return std::string(e->text);
  const DataClass c = dataClass(col->dataType);
  if (c == DataClass::kBytes || iequals(col->dataType, "enum") || iequals(col->dataType, "set")) {
    exact = true;  // bytes, or ENUM / SET members (no two equal, no trailing spaces)
    return std::string(e->text);
  }
  if (c != DataClass::kText || col->collation.empty()) return std::string(e->text);
  exact = true;
  // MariaDB's NO PAD collations say so in their names; MySQL 8's _0900_ ones are all NO PAD.
  const std::string_view name = col->collation;
  const bool noPad = name.find("_nopad_") != std::string_view::npos ||
                     name.find("_0900_") != std::string_view::npos;
  return noPad ? std::string(e->text) : fmt::format("RTRIM({})", e->text);
}

}  // namespace shardproxy::router::planning
