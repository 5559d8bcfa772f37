// The planner's reads: query blocks, their tables, joins on the shard key, subqueries, the shard
// set from key conditions, IN-list splitting; SELECT, SHOW and EXPLAIN (docs/routing.md).
#include <fmt/format.h>

#include <algorithm>

#include "planner_internal.h"
#include "shardproxy/router/keyspace_id.h"
#include "shardproxy/router/sql/analysis.h"

namespace shardproxy::router::planning {

bool Run::keyOf(const TableInfo& t, const Column& c) const {
  return t.cls == TableClass::kSharded && iequals(c.column.name, t.rule->shardKey);
}

TableInfo* Run::infoFor(BlockScratch& b, const Column& c) {
  const TableName* t = resolveTable(List<TableName>(b.tables.data(), b.tables.size()), c);
  if (t == nullptr) return nullptr;
  for (auto& info : b.infos)
    if (info.name == t) return &info;
  return nullptr;
}

bool Run::classifyTables(BlockScratch& b) {
  b.infos.clear();
  for (const TableName* t : b.tables) {
    TableInfo info;
    info.name = t;
    info.group = static_cast<std::uint32_t>(b.infos.size());
    std::string_view db = t->db.empty() ? in_.schema : t->db.name;
    if (t->cte) {
      info.cls = TableClass::kCte;
    } else if (isSystemSchema(db)) {
      info.cls = TableClass::kSystem;
    } else {
      info.rule = snap_.findTable(ks_->name, t->name.name);
      if (info.rule == nullptr) {
        return fail(ErrorCode::kNoTableRule,
                    fmt::format("Table '{}' has no table rule in sharded keyspace '{}', so the "
                                "proxy cannot tell where its rows live (CREATE SHARDED TABLE or "
                                "CREATE REFERENCE TABLE on the admin port)",
                                t->name.name, ks_->name));
      }
      info.cls = info.rule->kind == catalog::TableKind::kSharded ? TableClass::kSharded
                                                                 : TableClass::kReference;
    }
    b.infos.push_back(info);
  }
  return true;
}

std::uint32_t Run::findGroup(BlockScratch& b, std::uint32_t i) {
  while (b.infos[i].group != i) {
    b.infos[i].group = b.infos[b.infos[i].group].group;
    i = b.infos[i].group;
  }
  return i;
}

bool Run::valuesToSet(const KeyConjunct& k, const catalog::TableRule& rule, ShardSet& out) {
  out.reset(ks_->shards.size(), false);
  for (const Expr* v : k.values) {
    if (v->kind == ExprKind::kPlaceholder && !in_.executing) {
      deferred_ = true;
      out.reset(ks_->shards.size(), true);
      return true;
    }
    if (const auto* lit = v->as<Literal>(); lit != nullptr && lit->type == LiteralType::kNull) {
      continue;  // matches nothing
    }
    if (const auto* p = v->as<Placeholder>();
        p != nullptr && p->index < in_.params.size() &&
        in_.params[p->index].type == BoundValue::Type::kNull) {
      continue;
    }
    auto id = keyspaceIdOf(*v, in_.params, rule.hashFunction);
    if (!id) {
      out.reset(ks_->shards.size(), true);  // cannot narrow by this value
      return true;
    }
    auto pos = positionOf(*id);
    if (!pos) {
      return fail(ErrorCode::kNoRoute,
                  fmt::format("No serving shard of keyspace '{}' owns keyspace ID {:016x}",
                              ks_->name, *id));
    }
    out.add(*pos);
  }
  return true;
}

void Run::collectOnConjuncts(const TableRef* r, BlockScratch& b, bool filtering) {
  const auto* j = r->as<Join>();
  if (j == nullptr) return;
  bool inner = j->join == JoinKind::kInner || j->join == JoinKind::kCross ||
               j->join == JoinKind::kStraight || j->join == JoinKind::kComma;
  collectOnConjuncts(j->left, b, filtering && (inner || j->join == JoinKind::kLeft));
  collectOnConjuncts(j->right, b, filtering && (inner || j->join == JoinKind::kRight));
  if (j->on != nullptr) {
    keyConjuncts(j->on, b.part);
    for (auto& k : b.part) {
      // An outer join's ON narrows nothing, but its column links still co-locate rows.
      if (filtering && inner) {
        b.conj.push_back(k);
      } else if (k.match == KeyMatch::kColumns) {
        b.conj.push_back(k);
      }
    }
  }
  for (const Ident* u : j->usingColumns) {
    (void)u;  // USING (col): both sides' col; treated below as a link when it is the key
  }
}

bool Run::walkExpr(const Expr* e, std::size_t depth) {
  if (e == nullptr) return true;
  if (const Query* q = nestedQuery(e)) {
    if (!analyzeNested(*q, depth + 1)) return false;
  }
  if (const auto* f = e->as<Function>()) {
    if (isConnectionBoundFunction(f->name.name)) connectionBound_ = true;
    if (f->args.empty() && iequals(f->name.name, "connection_id")) plan_.usesConnectionId = true;
  }
  if (const auto* b = e->as<Binary>(); b != nullptr && b->op == BinaryOp::kAssign) {
    connectionBound_ = true;
  }
  bool ok = true;
  forEachChildExpr(e, [&](const Expr* c) {
    if (ok && c != nullptr) ok = walkExpr(c, depth);
  });
  return ok;
}

bool Run::walkTableRef(const TableRef* r, std::size_t depth) {
  if (const auto* d = r->as<DerivedTable>()) return analyzeNested(*d->query, depth + 1);
  if (const auto* j = r->as<Join>()) {
    if (!walkTableRef(j->left, depth) || !walkTableRef(j->right, depth)) return false;
    return walkExpr(j->on, depth);
  }
  return true;
}

// Unsharded: only the connection-bound question matters, anywhere in the query.
bool Run::walkUnshardedQuery(const Query& q, std::size_t depth) {
  for (const Cte* c : q.with)
    if (!walkUnshardedQuery(*c->query, depth + 1)) return false;
  for (const OrderItem* o : q.orderBy)
    if (!walkExpr(o->expr, depth)) return false;
  if (const auto* op = q.as<SetOperation>()) {
    for (const SetOperand* operand : op->operands)
      if (!walkUnshardedQuery(*operand->query, depth + 1)) return false;
    return true;
  }
  const auto* b = q.as<SelectBlock>();
  for (const SelectItem* item : b->items)
    if (!walkExpr(item->expr, depth)) return false;
  for (const TableRef* r : b->from)
    if (!walkTableRef(r, depth)) return false;
  for (const Expr* g : b->groupBy)
    if (!walkExpr(g, depth)) return false;
  return walkExpr(b->where, depth) && walkExpr(b->having, depth);
}

bool Run::analyzeNested(const Query& q, std::size_t depth) {
  if (!ks_->sharded) return walkUnshardedQuery(q, depth);
  BlockResult r;
  const bool outerDeferred = deferred_;
  deferred_ = false;
  const bool ok = analyzeQuery(q, depth, r);
  const bool innerDeferred = deferred_;
  deferred_ = outerDeferred || innerDeferred;
  if (!ok) return false;
  if (!r.sharded || r.colocated) return true;
  const ShardSet& set = block(depth).result;
  // Contradictory key conditions: no shard has a row for it, every shard answers the same.
  if (set.count() == 0) return true;
  auto one = set.single();
  if (!one) {
    // Placeholders decide the subquery's shards: EXECUTE plans again with the values.
    if (innerDeferred) return true;
    return notSupported(
        "A subquery or derived table reads a sharded table on more than one shard and is not "
        "joined to the outer query on the shard key: each shard would see only its own rows");
  }
  if (required_ && *required_ != *one) {
    return notSupported("Subqueries read sharded tables on different shards");
  }
  required_ = one;
  return true;
}

bool Run::analyzeQuery(const Query& q, std::size_t depth, BlockResult& out) {
  for (const Cte* c : q.with)
    if (!analyzeNested(*c->query, depth + 1)) return false;
  BlockScratch& b = block(depth);
  if (const auto* sel = q.as<SelectBlock>()) {
    if (!analyzeBlock(sel->from, sel->where, depth, out, sel)) return false;
    out.allSharded = out.sharded;
    b.result = b.set;
    return true;
  }
  const auto* op = q.as<SetOperation>();
  b.result.reset(ks_->shards.size(), false);
  out.allSharded = true;
  // Co-located with the outer row only if every branch that reads a sharded table is: one
  // uncorrelated branch reads shards the outer row is not on.
  bool allColocated = true;
  for (const SetOperand* operand : op->operands) {
    BlockResult r;
    if (!analyzeQuery(*operand->query, depth + 1, r)) return false;
    out.sharded = out.sharded || r.sharded;
    out.allSharded = out.allSharded && r.allSharded;
    out.constrained = out.constrained || r.constrained;
    if (r.sharded && !r.colocated) allColocated = false;
    b.result.unite(block(depth + 1).result);
  }
  out.colocated = out.sharded && allColocated;
  for (const OrderItem* o : q.orderBy)
    if (!walkExpr(o->expr, depth)) return false;
  return true;
}

bool Run::analyzeBlock(List<TableRef> from, const Expr* where, std::size_t depth, BlockResult& out,
                       const SelectBlock* select, std::span<const Expr* const> extra) {
  BlockScratch& b = block(depth);
  b.tables.clear();
  tablesIn(from, b.tables);
  if (!classifyTables(b)) return false;
  keyConjuncts(where, b.conj);
  for (const TableRef* r : from)
    collectOnConjuncts(r, b, true);

  // Nested queries see this block as their closest outer scope.
  scopes_.push_back(&b);
  bool ok = true;
  for (const TableRef* r : from)
    ok = ok && walkTableRef(r, depth);
  ok = ok && walkExpr(where, depth);
  if (select != nullptr) {
    for (const SelectItem* item : select->items)
      ok = ok && walkExpr(item->expr, depth);
    for (const Expr* g : select->groupBy)
      ok = ok && walkExpr(g, depth);
    ok = ok && walkExpr(select->having, depth);
    for (const OrderItem* o : select->orderBy)
      ok = ok && walkExpr(o->expr, depth);
  }
  for (const Expr* e : extra)
    ok = ok && walkExpr(e, depth);
  scopes_.pop_back();
  if (!ok) return false;

  // Co-location: sharded tables joined on their shard keys form one group.
  for (const KeyConjunct& k : b.conj) {
    if (k.match != KeyMatch::kColumns) continue;
    TableInfo* a = infoFor(b, *k.column);
    TableInfo* c = infoFor(b, *k.other);
    bool aKey = a != nullptr && keyOf(*a, *k.column);
    bool cKey = c != nullptr && keyOf(*c, *k.other);
    if (aKey && cKey) {
      auto ra = findGroup(b, a->group);
      auto rc = findGroup(b, c->group);
      b.infos[ra].group = rc;
      continue;
    }
    // Correlated with an outer block on the shard key: per row, the outer row's shard.
    const Column* outerCol = aKey && c == nullptr   ? k.other
                             : cKey && a == nullptr ? k.column
                                                    : nullptr;
    if (outerCol == nullptr) continue;
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto& scope = const_cast<BlockScratch&>(**it);
      TableInfo* o = infoFor(scope, *outerCol);
      if (o != nullptr) {
        if (keyOf(*o, *outerCol)) out.colocated = true;
        break;
      }
    }
  }
  const TableInfo* firstSharded = nullptr;
  for (std::uint32_t i = 0; i < b.infos.size(); ++i) {
    const TableInfo& t = b.infos[i];
    if (t.cls != TableClass::kSharded) continue;
    if (firstSharded == nullptr) {
      firstSharded = &t;
      continue;
    }
    if (findGroup(b, i) !=
        findGroup(b, static_cast<std::uint32_t>(firstSharded - b.infos.data()))) {
      return notSupported(fmt::format(
          "Sharded tables '{}' and '{}' are joined without an equality on their shard keys "
          "('{}' = '{}'): their matching rows may live on different shards",
          firstSharded->name->name.name, t.name->name.name, firstSharded->rule->shardKey,
          t.rule->shardKey));
    }
  }
  out.sharded = firstSharded != nullptr;

