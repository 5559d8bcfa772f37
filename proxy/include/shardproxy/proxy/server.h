// The proxy process: one io_context per thread for applications, each with its own SO_REUSEPORT
// acceptor, pool and sessions (a client and its backend connections never cross threads), plus
// one admin thread for the admin port, where catalog changes (blocking SQLite) are allowed.
// Place in the request flow: accepts TCP connections and spawns one session coroutine per
// connection; publishes catalog snapshots; SIGTERM/SIGINT stop accepting, let running statements
// finish within the grace period, then run() returns 0.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "shardproxy/catalog/catalog.h"
#include "shardproxy/catalog/decision_log.h"
#include "shardproxy/common/logging.h"
#include "shardproxy/migrations/ha.h"
#include "shardproxy/proxy/admin_executor.h"
#include "shardproxy/proxy/authenticator.h"
#include "shardproxy/proxy/batch_send.h"
#include "shardproxy/proxy/config.h"
#include "shardproxy/proxy/digests.h"
#include "shardproxy/proxy/health_checker.h"
#include "shardproxy/proxy/keyspace_gate.h"
#include "shardproxy/proxy/merge_engine.h"
#include "shardproxy/proxy/metrics.h"
#include "shardproxy/proxy/pool.h"
#include "shardproxy/proxy/schema_tracker.h"
#include "shardproxy/proxy/sequence_cache.h"
#include "shardproxy/proxy/tls.h"
#include "shardproxy/proxy/twopc_recovery.h"

namespace shardproxy::proxy {

class ClientSession;
struct ThreadContext;

// What every session on every thread shares. Sessions read the catalog only through snapshot();
// the admin thread is the only writer of the catalog.
bool isAdminExplainRoute(std::string_view sql);

struct SharedState {
  Config config;
  std::unique_ptr<TlsMaterial> tls;
  ServerIdentity identity;       // the application port
  ServerIdentity adminIdentity;  // the admin port
  FastAuthCache fastAuth;
  FastAuthCache adminFastAuth;
  std::atomic<std::uint32_t> nextConnectionId{1};
  std::atomic<std::size_t> clientConnections{0};
  // The admin port's connections, statements and errors (/metrics, listener="admin").
  metrics::AdminMetrics adminMetrics;
  std::atomic<bool> shuttingDown{false};
  std::vector<ThreadContext*> threads;

  catalog::SnapshotPtr snapshot() const { return snapshot_.load(std::memory_order_acquire); }
  // The published snapshot's version: one plain atomic load, for sessions to notice a change.
  std::uint64_t snapshotVersion() const { return snapshotVersion_.load(std::memory_order_acquire); }
  // Swaps in a new snapshot and tells every thread's pool which backends stopped serving.
  void publish(catalog::SnapshotPtr next);
  // A SET GLOBAL succeeded on `address`: every thread's pool retires the connections to it that
  // logged in before (they hold the old values of the globals a session copies at login).
  void retireConnectionsTo(const std::string& address);

  // Backend health for replica reads; null (every backend counted healthy) when no health
  // checker runs (no credentials for it).
  std::shared_ptr<const router::HealthTable> health() const {
    return healthChecker ? healthChecker->health() : nullptr;
  }
  std::unique_ptr<HealthChecker> healthChecker;
  // The tables' columns of the sharded keyspaces (null without a DBA account to read them).
  std::unique_ptr<SchemaTracker> schemaTracker;

  // The hold/release buffer (cutovers), and the resharding workers that use it.
  KeyspaceGate gate{*this};
  // This proxy's blocks of global-sequence values (generated keys), reserved in the catalog.
  std::unique_ptr<SequenceCache> sequences;
  std::unique_ptr<migrations::MigrationManager> migrations;
  // Switchover and automatic failover (null without a dba_user).
  std::unique_ptr<migrations::HaManager> ha;

  // Multi-shard transactions in mode 'twopc' (docs/transactions.md): the decision log (null when
  // it could not be opened: such a transaction then fails at COMMIT, rolled back everywhere), the
  // XA ids' prefix "sp-<catalog id>-<process tag>-", a counter, the thread that runs SQLite for
  // sessions, and the recovery pass (null without a dba_user).
  std::unique_ptr<catalog::DecisionLog> decisions;
  std::string xidPrefix;
  std::atomic<std::uint64_t> nextXid{1};
  boost::asio::thread_pool blocking{1};
  std::unique_ptr<TwoPcRecovery> twopcRecovery;

