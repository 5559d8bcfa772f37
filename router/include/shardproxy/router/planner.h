// The query planner: a parsed statement + the catalog snapshot → where it runs and what is sent.
// Place in the request flow: the client session parses each COM_QUERY (or, for a prepared
// statement, plans at COM_STMT_EXECUTE with the bound values), asks Planner::plan() for a Plan,
// then picks a concrete backend per target shard (backend_choice.h) and executes: one shard is
// relayed untouched, several shards are concatenated (reads) or their OKs merged (writes).
// Session statements (transactions, SET, USE, EXPLAIN ROUTE) come back as kinds the session acts
// on itself. Anything that cannot be routed safely comes back as kError with a message that says
// what and why — never a wrong route. docs/routing.md describes the rules.
//
// A Planner is per session (not thread-safe) and reuses its buffers: planning a point select
// allocates nothing in steady state. A Plan points into the snapshot and the statement text it
// was made from.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/common/errors.h"
#include "shardproxy/router/merge_spec.h"
#include "shardproxy/router/sequence_source.h"
#include "shardproxy/router/sql/parser.h"
#include "shardproxy/router/sql/statement.h"
#include "shardproxy/router/table_schema.h"

namespace shardproxy::router {

// A value bound to a `?` by COM_STMT_EXECUTE, decoded enough to hash a shard key.
struct BoundValue {
  enum class Type : std::uint8_t { kNull, kInt, kUint, kDouble, kString, kOther };
  Type type = Type::kNull;
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0;
  std::string_view s;  // kString: the bytes (also DECIMAL as text)
  // kOther bound as a DATE / DATETIME / TIMESTAMP / TIME: the value as MySQL prints it
  // ("2026-12-20 00:00:00", "-26:00:00.500000"); empty for other kOther values.
  std::array<char, 32> temporal{};
  std::uint8_t temporalSize = 0;
  std::string_view temporalText() const { return {temporal.data(), temporalSize}; }
};

// kReplica: a read a replica may serve (the session still sends it to the primary inside a
// read-write transaction's pinned connection, for read-your-writes, or when no replica is fit).
enum class Role : std::uint8_t { kPrimary, kReplica };

enum class PlanKind : std::uint8_t {
  kError,        // refused: Plan::error
  kSingle,       // one target: the statement as written (or Plan::sqlFor(0) when rewritten)
  kConcatenate,  // a read on several shards whose answer is the union of their rows
  kMerge,        // a read on several shards whose answers merge as Plan::merge says
  kScatter,      // a write (or DDL) on several primaries: each target's OK merged into one
  kBegin,        // BEGIN / START TRANSACTION: Plan::readOnly, Plan::beginSql
  kCommit,
  kRollback,
  kSavepoint,          // SAVEPOINT / ROLLBACK TO / RELEASE: to every connection in the transaction
  kSet,                // SET: applied by the session (proxy variables) and replayed on backends
  kUse,                // USE db: Plan::keyspace is the keyspace it selects (or the default)
  kExplainRoute,       // EXPLAIN ROUTE <statement>: the session plans the inner statement itself
  kSessionConnection,  // no table, no shard key: any connection the session has (SELECT 1)
};

std::string_view toString(PlanKind kind);

struct PlanTarget {
  std::uint32_t shard = 0;  // index into Snapshot::shards
  // The SQL to send, when rewritten: a range of Plan::buffer. length 0 = the statement as written.
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
};

struct Plan {
  PlanKind kind = PlanKind::kError;
  Error error;
  const catalog::Keyspace* keyspace = nullptr;
  Role role = Role::kPrimary;
  bool write = false;  // changes data on the targets (transaction pinning, read-your-writes)
  // INSERT / UPDATE / DELETE (not DDL): transactional, so a statement on several shards outside
  // a transaction runs in one of its own (the session's, by the keyspace's transaction mode).
  bool dml = false;
  bool anyShard = false;  // every shard answers the same (reference tables, schema questions):
                          // the session may substitute a shard it already has a connection to
  bool connectionBound = false;  // LAST_INSERT_ID(), GET_LOCK(), @x := ...: the session's primary
  // CONNECTION_ID() appears: the session sends the statement with its own id written in
  // (sql::withConnectionId), the id the client got in the handshake and uses with KILL.
  bool usesConnectionId = false;
  // The statement reads information_schema.PROCESSLIST or is SHOW [FULL] PROCESSLIST: the proxy
  // answers it from its own sessions (sql::withProcesslist), not the backend's connections.
  bool usesProcesslist = false;
  bool readOnly = false;  // kBegin: START TRANSACTION READ ONLY
  // kBegin: START TRANSACTION WITH CONSISTENT SNAPSHOT (the snapshot is taken at once, not at
  // the transaction's first statement).
  bool consistentSnapshot = false;
  bool deferred = false;  // planned at PREPARE: placeholders decide the shards at EXECUTE
  // kScatter on copies of the same rows (a reference table): the client is told one target's
  // affected rows, not the sum.
  bool copies = false;
  // kScatter of a multi-row INSERT / REPLACE split per shard: a target sent one row answers an OK
  // without the "Records: N  Duplicates: D  Warnings: W" the client's statement gets; the session
  // writes that part from its affected rows as the server counts duplicates for this statement.
  enum class InsertKind : std::uint8_t { kNone, kInsert, kIgnore, kUpsert, kReplace };
  InsertKind splitInsert = InsertKind::kNone;
  std::vector<PlanTarget> targets;
  MergeSpec merge;          // kMerge
  std::string buffer;       // rewritten per-shard SQL
  std::string_view reason;  // why these targets, for EXPLAIN ROUTE ("shard key id = 5", ...)
  std::string_view text;    // the statement planned (an EXPLAIN ROUTE's inner statement)
  // An INSERT given values of a global sequence: the first of them (its insert id, what
  // LAST_INSERT_ID() reports afterwards); 0 = none. Every target's SQL is then rewritten.
  std::int64_t generatedId = 0;
  // kError because the sequence's cached values ran short: reserve `sequenceNeed` more of
  // `sequenceShortfall` (off the event loop) and plan the statement again.
  const catalog::Sequence* sequenceShortfall = nullptr;
  std::uint32_t sequenceNeed = 0;
  // A prepared INSERT given generated values at EXECUTE: sqlFor(0) is the statement the shard
  // prepares (a `?` where each value goes), and these its parameters in order: the client's
  // parameter `client`, or (client < 0) the generated `value`. Empty otherwise.
  struct ExecuteParam {
    std::int32_t client = -1;
    std::int64_t value = 0;
  };
  std::vector<ExecuteParam> executeParams;
  // Lookup keys (docs/routing.md, "Lookup keys"). Set when only a lookup key's column narrows
  // the statement and PlanInput::lookupAnswer does not hold its answer yet: kind is kError, and
  // the session runs `lookupSql` on the primary of the key's lookup keyspace (one row: the
  // distinct keyspace IDs, comma-separated, or NULL) and plans again with the answer.
  const catalog::LookupKey* lookup = nullptr;
  std::string lookupSql;
  // An INSERT into a table with lookup keys: the entries to write first, per key, in the same
  // transaction as the rows (the session opens one on the lookup keyspace's primary otherwise).
  struct LookupEntry {
    std::string value;  // an SQL literal as the client's statement gave it
    std::uint64_t keyspaceId = 0;
  };
  struct LookupWrite {
    const catalog::LookupKey* key = nullptr;
    std::vector<LookupEntry> entries;
  };
  std::vector<LookupWrite> lookupWrites;
  // INSERT ... SELECT into a sharded table (text protocol): kind is kError; the session plans and
  // runs `select` itself (one shard or a concatenation), then sends `prefix` VALUES (the rows)
  // `suffix` — planned as any multi-row INSERT (split per shard, sequences, lookup entries).
  struct InsertSelect {
    std::string_view prefix;  // "INSERT INTO t (a, b) "
    std::string_view select;  // "SELECT ..."
    std::string_view suffix;  // " ON DUPLICATE KEY UPDATE ..." or empty
    // Its OK says "Records: N  Duplicates: D  Warnings: W" also for one row (or none), unlike
    // the one-row INSERT ... VALUES it becomes: the session writes it (insertPartInfo()).
    InsertKind kind = InsertKind::kInsert;
  };
  std::optional<InsertSelect> insertSelect;
  // A SELECT joining two sharded tables that are not co-located, on a column equality: kind is
  // kError; the session runs it as a nested-loop join. `outerSql` reads the outer (left) table:
  // its select-list columns, then the join key. Per batch of distinct outer keys the session
  // sends `innerPrefix` + the keys + `innerSuffix` (the inner table's columns, then its key; routed
  // like any read) and joins the rows: each select item is (inner side?, column within its side).
  struct JoinPlan {
    std::string outerSql;
    std::string innerPrefix;
    std::string innerSuffix;
    std::vector<std::pair<bool, std::uint16_t>> output;
    std::uint16_t outerWidth = 0;
    std::uint16_t innerWidth = 0;
    bool left = false;  // LEFT JOIN: an outer row without a match is kept, inner columns NULL
    // String keys: each side's key is followed by its WEIGHT_STRING, which the rows are matched
    // by (the keys are sent in the IN list as quoted strings); else integer keys, by their digits.
    bool weights = false;
  };
  std::optional<JoinPlan> join;