  // Narrowing: key = value and key IN (...) through AND, on any table of the group.
  b.set.reset(ks_->shards.size(), true);
  for (const KeyConjunct& k : b.conj) {
    if (k.match == KeyMatch::kColumns) continue;
    TableInfo* t = infoFor(b, *k.column);
    if (t == nullptr || !keyOf(*t, *k.column)) continue;
    if (!valuesToSet(k, *t->rule, b.tmp)) return false;
    b.set.intersect(b.tmp);
    out.constrained = true;
    if (depth == 0) {
      ++narrowings_;
      if (k.match == KeyMatch::kIn) {
        inList_ = k;
        inRule_ = t->rule;
      }
    }
  }
  // Not narrowed by a shard key: a lookup key may (the statement's one block only: the answer
  // belongs to one conjunct).
  if (depth == 0 && lookupBlock_ && out.sharded && !out.constrained && !snap_.lookupKeys.empty()) {
    return narrowByLookup(b, out);
  }
  return true;
}

// key IN (a, b, c) split so that each shard gets only the values it owns.
void Run::rewriteInList() {
  // Not at EXECUTE (the placeholders' numbering must stay), nor for a deferred plan (PREPARE
  // plans again at EXECUTE; the statement prepared is the one as written).
  if (!inList_ || narrowings_ != 1 || in_.executing || deferred_ || plan_.targets.size() < 2) {
    return;
  }
  const auto* in = inList_->source->as<In>();
  if (in == nullptr || in->listText.empty()) return;
  std::string_view text = plan_.text;
  std::size_t listStart = static_cast<std::size_t>(in->listText.data() - text.data());
  std::size_t listEnd = listStart + in->listText.size();
  if (listEnd > text.size()) return;
  for (PlanTarget& t : plan_.targets) {
    std::size_t start = plan_.buffer.size();
    plan_.buffer.append(text.substr(0, listStart));
    plan_.buffer.push_back('(');
    bool first = true;
    for (const Expr* v : in->list) {
      auto id = keyspaceIdOf(*v, in_.params, inRule_->hashFunction);
      if (id) {
        auto pos = positionOf(*id);
        if (!pos || ks_->shards[*pos] != t.shard) continue;
      }
      if (!first) plan_.buffer.append(", ");
      plan_.buffer.append(v->text);
      first = false;
    }
    plan_.buffer.push_back(')');
    plan_.buffer.append(text.substr(listEnd));
    t.offset = static_cast<std::uint32_t>(start);
    t.length = static_cast<std::uint32_t>(plan_.buffer.size() - start);
  }
}

