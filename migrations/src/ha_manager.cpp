// Planned switchover and automatic failover of a primary (ha.h, docs/high-availability.md).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "binlog_reader.h"
#include "migration_log.h"
#include "shardproxy/migrations/blocking_client.h"
#include "shardproxy/migrations/ha.h"

namespace shardproxy::migrations {

using Clock = std::chrono::steady_clock;
using catalog::BackendRole;
using catalog::BackendState;
using ShardRef = TrafficGate::ShardRef;

std::int64_t transactionsMissing(std::string_view ahead, std::string_view behind) {
  return static_cast<std::int64_t>(GtidPosition::parse(behind).behind(GtidPosition::parse(ahead)));
}

namespace {

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint32_t secondsLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count();
  return static_cast<std::uint32_t>(std::max<std::int64_t>(1, left + 1));
}

double secondsLeftExact(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<double>(std::max<std::int64_t>(ms, 1)) / 1000.0;
}

std::string quoted(std::string_view s) {
  std::string out;
  appendQuoted(out, s);
  return out;
}

// What the catalog says about one server that leads shards: the shards, and their other
// members (by server).
struct Group {
  catalog::Endpoint primary;
  std::vector<ShardRef> shards;
  std::vector<std::string> labels;          // "ks/shard"
  std::vector<catalog::Endpoint> replicas;  // servers that are replicas in every one of them
  std::vector<catalog::Endpoint> partial;   // replicas of some of them only (left alone)
  bool autoFailover = true;                 // every keyspace has it on
};

Group groupOf(const catalog::Snapshot& snap, const catalog::Endpoint& primary) {
  Group g;
  g.primary = primary;
  std::map<std::string, std::pair<catalog::Endpoint, std::size_t>> replicaCount;
  for (const auto& sh : snap.shards) {
    if (!sh.primary || snap.backends[*sh.primary].address != primary) continue;
    g.shards.push_back(ShardRef{sh.keyspace, sh.name});
    g.labels.push_back(sh.keyspace + "/" + sh.name);
    if (const auto* ks = snap.findKeyspace(sh.keyspace); ks == nullptr || !ks->autoFailover) {
      g.autoFailover = false;
    }
    for (std::size_t idx : sh.backends) {
      const auto& b = snap.backends[idx];
      if (b.role != BackendRole::kReplica) continue;
      auto& entry = replicaCount[b.address.toString()];
      entry.first = b.address;
      ++entry.second;
    }
  }
  for (const auto& [key, entry] : replicaCount) {
    (entry.second == g.shards.size() ? g.replicas : g.partial).push_back(entry.first);
  }
  return g;
}

// One server's replication as SHOW SLAVE STATUS reports it.
struct ReplicaView {
  catalog::Endpoint address;
  bool reachable = false;
  std::string problem;
  catalog::Endpoint source;  // Master_Host:Master_Port
  bool ioRunning = false;
  bool sqlRunning = false;
  std::string ioPos;  // Gtid_IO_Pos: what it received
  std::string currentPos;
  std::optional<std::uint64_t> lag;
};

}  // namespace

struct HaManager::Impl {
  HaOptions options;
  TrafficGate& gate;

  mutable std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;
  // Servers the monitor reported failing, with how often and the threshold; held shards per
  // server (held from the first failure until the failover ended or the server came back).
  struct Suspect {
    int failures = 0;
    int threshold = 3;
    std::string problem;
    std::vector<ShardRef> held;
    bool holding = false;
    bool failedOver = false;  // done or given up: no second attempt until it recovers
  };
  std::map<std::string, Suspect> suspects;  // by host:port
  std::map<std::string, catalog::Endpoint> addresses;
  bool running = false;    // a failover in progress (busy())
  std::mutex operationMu;  // one switchover or failover at a time

  Impl(HaOptions o, TrafficGate& g) : options(std::move(o)), gate(g) {}

  Endpoint login(const catalog::Endpoint& a) const {
    return Endpoint{a.host, a.port, options.dbaUser, options.dbaPassword, ""};
  }

