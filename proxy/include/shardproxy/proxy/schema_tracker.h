// Schema tracking: the columns of every table of each sharded keyspace, as its shards define them.
// Place in the request flow: a SchemaTracker's own thread reads a serving primary's
// information_schema.COLUMNS for each sharded keyspace as the DBA account (blocking libmariadb,
// never on an io_context thread) at start, every `interval`, and when a session asks after a DDL
// statement it ran; each result is published as an immutable router::SchemaSnapshot. Sessions
// load it with one atomic version check per statement and hand it to the planner
// (router::PlanInput::tracked). docs/routing.md "Schema tracking".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/common/errors.h"
#include "shardproxy/router/table_schema.h"

namespace shardproxy::migrations {
class BlockingClient;
}

namespace shardproxy::proxy {

struct SchemaTrackerOptions {
  std::string user;  // the DBA account (--dba-user): reads information_schema on the primaries
  std::string password;
  // Every keyspace is read again this often; 0: only at start and after DDL through the proxy.
  std::chrono::milliseconds interval{60000};
  std::chrono::seconds timeout{5};  // connect, read and write, per backend
};

class SchemaTracker {
 public:
  using SnapshotSource = std::function<catalog::SnapshotPtr()>;

  // `catalog` is called on the tracker's thread once per round (e.g. SharedState::snapshot).
  SchemaTracker(SnapshotSource catalog, SchemaTrackerOptions options);
  ~SchemaTracker();  // stop()
  SchemaTracker(const SchemaTracker&) = delete;
  SchemaTracker& operator=(const SchemaTracker&) = delete;

  // Starts the thread; the first round (every sharded keyspace) runs at once.
  void start();
  // Blocks until the first round ended or `limit` passed (start-up only, never on a session's
  // thread); true when it ended.
  bool waitFirstRound(std::chrono::milliseconds limit);
  // Wakes the thread and joins it (a read blocked in libmariadb ends within its timeouts).
  void stop();

  // Never null; any thread. The version is one atomic load, for sessions to notice a change.
  router::SchemaSnapshotPtr schema() const { return schema_.load(std::memory_order_acquire); }
  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

  // Asks for `keyspace` to be read again (a session ran DDL on it). The answer is a ticket: the
  // keyspace was read (or failed to be) once completed() >= ticket. Any thread; does not block.
  std::uint64_t requestRefresh(std::string keyspace);
  std::uint64_t completed() const { return completed_.load(std::memory_order_acquire); }

 private:
  void run();
  // Reads `keyspaces` (every sharded one when empty) and publishes what changed.
  void refresh(const std::set<std::string>& keyspaces);
  Result<router::KeyspaceSchema> read(const catalog::Snapshot& snap, const catalog::Keyspace& ks);
  Result<router::KeyspaceSchema> readFrom(const catalog::Backend& backend,
                                          const catalog::Keyspace& ks);
  void publish(router::SchemaSnapshotPtr next);

  SnapshotSource catalog_;
  SchemaTrackerOptions options_;
  std::atomic<router::SchemaSnapshotPtr> schema_;
  std::atomic<std::uint64_t> version_{0};
  std::atomic<std::uint64_t> completed_{0};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool firstDone_ = false;
  std::set<std::string> pending_;  // keyspaces sessions asked for
  std::uint64_t requested_ = 0;    // the last ticket handed out
  std::thread thread_;

  // The tracker thread's own: one connection per backend ("host:port"), and the last problem
  // logged per keyspace (logged again only when it changes).
  std::unordered_map<std::string, std::unique_ptr<migrations::BlockingClient>> clients_;
  std::unordered_map<std::string, std::string> problems_;
};

}  // namespace shardproxy::proxy
