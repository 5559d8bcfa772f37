// Online resharding: the migration manager and the interface the proxy gives it.
// Place in the request flow: off the request path entirely. The admin port records a migration
// in the catalog (reshard() below checks the source tables first); the manager's thread notices
// every unfinished migration in the catalog and runs it (copy, binlog catch-up, verify, cutover,
// reverse replication) on worker threads with libmariadb, logged in as the DBA account. A proxy
// restart resumes each migration from the progress saved in the catalog. The only calls back
// into the proxy go through TrafficGate, which the proxy implements (migrations/ never includes
// proxy/). See docs/resharding.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shardproxy/catalog/catalog.h"
#include "shardproxy/common/errors.h"
#include "shardproxy/migrations/column_max.h"
#include "shardproxy/migrations/lookup_backfill.h"
#include "shardproxy/migrations/schema_drift.h"

namespace shardproxy::migrations {

// The proxy's side of a cutover (and, later, of a primary failover): hold new statements for a
// keyspace, let the running ones finish, publish the switched catalog, release.
class TrafficGate {
 public:
  virtual ~TrafficGate() = default;
  // From now on statements for `keyspace` wait (up to the proxy's hold timeout, then they fail
  // with a retryable error) unless their session already has a transaction open on it. Returns
  // true once no statement for the keyspace is running and no transaction on it is open, false
  // at `deadline` (the hold stays until release()).
  virtual bool hold(const std::string& keyspace,
                    std::chrono::steady_clock::time_point deadline) = 0;
  // Held statements go on, planned against the snapshot published last.
  virtual void release(const std::string& keyspace) = 0;
  // The same for some shards of keyspaces only (a primary switchover or failover): statements
  // that touch one of them wait; a transaction already open on one of them goes on. `reason`
  // ends the retryable error of statements that waited too long or found the buffer full
  // ("is switching to a new primary"). A deadline already past returns after one look (a dead
  // primary's transactions cannot finish).
  struct ShardRef {
    std::string keyspace;
    std::string shard;
    bool operator==(const ShardRef&) const = default;
  };
  virtual bool holdShards(const std::vector<ShardRef>& shards, const std::string& reason,
                          std::chrono::steady_clock::time_point deadline) = 0;
  virtual void releaseShards(const std::vector<ShardRef>& shards) = 0;
  // The catalog changed outside the admin port (a cutover's switch): route by this snapshot.
  virtual void publish(catalog::SnapshotPtr snapshot) = 0;
};

struct ManagerOptions {
  std::string catalogPath;
  // The DBA account the workers log in with (replication, READ ONLY ADMIN / SUPER).
  std::string dbaUser;
  std::string dbaPassword;
  std::chrono::milliseconds poll{200};
};

struct ReshardRequest {
  std::string keyspace;
  std::vector<std::string> from;
  std::vector<std::string> to;
  bool autoCutover = false;
  std::uint64_t throttleRowsPerSecond = 0;
};

// Live figures of a running migration that the catalog does not keep (why the copy waits).
struct LiveStatus {
  std::string throttled;
  std::string streamErrors;
};

class MigrationManager {
 public:
  MigrationManager(ManagerOptions options, TrafficGate& gate);
  ~MigrationManager();
  MigrationManager(const MigrationManager&) = delete;
  MigrationManager& operator=(const MigrationManager&) = delete;

  // Starts the thread that runs (and, after a restart, resumes) the catalog's migrations.
  void start();
  // Stops every worker, saving progress; returns when all threads ended.
  void stop();

  // RESHARD KEYSPACE (admin thread, blocking): reads the keyspace's tables on a source primary
  // as the DBA, refuses tables without a primary key or a table rule (sharded keyspaces) with a
  // message naming them, then records the migration (Catalog::createMigration checks the ranges).
  Result<std::int64_t> reshard(catalog::Catalog& catalog, const ReshardRequest& request,
                               const catalog::ChangeContext& ctx);

  std::optional<LiveStatus> live(std::int64_t id) const;

  // SHOW SCHEMA DRIFT (admin thread, blocking until every shard was read or timed out):
  // findSchemaDrift() logged in as the DBA account.
  Result<std::vector<TableDrift>> schemaDrift(const catalog::Snapshot& snapshot,
                                              const std::optional<std::string>& keyspace) const;

  // CREATE SEQUENCE without START WITH (admin thread, blocking): findColumnMax() logged in as
  // the DBA account; refused without one.
  Result<std::optional<std::int64_t>> columnMax(const catalog::Snapshot& snapshot,
                                                const std::string& keyspace,
                                                const std::string& table,
                                                const std::string& column) const;

  // CREATE LOOKUP KEY (admin thread, blocking): createLookupTable() logged in as the DBA
  // account; refused without one. The manager's thread backfills every key not ready yet (and
  // after a restart), marks it ready in the catalog and publishes the snapshot.
  Status createLookupTable(const catalog::Snapshot& snapshot, const catalog::LookupKey& key) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardproxy::migrations
