// The planner (planner.h, docs/routing.md): the entry, keyspace resolution, targets, hints,
// unsharded keyspaces and the dispatch by statement kind; hashing values to keyspace IDs.
// Reads the AST, never the text, except to splice per-shard SQL from node text ranges.
#include "shardproxy/router/planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>

#include "planner_internal.h"
#include "shardproxy/router/keyspace_id.h"
#include "shardproxy/router/sql/analysis.h"

namespace shardproxy::router {

using namespace sql;

std::string_view toString(PlanKind kind) {
  switch (kind) {
    case PlanKind::kError:
      return "error";
    case PlanKind::kSingle:
      return "single";
    case PlanKind::kConcatenate:
      return "concatenate";
    case PlanKind::kMerge:
      return "merge";
    case PlanKind::kScatter:
      return "scatter";
    case PlanKind::kBegin:
      return "begin";
    case PlanKind::kCommit:
      return "commit";
    case PlanKind::kRollback:
      return "rollback";
    case PlanKind::kSavepoint:
      return "savepoint";
    case PlanKind::kSet:
      return "set";
    case PlanKind::kUse:
      return "use";
    case PlanKind::kExplainRoute:
      return "explain route";
    case PlanKind::kSessionConnection:
      return "session connection";
  }
  return "?";
}

namespace planning {

// ASCII case folding (identifiers and keywords compared here are ASCII; no locale call).
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + ('a' - 'A'));
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + ('a' - 'A'));
    if (x != y) return false;
  }
  return true;
}

bool isSystemSchema(std::string_view db) {
  return iequals(db, "information_schema") || iequals(db, "performance_schema") ||
         iequals(db, "mysql") || iequals(db, "sys");
}

// Integers a double represents exactly, with no other integer rounding to the same double: MySQL
// compares an integer column with a string or a double as doubles, so beyond this several keys
// equal the same value (and may live on different shards).
constexpr std::uint64_t kExactDoubleLimit = std::uint64_t{1} << 53;

// "-12", "42" (optionally surrounded by spaces, as MySQL's string-to-number conversion allows).
// `exactLimit`: refuse magnitudes at or above it (strings compare as doubles, see above).
std::optional<std::uint64_t> integerKeyspaceId(std::string_view s,
                                               std::uint64_t exactLimit = UINT64_MAX) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (exactLimit != UINT64_MAX && v >= exactLimit) return std::nullopt;
  if (negative) {
    if (v > (std::uint64_t{1} << 63)) return std::nullopt;
    return keyspaceIdOfInt(static_cast<std::int64_t>(0 - v));
  }
  return keyspaceIdOfUint(v);
}

// "xxh3_ci" or "xxh3_ci@<ICU collator version the rule was created with>".
bool ciKey(std::string_view hashFunction) {
  return hashFunction == "xxh3_ci" || hashFunction.starts_with("xxh3_ci@");
}

// _ci keyspace IDs are ICU sort keys, stable only for one collator version: a rule recorded
// under another version cannot be hashed by this build (the rows were placed by the old one).
bool ciVersionMatches(std::string_view hashFunction) {
  static const std::string current = collatorVersion();
  auto at = hashFunction.find('@');
  return at == std::string_view::npos || hashFunction.substr(at + 1) == current;
}

std::optional<std::uint64_t> stringKeyspaceId(std::string_view s, std::string_view hashFunction) {
  if (ciKey(hashFunction)) {
    if (!ciVersionMatches(hashFunction)) return std::nullopt;
    return keyspaceIdOfString(s, StringCollation::kCaseInsensitive);
  }
  if (hashFunction == "xxh3_bin") return keyspaceIdOfString(s, StringCollation::kBinary);
  return integerKeyspaceId(s, kExactDoubleLimit);
}

bool integerKey(std::string_view hashFunction) {
  return !ciKey(hashFunction) && hashFunction != "xxh3_bin";
}

// --- AST questions ------------------------------------------------------------------------------

// The query nested directly in an expression node (subquery, EXISTS, IN (subquery)).
const Query* nestedQuery(const Expr* e) {
  if (const auto* s = e->as<Subquery>()) return s->query;
  if (const auto* x = e->as<Exists>()) return x->query;
  if (const auto* in = e->as<In>()) return in->subquery;
  return nullptr;
}

