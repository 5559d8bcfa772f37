// Lookup tables: created from the sharded column's definition, filled from every serving shard.
#include "shardproxy/migrations/lookup_backfill.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "shardproxy/migrations/blocking_client.h"
#include "shardproxy/router/keyspace_id.h"

namespace shardproxy::migrations {
namespace {

// How a value of the column is written back as a literal.
enum class LiteralKind { kNumber, kText, kBinary };

struct ColumnDef {
  std::string columnType;  // COLUMN_TYPE: "int(11) unsigned", "varchar(64)"
  std::string charset;     // CHARACTER_SET_NAME, empty for non-strings
  std::string collation;
  LiteralKind literal = LiteralKind::kText;
};

const catalog::Backend* primaryOf(const catalog::Snapshot& snap, const catalog::Shard& shard) {
  return shard.primary ? &snap.backends[*shard.primary] : nullptr;
}

Endpoint endpointOf(const catalog::Backend& b, const LookupOptions& o, std::string database) {
  return Endpoint{b.address.host, b.address.port, o.user, o.password, std::move(database)};
}

unsigned timeoutOf(const LookupOptions& o) {
  return static_cast<unsigned>(std::max<std::int64_t>(1, o.timeout.count()));
}

Result<std::vector<const catalog::Shard*>> servingShards(const catalog::Snapshot& snap,
                                                         const std::string& keyspace) {
  const catalog::Keyspace* ks = snap.findKeyspace(keyspace);
  if (ks == nullptr) {
    return Error::make(ErrorCode::kCatalogNotFound,
                       fmt::format("keyspace '{}' does not exist", keyspace));
  }
  std::vector<const catalog::Shard*> out;
  for (std::size_t idx : ks->shards) {
    const catalog::Shard& sh = snap.shards[idx];
    if (!sh.serving) continue;
    if (!sh.primary) {
      return Error::make(ErrorCode::kNoRoute,
                         fmt::format("shard {}.{} has no primary", keyspace, sh.name));
    }
    out.push_back(&sh);
  }
  if (out.empty()) {
    return Error::make(ErrorCode::kNoRoute,
                       fmt::format("keyspace '{}' has no serving shard", keyspace));
  }
  return out;
}

Result<ColumnDef> readColumn(const catalog::Snapshot& snap, const catalog::LookupKey& key,
                             const LookupOptions& o) {
  auto shards = servingShards(snap, key.keyspace);
  if (!shards) return shards.takeError();
  BlockingClient c;
  if (Status s = c.connect(endpointOf(*primaryOf(snap, *shards->front()), o, ""), timeoutOf(o));
      !s) {
    return s.takeError();
  }
  std::string sql =
      "SELECT COLUMN_TYPE, IFNULL(CHARACTER_SET_NAME, ''), IFNULL(COLLATION_NAME, ''), "
      "DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ";
  appendQuoted(sql, key.keyspace);
  sql += " AND TABLE_NAME = ";
  appendQuoted(sql, key.table);
  sql += " AND COLUMN_NAME = ";
  appendQuoted(sql, key.column);
  auto rows = c.rows(sql);
  if (!rows) return rows.takeError();
  if (rows->empty()) {
    return Error::make(ErrorCode::kCatalogNotFound,
                       fmt::format("{}.{} has no column {} on shard {}.{}", key.keyspace, key.table,
                                   key.column, key.keyspace, shards->front()->name));
  }
  const Row& r = rows->front();
  ColumnDef d{r[0].value_or(""), r[1].value_or(""), r[2].value_or(""), LiteralKind::kText};
  const std::string type = r[3].value_or("");
  static constexpr std::string_view kNumbers[] = {
      "tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double", "year"};
  static constexpr std::string_view kLarge[] = {"tinytext", "text",    "mediumtext", "longtext",
                                                "tinyblob", "blob",    "mediumblob", "longblob",
                                                "json",     "geometry"};
  if (std::find(std::begin(kLarge), std::end(kLarge), type) != std::end(kLarge)) {
    return Error::make(
        ErrorCode::kNotSupportedYet,
        fmt::format("{} is a {} column: a lookup key needs a column that can be a primary key "
                    "(numbers, dates, CHAR / VARCHAR / BINARY / VARBINARY)",
                    key.column, type));
  }
  if (std::find(std::begin(kNumbers), std::end(kNumbers), type) != std::end(kNumbers)) {
    d.literal = LiteralKind::kNumber;
  } else if (d.charset.empty() && (type == "binary" || type == "varbinary")) {
    d.literal = LiteralKind::kBinary;
  }
  return d;
}

void appendValue(std::string& out, std::string_view value, const ColumnDef& d) {
  switch (d.literal) {
    case LiteralKind::kNumber:
      appendQuoted(out, value);  // '42' converts as the column's own type does
      return;
    case LiteralKind::kBinary:
      out += hexLiteral(value);
      return;
    case LiteralKind::kText:
      if (d.charset.empty()) {
        appendQuoted(out, value);  // dates and times: their text converts back
      } else {
        out += hexLiteral(value, d.charset);
      }
      return;
  }
}

std::string qualifiedLookup(const catalog::LookupKey& key) {
  return quoteIdent(key.lookupKeyspace) + "." + quoteIdent(key.lookupTable);
}

// Writes one batch; for a unique key, entries the table already had are checked to name the same
// keyspace ID (another row holding the value is a violation of the key).
struct BatchWriter {
  BlockingClient& lookup;
  const catalog::LookupKey& key;
  const ColumnDef& def;
  std::vector<std::pair<std::string, std::uint64_t>> rows;
  std::uint64_t written = 0;

