// Backend health and replication lag, checked off the session threads.
// Place in the request flow: a HealthChecker's own thread logs in to every backend of the current
// catalog snapshot each interval (SELECT 1 on primaries, SHOW SLAVE STATUS on replicas) and
// publishes a router::HealthTable; a session loads it with health() (one atomic load) and passes
// it to router::chooseBackend() for a replica read. The checks are blocking libmariadb calls,
// which is why they never run on an io_context thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/router/backend_choice.h"

namespace shardproxy::proxy {

struct HealthCheckOptions {
  // The proxy's backend user, or a dedicated health-check user. On replicas it needs the SLAVE
  // MONITOR privilege (MariaDB 10.5+) for SHOW SLAVE STATUS, or every replica reads as down.
  std::string user;
  std::string password;
  std::chrono::milliseconds interval{1000};
  // Connect, and each query. libmariadb counts these in whole seconds, so they round up.
  std::chrono::milliseconds timeout{1000};
};

// What one check of one backend found; problem says why it is down (empty when up).
struct HealthObservation {
  router::BackendHealth health;
  std::string problem;
};

// A replica's SHOW SLAVE STATUS row: Slave_IO_Running, Slave_SQL_Running, Seconds_Behind_Master
// (nullopt = NULL). A replica is fit to read from only while both threads run and the lag is
// known. Exposed for tests.
HealthObservation replicaHealth(std::string_view ioRunning, std::string_view sqlRunning,
                                std::optional<std::string_view> secondsBehindMaster);

class BackendProbe;

class HealthChecker {
 public:
  using SnapshotSource = std::function<catalog::SnapshotPtr()>;

  // `snapshots` is called on the checker's thread once per round (e.g. SharedState::snapshot).
  HealthChecker(SnapshotSource snapshots, HealthCheckOptions options);
  ~HealthChecker();  // stop()
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Starts the thread; the first round runs at once.
  void start();
  // Wakes the thread and joins it. A check already blocked in libmariadb finishes first (its
  // connect and query timeouts bound it). Idempotent; the last published table stays readable.
  void stop();

  // Never null. A backend enters it when its first check ends; until then it is not a fit replica
  // and its reads go to the primary. Each change is published as soon as it is seen, with a new
  // version. Any thread may call it.
  std::shared_ptr<const router::HealthTable> health() const {
    return table_.load(std::memory_order_acquire);
  }
  // Completed rounds, for tests and metrics.
  std::uint64_t rounds() const { return rounds_.load(std::memory_order_acquire); }

 private:
  struct Seen {
    bool up = true;
    bool lagging = false;
  };

  void run();
  bool stopRequested();
  void checkRound();
  void publish(std::shared_ptr<router::HealthTable> next);
  HealthObservation check(const catalog::Backend& backend);
  void report(const catalog::Backend& backend, const HealthObservation& observation);

  SnapshotSource snapshots_;
  HealthCheckOptions options_;
  std::atomic<std::shared_ptr<const router::HealthTable>> table_;
  std::atomic<std::uint64_t> rounds_{0};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;

  // Touched by the checker thread only: one connection per backend id, and what was last logged.
  std::unordered_map<std::int64_t, std::unique_ptr<BackendProbe>> probes_;
  std::unordered_map<std::int64_t, Seen> seen_;
};

}  // namespace shardproxy::proxy
