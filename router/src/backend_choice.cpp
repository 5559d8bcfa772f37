#include "shardproxy/router/backend_choice.h"

#include <algorithm>
#include <string>

namespace shardproxy::router {
namespace {

bool isCurrent(const catalog::Backend& b, const catalog::Endpoint* current) {
  return current != nullptr && *current == b.address;
}

// DRAINING keeps the sessions that are already connected, and takes no new ones.
bool serving(const catalog::Backend& b, const catalog::Endpoint* current) {
  return b.state == catalog::BackendState::kOnline ||
         (b.state == catalog::BackendState::kDraining && isCurrent(b, current));
}

bool healthy(const catalog::Backend& b, const HealthTable* health) {
  if (health == nullptr) return true;
  const BackendHealth* h = health->find(b.id);
  if (h == nullptr || !h->up) return false;
  return !h->lagKnown || h->lagSeconds <= b.maxLagSeconds;
}

bool fitReplica(const catalog::Backend& b, const HealthTable* health,
                const catalog::Endpoint* current) {
  return b.role == catalog::BackendRole::kReplica && b.weight > 0 && serving(b, current) &&
         healthy(b, health);
}

std::string shardName(const catalog::Shard& shard) {
  return shard.keyspace + "/" + shard.name;
}

Result<BackendChoice> primaryOf(const catalog::Snapshot& snapshot, const catalog::Shard& shard,
                                const catalog::Endpoint* current, std::string_view context) {
  if (!shard.primary) {
    return Error::make(ErrorCode::kNoRoute,
                       "Shard " + shardName(shard) + std::string(context) + " has no primary");
  }
  const catalog::Backend& b = snapshot.backends[*shard.primary];
  if (!serving(b, current)) {
    return Error::make(ErrorCode::kNoRoute, "Shard " + shardName(shard) + std::string(context) +
                                                " has no online primary (" + b.address.toString() +
                                                " is " + std::string(catalog::toString(b.state)) +
                                                ")");
  }
  return BackendChoice{&b, false, "primary"};
}

}  // namespace

const BackendHealth* HealthTable::find(std::int64_t backendId) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), backendId,
                             [](const Entry& e, std::int64_t id) { return e.first < id; });
  return it != entries_.end() && it->first == backendId ? &it->second : nullptr;
}

void HealthTable::set(std::int64_t backendId, BackendHealth health) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), backendId,
                             [](const Entry& e, std::int64_t id) { return e.first < id; });
  if (it != entries_.end() && it->first == backendId) {
    it->second = health;
  } else {
    entries_.insert(it, Entry{backendId, health});
  }
}

Result<BackendChoice> chooseBackend(const catalog::Snapshot& snapshot, const catalog::Shard& shard,
                                    Role role, const HealthTable* health, std::uint64_t random,
                                    const catalog::Endpoint* current) {
  if (role == Role::kPrimary) return primaryOf(snapshot, shard, current, "");

  std::uint64_t totalWeight = 0;
  for (std::size_t idx : shard.backends) {
    const catalog::Backend& b = snapshot.backends[idx];
    if (!fitReplica(b, health, current)) continue;
    // Staying put keeps the session's connection (and its session state) warm.
    if (isCurrent(b, current)) return BackendChoice{&b, false, "current replica"};
    totalWeight += b.weight;
  }
  if (totalWeight > 0) {
    std::uint64_t point = random % totalWeight;
    for (std::size_t idx : shard.backends) {
      const catalog::Backend& b = snapshot.backends[idx];
      if (!fitReplica(b, health, current)) continue;
      if (point < b.weight) return BackendChoice{&b, false, "weighted replica pick"};
      point -= b.weight;
    }
  }
  auto primary = primaryOf(snapshot, shard, current, " has no healthy replica and");
  if (!primary) return primary;
  primary->fellBackToPrimary = true;
  primary->why = "no healthy replica";
  return primary;
}

}  // namespace shardproxy::router
