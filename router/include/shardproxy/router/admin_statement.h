// The admin SQL grammar: what DBAs type on the admin port (docs/admin-sql.md).
// Place in the request flow: the admin session hands each statement's text to parseAdmin(); the
// resulting AdminStatement is executed against the catalog by proxy/admin_session.
// Hand-written lexer + recursive descent, case-insensitive keywords, identifiers plain or
// `backquoted`, strings '...' with MySQL escapes. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "shardproxy/catalog/migration.h"
#include "shardproxy/catalog/snapshot.h"

namespace shardproxy::router::admin {

struct ShowKeyspaces {};
struct ShowShards {
  std::optional<std::string> keyspace;
};
struct ShowBackends {
  std::optional<std::string> keyspace;
};
struct ShowTableRules {
  std::optional<std::string> keyspace;
};
struct ShowUsers {};
struct ShowCatalogVersion {};
struct ShowCatalogChanges {
  std::optional<std::uint32_t> limit;
};
struct CreateKeyspace {
  std::string name;
  bool sharded = false;
};
struct DropKeyspace {
  std::string name;
};
// ALTER KEYSPACE ks SET setting = value [, setting = value]: the keyspace's settings, each named
// at most once: scatter_writes = allow | deny, transaction_mode = single | multi | twopc (the
// value bare or quoted, any case).
struct AlterKeyspace {
  std::string keyspace;
  std::optional<catalog::ScatterWrites> scatterWrites;
  std::optional<catalog::TransactionMode> transactionMode;
  std::optional<bool> autoFailover;
};
struct CreateShard {
  std::string keyspace;
  std::string shard;
  catalog::Endpoint primary;
  std::vector<catalog::Endpoint> replicas;
  bool serving = true;
};
struct DropShard {
  std::string keyspace;
  std::string shard;
};
struct AddBackend {
  catalog::Endpoint address;
  std::string keyspace;
  std::string shard;
  catalog::BackendRole role = catalog::BackendRole::kReplica;
  std::optional<std::uint32_t> weight;
  std::optional<std::uint32_t> maxLagSeconds;
};
struct DropBackend {
  catalog::Endpoint address;
};
struct SetBackendState {
  catalog::Endpoint address;
  catalog::BackendState state = catalog::BackendState::kOnline;
};
struct CreateTableRule {
  std::string keyspace;
  std::string table;
  catalog::TableKind kind = catalog::TableKind::kSharded;
  std::string shardKey;               // sharded tables only
  std::string hashFunction = "xxh3";  // USING xxh3 | xxh3_ci | xxh3_bin
};
struct DropTableRule {
  std::string keyspace;
  std::string table;
};
struct CreateUser {
  std::string name;
  std::string password;
  std::vector<std::string> keyspaces;  // empty = all
  // Where the password literal (quotes included) sits in the statement text, so the change log
  // can record the statement with the password replaced (see redactPassword()).
  std::size_t passwordBegin = 0;
  std::size_t passwordEnd = 0;
};
struct DropUser {
  std::string name;
};
// RESHARD KEYSPACE ks FROM (`-80`) TO (`-40`, `40-80`) [WITH AUTO CUTOVER] [THROTTLE n ROWS]
// (the two options in either order, each at most once).
struct Reshard {
  std::string keyspace;
  std::vector<std::string> from;
  std::vector<std::string> to;
  bool autoCutover = false;
  std::optional<std::uint64_t> throttleRowsPerSecond;
};
// SHOW MIGRATIONS [FROM|IN ks]
struct ShowMigrations {
  std::optional<std::string> keyspace;
};
// SHOW MIGRATION n
struct ShowMigration {
  std::int64_t id = 0;
};
// PAUSE | RESUME | CANCEL | VERIFY | COMPLETE MIGRATION n;
// CUTOVER | REVERSE MIGRATION n [TIMEOUT seconds] (seconds may have a fraction: 0.5).
struct MigrationCommand {
  catalog::MigrationRequest action = catalog::MigrationRequest::kPause;
  std::int64_t id = 0;
  std::optional<std::uint32_t> timeoutMs;
};
// SHOW SCHEMA DRIFT [FROM|IN ks]: SHOW CREATE TABLE compared across each keyspace's serving shards.
struct ShowSchemaDrift {
  std::optional<std::string> keyspace;
};

// CREATE SEQUENCE FOR ks.t (column) [START WITH n] [CACHE n]: INSERTs into the sharded table
// that omit the column (or give NULL / 0) get values from it. Without START WITH the executor
// starts above the largest value on the shards.
struct CreateSequence {
  std::string keyspace;
  std::string table;
  std::string column;
  std::optional<std::int64_t> start;
  std::optional<std::uint32_t> cache;
};
// DROP SEQUENCE FOR ks.t
struct DropSequence {
  std::string keyspace;
  std::string table;
};
// SHOW SEQUENCES [FROM|IN ks]
struct ShowSequences {
  std::optional<std::string> keyspace;
};
// CREATE LOOKUP KEY ks.t (column) [UNIQUE] [IN lookup_keyspace]: the proxy keeps a table on an
// unsharded keyspace mapping the column's values to keyspace IDs, fills it from the rows already
// there, and then routes `column = v` / `column IN (...)` to the shards holding them.
struct CreateLookupKey {
  std::string keyspace;
  std::string table;
  std::string column;
  bool unique = false;
  std::string lookupKeyspace;  // empty: the only unsharded keyspace
};
// DROP LOOKUP KEY ks.t (column): routing stops using it; the lookup table is left in place.
struct DropLookupKey {
  std::string keyspace;
  std::string table;
  std::string column;
};
// SHOW LOOKUP KEYS [FROM|IN ks]
struct ShowLookupKeys {
  std::optional<std::string> keyspace;
};
// SWITCHOVER SHARD ks.shard [TO 'host:port'] [TIMEOUT seconds]: a planned change of primary
// (docs/high-availability.md); without TO, the most advanced healthy replica.
struct Switchover {
  std::string keyspace;
  std::string shard;
  std::optional<catalog::Endpoint> candidate;
  std::optional<std::uint32_t> timeoutMs;
};
// SET KEYSPACE ks AUTO FAILOVER ON | OFF (also ALTER KEYSPACE ks SET auto_failover = on | off).
struct SetAutoFailover {
  std::string keyspace;
  bool on = false;
};
// SHOW FAILOVERS [LIMIT n]: switchovers and failovers, newest first.
struct ShowFailovers {
  std::optional<std::uint32_t> limit;
};
// SHOW BUFFERS: the shards and keyspaces whose statements are held now, and their buffers.
struct ShowBuffers {};
// SHOW QUERY DIGEST [ORDER BY total_time | count | scatter] [LIMIT n] (docs/observability.md).
enum class DigestOrder : std::uint8_t { kTotalTime, kCount, kScatter };
struct ShowQueryDigest {
  DigestOrder order = DigestOrder::kTotalTime;
  std::optional<std::uint32_t> limit;
};
// RESET QUERY DIGEST
struct ResetQueryDigest {};
// SHOW SHARD KEY ADVICE [FOR keyspace]
struct ShowShardKeyAdvice {
  std::optional<std::string> keyspace;
};
// SHOW TRANSACTIONS: the two-phase commit decision log (multi-shard transactions in mode twopc
// that are preparing, decided but not finished, or left by a crash for the recovery pass).
struct ShowTransactions {};

using AdminStatement =
    std::variant<ShowKeyspaces, ShowShards, ShowBackends, ShowTableRules, ShowUsers,
                 ShowCatalogVersion, ShowCatalogChanges, CreateKeyspace, DropKeyspace, CreateShard,
                 DropShard, AddBackend, DropBackend, SetBackendState, CreateTableRule,
                 DropTableRule, CreateUser, DropUser, Reshard, ShowMigrations, ShowMigration,
                 MigrationCommand, AlterKeyspace, ShowSchemaDrift, CreateSequence, DropSequence,
                 ShowSequences, ShowTransactions, CreateLookupKey, DropLookupKey, ShowLookupKeys,
                 Switchover, SetAutoFailover, ShowFailovers, ShowBuffers, ShowQueryDigest,
                 ResetQueryDigest, ShowShardKeyAdvice>;

struct AdminParseError {
  enum class Kind : std::uint8_t {
    kSyntax,        // → ER_PARSE_ERROR 1064, SQLSTATE 42000
    kNotSupported,  // valid-looking statement outside the admin surface → ER_NOT_SUPPORTED_YET 1235
  };
  Kind kind = Kind::kSyntax;
  std::size_t position = 0;  // byte offset of the offending token
  std::string message;       // MySQL style: "... near 'rest of text' at line N"
};

// Parses one statement (an optional trailing ';' is allowed). Size and nesting are capped.
std::variant<AdminStatement, AdminParseError> parseAdmin(std::string_view sql);

// The statement text with the password literal of a CREATE USER replaced by '<redacted>', for
// the change log and logs; other statements are returned unchanged.
std::string redactPassword(std::string_view sql, const AdminStatement& statement);

}  // namespace shardproxy::router::admin
