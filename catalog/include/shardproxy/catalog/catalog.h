// The catalog: the single source of truth for one proxy, in SQLite (WAL, foreign keys,
// synchronous=FULL for changes). Keyspaces, shards with key ranges, backends, table rules,
// users (password hashes only) and a change log.
// Place in the request flow: admin statements (admin port) call the mutators below on the admin
// thread; after each successful change the proxy builds a new immutable Snapshot and swaps it in
// atomically; sessions read a Snapshot per statement. Nothing here runs on an event loop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/catalog/decision_log.h"
#include "shardproxy/catalog/migration.h"
#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/common/errors.h"

struct sqlite3;

namespace shardproxy::catalog {

// Who made a change and with which statement; recorded in the change log.
struct ChangeContext {
  std::string who;        // "admin@127.0.0.1", "bootstrap", ...
  std::string statement;  // the admin statement text as received
};

struct ChangeRecord {
  std::uint64_t version = 0;
  std::string time;  // UTC, ISO 8601
  std::string statement;
  std::string who;
};

// CREATE SEQUENCE FOR keyspace.table (column) START WITH start CACHE cache.
struct SequenceSpec {
  std::string keyspace;
  std::string table;
  std::string column;
  std::int64_t start = 1;
  std::uint32_t cache = 1000;
};

// A sequence and the first value no proxy has reserved yet (SHOW SEQUENCES).
struct SequenceState {
  Sequence sequence;
  std::int64_t nextValue = 1;
};

// CREATE LOOKUP KEY keyspace.table (column) [UNIQUE] [IN lookupKeyspace].
struct LookupKeySpec {
  std::string keyspace;
  std::string table;
  std::string column;
  bool unique = false;
  std::string lookupKeyspace;  // empty: the catalog's one unsharded keyspace
};

// One primary switchover or failover (SHOW FAILOVERS, docs/high-availability.md).
struct HaEvent {
  std::int64_t id = 0;
  std::string kind;        // switchover | failover
  std::string shards;      // "shop/-80,users/-" : every shard the old primary served
  std::string oldPrimary;  // host:port
  std::string newPrimary;  // host:port, empty until chosen
  std::string state;       // running | done | failed
  std::int64_t startedMs = 0;
  std::optional<std::int64_t> finishedMs;
  std::optional<std::int64_t> pauseMs;  // how long statements were held
  std::string oldGtid;                  // the old primary's gtid_binlog_pos (when it could be read)
  std::string newGtid;                  // the new primary's position when it was made writable
  // Transactions the old primary had that the new one lacks (failover; NULL until the old
  // primary could be read, 0 when nothing was lost).
  std::optional<std::int64_t> lostTransactions;
  std::string oldPrimaryState;  // replicating | fenced | unreachable | ...
  std::string detail;
};

class Catalog {
 public:
  // The schema version this build writes; files with a newer one are refused.
  static constexpr int kSchemaVersion = 8;

  // Opens (creating if missing) and upgrades the schema in one transaction.
  static Result<std::unique_ptr<Catalog>> open(const std::string& path);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // True when the catalog holds no keyspace, backend or user yet (bootstrap imports then).
  Result<bool> empty();
  std::uint64_t version() const { return version_; }

  // An immutable view of the whole catalog at the current version.
  Result<SnapshotPtr> snapshot();

  // --- changes: each is one transaction that checks every invariant, bumps the version and
  // appends to the change log; on any error nothing changes and the Error says which rule broke.
  Status createKeyspace(std::string_view name, bool sharded, const ChangeContext& ctx);
  Status dropKeyspace(std::string_view name, const ChangeContext& ctx);
  // ALTER KEYSPACE ... SET scatter_writes: any keyspace (an unsharded one keeps it for when a
  // migration shards it).
  Status setScatterWrites(std::string_view keyspace, ScatterWrites setting,
                          const ChangeContext& ctx);
  // ALTER KEYSPACE ... SET transaction_mode (docs/transactions.md).
  Status setTransactionMode(std::string_view keyspace, TransactionMode mode,
                            const ChangeContext& ctx);
  // SET KEYSPACE ks AUTO FAILOVER ON | OFF (docs/high-availability.md).
  Status setAutoFailover(std::string_view keyspace, bool on, const ChangeContext& ctx);
  // A switchover's or failover's catalog switch, one change: for every shard in which
  // `newPrimary` is a replica and whose primary is `oldPrimary`, the two swap roles; the new
  // primary goes online, the old one gets `oldPrimaryState` (online after a switchover, where it
  // replicates from the new one; offline after a failover, fenced). Refused unless that covers
  // every shard `oldPrimary` is primary of (one server, one role). Returns the shards switched
  // as "keyspace/shard".
  Result<std::vector<std::string>> promoteBackend(const Endpoint& newPrimary,
                                                  const Endpoint& oldPrimary,
                                                  BackendState oldPrimaryState,
                                                  const ChangeContext& ctx);
  // The HA record: appended (returns its id) and updated as it goes; no version bump.
  Result<std::int64_t> recordHaEvent(const HaEvent& event);
  Status updateHaEvent(const HaEvent& event);
  // Newest first.
  Result<std::vector<HaEvent>> haEvents(std::optional<std::uint32_t> limit = std::nullopt);

