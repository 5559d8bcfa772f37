// Resharding migrations, creating and reading them: RESHARD's checks (catalog.h), the rows it
// records, SHOW MIGRATIONS' reading, and the check that keeps DROP SHARD/KEYSPACE away from an
// unfinished migration's shards. The changes to a migration are in store_migration_changes.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <tuple>

#include "catalog_errors.h"
#include "migration_rows.h"
#include "model.h"
#include "sqlite_util.h"
#include "store.h"

namespace shardproxy::catalog {

std::string_view toString(MigrationPhase phase) {
  switch (phase) {
    case MigrationPhase::kCopying:
      return "copying";
    case MigrationPhase::kReplicating:
      return "replicating";
    case MigrationPhase::kCuttingOver:
      return "cutting_over";
    case MigrationPhase::kCompleted:
      return "completed";
    case MigrationPhase::kCancelled:
      return "cancelled";
  }
  return "copying";
}

std::optional<MigrationPhase> migrationPhaseFromString(std::string_view text) {
  for (auto phase :
       {MigrationPhase::kCopying, MigrationPhase::kReplicating, MigrationPhase::kCuttingOver,
        MigrationPhase::kCompleted, MigrationPhase::kCancelled}) {
    if (toString(phase) == text) return phase;
  }
  return std::nullopt;
}

std::string_view toString(MigrationRequest request) {
  switch (request) {
    case MigrationRequest::kPause:
      return "pause";
    case MigrationRequest::kResume:
      return "resume";
    case MigrationRequest::kCancel:
      return "cancel";
    case MigrationRequest::kVerify:
      return "verify";
    case MigrationRequest::kCutover:
      return "cutover";
    case MigrationRequest::kReverse:
      return "reverse";
    case MigrationRequest::kComplete:
      return "complete";
  }
  return "?";
}

}  // namespace shardproxy::catalog

