// The planner (planner.h, docs/routing.md). Reads the AST, never the text, except to splice
// per-shard SQL (IN lists, multi-row INSERT rows) from node text ranges.
#include "shardproxy/router/planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>

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

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
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

// --- a small dynamic bitset over a keyspace's shard positions ------------------------------

struct ShardSet {
  std::vector<std::uint64_t> words;
  std::size_t n = 0;
  void reset(std::size_t size, bool all) {
    n = size;
    words.assign((size + 63) / 64, all ? ~std::uint64_t{0} : 0);
    if (all && size % 64 != 0) words.back() = (std::uint64_t{1} << (size % 64)) - 1;
  }
  void add(std::size_t i) { words[i / 64] |= std::uint64_t{1} << (i % 64); }
  bool has(std::size_t i) const { return (words[i / 64] >> (i % 64)) & 1; }
  void intersect(const ShardSet& o) {
    for (std::size_t i = 0; i < words.size(); ++i)
      words[i] &= o.words[i];
  }
  void unite(const ShardSet& o) {
    for (std::size_t i = 0; i < words.size(); ++i)
      words[i] |= o.words[i];
  }
  std::size_t count() const {
    std::size_t c = 0;
    for (auto w : words)
      c += static_cast<std::size_t>(__builtin_popcountll(w));
    return c;
  }
  std::optional<std::size_t> single() const {
    if (count() != 1) return std::nullopt;
    for (std::size_t i = 0; i < n; ++i)
      if (has(i)) return i;
    return std::nullopt;
  }
};

enum class TableClass : std::uint8_t { kSystem, kCte, kReference, kSharded };

struct TableInfo {
  const TableName* name = nullptr;
  const catalog::TableRule* rule = nullptr;
  TableClass cls = TableClass::kSystem;
  std::uint32_t group = 0;  // union-find parent among sharded tables
};

// One query block's (or UPDATE's / DELETE's) view: its tables, conjuncts and shard set.
struct BlockScratch {
  std::vector<const TableName*> tables;
  std::vector<TableInfo> infos;
  std::vector<KeyConjunct> conj;
  std::vector<KeyConjunct> part;
  ShardSet set;     // the block's own shard set
  ShardSet result;  // analyzeQuery's answer at this depth (a set operation's union)
  ShardSet tmp;
};

}  // namespace

struct Planner::Scratch {
  std::deque<BlockScratch> blocks;  // by nesting depth; a deque keeps references stable
  std::vector<std::uint32_t> rowShard;
  std::vector<const Expr*> extra;
  std::vector<const BlockScratch*> scopes;  // the blocks enclosing the one being analyzed
  ShardSet final;
  ShardSet values;
};

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

namespace {

constexpr std::string_view kReferenceFromSharded =
    "A write to a reference table with a subquery on a sharded table: each shard would compute "
    "it from its own rows, and the reference table's copies would diverge";

// --- AST walking ------------------------------------------------------------------------------

template <typename F>
void forEachChildExpr(const Expr* e, F&& f) {
  switch (e->kind) {
    case ExprKind::kUnary:
      f(e->as<Unary>()->operand);
      break;
    case ExprKind::kBinary:
      f(e->as<Binary>()->left);
      f(e->as<Binary>()->right);
      break;
    case ExprKind::kLogical:
      for (const Expr* x : e->as<Logical>()->operands)
        f(x);
      break;
    case ExprKind::kIs:
      f(e->as<IsTest>()->operand);
      break;
    case ExprKind::kLike: {
      const auto* l = e->as<Like>();
      f(l->operand);
      f(l->pattern);
      if (l->escape) f(l->escape);
      break;
    }
    case ExprKind::kIn: {
      const auto* in = e->as<In>();
      f(in->operand);
      for (const Expr* x : in->list)
        f(x);
      break;
    }
    case ExprKind::kBetween: {
      const auto* b = e->as<Between>();
      f(b->operand);
      f(b->low);
      f(b->high);
      break;
    }
    case ExprKind::kFunction: {
      const auto* fn = e->as<Function>();
      for (const Expr* x : fn->args)
        f(x);
      for (const OrderItem* o : fn->orderBy)
        f(o->expr);
      if (fn->separator) f(fn->separator);
      break;
    }
    case ExprKind::kCase: {
      const auto* c = e->as<Case>();
      if (c->operand) f(c->operand);
      for (const WhenClause* w : c->whens) {
        f(w->when);
        f(w->then);
      }
      if (c->elseExpr) f(c->elseExpr);
      break;
    }
    case ExprKind::kCast:
      f(e->as<Cast>()->operand);
      break;
    case ExprKind::kInterval:
      f(e->as<Interval>()->operand);
      break;
    case ExprKind::kRow:
      for (const Expr* x : e->as<Row>()->items)
        f(x);
      break;
    case ExprKind::kCollate:
      f(e->as<Collate>()->operand);
      break;
    case ExprKind::kMatch: {
      const auto* m = e->as<Match>();
      for (const Expr* x : m->columns)
        f(x);
      f(m->against);
      break;
    }
    default:
      break;
  }
}

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

// --- the planning of one statement -------------------------------------------------------------

// A statement a replica may answer (SELECT without locking or INTO, SHOW, EXPLAIN); sets
// `connectionBound` for SELECT ... INTO.
bool isRead(const Statement& st, bool& connectionBound);

class Run {
 public:
  Run(Plan& plan, Planner::Scratch& scratch, const PlanInput& in)
      : plan_(plan), s_(scratch), in_(in), snap_(*in.snapshot) {}

