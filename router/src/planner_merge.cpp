// The planner's merges (merge_spec.h, docs/merging.md): a SELECT block that reads several shards
// and orders, limits, aggregates, groups or de-duplicates is rewritten for the shards — the keys
// and partial aggregates the merge needs appended as hidden columns, ORDER BY and LIMIT pushed
// down where that is exact — and the merge that turns the shards' answers into one is described
// in Plan::merge. What cannot be merged exactly is refused with 1235 naming the construct.
#include <fmt/format.h>

#include <algorithm>
#include <deque>

#include "planner_internal.h"

namespace shardproxy::router::planning {

namespace {

bool isMergeableAggregate(const Function& f, MergeAgg& agg) {
  std::string_view n = f.name.name;
  if (iequals(n, "count")) {
    agg = MergeAgg::kCount;
  } else if (iequals(n, "sum")) {
    agg = MergeAgg::kSum;
  } else if (iequals(n, "min")) {
    agg = MergeAgg::kMin;
  } else if (iequals(n, "max")) {
    agg = MergeAgg::kMax;
  } else if (iequals(n, "avg")) {
    agg = MergeAgg::kAvg;
  } else {
    return false;
  }
  // MIN / MAX of the distinct values are the MIN / MAX of all values; COUNT / SUM / AVG of them
  // merge through distinctColumn() (one argument).
  return !f.distinct || agg == MergeAgg::kMin || agg == MergeAgg::kMax || f.args.size() == 1;
}

MergeColumn aggColumn(MergeAgg agg) {
  MergeColumn c;
  c.agg = agg;
  return c;
}

Instruction instruction(OpCode op) {
  Instruction in;
  in.op = op;
  return in;
}

bool containsAggregate(const Expr* e) {
  if (e == nullptr) return false;
  if (const auto* f = e->as<Function>(); f != nullptr && f->aggregate) return true;
  bool found = false;
  forEachChildExpr(e, [&](const Expr* c) { found = found || containsAggregate(c); });
  return found;
}

// Texts compared as the server would resolve them: case and spacing do not matter.
bool sameText(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (true) {
    while (i < a.size() && space(a[i]))
      ++i;
    while (j < b.size() && space(b[j]))
      ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    char x = a[i++], y = b[j++];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
}

bool sameColumn(const Column& a, const Column& b) {
  if (!iequals(a.column.name, b.column.name)) return false;
  if (!a.table.empty() && !b.table.empty() && !iequals(a.table.name, b.table.name)) return false;
  return true;
}

// "ORDER BY" / "HAVING" before a clause's first expression, across spaces only.
std::optional<std::size_t> keywordBefore(std::string_view text, std::size_t at,
                                         std::initializer_list<std::string_view> words) {
  std::size_t pos = at;
  for (auto it = std::rbegin(words); it != std::rend(words); ++it) {
    while (pos > 0 && (text[pos - 1] == ' ' || text[pos - 1] == '\t' || text[pos - 1] == '\n' ||
                       text[pos - 1] == '\r')) {
      --pos;
    }
    if (pos < it->size() || !iequals(text.substr(pos - it->size(), it->size()), *it)) {
      return std::nullopt;
    }
    pos -= it->size();
  }
  return pos;
}

// A `?` outside quotes and comments.
bool hasPlaceholder(std::string_view sql) {
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote != 0) {
      if (c == '\\' && quote != '`') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '\'' || c == '"' || c == '`') {
      quote = c;
    } else if (c == '?') {
      return true;
    }
  }
  return false;
}

// The offset of each `?` outside quotes and comments, in text order: the i-th is parameter i.
std::vector<std::size_t> placeholderOffsets(std::string_view sql) {
  std::vector<std::size_t> out;
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote != 0) {
      if (c == '\\' && quote != '`') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '\'' || c == '"' || c == '`') {
      quote = c;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      std::size_t end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 1;
    } else if ((c == '#' || (c == '-' && i + 2 < sql.size() && sql[i + 1] == '-' &&
                             (sql[i + 2] == ' ' || sql[i + 2] == '\t')))) {
      std::size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end;
    } else if (c == '?') {
      out.push_back(i);
    }
  }
  return out;
}

}  // namespace

// The merge being built: the hidden columns' SQL and the spec.
struct MergeBuild {
  const SelectBlock& block;
  MergeSpec& spec;
  std::string hiddenSql;
  std::vector<std::string_view> hiddenTexts;  // for de-duplication ("WEIGHT_STRING(" + x + ")"
  std::deque<std::string> ownedTexts;         //  texts are owned here; a deque keeps them put)
  bool star = false;
  std::string_view distinctArgText;  // the x of the query's COUNT / SUM / AVG(DISTINCT x)
};

