// The state one running migration shares between its coordinator thread (runner.cpp) and its
// stream workers (stream_worker.cpp): the topology of this direction, the tables, the controls
// the coordinator sets and the progress the workers publish.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "binlog_reader.h"
#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/migrations/blocking_client.h"
#include "table_meta.h"

namespace shardproxy::migrations {

// One shard as the workers reach it (logged in as the DBA).
struct ShardSide {
  std::string name;
  catalog::KeyRange range;
  Endpoint primary;
  std::vector<Endpoint> replicas;  // online replicas, in catalog order
};

// What one stream worker publishes (guarded by `mu`).
struct StreamProgress {
  std::mutex mu;
  GtidPosition applied;   // every event up to here is applied to the targets
  bool copying = true;    // still copying tables (false: streaming only)
  bool healthy = false;   // the binlog stream is open
  std::string throttled;  // why the copy waits, or empty
  std::string error;      // the last error (the worker retries)
  std::uint64_t lagEvents = 0;
  double lagSeconds = 0;
  std::atomic<std::uint64_t> rowsCopied{0};
  std::atomic<std::uint64_t> eventsApplied{0};
};

struct RunContext {
  std::int64_t id = 0;
  std::string keyspace;  // also the database name on every shard
  std::string catalogPath;
  std::string direction;  // "forward" (sources → targets) or "reverse" (targets → sources)
  std::vector<ShardSide> from;  // the serving side: streams read these
  std::vector<ShardSide> to;    // the side being kept in sync
  std::vector<TableMeta> tables;
  std::string dbaUser;
  std::string dbaPassword;
  std::uint64_t throttleRowsPerSecond = 0;
  std::uint32_t serverIdBase = 0;  // binlog readers use serverIdBase + stream index

  std::atomic<bool> stop{false};
  std::atomic<bool> paused{false};
  // During a cutover every commit is applied at once (no batching delay).
  std::atomic<bool> flushNow{false};
  std::vector<std::unique_ptr<StreamProgress>> progress;  // one per `from` shard

  Endpoint login(const Endpoint& e) const {
    Endpoint out = e;
    out.user = dbaUser;
    out.password = dbaPassword;
    return out;
  }
  // The `to` shard owning a keyspace ID, or -1.
  int targetFor(std::uint64_t keyspaceId) const {
    for (std::size_t i = 0; i < to.size(); ++i)
      if (to[i].range.contains(keyspaceId)) return static_cast<int>(i);
    return -1;
  }
};

// Session settings every worker connection uses: UTC timestamps, no auto-increment surprises on
// 0 keys, no foreign-key ordering constraints while rows arrive out of order, and READ COMMITTED
// so the appliers' deletes of absent keys take no gap locks (several streams write one target in
// a merge). The copy's snapshot sets its own isolation (WITH CONSISTENT SNAPSHOT).
inline constexpr const char* kWorkerSessionSql =
    "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00', "
    "foreign_key_checks = 0, innodb_lock_wait_timeout = 10, "
    "tx_isolation = 'READ-COMMITTED'";

Status connectWorker(BlockingClient& client, const Endpoint& endpoint);

}  // namespace shardproxy::migrations
