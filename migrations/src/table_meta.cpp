#include "table_meta.h"

#include <fmt/format.h>

#include <algorithm>

namespace shardproxy::migrations {

bool ColumnMeta::numeric() const {
  static constexpr std::string_view kTypes[] = {"tinyint", "smallint", "mediumint", "int", "bigint",
                                                "decimal", "float",    "double",    "year"};
  return std::find(std::begin(kTypes), std::end(kTypes), dataType) != std::end(kTypes);
}

bool ColumnMeta::binary() const {
  return dataType == "bit" || (!numeric() && charset == "binary") ||
         dataType.find("binary") != std::string::npos ||
         dataType.find("blob") != std::string::npos || dataType == "geometry" ||
         dataType == "point" || dataType == "linestring" || dataType == "polygon" ||
         dataType.starts_with("multi") || dataType == "geometrycollection";
}

std::string TableMeta::qualified() const {
  return quoteIdent(database) + "." + quoteIdent(name);
}

std::vector<std::size_t> TableMeta::written() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (!columns[i].generated) out.push_back(i);
  return out;
}

std::string TableMeta::selectList() const {
  std::string out;
  for (std::size_t i : written()) {
    if (!out.empty()) out += ", ";
    out += quoteIdent(columns[i].name);
  }
  return out;
}

std::string TableMeta::pkList() const {
  std::string out;
  for (std::size_t i : pk) {
    if (!out.empty()) out += ", ";
    out += quoteIdent(columns[i].name);
  }
  return out;
}

KeyColumns TableMeta::keyColumns() const {
  KeyColumns k;
  for (std::size_t i : pk) {
    const ColumnMeta& c = columns[i];
    k.columns.push_back(
        KeyColumns::Column{i, c.isUnsigned, !c.numeric(), c.binary() ? "" : c.charset});
  }
  return k;
}

// (a > x) OR (a = x AND b > y) ...: an index range scan on the primary key.
std::string TableMeta::pkGreaterThan(const std::vector<std::string>& key) const {
  std::string out = "(";
  for (std::size_t i = 0; i < pk.size() && i < key.size(); ++i) {
    if (i > 0) out += " OR ";
    out += "(";
    for (std::size_t j = 0; j < i; ++j)
      out += quoteIdent(columns[pk[j]].name) + " = " + key[j] + " AND ";
    out += quoteIdent(columns[pk[i]].name) + " > " + key[i] + ")";
  }
  out += ")";
  return out;
}

std::string TableMeta::pkAtMost(const std::vector<std::string>& key) const {
  return "NOT " + pkGreaterThan(key);
}

std::string TableMeta::pkIn(const std::vector<std::vector<std::string>>& keys) const {
  std::string out;
  const bool single = pk.size() == 1;
  out += single ? quoteIdent(columns[pk[0]].name) : "(" + pkList() + ")";
  out += " IN (";
  for (std::size_t k = 0; k < keys.size(); ++k) {
    if (k > 0) out += ", ";
    if (!single) out += "(";
    for (std::size_t i = 0; i < keys[k].size(); ++i) {
      if (i > 0) out += ", ";
      out += keys[k][i];
    }
    if (!single) out += ")";
  }
  out += ")";
  return out;
}

Result<TableMeta> loadTableMeta(BlockingClient& source, const std::string& database,
                                const std::string& table, bool reference,
                                const std::string& shardKey, const std::string& hashFunction) {
  TableMeta t;
  t.database = database;
  t.name = table;
  t.reference = reference;
  t.hashFunction = hashFunction.empty() ? "xxh3" : hashFunction;
  std::string db = hexLiteral(database, "utf8mb4"), tb = hexLiteral(table, "utf8mb4");
  auto cols = source.rows(
      fmt::format("SELECT COLUMN_NAME, LOWER(DATA_TYPE), IFNULL(CHARACTER_SET_NAME, ''), "
                  "COLUMN_TYPE LIKE '%unsigned%', EXTRA LIKE '%GENERATED%', COLUMN_KEY = 'PRI' "
                  "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} "
                  "ORDER BY ORDINAL_POSITION",
                  db, tb));
  if (!cols) return cols.takeError();
  if (cols->empty()) {
    return Error::make(ErrorCode::kCatalogNotFound,
                       fmt::format("table {}.{} does not exist on {}", database, table,
                                   source.endpoint().label()));
  }
  for (const Row& r : *cols) {
    ColumnMeta c;
    c.name = r[0].value_or("");
    c.dataType = r[1].value_or("");
    c.charset = r[2].value_or("");
    c.isUnsigned = r[3].value_or("0") == "1";
    c.generated = r[4].value_or("0") == "1";
    if (c.binary()) c.charset = "binary";
    t.columns.push_back(std::move(c));
  }
  auto pk = source.rows(fmt::format(
      "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = {} "
      "AND TABLE_NAME = {} AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
      db, tb));
  if (!pk) return pk.takeError();
  for (const Row& r : *pk) {
    for (std::size_t i = 0; i < t.columns.size(); ++i)
      if (t.columns[i].name == r[0].value_or("")) t.pk.push_back(i);
  }
  if (t.pk.empty()) {
    return Error::make(ErrorCode::kNotSupportedYet,
                       fmt::format("table {}.{} has no primary key: resharding copies and "
                                   "follows rows by primary key; add one first",
                                   database, table));
  }
  if (!reference) {
    for (std::size_t i = 0; i < t.columns.size(); ++i)
      if (t.columns[i].name.size() == shardKey.size() &&
          std::equal(shardKey.begin(), shardKey.end(), t.columns[i].name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
        t.shardKey = i;
    if (!t.shardKey) {
      return Error::make(
          ErrorCode::kNoTableRule,
          fmt::format("table {}.{} has no column '{}' (its shard key)", database, table, shardKey));
    }
  }
  auto create = source.rows("SHOW CREATE TABLE " + t.qualified());
  if (!create) return create.takeError();
  if (!create->empty() && create->front().size() > 1) t.createSql = create->front()[1].value_or("");
  return t;
}

void appendValueLiteral(std::string& out, const ColumnMeta& col, const char* data,
                        unsigned long length) {
  if (data == nullptr) {
    out += "NULL";
  } else if (col.numeric()) {
    out.append(data, length);
  } else if (col.binary()) {
    out += hexLiteral(std::string_view(data, length));
  } else {
    appendQuoted(out, std::string_view(data, length));
  }
}

std::string joinKey(const std::vector<std::string>& key) {
  std::string out;
  for (const auto& k : key) {
    if (!out.empty()) out += ',';
    out += k;
  }
  return out;
}

std::vector<std::string> splitKey(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace shardproxy::migrations