  Status flush() {
    if (rows.empty()) return {};
    std::string sql =
        "INSERT IGNORE INTO " + qualifiedLookup(key) + " (value, keyspace_id) VALUES ";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      sql += i == 0 ? "(" : ", (";
      appendValue(sql, rows[i].first, def);
      sql += fmt::format(", {})", rows[i].second);
    }
    if (Status s = lookup.execute(sql); !s) return s;
    const std::uint64_t affected = lookup.affectedRows();
    written += affected;
    if (key.unique && affected < rows.size()) {
      if (Status s = checkUnique(); !s) return s;
    }
    rows.clear();
    return {};
  }

  Status checkUnique() {
    for (const auto& [value, ksid] : rows) {
      std::string sql = "SELECT keyspace_id FROM " + qualifiedLookup(key) + " WHERE value = ";
      appendValue(sql, value, def);
      auto found = lookup.scalar(sql);
      if (!found) return found.takeError();
      if (*found && **found != std::to_string(ksid)) {
        return Error::make(
            ErrorCode::kCatalogInvariant,
            fmt::format("UNIQUE lookup key {}.{} ({}): the value '{}' is on rows of two keyspace "
                        "IDs ({} and {}); drop the key, fix the rows, or create it without UNIQUE",
                        key.keyspace, key.table, key.column, value, **found, ksid));
      }
    }
    return {};
  }
};

}  // namespace

Status createLookupTable(const catalog::Snapshot& snapshot, const catalog::LookupKey& key,
                         const LookupOptions& options) {
  auto def = readColumn(snapshot, key, options);
  if (!def) return def.takeError();
  auto home = servingShards(snapshot, key.lookupKeyspace);
  if (!home) return home.takeError();
  BlockingClient c;
  if (Status s = c.connect(endpointOf(*primaryOf(snapshot, *home->front()), options, ""),
                           timeoutOf(options));
      !s) {
    return s;
  }
  if (Status s = c.execute("CREATE DATABASE IF NOT EXISTS " + quoteIdent(key.lookupKeyspace)); !s) {
    return s;
  }
  std::string type = def->columnType;
  if (!def->charset.empty())
    type += fmt::format(" CHARACTER SET {} COLLATE {}", def->charset, def->collation);
  return c.execute(fmt::format(
      "CREATE TABLE IF NOT EXISTS {} (value {} NOT NULL, keyspace_id BIGINT UNSIGNED NOT NULL, "
      "PRIMARY KEY ({})) ENGINE=InnoDB",
      qualifiedLookup(key), type, key.unique ? "value" : "value, keyspace_id"));
}

Result<BackfillResult> backfillLookupKey(const catalog::Snapshot& snapshot,
                                         const catalog::LookupKey& key,
                                         const LookupOptions& options,
                                         const std::atomic<bool>& stop) {
  const catalog::TableRule* rule = snapshot.findTable(key.keyspace, key.table);
  if (rule == nullptr || rule->kind != catalog::TableKind::kSharded) {
    return Error::make(ErrorCode::kCatalogNotFound,
                       fmt::format("{}.{} is not a sharded table", key.keyspace, key.table));
  }
  auto def = readColumn(snapshot, key, options);
  if (!def) return def.takeError();
  auto shards = servingShards(snapshot, key.keyspace);
  if (!shards) return shards.takeError();
  auto home = servingShards(snapshot, key.lookupKeyspace);
  if (!home) return home.takeError();
  BlockingClient lookup;
  if (Status s = lookup.connect(
          endpointOf(*primaryOf(snapshot, *home->front()), options, key.lookupKeyspace),
          timeoutOf(options));
      !s) {
    return s.takeError();
  }
  BackfillResult result;
  BatchWriter writer{lookup, key, *def, {}, 0};
  const std::string select =
      fmt::format("SELECT {0}, {1} FROM {2}.{3} WHERE {0} IS NOT NULL", quoteIdent(key.column),
                  quoteIdent(rule->shardKey), quoteIdent(key.keyspace), quoteIdent(key.table));
  for (const catalog::Shard* shard : *shards) {
    BlockingClient source;
    if (Status s = source.connect(endpointOf(*primaryOf(snapshot, *shard), options, ""),
                                  timeoutOf(options));
        !s) {
      return s.takeError();
    }
    std::optional<Error> failed;
    Status streamed = source.stream(select, [&](char** row, unsigned long* len, unsigned) {
      if (failed || stop.load(std::memory_order_relaxed)) return;
      ++result.rowsRead;
      if (row[1] == nullptr) return;  // a NULL shard key: the row is on no shard's range
      auto ksid = router::keyspaceIdOfValue(std::string_view(row[1], len[1]), rule->hashFunction);
      if (!ksid) {
        failed = Error::make(ErrorCode::kConfigInvalid,
                             fmt::format("shard key value '{}' of {}.{} cannot be hashed by {}",
                                         std::string_view(row[1], len[1]), key.keyspace, key.table,
                                         rule->hashFunction));
        return;
      }
      writer.rows.emplace_back(std::string(row[0], len[0]), *ksid);
      if (writer.rows.size() >= options.batchRows) {
        if (Status s = writer.flush(); !s) failed = s.takeError();
      }
    });
    if (failed) return std::move(*failed);
    if (!streamed) return streamed.takeError();
    if (stop.load()) return Error::make(ErrorCode::kInternal, "the backfill was stopped");
  }
  if (Status s = writer.flush(); !s) return s.takeError();
  result.entriesWritten = writer.written;
  return result;
}

}  // namespace shardproxy::migrations
