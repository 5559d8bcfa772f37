#include "shardproxy/proxy/pool.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "shardproxy/common/logging.h"

namespace shardproxy::proxy {

namespace {
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
}

Pool::Pool(asio::any_io_executor ex, PoolConfig config, BackendOptions backendOptions,
           std::size_t threads)
    : ex_(ex),
      config_(config),
      backendOptions_(backendOptions),
      maxPerThread_(std::max<std::size_t>(1, (config.maxConnections + threads - 1) / threads)),
      maintenanceTimer_(ex) {}

std::size_t Pool::idleConnections() const {
  std::size_t n = 0;
  for (const auto& [k, v] : idle_)
    n += v.size();
  return n;
}

std::map<std::string, Pool::BackendUse> Pool::perBackend() const {
  std::map<std::string, BackendUse> out;
  for (const auto& [address, b] : perBackend_) {
    BackendUse& u = out[address];
    u.open = b.open;
    u.waiting = b.waiters.size();
  }
  for (const auto& [key, conns] : idle_)
    out[std::get<0>(key)].idle += conns.size();
  return out;
}

bool Pool::usable(BackendConnection& conn) {
  return !conn.peerClosed();
}

asio::awaitable<Result<std::unique_ptr<BackendConnection>>> Pool::acquire(
    const catalog::Endpoint& target, const BackendLogin& login) {
  const std::string backend = target.toString();
  Key key = keyOf(backend, login);
  auto deadline = std::chrono::steady_clock::now() + config_.acquireTimeout;
  while (true) {
    if (closing_) co_return Error::make(ErrorCode::kShuttingDown, "The proxy is shutting down");
    auto it = idle_.find(key);
    while (it != idle_.end() && !it->second.empty()) {
      std::unique_ptr<BackendConnection> conn = std::move(it->second.back());
      it->second.pop_back();
      if (!usable(*conn)) {
        closed(backend);
        ++stats_.closed;
        continue;
      }
      auto idleFor = std::chrono::steady_clock::now() - conn->idleSince;
      if (idleFor > config_.pingAfterIdle) {
        Status st = co_await conn->command(protocol::Command::kPing, {});
        if (!st) {
          ++stats_.pingFailures;
          closed(backend);
          continue;
        }
      }
      ++stats_.reused;
      co_return std::move(conn);
    }
    PerBackend& pb = perBackend_[backend];
    if (pb.open < maxPerThread_) {
      ++pb.open;
      logins_.try_emplace(key, target, login);
      auto conn = co_await BackendConnection::connect(ex_, target, login, backendOptions_);
      if (!conn) {
        closed(backend);
        co_return conn.takeError();
      }
      ++stats_.created;
      co_return std::move(*conn);
    }
    // At the limit: wait for a release or the acquire timeout.
    if (std::chrono::steady_clock::now() >= deadline) {
      ++stats_.timeouts;
      co_return Error::make(
          ErrorCode::kPoolExhausted,
          fmt::format("No connection to backend '{}' became free within {} ms (pool max {})",
                      backend, config_.acquireTimeout.count(), config_.maxConnections));
    }
    ++stats_.waits;
    asio::steady_timer waiter(ex_);
    waiter.expires_at(deadline);
    pb.waiters.push_back(&waiter);
    co_await waiter.async_wait(kAwait);
    std::erase(pb.waiters, &waiter);
  }
}

void Pool::closed(const std::string& backend) {
  PerBackend& pb = perBackend_[backend];
  if (pb.open > 0) --pb.open;
  if (!pb.waiters.empty()) {
    pb.waiters.front()->cancel();
    pb.waiters.pop_front();
  }
}

void Pool::release(std::unique_ptr<BackendConnection> conn) {
  if (!conn) return;
  const std::string backend = conn->address();
  bool stale = false;
  if (!retiredBelow_.empty()) {
    auto r = retiredBelow_.find(backend);
    stale = r != retiredBelow_.end() && conn->serial() < r->second;
  }
  if (conn->broken || conn->dirtyCaps || closing_ || stale) {
    ++stats_.closed;
    conn->channel().stream().close();
    closed(backend);
    return;
  }
  asio::co_spawn(ex_, resetAndKeep(std::move(conn)), asio::detached);
}

asio::awaitable<void> Pool::resetAndKeep(std::unique_ptr<BackendConnection> conn) {
  const std::string backend = conn->address();
  // COM_RESET_CONNECTION (one round trip) keeps the connection's current database, whatever it
  // is now: the next borrower's syncState sets its own (COM_INIT_DB), or clears it with
  // COM_CHANGE_USER when it has none.
  Status st = co_await conn->resetSession(false);
  bool stale = false;  // a SET GLOBAL passed meanwhile (retireOlder)
  if (auto r = retiredBelow_.find(backend); r != retiredBelow_.end()) {
    stale = conn->serial() < r->second;
  }
  if (!st || closing_ || stale) {
    ++stats_.closed;
    conn->channel().stream().close();
    closed(backend);
    co_return;
  }
  conn->syncedVersion = 0;
  if (!conn->schema.empty()) conn->schema = BackendConnection::kSchemaUnknown;
  conn->idleSince = std::chrono::steady_clock::now();
  Key key = keyOf(backend, conn->login());
  idle_[key].push_back(std::move(conn));
  PerBackend& pb = perBackend_[backend];
  if (!pb.waiters.empty()) {
    pb.waiters.front()->cancel();
    pb.waiters.pop_front();
  }
}

void Pool::startMaintenance() {
  asio::co_spawn(ex_, maintain(), asio::detached);
}

asio::awaitable<void> Pool::maintain() {
  auto log = moduleLogger("proxy");
  while (!closing_) {
    maintenanceTimer_.expires_after(std::chrono::seconds(1));
    co_await maintenanceTimer_.async_wait(kAwait);
    if (closing_) break;
    auto now = std::chrono::steady_clock::now();
    for (auto& [key, conns] : idle_) {
      const std::string& backend = std::get<0>(key);
      // Oldest first; keep minIdle of the freshest.
      while (conns.size() > config_.minIdle && !conns.empty() &&
             now - conns.front()->idleSince > config_.idleTimeout) {
        conns.front()->channel().stream().close();
        conns.erase(conns.begin());
        ++stats_.closed;
        closed(backend);
      }
      std::erase_if(conns, [&](const std::unique_ptr<BackendConnection>& c) {
        if (usable(*c)) return false;
        ++stats_.closed;
        closed(backend);
        return true;
      });
    }
    // Refill minIdle for logins already used, so a burst finds warm connections.
    if (config_.minIdle > 0) {
      for (auto& [key, entry] : logins_) {
        const std::string& backend = std::get<0>(key);
        auto& conns = idle_[key];
        if (conns.size() >= config_.minIdle || perBackend_[backend].open >= maxPerThread_) continue;
        ++perBackend_[backend].open;
        auto conn =
            co_await BackendConnection::connect(ex_, entry.first, entry.second, backendOptions_);
        if (!conn) {
          closed(backend);
          log->warn("pool: could not refill min_idle for backend '{}': {}", backend,
                    conn.error().message);
          continue;
        }
        ++stats_.created;
        idle_[key].push_back(std::move(*conn));
      }
    }
  }
}

void Pool::retire(const std::vector<std::string>& addresses) {
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    const std::string& backend = std::get<0>(it->first);
    if (std::find(addresses.begin(), addresses.end(), backend) == addresses.end()) continue;
    for (auto& c : it->second) {
      c->channel().stream().close();
      ++stats_.closed;
      closed(backend);
    }
    it->second.clear();
  }
  std::erase_if(logins_, [&](const auto& entry) {
    return std::find(addresses.begin(), addresses.end(), std::get<0>(entry.first)) !=
           addresses.end();
  });
}

void Pool::retireOlder(const std::string& address, std::uint64_t serial) {
  std::uint64_t& below = retiredBelow_[address];
  below = std::max(below, serial);
  for (auto& [key, conns] : idle_) {
    if (std::get<0>(key) != address) continue;
    std::erase_if(conns, [&](std::unique_ptr<BackendConnection>& c) {
      if (c->serial() >= below) return false;
      c->channel().stream().close();
      ++stats_.closed;
      closed(address);
      return true;
    });
  }
}

void Pool::closeAll() {
  closing_ = true;
  maintenanceTimer_.cancel();
  for (auto& [key, conns] : idle_) {
    for (auto& c : conns) {
      // Polite COM_QUIT is skipped: closing the socket is enough for the server.
      c->channel().stream().close();
    }
    conns.clear();
  }
  for (auto& [address, pb] : perBackend_) {
    for (auto* w : pb.waiters)
      w->cancel();
    pb.waiters.clear();
  }
}

}  // namespace shardproxy::proxy
