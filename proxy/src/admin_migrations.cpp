#include "admin_migrations.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

namespace shardproxy::proxy {

namespace adm = router::admin;
using catalog::Migration;
using catalog::MigrationRequest;

namespace {

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ",") + n;
  return out;
}

struct Totals {
  std::uint64_t copied = 0;
  std::uint64_t estimated = 0;
  std::uint64_t bytes = 0;
  bool allDone = true;
  std::int64_t lagEvents = -1;
  double lagSeconds = -1;
};

Totals totals(const Migration& m) {
  Totals t;
  for (const auto& tb : m.tables) {
    t.copied += tb.rowsCopied;
    t.bytes += tb.bytesCopied;
    t.estimated += std::max(tb.rowsEstimated, tb.rowsCopied);
    t.allDone = t.allDone && tb.done;
  }
  const std::string dir = m.switched ? "reverse" : "forward";
  for (const auto& st : m.streams) {
    if (st.direction != dir) continue;
    t.lagEvents = std::max(t.lagEvents, st.lagEvents);
    t.lagSeconds = std::max(t.lagSeconds, st.lagSeconds);
  }
  return t;
}

double percent(const Totals& t) {
  if (t.allDone) return 100.0;
  if (t.estimated == 0) return 0.0;
  return std::min(99.9, 100.0 * static_cast<double>(t.copied) / static_cast<double>(t.estimated));
}

// Seconds since an ISO 8601 UTC time ("2026-12-04T19:00:00.123Z").
double secondsSince(const std::string& iso) {
  std::tm tm{};
  if (iso.size() < 19 || strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  return std::difftime(std::time(nullptr), timegm(&tm));
}

std::optional<std::string> eta(const Migration& m, const Totals& t) {
  if (m.phase != catalog::MigrationPhase::kCopying || t.allDone) return std::nullopt;
  const double elapsed = secondsSince(m.created);
  if (t.copied == 0 || elapsed <= 0) return std::nullopt;
  const double rate = static_cast<double>(t.copied) / elapsed;
  const double left = static_cast<double>(t.estimated > t.copied ? t.estimated - t.copied : 0);
  return fmt::format("{:.0f}", left / rate);
}

std::optional<std::string> num(std::int64_t v) {
  if (v < 0) return std::nullopt;
  return std::to_string(v);
}

std::optional<std::string> secs(double v) {
  if (v < 0) return std::nullopt;
  return fmt::format("{:.1f}", v);
}

std::string liveNote(const migrations::MigrationManager* manager, std::int64_t id) {
  if (manager == nullptr) return {};
  auto live = manager->live(id);
  if (!live) return {};
  std::string out;
  if (!live->throttled.empty()) out += "throttled: " + live->throttled;
  if (!live->streamErrors.empty())
    out += (out.empty() ? "" : "; ") + ("retrying: " + live->streamErrors);
  return out;
}

}  // namespace

MigrationFigures migrationFigures(const Migration& m) {
  const Totals t = totals(m);
  MigrationFigures f;
  f.rowsCopied = t.copied;
  f.rowsEstimated = t.estimated;
  f.bytesCopied = t.bytes;
  f.progressPct = percent(t);
  if (auto e = eta(m, t)) f.etaSeconds = std::strtod(e->c_str(), nullptr);
  f.lagEvents = t.lagEvents;
  f.lagSeconds = t.lagSeconds;
  return f;
}

AdminResult adminReshard(catalog::Catalog& catalog, migrations::MigrationManager* manager,
                         const adm::Reshard& s, const catalog::ChangeContext& ctx, bool& changed) {
  if (manager == nullptr) {
    return Error::make(ErrorCode::kConfigInvalid, "resharding is not available on this port");
  }
  migrations::ReshardRequest req{s.keyspace, s.from, s.to, s.autoCutover,
                                 s.throttleRowsPerSecond.value_or(0)};
  auto id = manager->reshard(catalog, req, ctx);
  if (!id) return id.takeError();
  changed = true;
  return TextResultSet{{"migration_id"}, {{std::to_string(*id)}}};
}

