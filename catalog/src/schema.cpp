#include "schema.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <array>

#include "catalog_errors.h"
#include "shardproxy/catalog/catalog.h"
#include "sqlite_util.h"

namespace shardproxy::catalog::detail {
namespace {

// Step N takes user_version N-1 to N. Steps are append-only: once released, a step never
// changes, because files in the field were created by it.
constexpr const char* kStep1 = R"sql(
CREATE TABLE meta (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  catalog_version INTEGER NOT NULL CHECK (catalog_version >= 0)
);
INSERT INTO meta (id, catalog_version) VALUES (1, 0);

CREATE TABLE keyspaces (
  name    TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  sharded INTEGER NOT NULL CHECK (sharded IN (0, 1))
);

CREATE TABLE shards (
  keyspace    TEXT NOT NULL REFERENCES keyspaces (name),
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  range_start TEXT NOT NULL CHECK (length(range_start) = 16),
  range_end   TEXT CHECK (range_end IS NULL OR length(range_end) = 16),
  serving     INTEGER NOT NULL CHECK (serving IN (0, 1)),
  PRIMARY KEY (keyspace, name),
  CHECK (range_end IS NULL OR range_start < range_end)
);

CREATE TABLE backends (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  keyspace        TEXT NOT NULL,
  shard           TEXT NOT NULL,
  host            TEXT NOT NULL CHECK (length(host) >= 1),
  port            INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  role            TEXT NOT NULL CHECK (role IN ('primary', 'replica')),
  weight          INTEGER NOT NULL CHECK (weight BETWEEN 1 AND 4294967295),
  state           TEXT NOT NULL CHECK (state IN ('online', 'draining', 'offline')),
  max_lag_seconds INTEGER NOT NULL CHECK (max_lag_seconds BETWEEN 0 AND 4294967295),
  UNIQUE (host, port),
  FOREIGN KEY (keyspace, shard) REFERENCES shards (keyspace, name) ON DELETE CASCADE
);
CREATE INDEX backends_by_shard ON backends (keyspace, shard);

CREATE TABLE table_rules (
  keyspace      TEXT NOT NULL REFERENCES keyspaces (name) ON DELETE CASCADE,
  table_name    TEXT NOT NULL CHECK (length(table_name) BETWEEN 1 AND 64),
  kind          TEXT NOT NULL CHECK (kind IN ('sharded', 'reference')),
  shard_key     TEXT NOT NULL DEFAULT '',
  hash_function TEXT NOT NULL DEFAULT 'xxh3',
  PRIMARY KEY (keyspace, table_name)
);

CREATE TABLE users (
  name        TEXT PRIMARY KEY NOT NULL CHECK (length(name) >= 1),
  native_hash BLOB NOT NULL CHECK (length(native_hash) IN (0, 20)),
  sha2_hash   BLOB NOT NULL CHECK (length(sha2_hash) IN (0, 32)),
  CHECK ((length(native_hash) = 0) = (length(sha2_hash) = 0))
);

CREATE TABLE user_keyspaces (
  user     TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
  keyspace TEXT NOT NULL REFERENCES keyspaces (name),
  PRIMARY KEY (user, keyspace)
);
CREATE INDEX user_keyspaces_by_keyspace ON user_keyspaces (keyspace);

CREATE TABLE change_log (
  version   INTEGER PRIMARY KEY,
  time      TEXT NOT NULL,
  statement TEXT NOT NULL,
  who       TEXT NOT NULL
);
)sql";

// Resharding migrations (catalog/migration.h). A keyspace's finished migrations go with it;
// store_topology.cpp refuses to drop a keyspace or shard that an unfinished one names.
// sources/targets: shard names separated by ',' (createMigration refuses names with a comma).
constexpr const char* kStep2 = R"sql(
CREATE TABLE migrations (
  id                     INTEGER PRIMARY KEY AUTOINCREMENT,
  keyspace               TEXT NOT NULL REFERENCES keyspaces (name) ON DELETE CASCADE,
  sources                TEXT NOT NULL CHECK (length(sources) >= 1),
  targets                TEXT NOT NULL CHECK (length(targets) >= 1),
  phase                  TEXT NOT NULL CHECK (phase IN ('copying', 'replicating', 'cutting_over',
                                                        'completed', 'cancelled')),
  switched               INTEGER NOT NULL DEFAULT 0 CHECK (switched IN (0, 1)),
  paused                 INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  auto_cutover           INTEGER NOT NULL DEFAULT 0 CHECK (auto_cutover IN (0, 1)),
  throttle_rows          INTEGER NOT NULL DEFAULT 0 CHECK (throttle_rows >= 0),
  keyspace_was_unsharded INTEGER NOT NULL CHECK (keyspace_was_unsharded IN (0, 1)),
  request                TEXT CHECK (request IS NULL OR request IN ('cancel', 'verify', 'cutover',
                                                                    'reverse', 'complete')),
  cutover_timeout_ms     INTEGER NOT NULL DEFAULT 2000
                         CHECK (cutover_timeout_ms BETWEEN 0 AND 4294967295),
  verify_state           TEXT NOT NULL DEFAULT 'pending'
                         CHECK (verify_state IN ('pending', 'running', 'ok', 'differs')),
  verify_detail          TEXT NOT NULL DEFAULT '',
  last_error             TEXT NOT NULL DEFAULT '',
  cutover_attempts       INTEGER NOT NULL DEFAULT 0 CHECK (cutover_attempts >= 0),
  last_pause_ms          INTEGER NOT NULL DEFAULT -1 CHECK (last_pause_ms >= -1),
  created                TEXT NOT NULL,
  updated                TEXT NOT NULL
);
CREATE INDEX migrations_by_keyspace ON migrations (keyspace);

CREATE TABLE migration_tables (
  migration_id   INTEGER NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
  source         TEXT NOT NULL,
  table_name     TEXT NOT NULL CHECK (length(table_name) BETWEEN 1 AND 64),
  kind           TEXT NOT NULL CHECK (kind IN ('sharded', 'reference')),
  cursor         TEXT NOT NULL DEFAULT '',
  done           INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
  rows_copied    INTEGER NOT NULL DEFAULT 0 CHECK (rows_copied >= 0),
  bytes_copied   INTEGER NOT NULL DEFAULT 0 CHECK (bytes_copied >= 0),
  rows_estimated INTEGER NOT NULL DEFAULT 0 CHECK (rows_estimated >= 0),
  PRIMARY KEY (migration_id, source, table_name)
);

CREATE TABLE migration_streams (
  migration_id   INTEGER NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
  direction      TEXT NOT NULL CHECK (direction IN ('forward', 'reverse')),
  shard          TEXT NOT NULL,
  gtid_position  TEXT NOT NULL DEFAULT '',
  events_applied INTEGER NOT NULL DEFAULT 0 CHECK (events_applied >= 0),
  rows_applied   INTEGER NOT NULL DEFAULT 0 CHECK (rows_applied >= 0),
  lag_events     INTEGER NOT NULL DEFAULT -1 CHECK (lag_events >= -1),
  lag_seconds    REAL NOT NULL DEFAULT -1,
  updated        TEXT NOT NULL,
  PRIMARY KEY (migration_id, direction, shard)
);
)sql";

