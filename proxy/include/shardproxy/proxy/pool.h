// Backend connection pools, one per event-loop thread (no locks: a client and the backend
// connections it uses stay on one thread).
// Place in the request flow: a session calls acquire() when a statement needs a backend and
// release() when it is done with it (session end, COM_CHANGE_USER). A released connection is
// reset (COM_RESET_CONNECTION) before anyone else can get it; a connection idle longer than
// pingAfterIdle is pinged before reuse; idle connections beyond minIdle close after idleTimeout.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/proxy/backend_connection.h"
#include "shardproxy/proxy/config.h"

namespace shardproxy::proxy {

struct PoolStats {
  std::uint64_t created = 0;
  std::uint64_t reused = 0;
  std::uint64_t closed = 0;
  std::uint64_t pingFailures = 0;
  std::uint64_t waits = 0;
  std::uint64_t timeouts = 0;
};

class Pool {
 public:
  Pool(asio::any_io_executor ex, PoolConfig config, BackendOptions backendOptions,
       std::size_t threads);

  asio::awaitable<Result<std::unique_ptr<BackendConnection>>> acquire(
      const catalog::Endpoint& backend, const BackendLogin& login);
  // Takes a connection back. Broken ones are closed; others are reset, then kept idle.
  void release(std::unique_ptr<BackendConnection> conn);
  // Closes idle connections to backends the catalog no longer lets serve (offline, draining,
  // dropped); called when a new snapshot is published.
  void retire(const std::vector<std::string>& addressesToClose);
  // After a SET GLOBAL on `address`: connections to it that logged in before (serial below
  // `serial`) copied the old global values, so idle ones close now and borrowed ones on release.
  void retireOlder(const std::string& address, std::uint64_t serial);

  void startMaintenance();
  void closeAll();
  const PoolStats& stats() const { return stats_; }
  std::size_t openConnections(const std::string& address) const {
    auto it = perBackend_.find(address);
    return it == perBackend_.end() ? 0 : it->second.open;
  }
  std::size_t idleConnections() const;
  // Per backend ("host:port"): connections open (idle + borrowed + being created), idle, and
  // borrowers waiting for one. For /metrics (run on the pool's thread).
  struct BackendUse {
    std::size_t open = 0;
    std::size_t idle = 0;
    std::size_t waiting = 0;
  };
  std::map<std::string, BackendUse> perBackend() const;

 private:
  using Key = std::tuple<std::string, std::string, std::uint8_t, std::uint32_t>;
  struct PerBackend {
    std::size_t open = 0;  // idle + borrowed + being created
    std::deque<asio::steady_timer*> waiters;
  };
  static Key keyOf(const std::string& address, const BackendLogin& login) {
    return {address, login.user, login.charset, login.sessionCaps};
  }
  bool usable(BackendConnection& conn);
  asio::awaitable<void> resetAndKeep(std::unique_ptr<BackendConnection> conn);
  void closed(const std::string& address);
  asio::awaitable<void> maintain();

  asio::any_io_executor ex_;
  PoolConfig config_;
  BackendOptions backendOptions_;
  std::size_t maxPerThread_;
  std::map<std::string, std::uint64_t> retiredBelow_;  // by "host:port": see retireOlder()
  std::map<std::string, PerBackend> perBackend_;       // by "host:port"
  std::map<Key, std::vector<std::unique_ptr<BackendConnection>>> idle_;
  std::map<Key, std::pair<catalog::Endpoint, BackendLogin>> logins_;  // to refill minIdle
  PoolStats stats_;
  bool closing_ = false;
  asio::steady_timer maintenanceTimer_;
};

}  // namespace shardproxy::proxy
