// Planned switchover and automatic failover of a primary (ha.h, docs/high-availability.md).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ha_impl.h"

namespace shardproxy::migrations {

Result<catalog::HaEvent> HaManager::Impl::switchover(const SwitchoverRequest& req) {
  std::unique_lock op(operationMu, std::try_to_lock);
  if (!op.owns_lock()) {
    return Error::make(ErrorCode::kMigration,
                       "another switchover or failover is running; try again when it ends");
  }
  auto cat = openCatalog();
  if (!cat) return cat.takeError();
  auto snapR = (*cat)->snapshot();
  if (!snapR) return snapR.takeError();
  const catalog::Snapshot& snap = **snapR;
  const catalog::Shard* shard = nullptr;
  for (const auto& sh : snap.shards)
    if (sh.keyspace == req.keyspace && sh.name == req.shard) shard = &sh;
  if (shard == nullptr) {
    return Error::make(ErrorCode::kCatalogNotFound,
                       fmt::format("shard {}/{} does not exist", req.keyspace, req.shard));
  }
  if (!shard->primary) {
    return Error::make(ErrorCode::kCatalogInvariant,
                       fmt::format("shard {}/{} has no primary", req.keyspace, req.shard));
  }
  const catalog::Endpoint oldPrimary = snap.backends[*shard->primary].address;
  Group g = groupOf(snap, oldPrimary);
  // The candidate: named, or the healthy replica of every shard with the most advanced position.
  std::vector<ReplicaView> views;
  for (const auto& r : g.replicas)
    views.push_back(readReplica(r, 3));
  const ReplicaView* chosen = nullptr;
  std::string why;
  for (const auto& v : views) {
    std::string problem;
    if (!v.reachable) {
      problem = v.problem;
    } else if (!sameServer(v.source, oldPrimary)) {
      problem = fmt::format("it replicates from {}, not from {}", v.source.toString(),
                            oldPrimary.toString());
    } else if (!v.ioRunning || !v.sqlRunning) {
      problem = "its replication is not running";
    }
    if (req.candidate && v.address != *req.candidate) continue;
    if (!problem.empty()) {
      why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", v.address.toString(), problem);
      continue;
    }
    if (chosen == nullptr || transactionsMissing(v.currentPos, chosen->currentPos) > 0) {
      chosen = &v;
    }
  }
  if (req.candidate) {
    bool known = false;
    for (const auto& r : g.replicas)
      known = known || r == *req.candidate;
    if (!known) {
      return Error::make(
          ErrorCode::kCatalogInvariant,
          fmt::format("{} is not a replica of every shard {} leads ({}): a server has one role in "
                      "every keyspace it serves",
                      req.candidate->toString(), oldPrimary.toString(), fmt::join(g.labels, ", ")));
    }
  }
  if (chosen == nullptr) {
    return Error::make(ErrorCode::kBackendUnreachable,
                       fmt::format("no replica of {} can take over{}{}", fmt::join(g.labels, ", "),
                                   why.empty() ? "" : ": ", why));
  }
  const catalog::Endpoint candidate = chosen->address;

  catalog::HaEvent e;
  e.kind = "switchover";
  e.shards = fmt::format("{}", fmt::join(g.labels, ","));
  e.oldPrimary = oldPrimary.toString();
  e.newPrimary = candidate.toString();
  e.state = "running";
  e.startedMs = nowMs();
  auto id = (*cat)->recordHaEvent(e);
  if (!id) return id.takeError();
  e.id = *id;
  logWith(*log::migrations(), spdlog::level::info, haFields(g.shards),
          "ha: switchover of {} from {} to {}", e.shards, e.oldPrimary, e.newPrimary);

  // Connections first, so the pause holds only the work itself.
  BlockingClient old;
  if (Status s = old.connect(login(oldPrimary), 3); !s) {
    e.detail = "cannot reach the primary: " + s.error().message;
    finish(**cat, e, "failed", std::nullopt);
    return s.takeError();
  }
  const auto holdStart = Clock::now();
  const auto deadline = holdStart + req.timeout;
  const bool drained = gate.holdShards(g.shards, "is switching to a new primary",
                                       std::min(deadline, holdStart + req.drain));
  std::string failure;
  bool fenced = false;
  std::string oldGtid;
  if (Status s = old.execute(fmt::format("SET SESSION lock_wait_timeout = {}; SET GLOBAL "
                                         "read_only = ON",
                                         secondsLeft(deadline)));
      !s) {
    failure = "fencing the primary (read_only) failed: " + s.error().message;
  } else {
    fenced = true;
    // Transactions that outlived the drain, and anything connected around the proxy.
    if (Status k = killApplicationConnections(old); !k) {
      failure = "killing application connections failed: " + k.error().message;
    }
  }
  if (failure.empty()) {
    auto pos = old.scalar("SELECT @@gtid_binlog_pos");
    if (!pos) {
      failure = "reading the primary's position failed: " + pos.error().message;
    } else {
      oldGtid = pos->value_or("");
    }
  }
  e.oldGtid = oldGtid;
  bool semiSync = false;
  if (failure.empty()) {
    auto semi = old.scalar("SELECT @@rpl_semi_sync_master_enabled");
    semiSync = semi && semi->value_or("0") == "1";
  }
  if (failure.empty()) {
    BlockingClient c;
    Status s = c.connect(login(candidate), secondsLeft(deadline));
    auto waited = s ? c.scalar(fmt::format("SELECT MASTER_GTID_WAIT({}, {:.3f})", quoted(oldGtid),
                                           secondsLeftExact(deadline)))
                    : Result<std::optional<std::string>>(s.takeError());
    if (!waited) {
      failure = "waiting for the candidate failed: " + waited.error().message;
    } else if (waited->value_or("-1") != "0") {
      failure = fmt::format("{} did not apply {}'s position {} in time", candidate.toString(),
                            oldPrimary.toString(), oldGtid);
    }
  }
  if (failure.empty() && Clock::now() >= deadline) failure = "the time budget ran out";
  std::string newGtid;
  if (failure.empty()) {
    auto promoted = promote(candidate, secondsLeft(deadline), semiSync);
    if (!promoted) {
      failure = "promoting the candidate failed: " + promoted.error().message;
      // It may have stopped replicating: start it again, it is still a replica.
      (void)repoint(candidate, oldPrimary, false, {}, false);
    } else {
      newGtid = *promoted;
    }
  }
  if (!failure.empty()) {
    if (fenced) (void)old.execute("SET GLOBAL read_only = OFF");
    gate.releaseShards(g.shards);
    const auto pauseMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - holdStart).count();
    e.detail =
        fmt::format("aborted after {} ms, {} kept its role: {}", pauseMs, e.oldPrimary, failure);
    finish(**cat, e, "failed", pauseMs);
    logWith(*log::migrations(), spdlog::level::warn, haFields(g.shards), "ha: switchover of {} {}",
            e.shards, e.detail);
    return Error::make(ErrorCode::kMigration, "switchover " + e.detail);
  }
  e.newGtid = newGtid;
  // The catalog switches and the statements go on now; the replicas follow the new primary
  // afterwards (until then they serve reads as of the switch, as replicas that lag a little).
  std::vector<std::string> notes;
  if (!drained) notes.push_back("transactions still open after the drain were killed");
  const bool follow = !options.replicationUser.empty();
  catalog::ChangeContext cc{"ha", fmt::format("SWITCHOVER SHARD {}.{} TO '{}'", req.keyspace,
                                              req.shard, candidate.toString())};
  auto switched = (*cat)->promoteBackend(
      candidate, oldPrimary, follow ? BackendState::kOnline : BackendState::kOffline, cc);
  if (!switched) {
    // The servers switched but the catalog refused: nothing may write until a DBA decides.
    notes.push_back("the catalog switch failed: " + switched.error().message);
  } else if (auto next = (*cat)->snapshot()) {
    gate.publish(*next);
  }
  gate.releaseShards(g.shards);
  const auto pauseMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - holdStart).count();
  for (const auto& r : g.replicas) {
    if (r == candidate) continue;
    if (Status s = repoint(r, candidate, false, {}, false); !s) {
      notes.push_back(fmt::format("repointing {} failed: {}", r.toString(), s.error().message));
    }
  }
  if (!follow) {
    e.oldPrimaryState = "fenced";
    notes.push_back(
        "no replication_user is configured: the old primary stays read-only and "
        "offline, not replicating");
  } else if (Status s = repoint(oldPrimary, candidate, true, oldGtid, semiSync); !s) {
    e.oldPrimaryState = "fenced";
    notes.push_back("the old primary could not be made a replica (now offline): " +
                    s.error().message);
    catalog::ChangeContext off{"ha", "SET BACKEND '" + e.oldPrimary + "' OFFLINE"};
    if (switched && (*cat)->setBackendState(oldPrimary, BackendState::kOffline, off)) {
      if (auto next = (*cat)->snapshot()) gate.publish(*next);
    }
  } else {
    e.oldPrimaryState = "replicating";
  }
  e.detail = fmt::format("{}", fmt::join(notes, "; "));
  finish(**cat, e, switched ? "done" : "failed", pauseMs);
  logWith(*log::migrations(), spdlog::level::info, haFields(g.shards),
          "ha: switchover of {} to {} done, statements held {} ms{}{}", e.shards, e.newPrimary,
          pauseMs, e.detail.empty() ? "" : ": ", e.detail);
  if (!switched) return switched.takeError();
  return e;
}

