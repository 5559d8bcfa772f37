// Schema snapshots (table_schema.h): built from information_schema.COLUMNS rows, looked up by the
// planner.
#include "shardproxy/router/table_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace shardproxy::router {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

bool contains(std::string_view text, std::string_view word) {
  if (word.size() > text.size()) return false;
  for (std::size_t i = 0; i + word.size() <= text.size(); ++i)
    if (iequal(text.substr(i, word.size()), word)) return true;
  return false;
}

// A string literal for a database name: hex, so no quoting question arises.
std::string hexUtf8(std::string_view s) {
  std::string out = "_utf8mb4 X'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  out.push_back('\'');
  return out;
}

}  // namespace

std::optional<std::size_t> TrackedTable::position(std::string_view column) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (iequal(columns[i].name, column)) return i;
  return std::nullopt;
}

const TrackedTable* KeyspaceSchema::find(std::string_view table) const {
  auto it = std::lower_bound(tables.begin(), tables.end(), table,
                             [](const TrackedTable& t, std::string_view n) { return t.name < n; });
  return it != tables.end() && it->name == table ? &*it : nullptr;
}

std::string columnRowsQuery(std::string_view database) {
  return fmt::format(
      "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
      "EXTRA, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {} "
      "ORDER BY TABLE_NAME, ORDINAL_POSITION",
      hexUtf8(database));
}

Result<KeyspaceSchema> buildKeyspaceSchema(std::string keyspace, std::span<const ColumnRow> rows) {
  std::map<std::string, std::vector<const ColumnRow*>> byTable;
  for (const ColumnRow& r : rows)
    byTable[r.table].push_back(&r);
  KeyspaceSchema out;
  out.keyspace = std::move(keyspace);
  out.tables.reserve(byTable.size());
  for (auto& [name, cols] : byTable) {
    std::sort(cols.begin(), cols.end(),
              [](const ColumnRow* a, const ColumnRow* b) { return a->ordinal < b->ordinal; });
    TrackedTable t;
    t.name = name;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const ColumnRow& r = *cols[i];
      if (r.ordinal != i + 1) {
        return Error::make(ErrorCode::kInternal,
                           fmt::format("table {}.{}: column '{}' has ordinal position {} where "
                                       "{} was expected (its definition changed while read)",
                                       out.keyspace, name, r.column, r.ordinal, i + 1));
      }
      TrackedColumn c;
      c.name = r.column;
      c.dataType = r.dataType;
      c.columnType = r.columnType;
      c.collation = r.collation;
      c.nullable = iequal(r.nullable, "YES");
      c.generated = contains(r.extra, "GENERATED");
      c.autoIncrement = contains(r.extra, "auto_increment");
      t.columns.push_back(std::move(c));
    }
    out.tables.push_back(std::move(t));  // std::map iterates in name order
  }
  return out;
}

const KeyspaceSchema* SchemaSnapshot::keyspace(std::string_view name) const {
  auto it =
      std::lower_bound(keyspaces.begin(), keyspaces.end(), name,
                       [](const KeyspaceSchema& k, std::string_view n) { return k.keyspace < n; });
  return it != keyspaces.end() && it->keyspace == name ? &*it : nullptr;
}

const TrackedTable* SchemaSnapshot::table(std::string_view ks, std::string_view name) const {
  const KeyspaceSchema* k = keyspace(ks);
  return k == nullptr ? nullptr : k->find(name);
}

std::shared_ptr<const SchemaSnapshot> SchemaSnapshot::with(KeyspaceSchema ks) const {
  auto next = std::make_shared<SchemaSnapshot>();
  next->version = version + 1;
  next->keyspaces.reserve(keyspaces.size() + 1);
  bool placed = false;
  for (const KeyspaceSchema& k : keyspaces) {
    if (!placed && ks.keyspace <= k.keyspace) {
      next->keyspaces.push_back(std::move(ks));
      placed = true;
      if (next->keyspaces.back().keyspace == k.keyspace) continue;  // replaced
    }
    next->keyspaces.push_back(k);
  }
  if (!placed) next->keyspaces.push_back(std::move(ks));
  return next;
}

}  // namespace shardproxy::router