// Per-keyspace settings: scatter_writes (docs/routing.md, "Multi-shard writes"). Existing
// keyspaces keep today's behaviour, 'allow'.
constexpr const char* kStep3 = R"sql(
ALTER TABLE keyspaces ADD COLUMN scatter_writes TEXT NOT NULL DEFAULT 'allow'
  CHECK (scatter_writes IN ('allow', 'deny'));
)sql";

// Multi-shard transactions (docs/transactions.md): the keyspace's transaction_mode, and the
// two-phase commit decision log. A row is written ('prepare') before the first XA PREPARE, moved
// to 'commit' (or 'rollback') in one compare-and-set, and deleted when every branch is finished;
// the recovery pass finishes prepared XA branches by it. catalog_identity tags the XA ids this
// catalog's proxies create, so recovery never touches another catalog's transactions.
constexpr const char* kStep4 = R"sql(
ALTER TABLE keyspaces ADD COLUMN transaction_mode TEXT NOT NULL DEFAULT 'multi'
  CHECK (transaction_mode IN ('single', 'multi', 'twopc'));
CREATE TABLE twopc_decisions (
  gtrid      TEXT PRIMARY KEY CHECK (length(gtrid) BETWEEN 1 AND 64),
  state      TEXT NOT NULL CHECK (state IN ('prepare', 'commit', 'rollback')),
  branches   TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  decided_ms INTEGER
);
CREATE TABLE catalog_identity (
  id TEXT NOT NULL CHECK (length(id) = 8)
);
INSERT INTO catalog_identity (id) VALUES (lower(hex(randomblob(4))));
)sql";