  Result<std::unique_ptr<catalog::Catalog>> openCatalog() const {
    return catalog::Catalog::open(options.catalogPath);
  }

  ReplicaView readReplica(const catalog::Endpoint& a, unsigned timeoutSeconds) const {
    ReplicaView v;
    v.address = a;
    BlockingClient c;
    if (Status s = c.connect(login(a), timeoutSeconds); !s) {
      v.problem = s.error().message;
      return v;
    }
    v.reachable = true;
    std::vector<FieldInfo> fields;
    std::map<std::string, std::optional<std::string>> row;
    Status s = c.stream(
        "SHOW SLAVE STATUS",
        [&](char** values, unsigned long* lengths, unsigned n) {
          for (unsigned i = 0; i < n && i < fields.size(); ++i) {
            row[fields[i].name] =
                values[i] == nullptr
                    ? std::nullopt
                    : std::optional<std::string>(std::string(values[i], lengths[i]));
          }
        },
        &fields);
    if (!s) {
      v.problem = s.error().message;
      return v;
    }
    auto field = [&](const char* name) { return row.count(name) ? row[name].value_or("") : ""; };
    v.source.host = field("Master_Host");
    v.source.port = static_cast<std::uint16_t>(std::atoi(field("Master_Port").c_str()));
    v.ioRunning = field("Slave_IO_Running") == "Yes";
    v.sqlRunning = field("Slave_SQL_Running") == "Yes";
    v.ioPos = field("Gtid_IO_Pos");
    if (row.count("Seconds_Behind_Master") && row["Seconds_Behind_Master"]) {
      v.lag = std::strtoull(row["Seconds_Behind_Master"]->c_str(), nullptr, 10);
    }
    auto cur = c.scalar("SELECT @@gtid_current_pos");
    if (cur) v.currentPos = cur->value_or("");
    if (row.empty()) v.problem = "not a replica (SHOW SLAVE STATUS is empty)";
    return v;
  }

  static bool sameServer(const catalog::Endpoint& a, const catalog::Endpoint& b) {
    auto local = [](const std::string& h) {
      return h == "127.0.0.1" || h == "localhost" || h == "::1";
    };
    return a.port == b.port && (a.host == b.host || (local(a.host) && local(b.host)));
  }

  // Kills every connection on the server but the DBA's own, replication's and the server's.
  Status killApplicationConnections(BlockingClient& c) const {
    auto ids = c.rows(fmt::format(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND "
        "USER NOT IN ({}, 'system user', 'event_scheduler', 'unauthenticated user') AND "
        "COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')",
        quoted(options.dbaUser)));
    if (!ids) return ids.takeError();
    for (const Row& r : *ids) {
      if (!r.empty() && r[0]) (void)c.execute("KILL CONNECTION " + *r[0]);
    }
    return {};
  }

  // Points `replica` at `source` by GTID, keeping its replication account unless one is given.
  // A former primary (`demote`) also stops acting as a semi-synchronous source.
  Status repoint(const catalog::Endpoint& replica, const catalog::Endpoint& source,
                 bool withAccount, const std::string& slavePos, bool demote) const {
    BlockingClient c;
    if (Status s = c.connect(login(replica), 30); !s) return s;
    std::string sql = "STOP SLAVE; ";
    if (demote) {
      sql +=
          "SET GLOBAL rpl_semi_sync_master_enabled = OFF; "
          "SET GLOBAL rpl_semi_sync_slave_enabled = ON; ";
    }
    if (!slavePos.empty()) sql += "SET GLOBAL gtid_slave_pos = " + quoted(slavePos) + "; ";
    sql += fmt::format("CHANGE MASTER TO MASTER_HOST = {}, MASTER_PORT = {}, ", quoted(source.host),
                       source.port);
    if (withAccount) {
      sql += fmt::format("MASTER_USER = {}, MASTER_PASSWORD = {}, MASTER_CONNECT_RETRY = 1, ",
                         quoted(options.replicationUser), quoted(options.replicationPassword));
    }
    sql += "MASTER_USE_GTID = slave_pos; START SLAVE";
    return c.execute(sql);
  }