  // Runs one admin statement against the catalog (admin thread only) and publishes on change.
  AdminResult runAdmin(std::string_view sql, const std::string& who, bool& changed);
  // EXPLAIN ROUTE [IN schema] <statement> (admin_explain.cpp): read-only, any thread.
  AdminResult explainRoute(std::string_view sql);
  // Every migration the catalog records (under the admin lock: the catalog is one SQLite
  // connection); for /metrics.
  std::vector<catalog::Migration> migrationsNow();
  // Every application thread's query digests added up (each copied on its thread; 1 s at most
  // per thread), and how many the tables evicted; resetDigests() empties them.
  std::pair<std::vector<Digest>, std::uint64_t> collectDigests();
  void resetDigests();
  void setCatalog(std::unique_ptr<catalog::Catalog> c) { catalog_ = std::move(c); }
  catalog::Catalog* catalogPtr() { return catalog_.get(); }

  // Application accounts come from the current snapshot; admin accounts from the config.
  const AccountLookup& appAccounts() const { return appAccounts_; }
  const AccountLookup& adminAccounts() const { return adminAccounts_; }
  void setAccountLookups(AccountLookup app, AccountLookup admin) {
    appAccounts_ = std::move(app);
    adminAccounts_ = std::move(admin);
  }

  // Every authenticated session by proxy connection id, for KILL <id> (any thread).
  struct SessionEntry {
    ThreadContext* thread = nullptr;
    ClientSession* session = nullptr;
    std::string user;
    catalog::Endpoint backend;  // the backend connection it holds, if backendThread != 0
    std::uint32_t backendThread = 0;
    std::string host;  // the client's address, "ip:port" (PROCESSLIST's HOST)
  };
  void registerSession(std::uint32_t id, SessionEntry entry);
  void unregisterSession(std::uint32_t id);
  // Runs fn(entry*) under the registry lock; entry is null when the id is unknown.
  // Runs fn(id, entry) for every session under the registry lock.
  template <typename Fn>
  void forEachSession(Fn&& fn) {
    std::lock_guard lock(registryMutex_);
    for (const auto& [id, entry] : registry_)
      fn(id, entry);
  }
  std::size_t sessionCount() {
    std::lock_guard lock(registryMutex_);
    return registry_.size();
  }
  template <typename Fn>
  auto withSession(std::uint32_t id, Fn&& fn) {
    std::lock_guard lock(registryMutex_);
    auto it = registry_.find(id);
    return fn(it == registry_.end() ? nullptr : &it->second);
  }

 private:
  std::atomic<catalog::SnapshotPtr> snapshot_;
  std::atomic<std::uint64_t> snapshotVersion_{0};
  std::unique_ptr<catalog::Catalog> catalog_;
  std::mutex adminMutex_;
  AccountLookup appAccounts_;
  AccountLookup adminAccounts_;
  std::mutex registryMutex_;
  std::unordered_map<std::uint32_t, SessionEntry> registry_;
};

struct ThreadContext {
  ThreadContext(SharedState& shared, std::size_t threads);
  // Counted by this thread's sessions only; /metrics reads a copy made on this thread.
  metrics::ThreadMetrics metrics;
  // This thread's query digests (SHOW QUERY DIGEST reads copies made on this thread).
  DigestTable digests;
  // Which statements get a first, smaller ask over several shards (merge_engine.h).
  FirstAskGuard firstAsks;
  // A statement's commands to several shards, sent in one system call (batch_send.h).
  BatchSender batchSender;
  // Statement-error log lines (--log-statement-errors) this thread may write: 20 a second.
  shardproxy::LogThrottle errorLog{20};
  // One thread runs this context and every socket stays on it, so the reactor's per-descriptor
  // locks are dropped (UNSAFE_IO); the scheduler keeps its lock for posts from other threads.
  boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  SharedState& shared;
  Pool pool;
  std::set<ClientSession*> sessions;
  bool shuttingDown = false;
};

// Runs fn(ThreadContext&) on every application thread (posted to its io_context, so it sees that
// thread's state without a lock) and returns the results of the threads that answered within
// `wait`; `missing` counts the others. Call it from the admin or HTTP thread, never from an
// application thread (it would wait for itself).
template <typename Fn>
auto onEveryThread(SharedState& shared, Fn fn, std::uint64_t* missing = nullptr,
                   std::chrono::milliseconds wait = std::chrono::seconds(1)) {
  using R = std::invoke_result_t<Fn&, ThreadContext&>;
  std::vector<R> out;
  for (ThreadContext* t : shared.threads) {
    auto promise = std::make_shared<std::promise<R>>();
    auto result = promise->get_future();
    boost::asio::post(t->io, [t, promise, fn]() mutable { promise->set_value(fn(*t)); });
    if (result.wait_for(wait) != std::future_status::ready) {
      if (missing != nullptr) ++*missing;
      continue;
    }
    out.push_back(result.get());
  }
  return out;
}

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  // Blocks until shutdown; returns the process exit code.
  int run();
  // --dump-catalog: opens the catalog (bootstrapping it if empty), prints it as JSON.
  static int dumpCatalog(const Config& config);

 private:
  Status prepare();
  Status openCatalog();

  SharedState shared_;
  std::vector<std::unique_ptr<ThreadContext>> threads_;
};

}  // namespace shardproxy::proxy
