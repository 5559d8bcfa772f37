// The proxy process: one io_context per thread, each with its own SO_REUSEPORT acceptor, pool
// and sessions, so a client and its backend connections never cross threads.
// Place in the request flow: accepts TCP connections and spawns one ClientSession coroutine per
// connection; SIGTERM/SIGINT stop accepting, let running statements finish within the grace
// period, then run() returns 0.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "shardproxy/catalog/topology.h"
#include "shardproxy/proxy/authenticator.h"
#include "shardproxy/proxy/config.h"
#include "shardproxy/proxy/pool.h"
#include "shardproxy/proxy/tls.h"

namespace shardproxy::proxy {

class ClientSession;
struct ThreadContext;

// What every session on every thread shares; immutable after start except the atomics and the
// mutex-guarded fast-auth cache (touched only at login).
struct SharedState {
  Config config;
  catalog::TopologyPtr topology;
  std::unique_ptr<TlsMaterial> tls;
  ServerIdentity identity;  // what the app port presents (version, capabilities, auth plugin)
  FastAuthCache fastAuth;
  std::atomic<std::uint32_t> nextConnectionId{1};
  std::atomic<std::size_t> clientConnections{0};

  // Every authenticated session by proxy connection id, for KILL <id> (any thread).
  struct SessionEntry {
    ThreadContext* thread = nullptr;
    ClientSession* session = nullptr;
    std::string user;
  };
  void registerSession(std::uint32_t id, SessionEntry entry);
  void unregisterSession(std::uint32_t id);
  // Runs fn(entry*) under the registry lock; entry is null when the id is unknown.
  template <typename Fn>
  auto withSession(std::uint32_t id, Fn&& fn) {
    std::lock_guard lock(registryMutex_);
    auto it = registry_.find(id);
    return fn(it == registry_.end() ? nullptr : &it->second);
  }

  // Application accounts (stored hashes) by user name.
  const AccountLookup& appAccounts() const { return appAccounts_; }
  void setAppAccounts(AccountLookup lookup) { appAccounts_ = std::move(lookup); }

 private:
  std::mutex registryMutex_;
  std::unordered_map<std::uint32_t, SessionEntry> registry_;
  AccountLookup appAccounts_;
};

struct ThreadContext {
  ThreadContext(SharedState& shared, std::size_t threads);
  // One thread runs this context and every socket stays on it, so the reactor's per-descriptor
  // locks are dropped (UNSAFE_IO); the scheduler keeps its lock for posts from other threads.
  boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  SharedState& shared;
  Pool pool;
  std::set<ClientSession*> sessions;
  bool shuttingDown = false;
};

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  // Blocks until shutdown; returns the process exit code.
  int run();

 private:
  Status prepare();

  SharedState shared_;
  std::vector<std::unique_ptr<ThreadContext>> threads_;
};

}  // namespace shardproxy::proxy
