#include "admin_ha.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "shardproxy/proxy/keyspace_gate.h"

namespace shardproxy::proxy {

namespace {

std::optional<std::string> optionalText(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

std::optional<std::string> optionalNumber(const std::optional<std::int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

std::string utcMs(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}.{:03d}", tm, static_cast<int>(ms % 1000));
}

}  // namespace

AdminResult adminSwitchover(catalog::Catalog& catalog, const AdminServices& services,
                            const router::admin::Switchover& s, bool& changed) {
  if (services.ha == nullptr) {
    return Error::make(ErrorCode::kNotSupportedYet,
                       "SWITCHOVER needs the DBA account: start the proxy with --dba-user "
                       "name:password (docs/high-availability.md)");
  }
  migrations::SwitchoverRequest req;
  req.keyspace = s.keyspace;
  req.shard = s.shard;
  req.candidate = s.candidate;
  if (s.timeoutMs) req.timeout = std::chrono::milliseconds(*s.timeoutMs);
  req.drain = std::min(req.drain, req.timeout / 2);
  auto done = services.ha->switchover(req);
  if (!done) return done.takeError();
  // The manager published the switched snapshot itself; the admin thread re-reads it too.
  changed = true;
  (void)catalog.snapshot();
  return AdminOk{1, fmt::format("{} is the primary of {}; statements held {} ms{}{}",
                                done->newPrimary, done->shards, done->pauseMs.value_or(0),
                                done->detail.empty() ? "" : "; ", done->detail)};
}

AdminResult adminShowFailovers(catalog::Catalog& catalog, const router::admin::ShowFailovers& s) {
  auto events = catalog.haEvents(s.limit);
  if (!events) return events.takeError();
  TextResultSet rs{
      {"id", "kind", "shards", "old_primary", "new_primary", "state", "started", "finished",
       "pause_ms", "old_gtid", "new_gtid", "lost_transactions", "old_primary_state", "detail"},
      {}};
  rs.integer = {true,  false, false, false, false, false, false,
                false, true,  false, false, true,  false, false};
  for (const auto& e : *events) {
    rs.rows.push_back(
        {std::to_string(e.id), e.kind, e.shards, e.oldPrimary, optionalText(e.newPrimary), e.state,
         utcMs(e.startedMs),
         e.finishedMs ? std::optional<std::string>(utcMs(*e.finishedMs)) : std::nullopt,
         optionalNumber(e.pauseMs), optionalText(e.oldGtid), optionalText(e.newGtid),
         optionalNumber(e.lostTransactions), optionalText(e.oldPrimaryState),
         optionalText(e.detail)});
  }
  return rs;
}

AdminResult adminShowBuffers(const AdminServices& services) {
  TextResultSet rs{
      {"keyspace", "shard", "reason", "held_ms", "waiting", "waiting_bytes", "entered", "refused"},
      {}};
  rs.integer = {false, false, false, true, true, true, true, true};
  if (services.gate == nullptr) return rs;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& st : services.gate->stats()) {
    rs.rows.push_back(
        {st.scope.keyspace, optionalText(st.scope.shard), st.reason,
         std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(now - st.since).count()),
         std::to_string(st.waiting), std::to_string(st.waitingBytes), std::to_string(st.entered),
         std::to_string(st.refused)});
  }
  return rs;
}

std::unordered_map<std::string, BackendStatus> backendStatus(const AdminServices& services) {
  if (services.health == nullptr) return {};
  return services.health->status();
}

void appendHealthColumns(std::vector<std::optional<std::string>>& row, const catalog::Backend& b,
                         const std::unordered_map<std::string, BackendStatus>& status) {
  auto it = status.find(b.address.toString());
  if (b.state == catalog::BackendState::kOffline || it == status.end()) {
    row.push_back(
        std::string(b.state == catalog::BackendState::kOffline ? "not probed" : "unknown"));
    for (int i = 0; i < 5; ++i)
      row.push_back(std::nullopt);
    return;
  }
  const BackendStatus& st = it->second;
  std::string health = st.up ? "up" : "down";
  if (st.up && b.role == catalog::BackendRole::kReplica && st.lagKnown &&
      st.lagSeconds > b.maxLagSeconds) {
    health = "lagging";
  }
  if (st.up && st.failures > 0) health += fmt::format(" ({} failed)", st.failures);
  row.push_back(health);
  row.push_back(st.lagKnown ? std::optional<std::string>(std::to_string(st.lagSeconds))
                            : std::nullopt);
  row.push_back(st.gtidBehind ? std::optional<std::string>(std::to_string(*st.gtidBehind))
                              : std::nullopt);
  row.push_back(st.readOnly ? std::optional<std::string>(*st.readOnly ? "yes" : "no")
                            : std::nullopt);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(st.lastChange.time_since_epoch())
          .count();
  row.push_back(utcMs(ms));
  row.push_back(optionalText(st.lastError));
}

}  // namespace shardproxy::proxy
