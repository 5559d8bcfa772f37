// The two-phase commit recovery pass (docs/transactions.md): finishes the prepared XA branches that
// a proxy died (or hung) with between XA PREPARE and XA COMMIT, by the decision log.
// Place in the request flow: off it entirely. Its own thread runs a pass at start, every interval
// and when nudged (a session whose XA COMMIT failed): on each serving primary, as the DBA account,
// XA RECOVER; for every branch whose id carries this catalog's prefix, the log decides —
// 'commit' → XA COMMIT, 'rollback' or no row → XA ROLLBACK, 'prepare' → left to its owner unless
// older than the abandon time (then swapped to 'rollback' and rolled back). Decided rows whose
// branches are all gone are forgotten. Replicas are never touched (their prepared branches come
// from the primary's binlog).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "shardproxy/catalog/decision_log.h"
#include "shardproxy/catalog/snapshot.h"

namespace shardproxy::proxy {

struct TwoPcRecoveryOptions {
  std::string dbaUser;
  std::string dbaPassword;
  std::string xidPrefix;  // "sp-<catalog id>-": only these XA ids are ours
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds abandonAfter{10000};
};

struct TwoPcRecoveryReport {
  std::size_t committed = 0;
  std::size_t rolledBack = 0;
  std::size_t inFlight = 0;     // 'prepare' rows younger than the abandon time
  std::size_t unreachable = 0;  // primaries that could not be asked
  std::size_t errors = 0;       // XA COMMIT / ROLLBACK that failed (tried again next pass)
};

class TwoPcRecovery {
 public:
  TwoPcRecovery(std::function<catalog::SnapshotPtr()> snapshot, catalog::DecisionLog& log,
                TwoPcRecoveryOptions options);
  ~TwoPcRecovery();
  TwoPcRecovery(const TwoPcRecovery&) = delete;
  TwoPcRecovery& operator=(const TwoPcRecovery&) = delete;

  void start();
  void stop();
  // Run a pass soon (any thread).
  void nudge();
  // One pass, on the calling thread (blocking).
  TwoPcRecoveryReport runOnce();

 private:
  void loop();

  std::function<catalog::SnapshotPtr()> snapshot_;
  catalog::DecisionLog& log_;
  TwoPcRecoveryOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool nudged_ = false;
  std::thread thread_;
};

}  // namespace shardproxy::proxy
