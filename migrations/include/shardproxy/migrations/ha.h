// High availability: planned primary switchover and automatic failover (docs/high-availability.md).
// Place in the request flow: off the request path. SWITCHOVER SHARD on the admin port calls
// switchover() (blocking the admin thread until it is done); the proxy's health monitor tells
// primaryFailing() / primaryRecovered() what it sees, and the manager's own thread fails a dead
// primary over when every keyspace it serves has AUTO FAILOVER ON. Both log in to the servers as
// the DBA account, hold the shards' statements in the proxy through TrafficGate (the buffer the
// resharding cutover uses), switch roles in the catalog in one change, publish and release. The
// manager's thread also fences a failed-over primary that comes back (read_only) and records
// what it had that the new primary lacks. Every event is kept in the catalog (SHOW FAILOVERS).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shardproxy/catalog/catalog.h"
#include "shardproxy/common/errors.h"
#include "shardproxy/migrations/manager.h"

namespace shardproxy::migrations {

struct HaOptions {
  std::string catalogPath;
  // The DBA account (SUPER or READ_ONLY ADMIN + REPLICATION SLAVE ADMIN + CONNECTION ADMIN).
  std::string dbaUser;
  std::string dbaPassword;
  // The replication account for CHANGE MASTER on the old primary after a switchover (it has no
  // replication settings of its own). Empty: the old primary is left fenced and offline.
  std::string replicationUser;
  std::string replicationPassword;
  // How long a failover may take in all, before the held statements fail (they wait at most the
  // proxy's hold timeout anyway).
  std::chrono::milliseconds failoverTimeout{30000};
  // How often returned old primaries are looked for (to fence them).
  std::chrono::milliseconds fencePoll{1000};
};

struct SwitchoverRequest {
  std::string keyspace;
  std::string shard;
  std::optional<catalog::Endpoint> candidate;  // none: the most advanced healthy replica
  // The whole switchover's budget (holding included); past it, it is undone.
  std::chrono::milliseconds timeout{5000};
  // How long running transactions may take to finish before the fence kills them.
  std::chrono::milliseconds drain{2000};
};

// Transactions that `ahead` has and `behind` lacks, summed over GTID domains (MariaDB GTID
// positions, "0-1-100,1-2-7"); 0 when behind has everything. Exposed for tests.
std::int64_t transactionsMissing(std::string_view ahead, std::string_view behind);

class HaManager {
 public:
  HaManager(HaOptions options, TrafficGate& gate);
  ~HaManager();
  HaManager(const HaManager&) = delete;
  HaManager& operator=(const HaManager&) = delete;

  void start();
  void stop();

  // SWITCHOVER SHARD (admin thread, blocking): the event as recorded, or why nothing changed.
  Result<catalog::HaEvent> switchover(const SwitchoverRequest& request);

  // From the health monitor (any thread, never blocks). `failures` consecutive failed probes of
  // the server at `primary`; at `threshold` or more the failover starts (when every keyspace the
  // server leads has AUTO FAILOVER ON). From the first failure on, those shards' statements are
  // held, so the applications wait instead of failing while the probe decides.
  void primaryFailing(const catalog::Endpoint& primary, int failures, int threshold,
                      const std::string& problem);
  void primaryRecovered(const catalog::Endpoint& primary);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardproxy::migrations
