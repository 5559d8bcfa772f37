// The catalog's row-level operations. Each runs inside a write transaction the caller owns
// (Catalog's mutators or importJson), checks the rules about its own change with a message that
// names them, and leaves the cross-row rules to checkInvariants() before COMMIT.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model.h"
#include "shardproxy/catalog/catalog.h"
#include "shardproxy/catalog/snapshot.h"

struct sqlite3;

namespace shardproxy::catalog::detail {
class Statement;
}

namespace shardproxy::catalog::detail {

struct BackendSpec {
  Endpoint address;
  BackendRole role = BackendRole::kReplica;
  std::uint32_t weight = 1;
  BackendState state = BackendState::kOnline;
  std::uint32_t maxLagSeconds = 30;
};

// --- shared checks (store_topology.cpp)
// The key range stored in columns `column` (start) and `column + 1` (end, NULL = 2^64), or an
// error naming the shard when the stored text is not 16 hex digits (a hand-edited file).
Result<KeyRange> storedRangeAt(const Statement& st, int column, std::string_view keyspace,
                               std::string_view shard);
Status validateName(std::string_view what, std::string_view name,
                    std::size_t maxLength = kMaxNameLength);
// The comma-separated values of a one-column query with text parameters bound in order.
Result<std::string> listOf(sqlite3* db, const char* sql,
                           std::initializer_list<std::string_view> params);
// The keyspace's `sharded` flag, or "keyspace 'x' does not exist".
Result<bool> requireKeyspace(sqlite3* db, std::string_view name);
// The stored name of an existing shard ("8-c" finds "80-c0"), or a not-found error naming it.
Result<std::string> resolveShard(sqlite3* db, std::string_view keyspace, std::string_view name);
// A NOT SERVING shard of an unsharded keyspace named by its own key range in canonical form: a
// resharding target, which may sit beside the keyspace's one shard.
bool isReshardingTarget(std::string_view name, const KeyRange& range, bool serving);
// Whether a shard may be in a sharded keyspace: named by its key range in canonical form, or NOT
// SERVING, owning the whole space under a name that is no key range (the old shard of a
// keyspace that was unsharded, after the cutover).
bool fitsShardedKeyspace(std::string_view name, const KeyRange& range, bool serving);

// --- keyspaces, shards, backends (store_topology.cpp)
Status insertKeyspace(sqlite3* db, std::string_view name, bool sharded);
Status deleteKeyspace(sqlite3* db, std::string_view name);
Status updateScatterWrites(sqlite3* db, std::string_view keyspace, ScatterWrites setting);
Status updateTransactionMode(sqlite3* db, std::string_view keyspace, TransactionMode mode);
Status updateAutoFailover(sqlite3* db, std::string_view keyspace, bool on);
// Catalog::promoteBackend's rows (store_ha.cpp).
Result<std::vector<std::string>> promoteBackendRows(sqlite3* db, const Endpoint& newPrimary,
                                                    const Endpoint& oldPrimary,
                                                    BackendState oldPrimaryState);
Result<std::int64_t> insertHaEvent(sqlite3* db, const HaEvent& event);
Status updateHaEventRow(sqlite3* db, const HaEvent& event);
Result<std::vector<HaEvent>> selectHaEvents(sqlite3* db, std::optional<std::uint32_t> limit);
// Returns the stored shard name: the canonical Vitess form for a key range ("8-c" → "80-c0").
// In an unsharded keyspace a NOT SERVING shard named by a key range is a resharding target with
// that range; any other shard is the keyspace's one shard and owns the whole space. `restoring`
// (importJson) also accepts, in a sharded keyspace, a NOT SERVING shard that is named by no key
// range: the old shard of a keyspace sharded by a migration that was not completed yet.
Result<std::string> insertShard(sqlite3* db, std::string_view keyspace, std::string_view name,
                                bool serving, bool restoring = false);
// Refused while an unfinished migration names the shard.
Status deleteShard(sqlite3* db, std::string_view keyspace, std::string_view name);
Status updateShardServing(sqlite3* db, std::string_view keyspace, std::string_view name,
                          bool serving);
Status insertBackend(sqlite3* db, std::string_view keyspace, std::string_view shard,
                     const BackendSpec& spec);
Status deleteBackend(sqlite3* db, const Endpoint& address);
Status updateBackendState(sqlite3* db, const Endpoint& address, BackendState state);

// --- table rules and users (store_access.cpp)
// The rules one table rule must follow on its own (shard key, hash function). A sharded rule
// may be defined in an unsharded keyspace: inert there until a migration shards the keyspace.
Status checkTableRuleShape(std::string_view keyspace, std::string_view table, TableKind kind,
                           std::string_view shardKey, std::string_view hashFunction);
Status insertTableRule(sqlite3* db, std::string_view keyspace, std::string_view table,
                       TableKind kind, std::string_view shardKey, std::string_view hashFunction);
Status deleteTableRule(sqlite3* db, std::string_view keyspace, std::string_view table);
Status insertUser(sqlite3* db, std::string_view name, std::string_view nativeHash,
                  std::string_view sha2Hash, const std::vector<std::string>& keyspaces);
Status deleteUser(sqlite3* db, std::string_view name);

// The shard key of keyspace.table's sharded table rule: not found (naming CREATE SHARDED TABLE),
// or a reference table ("ks.t is a reference table: <why>") is an error.
Result<std::string> shardedRuleKey(sqlite3* db, std::string_view keyspace, std::string_view table,
                                   std::string_view whyNotReference);

// --- global sequences (store_sequences.cpp)
// A sequence for a sharded table rule of a sharded keyspace; start >= 1, cache 1..kMaxCache.
Status insertSequence(sqlite3* db, const SequenceSpec& spec);
Status deleteSequence(sqlite3* db, std::string_view keyspace, std::string_view table);
// DROP TABLE RULE refuses while the rule has a sequence (the DBA drops it first).
Status checkNoSequence(sqlite3* db, std::string_view keyspace, std::string_view table);
// Every sequence with its next unreserved value, by (keyspace, table).
Result<std::vector<SequenceState>> readSequenceStates(sqlite3* db);
// The snapshot's part (caller holds the read transaction).
Status readSequences(sqlite3* db, Snapshot& snap);

// --- lookup keys (store_lookup_keys.cpp); the rules are Catalog's (catalog.h).
Result<LookupKey> insertLookupKey(sqlite3* db, const LookupKeySpec& spec);
Status deleteLookupKey(sqlite3* db, std::string_view keyspace, std::string_view table,
                       std::string_view column);
Status updateLookupKey(sqlite3* db, std::int64_t id, bool ready, std::string_view error);
// DROP KEYSPACE refuses while the keyspace holds lookup tables.
Status checkNoLookupKeysIn(sqlite3* db, std::string_view keyspace);
Status readLookupKeys(sqlite3* db, Snapshot& snap);

// --- resharding migrations (store_migrations.cpp); the rules are Catalog's (catalog.h).
Result<std::int64_t> insertMigration(sqlite3* db, const MigrationSpec& spec);
// Every migration, or the one with `id` (not found: an error), newest first.
Result<std::vector<Migration>> readMigrations(sqlite3* db, std::optional<std::int64_t> id);
Status recordMigrationRequest(sqlite3* db, std::int64_t id, MigrationRequest request,
                              std::optional<std::uint32_t> timeoutMs);
Status updateMigrationRow(sqlite3* db, std::int64_t id, const MigrationUpdate& update);
Status upsertMigrationTable(sqlite3* db, std::int64_t id, const MigrationTable& table);
Status upsertMigrationStream(sqlite3* db, std::int64_t id, const MigrationStream& stream);
Status switchMigrationShards(sqlite3* db, std::int64_t id, bool toTargets,
                             const std::vector<MigrationStream>& streams);
Status finishMigration(sqlite3* db, std::int64_t id);
// Refuses, naming the migration, when an unfinished migration of `keyspace` exists (no shard
// given) or names `shard` as a source or target.
Status checkNoUnfinishedMigration(sqlite3* db, std::string_view keyspace,
                                  std::optional<std::string_view> shard = std::nullopt);

// --- whole-catalog rules and bookkeeping (invariants.cpp)
// Every rule of docs/catalog.md over the whole file; the first violation found, or ok.
Status checkInvariants(sqlite3* db);
Result<std::uint64_t> readCatalogVersion(sqlite3* db);
// Bumps meta's version and appends the change log row; returns the new version.
Result<std::uint64_t> recordChange(sqlite3* db, const ChangeContext& ctx);
// One change: BEGIN IMMEDIATE, `apply`, checkInvariants, recordChange, COMMIT. On any error
// the transaction rolls back and `version` is untouched; on success it is the new version.
Status applyChange(sqlite3* db, std::uint64_t& version, const ChangeContext& ctx,
                   const std::function<Status()>& apply);

// --- reading (snapshot_reader.cpp); the caller holds a read transaction.
Result<SnapshotPtr> readSnapshot(sqlite3* db);

}  // namespace shardproxy::catalog::detail
