// CREATE SEQUENCE without START WITH (docs/admin-sql.md, "Sequences"): the largest value a column
// holds over every serving shard, so a new sequence starts above the rows already there.
// Place in the request flow: off the request path. The admin thread calls
// MigrationManager::columnMax(), which reads each shard's primary as the DBA account on threads of
// its own (libmariadb, blocking, a timeout per connection) and waits for them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/common/errors.h"

namespace shardproxy::migrations {

struct ColumnMaxOptions {
  std::string user;  // the DBA account (--dba-user)
  std::string password;
  std::chrono::seconds timeout{10};  // connect, read and write, per shard
};

// MAX(column) of keyspace.table over the keyspace's serving shards' primaries; nullopt when
// every shard's table is empty. A shard that cannot be read (no primary, no table, a timeout)
// or a value that is not an integer below 2^63 is an error naming the shard.
Result<std::optional<std::int64_t>> findColumnMax(const catalog::Snapshot& snapshot,
                                                  const std::string& keyspace,
                                                  const std::string& table,
                                                  const std::string& column,
                                                  const ColumnMaxOptions& options);

}  // namespace shardproxy::migrations
