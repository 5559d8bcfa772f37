// The HA manager (ha.h, docs/high-availability.md): its thread, the health monitor's reports,
// and the fencing of failed-over primaries that come back. Switchover and failover themselves:
// ha_promotion.cpp.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "ha_impl.h"

namespace shardproxy::migrations {

std::int64_t transactionsMissing(std::string_view ahead, std::string_view behind) {
  return static_cast<std::int64_t>(GtidPosition::parse(behind).behind(GtidPosition::parse(ahead)));
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
    logWith(*log::migrations(), spdlog::level::warn, haFields(g.shards),
            "ha: primary {} of {} failed a probe ({}); holding its statements", primary.toString(),
            fmt::join(g.labels, ", "), problem);
  }
  if (failures >= threshold) impl_->wake.notify_all();
}

void HaManager::primaryRecovered(const catalog::Endpoint& primary) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->suspects.find(primary.toString());
  if (it == impl_->suspects.end()) return;
  if (it->second.holding && !impl_->running) {
    impl_->gate.releaseShards(it->second.held);
    logWith(*log::migrations(), spdlog::level::info, haFields(it->second.held),
            "ha: primary {} answers again; statements released", primary.toString());
  } else if (it->second.holding) {
    return;  // a failover is under way: it releases
  }
  impl_->suspects.erase(it);
}

}  // namespace shardproxy::migrations
