// The catalog file's own schema: connection settings and the ordered upgrade steps that take a
// file from any older `PRAGMA user_version` to Catalog::kSchemaVersion (docs/catalog.md).
#pragma once

#include <string>

#include "shardproxy/common/errors.h"

struct sqlite3;

namespace shardproxy::catalog::detail {

// WAL, foreign keys, synchronous=FULL, busy timeout. Run once per connection, outside a
// transaction (journal_mode cannot change inside one).
Status configureConnection(sqlite3* db, const std::string& path);

// Upgrades the schema to Catalog::kSchemaVersion in one IMMEDIATE transaction; refuses a file
// written by a newer shardproxy.
Status upgradeSchema(sqlite3* db, const std::string& path);

}  // namespace shardproxy::catalog::detail
