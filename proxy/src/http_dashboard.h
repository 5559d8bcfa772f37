// The web dashboard of the HTTP endpoint (docs/observability.md, "Dashboard"): one page embedded
// in the binary (no external asset) that polls a small JSON API of the same server:
//   /api/shardmap    keyspaces, their shards' ranges over the keyspace-ID space, backends with
//                    role, state, health and lag
//   /api/traffic     statements per second per shard over the last 10 minutes (2 s samples)
//   /api/digests     the top query digests by total time
//   /api/migrations  migrations with phase, progress and ETA
// Runs on the HTTP thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

namespace shardproxy::proxy {

struct SharedState;

std::string_view dashboardPage();
std::string apiShardMap(const SharedState& shared);
std::string apiDigests(SharedState& shared, std::size_t limit);
std::string apiMigrations(SharedState& shared);

// Per-shard statement counts sampled every few seconds; rates are the differences.
class TrafficHistory {
 public:
  static constexpr std::size_t kSamples = 300;  // 10 minutes at 2 s
  // Reads every thread's per-shard totals (posted to each thread) and keeps them.
  void sample(SharedState& shared);
  std::string json() const;

 private:
  struct Sample {
    std::chrono::system_clock::time_point at;
    std::map<std::string, std::uint64_t> totals;  // "keyspace/shard" → single + scatter
  };
  std::deque<Sample> samples_;
};

}  // namespace shardproxy::proxy