  void planStatement(const Statement& st);

 private:
  bool fail(ErrorCode code, std::string message) {
    if (plan_.kind != PlanKind::kError || plan_.error.message.empty()) {
      plan_.kind = PlanKind::kError;
      plan_.error = Error::make(code, std::move(message));
    }
    failed_ = true;
    return false;
  }
  bool notSupported(std::string message) {
    return fail(ErrorCode::kNotSupportedYet, std::move(message));
  }

  bool resolveKeyspace(const Statement& st);
  const catalog::Keyspace* keyspaceForDb(std::string_view db) const;
  const catalog::Keyspace* defaultKeyspace() const;
  bool checkAccess(const catalog::Keyspace& ks);

  void planUnsharded(const Statement& st);
  void planSharded(const Statement& st);
  void planSelect(const SelectStatement& st);
  void planInsert(const InsertStatement& st);
  void planUpdate(const UpdateStatement& st);
  void planDelete(const DeleteStatement& st);
  void planShow(const ShowStatement& st);
  void planExplain(const ExplainStatement& st);

  // Block analysis. Returns false on error (plan_ has it).
  struct BlockResult {
    bool sharded = false;      // a sharded table in the block's own FROM
    bool constrained = false;  // the shard key narrowed the set
    bool colocated = false;    // correlated on the shard key with an outer block
    bool allSharded = true;    // every block of a set operation reads a sharded table
  };
  // Leaves the shard set in block(depth).result.
  bool analyzeQuery(const Query& q, std::size_t depth, BlockResult& out);
  // Leaves the shard set in block(depth).set; `extra` expressions (UPDATE's SET values) are
  // walked for subqueries in the block's scope.
  bool analyzeBlock(List<TableRef> from, const Expr* where, std::size_t depth, BlockResult& out,
                    const SelectBlock* select, std::span<const Expr* const> extra = {});
  bool walkTableRef(const TableRef* r, std::size_t depth);
  bool multiShardWriteCheck();
  void planReferenceWrite(const BlockScratch& b, std::string_view what);
  void finishWrite(BlockScratch& b, const BlockResult& r, bool changesReference, bool orderOrLimit,
                   std::string_view what);
  void planShardedWrite(ShardSet& set, const BlockResult& r, bool orderedOrLimited,
                        std::string_view what);
  bool walkInsertValues(const InsertStatement& st);
  bool subqueryShardCheck(std::string_view what);
  void rewriteInList();
  bool analyzeNested(const Query& q, std::size_t depth);
  bool walkUnshardedQuery(const Query& q, std::size_t depth);
  bool walkExpr(const Expr* e, std::size_t depth);
  bool classifyTables(BlockScratch& b);
  TableInfo* infoFor(BlockScratch& b, const Column& c);
  bool keyOf(const TableInfo& t, const Column& c) const;
  std::uint32_t findGroup(BlockScratch& b, std::uint32_t i);
  bool valuesToSet(const KeyConjunct& k, const catalog::TableRule& rule, ShardSet& out);
  std::optional<std::size_t> positionOf(std::uint64_t keyspaceId) const;
  void collectOnConjuncts(const TableRef* r, BlockScratch& b, bool filtering);