bool isConnectionBoundFunction(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "last_insert_id", "row_count",         "found_rows",   "get_lock",
      "release_lock",   "release_all_locks", "is_free_lock", "is_used_lock",
      "nextval",        "lastval",           "setval"};
  for (auto n : kNames)
    if (iequals(name, n)) return true;
  return false;
}

// Names of information_schema columns that hold per-server row statistics.
bool isRowStatisticColumn(std::string_view name) {
  static constexpr std::string_view kNames[] = {"table_rows",      "avg_row_length", "data_length",
                                                "max_data_length", "index_length",   "data_free",
                                                "auto_increment",  "checksum",       "cardinality"};
  for (auto n : kNames)
    if (iequals(name, n)) return true;
  return false;
}

// An expression showing or testing a row statistic (not looking into subqueries, which read
// their own tables). A star shows them all.
bool mentionsRowStatistic(const Expr* e) {
  if (e == nullptr) return false;
  if (e->kind == ExprKind::kStar) return true;
  if (const auto* c = e->as<Column>()) return isRowStatisticColumn(c->column.name);
  bool found = false;
  forEachChildExpr(e, [&](const Expr* x) { found = found || mentionsRowStatistic(x); });
  return found;
}

}  // namespace planning

using namespace planning;

std::optional<std::uint64_t> keyspaceIdOf(const Expr& value, std::span<const BoundValue> params,
                                          std::string_view hashFunction) {
  if (const auto* p = value.as<Placeholder>()) {
    if (p->index >= params.size()) return std::nullopt;
    const BoundValue& v = params[p->index];
    switch (v.type) {
      case BoundValue::Type::kInt:
        if (!integerKey(hashFunction)) return std::nullopt;
        return keyspaceIdOfInt(v.i);
      case BoundValue::Type::kUint:
        if (!integerKey(hashFunction)) return std::nullopt;
        return keyspaceIdOfUint(v.u);
      case BoundValue::Type::kDouble: {
        if (!integerKey(hashFunction)) return std::nullopt;
        double d = v.d;
        // Compared as a double: exact only where no two integers share the double.
        constexpr double kLimit = static_cast<double>(kExactDoubleLimit);
        if (std::trunc(d) != d || !(d > -kLimit && d < kLimit)) return std::nullopt;
        if (d < 0) return keyspaceIdOfInt(static_cast<std::int64_t>(d));
        return keyspaceIdOfUint(static_cast<std::uint64_t>(d));
      }
      case BoundValue::Type::kString:
        return stringKeyspaceId(v.s, hashFunction);
      default:
        return std::nullopt;
    }
  }
  const auto* l = value.as<Literal>();
  if (l == nullptr) return std::nullopt;
  switch (l->type) {
    case LiteralType::kInteger:
      if (!integerKey(hashFunction)) return std::nullopt;
      if (l->negative) {
        auto i = l->asInt64();
        if (!i) return std::nullopt;
        return keyspaceIdOfInt(*i);
      }
      return keyspaceIdOfUint(l->magnitude);
    case LiteralType::kTrue:
    case LiteralType::kFalse:
      if (!integerKey(hashFunction)) return std::nullopt;
      return keyspaceIdOfUint(l->type == LiteralType::kTrue ? 1 : 0);
    case LiteralType::kString:
      if (!l->charset.empty() && iequals(l->charset, "binary") && !integerKey(hashFunction) &&
          hashFunction != "xxh3_bin") {
        return std::nullopt;
      }
      return stringKeyspaceId(l->value, hashFunction);
    case LiteralType::kDecimal: {
      if (!integerKey(hashFunction)) return std::nullopt;
      // "5.000" equals the integer 5; "5.5" matches no integer row.
      std::string_view v = l->value;
      auto dot = v.find('.');
      if (dot != std::string_view::npos) {
        if (v.find_first_not_of('0', dot + 1) != std::string_view::npos) return std::nullopt;
        v = v.substr(0, dot);
      }
      if (v.empty()) v = "0";
      if (l->negative) {
        auto id = integerKeyspaceId(v);
        if (!id) return std::nullopt;
        // Negative: recompute with the sign.
        std::string_view digits = v;
        std::uint64_t m = 0;
        for (char c : digits) {
          if (m > (UINT64_MAX - 9) / 10) return std::nullopt;
          m = m * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (m > (std::uint64_t{1} << 63)) return std::nullopt;
        return keyspaceIdOfInt(static_cast<std::int64_t>(0 - m));
      }
      return integerKeyspaceId(v);
    }
    default:
      return std::nullopt;
  }
}

namespace planning {

// The first unsharded keyspace; with only sharded keyspaces, the first one (so a session without
// a schema can still run SELECT 1, and a table outside any keyspace gets a clear error).
const catalog::Keyspace* Run::defaultKeyspace() const {
  for (const auto& k : snap_.keyspaces)
    if (!k.sharded) return &k;
  return snap_.keyspaces.empty() ? nullptr : &snap_.keyspaces.front();
}

const catalog::Keyspace* Run::keyspaceForDb(std::string_view db) const {
  if (const auto* k = snap_.findKeyspace(db)) return k;
  return defaultKeyspace();
}

bool Run::checkAccess(const catalog::Keyspace& ks) {
  if (in_.user.empty()) return true;
  const catalog::User* u = snap_.findUser(in_.user);
  if (u != nullptr && !u->mayUse(ks.name)) {
    plan_.kind = PlanKind::kError;
    // ER_DBACCESS_DENIED_ERROR, as MySQL answers for a database the user may not use.
    plan_.error =
        Error{ErrorCode::kAccessDenied, 1044, "42000",
              fmt::format("Access denied for user '{}' to keyspace '{}'", in_.user, ks.name)};
    failed_ = true;
    return false;
  }
  return true;
}

bool Run::resolveKeyspace(const Statement& st) {
  const catalog::Keyspace* ks = nullptr;
  std::string_view firstDb;
  auto consider = [&](std::string_view db) {
    if (isSystemSchema(db)) return true;
    const catalog::Keyspace* k = keyspaceForDb(db);
    if (k == nullptr) return true;
    if (ks != nullptr && k != ks) {
      return notSupported(fmt::format(
          "The statement reads or writes tables of keyspaces '{}' ({}) and '{}' ({}); a statement "
          "runs in one keyspace",
          ks->name, firstDb, k->name, db));
    }
    ks = k;
    firstDb = db;
    return true;
  };
  for (const TableName* t : st.tables) {
    if (t->cte) continue;
    if (!consider(t->db.empty() ? in_.schema : t->db.name)) return false;
  }
  // SHOW TABLES FROM db (SHOW COLUMNS FROM t FROM db names db.t, among the tables above).
  if (const auto* show = st.as<ShowStatement>(); show != nullptr && !show->database.empty()) {
    if (!consider(show->database.name)) return false;
  }
  if (ks == nullptr) ks = in_.schema.empty() ? nullptr : snap_.findKeyspace(in_.schema);
  if (ks == nullptr) ks = defaultKeyspace();
  if (ks == nullptr) {
    return fail(ErrorCode::kNoRoute,
                fmt::format("No keyspace serves schema '{}', and there is no unsharded keyspace to "
                            "take it",
                            in_.schema));
  }
  ks_ = ks;
  plan_.keyspace = ks;
  if (!checkAccess(*ks)) return false;
  if (ks->sharded && !ks->uncovered.empty()) {
    std::string gaps;
    for (const auto& r : ks->uncovered)
      gaps += (gaps.empty() ? "" : ", ") + r.toString();
    return fail(ErrorCode::kNoRoute,
                fmt::format("Keyspace '{}' is incomplete: no serving shard covers {} (SHOW "
                            "KEYSPACES on the admin port)",
                            ks->name, gaps));
  }
  if (ks->shards.empty() || !firstServing()) {
    return fail(ErrorCode::kNoRoute, fmt::format("Keyspace '{}' has no serving shard", ks->name));
  }
  return true;
}

std::optional<std::size_t> Run::firstServing() const {
  for (std::size_t i = 0; i < ks_->shards.size(); ++i)
    if (snap_.shards[ks_->shards[i]].serving) return i;
  return std::nullopt;
}

std::optional<std::size_t> Run::positionOf(std::uint64_t id) const {
  const auto& order = ks_->shards;
  auto it = std::upper_bound(order.begin(), order.end(), id, [&](std::uint64_t v, std::size_t i) {
    return v < snap_.shards[i].range.start;
  });
  while (it != order.begin()) {
    --it;
    const catalog::Shard& shard = snap_.shards[*it];
    if (shard.serving) {
      if (!shard.range.contains(id)) return std::nullopt;
      return static_cast<std::size_t>(it - order.begin());
    }
  }
  return std::nullopt;
}

void Run::targetShard(std::size_t position) {
  plan_.targets.push_back(PlanTarget{static_cast<std::uint32_t>(ks_->shards[position]), 0, 0});
}

void Run::targetAll(PlanKind kind) {
  for (std::size_t i = 0; i < ks_->shards.size(); ++i) {
    if (snap_.shards[ks_->shards[i]].serving) targetShard(i);
  }
  plan_.kind = plan_.targets.size() == 1 ? PlanKind::kSingle : kind;
}

void Run::targetSet(const ShardSet& set, PlanKind multiKind) {
  for (std::size_t i = 0; i < set.n; ++i) {
    if (set.has(i) && snap_.shards[ks_->shards[i]].serving) targetShard(i);
  }
  if (plan_.targets.empty()) {
    // No shard can hold a matching row (key = NULL): any one shard answers "no rows" correctly.
    targetShard(*firstServing());
  }
  plan_.kind = plan_.targets.size() == 1 ? PlanKind::kSingle : multiKind;
}

bool Run::applyShardHint(std::string_view name) {
  for (std::size_t i = 0; i < ks_->shards.size(); ++i) {
    const catalog::Shard& shard = snap_.shards[ks_->shards[i]];
    if (shard.name == name) {
      plan_.targets.clear();
      plan_.targets.push_back(PlanTarget{static_cast<std::uint32_t>(ks_->shards[i]), 0, 0});
      plan_.kind = PlanKind::kSingle;
      plan_.anyShard = false;  // that shard, not one the session happens to hold
      plan_.deferred = false;  // the hint decides, not the placeholders
      plan_.reason = "SHARD hint";
      return true;
    }
  }
  return fail(ErrorCode::kNoRoute,
              fmt::format("/*+ SHARD({}) */: keyspace '{}' has no shard named '{}'", name,
                          ks_->name, name));
}

// --- entry -------------------------------------------------------------------------------------

void Run::planStatement(const Statement& st) {
  plan_.text = st.text;
  switch (st.kind) {
    case StatementKind::kTransaction: {
      const auto* t = st.as<TransactionStatement>();
      switch (t->action) {
        case TransactionAction::kBegin:
        case TransactionAction::kStart:
          plan_.kind = PlanKind::kBegin;
          plan_.readOnly = t->access == AccessMode::kReadOnly;
          plan_.consistentSnapshot = t->consistentSnapshot;
          break;
        case TransactionAction::kCommit:
          plan_.kind = PlanKind::kCommit;
          break;
        case TransactionAction::kRollback:
          plan_.kind = PlanKind::kRollback;
          break;
        default:
          plan_.kind = PlanKind::kSavepoint;
          break;
      }
      return;
    }
    case StatementKind::kSet:
      plan_.kind = PlanKind::kSet;
      return;
    case StatementKind::kUse: {
      const auto* u = st.as<UseStatement>();
      const catalog::Keyspace* k = keyspaceForDb(u->database.name);
      if (k == nullptr) {
        fail(ErrorCode::kNoRoute,
             fmt::format("No keyspace serves schema '{}', and there is no unsharded keyspace to "
                         "take it",
                         u->database.name));
        return;
      }
      ks_ = k;
      plan_.keyspace = k;
      if (!checkAccess(*k)) return;
      plan_.kind = PlanKind::kUse;
      if (k->shards.empty() || !firstServing()) {
        fail(ErrorCode::kNoRoute, fmt::format("Keyspace '{}' has no serving shard", k->name));
        return;
      }
      plan_.role = Role::kPrimary;
      targetShard(*firstServing());
      return;
    }
    case StatementKind::kExplain:
      if (const auto* e = st.as<ExplainStatement>(); e->route) {
        // The session plans the inner statement; Plan::text names it (planner.h).
        plan_.kind = PlanKind::kExplainRoute;
        if (e->explained != nullptr) plan_.text = e->explained->text;
        return;
      }
      break;
    default:
      break;
  }
  if (!resolveKeyspace(st)) return;
  if (!ks_->sharded) {
    planUnsharded(st);
  } else {
    planSharded(st);
  }
  RoutingHints hints = routingHints(st);
  if (!hints.shard.empty() && !failed_ && st.kind == StatementKind::kInsert && ks_->sharded &&
      !plan_.deferred) {
    // A hint may route anything, but never put rows where their shard key says they are not:
    // routing by key would never find them again.
    for (const PlanTarget& t : plan_.targets) {
      const catalog::Shard& owner = snap_.shards[t.shard];
      if (owner.name != hints.shard) {
        notSupported(fmt::format(
            "/*+ SHARD({}) */ INSERT: rows of this statement belong to shard {} by their shard "
            "key; inserted on {} they could never be found by key",
            hints.shard, owner.name, hints.shard));
        plan_.targets.clear();
        return;
      }
    }
  }
  if (!hints.shard.empty()) {
    // /*+ SHARD(name) */ sends the statement to that shard unchanged and without shard-key
    // checks, refused statements included (docs/routing.md, "Hints").
    if (failed_) {
      failed_ = false;
      plan_.error = Error{};
      bool bound = false;
      const bool read = isRead(st, bound);
      plan_.write = !read;
      plan_.connectionBound = bound || connectionBound_;
      plan_.role = read && !plan_.connectionBound ? Role::kReplica : Role::kPrimary;
    }
    if (!applyShardHint(hints.shard)) return;
  } else if (failed_) {
    return;
  }
  if (hints.primary) plan_.role = Role::kPrimary;
  if (in_.inTransaction && !in_.readOnlyTransaction) plan_.role = Role::kPrimary;
  if (in_.forcePrimary) plan_.role = Role::kPrimary;
  if (plan_.write) plan_.role = Role::kPrimary;
}

// --- unsharded keyspaces: one shard, the statement untouched --------------------------------

bool isRead(const Statement& st, bool& connectionBound) {
  switch (st.kind) {
    case StatementKind::kSelect: {
      const Query* q = st.as<SelectStatement>()->query;
      QueryShape shape = shapeOf(*q);
      if (shape.locking != LockMode::kNone) return false;
      if (!q->into.empty()) {
        connectionBound = true;
        return false;
      }
      return true;
    }
    case StatementKind::kShow:
      return true;
    case StatementKind::kExplain: {
      const auto* e = st.as<ExplainStatement>();
      return !e->analyze;  // EXPLAIN ANALYZE runs the statement
    }
    default:
      return false;
  }
}

void Run::planUnsharded(const Statement& st) {
  plan_.targets.clear();
  targetShard(*firstServing());
  plan_.kind = PlanKind::kSingle;
  plan_.reason = "unsharded keyspace";
  bool bound = false;
  bool read = isRead(st, bound);
  if (read && st.kind == StatementKind::kSelect) {
    // Connection-bound functions read what this session did on its primary connection.
    if (!walkUnshardedQuery(*st.as<SelectStatement>()->query, 0)) return;
    bound = bound || connectionBound_;
  }
  if (const auto* show = st.as<ShowStatement>()) {
    if (show->show == ShowKind::kWarnings || show->show == ShowKind::kErrors ||
        show->show == ShowKind::kStatus) {
      // About the statement the session ran last, on whichever connection that was.
      plan_.targets.clear();
      plan_.kind = PlanKind::kSessionConnection;
      plan_.reason = "the session's last connection";
      bound = true;
    }
  }
  plan_.connectionBound = bound;
  plan_.write = !read;
  plan_.role = read && !bound ? Role::kReplica : Role::kPrimary;
}

// --- sharded keyspaces -----------------------------------------------------------------------

void Run::planSharded(const Statement& st) {
  plan_.targets.clear();
  switch (st.kind) {
    case StatementKind::kSelect:
      planSelect(*st.as<SelectStatement>());
      break;
    case StatementKind::kInsert:
      planInsert(*st.as<InsertStatement>());
      break;
    case StatementKind::kUpdate:
      planUpdate(*st.as<UpdateStatement>());
      break;
    case StatementKind::kDelete:
      planDelete(*st.as<DeleteStatement>());
      break;
    case StatementKind::kShow:
      planShow(*st.as<ShowStatement>());
      break;
    case StatementKind::kExplain:
      planExplain(*st.as<ExplainStatement>());
      break;
    case StatementKind::kDdl: {
      const auto* d = st.as<DdlStatement>();
      if (d->action == DdlAction::kRename) {
        // Renaming a table that has a rule would orphan the rule.
        for (const TableName* t : d->targets) {
          if (snap_.findTable(ks_->name, t->name.name) != nullptr) {
            notSupported(fmt::format(
                "RENAME TABLE {}: the table has a table rule in keyspace '{}'; drop the rule, "
                "rename, and create the rule under the new name",
                t->name.name, ks_->name));
            return;
          }
        }
      }
      plan_.write = true;
      plan_.reason = "DDL: every shard";
      targetAll(PlanKind::kScatter);
      break;
    }
    case StatementKind::kLockTables:
      planLockTables(*st.as<LockTablesStatement>());
      break;
    case StatementKind::kUnlockTables:
      // Whichever shards LOCK TABLES reached: UNLOCK on a connection without locks is a no-op.
      plan_.role = Role::kPrimary;
      plan_.reason = "UNLOCK TABLES: every shard's primary";
      targetAll(PlanKind::kScatter);
      break;
    default:
      notSupported(fmt::format(
          "'{}' statements are not routed on sharded keyspace '{}': the proxy cannot tell which "
          "shards they touch (use /*+ SHARD(name) */ to send one to a named shard)",
          st.firstKeyword, ks_->name));
      break;
  }
}

}  // namespace planning

Planner::Planner() : scratch_(new Scratch) {}
Planner::~Planner() {
  delete scratch_;
}

const Plan& Planner::plan(const Statement& statement, const PlanInput& input) {
  plan_.kind = PlanKind::kError;
  if (!plan_.error.message.empty()) plan_.error = Error{};
  plan_.keyspace = nullptr;
  plan_.role = Role::kPrimary;
  plan_.write = false;
  plan_.dml = false;
  plan_.anyShard = false;
  plan_.connectionBound = false;
  plan_.readOnly = false;
  plan_.deferred = false;
  plan_.copies = false;
  plan_.targets.clear();
  plan_.buffer.clear();
  plan_.reason = {};
  plan_.text = statement.text;
  plan_.generatedId = 0;
  plan_.usesConnectionId = false;
  plan_.usesProcesslist = sql::readsProcesslist(statement);
  plan_.sequenceShortfall = nullptr;
  plan_.sequenceNeed = 0;
  plan_.executeParams.clear();
  plan_.lookup = nullptr;
  plan_.lookupSql.clear();
  plan_.lookupWrites.clear();
  plan_.insertSelect.reset();
  plan_.join.reset();
  scratch_->scopes.clear();
  Run run(plan_, *scratch_, input);
  run.planStatement(statement);
  if (plan_.kind == PlanKind::kError) {
    // Nothing of a refused statement may be sent anywhere.
    plan_.targets.clear();
    plan_.buffer.clear();
  }
  return plan_;
}

std::optional<std::uint64_t> keyspaceIdOfValue(std::string_view text,
                                               std::string_view hashFunction) {
  // A stored integer is exact whatever its size (the double limit is for strings compared with
  // integer columns).
  if (integerKey(hashFunction)) return integerKeyspaceId(text);
  return stringKeyspaceId(text, hashFunction);
}

}  // namespace shardproxy::router
