// The planner's merges (merge_spec.h, docs/merging.md): a SELECT block that reads several shards
// and orders, limits, aggregates, groups or de-duplicates is rewritten for the shards — the keys
// and partial aggregates the merge needs appended as hidden columns, ORDER BY and LIMIT pushed
// down where that is exact — and the merge that turns the shards' answers into one is described
// in Plan::merge. What cannot be merged exactly is refused with 1235 naming the construct.
#include "planner_merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <deque>

#include "planner_internal.h"
#include "shardproxy/router/sql/lexer.h"

namespace shardproxy::router::planning {

namespace {

// Whether sending the statement to a shard a second time is harmless (the full ask after a first
// ask): no user variables or assignments, no INTO, and no function calls at all (a stored
// function or GET_LOCK() has effects, and builtins are not told apart here). A reserved word
// before a parenthesis (IN, VALUES, EXISTS, IF, LEFT, ...) is grammar or a builtin without effects.
bool askTwiceSafe(std::string_view text, const sql::LexOptions& options) {
  using sql::TokenKind;
  sql::Lexer lex(text, options);
  sql::Token prev;
  for (sql::Token t = lex.next(); t.kind != TokenKind::kEnd; prev = t, t = lex.next()) {
    switch (t.kind) {
      case TokenKind::kError:
      case TokenKind::kUserVar:
      case TokenKind::kAt:
      case TokenKind::kAssign:
      case TokenKind::kSemicolon:
        return false;
      case TokenKind::kLParen:
        if (prev.kind == TokenKind::kQuotedIdent ||
            (prev.kind == TokenKind::kWord && !sql::isReserved(prev.kw))) {
          return false;
        }
        break;
      case TokenKind::kWord:
        if (t.kw == sql::Kw::kInto) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

}  // namespace

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

bool hasPlaceholder(std::string_view sql) {
  return !placeholderOffsets(sql).empty();
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

// An ENUM / SET value's member number, `(e) + 0`: what the server orders and groups it by.
ColumnRef memberNumberOf(MergeBuild& m, std::string_view exprText) {
  return addHiddenOwned(m, fmt::format("({}) + 0", exprText), MergeColumn{});
}

const TrackedTable* Run::trackedTable(const MergeBuild& m) {
  if (in_.tracked == nullptr) return nullptr;
  std::vector<const TableName*>& tables = s_.weightTables;
  tables.clear();
  tablesIn(m.block.from, tables);
  if (tables.size() != 1) return nullptr;
  const TableName* t = tables[0];
  if (!t->db.empty() && !iequals(t->db.name, ks_->name)) return nullptr;
  return in_.tracked->table(ks_->name, t->name.name);
}

bool Run::planMerge(const Query& q) {
  // `*` where the merge needs column positions: the tracked columns spelled out (once; the
  // expanded query has no `*` left to expand).
  if (const Query* expanded = expandedStars(q)) return planMerge(*expanded);
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
  if (b->withRollup && !rollupAllowed(q, *b)) return false;
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
  MergeBuild m{*b, spec, {}, {}, {}, false, {}, {}};
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
    if (f != nullptr && f->aggregate && isMergeableAggregate(*f, agg) && agg == MergeAgg::kConcat) {
      MergeColumn g;
      if (!concatColumn(m, *f, *b->items[i], g)) return false;
      spec.visible[i] = g;
      continue;
    }
    if (f != nullptr && f->aggregate && isMergeableAggregate(*f, agg) && f->distinct &&
        agg != MergeAgg::kMin && agg != MergeAgg::kMax) {
      MergeColumn d;
      if (!distinctColumn(m, *f, agg, d)) return false;
      spec.visible[i] = d;
      continue;
    }
    if (f != nullptr && f->aggregate && isMergeableAggregate(*f, agg)) {
      c.agg = agg;
      if ((agg == MergeAgg::kMin || agg == MergeAgg::kMax) &&
          (f->args.empty() || needsWeight(m, f->args[0]))) {
        c.weight = weightOf(m, f->text);
        c.collation = collationOf(m, f->text);
      }
      addAggregateInputs(m, *f, c);
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
  if (b->groupDescPast64) return notSupported("GROUP BY ... DESC after its 64th key");
  std::vector<std::string>& groupColumns = m.groupColumns;
  groupColumns.assign(b->groupBy.size(), std::string());
  for (std::size_t i = 0; i < b->groupBy.size(); ++i) {
    const Expr* g = b->groupBy[i];
    SortKey key;  // GROUP BY k DESC: MariaDB returns the groups in descending order of k
    std::string& column = groupColumns[i];
    const bool desc = (b->groupDesc >> i & 1) != 0;
    if (!groupByColumn(m, g, column)) return false;
    if (column.empty()) {
      if (!sortKey(m, g, desc, true, key)) return false;
    } else {
      // The column, selected under a name of its own: a second item named like the alias would
      // make the shards' GROUP BY ambiguous.
      key.desc = desc;
      key.column =
          addHiddenOwned(m, fmt::format("{} AS `shardproxy_group_{}`", column, i), MergeColumn{});
      if (needsWeight(m, g)) {
        bool exact = false;
        key.weight = weightOf(m, weightArg(m, g, exact));
        key.collation = collationOf(m, g->text);
      }
    }
    if (spec.column(key.column).agg != MergeAgg::kAny) {
      return notSupported(fmt::format("GROUP BY {} names an aggregate", g->text));
    }
    spec.group.push_back(key);
  }
  if (b->withRollup && !rollupColumns(m)) return false;
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

  // A GROUP_CONCAT's merged string has no weight of its own (each shard's WEIGHT_STRING is of
  // its part), so it can neither be sorted nor compared for DISTINCT.
  for (const SortKey& k : spec.order) {
    if (spec.column(k.column).agg == MergeAgg::kConcat) {
      return notSupported("ORDER BY a GROUP_CONCAT(...) over several shards");
    }
  }
  if (b->distinct) {
    for (const MergeColumn& c : spec.visible) {
      if (c.agg == MergeAgg::kConcat)
        return notSupported("SELECT DISTINCT with a GROUP_CONCAT(...) over several shards");
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
      m.having = true;
      for (const Expr* c : conj) {
        // (WITH ROLLUP: a shard's HAVING would drop rows that tell its super-aggregate rows
        // from its groups.)
        if (!havingAggregates(m, c) && !spec.scalar && !b->withRollup) {
          if (!pushedHaving.empty()) pushedHaving.append(" AND ");
          pushedHaving.append("(").append(c->text).append(")");
          pushedConjuncts.push_back(c);
          continue;
        }
        if (!compileMerged(m, c, p)) return false;
        ++merged;
      }
      m.having = false;
      if (merged > 1) {
        Instruction all = instruction(OpCode::kAnd);
        all.count = merged;
        p.code.push_back(all);
      }
      if (merged > 0) {
        spec.programs.push_back(std::move(p));
        spec.having = static_cast<int>(spec.programs.size() - 1);
      }
      if (b->withRollup) {
        // The shards keep every row, yet resolve the HAVING's names as one server would (an
        // unknown column is their error 1054, as one server's).
        pushedHaving = fmt::format("({}) OR 1", b->having->text);
        pushedConjuncts.push_back(b->having);
      }
    }
  }

  // DISTINCT: rows compare by their collation weights.
  spec.distinct = b->distinct;
  bool distinctExact = true;  // the shards' DISTINCT keeps no more rows than the merge
  if (spec.distinct) {
    if (m.star) {
      return notSupported("SELECT DISTINCT * over several shards: name the columns");
    }
    if (spec.aggregate && !spec.scalar) {
      return notSupported("SELECT DISTINCT with GROUP BY over several shards");
    }
    const TrackedTable* table = trackedTable(m);
    for (const SelectItem* item : b->items) {
      // Numbers and dates compare by value, columns the WHERE fixes not at all: no WEIGHT_STRING
      // to select, which would also keep a shard from answering DISTINCT from an index as one
      // server does (and its column flags show it).
      const bool fixed = fixedKey(*b, item->expr, table, in_.collationConnection);
      spec.distinctFixed.push_back(fixed ? 1 : 0);
      if (fixed || !needsWeight(m, item->expr)) {
        spec.distinctWeights.emplace_back();
        spec.distinctCollations.emplace_back();
        continue;
      }
      bool exact = false;
      spec.distinctWeights.push_back(weightOf(m, weightArg(m, item->expr, exact)));
      spec.distinctCollations.push_back(collationOf(m, item->expr->text));
      distinctExact = distinctExact && exact;
    }
    for (const SortKey& k : spec.order) {
      // (An ENUM's number, `(e) + 0`, is of a selected e: sortKey adds it for `ORDER BY e`.)
      const bool enumIndex = k.column.hidden && std::find(m.indexKeys.begin(), m.indexKeys.end(),
                                                          k.column.index) != m.indexKeys.end();
      if (k.column.hidden && spec.column(k.column).agg == MergeAgg::kAny && !enumIndex) {
        return notSupported(
            "SELECT DISTINCT ... ORDER BY an expression that is not selected, "
            "over several shards");
      }
    }
    // Where one server answers the DISTINCT as a GROUP BY of its select list, it can read the
    // groups from an index (and its columns carry the index's flags). Shards sent DISTINCT with
    // the weights selected too could not (the weights would join the group list): they are sent
    // that GROUP BY, the weights riding along as values of each group.
    if (!spec.aggregate &&
        distinctBecomesGroup(*b, q, spec, table, in_.collationConnection).value_or(false)) {
      m.distinctGroupBy = distinctGroupList(*b, q, spec);
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
  auto orderText = [&](const SortKey& k, std::string_view text) {
    if (!shardOrder.empty()) shardOrder.append(", ");
    shardOrder.append(text);
    if (k.desc) shardOrder.append(" DESC");
  };
  auto groupText = [&](std::size_t i) -> std::string_view {
    return groupColumns[i].empty() ? b->groupBy[i]->text : std::string_view(groupColumns[i]);
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
      // (WITH ROLLUP takes no ORDER BY: its GROUP BY returns the groups in that order.)
      for (std::size_t i = 0; i < spec.streamOrder.size() && !spec.rollup; ++i) {
        const SortKey& k = spec.streamOrder[i];
        orderText(k, own ? groupText(i) : q.orderBy[i]->expr->text);
      }
    } else {
      spec.streamOrder = spec.group;
      spec.sortGroups = true;
      pushLimit = false;
      for (std::size_t i = 0; i < spec.group.size(); ++i)
        orderText(spec.group[i], groupText(i));
    }
  } else if (spec.scalar) {
    spec.order.clear();
    pushLimit = false;
  } else {
    spec.streamOrder = spec.order;
    for (std::size_t i = 0; i < spec.order.size(); ++i)
      orderText(spec.order[i], q.orderBy[i]->expr->text);
    if (spec.order.empty() && !m.distinctGroupBy.empty()) {
      // DISTINCT without ORDER BY or LIMIT, sent as GROUP BY: ordered by the group list too (the
      // order MariaDB groups in: no sort of its own, no change of plan), duplicates from several
      // shards meet in the merge, which then keeps no set.
      for (std::size_t i = 0; i < b->items.size(); ++i) {
        if (spec.distinctFixed[i] != 0) continue;
        SortKey k;
        k.column = ColumnRef{static_cast<std::uint16_t>(i), false};
        k.weight = spec.distinctWeights[i];
        k.collation = spec.distinctCollations[i];
        if (ordersByIndex(m, b->items[i]->expr)) {  // grouped by the member's number
          k = SortKey{};
          k.column = memberNumberOf(m, b->items[i]->expr->text);
        }
        spec.streamOrder.push_back(k);
        orderText(k, b->items[i]->expr->text);
      }
    }
  }
  if (spec.having >= 0) pushLimit = false;  // groups the HAVING drops must not take places
  if (spec.rollup && !rollupMergeable(m)) return false;
  // A shard's DISTINCT over weights that tell apart values the merge calls equal ('a', 'a ')
  // would fill its LIMIT with rows the merge then drops.
  if (spec.distinct && m.distinctGroupBy.empty() && !distinctExact) pushLimit = false;
  if (!spec.distinctArgs.empty()) {
    // The shards group by x too and sort by it within each group: a group arrives as several
    // rows, one per value of x, equal values from several shards next to each other.
    pushLimit = false;
    spec.streamOrder.insert(spec.streamOrder.end(), spec.distinctArgs.begin(),
                            spec.distinctArgs.end());
    if (!shardOrder.empty()) shardOrder.append(", ");
    shardOrder.append(m.distinctArgText);
  }
  if (spec.sortGroups && sortsGroupsAgain(*b, q, spec, trackedTable(m), in_.collationConnection)) {
    spec.groupsSortedAgain = true;
    // One server sorts these groups in a temporary table, and the columns it sends from there
    // carry that table's flags and decimals (no key flags, no BINARY on an aggregate, a string's
    // decimals 39), unless it drops the grouping (a unique key's columns, no aggregates) or the
    // WHERE is impossible. The client's ORDER BY after the group keys keeps the order the merge
    // needs and has each shard decide that as one server would (docs/merging.md).
    for (const OrderItem* o : q.orderBy) {
      if (hasPlaceholder(o->expr->text)) continue;
      shardOrder.append(", ").append(o->expr->text);
      if (o->desc) shardOrder.append(" DESC");
    }
  }

  // LIMIT 0 (after any offset): one server answers from its plan without running it ("Zero
  // limit": no temporary table, the columns' own flags), and so does every shard when sent it.
  const bool zeroLimit = spec.limit.has_value() && count == 0;
  if (zeroLimit) pushLimit = true;
  const std::uint64_t shardLimit = zeroLimit ? 0 : count + offset;

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
  if (!m.distinctGroupBy.empty()) {
    // SELECT [options without DISTINCT] items ... GROUP BY the items.
    const std::size_t optionsAt = offsetOf(b->options);
    const std::string options = withoutDistinct(b->options);
    std::size_t rest = optionsAt + b->options.size();
    if (options.empty()) {
      while (rest < itemsEnd && std::isspace(static_cast<unsigned char>(text[rest])))
        ++rest;
    }
    plan_.buffer.append(text.substr(0, optionsAt)).append(options);
    appendEdited(plan_.buffer, text, rest, itemsEnd, m.edits);
    plan_.buffer.append(m.hiddenSql);
    plan_.buffer.append(text.substr(itemsEnd, cut - itemsEnd));
    plan_.buffer.append(" GROUP BY ").append(m.distinctGroupBy);
  } else if (!spec.distinctArgs.empty() && !b->groupBy.empty()) {
    appendEdited(plan_.buffer, text, 0, itemsEnd, m.edits);
    plan_.buffer.append(m.hiddenSql);
    const Expr* lastGroup = b->groupBy.back();
    const std::size_t groupEnd = offsetOf(lastGroup->text) + lastGroup->text.size();
    plan_.buffer.append(text.substr(itemsEnd, groupEnd - itemsEnd));
    appendDistinctLists(plan_.buffer.append(", "), m);
    plan_.buffer.append(text.substr(groupEnd, cut - groupEnd));
  } else {
    appendEdited(plan_.buffer, text, 0, itemsEnd, m.edits);
    plan_.buffer.append(m.hiddenSql);
    plan_.buffer.append(text.substr(itemsEnd, cut - itemsEnd));
    if (!spec.distinctArgs.empty()) appendDistinctLists(plan_.buffer.append(" GROUP BY "), m);
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
      spec.pushedLimit = shardLimit;
    }
  }
  // A first, smaller ask (plain rows in order, the text protocol, nothing after the LIMIT): the
  // merge finds out whether it was enough before the client sees a row.
  std::uint64_t firstLimit = 0;
  if (pushLimit && !zeroLimit && !in_.executing && !spec.aggregate && !spec.distinct &&
      !spec.calcFoundRows && !spec.streamOrder.empty() && resume >= text.size()) {
    firstLimit = firstAskLimit(count + offset, plan_.targets.size());
    static const sql::LexOptions kDefaults;
    if (firstLimit != 0 &&
        !askTwiceSafe(text, in_.parseOptions != nullptr ? in_.parseOptions->lex : kDefaults)) {
      firstLimit = 0;
    }
  }
  spec.firstLimit = firstLimit;
  finishMergeSql(start, pushLimit ? std::optional<std::uint64_t>(shardLimit) : std::nullopt, resume,
                 firstLimit);
  return true;
}

}  // namespace shardproxy::router::planning