// Global sequences (docs/routing.md, "Generated keys"): one per sharded table rule, going with it.
// next_value is the first value no proxy has reserved yet; proxies reserve blocks of `cache`
// values by moving it forward in one transaction (SequenceStore), so no value is handed out twice.
constexpr const char* kStep5 = R"sql(
CREATE TABLE sequences (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  keyspace    TEXT NOT NULL,
  table_name  TEXT NOT NULL,
  column_name TEXT NOT NULL CHECK (length(column_name) BETWEEN 1 AND 64),
  start_value INTEGER NOT NULL CHECK (start_value >= 1),
  next_value  INTEGER NOT NULL CHECK (next_value >= 1),
  cache       INTEGER NOT NULL CHECK (cache BETWEEN 1 AND 1000000),
  UNIQUE (keyspace, table_name),
  FOREIGN KEY (keyspace, table_name) REFERENCES table_rules (keyspace, table_name)
    ON DELETE CASCADE
);
)sql";

// Lookup keys (docs/routing.md, "Lookup keys"): a sharded table's column mapped to keyspace IDs in
// a table of an unsharded keyspace. `ready` once the existing rows are backfilled.
constexpr const char* kStep6 = R"sql(
CREATE TABLE lookup_keys (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  keyspace        TEXT NOT NULL,
  table_name      TEXT NOT NULL,
  column_name     TEXT NOT NULL CHECK (length(column_name) BETWEEN 1 AND 64),
  is_unique       INTEGER NOT NULL CHECK (is_unique IN (0, 1)),
  lookup_keyspace TEXT NOT NULL REFERENCES keyspaces (name),
  lookup_table    TEXT NOT NULL CHECK (length(lookup_table) BETWEEN 1 AND 64),
  ready           INTEGER NOT NULL DEFAULT 0 CHECK (ready IN (0, 1)),
  error           TEXT NOT NULL DEFAULT '',
  UNIQUE (keyspace, table_name, column_name),
  UNIQUE (lookup_keyspace, lookup_table),
  FOREIGN KEY (keyspace, table_name) REFERENCES table_rules (keyspace, table_name)
    ON DELETE CASCADE
);
)sql";

// Servers shared by keyspaces (docs/catalog.md): one server (host:port) may hold shards of several
// keyspaces, each keyspace its own database there; within a keyspace it is still one backend.
// SQLite cannot change a UNIQUE constraint in place: the table is rebuilt.
constexpr const char* kStep7 = R"sql(
CREATE TABLE backends_v7 (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  keyspace        TEXT NOT NULL,
  shard           TEXT NOT NULL,
  host            TEXT NOT NULL CHECK (length(host) >= 1),
  port            INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  role            TEXT NOT NULL CHECK (role IN ('primary', 'replica')),
  weight          INTEGER NOT NULL CHECK (weight BETWEEN 1 AND 4294967295),
  state           TEXT NOT NULL CHECK (state IN ('online', 'draining', 'offline')),
  max_lag_seconds INTEGER NOT NULL CHECK (max_lag_seconds BETWEEN 0 AND 4294967295),
  UNIQUE (keyspace, host, port),
  FOREIGN KEY (keyspace, shard) REFERENCES shards (keyspace, name) ON DELETE CASCADE
);
INSERT INTO backends_v7 (id, keyspace, shard, host, port, role, weight, state, max_lag_seconds)
  SELECT id, keyspace, shard, host, port, role, weight, state, max_lag_seconds FROM backends;
DROP TABLE backends;
ALTER TABLE backends_v7 RENAME TO backends;
CREATE INDEX backends_by_shard ON backends (keyspace, shard);
CREATE INDEX backends_by_address ON backends (host, port);
)sql";

// High availability (docs/high-availability.md): a keyspace's automatic failover switch, and the
// record of each primary switchover and failover (SHOW FAILOVERS).
constexpr const char* kStep8 = R"sql(
ALTER TABLE keyspaces ADD COLUMN auto_failover INTEGER NOT NULL DEFAULT 0
  CHECK (auto_failover IN (0, 1));
