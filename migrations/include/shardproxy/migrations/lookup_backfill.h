// Lookup keys' tables (docs/routing.md, "Lookup keys"): creating one on the lookup keyspace's
// primary, and filling it from the rows already on the sharded table's shards.
// Place in the request flow: off the request path. CREATE LOOKUP KEY on the admin port creates the
// table (blocking the admin thread, as RESHARD's checks do) before the key is published, so the
// sessions that write rows can write the lookup rows from the first statement on; the migration
// manager's thread then backfills every key that is not ready yet, and marks it ready, after
// which the planner routes by it. Everything logs in as the DBA account.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/common/errors.h"

namespace shardproxy::migrations {

struct LookupOptions {
  std::string user;  // the DBA account (--dba-user)
  std::string password;
  std::chrono::seconds timeout{30};  // connect, read and write, per connection
  std::size_t batchRows = 1000;      // rows per INSERT into the lookup table
};

// CREATE TABLE IF NOT EXISTS `lookupKeyspace`.`lookupTable` (value <the column's type, character
// set and collation as a serving shard defines it> NOT NULL, keyspace_id BIGINT UNSIGNED NOT NULL,
// PRIMARY KEY (value) for a unique key, (value, keyspace_id) otherwise), on the lookup keyspace's
// primary. Errors name what could not be read or created.
Status createLookupTable(const catalog::Snapshot& snapshot, const catalog::LookupKey& key,
                         const LookupOptions& options);

struct BackfillResult {
  std::uint64_t rowsRead = 0;
  std::uint64_t entriesWritten = 0;
};

// Reads (column, shard key) of every row whose column is not NULL on each serving shard's primary
// and writes (value, keyspace ID) to the lookup table (INSERT IGNORE: entries the proxy already
// wrote stay). A unique key whose value sits on rows of two keyspace IDs is an error naming the
// value. Stops early (an error) when `stop` becomes true.
Result<BackfillResult> backfillLookupKey(const catalog::Snapshot& snapshot,
                                         const catalog::LookupKey& key,
                                         const LookupOptions& options,
                                         const std::atomic<bool>& stop);

}  // namespace shardproxy::migrations