  std::string_view sqlFor(std::size_t i) const {
    const PlanTarget& t = targets[i];
    return t.length == 0 ? text : std::string_view(buffer).substr(t.offset, t.length);
  }
  bool rewritten(std::size_t i) const { return targets[i].length != 0; }
  // kMerge with MergeSpec::firstLimit: every target's SQL with the first ask's LIMIT; else empty.
  std::uint32_t firstAskOffset = 0;
  std::uint32_t firstAskLength = 0;
  std::string_view firstAskSql() const {
    return std::string_view(buffer).substr(firstAskOffset, firstAskLength);
  }
};

struct PlanInput {
  const catalog::Snapshot* snapshot = nullptr;
  std::string_view schema;  // the session's current schema
  std::string_view user;    // access check (User::keyspaces); empty = no check
  // Inside an explicit (or autocommit=0) read-write transaction: everything to primaries.
  bool inTransaction = false;
  bool readOnlyTransaction = false;
  // SET shardproxy_transaction_mode: overrides the keyspace's transaction_mode (a transaction
  // that writes to several shards is refused under kSingle).
  std::optional<catalog::TransactionMode> transactionMode;
  // Every read to primaries (the session created temporary tables, or asked for it).
  bool forcePrimary = false;
  // COM_STMT_EXECUTE: the bound parameters, in placeholder order. nullptr while preparing.
  std::span<const BoundValue> params;
  bool executing = false;
  // The shard the session last wrote to (LAST_INSERT_ID() and friends), if any.
  std::optional<std::uint32_t> lastWriteShard;
  // Values of global sequences for INSERTs that leave a sequence's column to it; null: such an
  // INSERT is refused (EXPLAIN ROUTE on the admin port).
  SequenceSource* sequences = nullptr;
  // The session's sql_mode has NO_AUTO_VALUE_ON_ZERO: an explicit 0 is stored, not generated.
  bool noAutoValueOnZero = false;
  // The session's collation_connection (SessionState::collationConnection()), empty when
  // unknown: whether `column = 'literal'` fixes a string column for the server's planner.
  std::string_view collationConnection;
  // A server-side prepared statement (COM_STMT_PREPARE / EXECUTE): its text cannot be rewritten,
  // so an INSERT that needs generated values is refused.
  bool prepared = false;
  // The tables' columns (schema tracking): an INSERT without a column list, `SELECT *` in a
  // merge. nullptr when the proxy does not track schemas (no DBA account).
  const SchemaSnapshot* tracked = nullptr;
  // How the session reads statements (sql_mode's quoting rules): a rewritten statement (an
  // INSERT with generated values, a `*` spelled out from the tracked columns) is parsed again
  // with them. Null: the defaults.
  const sql::ParseOptions* parseOptions = nullptr;
  // The answer to Plan::lookupSql for the key `keyId`: the keyspace IDs holding the values the
  // statement names (empty: no row has them). Null: not looked up.
  struct LookupAnswer {
    std::int64_t keyId = 0;
    std::span<const std::uint64_t> keyspaceIds;
  };
  const LookupAnswer* lookupAnswer = nullptr;
};

class Planner {
 public:
  Planner();
  ~Planner();
  Planner(const Planner&) = delete;
  Planner& operator=(const Planner&) = delete;

  // Plans `statement`. The returned Plan lives in the Planner until the next call.
  const Plan& plan(const sql::Statement& statement, const PlanInput& input);

  struct Scratch;  // reused buffers (planner.cpp)

 private:
  Plan plan_;
  Scratch* scratch_;
};

// The keyspace ID of a shard key value under a table rule's hash function, or nullopt when the
// value cannot be hashed (NULL, a non-integer for an integer key): such a value narrows nothing.
std::optional<std::uint64_t> keyspaceIdOf(const sql::Expr& value,
                                          std::span<const BoundValue> params,
                                          std::string_view hashFunction);

}  // namespace shardproxy::router