namespace shardproxy::catalog::detail {
namespace {

std::vector<std::string> splitNames(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

MigrationRow rowFrom(const Statement& st) {
  return MigrationRow{st.int64(0),
                      st.text(1),
                      splitNames(st.text(2)),
                      splitNames(st.text(3)),
                      migrationPhaseFromString(st.text(4)).value_or(MigrationPhase::kCopying),
                      st.int64(5) != 0,
                      st.int64(6) != 0};
}

// --- createMigration's checks --------------------------------------------------------------

struct SideShard {
  std::string name;  // as stored
  KeyRange range;
  bool serving = false;
};

// The `sources`/`targets` column: the names separated by ',' (checkNames refuses a comma).
std::string storedList(const std::vector<SideShard>& side) {
  std::string out;
  for (const SideShard& s : side) {
    out += (out.empty() ? "" : ",") + s.name;
  }
  return out;
}

std::string describeRange(const KeyRange& range) {
  return range == KeyRange{} ? "- (the whole key space)" : range.toString();
}

// The shards of one side, each existing, sorted by range.
Result<std::vector<SideShard>> resolveSide(sqlite3* db, std::string_view keyspace,
                                           const std::vector<std::string>& names) {
  std::vector<SideShard> side;
  for (const std::string& given : names) {
    auto name = resolveShard(db, keyspace, given);
    if (!name) return name.takeError();
    Statement st(db,
                 "SELECT range_start, range_end, serving FROM shards "
                 "WHERE keyspace = ? AND name = ?");
    st.bind(1, keyspace).bind(2, *name);
    auto row = st.step();
    if (!row) return row.takeError();
    auto range = storedRangeAt(st, 0, keyspace, *name);
    if (!range) return range.takeError();
    side.push_back(SideShard{*name, *range, st.int64(2) != 0});
  }
  std::sort(side.begin(), side.end(), [](const SideShard& a, const SideShard& b) {
    return std::tie(a.range.start, a.name) < std::tie(b.range.start, b.name);
  });
  return side;
}

// The part of the key space one side covers, which must be one piece without overlaps.
Result<KeyRange> spanOf(std::string_view keyspace, std::string_view what,
                        const std::vector<SideShard>& side) {
  for (std::size_t i = 1; i < side.size(); ++i) {
    const SideShard& previous = side[i - 1];
    const SideShard& next = side[i];
    if (!previous.range.end || next.range.start < *previous.range.end) {
      return invariantError(fmt::format("{} {} and {} overlap", what,
                                        shardLabel(keyspace, previous.name),
                                        shardLabel(keyspace, next.name)));
    }
    if (next.range.start > *previous.range.end) {
      return invariantError(fmt::format(
          "{} leave {} uncovered between {} and {}; they must cover one contiguous range", what,
          KeyRange{*previous.range.end, next.range.start}.toString(),
          shardLabel(keyspace, previous.name), shardLabel(keyspace, next.name)));
    }
  }
  return KeyRange{side.front().range.start, side.back().range.end};
}

Status checkNames(std::string_view keyspace, const std::vector<SideShard>& sources,
                  const std::vector<SideShard>& targets) {
  std::vector<std::string> all;
  for (const auto* side : {&sources, &targets}) {
    for (const SideShard& s : *side) {
      if (s.name.find(',') != std::string::npos) {
        return invariantError(fmt::format(
            "shard {}: a migration cannot record a shard name with a comma; rename the shard",
            shardLabel(keyspace, s.name)));
      }
      all.push_back(s.name);
    }
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      if (all[i] != all[j]) continue;
      const bool both = i < sources.size() && j >= sources.size();
      return invariantError(fmt::format("shard {} is {}", shardLabel(keyspace, all[i]),
                                        both ? "both a source and a target" : "named twice"));
    }
  }
  return {};
}

// Sources serve and targets do not; after the cutover the keyspace is sharded, so every target
// must be able to serve there and every source to stay there NOT SERVING.
Status checkServing(std::string_view keyspace, const std::vector<SideShard>& sources,
                    const std::vector<SideShard>& targets) {
  for (const SideShard& s : sources) {
    const std::string label = shardLabel(keyspace, s.name);
    if (!s.serving) {
      return invariantError(fmt::format(
          "source shard {} is not serving; a migration moves a serving shard's rows", label));
    }
    if (!fitsShardedKeyspace(s.name, s.range, false)) {
      return invariantError(fmt::format(
          "source shard {} owns {} but is named like key range {}; it could not stay in the "
          "keyspace once sharded",
          label, describeRange(s.range), s.name));
    }
  }
  for (const SideShard& t : targets) {
    const std::string label = shardLabel(keyspace, t.name);
    if (t.serving) {
      return invariantError(fmt::format(
          "target shard {} is serving; create targets NOT SERVING (CREATE SHARD ... NOT SERVING)",
          label));
    }
    if (!fitsShardedKeyspace(t.name, t.range, true)) {
      return invariantError(fmt::format(
          "target shard {} is not named by its key range; only such shards serve in a sharded "
          "keyspace",
          label));
    }
  }
  return {};
}

Status checkSpecTables(std::string_view keyspace, const MigrationSpec& spec) {
  for (std::size_t i = 0; i < spec.tables.size(); ++i) {
    const MigrationSpec::Table& t = spec.tables[i];
    if (Status s = validateName("table", t.name); !s) return s;
    if (!parseKind(t.kind)) {
      return invariantError(fmt::format("table {}.{}: kind '{}' is neither sharded nor reference",
                                        keyspace, t.name, t.kind));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (spec.tables[j].name == t.name) {
        return invariantError(fmt::format("table {}.{} is listed twice", keyspace, t.name));
      }
    }
  }
  return {};
}

Status insertRows(sqlite3* db, std::int64_t id, const MigrationSpec& spec,
                  const std::vector<SideShard>& sources, const std::string& time) {
  Statement table(db,
                  "INSERT INTO migration_tables (migration_id, source, table_name, kind, "
                  "rows_estimated) VALUES (?, ?, ?, ?, ?)");
  for (std::size_t i = 0; i < sources.size(); ++i) {
    for (const MigrationSpec::Table& t : spec.tables) {
      // A reference table has the same rows on every source: the first one copies it.
      if (t.kind == "reference" && i != 0) continue;
      table.reset();
      table.bind(1, id).bind(2, sources[i].name).bind(3, t.name).bind(4, t.kind);
      table.bind(5, storedCount(t.rowsEstimated));
      if (Status s = table.run(); !s) return s;
    }
  }
  Statement stream(db,
                   "INSERT INTO migration_streams (migration_id, direction, shard, updated) "
                   "VALUES (?, 'forward', ?, ?)");
  for (const SideShard& source : sources) {
    stream.reset();
    stream.bind(1, id).bind(2, source.name).bind(3, time);
    if (Status s = stream.run(); !s) return s;
  }
  return {};
}

Status readTables(sqlite3* db, Migration& m) {
  Statement st(db,
               "SELECT source, table_name, kind, cursor, done, rows_copied, bytes_copied, "
               "rows_estimated FROM migration_tables WHERE migration_id = ? ORDER BY rowid");
  st.bind(1, m.id);
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return {};
    m.tables.push_back(MigrationTable{st.text(0), st.text(1), st.text(2), st.text(3),
                                      st.int64(4) != 0, static_cast<std::uint64_t>(st.int64(5)),
                                      static_cast<std::uint64_t>(st.int64(6)),
                                      static_cast<std::uint64_t>(st.int64(7))});
  }
}

Status readStreams(sqlite3* db, Migration& m) {
  Statement st(db,
               "SELECT direction, shard, gtid_position, events_applied, rows_applied, lag_events, "
               "lag_seconds FROM migration_streams WHERE migration_id = ? "
               "ORDER BY direction, rowid");
  st.bind(1, m.id);
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return {};
    m.streams.push_back(
        MigrationStream{st.text(0), st.text(1), st.text(2), static_cast<std::uint64_t>(st.int64(3)),
                        static_cast<std::uint64_t>(st.int64(4)), st.int64(5), st.real(6)});
  }
}

