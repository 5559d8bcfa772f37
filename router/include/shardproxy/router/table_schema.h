// The tables' columns as the shards define them (schema tracking, docs/routing.md).
// Place in the request flow: the proxy's schema tracker reads a serving primary's
// information_schema.COLUMNS for each sharded keyspace (off the event loops) and publishes a
// SchemaSnapshot; each session loads it with its catalog snapshot and hands it to the planner in
// PlanInput::schema. The planner reads a table's columns where the statement does not name them:
// an INSERT without a column list (the shard key's position), a `SELECT *` whose merge needs
// column positions. The snapshot is immutable once published; building one is pure.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/common/errors.h"

namespace shardproxy::router {

struct TrackedColumn {
  std::string name;
  std::string dataType;    // DATA_TYPE: "int", "varchar", ...
  std::string columnType;  // COLUMN_TYPE: "int(10) unsigned", "varchar(64)", ...
  std::string collation;   // COLLATION_NAME, empty for non-strings
  bool nullable = false;
  bool generated = false;  // VIRTUAL / STORED GENERATED: an INSERT may only give it DEFAULT
  bool autoIncrement = false;
  friend bool operator==(const TrackedColumn&, const TrackedColumn&) = default;
};

struct TrackedTable {
  std::string name;
  std::vector<TrackedColumn> columns;  // in ordinal order

  // The position of `column` (compared as MySQL compares column names: case-insensitively).
  std::optional<std::size_t> position(std::string_view column) const;
  friend bool operator==(const TrackedTable&, const TrackedTable&) = default;
};

struct KeyspaceSchema {
  std::string keyspace;
  std::vector<TrackedTable> tables;  // sorted by name
  std::string source;                // the backend it was read from ("host:port")

  const TrackedTable* find(std::string_view table) const;
};

// One row of information_schema.COLUMNS, as the tracker selects it (columnRowsQuery()).
struct ColumnRow {
  std::string table;
  std::string column;
  std::uint32_t ordinal = 0;
  std::string dataType;
  std::string columnType;
  std::string nullable;  // IS_NULLABLE: "YES" / "NO"
  std::string extra;     // EXTRA: "auto_increment", "VIRTUAL GENERATED", ...
  std::string collation;
};

// The query that reads a database's columns: TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION,
// DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, EXTRA, COLLATION_NAME, ordered by table and position.
std::string columnRowsQuery(std::string_view database);

// A keyspace's tables from its column rows (any order). A table whose ordinal positions are not
// 1..n (a column dropped while the rows were read) is an error: the positions are what matters.
Result<KeyspaceSchema> buildKeyspaceSchema(std::string keyspace, std::span<const ColumnRow> rows);

class SchemaSnapshot {
 public:
  std::uint64_t version = 0;
  std::vector<KeyspaceSchema> keyspaces;  // sorted by name; a keyspace not read yet is absent

  const KeyspaceSchema* keyspace(std::string_view name) const;
  const TrackedTable* table(std::string_view keyspace, std::string_view table) const;

  // A new snapshot: this one with `ks` added or replaced, version + 1.
  std::shared_ptr<const SchemaSnapshot> with(KeyspaceSchema ks) const;
  // A new snapshot without the keyspaces `keep` rejects (dropped from the catalog), or null when
  // nothing would change.
  template <typename Keep>
  std::shared_ptr<const SchemaSnapshot> retain(Keep keep) const {
    auto next = std::make_shared<SchemaSnapshot>();
    next->version = version + 1;
    for (const KeyspaceSchema& k : keyspaces)
      if (keep(k.keyspace)) next->keyspaces.push_back(k);
    if (next->keyspaces.size() == keyspaces.size()) return nullptr;
    return next;
  }
};

using SchemaSnapshotPtr = std::shared_ptr<const SchemaSnapshot>;

}  // namespace shardproxy::router
