// SHOW SCHEMA DRIFT (docs/admin-sql.md): every table's SHOW CREATE TABLE on each serving shard of
// a keyspace, compared, so a DDL that reached only some shards (or a hand edit on one) is found.
// Place in the request flow: off the request path. The admin thread calls
// MigrationManager::schemaDrift(), which reads every shard's primary as the DBA account on
// threads of its own (libmariadb, blocking, each connection with a timeout) and waits for them;
// the comparison itself is pure and unit-tested.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/common/errors.h"

namespace shardproxy::migrations {

// One shard's base tables in the keyspace's database: name → SHOW CREATE TABLE text.
struct ShardTables {
  std::string shard;
  std::map<std::string, std::string> tables;
};

struct TableDrift {
  std::string keyspace;
  std::string table;
  std::vector<std::string> shardsDiffering;  // in key order
  std::string detail;                        // what differs, for a human
};

// The definition without what legitimately differs from shard to shard: the AUTO_INCREMENT=n
// table option (each shard counts its own rows).
std::string normalizeCreateTable(std::string_view createTable);

// The tables (by name) whose normalized definitions differ between `shards` (in key order), or
// that some shards lack. The definition held by more shards than any other is taken as the
// intended one and the other shards are listed; when no definition (or absence) has more shards
// than every other, every shard is listed and the detail says there is no majority.
std::vector<TableDrift> compareShardTables(std::string_view keyspace,
                                           const std::vector<ShardTables>& shards);

struct DriftOptions {
  std::string user;  // the DBA account (--dba-user)
  std::string password;
  std::chrono::seconds timeout{10};  // connect, read and write, per shard
  std::size_t parallel = 16;         // shards read at once
};

// Every keyspace (or only `keyspace`) with two serving shards or more: reads each serving shard's
// primary, then compares. A shard that cannot be read is an error naming it (a partial comparison
// could hide the drift it was asked to find).
Result<std::vector<TableDrift>> findSchemaDrift(const catalog::Snapshot& snapshot,
                                                const std::optional<std::string>& keyspace,
                                                const DriftOptions& options);

}  // namespace shardproxy::migrations