  // The candidate stops replicating and becomes writable (a semi-synchronous source when the
  // shard used semi-synchronous replication); returns its position then.
  Result<std::string> promote(const catalog::Endpoint& candidate, unsigned timeoutSeconds,
                              bool semiSync) const {
    BlockingClient c;
    if (Status s = c.connect(login(candidate), timeoutSeconds); !s) return s.takeError();
    std::string sql = "STOP SLAVE; RESET SLAVE ALL; ";
    if (semiSync) sql += "SET GLOBAL rpl_semi_sync_master_enabled = ON; ";
    sql += "SET GLOBAL read_only = OFF";
    if (Status s = c.execute(sql); !s) return s.takeError();
    auto pos = c.scalar("SELECT @@gtid_current_pos");
    if (!pos) return pos.takeError();
    return pos->value_or("");
  }

  void finish(catalog::Catalog& cat, catalog::HaEvent& e, const std::string& state,
              std::optional<std::int64_t> pauseMs) {
    e.state = state;
    e.finishedMs = nowMs();
    e.pauseMs = pauseMs;
    if (Status s = cat.updateHaEvent(e); !s) {
      log::migrations()->warn("ha: recording event {} failed: {}", e.id, s.error().message);
    }
  }

  Result<catalog::HaEvent> switchover(const SwitchoverRequest& req);
  void failover(const catalog::Endpoint& primary);
  void fenceReturnedPrimaries();
  void run();
};

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
  log::migrations()->info("ha: switchover of {} from {} to {}", e.shards, e.oldPrimary,
                          e.newPrimary);

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
    log::migrations()->warn("ha: switchover of {} {}", e.shards, e.detail);
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
  log::migrations()->info("ha: switchover of {} to {} done, statements held {} ms{}{}", e.shards,
                          e.newPrimary, pauseMs, e.detail.empty() ? "" : ": ", e.detail);
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
  log::migrations()->warn("ha: failing over {} (primary {} is down)", e.shards, e.oldPrimary);
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
    log::migrations()->error("ha: failover of {} failed: {}", e.shards, e.detail);
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
  log::migrations()->warn(
      "ha: failover of {} to {} done, statements held {} ms; {} is offline and will be fenced if "
      "it comes back{}{}",
      e.shards, e.newPrimary, ms, e.oldPrimary, e.detail.empty() ? "" : ": ", e.detail);
}

// A failed-over primary that answers again is fenced (read_only) and never takes writes by
// itself; its position tells what it had that the new primary lacks.
void HaManager::Impl::fenceReturnedPrimaries() {
  auto cat = openCatalog();
  if (!cat) return;
  auto events = (*cat)->haEvents(50);
  if (!events) return;
  std::set<std::string> seen;
  for (auto& e : *events) {
    if (e.kind != "failover" || e.state != "done" || e.oldPrimaryState != "unreachable") continue;
    if (!seen.insert(e.oldPrimary).second) continue;
    catalog::Endpoint address;
    auto colon = e.oldPrimary.rfind(':');
    if (colon == std::string::npos) continue;
    address.host = e.oldPrimary.substr(0, colon);
    address.port = static_cast<std::uint16_t>(std::atoi(e.oldPrimary.c_str() + colon + 1));
    BlockingClient c;
    if (!c.connect(login(address), 1)) continue;
    if (Status s = c.execute("SET GLOBAL read_only = ON; "
                             "SET GLOBAL rpl_semi_sync_master_enabled = OFF");
        !s) {
      log::migrations()->warn("ha: {} is back but could not be fenced: {}", e.oldPrimary,
                              s.error().message);
      continue;
    }
    (void)killApplicationConnections(c);
    auto pos = c.scalar("SELECT @@gtid_binlog_pos");
    if (pos) {
      e.oldGtid = pos->value_or("");
      e.lostTransactions = transactionsMissing(e.oldGtid, e.newGtid);
    }
    e.oldPrimaryState = "fenced";
    (void)(*cat)->updateHaEvent(e);
    log::migrations()->warn(
        "ha: the old primary {} is back: fenced (read_only), left offline; it has {} "
        "transaction(s) that the new primary {} lacks (its position {}, the new primary's at "
        "promotion {})",
        e.oldPrimary, e.lostTransactions.value_or(-1), e.newPrimary, e.oldGtid, e.newGtid);
  }
}