AdminResult adminShowMigrations(catalog::Catalog& catalog,
                                const migrations::MigrationManager* manager,
                                const adm::ShowMigrations& s) {
  auto all = catalog.migrations();
  if (!all) return all.takeError();
  TextResultSet rs{
      {"id", "keyspace", "from", "to", "phase", "switched", "paused", "progress_pct", "rows_copied",
       "rows_estimated", "eta_seconds", "lag_events", "lag_seconds", "verify", "request",
       "cutover_attempts", "last_pause_ms", "status", "last_error"},
      {}};
  for (const Migration& m : *all) {
    if (s.keyspace && *s.keyspace != m.keyspace) continue;
    const Totals t = totals(m);
    const std::string note = liveNote(manager, m.id);
    rs.rows.push_back(
        {std::to_string(m.id), m.keyspace, joinNames(m.sources), joinNames(m.targets),
         std::string(catalog::toString(m.phase)), std::string(m.switched ? "yes" : "no"),
         std::string(m.paused ? "yes" : "no"), fmt::format("{:.1f}", percent(t)),
         std::to_string(t.copied), std::to_string(t.estimated), eta(m, t), num(t.lagEvents),
         secs(t.lagSeconds), m.verifyState,
         m.request ? std::optional<std::string>(catalog::toString(*m.request)) : std::nullopt,
         std::to_string(m.cutoverAttempts), num(m.lastPauseMs),
         note.empty() ? std::nullopt : std::optional(note),
         m.lastError.empty() ? std::nullopt : std::optional(m.lastError)});
  }
  return rs;
}

AdminResult adminShowMigration(catalog::Catalog& catalog,
                               const migrations::MigrationManager* manager,
                               const adm::ShowMigration& s) {
  auto one = catalog.migrations(s.id);
  if (!one) return one.takeError();
  const Migration& m = one->front();
  const Totals t = totals(m);
  TextResultSet rs{{"item", "name", "state", "rows_copied", "rows_estimated", "progress_pct",
                    "bytes_copied", "position", "lag_events", "lag_seconds", "detail"},
                   {}};
  std::string detail = fmt::format("{} {} -> {}; verify: {}{}", m.keyspace, joinNames(m.sources),
                                   joinNames(m.targets), m.verifyState,
                                   m.verifyDetail.empty() ? "" : " (" + m.verifyDetail + ")");
  if (auto e = eta(m, t)) detail += "; eta " + *e + " s";
  if (const std::string note = liveNote(manager, m.id); !note.empty()) detail += "; " + note;
  if (!m.lastError.empty()) detail += "; last error: " + m.lastError;
  rs.rows.push_back({std::string("migration"), std::to_string(m.id),
                     std::string(catalog::toString(m.phase)) + (m.switched ? " (switched)" : "") +
                         (m.paused ? " (paused)" : ""),
                     std::to_string(t.copied), std::to_string(t.estimated),
                     fmt::format("{:.1f}", percent(t)), std::to_string(t.bytes), std::nullopt,
                     num(t.lagEvents), secs(t.lagSeconds), detail});
  for (const auto& tb : m.tables) {
    const std::uint64_t est = std::max(tb.rowsEstimated, tb.rowsCopied);
    const double pct =
        tb.done ? 100.0
        : est == 0
            ? 0.0
            : std::min(99.9, 100.0 * static_cast<double>(tb.rowsCopied) / static_cast<double>(est));
    rs.rows.push_back({std::string("table"), tb.table + " from " + tb.source,
                       std::string(tb.done             ? "copied"
                                   : tb.cursor.empty() ? "waiting"
                                                       : "copying"),
                       std::to_string(tb.rowsCopied), std::to_string(est),
                       fmt::format("{:.1f}", pct), std::to_string(tb.bytesCopied),
                       tb.cursor.empty() ? std::nullopt : std::optional(tb.cursor), std::nullopt,
                       std::nullopt, tb.kind});
  }
  for (const auto& st : m.streams) {
    const bool current = st.direction == (m.switched ? "reverse" : "forward");
    rs.rows.push_back(
        {std::string("stream"), st.direction + " from " + st.shard,
         std::string(current ? "running" : "stopped"), std::nullopt, std::nullopt, std::nullopt,
         std::nullopt, st.gtidPosition, num(st.lagEvents), secs(st.lagSeconds),
         fmt::format("{} events, {} rows applied", st.eventsApplied, st.rowsApplied)});
  }
  return rs;
}

AdminResult adminMigrationCommand(catalog::Catalog& catalog, const adm::MigrationCommand& s,
                                  const catalog::ChangeContext& ctx, bool& changed) {
  if (Status st = catalog.requestMigration(s.id, s.action, s.timeoutMs, ctx); !st) {
    return st.takeError();
  }
  changed = true;
  std::string info;
  switch (s.action) {
    case MigrationRequest::kPause:
      info = "paused";
      break;
    case MigrationRequest::kResume:
      info = "resumed";
      break;
    default:
      info = fmt::format("{} requested; SHOW MIGRATION {} shows when it is done",
                         catalog::toString(s.action), s.id);
  }
  return AdminOk{0, info};
}

}  // namespace shardproxy::proxy