  BlockScratch& block(std::size_t depth) {
    if (s_.blocks.size() <= depth) s_.blocks.resize(depth + 1);
    return s_.blocks[depth];
  }

  // Targets
  void targetAll(PlanKind kind);
  void targetSet(const ShardSet& set, PlanKind multiKind);
  void targetShard(std::size_t position);
  bool applyShardHint(std::string_view name);
  std::optional<std::size_t> firstServing() const;

  Plan& plan_;
  Planner::Scratch& s_;
  const PlanInput& in_;
  const catalog::Snapshot& snap_;
  const catalog::Keyspace* ks_ = nullptr;
  bool failed_ = false;
  bool connectionBound_ = false;
  bool deferred_ = false;
  std::optional<std::size_t> required_;  // a nested block's single shard
  std::vector<const BlockScratch*>& scopes_ = s_.scopes;
  // The top block's only narrowing conjunct when it is an IN list (split per shard).
  std::optional<KeyConjunct> inList_;
  const catalog::TableRule* inRule_ = nullptr;
  int narrowings_ = 0;
};

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
      notSupported(fmt::format(
          "LOCK TABLES on sharded keyspace '{}': the locks would be taken on one shard only",
          ks_->name));
      break;
    case StatementKind::kUnlockTables:
      plan_.kind = PlanKind::kSessionConnection;
      plan_.reason = "session connection";
      break;
    default:
      notSupported(fmt::format(
          "'{}' statements are not routed on sharded keyspace '{}': the proxy cannot tell which "
          "shards they touch (use /*+ SHARD(name) */ to send one to a named shard)",
          st.firstKeyword, ks_->name));
      break;
  }
}

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
  return true;
}

