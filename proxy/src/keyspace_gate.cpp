#include "shardproxy/proxy/keyspace_gate.h"

#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/server.h"

namespace shardproxy::proxy {

bool KeyspaceGate::isHeld(std::string_view keyspace, std::string_view shard) const {
  std::lock_guard lock(mu_);
  auto held = [&](std::string_view s) {
    auto it = holds_.find(KeyView(keyspace, s));
    return it != holds_.end();
  };
  return held({}) || (!shard.empty() && held(shard));
}

bool KeyspaceGate::anyShardHeld(std::string_view keyspace) const {
  std::lock_guard lock(mu_);
  for (const auto& [key, hold] : holds_)
    if (key.first == keyspace && !key.second.empty()) return true;
  return false;
}

std::string KeyspaceGate::reason(const HoldScope& scope) const {
  std::lock_guard lock(mu_);
  auto it = holds_.find(Key(scope.keyspace, scope.shard));
  if (it == holds_.end()) it = holds_.find(Key(scope.keyspace, std::string()));
  return it == holds_.end() ? std::string() : it->second.reason;
}

bool KeyspaceGate::enter(const HoldScope& scope, std::size_t bytes) {
  const auto& config = shared_.config;
  std::lock_guard lock(mu_);
  Buffer& b = buffers_[Key(scope.keyspace, scope.shard)];
  if (b.waiting + 1 > config.bufferMaxStatements || b.bytes + bytes > config.bufferMaxBytes) {
    ++b.refused;
    return false;
  }
  ++b.waiting;
  ++b.entered;
  b.bytes += bytes;
  return true;
}

void KeyspaceGate::leave(const HoldScope& scope, std::size_t bytes) {
  std::lock_guard lock(mu_);
  auto it = buffers_.find(Key(scope.keyspace, scope.shard));
  if (it == buffers_.end()) return;
  Buffer& b = it->second;
  b.waiting -= std::min<std::size_t>(b.waiting, 1);
  b.bytes -= std::min(b.bytes, bytes);
  // Kept while its scope is held (its figures are shown); dropped once empty and released.
  if (b.waiting == 0 && holds_.find(it->first) == holds_.end()) buffers_.erase(it);
}

std::vector<KeyspaceGate::ScopeStats> KeyspaceGate::stats() const {
  std::lock_guard lock(mu_);
  std::vector<ScopeStats> out;
  for (const auto& [key, hold] : holds_) {
    ScopeStats s{{key.first, key.second}, hold.reason, 0, 0, 0, 0, hold.since};
    if (auto b = buffers_.find(key); b != buffers_.end()) {
      s.waiting = b->second.waiting;
      s.waitingBytes = b->second.bytes;
      s.entered = b->second.entered;
      s.refused = b->second.refused;
    }
    out.push_back(std::move(s));
  }
  return out;
}

int KeyspaceGate::busySessions(const std::vector<Key>& keys,
                               std::chrono::steady_clock::time_point deadline) {
  std::vector<std::future<int>> answers;
  for (ThreadContext* t : shared_.threads) {
    auto promise = std::make_shared<std::promise<int>>();
    answers.push_back(promise->get_future());
    boost::asio::post(t->io, [t, promise, keys] {
      int busy = 0;
      for (const ClientSession* s : t->sessions) {
        for (const auto& [keyspace, shard] : keys) {
          if (s->busyOn(keyspace, shard)) {
            ++busy;
            break;
          }
        }
      }
      promise->set_value(busy);
    });
  }
  int total = 0;
  for (auto& a : answers) {
    if (a.wait_until(std::max(deadline,
                              std::chrono::steady_clock::now() + std::chrono::milliseconds(200))) !=
        std::future_status::ready) {
      return -1;
    }
    total += a.get();
  }
  return total;
}

bool KeyspaceGate::holdKeys(const std::vector<Key>& keys, const std::string& reason,
                            std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lock(mu_);
    for (const Key& key : keys) {
      Hold& h = holds_[key];
      if (h.holds++ == 0) {
        h.reason = reason;
        h.since = std::chrono::steady_clock::now();
        held_.fetch_add(1, std::memory_order_seq_cst);
      }
    }
  }
  // A session checks the hold in the same run of its thread in which it marks itself busy, so
  // once every thread has answered "nobody busy" after the hold began, nobody can start.
  for (;;) {
    const int busy = busySessions(keys, deadline);
    if (busy == 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void KeyspaceGate::releaseKeys(const std::vector<Key>& keys) {
  std::lock_guard lock(mu_);
  for (const Key& key : keys) {
    auto it = holds_.find(key);
    if (it == holds_.end() || --it->second.holds > 0) continue;
    holds_.erase(it);
    held_.fetch_sub(1, std::memory_order_seq_cst);
    if (auto b = buffers_.find(key); b != buffers_.end() && b->second.waiting == 0) {
      buffers_.erase(b);
    }
  }
}

bool KeyspaceGate::hold(const std::string& keyspace,
                        std::chrono::steady_clock::time_point deadline) {
  return holdKeys({Key(keyspace, std::string())}, "is being cut over to new shards", deadline);
}

void KeyspaceGate::release(const std::string& keyspace) {
  releaseKeys({Key(keyspace, std::string())});
}

bool KeyspaceGate::holdShards(const std::vector<ShardRef>& shards, const std::string& reason,
                              std::chrono::steady_clock::time_point deadline) {
  std::vector<Key> keys;
  for (const auto& s : shards)
    keys.emplace_back(s.keyspace, s.shard);
  return holdKeys(keys, reason, deadline);
}

void KeyspaceGate::releaseShards(const std::vector<ShardRef>& shards) {
  std::vector<Key> keys;
  for (const auto& s : shards)
    keys.emplace_back(s.keyspace, s.shard);
  releaseKeys(keys);
}

void KeyspaceGate::publish(catalog::SnapshotPtr snapshot) {
  shared_.publish(std::move(snapshot));
}

}  // namespace shardproxy::proxy
