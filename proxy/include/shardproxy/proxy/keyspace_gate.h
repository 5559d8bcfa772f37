// The hold/release buffer: statements for a held keyspace (a resharding cutover) or a held shard
// (a primary switchover or failover) wait at the proxy instead of reaching its backends, and go
// on (re-planned on the catalog published meanwhile) when it is released.
// Place in the request flow: a session asks anyHeld() (one atomic load) before it runs a planned
// statement; only when something is held does it look up its keyspace and shards, enter the
// buffer (bounded in statements and bytes per held shard, and in time by hold_timeout_ms; past a
// bound the statement fails at once with the retryable 1213) and poll until the release.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shardproxy/migrations/manager.h"

namespace shardproxy::proxy {

struct SharedState;

// What a waiting statement waits for: a whole keyspace (shard empty) or one shard of it.
struct HoldScope {
  std::string keyspace;
  std::string shard;
};

class KeyspaceGate final : public migrations::TrafficGate {
 public:
  explicit KeyspaceGate(SharedState& shared) : shared_(shared) {}

  bool anyHeld() const { return held_.load(std::memory_order_seq_cst) != 0; }
  // The whole keyspace held (a cutover).
  bool isHeld(std::string_view keyspace) const { return isHeld(keyspace, {}); }
  // The shard held, or its whole keyspace (shard empty: only the whole keyspace).
  bool isHeld(std::string_view keyspace, std::string_view shard) const;
  // Some shard of the keyspace held (not the whole keyspace).
  bool anyShardHeld(std::string_view keyspace) const;
  // Why the scope is held, for the error of a statement that cannot wait ("" when released).
  std::string reason(const HoldScope& scope) const;

  // A statement of `bytes` starts waiting for `scope`: false when the scope's buffer is full
  // (max statements or bytes); leave() when it stops waiting (released, timed out, closed).
  bool enter(const HoldScope& scope, std::size_t bytes);
  void leave(const HoldScope& scope, std::size_t bytes);

  // migrations::TrafficGate
  bool hold(const std::string& keyspace, std::chrono::steady_clock::time_point deadline) override;
  void release(const std::string& keyspace) override;
  bool holdShards(const std::vector<ShardRef>& shards, const std::string& reason,
                  std::chrono::steady_clock::time_point deadline) override;
  void releaseShards(const std::vector<ShardRef>& shards) override;
  void publish(catalog::SnapshotPtr snapshot) override;

  // Buffer figures (SHOW BUFFER, metrics): per held scope, statements waiting now and in total,
  // and those refused because the buffer was full.
  struct ScopeStats {
    HoldScope scope;
    std::string reason;
    std::size_t waiting = 0;
    std::size_t waitingBytes = 0;
    std::uint64_t entered = 0;
    std::uint64_t refused = 0;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<ScopeStats> stats() const;

 private:
  using Key = std::pair<std::string, std::string>;  // keyspace, shard ("" = whole keyspace)
  using KeyView = std::pair<std::string_view, std::string_view>;
  struct KeyLess {
    using is_transparent = void;
    static KeyView view(const Key& k) { return {k.first, k.second}; }
    static KeyView view(const KeyView& k) { return k; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return view(a) < view(b);
    }
  };
  struct Hold {
    int holds = 0;  // nested holds of one scope (a cutover and a failover may overlap)
    std::string reason;
    std::chrono::steady_clock::time_point since;
  };
  struct Buffer {
    std::size_t waiting = 0;
    std::size_t bytes = 0;
    std::uint64_t entered = 0;
    std::uint64_t refused = 0;
  };
  bool holdKeys(const std::vector<Key>& keys, const std::string& reason,
                std::chrono::steady_clock::time_point deadline);
  void releaseKeys(const std::vector<Key>& keys);
  // Sessions running a statement on one of the keys' keyspaces or holding a transaction open on
  // one of the keys, counted on each session's own thread (where its state lives); -1 when a
  // thread did not answer in time.
  int busySessions(const std::vector<Key>& keys, std::chrono::steady_clock::time_point deadline);

  SharedState& shared_;
  std::atomic<std::uint32_t> held_{0};
  mutable std::mutex mu_;
  std::map<Key, Hold, KeyLess> holds_;
  std::map<Key, Buffer, KeyLess> buffers_;
};

}  // namespace shardproxy::proxy
