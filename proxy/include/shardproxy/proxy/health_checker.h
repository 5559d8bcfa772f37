// Backend health and replication lag, checked off the session threads.
// Place in the request flow: each interval a HealthChecker round probes every server of the
// current catalog snapshot concurrently, one thread per server (a dead host's timeout delays no
// other check): it logs in and reads read_only and the GTID position (primaries), plus SHOW SLAVE
// STATUS (replicas). A change of state is damped (`fall` failures in a row to go down, `rise`
// successes to come back) and published as a router::HealthTable; a session loads it with
// health() (one atomic load) and passes it to router::chooseBackend() for a replica read. A
// primary's failed probes are also reported to `onPrimary` (the HA manager's failover trigger).
// status() gives the details SHOW BACKENDS shows. The checks are blocking libmariadb calls,
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
  // Consecutive failed probes before a backend counts as down, successes before it is up again.
  int fall = 3;
  int rise = 2;
};

// The damping rule: the state after one more probe, given the consecutive failures and
// successes counted so far (this probe included). Exposed for tests.
bool dampedUp(bool wasUp, int failures, int successes, int fall, int rise);
// Transactions that the GTID position `ahead` has and `behind` lacks, summed over domains.
std::uint64_t gtidTransactionsMissing(std::string_view ahead, std::string_view behind);

// What SHOW BACKENDS shows about one server (per host:port).
struct BackendStatus {
  bool up = false;  // damped, as routing sees it
  bool lagKnown = false;
  std::uint32_t lagSeconds = 0;
  std::optional<bool> readOnly;
  std::string gtid;                         // primary: gtid_binlog_pos; replica: gtid_current_pos
  std::optional<std::uint64_t> gtidBehind;  // replica: transactions its primary has and it lacks
  std::string lastError;                    // of the last failed probe
  std::chrono::system_clock::time_point lastChange;  // of `up`
  int failures = 0;                                  // consecutive
  int successes = 0;
};

// What one check of one backend found; problem says why it is down (empty when up).
struct HealthObservation {
  router::BackendHealth health;
  std::string problem;
  std::optional<bool> readOnly;
  std::string gtid;
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
  // Called on a probe thread after each probe of a server that is a primary: failures in a row
  // (0 = it answered), the threshold (fall) and the last problem.
  using PrimaryListener =
      std::function<void(const catalog::Endpoint&, int failures, int fall, const std::string&)>;

  // `snapshots` is called on the checker's thread once per round (e.g. SharedState::snapshot).
  HealthChecker(SnapshotSource snapshots, HealthCheckOptions options);
  ~HealthChecker();  // stop()
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Before start().
  void setPrimaryListener(PrimaryListener listener) { onPrimary_ = std::move(listener); }
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
  // Per server (host:port), as last probed.
  std::unordered_map<std::string, BackendStatus> status() const;
  // Completed rounds, for tests and metrics.
  std::uint64_t rounds() const { return rounds_.load(std::memory_order_acquire); }

 private:
  void run();
  bool stopRequested();
  void checkRound();
  void publish(std::shared_ptr<router::HealthTable> next);
  // Applies one server's probe: damping, status, logs, the health table rows of every backend
  // row of the server (a server shared by keyspaces is one row per keyspace).
  void record(const std::string& server, const std::vector<const catalog::Backend*>& rows,
              const HealthObservation& o);

  SnapshotSource snapshots_;
  HealthCheckOptions options_;
  std::atomic<std::shared_ptr<const router::HealthTable>> table_;
  std::atomic<std::uint64_t> rounds_{0};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;

  PrimaryListener onPrimary_;
  // One connection per server, kept between rounds; each round's probe threads use their own.
  std::unordered_map<std::string, std::unique_ptr<BackendProbe>> probes_;
  mutable std::mutex statusMu_;  // status_, and the table's copy-change-store
  std::unordered_map<std::string, BackendStatus> status_;
};

}  // namespace shardproxy::proxy