  // shardName is the key range in Vitess notation for sharded keyspaces ("-80", "80-c0", "c0-",
  // "-" for the whole space); an unsharded keyspace has exactly one shard, any name, whole range.
  Status createShard(std::string_view keyspace, std::string_view shardName, const Endpoint& primary,
                     const std::vector<Endpoint>& replicas, bool serving, const ChangeContext& ctx);
  Status dropShard(std::string_view keyspace, std::string_view shardName, const ChangeContext& ctx);
  Status setShardServing(std::string_view keyspace, std::string_view shardName, bool serving,
                         const ChangeContext& ctx);
  Status addBackend(const Endpoint& address, std::string_view keyspace, std::string_view shardName,
                    BackendRole role, std::optional<std::uint32_t> weight,
                    std::optional<std::uint32_t> maxLagSeconds, const ChangeContext& ctx);
  Status dropBackend(const Endpoint& address, const ChangeContext& ctx);
  Status setBackendState(const Endpoint& address, BackendState state, const ChangeContext& ctx);
  // hashFunction: "xxh3" (integer keys, the default), "xxh3_ci" or "xxh3_bin" (string keys).
  Status createTableRule(std::string_view keyspace, std::string_view table, TableKind kind,
                         std::string_view shardKeyColumn, const ChangeContext& ctx,
                         std::string_view hashFunction = "xxh3");
  Status dropTableRule(std::string_view keyspace, std::string_view table, const ChangeContext& ctx);
  // Stores only hashes: mysql_native_password's SHA1(SHA1(pw)) and SHA256(SHA256(pw)) for
  // caching_sha2_password. keyspaces empty = every keyspace.
  Status createUser(std::string_view name, std::string_view password,
                    const std::vector<std::string>& keyspaces, const ChangeContext& ctx);
  Status dropUser(std::string_view name, const ChangeContext& ctx);

  // --- global sequences (docs/routing.md "Generated keys"; values: catalog/sequence_store.h)
  // One change each. createSequence refuses an unknown keyspace or table rule, an unsharded
  // keyspace, a reference table, a second sequence for the table, START below 1 and CACHE
  // outside 1..1000000.
  Status createSequence(const SequenceSpec& spec, const ChangeContext& ctx);
  Status dropSequence(std::string_view keyspace, std::string_view table, const ChangeContext& ctx);
  // What createSequence would refuse, without changing anything (checked before reading the
  // shards for a START value).
  Status checkSequence(const SequenceSpec& spec);
  Result<std::vector<SequenceState>> sequences();

  // --- lookup keys (docs/routing.md "Lookup keys"). createLookupKey refuses an unknown keyspace
  // or table rule, a reference table, the shard key itself, a second key on the column, and a
  // lookup keyspace that is sharded, missing or (when not named) not the only unsharded one; the
  // key starts not ready. markLookupKey records the backfill's end (ready) or failure (error).
  Result<LookupKey> createLookupKey(const LookupKeySpec& spec, const ChangeContext& ctx);
  Status dropLookupKey(std::string_view keyspace, std::string_view table, std::string_view column,
                       const ChangeContext& ctx);
  Status markLookupKey(std::int64_t id, bool ready, std::string_view error,
                       const ChangeContext& ctx);

  Result<std::vector<ChangeRecord>> changes(std::optional<std::uint32_t> limit);
  // The two-phase commit decision log's rows, oldest first (SHOW TRANSACTIONS).
  Result<std::vector<DecisionRecord>> twopcTransactions();

  // --- resharding migrations (catalog/migration.h, docs/resharding.md)
  // One change: checks that the keyspace exists and has no unfinished migration, that every
  // source is a serving shard and every target a non-serving shard of it, and that the sources
  // and the targets each cover exactly the same part of the keyspace-ID space (an unsharded
  // keyspace's one shard counts as the whole space); records the migration with one table row per
  // (source, sharded table) and one per reference table (first source only), and one "forward"
  // stream per source with an empty position. Returns the new migration's id.
  Result<std::int64_t> createMigration(const MigrationSpec& spec, const ChangeContext& ctx);
  // Every migration, or one (error kCatalogNotFound when it does not exist), with its tables and
  // streams, newest first.
  Result<std::vector<Migration>> migrations(std::optional<std::int64_t> id = std::nullopt);
  // A DBA request (one change, recorded in the change log). Refused with a message when it makes
  // no sense in the migration's state: PAUSE/RESUME/VERIFY/CANCEL need an unfinished migration,
  // CANCEL also not switched, CUTOVER a not-switched and REVERSE/COMPLETE a switched one in
  // phase replicating. PAUSE and RESUME take effect at once (the paused flag); the others set
  // `request` (and cutoverTimeoutMs for CUTOVER/REVERSE) for the workers.
  Status requestMigration(std::int64_t id, MigrationRequest request,
                          std::optional<std::uint32_t> timeoutMs, const ChangeContext& ctx);
  // Worker progress: no version bump, no change-log row.
  Status updateMigration(std::int64_t id, const MigrationUpdate& update);
  Status saveTableProgress(std::int64_t id, const MigrationTable& table);
  Status saveStreamProgress(std::int64_t id, const MigrationStream& stream);
  // The cutover's switch, one change: toTargets → the sources stop serving and the targets serve
  // (and a keyspace that was unsharded becomes sharded); !toTargets → the reverse. Sets switched,
  // phase replicating, clears the request, and replaces the streams of the new direction
  // ("reverse" when toTargets, else "forward") with `streams` (the serving side's positions).
  Status switchMigration(std::int64_t id, bool toTargets,
                         const std::vector<MigrationStream>& streams, const ChangeContext& ctx);
  // COMPLETE, one change: the source shards and their backends leave the catalog (their data is
  // not touched), phase completed, streams removed.
  Status completeMigration(std::int64_t id, const ChangeContext& ctx);

  // The bootstrap/dump JSON format (docs/catalog.md). importJson runs as ONE transaction.
  Status importJson(std::string_view json, const ChangeContext& ctx);
  Result<std::string> exportJson();

 private:
  explicit Catalog(sqlite3* db);
  sqlite3* db_;
  std::uint64_t version_ = 0;
};

}  // namespace shardproxy::catalog
