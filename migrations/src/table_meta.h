// What the resharding workers know about one table: its columns (binlog order), primary key,
// shard key and rule, read from information_schema on a source primary; and the SQL fragments
// built from them (column lists, key-range predicates, literals).
// Place in the request flow: loaded once per stream worker start; used by the copy, the applier
// and the verifier. Pure helpers apart from load().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binlog_reader.h"
#include "shardproxy/common/errors.h"
#include "shardproxy/migrations/blocking_client.h"

namespace shardproxy::migrations {

struct ColumnMeta {
  std::string name;
  std::string dataType;  // information_schema DATA_TYPE, lower case
  std::string charset;   // CHARACTER_SET_NAME; empty for non-text columns
  bool isUnsigned = false;
  bool generated = false;  // virtual/stored generated columns are never written
  bool numeric() const;
  bool binary() const;  // bytes that must travel as X'…'
  bool text() const { return !charset.empty() && charset != "binary"; }
};

struct TableMeta {
  std::string database;
  std::string name;
  bool reference = false;           // copied whole to every target
  std::vector<ColumnMeta> columns;  // every column, in table (= binlog) order
  std::vector<std::size_t> pk;      // primary key columns, indexes into columns
  std::optional<std::size_t> shardKey;
  std::string hashFunction = "xxh3";
  std::string createSql;  // SHOW CREATE TABLE

  std::string qualified() const;             // `db`.`t`
  std::string selectList() const;            // the written columns, in order
  std::string pkList() const;                // `a`, `b`
  std::vector<std::size_t> written() const;  // indexes of non-generated columns
  KeyColumns keyColumns() const;             // for the binlog reader
  // Key-range predicates over the primary key (composite keys expanded so indexes are used).
  std::string pkGreaterThan(const std::vector<std::string>& key) const;
  std::string pkAtMost(const std::vector<std::string>& key) const;
  // `(pk) IN ((…), (…))` for a set of keys.
  std::string pkIn(const std::vector<std::vector<std::string>>& keys) const;
};

// Reads the table's definition on `source` (connected as the DBA). A table without a primary
// key, or whose shard key column is missing, is an error that says so.
Result<TableMeta> loadTableMeta(BlockingClient& source, const std::string& database,
                                const std::string& table, bool reference,
                                const std::string& shardKey, const std::string& hashFunction);

// A value as a server sent it in a text result (utf8mb4 connection), as a literal for `col`.
void appendValueLiteral(std::string& out, const ColumnMeta& col, const char* data,
                        unsigned long length);
// A primary key cursor: literals joined by ',' (hex literals and numbers contain no comma).
std::string joinKey(const std::vector<std::string>& key);
std::vector<std::string> splitKey(std::string_view text);

}  // namespace shardproxy::migrations
