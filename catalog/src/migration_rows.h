// What the migration row operations share (store_migrations.cpp creates and reads migrations,
// store_migration_changes.cpp changes them): the row a mutator decides by, the stored forms of
// requests and counters, and the clock of the `created`/`updated` columns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/catalog/migration.h"
#include "shardproxy/common/errors.h"

struct sqlite3;

namespace shardproxy::catalog::detail {

// The columns of a migration the mutators decide by.
struct MigrationRow {
  std::int64_t id = 0;
  std::string keyspace;
  std::vector<std::string> sources;
  std::vector<std::string> targets;
  MigrationPhase phase = MigrationPhase::kCopying;
  bool switched = false;
  bool keyspaceWasUnsharded = false;
  // "migration 3 (copying)", for messages.
  std::string describe() const;
};

Result<MigrationRow> loadMigrationRow(sqlite3* db, std::int64_t id);
// The keyspace's migration that is neither completed nor cancelled (there is at most one).
Result<std::optional<MigrationRow>> unfinishedMigrationOf(sqlite3* db, std::string_view keyspace);

bool isFinished(MigrationPhase phase);
// The request stored as toString(request) ("cutover"); PAUSE and RESUME are never stored (they
// set `paused`).
std::optional<MigrationRequest> requestFromName(std::string_view text);

// A request the migration's state refuses, or a worker's report that does not fit it.
Error migrationError(std::string message);
Error migrationNotFound(std::int64_t id);

// SQLite integers are signed; counters never get near 2^63, but a wrapped one must not fail a
// CHECK and stop the worker.
std::int64_t storedCount(std::uint64_t value);
// UTC, ISO 8601 with milliseconds, as the change log writes it.
Result<std::string> migrationClock(sqlite3* db);

}  // namespace shardproxy::catalog::detail