void HaManager::Impl::run() {
  auto nextFence = Clock::now();
  for (;;) {
    std::optional<catalog::Endpoint> toFailOver;
    {
      std::unique_lock lock(mu);
      wake.wait_until(lock, nextFence, [&] {
        if (stopping) return true;
        for (auto& [key, s] : suspects)
          if (s.failures >= s.threshold && !s.failedOver) return true;
        return false;
      });
      if (stopping) return;
      for (auto& [key, s] : suspects) {
        if (s.failures >= s.threshold && !s.failedOver) {
          s.failedOver = true;
          toFailOver = addresses[key];
          running = true;
          break;
        }
      }
    }
    if (toFailOver) {
      failover(*toFailOver);
      std::lock_guard lock(mu);
      running = false;
      auto it = suspects.find(toFailOver->toString());
      if (it != suspects.end() && it->second.holding) {
        gate.releaseShards(it->second.held);
        it->second.holding = false;
      }
      continue;
    }
    if (Clock::now() >= nextFence) {
      fenceReturnedPrimaries();
      nextFence = Clock::now() + options.fencePoll;
    }
  }
}

HaManager::HaManager(HaOptions options, TrafficGate& gate)
    : impl_(std::make_unique<Impl>(std::move(options), gate)) {}

HaManager::~HaManager() {
  stop();
}

void HaManager::start() {
  if (impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = false;
  }
  impl_->thread = std::thread([this] { impl_->run(); });
}

void HaManager::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    for (auto& [key, s] : impl_->suspects) {
      if (s.holding) impl_->gate.releaseShards(s.held);
      s.holding = false;
    }
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<catalog::HaEvent> HaManager::switchover(const SwitchoverRequest& request) {
  return impl_->switchover(request);
}

void HaManager::primaryFailing(const catalog::Endpoint& primary, int failures, int threshold,
                               const std::string& problem) {
  // Which shards it leads and whether they fail over: read from the catalog here (the monitor's
  // thread, off the sessions' loops).
  auto cat = impl_->openCatalog();
  if (!cat) return;
  auto snap = (*cat)->snapshot();
  if (!snap) return;
  Group g = groupOf(**snap, primary);
  std::lock_guard lock(impl_->mu);
  auto& s = impl_->suspects[primary.toString()];
  impl_->addresses[primary.toString()] = primary;
  s.failures = failures;
  s.threshold = threshold;
  s.problem = problem;
  if (g.shards.empty() || !g.autoFailover || s.failedOver) return;
  if (!s.holding) {
    s.held = g.shards;
    s.holding = true;
    // Deadline now: nothing to wait for, a dead primary's transactions cannot finish.
    (void)impl_->gate.holdShards(s.held, "lost its primary, which is being probed", Clock::now());
    log::migrations()->warn("ha: primary {} of {} failed a probe ({}); holding its statements",
                            primary.toString(), fmt::join(g.labels, ", "), problem);
  }
  if (failures >= threshold) impl_->wake.notify_all();
}

void HaManager::primaryRecovered(const catalog::Endpoint& primary) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->suspects.find(primary.toString());
  if (it == impl_->suspects.end()) return;
  if (it->second.holding && !impl_->running) {
    impl_->gate.releaseShards(it->second.held);
    log::migrations()->info("ha: primary {} answers again; statements released",
                            primary.toString());
  } else if (it->second.holding) {
    return;  // a failover is under way: it releases
  }
  impl_->suspects.erase(it);
}

bool HaManager::busy() const {
  std::lock_guard lock(impl_->mu);
  return impl_->running;
}

}  // namespace shardproxy::migrations
