// Which backend of a shard serves one statement: the primary, or a healthy replica.
// Place in the request flow: after Planner::plan() names the target shards and a Role, the
// session calls chooseBackend() once per target with the health table it last loaded from the
// HealthChecker (proxy/health_checker.h). A pure function of its arguments: the caller supplies
// the random number, so tests are deterministic.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/common/errors.h"
#include "shardproxy/router/planner.h"

namespace shardproxy::router {

// What the last health check saw of one backend.
struct BackendHealth {
  bool up = true;                // reachable, logged in and (replicas) replicating
  std::uint32_t lagSeconds = 0;  // Seconds_Behind_Master, when lagKnown
  bool lagKnown = false;
  bool operator==(const BackendHealth&) const = default;
};

// Backend health by catalog backend id, sorted for binary search. Published immutable (as
// std::shared_ptr<const HealthTable>); a backend that is not in a table has not been checked yet
// and is not a fit replica.
class HealthTable {
 public:
  using Entry = std::pair<std::int64_t, BackendHealth>;

  const BackendHealth* find(std::int64_t backendId) const;
  void set(std::int64_t backendId, BackendHealth health);
  const std::vector<Entry>& entries() const { return entries_; }
  bool operator==(const HealthTable& other) const { return entries_ == other.entries_; }

  // Set by the publisher; grows with each published change, so a reader can notice one cheaply.
  std::uint64_t version = 0;

 private:
  std::vector<Entry> entries_;
};

// Points into the snapshot passed to chooseBackend(): valid while the caller holds it.
struct BackendChoice {
  const catalog::Backend* backend = nullptr;
  bool fellBackToPrimary = false;  // a replica was asked for, but none was fit
  std::string_view why;            // a static string, for EXPLAIN ROUTE and logs
};

// Role::kPrimary: the shard's primary if ONLINE, or DRAINING while it is `current`.
// Role::kReplica: a fit replica; `current` when it is one, else a random pick weighted by
// Backend::weight. Fit means weight > 0 (weight 0 takes a replica out of rotation), ONLINE (or
// DRAINING and `current`), up in `health` (nullptr = every backend healthy) and lag within
// Backend::maxLagSeconds, an unknown lag counting as fit only when up. With no fit replica the
// primary serves the read (fellBackToPrimary). Primaries are not judged by `health`: failover is an
// admin decision. `current` is the endpoint of the connection the session already has to this
// shard, or nullptr. kNoRoute when the shard has no usable primary for a write or a fallback.
Result<BackendChoice> chooseBackend(const catalog::Snapshot& snapshot, const catalog::Shard& shard,
                                    Role role, const HealthTable* health, std::uint64_t random,
                                    const catalog::Endpoint* current);

}  // namespace shardproxy::router
