// The cutover (and its mirror, REVERSE): hold the keyspace's statements in the proxy, fence the
// serving side at the MySQL servers themselves (read_only, so a second proxy or a client that
// bypasses this one cannot write there afterwards), let the other side apply the serving side's
// last transaction, switch the serving shards in one catalog transaction, release. Past the
// DBA's pause budget every step is undone and the held statements go to the old shards.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "migration_log.h"
#include "runner.h"

namespace shardproxy::migrations {

using Clock = std::chrono::steady_clock;
using catalog::MigrationPhase;

namespace {

std::uint32_t secondsLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count();
  return static_cast<std::uint32_t>(std::max<std::int64_t>(1, left + 1));
}

}  // namespace

Status Runner::recoverInterruptedCutover(const catalog::Migration& m) {
  // The switch is one catalog transaction: if it had committed, the phase would say so. So the
  // serving side is still the one that was fenced: unfence it.
  const auto& serving = m.switched ? m.targets : m.sources;
  logWith(*log::migrations(), spdlog::level::warn, log::migrationFields(id_, m.keyspace),
          "migration {}: a cutover was interrupted (restart); unfencing {}", id_,
          fmt::join(serving, ", "));
  auto snap = catalog_->snapshot();
  if (!snap) return snap.takeError();
  if (Status s = prepare(m, **snap); !s) return s;
  if (Status s = setReadOnly(ctx_->from, false, 5); !s) return s;
  catalog::MigrationUpdate u;
  u.phase = MigrationPhase::kReplicating;
  u.clearRequest = true;
  u.lastError = "a cutover was interrupted by a restart; the source was unfenced and keeps serving";
  Status s = update(u);
  // Held since the manager started (MigrationManager::start): statements may go on now.
  gate_.release(m.keyspace);
  return s;
}

Status Runner::cutover(const catalog::Migration& m, std::uint32_t timeoutMs) {
  const bool toTargets = !m.switched;
  auto refuse = [&](std::string why) {
    catalog::MigrationUpdate u;
    u.clearRequest = true;
    u.lastError = std::move(why);
    return update(u);
  };
  if (m.phase != MigrationPhase::kReplicating) {
    return refuse("cutover refused: the copy is not finished (phase " +
                  std::string(catalog::toString(m.phase)) + ")");
  }
  if (toTargets && m.verifyState != "ok") {
    return refuse("cutover refused: verification is '" + m.verifyState + "'" +
                  (m.verifyDetail.empty() ? "" : " (" + m.verifyDetail + ")") +
                  "; run VERIFY MIGRATION " + std::to_string(id_));
  }
  for (std::size_t i = 0; i < ctx_->progress.size(); ++i) {
    std::lock_guard lock(ctx_->progress[i]->mu);
    if (!ctx_->progress[i]->healthy) {
      return refuse("cutover refused: the binlog stream from " + ctx_->from[i].name +
                    " is not running (" + ctx_->progress[i]->error + ")");
    }
  }
  {
    catalog::MigrationUpdate u;
    u.phase = MigrationPhase::kCuttingOver;
    u.countCutoverAttempt = true;
    if (Status s = update(u); !s) return s;
  }
  ctx_->flushNow = true;
  const auto holdStart = Clock::now();
  const auto deadline = holdStart + std::chrono::milliseconds(timeoutMs);
  std::string failure;
  bool fenced = false;
  if (!gate_.hold(ctx_->keyspace, deadline)) {
    failure = "statements or transactions on the keyspace were still running";
  }
  if (failure.empty()) {
    Status s = setReadOnly(ctx_->from, true, secondsLeft(deadline));
    fenced = true;  // partly, perhaps: unfence in any case on failure
    if (!s) failure = "fencing the source failed: " + s.error().message;
  }
  if (failure.empty() && !waitCaughtUp(deadline)) {
    std::uint64_t behind = 0;
    for (auto& p : ctx_->progress) {
      std::lock_guard lock(p->mu);
      behind += p->lagEvents;
    }
    failure =
        fmt::format("the other side did not catch up in time ({} transactions behind)", behind);
  }
  std::vector<catalog::MigrationStream> streams;
  if (failure.empty()) {
    // The side about to serve: writable (a reverse unfences the old sources), and where its
    // own binlog stands now, which is where replication in the new direction starts.
    if (Status s = setReadOnly(ctx_->to, false, secondsLeft(deadline)); !s) {
      failure = "unfencing the new serving side failed: " + s.error().message;
    }
    for (const ShardSide& t : ctx_->to) {
      if (!failure.empty()) break;
      BlockingClient c;
      auto pos = connectWorker(c, ctx_->login(t.primary))
                     ? c.scalar("SELECT @@gtid_binlog_pos")
                     : Result<std::optional<std::string>>(Error::make(
                           ErrorCode::kBackendUnreachable, "cannot reach " + t.primary.label()));
      if (!pos) {
        failure = pos.error().message;
        break;
      }
      catalog::MigrationStream st;
      st.direction = toTargets ? "reverse" : "forward";
      st.shard = t.name;
      st.gtidPosition = pos->value_or("");
      streams.push_back(st);
    }
  }
  if (failure.empty() && Clock::now() >= deadline) failure = "the pause budget ran out";
  if (failure.empty()) {
    catalog::ChangeContext cc{"migration " + std::to_string(id_),
                              toTargets ? "CUTOVER MIGRATION" : "REVERSE MIGRATION"};
    if (Status s = catalog_->switchMigration(id_, toTargets, streams, cc); !s) {
      failure = "switching the catalog failed: " + s.error().message;
    } else if (auto snap = catalog_->snapshot()) {
      gate_.publish(*snap);
    }
  }
  if (!failure.empty()) {
    if (fenced) (void)setReadOnly(ctx_->from, false, 5);
    gate_.release(ctx_->keyspace);
    ctx_->flushNow = false;
    const auto pauseMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - holdStart).count();
    logWith(*log::migrations(), spdlog::level::warn,
            log::migrationFields(id_, ctx_ ? std::string_view(ctx_->keyspace) : std::string_view()),
            "migration {}: cutover aborted after {} ms: {}", id_, pauseMs, failure);
    catalog::MigrationUpdate u;
    u.phase = MigrationPhase::kReplicating;
    u.clearRequest = true;
    u.lastPauseMs = pauseMs;
    u.lastError = fmt::format(
        "cutover aborted after {} ms (budget {} ms): {}; writes went back "
        "to the old shards",
        pauseMs, timeoutMs, failure);
    return update(u);
  }
  gate_.release(ctx_->keyspace);
  const auto pauseMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - holdStart).count();
  logWith(*log::migrations(), spdlog::level::info,
          log::migrationFields(id_, ctx_ ? std::string_view(ctx_->keyspace) : std::string_view()),
          "migration {}: {} done, writes paused {} ms", id_, toTargets ? "cutover" : "reverse",
          pauseMs);
  catalog::MigrationUpdate u;
  u.lastPauseMs = pauseMs;
  u.lastError = "";
  return update(u);
}

}  // namespace shardproxy::migrations