bool Run::limitValue(const Expr* e, std::uint64_t& out) {
  if (const auto* lit = e->as<Literal>()) {
    if (auto v = lit->asUint64()) {
      out = *v;
      return true;
    }
  }
  if (const auto* p = e->as<Placeholder>(); p != nullptr && p->index < in_.params.size()) {
    const BoundValue& v = in_.params[p->index];
    if (v.type == BoundValue::Type::kUint) {
      out = v.u;
      return true;
    }
    if (v.type == BoundValue::Type::kInt && v.i >= 0) {
      out = static_cast<std::uint64_t>(v.i);
      return true;
    }
    // Drivers bind numbers as DOUBLE (node mysql2) or strings: the server takes an integral one.
    if (v.type == BoundValue::Type::kDouble && v.d >= 0 && v.d < 1.8e19 &&
        v.d == static_cast<double>(static_cast<std::uint64_t>(v.d))) {
      out = static_cast<std::uint64_t>(v.d);
      return true;
    }
    if (v.type == BoundValue::Type::kString && !v.s.empty() && v.s.size() <= 19 &&
        v.s.find_first_not_of("0123456789") == std::string_view::npos) {
      out = std::stoull(std::string(v.s));
      return true;
    }
  }
  return notSupported(fmt::format(
      "LIMIT {} in a query that reads several shards: the proxy needs the number itself", e->text));
}