CREATE TABLE ha_events (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  kind              TEXT NOT NULL CHECK (kind IN ('switchover', 'failover')),
  shards            TEXT NOT NULL,
  old_primary       TEXT NOT NULL,
  new_primary       TEXT NOT NULL DEFAULT '',
  state             TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
  started_ms        INTEGER NOT NULL,
  finished_ms       INTEGER,
  pause_ms          INTEGER,
  old_gtid          TEXT NOT NULL DEFAULT '',
  new_gtid          TEXT NOT NULL DEFAULT '',
  lost_transactions INTEGER,
  old_primary_state TEXT NOT NULL DEFAULT '',
  detail            TEXT NOT NULL DEFAULT ''
);
)sql";

constexpr std::array<const char*, 8> kUpgradeSteps{kStep1, kStep2, kStep3, kStep4,
                                                   kStep5, kStep6, kStep7, kStep8};
static_assert(kUpgradeSteps.size() == Catalog::kSchemaVersion,
              "one upgrade step per schema version");

Result<int> userVersion(sqlite3* db) {
  Statement st(db, "PRAGMA user_version");
  auto row = st.step();
  if (!row) return row.takeError();
  return static_cast<int>(st.int64(0));
}

}  // namespace

Status openCatalogFile(const std::string& path, bool create, bool upgrade, sqlite3*& db,
                       std::string_view purpose) {
  db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    return ioError(fmt::format("catalog file {} cannot be opened{}: {}", path, purpose,
                               db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
  }
  sqlite3_extended_result_codes(db, 1);
  if (Status s = configureConnection(db, path); !s) return s;
  if (upgrade) return upgradeSchema(db, path);
  return {};
}

Status configureConnection(sqlite3* db, const std::string& path) {
  // The first statement that reads the file; a file that is not SQLite fails here.
  Statement wal(db, "PRAGMA journal_mode = WAL");
  auto row = wal.step();
  if (!row) {
    return ioError(fmt::format("catalog file {} cannot be opened: {}", path, sqlite3_errmsg(db)));
  }
  // An in-memory catalog (":memory:", used to compare a config with the real catalog) has no
  // file to journal; everything else must be WAL.
  if (!*row || (wal.text(0) != "wal" && !(path == ":memory:" && wal.text(0) == "memory"))) {
    return ioError(fmt::format("catalog file {} cannot use WAL mode (journal mode '{}')", path,
                               *row ? wal.text(0) : std::string()));
  }
  for (const char* pragma :
       {"PRAGMA foreign_keys = ON", "PRAGMA synchronous = FULL", "PRAGMA busy_timeout = 5000"}) {
    Status s = exec(db, pragma);
    if (!s) return s;
  }
  return {};
}

Status upgradeSchema(sqlite3* db, const std::string& path) {
  const int target = Catalog::kSchemaVersion;
  auto tx = Transaction::begin(db, Transaction::Kind::kWrite);
  if (!tx) return tx.takeError();
  auto current = userVersion(db);
  if (!current) return current.takeError();
  if (*current > target) {
    return Error::make(ErrorCode::kConfigInvalid,
                       fmt::format("catalog file {} has schema version {}, newer than this "
                                   "shardproxy supports ({}); upgrade shardproxy",
                                   path, *current, target));
  }
  if (*current < 0) {
    return Error::make(ErrorCode::kConfigInvalid,
                       fmt::format("catalog file {} has schema version {}, which no shardproxy "
                                   "writes",
                                   path, *current));
  }
  if (*current == target) return {};
  for (int v = *current; v < target; ++v) {
    if (sqlite3_exec(db, kUpgradeSteps.at(static_cast<std::size_t>(v)), nullptr, nullptr,
                     nullptr) != SQLITE_OK) {
      return ioError(
          fmt::format("catalog file {}: upgrading the schema from version {} to {} "
                      "failed: {}",
                      path, v, v + 1, sqlite3_errmsg(db)));
    }
  }
  // PRAGMA takes no bound parameters; `target` is a compile-time integer, not data.
  Status s = exec(db, fmt::format("PRAGMA user_version = {}", target).c_str());
  if (!s) return s;
  return tx->commit();
}

}  // namespace shardproxy::catalog::detail