bool Run::multiShardWriteCheck() {
  if (plan_.targets.size() > 1 && in_.inTransaction) {
    return fail(ErrorCode::kCrossShardTransaction,
                fmt::format("This write touches {} shards of keyspace '{}' inside a transaction; "
                            "atomic multi-shard commit is not supported yet (run it outside the "
                            "transaction, or narrow it by the shard key)",
                            plan_.targets.size(), ks_->name));
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

  BlockResult r;
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
  plan_.reason = r.constrained ? "shard key" : "every shard (no shard key in WHERE)";
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
      std::string what = shape.aggregate  ? "an aggregate"
                         : shape.groupBy  ? "GROUP BY"
                         : shape.having   ? "HAVING"
                         : shape.orderBy  ? "ORDER BY"
                         : shape.limit    ? "LIMIT"
                         : shape.distinct ? "DISTINCT / UNION"
                         : shape.window   ? "a window function"
                                          : "SQL_CALC_FOUND_ROWS";
      notSupported(fmt::format(
          "This query reads {} shards of keyspace '{}' and uses {}, which needs merging the "
          "shards' results (not supported yet); narrow it to one shard with the shard key",
          plan_.targets.size(), ks_->name, what));
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

void Run::planInsert(const InsertStatement& st) {
  plan_.write = true;
  plan_.role = Role::kPrimary;
  const TableName* t = st.table;
  std::string_view db = t->db.empty() ? in_.schema : t->db.name;
  if (isSystemSchema(db)) {
    notSupported(fmt::format("INSERT into system table '{}.{}' through sharded keyspace '{}'", db,
                             t->name.name, ks_->name));
    return;
  }
  const catalog::TableRule* rule = snap_.findTable(ks_->name, t->name.name);
  if (rule == nullptr) {
    fail(ErrorCode::kNoTableRule,
         fmt::format("Table '{}' has no table rule in sharded keyspace '{}', so the proxy cannot "
                     "tell where its rows go (CREATE SHARDED TABLE or CREATE REFERENCE TABLE on "
                     "the admin port)",
                     t->name.name, ks_->name));
    return;
  }
  if (!walkInsertValues(st)) return;
  plan_.connectionBound = connectionBound_;
  if (rule->kind == catalog::TableKind::kReference) {
    if (st.select != nullptr) {
      BlockResult r;
      if (!analyzeQuery(*st.select, 1, r)) return;
      if (r.sharded) {
        notSupported("INSERT ... SELECT from a sharded table into a reference table");
        return;
      }
    }
    if (required_) {
      notSupported(std::string(kReferenceFromSharded));
      return;
    }
    plan_.reason = "reference table: every primary";
    targetAll(PlanKind::kScatter);
    multiShardWriteCheck();
    return;
  }
  if (st.source == InsertSource::kSelect) {
    notSupported(fmt::format(
        "INSERT ... SELECT into sharded table '{}': rows would need re-routing by shard key",
        t->name.name));
    return;
  }
  for (const Assignment* a : st.onDuplicate) {
    if (iequals(a->column->column.name, rule->shardKey)) {
      fail(ErrorCode::kShardKeyChange,
           fmt::format("ON DUPLICATE KEY UPDATE changes shard key '{}' of table '{}', which would "
                       "move the row to another shard; DELETE it and INSERT the new row instead",
                       rule->shardKey, t->name.name));
      return;
    }
  }
  plan_.reason = "shard key";
  auto placeOne = [&](const Expr* v, std::size_t row) -> std::optional<std::size_t> {
    if (v->kind == ExprKind::kPlaceholder && !in_.executing) {
      deferred_ = true;
      return std::nullopt;
    }
    auto id = keyspaceIdOf(*v, in_.params, rule->hashFunction);
    if (!id && ciKey(rule->hashFunction) && !ciVersionMatches(rule->hashFunction)) {
      fail(ErrorCode::kNoRoute,
           fmt::format("Table '{}' is sharded by {} with hash function {}, but this build's ICU "
                       "collator is version {}: its keyspace IDs would differ from the ones the "
                       "rows were placed by, so the proxy refuses to insert by them (reads scan "
                       "every shard). Run the shardproxy built with the rule's ICU version",
                       t->name.name, rule->shardKey, rule->hashFunction, collatorVersion()));
      return std::nullopt;
    }
    if (!id) {
      fail(ErrorCode::kShardKeyRequired,
           fmt::format("Row {} of the INSERT into '{}' has shard key {} = {}, which cannot be "
                       "hashed ({} needs {}); rows need an explicit shard key value",
                       row + 1, t->name.name, rule->shardKey, v->text, rule->hashFunction,
                       integerKey(rule->hashFunction) ? "an integer" : "a string"));
      return std::nullopt;
    }
    auto pos = positionOf(*id);
    if (!pos) {
      fail(ErrorCode::kNoRoute,
           fmt::format("No serving shard of keyspace '{}' owns keyspace ID {:016x}", ks_->name,
                       *id));
    }
    return pos;
  };
  if (st.source == InsertSource::kSet) {
    for (const Assignment* a : st.set) {
      if (!iequals(a->column->column.name, rule->shardKey)) continue;
      auto pos = placeOne(a->value, 0);
      if (failed_) return;
      if (deferred_) {
        plan_.deferred = true;
        targetAll(PlanKind::kScatter);
        return;
      }
      targetShard(*pos);
      plan_.kind = PlanKind::kSingle;
      subqueryShardCheck("INSERT");
      return;
    }
    fail(ErrorCode::kShardKeyRequired,
         fmt::format("The INSERT into sharded table '{}' does not set shard key '{}' (generated "
                     "keys need a sequence, not supported yet)",
                     t->name.name, rule->shardKey));
    return;
  }
  std::optional<std::size_t> keyIndex;
  for (std::size_t i = 0; i < st.columns.size(); ++i) {
    if (iequals(st.columns[i]->column.name, rule->shardKey)) keyIndex = i;
  }
  if (!keyIndex) {
    fail(ErrorCode::kShardKeyRequired,
         st.columns.empty()
             ? fmt::format("INSERT into sharded table '{}' must name its columns, so the proxy "
                           "can find shard key '{}'",
                           t->name.name, rule->shardKey)
             : fmt::format("The INSERT into sharded table '{}' does not set shard key '{}' "
                           "(generated keys need a sequence, not supported yet)",
                           t->name.name, rule->shardKey));
    return;
  }
  s_.rowShard.clear();
  for (std::size_t i = 0; i < st.rows.size(); ++i) {
    const InsertRow& row = *st.rows[i];
    if (*keyIndex >= row.values.size()) {
      plan_.kind = PlanKind::kError;
      plan_.error = Error::fromServer(
          1136, "21S01", fmt::format("Column count doesn't match value count at row {}", i + 1));
      failed_ = true;
      return;
    }
    auto pos = placeOne(row.values[*keyIndex], i);
    if (failed_) return;
    if (deferred_) {
      plan_.deferred = true;
      targetAll(PlanKind::kScatter);
      return;
    }
    s_.rowShard.push_back(static_cast<std::uint32_t>(*pos));
  }
  bool one = std::all_of(s_.rowShard.begin(), s_.rowShard.end(),
                         [&](std::uint32_t p) { return p == s_.rowShard.front(); });
  if (one) {
    targetShard(s_.rowShard.front());
    plan_.kind = PlanKind::kSingle;
    subqueryShardCheck("INSERT");
    return;
  }
  if (!subqueryShardCheck("INSERT")) return;
  if (in_.executing) {
    notSupported(fmt::format(
        "This prepared multi-row INSERT into '{}' has rows for several shards; send it as a text "
        "query or prepare one INSERT per shard",
        t->name.name));
    return;
  }
  // One INSERT per shard carrying only its rows, in shard order.
  std::string_view text = plan_.text;
  std::size_t rowsStart = static_cast<std::size_t>(st.rowsText.data() - text.data());
  std::size_t rowsEnd = rowsStart + st.rowsText.size();
  for (std::size_t pos = 0; pos < ks_->shards.size(); ++pos) {
    bool any = false;
    std::size_t start = plan_.buffer.size();
    for (std::size_t i = 0; i < st.rows.size(); ++i) {
      if (s_.rowShard[i] != pos) continue;
      if (!any) {
        plan_.buffer.append(text.substr(0, rowsStart));
      } else {
        plan_.buffer.append(", ");
      }
      plan_.buffer.append(st.rows[i]->text);
      any = true;
    }
    if (!any) continue;
    plan_.buffer.append(text.substr(rowsEnd));
    plan_.targets.push_back(PlanTarget{static_cast<std::uint32_t>(ks_->shards[pos]),
                                       static_cast<std::uint32_t>(start),
                                       static_cast<std::uint32_t>(plan_.buffer.size() - start)});
  }
  plan_.kind = PlanKind::kScatter;
  plan_.reason = "shard key: rows split per shard";
  multiShardWriteCheck();
}

// Subqueries and connection-bound functions among an INSERT's values (VALUES rows, SET, ON
// DUPLICATE KEY UPDATE). A subquery on a sharded table leaves its shard in required_.
bool Run::walkInsertValues(const InsertStatement& st) {
  for (const InsertRow* row : st.rows) {
    for (const Expr* v : row->values)
      if (!walkExpr(v, 0)) return false;
  }
  for (const Assignment* a : st.set)
    if (!walkExpr(a->value, 0)) return false;
  for (const Assignment* a : st.onDuplicate)
    if (!walkExpr(a->value, 0)) return false;
  return true;
}

// A write whose subquery reads one shard (required_) must run on that shard only.
bool Run::subqueryShardCheck(std::string_view what) {
  if (!required_ || deferred_) return true;
  if (plan_.targets.size() == 1 && plan_.targets[0].shard == ks_->shards[*required_]) return true;
  return notSupported(fmt::format(
      "This {} has a subquery that reads a sharded table on another shard than the one it "
      "writes: each shard would see only its own rows",
      what));
}

void Run::planUpdate(const UpdateStatement& st) {
  plan_.write = true;
  plan_.role = Role::kPrimary;
  s_.extra.clear();
  for (const Assignment* a : st.set)
    s_.extra.push_back(a->value);
  BlockResult r;
  if (!analyzeBlock(st.tableRefs, st.where, 0, r, nullptr, s_.extra)) return;
  BlockScratch& b = block(0);
  bool modifiesReference = false;
  for (const Assignment* a : st.set) {
    TableInfo* t = infoFor(b, *a->column);
    if (t == nullptr && b.infos.size() == 1) t = &b.infos[0];
    if (t != nullptr && keyOf(*t, *a->column)) {
      fail(ErrorCode::kShardKeyChange,
           fmt::format("This UPDATE changes shard key '{}' of table '{}', which would move rows to "
                       "another shard; DELETE them and INSERT the new rows instead",
                       t->rule->shardKey, t->name->name.name));
      return;
    }
    if (t == nullptr) {
      // An unqualified column in a multi-table UPDATE: it may be any table's shard key.
      for (const TableInfo& info : b.infos) {
        if (info.cls == TableClass::kSharded &&
            iequals(a->column->column.name, info.rule->shardKey)) {
          fail(ErrorCode::kShardKeyChange,
               fmt::format("This UPDATE may change shard key '{}' (qualify the column with its "
                           "table)",
                           info.rule->shardKey));
          return;
        }
      }
      // ... or a reference table's column.
      for (const TableInfo& info : b.infos)
        if (info.cls == TableClass::kReference) modifiesReference = true;
    }
    if (t != nullptr && t->cls == TableClass::kReference) modifiesReference = true;
  }
  finishWrite(b, r, modifiesReference, !st.orderBy.empty() || st.limit != nullptr, "UPDATE");
}

// UPDATE / DELETE once their tables are known: reference copies on every primary, or the shards
// the key narrows to.
void Run::finishWrite(BlockScratch& b, const BlockResult& r, bool changesReference,
                      bool orderOrLimit, std::string_view what) {
  plan_.connectionBound = connectionBound_;
  plan_.deferred = deferred_;
  if (!r.sharded) {
    planReferenceWrite(b, what);
    return;
  }
  if (changesReference) {
    notSupported(fmt::format(
        "{} changes a reference table while reading a sharded table: each shard's copy would "
        "be changed differently",
        what == "UPDATE" ? "An UPDATE" : "A DELETE"));
    return;
  }
  planShardedWrite(b.set, r, orderOrLimit, what);
}

// A write that reads no sharded table: a reference table's copies, on every primary.
void Run::planReferenceWrite(const BlockScratch& b, std::string_view what) {
  bool reference = std::any_of(b.infos.begin(), b.infos.end(),
                               [](const TableInfo& t) { return t.cls == TableClass::kReference; });
  if (!reference) {
    notSupported(fmt::format("{} of system tables through sharded keyspace '{}'", what, ks_->name));
    return;
  }
  if (required_) {
    notSupported(std::string(kReferenceFromSharded));
    return;
  }
  plan_.reason = "reference table: every primary";
  targetAll(PlanKind::kScatter);
  multiShardWriteCheck();
}

// An UPDATE / DELETE of sharded rows: the shards the key allows, each primary's OK merged.
void Run::planShardedWrite(ShardSet& set, const BlockResult& r, bool orderedOrLimited,
                           std::string_view what) {
  // Contradictory key conditions: no row anywhere, the subquery's shard answers as well as any.
  if (required_ && set.count() == 0) set.add(*required_);
  targetSet(set, PlanKind::kScatter);
  plan_.reason = r.constrained ? "shard key" : "every shard (no shard key in WHERE)";
  if (!subqueryShardCheck(what)) return;
  // A deferred plan is tentative: EXECUTE knows the shards and checks again.
  if (deferred_) return;
  if (plan_.targets.size() > 1 && orderedOrLimited) {
    notSupported(
        fmt::format("{} ... ORDER BY / LIMIT on several shards would change more rows "
                    "than asked; narrow it with the shard key",
                    what));
    return;
  }
  multiShardWriteCheck();
}

void Run::planDelete(const DeleteStatement& st) {
  plan_.write = true;
  plan_.role = Role::kPrimary;
  BlockResult r;
  if (!analyzeBlock(st.from, st.where, 0, r, nullptr)) return;
  BlockScratch& b = block(0);
  bool deletesReference = false;
  for (const TableName* target : st.targets) {
    for (const TableInfo& info : b.infos) {
      bool same = (!target->alias.empty() || true) &&
                  ((!info.name->alias.empty() && info.name->alias.name == target->name.name) ||
                   info.name->name.name == target->name.name);
      if (same && info.cls == TableClass::kReference) deletesReference = true;
    }
  }
  finishWrite(b, r, deletesReference, !st.orderBy.empty() || st.limit != nullptr, "DELETE");
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

}  // namespace

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
  plan_.anyShard = false;
  plan_.connectionBound = false;
  plan_.readOnly = false;
  plan_.deferred = false;
  plan_.targets.clear();
  plan_.buffer.clear();
  plan_.reason = {};
  plan_.text = statement.text;
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

}  // namespace shardproxy::router
