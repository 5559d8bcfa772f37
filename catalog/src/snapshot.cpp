// Lookups on an immutable Snapshot. Catalog::snapshot() sorts keyspaces, users and table rules by
// name and backends by address, so the lookups here (one per statement or login) are binary
// searches.
#include "shardproxy/catalog/snapshot.h"

#include <algorithm>
#include <tuple>

namespace shardproxy::catalog {
namespace {

// lower_bound over a sorted vector by a projected key, returning the element only on a match.
template <typename T, typename Key, typename Proj>
const T* findSorted(const std::vector<T>& items, const Key& key, Proj proj) {
  auto it = std::lower_bound(items.begin(), items.end(), key,
                             [&](const T& item, const Key& k) { return proj(item) < k; });
  return it != items.end() && proj(*it) == key ? &*it : nullptr;
}

}  // namespace

std::string_view toString(BackendRole role) {
  return role == BackendRole::kPrimary ? "primary" : "replica";
}

std::string_view toString(BackendState state) {
  switch (state) {
    case BackendState::kOnline:
      return "online";
    case BackendState::kDraining:
      return "draining";
    case BackendState::kOffline:
      return "offline";
  }
  return "offline";
}

std::string_view toString(TableKind kind) {
  return kind == TableKind::kSharded ? "sharded" : "reference";
}

std::string_view toString(ScatterWrites setting) {
  return setting == ScatterWrites::kAllow ? "allow" : "deny";
}

std::string_view toString(TransactionMode mode) {
  switch (mode) {
    case TransactionMode::kSingle:
      return "single";
    case TransactionMode::kMulti:
      return "multi";
    case TransactionMode::kTwoPc:
      return "twopc";
  }
  return "multi";
}

std::optional<TransactionMode> parseTransactionMode(std::string_view text) {
  for (auto mode : {TransactionMode::kSingle, TransactionMode::kMulti, TransactionMode::kTwoPc})
    if (text == toString(mode)) return mode;
  return std::nullopt;
}

bool User::mayUse(std::string_view keyspace) const {
  return keyspaces.empty() ||
         std::find(keyspaces.begin(), keyspaces.end(), keyspace) != keyspaces.end();
}

const Keyspace* Snapshot::findKeyspace(std::string_view name) const {
  return findSorted(keyspaces, name, [](const Keyspace& k) { return std::string_view(k.name); });
}

const User* Snapshot::findUser(std::string_view name) const {
  return findSorted(users, name, [](const User& u) { return std::string_view(u.name); });
}

const Backend* Snapshot::findBackend(const Endpoint& address) const {
  const auto key = std::make_tuple(std::string_view(address.host), address.port);
  return findSorted(backends, key, [](const Backend& b) {
    return std::make_tuple(std::string_view(b.address.host), b.address.port);
  });
}

const Backend* Snapshot::findBackend(const Endpoint& address, std::string_view keyspace) const {
  // lower_bound gives the first row of the server: its rows (one per keyspace) follow.
  for (const Backend* b = findBackend(address);
       b != nullptr && b != backends.data() + backends.size() && b->address == address; ++b) {
    if (b->keyspace == keyspace) return b;
  }
  return nullptr;
}

const TableRule* Snapshot::findTable(std::string_view keyspace, std::string_view table) const {
  const auto key = std::make_tuple(keyspace, table);
  return findSorted(tables, key, [](const TableRule& t) {
    return std::make_tuple(std::string_view(t.keyspace), std::string_view(t.table));
  });
}

const Sequence* Snapshot::findSequence(std::string_view keyspace, std::string_view table) const {
  if (sequences.empty()) return nullptr;  // the common case: one branch per INSERT
  const auto key = std::make_tuple(keyspace, table);
  return findSorted(sequences, key, [](const Sequence& s) {
    return std::make_tuple(std::string_view(s.keyspace), std::string_view(s.table));
  });
}

std::span<const LookupKey> Snapshot::lookupKeysOf(std::string_view keyspace,
                                                  std::string_view table) const {
  if (lookupKeys.empty()) return {};  // the common case: one branch per statement
  const auto key = std::make_tuple(keyspace, table);
  auto proj = [](const LookupKey& k) {
    return std::make_tuple(std::string_view(k.keyspace), std::string_view(k.table));
  };
  auto first = std::lower_bound(lookupKeys.begin(), lookupKeys.end(), key,
                                [&](const LookupKey& k, const auto& v) { return proj(k) < v; });
  auto last = first;
  while (last != lookupKeys.end() && proj(*last) == key)
    ++last;
  return {first, last};
}

const Shard* Snapshot::shardFor(const Keyspace& keyspace, std::uint64_t keyspaceId) const {
  // Serving shards never overlap, so the owner is the serving shard with the greatest start
  // <= id, if it reaches that far. Non-serving shards (resharding targets) are skipped.
  const auto& order = keyspace.shards;
  auto it =
      std::upper_bound(order.begin(), order.end(), keyspaceId,
                       [&](std::uint64_t id, std::size_t i) { return id < shards[i].range.start; });
  while (it != order.begin()) {
    --it;
    const Shard& shard = shards[*it];
    if (shard.serving) return shard.range.contains(keyspaceId) ? &shard : nullptr;
  }
  return nullptr;
}

}  // namespace shardproxy::catalog