namespace {

ColumnRef addHidden(MergeBuild& m, std::string_view text, MergeColumn column) {
  for (std::size_t i = 0; i < m.hiddenTexts.size(); ++i) {
    if (sameText(m.hiddenTexts[i], text) && m.spec.hiddenColumns[i].agg == column.agg) {
      return ColumnRef{static_cast<std::uint16_t>(i), true};
    }
  }
  m.hiddenSql.append(", ");
  m.hiddenSql.append(text);
  m.hiddenTexts.push_back(text);
  m.spec.hiddenColumns.push_back(column);
  return ColumnRef{static_cast<std::uint16_t>(m.spec.hiddenColumns.size() - 1), true};
}

ColumnRef addHiddenOwned(MergeBuild& m, std::string text, MergeColumn column) {
  for (std::size_t i = 0; i < m.hiddenTexts.size(); ++i) {
    if (sameText(m.hiddenTexts[i], text) && m.spec.hiddenColumns[i].agg == column.agg) {
      return ColumnRef{static_cast<std::uint16_t>(i), true};
    }
  }
  m.ownedTexts.push_back(std::move(text));
  return addHidden(m, m.ownedTexts.back(), column);
}

ColumnRef weightOf(MergeBuild& m, std::string_view exprText) {
  return addHiddenOwned(m, fmt::format("WEIGHT_STRING({})", exprText), MergeColumn{});
}

// The collation the shards compare `exprText` under: the column definition reports the result
// character set's collation, not the expression's, and the trailing-space rule needs the latter.
ColumnRef collationOf(MergeBuild& m, std::string_view exprText) {
  return addHiddenOwned(m, fmt::format("COLLATION({})", exprText), MergeColumn{});
}

// The select-list item an ORDER BY / GROUP BY expression names, or -1.
int matchItem(const MergeBuild& m, const Expr* e, bool aliases) {
  const auto& items = m.block.items;
  if (const auto* c = e->as<Column>(); c != nullptr && aliases && c->table.empty()) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!items[i]->alias.empty() && iequals(items[i]->alias.name, c->column.name)) {
        return static_cast<int>(i);
      }
    }
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Expr* x = items[i]->expr;
    if (x->kind == ExprKind::kStar) continue;
    const auto* a = e->as<Column>();
    const auto* b = x->as<Column>();
    if (a != nullptr && b != nullptr ? sameColumn(*a, *b) : sameText(e->text, x->text)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

// COUNT / SUM / AVG(DISTINCT x): the shards group by x as well (planMerge), the merge counts or
// adds each value of x once per group. One x per query.
bool Run::distinctColumn(MergeBuild& m, const Function& f, MergeAgg agg, MergeColumn& c) {
  std::string_view arg = f.args[0]->text;
  if (!m.distinctArgText.empty() && !sameText(m.distinctArgText, arg)) {
    return notSupported(
        "Aggregates of DISTINCT values of two different expressions over several "
        "shards");
  }
  if (m.distinctArgText.empty()) {
    m.distinctArgText = arg;
    SortKey k;
    k.column = addHidden(m, arg, MergeColumn{});
    k.weight = weightOf(m, arg);
    k.collation = collationOf(m, arg);
    m.spec.distinctArg = k;
  }
  c = MergeColumn{};
  if (agg == MergeAgg::kCount) {
    c.agg = MergeAgg::kCountDistinct;
  } else if (agg == MergeAgg::kSum) {
    c.agg = MergeAgg::kSumDistinct;
  } else {
    c.agg = MergeAgg::kAvg;
    c.sum =
        addHiddenOwned(m, fmt::format("SUM(DISTINCT {})", arg), aggColumn(MergeAgg::kSumDistinct));
    c.count = addHiddenOwned(m, fmt::format("COUNT(DISTINCT {})", arg),
                             aggColumn(MergeAgg::kCountDistinct));
  }
  return true;
}

// An aggregate call's merged column: a select-list item that is that call, or a hidden one.
bool Run::aggregateColumn(MergeBuild& m, const Function& f, ColumnRef& out, ColumnRef& count) {
  MergeAgg agg;
  if (!isMergeableAggregate(f, agg)) {
    return notSupported(fmt::format(
        "{}{} in a query that reads several shards cannot be merged from the shards' answers; "
        "narrow it to one shard with the shard key",
        f.name.name, f.distinct ? "(DISTINCT ...)" : "()"));
  }
  MergeColumn distinct;
  const bool isDistinct = f.distinct && agg != MergeAgg::kMin && agg != MergeAgg::kMax;
  if (isDistinct) {
    if (!distinctColumn(m, f, agg, distinct)) return false;
    agg = distinct.agg;
  }
  for (std::size_t i = 0; i < m.block.items.size() && !m.star; ++i) {
    if (m.block.items[i]->expr->kind == ExprKind::kFunction &&
        sameText(m.block.items[i]->expr->text, f.text) && m.spec.visible[i].agg == agg) {
      out = ColumnRef{static_cast<std::uint16_t>(i), false};
      if (agg == MergeAgg::kAvg) {
        out = m.spec.visible[i].sum;
        count = m.spec.visible[i].count;
      }
      return true;
    }
  }
  if (isDistinct) {
    if (distinct.agg == MergeAgg::kAvg) {
      out = distinct.sum;
      count = distinct.count;
      return true;
    }
    out = addHidden(m, f.text, distinct);
    return true;
  }
  if (agg == MergeAgg::kAvg) {
    std::string_view arg = f.args.empty() ? std::string_view("*") : f.args[0]->text;
    out = addHiddenOwned(m, fmt::format("SUM({})", arg), aggColumn(MergeAgg::kSum));
    count = addHiddenOwned(m, fmt::format("COUNT({})", arg), aggColumn(MergeAgg::kCount));
    return true;
  }
  MergeColumn c = aggColumn(agg);
  if (agg == MergeAgg::kMin || agg == MergeAgg::kMax) {
    c.weight = weightOf(m, f.text);
    c.collation = collationOf(m, f.text);
  }
  out = addHidden(m, f.text, c);
  return true;
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
  if (!containsAggregate(e)) {
    // Constant within a group (it may name only group keys): the shards compute it.
    int item = m.star ? -1 : matchItem(m, e, true);
    in.op = OpCode::kColumn;
    in.column = item >= 0 && m.spec.visible[static_cast<std::size_t>(item)].agg == MergeAgg::kAny
                    ? ColumnRef{static_cast<std::uint16_t>(item), false}
                    : addHidden(m, e->text, MergeColumn{});
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
  if (const auto* u = e->as<Unary>()) {
    if (u->op != UnaryOp::kNeg && u->op != UnaryOp::kNot && u->op != UnaryOp::kPlus) {
      return cannotMerge(e);
    }
    if (!compileMerged(m, u->operand, p)) return false;
    if (u->op != UnaryOp::kPlus)
      p.code.push_back(instruction(u->op == UnaryOp::kNeg ? OpCode::kNeg : OpCode::kNot));
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
      "answers (it evaluates + - * / DIV MOD, comparisons, AND / OR / NOT and IS NULL over "
      "COUNT, SUM, MIN, MAX and AVG); narrow the query to one shard with the shard key",
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
  if (item >= 0) {
    const auto i = static_cast<std::size_t>(item);
    key.column = ColumnRef{static_cast<std::uint16_t>(i), false};
    const MergeColumn& c = m.spec.visible[i];
    if (c.agg == MergeAgg::kAny) {
      key.weight = weightOf(m, m.block.items[i]->expr->text);
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
      if (count.valid()) {
        return notSupported(
            fmt::format("ORDER BY {} in a query that reads several shards: "
                        "select it, and order by its alias",
                        e->text));
      }
      const MergeColumn& c = m.spec.column(key.column);
      key.weight = c.weight;
      key.collation = c.collation;
      return true;
    }
    Program p;
    if (!compileMerged(m, e, p)) return false;
    m.spec.programs.push_back(std::move(p));
    MergeColumn c = aggColumn(MergeAgg::kExpr);
    c.program = static_cast<std::uint16_t>(m.spec.programs.size() - 1);
    key.column = addHidden(m, e->text, c);
    return true;
  }
  key.column = addHidden(m, e->text, MergeColumn{});
  key.weight = weightOf(m, e->text);
  key.collation = collationOf(m, e->text);
  return true;
}

bool Run::planMerge(const Query& q) {
  const auto* b = q.as<SelectBlock>();
  if (b == nullptr) return planUnionMerge(*q.as<SetOperation>());
  if (b->hasWindow) {
    return notSupported(
        "Window functions (... OVER ...) over several shards: each shard would "
        "see only its own rows; narrow the query to one shard with the shard key");
  }
  if (b->calcFoundRows && (b->hasAggregate || !b->groupBy.empty() || b->distinct)) {
    return notSupported(
        "SQL_CALC_FOUND_ROWS with aggregates, GROUP BY or DISTINCT over several "
        "shards (the shards' counts of groups do not add up)");
  }
  if (b->withRollup) return notSupported("GROUP BY ... WITH ROLLUP over several shards");
  if (!q.locking.text.empty() && q.locking.mode != LockMode::kNone && q.limit != nullptr) {
    return notSupported(
        "LIMIT with a locking clause over several shards: each shard would lock "
        "rows the merged answer does not return");
  }
  const std::string_view text = plan_.text;
  auto offsetOf = [&](std::string_view part) {
    return static_cast<std::size_t>(part.data() - text.data());
  };
  plan_.merge = MergeSpec{};
  MergeSpec& spec = plan_.merge;
  MergeBuild m{*b, spec, {}, {}, {}, false};
  for (const SelectItem* item : b->items)
    m.star = m.star || item->expr->kind == ExprKind::kStar;
  spec.aggregate = b->hasAggregate || !b->groupBy.empty();
  spec.calcFoundRows = b->calcFoundRows;
  spec.scalar = b->hasAggregate && b->groupBy.empty();
  if (m.star && spec.aggregate) {
    return notSupported(
        "SELECT * with aggregates or GROUP BY over several shards: name the "
        "columns");
  }

  // The select list.
  if (!m.star) spec.visible.resize(b->items.size());
  for (std::size_t i = 0; i < b->items.size() && !m.star; ++i) {
    const Expr* e = b->items[i]->expr;
    MergeColumn& c = spec.visible[i];
    if (!spec.aggregate || !containsAggregate(e)) continue;  // kAny
    const auto* f = e->as<Function>();
    MergeAgg agg;
    if (f != nullptr && f->aggregate && isMergeableAggregate(*f, agg) && f->distinct &&
        agg != MergeAgg::kMin && agg != MergeAgg::kMax) {
      MergeColumn d;
      if (!distinctColumn(m, *f, agg, d)) return false;
      spec.visible[i] = d;
      continue;
    }
    if (f != nullptr && f->aggregate && isMergeableAggregate(*f, agg)) {
      c.agg = agg;
      if (agg == MergeAgg::kMin || agg == MergeAgg::kMax) {
        c.weight = weightOf(m, f->text);
        c.collation = collationOf(m, f->text);
      }
      if (agg == MergeAgg::kAvg) {
        std::string_view arg = f->args.empty() ? std::string_view("*") : f->args[0]->text;
        c.sum = addHiddenOwned(m, fmt::format("SUM({})", arg), aggColumn(MergeAgg::kSum));
        c.count = addHiddenOwned(m, fmt::format("COUNT({})", arg), aggColumn(MergeAgg::kCount));
      }
      continue;
    }
    Program p;
    if (!compileMerged(m, e, p)) return false;
    spec.programs.push_back(std::move(p));
    // spec.visible may not be touched by compileMerged (it only appends hidden columns).
    spec.visible[i].agg = MergeAgg::kExpr;
    spec.visible[i].program = static_cast<std::uint16_t>(spec.programs.size() - 1);
  }

  // GROUP BY keys.
  for (const Expr* g : b->groupBy) {
    SortKey key;
    if (!sortKey(m, g, false, true, key)) return false;
    if (spec.column(key.column).agg != MergeAgg::kAny) {
      return notSupported(fmt::format("GROUP BY {} names an aggregate", g->text));
    }
    spec.group.push_back(key);
  }
  // ORDER BY keys (ORDER BY NULL: no order).
  bool orderNull = q.orderBy.size() == 1 && q.orderBy[0]->expr->as<Literal>() != nullptr &&
                   q.orderBy[0]->expr->as<Literal>()->type == LiteralType::kNull;
  if (!orderNull) {
    for (const OrderItem* o : q.orderBy) {
      SortKey key;
      if (!sortKey(m, o->expr, o->desc, true, key)) return false;
      spec.order.push_back(key);
    }
  }

  // HAVING: conjuncts over group keys only run on the shards; those with aggregates here.
  std::string pushedHaving;
  std::vector<const Expr*> pushedConjuncts;
  if (b->having != nullptr) {
    if (!spec.aggregate) {
      pushedHaving = std::string(b->having->text);  // a filter on the select list's rows
      pushedConjuncts.push_back(b->having);
    } else {
      const auto* l = b->having->as<Logical>();
      std::vector<const Expr*> conj;
      if (l != nullptr && l->op == LogicalOp::kAnd) {
        conj.assign(l->operands.begin(), l->operands.end());
      } else {
        conj.push_back(b->having);
      }
      Program p;
      std::uint16_t merged = 0;
      for (const Expr* c : conj) {
        if (!containsAggregate(c) && !spec.scalar) {
          if (!pushedHaving.empty()) pushedHaving.append(" AND ");
          pushedHaving.append("(").append(c->text).append(")");
          pushedConjuncts.push_back(c);
          continue;
        }
        if (!compileMerged(m, c, p)) return false;
        ++merged;
      }
      if (merged > 1) {
        Instruction all = instruction(OpCode::kAnd);
        all.count = merged;
        p.code.push_back(all);
      }
      if (merged > 0) {
        spec.programs.push_back(std::move(p));
        spec.having = static_cast<int>(spec.programs.size() - 1);
      }
    }
  }

  // DISTINCT: rows compare by their collation weights.
  spec.distinct = b->distinct;
  if (spec.distinct) {
    if (m.star) {
      return notSupported("SELECT DISTINCT * over several shards: name the columns");
    }
    if (spec.aggregate && !spec.scalar) {
      return notSupported("SELECT DISTINCT with GROUP BY over several shards");
    }
    for (const SelectItem* item : b->items) {
      spec.distinctWeights.push_back(weightOf(m, item->expr->text));
      spec.distinctCollations.push_back(collationOf(m, item->expr->text));
    }
    for (const SortKey& k : spec.order) {
      if (k.column.hidden && spec.column(k.column).agg == MergeAgg::kAny) {
        return notSupported(
            "SELECT DISTINCT ... ORDER BY an expression that is not selected, "
            "over several shards");
      }
    }
  }

  // LIMIT.
  std::uint64_t count = 0, offset = 0;
  // At PREPARE the LIMIT's placeholders have no value yet: EXECUTE plans again with them.
  const bool limitUnknown =
      q.limit != nullptr && !in_.executing &&
      (q.limit->count->kind == ExprKind::kPlaceholder ||
       (q.limit->offset != nullptr && q.limit->offset->kind == ExprKind::kPlaceholder));
  if (q.limit != nullptr && !limitUnknown) {
    if (!limitValue(q.limit->count, count)) return false;
    if (q.limit->offset != nullptr && !limitValue(q.limit->offset, offset)) return false;
    spec.limit = count;
    spec.offset = offset;
  }

  // The order the shards return rows in, and whether LIMIT can be pushed down.
  bool pushLimit = spec.limit.has_value();
  std::string shardOrder;
  auto orderText = [&](const SortKey& k, const Expr* e) {
    if (!shardOrder.empty()) shardOrder.append(", ");
    shardOrder.append(e->text);
    if (k.desc) shardOrder.append(" DESC");
  };
  if (spec.aggregate && !spec.scalar) {
    // Groups arrive sorted by their keys, so equal keys from several shards meet. The client's
    // order can be that order when it orders by exactly the group keys.
    bool sameKeys = !spec.order.empty() && spec.order.size() == spec.group.size();
    for (const SortKey& k : spec.order) {
      bool isGroupKey = false;
      for (const SortKey& g : spec.group)
        isGroupKey = isGroupKey || g.column == k.column;
      sameKeys = sameKeys && isGroupKey;
    }
    if (spec.order.empty() || sameKeys) {
      const bool own = spec.order.empty();
      if (own) spec.order = spec.group;  // the server sorts GROUP BY results by the keys
      spec.streamOrder = spec.order;
      for (std::size_t i = 0; i < spec.streamOrder.size(); ++i) {
        const SortKey& k = spec.streamOrder[i];
        const Expr* e = own ? b->groupBy[i] : q.orderBy[i]->expr;
        orderText(k, e);
      }
    } else {
      spec.streamOrder = spec.group;
      spec.sortGroups = true;
      pushLimit = false;
      for (std::size_t i = 0; i < spec.group.size(); ++i)
        orderText(spec.group[i], b->groupBy[i]);
    }
  } else if (spec.scalar) {
    spec.order.clear();
    pushLimit = false;
  } else {
    spec.streamOrder = spec.order;
    for (std::size_t i = 0; i < spec.order.size(); ++i)
      orderText(spec.order[i], q.orderBy[i]->expr);
  }
  if (spec.having >= 0) pushLimit = false;  // groups the HAVING drops must not take places
  if (spec.distinctArg.column.valid()) {
    // The shards group by x too and sort by it within each group: a group arrives as several
    // rows, one per value of x, equal values from several shards next to each other.
    pushLimit = false;
    spec.streamOrder.push_back(spec.distinctArg);
    if (!shardOrder.empty()) shardOrder.append(", ");
    shardOrder.append(m.distinctArgText);
  }

  // The shards' SQL: the select list with the hidden columns, the clauses up to HAVING, the
  // pushed-down HAVING, ORDER BY and LIMIT, and whatever followed (a locking clause).
  if (spec.hiddenColumns.size() > 60) {
    return notSupported("This query needs more than 60 hidden columns to merge");
  }
  spec.hidden = static_cast<std::uint16_t>(spec.hiddenColumns.size());
  const SelectItem* last = b->items.back();
  std::size_t itemsEnd = offsetOf(last->text) + last->text.size();
  std::size_t cut = offsetOf(b->text) + b->text.size();
  std::size_t resume = cut;
  auto cutAt = [&](std::optional<std::size_t> at) {
    if (!at) return false;
    cut = std::min(cut, *at);
    return true;
  };
  bool found = true;
  if (b->having != nullptr)
    found = cutAt(keywordBefore(text, offsetOf(b->having->text), {"HAVING"}));
  if (found && !q.orderBy.empty()) {
    found = cutAt(keywordBefore(text, offsetOf(q.orderBy[0]->text), {"ORDER", "BY"}));
  }
  if (found && q.limit != nullptr) found = cutAt(offsetOf(q.limit->text));
  if (!found) {
    return notSupported(
        "A comment inside HAVING / ORDER BY keywords of a query that reads "
        "several shards");
  }
  resume = cut;
  if (b->having != nullptr) resume = offsetOf(b->having->text) + b->having->text.size();
  if (!q.orderBy.empty()) {
    const OrderItem* lo = q.orderBy.back();
    resume = std::max(resume, offsetOf(lo->text) + lo->text.size());
  }
  if (q.limit != nullptr) resume = std::max(resume, offsetOf(q.limit->text) + q.limit->text.size());

  const std::size_t start = plan_.buffer.size();
  plan_.buffer.append(text.substr(0, itemsEnd));
  plan_.buffer.append(m.hiddenSql);
  if (spec.distinctArg.column.valid() && !b->groupBy.empty()) {
    const Expr* lastGroup = b->groupBy.back();
    const std::size_t groupEnd = offsetOf(lastGroup->text) + lastGroup->text.size();
    plan_.buffer.append(text.substr(itemsEnd, groupEnd - itemsEnd));
    plan_.buffer.append(", ").append(m.distinctArgText);
    plan_.buffer.append(text.substr(groupEnd, cut - groupEnd));
  } else {
    plan_.buffer.append(text.substr(itemsEnd, cut - itemsEnd));
    if (spec.distinctArg.column.valid())
      plan_.buffer.append(" GROUP BY ").append(m.distinctArgText);
  }
  if (!pushedHaving.empty()) plan_.buffer.append(" HAVING ").append(pushedHaving);
  if (!shardOrder.empty()) plan_.buffer.append(" ORDER BY ").append(shardOrder);
  if (in_.executing) {
    // Prepared on the shards in its own right: its placeholders are the client's that survive
    // in the copied text, in order; one for the pushed-down LIMIT comes last (nothing with a
    // placeholder follows it), so one shard statement serves every LIMIT value.
    if (hasPlaceholder(m.hiddenSql) || (spec.aggregate && hasPlaceholder(shardOrder))) {
      return notSupported(
          "A placeholder in an ORDER BY, GROUP BY or aggregate expression of a "
          "prepared statement over several shards");
    }
    std::vector<std::size_t> at = placeholderOffsets(text);
    std::vector<bool> kept(at.size(), false);
    auto keep = [&](std::size_t from, std::size_t to) {
      for (std::size_t i = 0; i < at.size(); ++i)
        if (at[i] >= from && at[i] < to) kept[i] = true;
    };
    keep(0, cut);
    for (const Expr* c : pushedConjuncts)
      keep(offsetOf(c->text), offsetOf(c->text) + c->text.size());
    if (!spec.aggregate) {
      for (const OrderItem* o : q.orderBy)
        keep(offsetOf(o->expr->text), offsetOf(o->expr->text) + o->expr->text.size());
    }
    keep(resume, text.size());
    for (std::size_t i = 0; i < at.size(); ++i)
      if (!kept[i]) spec.droppedParams.push_back(static_cast<std::uint32_t>(i));
    if (pushLimit) {
      spec.limitParam = true;
      spec.pushedLimit = count + offset;
    }
  }
  finishMergeSql(start, pushLimit ? std::optional<std::uint64_t>(count + offset) : std::nullopt,
                 resume);
  return true;
}

// UNION [ALL] of sharded selects with ORDER BY / LIMIT, or UNION (DISTINCT): every shard runs the
// whole union; the rows merge in the union's order, de-duplicated across shards for UNION.
bool Run::planUnionMerge(const SetOperation& op) {
  auto refuse = [&](std::string_view why) {
    return notSupported(
        fmt::format("{} over several shards of keyspace '{}' (not supported); "
                    "narrow it to one shard with the shard key",
                    why, ks_->name));
  };
  bool allAll = true, allDistinct = true;
  std::vector<const SelectBlock*> blocks;
  for (std::size_t i = 0; i < op.operands.size(); ++i) {
    const SetOperand* o = op.operands[i];
    if (i > 0) {
      if (o->op != SetOp::kUnion) return refuse("EXCEPT / INTERSECT");
      allAll = allAll && o->all;
      allDistinct = allDistinct && !o->all;
    }
    const auto* sb = o->query->as<SelectBlock>();
    if (sb == nullptr || !sb->orderBy.empty() || sb->limit != nullptr) {
      return refuse("A UNION branch with its own ORDER BY / LIMIT or nested set operation");
    }
    if (sb->hasAggregate || !sb->groupBy.empty() || sb->having != nullptr || sb->distinct ||
        sb->hasWindow || sb->calcFoundRows) {
      return refuse("A UNION branch that aggregates, groups or de-duplicates");
    }
    for (const SelectItem* item : sb->items)
      if (item->expr->kind == ExprKind::kStar) return refuse("SELECT * in a UNION");
    if (!blocks.empty() && sb->items.size() != blocks[0]->items.size()) {
      return refuse("UNION branches with different column counts");
    }
    blocks.push_back(sb);
  }
  if (!allAll && !allDistinct) return refuse("A mix of UNION and UNION ALL");
  const std::string_view text = plan_.text;
  auto offsetOf = [&](std::string_view part) {
    return static_cast<std::size_t>(part.data() - text.data());
  };
  plan_.merge = MergeSpec{};
  MergeSpec& spec = plan_.merge;
  const SelectBlock& first = *blocks[0];
  const std::size_t n = first.items.size();
  spec.visible.resize(n);
  spec.distinct = allDistinct;
  // Keys name the first branch's columns (by position, alias or name), as MySQL resolves them.
  std::vector<int> keyItem;
  for (const OrderItem* o : op.orderBy) {
    int item = -1;
    if (const auto* lit = o->expr->as<Literal>();
        lit != nullptr && lit->type == LiteralType::kInteger) {
      auto pos = lit->asUint64();
      if (pos && *pos >= 1 && *pos <= n) item = static_cast<int>(*pos - 1);
    } else {
      MergeBuild probe{first, spec, {}, {}, {}, false};
      item = matchItem(probe, o->expr, true);
    }
    if (item < 0) return refuse(fmt::format("ORDER BY {} naming no column of the UNION", o->text));
    keyItem.push_back(item);
  }
  std::vector<int> hiddenAt(n, -1);  // item -> its first hidden column (weight, then collation)
  auto need = [&](std::size_t item) {
    if (hiddenAt[item] < 0) {
      hiddenAt[item] = static_cast<int>(spec.hiddenColumns.size());
      spec.hiddenColumns.resize(spec.hiddenColumns.size() + 2);
    }
  };
  for (int item : keyItem)
    need(static_cast<std::size_t>(item));
  if (spec.distinct) {
    for (std::size_t i = 0; i < n; ++i)
      need(i);
  }
  auto weightRef = [&](std::size_t item) {
    return ColumnRef{static_cast<std::uint16_t>(hiddenAt[item]), true};
  };
  auto collationRef = [&](std::size_t item) {
    return ColumnRef{static_cast<std::uint16_t>(hiddenAt[item] + 1), true};
  };
  for (std::size_t k = 0; k < keyItem.size(); ++k) {
    SortKey key;
    const auto item = static_cast<std::size_t>(keyItem[k]);
    key.column = ColumnRef{static_cast<std::uint16_t>(item), false};
    key.weight = weightRef(item);
    key.collation = collationRef(item);
    key.desc = op.orderBy[k]->desc;
    spec.order.push_back(key);
  }
  spec.streamOrder = spec.order;
  if (spec.distinct) {
    for (std::size_t i = 0; i < n; ++i) {
      spec.distinctWeights.push_back(weightRef(i));
      spec.distinctCollations.push_back(collationRef(i));
    }
  }
  spec.hidden = static_cast<std::uint16_t>(spec.hiddenColumns.size());
  std::uint64_t count = 0, offset = 0;
  const bool limitUnknown =
      op.limit != nullptr && !in_.executing &&
      (op.limit->count->kind == ExprKind::kPlaceholder ||
       (op.limit->offset != nullptr && op.limit->offset->kind == ExprKind::kPlaceholder));
  if (op.limit != nullptr && !limitUnknown) {
    if (!limitValue(op.limit->count, count)) return false;
    if (op.limit->offset != nullptr && !limitValue(op.limit->offset, offset)) return false;
    spec.limit = count;
    spec.offset = offset;
  }
  // Each branch's hidden columns in the same positions.
  std::vector<std::string> hiddenSql(blocks.size());
  for (std::size_t bi = 0; bi < blocks.size(); ++bi) {
    std::vector<std::pair<int, std::size_t>> order;  // hidden position -> item
    for (std::size_t i = 0; i < n; ++i)
      if (hiddenAt[i] >= 0) order.emplace_back(hiddenAt[i], i);
    std::sort(order.begin(), order.end());
    for (const auto& [pos, item] : order) {
      std::string_view e = blocks[bi]->items[item]->expr->text;
      hiddenSql[bi] += fmt::format(", WEIGHT_STRING({0}), COLLATION({0})", e);
    }
    if (in_.executing && hasPlaceholder(hiddenSql[bi])) {
      return refuse("A placeholder in the select list of a prepared UNION");
    }
  }
  const std::size_t start = plan_.buffer.size();
  std::size_t pos = 0;
  for (std::size_t bi = 0; bi < blocks.size(); ++bi) {
    const SelectItem* last = blocks[bi]->items.back();
    std::size_t end = offsetOf(last->text) + last->text.size();
    plan_.buffer.append(text.substr(pos, end - pos));
    plan_.buffer.append(hiddenSql[bi]);
    pos = end;
  }
  const bool pushLimit = spec.limit.has_value();
  std::size_t cut = op.limit != nullptr ? offsetOf(op.limit->text) : text.size();
  std::size_t resume = op.limit != nullptr ? cut + op.limit->text.size() : text.size();
  plan_.buffer.append(text.substr(pos, cut - pos));
  if (in_.executing) {
    std::vector<std::size_t> at = placeholderOffsets(text);
    for (std::size_t i = 0; i < at.size(); ++i)
      if (at[i] >= cut && at[i] < resume)
        spec.droppedParams.push_back(static_cast<std::uint32_t>(i));
    spec.limitParam = pushLimit;
    spec.pushedLimit = count + offset;
  }
  finishMergeSql(start, pushLimit ? std::optional<std::uint64_t>(count + offset) : std::nullopt,
                 resume);
  return true;
}

// The end of every target's SQL (shared by all targets): the pushed-down LIMIT (a placeholder
// when the shards prepare it), whatever followed the client's clauses, and the plan kind.
void Run::finishMergeSql(std::size_t start, std::optional<std::uint64_t> pushedLimit,
                         std::size_t resume) {
  const std::string_view text = plan_.text;
  if (pushedLimit) {
    plan_.buffer.append(plan_.merge.limitParam ? std::string(" LIMIT ?")
                                               : fmt::format(" LIMIT {}", *pushedLimit));
  }
  if (resume < text.size()) plan_.buffer.append(" ").append(text.substr(resume));
  for (PlanTarget& t : plan_.targets) {
    t.offset = static_cast<std::uint32_t>(start);
    t.length = static_cast<std::uint32_t>(plan_.buffer.size() - start);
  }
  plan_.kind = PlanKind::kMerge;
}

}  // namespace shardproxy::router::planning
