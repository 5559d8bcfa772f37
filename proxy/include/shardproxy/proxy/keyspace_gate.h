// The hold/release buffer: statements for a held keyspace wait at the proxy instead of reaching
// its shards, and go on (re-planned on the catalog published meanwhile) when it is released.
// Place in the request flow: a session asks anyHeld() (one atomic load) before it runs a planned
// statement; only when something is held does it look up its keyspace and wait. The resharding
// cutover holds a keyspace through migrations::TrafficGate; a primary failover will hold one
// keyspace's shard the same way.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "shardproxy/migrations/manager.h"

namespace shardproxy::proxy {

struct SharedState;

class KeyspaceGate final : public migrations::TrafficGate {
 public:
  explicit KeyspaceGate(SharedState& shared) : shared_(shared) {}

  bool anyHeld() const { return held_.load(std::memory_order_seq_cst) != 0; }
  bool isHeld(std::string_view keyspace) const;

  // migrations::TrafficGate
  bool hold(const std::string& keyspace, std::chrono::steady_clock::time_point deadline) override;
  void release(const std::string& keyspace) override;
  void publish(catalog::SnapshotPtr snapshot) override;

 private:
  // Sessions running a statement on `keyspace` or holding a transaction open on it, counted on
  // each session's own thread (where its state lives); -1 when a thread did not answer in time.
  int busySessions(const std::string& keyspace, std::chrono::steady_clock::time_point deadline);

  SharedState& shared_;
  std::atomic<std::uint32_t> held_{0};
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> keyspaces_;
};

}  // namespace shardproxy::proxy
