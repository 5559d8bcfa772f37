// Resharding migrations, changing them: the DBA's requests, the workers' progress (no version
// bump: the caller wraps these in a plain write transaction), the cutover's switch and COMPLETE.
// The shard flips and drops go through the same helpers as SET SHARD and DROP SHARD, so
// checkInvariants() sees every state a migration can leave.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "catalog_errors.h"
#include "migration_rows.h"
#include "model.h"
#include "sqlite_util.h"
#include "store.h"

namespace shardproxy::catalog::detail {
namespace {

constexpr std::uint32_t kDefaultCutoverTimeoutMs = 2000;

std::string verb(MigrationRequest request) {
  std::string out(toString(request));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

// Why `request` makes no sense for `m` now, or nothing.
std::optional<std::string> requestRefusal(const MigrationRow& m, MigrationRequest request) {
  const std::string what = verb(request) + " MIGRATION " + std::to_string(m.id);
  if (isFinished(m.phase)) {
    return fmt::format("{}: the migration is {}; nothing is left to do", what, toString(m.phase));
  }
  switch (request) {
    case MigrationRequest::kPause:
    case MigrationRequest::kResume:
    case MigrationRequest::kVerify:
      return std::nullopt;
    case MigrationRequest::kCancel:
      if (!m.switched) return std::nullopt;
      return fmt::format("{}: the targets serve already; REVERSE MIGRATION {} first", what, m.id);
    case MigrationRequest::kCutover:
      if (m.switched) {
        return fmt::format("{}: the targets serve already (REVERSE MIGRATION switches back)", what);
      }
      break;
    case MigrationRequest::kReverse:
    case MigrationRequest::kComplete:
      if (!m.switched) {
        return fmt::format("{}: the sources still serve; it needs a CUTOVER first", what);
      }
      break;
  }
  if (m.phase != MigrationPhase::kReplicating) {
    return fmt::format(
        "{}: the migration is {}; this needs phase replicating (copy finished, no cutover "
        "running)",
        what, toString(m.phase));
  }
  return std::nullopt;
}

Status flipServing(sqlite3* db, const MigrationRow& m, bool toTargets) {
  const auto& stop = toTargets ? m.sources : m.targets;
  const auto& start = toTargets ? m.targets : m.sources;
  // Off first: the side that starts serving overlaps the side that stops.
  for (const std::string& name : stop) {
    if (Status s = updateShardServing(db, m.keyspace, name, false); !s) return s;
  }
  for (const std::string& name : start) {
    if (Status s = updateShardServing(db, m.keyspace, name, true); !s) return s;
  }
  if (m.keyspaceWasUnsharded) {
    Statement st(db, "UPDATE keyspaces SET sharded = ? WHERE name = ?");
    st.bind(1, std::int64_t{toTargets ? 1 : 0}).bind(2, m.keyspace);
    if (Status s = st.run(); !s) return s;
  }
  return {};
}

Status replaceStreams(sqlite3* db, const MigrationRow& m, bool toTargets,
                      const std::vector<MigrationStream>& streams) {
  const std::string_view direction = toTargets ? "reverse" : "forward";
  const auto& serving = toTargets ? m.targets : m.sources;
  Statement drop(db, "DELETE FROM migration_streams WHERE migration_id = ? AND direction = ?");
  drop.bind(1, m.id).bind(2, direction);
  if (Status s = drop.run(); !s) return s;
  for (const MigrationStream& stream : streams) {
    if (stream.direction != direction ||
        std::find(serving.begin(), serving.end(), stream.shard) == serving.end()) {
      return migrationError(fmt::format(
          "migration {}: a switch to the {} records {} streams of those shards, not a {} stream "
          "of {}",
          m.id, toTargets ? "targets" : "sources", direction, stream.direction,
          shardLabel(m.keyspace, stream.shard)));
    }
    if (Status s = upsertMigrationStream(db, m.id, stream); !s) return s;
  }
  return {};
}

}  // namespace

Status recordMigrationRequest(sqlite3* db, std::int64_t id, MigrationRequest request,
                              std::optional<std::uint32_t> timeoutMs) {
  auto m = loadMigrationRow(db, id);
  if (!m) return m.takeError();
  if (auto why = requestRefusal(*m, request)) return migrationError(*why);
  auto time = migrationClock(db);
  if (!time) return time.takeError();
  if (request == MigrationRequest::kPause || request == MigrationRequest::kResume) {
    Statement st(db, "UPDATE migrations SET paused = ?, updated = ? WHERE id = ?");
    st.bind(1, std::int64_t{request == MigrationRequest::kPause ? 1 : 0}).bind(2, *time);
    st.bind(3, id);
    return st.run();
  }
  const bool switching =
      request == MigrationRequest::kCutover || request == MigrationRequest::kReverse;
  Statement st(db,
               "UPDATE migrations SET request = ?, updated = ?, "
               "cutover_timeout_ms = coalesce(?, cutover_timeout_ms) WHERE id = ?");
  st.bind(1, toString(request)).bind(2, *time);
  if (switching) {
    st.bind(3, std::int64_t{timeoutMs.value_or(kDefaultCutoverTimeoutMs)});
  } else {
    st.bindNull(3);
  }
  st.bind(4, id);
  return st.run();
}

Status updateMigrationRow(sqlite3* db, std::int64_t id, const MigrationUpdate& update) {
  if (auto m = loadMigrationRow(db, id); !m) return m.takeError();
  if (update.phase == MigrationPhase::kCompleted) {
    return migrationError(fmt::format(
        "migration {}: only COMPLETE (completeMigration) ends a migration as completed", id));
  }
  if (update.verifyState && *update.verifyState != "pending" && *update.verifyState != "running" &&
      *update.verifyState != "ok" && *update.verifyState != "differs") {
    return invariantError(
        fmt::format("migration {}: verify state '{}' is not pending, running, ok or differs", id,
                    *update.verifyState));
  }
  if (update.lastPauseMs && *update.lastPauseMs < -1) {
    return invariantError(
        fmt::format("migration {}: last pause {} ms is negative", id, *update.lastPauseMs));
  }
  auto time = migrationClock(db);
  if (!time) return time.takeError();
  Statement st(db,
               "UPDATE migrations SET phase = coalesce(?2, phase), "
               "verify_state = coalesce(?3, verify_state), "
               "verify_detail = coalesce(?4, verify_detail), "
               "last_error = coalesce(?5, last_error), "
               "last_pause_ms = coalesce(?6, last_pause_ms), "
               "request = CASE WHEN ?7 THEN NULL ELSE request END, "
               "cutover_attempts = cutover_attempts + ?8, paused = coalesce(?9, paused), "
               "updated = ?10 WHERE id = ?1");
  st.bind(1, id);
  st.bindOptional(
      2, update.phase ? std::optional<std::string>(toString(*update.phase)) : std::nullopt);
  st.bindOptional(3, update.verifyState).bindOptional(4, update.verifyDetail);
  st.bindOptional(5, update.lastError);
  if (update.lastPauseMs) {
    st.bind(6, *update.lastPauseMs);
  } else {
    st.bindNull(6);
  }
  st.bind(7, std::int64_t{update.clearRequest ? 1 : 0});
  st.bind(8, std::int64_t{update.countCutoverAttempt ? 1 : 0});
  if (update.paused) {
    st.bind(9, std::int64_t{*update.paused ? 1 : 0});
  } else {
    st.bindNull(9);
  }
  st.bind(10, *time);
  return st.run();
}

Status upsertMigrationTable(sqlite3* db, std::int64_t id, const MigrationTable& table) {
  if (auto m = loadMigrationRow(db, id); !m) return m.takeError();
  if (!parseKind(table.kind)) {
    return invariantError(
        fmt::format("migration {}: table {} has kind '{}'", id, table.table, table.kind));
  }
  Statement st(db,
               "INSERT INTO migration_tables (migration_id, source, table_name, kind, cursor, "
               "done, rows_copied, bytes_copied, rows_estimated) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (migration_id, source, table_name) DO UPDATE SET "
               "kind = excluded.kind, cursor = excluded.cursor, done = excluded.done, "
               "rows_copied = excluded.rows_copied, bytes_copied = excluded.bytes_copied, "
               "rows_estimated = excluded.rows_estimated");
  st.bind(1, id).bind(2, table.source).bind(3, table.table).bind(4, table.kind);
  st.bind(5, table.cursor).bind(6, std::int64_t{table.done ? 1 : 0});
  st.bind(7, storedCount(table.rowsCopied)).bind(8, storedCount(table.bytesCopied));
  st.bind(9, storedCount(table.rowsEstimated));
  return st.run();
}

Status upsertMigrationStream(sqlite3* db, std::int64_t id, const MigrationStream& stream) {
  if (auto m = loadMigrationRow(db, id); !m) return m.takeError();
  if (stream.direction != "forward" && stream.direction != "reverse") {
    return invariantError(
        fmt::format("migration {}: stream direction '{}' is not forward or "
                    "reverse",
                    id, stream.direction));
  }
  auto time = migrationClock(db);
  if (!time) return time.takeError();
  Statement st(db,
               "INSERT INTO migration_streams (migration_id, direction, shard, gtid_position, "
               "events_applied, rows_applied, lag_events, lag_seconds, updated) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (migration_id, direction, shard) DO UPDATE SET "
               "gtid_position = excluded.gtid_position, "
               "events_applied = excluded.events_applied, rows_applied = excluded.rows_applied, "
               "lag_events = excluded.lag_events, lag_seconds = excluded.lag_seconds, "
               "updated = excluded.updated");
  st.bind(1, id).bind(2, stream.direction).bind(3, stream.shard).bind(4, stream.gtidPosition);
  st.bind(5, storedCount(stream.eventsApplied)).bind(6, storedCount(stream.rowsApplied));
  st.bind(7, std::max<std::int64_t>(stream.lagEvents, -1)).bindReal(8, stream.lagSeconds);
  st.bind(9, *time);
  return st.run();
}

Status switchMigrationShards(sqlite3* db, std::int64_t id, bool toTargets,
                             const std::vector<MigrationStream>& streams) {
  auto m = loadMigrationRow(db, id);
  if (!m) return m.takeError();
  const std::string_view side = toTargets ? "targets" : "sources";
  if (isFinished(m->phase) || m->phase == MigrationPhase::kCopying) {
    return migrationError(fmt::format("migration {}: cannot switch to its {}: the migration is {}",
                                      id, side, toString(m->phase)));
  }
  if (m->switched == toTargets) {
    return migrationError(
        fmt::format("migration {}: cannot switch to its {}: they serve already", id, side));
  }
  if (Status s = flipServing(db, *m, toTargets); !s) return s;
  auto time = migrationClock(db);
  if (!time) return time.takeError();
  Statement st(db,
               "UPDATE migrations SET switched = ?, phase = 'replicating', request = NULL, "
               "updated = ? WHERE id = ?");
  st.bind(1, std::int64_t{toTargets ? 1 : 0}).bind(2, *time).bind(3, id);
  if (Status s = st.run(); !s) return s;
  return replaceStreams(db, *m, toTargets, streams);
}

Status finishMigration(sqlite3* db, std::int64_t id) {
  auto m = loadMigrationRow(db, id);
  if (!m) return m.takeError();
  if (isFinished(m->phase)) {
    return migrationError(
        fmt::format("migration {}: cannot complete: the migration is {}", id, toString(m->phase)));
  }
  if (!m->switched) {
    return migrationError(fmt::format(
        "migration {}: cannot complete: the sources still serve (COMPLETE removes them only "
        "after a cutover)",
        id));
  }
  auto time = migrationClock(db);
  if (!time) return time.takeError();
  // Completed first, so that dropping its sources is no longer refused on its account.
  Statement st(db,
               "UPDATE migrations SET phase = 'completed', request = NULL, updated = ? "
               "WHERE id = ?");
  st.bind(1, *time).bind(2, id);
  if (Status s = st.run(); !s) return s;
  for (const std::string& source : m->sources) {
    if (Status s = deleteShard(db, m->keyspace, source); !s) return s;
  }
  Statement streams(db, "DELETE FROM migration_streams WHERE migration_id = ?");
  streams.bind(1, id);
  return streams.run();
}

}  // namespace shardproxy::catalog::detail