void Run::planSelect(const SelectStatement& st) {
  const Query& q = *st.query;
  QueryShape shape = shapeOf(q);
  plan_.write = false;
  bool locking = shape.locking != LockMode::kNone;
  if (!q.into.empty()) connectionBound_ = true;

  // Row statistics in information_schema differ per shard: refuse rather than show one shard's.
  if (const auto* top = q.as<SelectBlock>()) {
    bool stats = false;
    for (const TableName* t : st.tables) {
      if (!t->db.empty() && iequals(t->db.name, "information_schema") &&
          (iequals(t->name.name, "tables") || iequals(t->name.name, "partitions") ||
           iequals(t->name.name, "statistics"))) {
        stats = true;
      }
    }
    if (stats) {
      // Shown (SELECT TABLE_ROWS, SUM(DATA_LENGTH), *) or deciding which rows are shown
      // (WHERE TABLE_ROWS > 0, ORDER BY DATA_LENGTH).
      bool uses = false;
      for (const SelectItem* item : top->items)
        uses = uses || mentionsRowStatistic(item->expr);
      uses = uses || mentionsRowStatistic(top->where) || mentionsRowStatistic(top->having);
      for (const Expr* g : top->groupBy)
        uses = uses || mentionsRowStatistic(g);
      for (const OrderItem* o : top->orderBy)
        uses = uses || mentionsRowStatistic(o->expr);
      if (uses) {
        notSupported(fmt::format(
            "information_schema row statistics (TABLE_ROWS, DATA_LENGTH, CARDINALITY, ...) "
            "differ per shard in sharded keyspace '{}'; select the definition columns only",
            ks_->name));
        return;
      }
    }
  }

  if (const auto* top = q.as<SelectBlock>();
      top != nullptr && (top->from.size() == 1 || top->from.size() == 2)) {
    if (tryJoinPlan(*top)) return;
  }
  BlockResult r;
  lookupBlock_ = q.as<SelectBlock>() != nullptr;
  if (!analyzeQuery(q, 0, r)) return;
  plan_.connectionBound = connectionBound_;
  plan_.deferred = deferred_;
  plan_.role = locking || connectionBound_ ? Role::kPrimary : Role::kReplica;

  if (!r.sharded) {
    if (required_) {
      targetShard(*required_);
      plan_.kind = PlanKind::kSingle;
      plan_.reason = "subquery's shard key";
      return;
    }
    if (st.tables.empty()) {
      plan_.kind = PlanKind::kSessionConnection;
      plan_.anyShard = !connectionBound_;
      plan_.reason = "no table: the session's connection";
      if (connectionBound_ && in_.lastWriteShard && *in_.lastWriteShard < snap_.shards.size()) {
        plan_.targets.push_back(PlanTarget{*in_.lastWriteShard, 0, 0});
        plan_.kind = PlanKind::kSingle;
        plan_.reason = "connection-bound function: the shard last written";
      }
      return;
    }
    plan_.kind = PlanKind::kSingle;
    if (connectionBound_) {
      // LAST_INSERT_ID() and friends read the connection that wrote, not any shard's.
      std::optional<std::size_t> last;
      for (std::size_t i = 0; in_.lastWriteShard && i < ks_->shards.size(); ++i) {
        if (ks_->shards[i] == *in_.lastWriteShard && snap_.shards[ks_->shards[i]].serving) last = i;
      }
      targetShard(last ? *last : *firstServing());
      plan_.reason = "connection-bound function on reference or system tables";
      return;
    }
    targetShard(*firstServing());
    plan_.anyShard = true;
    plan_.reason = "reference or system tables: any shard";
    return;
  }
  ShardSet& set = block(0).result;
  if (required_ && !(set.count() == 1 && set.has(*required_))) {
    if (set.count() == 0) {
      // The outer query matches no row anywhere: the subquery's shard answers as well as any.
      set.add(*required_);
    } else if (!deferred_) {  // a deferred plan is tentative: EXECUTE decides
      notSupported(
          "A subquery reads one shard while the outer query reads another or several: the "
          "subquery's rows are not on every shard the outer query runs on; narrow both to the "
          "same shard with the shard key");
      return;
    }
  }
  targetSet(set, PlanKind::kConcatenate);
  plan_.reason = lookedUp_       ? "lookup key"
                 : r.constrained ? "shard key"
                                 : "every shard (no shard key in WHERE)";
  // A deferred plan is tentative (PREPARE, before the values are known): the refusals below
  // depend on how many shards the statement reads, which EXECUTE decides.
  if (plan_.targets.size() > 1 && !deferred_) {
    if (!r.allSharded) {
      notSupported(
          "A UNION branch without a sharded table would repeat its rows once per shard; add a "
          "shard key condition so the query reads one shard");
      return;
    }
    if (!shape.concatenable()) {
      if (connectionBound_) {
        notSupported(
            "Connection-bound functions (LAST_INSERT_ID(), GET_LOCK(), @var := ...) in a query "
            "that reads several shards");
        return;
      }
      planMerge(q);  // kMerge, or refused naming what cannot be merged
      return;
    }
    if (connectionBound_) {
      notSupported(
          "Connection-bound functions (LAST_INSERT_ID(), GET_LOCK(), @var := ...) in a query "
          "that reads several shards");
      return;
    }
    rewriteInList();
  }
}