Migration migrationFrom(const Statement& st) {
  Migration m;
  m.id = st.int64(0);
  m.keyspace = st.text(1);
  m.sources = splitNames(st.text(2));
  m.targets = splitNames(st.text(3));
  m.phase = migrationPhaseFromString(st.text(4)).value_or(MigrationPhase::kCopying);
  m.switched = st.int64(5) != 0;
  m.paused = st.int64(6) != 0;
  m.autoCutover = st.int64(7) != 0;
  m.throttleRowsPerSecond = static_cast<std::uint64_t>(st.int64(8));
  m.keyspaceWasUnsharded = st.int64(9) != 0;
  if (!st.isNull(10)) m.request = requestFromName(st.text(10));
  m.cutoverTimeoutMs = static_cast<std::uint32_t>(st.int64(11));
  m.verifyState = st.text(12);
  m.verifyDetail = st.text(13);
  m.lastError = st.text(14);
  m.cutoverAttempts = static_cast<std::uint32_t>(st.int64(15));
  m.lastPauseMs = st.int64(16);
  m.created = st.text(17);
  m.updated = st.text(18);
  return m;
}

}  // namespace

std::string MigrationRow::describe() const {
  return fmt::format("migration {} ({}{})", id, toString(phase),
                     switched ? ", switched to its targets" : "");
}

Result<MigrationRow> loadMigrationRow(sqlite3* db, std::int64_t id) {
  Statement st(db,
               "SELECT id, keyspace, sources, targets, phase, switched, keyspace_was_unsharded "
               "FROM migrations WHERE id = ?");
  st.bind(1, id);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return migrationNotFound(id);
  return rowFrom(st);
}

Result<std::optional<MigrationRow>> unfinishedMigrationOf(sqlite3* db, std::string_view keyspace) {
  Statement st(db,
               "SELECT id, keyspace, sources, targets, phase, switched, keyspace_was_unsharded "
               "FROM migrations WHERE keyspace = ? AND phase NOT IN ('completed', "
               "'cancelled') ORDER BY id LIMIT 1");
  st.bind(1, keyspace);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return std::optional<MigrationRow>();
  return std::optional<MigrationRow>(rowFrom(st));
}

bool isFinished(MigrationPhase phase) {
  return phase == MigrationPhase::kCompleted || phase == MigrationPhase::kCancelled;
}

std::optional<MigrationRequest> requestFromName(std::string_view text) {
  for (auto r : {MigrationRequest::kPause, MigrationRequest::kResume, MigrationRequest::kCancel,
                 MigrationRequest::kVerify, MigrationRequest::kCutover, MigrationRequest::kReverse,
                 MigrationRequest::kComplete}) {
    if (toString(r) == text) return r;
  }
  return std::nullopt;
}

Error migrationError(std::string message) {
  return Error::make(ErrorCode::kMigration, std::move(message));
}

Error migrationNotFound(std::int64_t id) {
  return notFoundError(fmt::format("migration {} does not exist", id));
}

std::int64_t storedCount(std::uint64_t value) {
  return static_cast<std::int64_t>(
      std::min<std::uint64_t>(value, std::numeric_limits<std::int64_t>::max()));
}

