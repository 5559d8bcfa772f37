// The catalog file's own schema: connection settings and the ordered upgrade steps that take a
// file from any older `PRAGMA user_version` to Catalog::kSchemaVersion (docs/catalog.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/catalog/decision_log.h"
#include "shardproxy/common/errors.h"

struct sqlite3;

namespace shardproxy::catalog::detail {

// WAL, foreign keys, synchronous=FULL, busy timeout. Run once per connection, outside a
// transaction (journal_mode cannot change inside one).
Status configureConnection(sqlite3* db, const std::string& path);

// Upgrades the schema to Catalog::kSchemaVersion in one IMMEDIATE transaction; refuses a file
// written by a newer shardproxy.
Status upgradeSchema(sqlite3* db, const std::string& path);

// Opens a connection to the catalog file (created when `create`), configured; with `upgrade`
// its schema brought to Catalog::kSchemaVersion. `db` is set whenever SQLite returned a handle,
// even on error: the caller owns and closes it (sqlite3_close_v2) on every path.
// The twopc_decisions rows, oldest first (decision_log.cpp).
Result<std::vector<DecisionRecord>> listDecisions(sqlite3* db);

Status openCatalogFile(const std::string& path, bool create, bool upgrade, sqlite3*& db,
                       std::string_view purpose = {});

}  // namespace shardproxy::catalog::detail
