// The coordinator of one migration: builds the RunContext for the current direction, creates the
// schema on the other side, runs one stream worker per serving shard, and acts on the DBA's
// requests and on its own phase changes: copy done → replicating → verify → cutover (cutover.cpp)
// → reverse replication; pause, cancel, complete. One thread per running migration.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "run_context.h"
#include "shardproxy/catalog/catalog.h"
#include "shardproxy/migrations/manager.h"

namespace shardproxy::migrations {

class Runner {
 public:
  Runner(std::int64_t id, const ManagerOptions& options, TrafficGate& gate);
  ~Runner();
  void start();
  void requestStop() { stopRequested_ = true; }
  void join();
  bool finished() const { return finished_; }
  std::int64_t id() const { return id_; }
  LiveStatus live() const;

 private:
  void main();
  Status runOnce();  // one direction's life; returns when the direction changes or it ends
  Status prepare(const catalog::Migration& m, const catalog::Snapshot& snap);
  Status createSchema();
  void startWorkers();
  void stopWorkers();
  bool allCopied();
  // Applied positions of every stream reach the serving side's current positions (or timeout).
  bool waitCaughtUp(std::chrono::steady_clock::time_point deadline);
  Status verify();                                                       // verifier.cpp
  Status cutover(const catalog::Migration& m, std::uint32_t timeoutMs);  // cutover.cpp
  Status recoverInterruptedCutover(const catalog::Migration& m);         // cutover.cpp
  Status setReadOnly(const std::vector<ShardSide>& sides, bool on, std::uint32_t waitSeconds);
  Status update(const catalog::MigrationUpdate& u);

  std::int64_t id_;
  ManagerOptions options_;
  TrafficGate& gate_;
  std::unique_ptr<catalog::Catalog> catalog_;
  mutable std::mutex ctxMu_;  // guards swapping ctx_ (live() reads it from the admin thread)
  std::unique_ptr<RunContext> ctx_;
  std::vector<std::thread> workers_;
  std::thread thread_;
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> finished_{false};
};

}  // namespace shardproxy::migrations