void Run::planShow(const ShowStatement& st) {
  plan_.write = false;
  plan_.role = Role::kReplica;
  switch (st.show) {
    case ShowKind::kTableStatus:
      notSupported(fmt::format(
          "SHOW TABLE STATUS reports row counts and sizes, which differ per shard of sharded "
          "keyspace '{}' (use SHOW TABLES, or ask each shard with /*+ SHARD(name) */)",
          ks_->name));
      return;
    case ShowKind::kWarnings:
    case ShowKind::kErrors:
    case ShowKind::kStatus:
      plan_.kind = PlanKind::kSessionConnection;
      plan_.connectionBound = true;
      plan_.role = Role::kPrimary;
      plan_.reason = "the session's last connection";
      return;
    default:
      targetShard(*firstServing());
      plan_.kind = PlanKind::kSingle;
      plan_.anyShard = true;
      plan_.reason = "schema question: any shard";
      return;
  }
}

void Run::planExplain(const ExplainStatement& st) {
  plan_.write = false;
  plan_.role = Role::kReplica;
  if (st.explained != nullptr) {
    planSharded(*st.explained);
    if (failed_) return;
    if (st.analyze && plan_.targets.size() > 1) {
      plan_.targets.clear();
      notSupported("EXPLAIN ANALYZE of a statement that runs on several shards");
      return;
    }
    if (plan_.targets.size() > 1) plan_.targets.resize(1);  // the plan of one shard
    if (plan_.kind != PlanKind::kSessionConnection) plan_.kind = PlanKind::kSingle;
    plan_.write = st.analyze && plan_.write;
    plan_.role = plan_.write ? Role::kPrimary : Role::kReplica;
    plan_.reason = "EXPLAIN: one shard's plan";
    return;
  }
  targetShard(*firstServing());
  plan_.kind = PlanKind::kSingle;
  plan_.anyShard = true;
  plan_.reason = "schema question: any shard";
}

}  // namespace shardproxy::router::planning