Result<std::string> migrationClock(sqlite3* db) {
  Statement st(db, "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
  auto row = st.step();
  if (!row) return row.takeError();
  return st.text(0);
}

// The cutover fences a source primary with SET GLOBAL read_only, which stops every database on
// that server: a source primary shared with another keyspace would stop that keyspace's writes.
Status checkUnsharedSources(sqlite3* db, std::string_view keyspace,
                            const std::vector<SideShard>& sources) {
  for (const SideShard& src : sources) {
    Statement st(db,
                 "SELECT o.host || ':' || o.port, o.keyspace || '.' || o.shard FROM backends p "
                 "JOIN backends o ON o.host = p.host AND o.port = p.port AND o.keyspace <> "
                 "p.keyspace WHERE p.keyspace = ? AND p.shard = ? AND p.role = 'primary'");
    st.bind(1, keyspace).bind(2, src.name);
    auto row = st.step();
    if (!row) return row.takeError();
    if (*row) {
      return invariantError(fmt::format(
          "source shard {}.{}'s primary {} also serves {}: the cutover fences the source primary "
          "with read_only, which would stop that keyspace's writes too; move the other keyspace "
          "to servers of its own first (docs/resharding.md)",
          keyspace, src.name, st.text(0), st.text(1)));
    }
  }
  return {};
}

Result<std::int64_t> insertMigration(sqlite3* db, const MigrationSpec& spec) {
  const std::string_view ks = spec.keyspace;
  auto sharded = requireKeyspace(db, ks);
  if (!sharded) return sharded.takeError();
  auto running = unfinishedMigrationOf(db, ks);
  if (!running) return running.takeError();
  if (*running) {
    return invariantError(
        fmt::format("keyspace '{}' already has an unfinished {}; complete or cancel it first", ks,
                    (*running)->describe()));
  }
  if (spec.sources.empty() || spec.targets.empty()) {
    return invariantError(fmt::format("a migration of keyspace '{}' needs at least one {} shard",
                                      ks, spec.sources.empty() ? "source" : "target"));
  }
  auto sources = resolveSide(db, ks, spec.sources);
  if (!sources) return sources.takeError();
  auto targets = resolveSide(db, ks, spec.targets);
  if (!targets) return targets.takeError();
  if (Status s = checkNames(ks, *sources, *targets); !s) return s.takeError();
  if (Status s = checkServing(ks, *sources, *targets); !s) return s.takeError();
  auto from = spanOf(ks, "sources", *sources);
  if (!from) return from.takeError();
  auto to = spanOf(ks, "targets", *targets);
  if (!to) return to.takeError();
  if (!(*from == *to)) {
    return invariantError(fmt::format("targets cover {} but sources cover {}", describeRange(*to),
                                      describeRange(*from)));
  }
  if (Status s = checkSpecTables(ks, spec); !s) return s.takeError();
  if (Status s = checkUnsharedSources(db, ks, *sources); !s) return s.takeError();

  auto time = migrationClock(db);
  if (!time) return time.takeError();
  Statement st(db,
               "INSERT INTO migrations (keyspace, sources, targets, phase, auto_cutover, "
               "throttle_rows, keyspace_was_unsharded, created, updated) "
               "VALUES (?, ?, ?, 'copying', ?, ?, ?, ?, ?) RETURNING id");
  st.bind(1, ks).bind(2, storedList(*sources)).bind(3, storedList(*targets));
  st.bind(4, std::int64_t{spec.autoCutover ? 1 : 0})
      .bind(5, storedCount(spec.throttleRowsPerSecond));
  st.bind(6, std::int64_t{*sharded ? 0 : 1}).bind(7, *time).bind(8, *time);
  auto row = st.step();
  if (!row) return row.takeError();
  const std::int64_t id = st.int64(0);
  if (Status s = st.run(); !s) return s.takeError();
  if (Status s = insertRows(db, id, spec, *sources, *time); !s) return s.takeError();
  return id;
}

Result<std::vector<Migration>> readMigrations(sqlite3* db, std::optional<std::int64_t> id) {
  Statement st(db,
               "SELECT id, keyspace, sources, targets, phase, switched, paused, auto_cutover, "
               "throttle_rows, keyspace_was_unsharded, request, cutover_timeout_ms, verify_state, "
               "verify_detail, last_error, cutover_attempts, last_pause_ms, created, updated "
               "FROM migrations WHERE ?1 IS NULL OR id = ?1 ORDER BY id DESC");
  if (id) {
    st.bind(1, *id);
  } else {
    st.bindNull(1);
  }
  std::vector<Migration> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) break;
    out.push_back(migrationFrom(st));
  }
  if (id && out.empty()) return migrationNotFound(*id);
  for (Migration& m : out) {
    if (Status s = readTables(db, m); !s) return s.takeError();
    if (Status s = readStreams(db, m); !s) return s.takeError();
  }
  return out;
}

Status checkNoUnfinishedMigration(sqlite3* db, std::string_view keyspace,
                                  std::optional<std::string_view> shard) {
  auto running = unfinishedMigrationOf(db, keyspace);
  if (!running) return running.takeError();
  if (!*running) return {};
  const MigrationRow& m = **running;
  if (!shard) {
    return invariantError(fmt::format(
        "keyspace '{}' has an unfinished {}; complete or cancel it first", keyspace, m.describe()));
  }
  for (const auto* side : {&m.sources, &m.targets}) {
    if (std::find(side->begin(), side->end(), *shard) == side->end()) continue;
    return invariantError(fmt::format(
        "shard {} is a {} of unfinished {}; complete or cancel it "
        "first",
        shardLabel(keyspace, *shard), side == &m.sources ? "source" : "target", m.describe()));
  }
  return {};
}

}  // namespace shardproxy::catalog::detail
