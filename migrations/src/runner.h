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

// A chunk's row count and the sum and xor of its rows' CRC32s (verifier.cpp).
struct ChunkSums {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint64_t xorv = 0;
  bool operator==(const ChunkSums&) const = default;
  void add(const ChunkSums& o) {
    count += o.count;
    sum += o.sum;
    xorv ^= o.xorv;
  }
};

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
  // Every stream i has applied until[i] (positions of the serving side, in `from` order).
  bool waitApplied(const std::vector<GtidPosition>& until,
                   std::chrono::steady_clock::time_point deadline);
  Status verify();  // verifier.cpp, with its two helpers
  Status chunkSums(const TableMeta& t, const std::string& range,
                   std::vector<std::unique_ptr<BlockingClient>>& from,
                   std::vector<std::unique_ptr<BlockingClient>>& to, ChunkSums& a, ChunkSums& b,
                   bool& same);
  // The primary keys of the rows in `where` that differ between the sides (at most a few
  // thousand; a row missing on one side counts).
  Result<std::vector<std::vector<std::string>>> differingRows(
      const TableMeta& t, const std::string& where,
      std::vector<std::unique_ptr<BlockingClient>>& from,
      std::vector<std::unique_ptr<BlockingClient>>& to);
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