void HaManager::Impl::failover(const catalog::Endpoint& primary) {
  std::lock_guard op(operationMu);
  const auto started = Clock::now();
  const auto deadline = started + options.failoverTimeout;
  auto cat = openCatalog();
  if (!cat) {
    log::migrations()->error("ha: failover of {}: {}", primary.toString(), cat.error().message);
    return;
  }
  auto snapR = (*cat)->snapshot();
  if (!snapR) return;
  Group g = groupOf(**snapR, primary);
  if (g.shards.empty() || !g.autoFailover) return;  // switched meanwhile, or turned off

  catalog::HaEvent e;
  e.kind = "failover";
  e.shards = fmt::format("{}", fmt::join(g.labels, ","));
  e.oldPrimary = primary.toString();
  e.state = "running";
  e.startedMs = nowMs();
  e.oldPrimaryState = "unreachable";
  if (auto id = (*cat)->recordHaEvent(e)) e.id = *id;
  logWith(*log::migrations(), spdlog::level::warn, haFields(g.shards),
          "ha: failing over {} (primary {} is down)", e.shards, e.oldPrimary);
  // Already held since the first failed probe; this hold is the failover's own.
  (void)gate.holdShards(g.shards, "is failing over to a new primary", Clock::now());

  // The replicas that replicate from the dead primary, and the most advanced one: everything it
  // received (its relay log) is applied before it takes writes, so with semi-synchronous
  // replication no acknowledged transaction is lost.
  std::vector<ReplicaView> views;
  for (const auto& r : g.replicas)
    views.push_back(readReplica(r, 2));
  const ReplicaView* chosen = nullptr;
  std::vector<std::string> skipped;
  for (const auto& v : views) {
    if (!v.reachable || !v.problem.empty()) {
      skipped.push_back(v.address.toString() + ": " + (v.problem.empty() ? "?" : v.problem));
      continue;
    }
    if (!sameServer(v.source, primary)) {
      skipped.push_back(v.address.toString() + ": replicates from " + v.source.toString());
      continue;
    }
    const std::string& pos = v.ioPos.empty() ? v.currentPos : v.ioPos;
    const std::string& best = chosen == nullptr
                                  ? std::string()
                                  : (chosen->ioPos.empty() ? chosen->currentPos : chosen->ioPos);
    if (chosen == nullptr || transactionsMissing(pos, best) > 0) chosen = &v;
  }
  std::string failure;
  std::string newGtid;
  if (chosen == nullptr) {
    failure = fmt::format("no replica can take over ({})", fmt::join(skipped, "; "));
  } else {
    e.newPrimary = chosen->address.toString();
    BlockingClient c;
    Status s = c.connect(login(chosen->address), secondsLeft(deadline));
    if (s) s = c.execute("STOP SLAVE IO_THREAD");
    // The shard used semi-synchronous replication when its replicas acknowledge: the new
    // primary waits for acknowledgements as the old one did.
    bool semiSync = false;
    if (s) {
      auto semi = c.scalar("SELECT @@rpl_semi_sync_slave_enabled");
      semiSync = semi && semi->value_or("0") == "1";
    }
    const std::string target = chosen->ioPos.empty() ? chosen->currentPos : chosen->ioPos;
    auto waited = s ? c.scalar(fmt::format("SELECT MASTER_GTID_WAIT({}, {:.3f})", quoted(target),
                                           secondsLeftExact(deadline)))
                    : Result<std::optional<std::string>>(s.takeError());
    if (!waited) {
      failure =
          "waiting for the candidate to apply its relay log failed: " + waited.error().message;
    } else if (waited->value_or("-1") != "0") {
      failure = fmt::format("{} did not apply its relay log (up to {}) in time",
                            chosen->address.toString(), target);
    }
    if (failure.empty()) {
      auto promoted = promote(chosen->address, secondsLeft(deadline), semiSync);
      if (!promoted) {
        failure =
            "promoting " + chosen->address.toString() + " failed: " + promoted.error().message;
      } else {
        newGtid = *promoted;
      }
    }
  }
  if (!failure.empty()) {
    gate.releaseShards(g.shards);
    e.detail = failure + "; statements fail until the primary is back or a DBA acts";
    finish(**cat, e, "failed",
           std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
    logWith(*log::migrations(), spdlog::level::err, haFields(g.shards),
            "ha: failover of {} failed: {}", e.shards, e.detail);
    return;
  }
  e.newGtid = newGtid;
  const catalog::Endpoint candidate = chosen->address;
  std::vector<std::string> notes;
  catalog::ChangeContext cc{
      "ha", fmt::format("FAILOVER of {} to {}", e.oldPrimary, candidate.toString())};
  auto switched = (*cat)->promoteBackend(candidate, primary, BackendState::kOffline, cc);
  if (!switched) {
    notes.push_back("the catalog switch failed: " + switched.error().message);
  } else if (auto next = (*cat)->snapshot()) {
    gate.publish(*next);
  }
  gate.releaseShards(g.shards);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  // The other replicas follow the new primary (they lack nothing it has: it received the most).
  for (const auto& v : views) {
    if (v.address == candidate || !v.reachable) continue;
    if (Status s = repoint(v.address, candidate, false, {}, false); !s) {
      notes.push_back(
          fmt::format("repointing {} failed: {}", v.address.toString(), s.error().message));
    }
  }
  e.detail = fmt::format("{}", fmt::join(notes, "; "));
  finish(**cat, e, switched ? "done" : "failed", ms);
  logWith(
      *log::migrations(), spdlog::level::warn, haFields(g.shards),
      "ha: failover of {} to {} done, statements held {} ms; {} is offline and will be fenced if "
      "it comes back{}{}",
      e.shards, e.newPrimary, ms, e.oldPrimary, e.detail.empty() ? "" : ": ", e.detail);
}

}  // namespace shardproxy::migrations
