// Lookup keys: the row operations behind CREATE / DROP LOOKUP KEY and the backfill's end, and the
// snapshot's copy of their definitions. The lookup tables themselves live on the lookup keyspace's
// backend; the proxy creates, fills and writes them (docs/routing.md, "Lookup keys").
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <tuple>

#include "catalog_errors.h"
#include "model.h"
#include "sqlite_util.h"
#include "store.h"

namespace shardproxy::catalog::detail {
namespace {

constexpr const char* kColumns =
    "id, keyspace, table_name, column_name, is_unique, lookup_keyspace, lookup_table, ready, "
    "error";

LookupKey lookupKeyAt(const Statement& st) {
  LookupKey k;
  k.id = st.int64(0);
  k.keyspace = st.text(1);
  k.table = st.text(2);
  k.column = st.text(3);
  k.unique = st.int64(4) != 0;
  k.lookupKeyspace = st.text(5);
  k.lookupTable = st.text(6);
  k.ready = st.int64(7) != 0;
  k.error = st.text(8);
  return k;
}

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The keyspace that holds the lookup table: the one named (it must be unsharded), or the only
// unsharded keyspace.
Result<std::string> lookupKeyspaceFor(sqlite3* db, const LookupKeySpec& spec) {
  if (!spec.lookupKeyspace.empty()) {
    auto sharded = requireKeyspace(db, spec.lookupKeyspace);
    if (!sharded) return sharded.takeError();
    if (*sharded) {
      return invariantError(fmt::format(
          "keyspace '{}' is sharded: a lookup table lives in an unsharded keyspace (its one "
          "shard answers every lookup)",
          spec.lookupKeyspace));
    }
    return spec.lookupKeyspace;
  }
  auto unsharded = listOf(db, "SELECT name FROM keyspaces WHERE sharded = 0 ORDER BY name", {});
  if (!unsharded) return unsharded.takeError();
  if (unsharded->empty()) {
    return invariantError(
        "a lookup table lives in an unsharded keyspace, and there is none: CREATE KEYSPACE "
        "lookups (with a shard) first, then CREATE LOOKUP KEY ... IN lookups");
  }
  if (unsharded->find(',') != std::string::npos) {
    return invariantError(fmt::format(
        "several unsharded keyspaces ({}) could hold the lookup table: name one with IN keyspace",
        *unsharded));
  }
  return *unsharded;
}

}  // namespace

Result<LookupKey> insertLookupKey(sqlite3* db, const LookupKeySpec& spec) {
  auto sharded = requireKeyspace(db, spec.keyspace);
  if (!sharded) return sharded.takeError();
  const std::string what = fmt::format("{}.{}", spec.keyspace, spec.table);
  if (Status s = validateName("lookup key column", spec.column); !s) return s.takeError();
  auto shardKey = shardedRuleKey(db, spec.keyspace, spec.table,
                                 "every shard has its rows, a lookup key has nothing to find");
  if (!shardKey) return shardKey.takeError();
  if (sameName(*shardKey, spec.column)) {
    return invariantError(
        fmt::format("{} is the shard key of {}: statements naming it already go to one shard",
                    spec.column, what));
  }
  Statement exists(db,
                   "SELECT 1 FROM lookup_keys WHERE keyspace = ? AND table_name = ? AND "
                   "column_name = ? COLLATE NOCASE");
  exists.bind(1, spec.keyspace).bind(2, spec.table).bind(3, spec.column);
  auto found = exists.step();
  if (!found) return found.takeError();
  if (*found) {
    return existsError(fmt::format("{} already has a lookup key on {}", what, spec.column));
  }
  auto home = lookupKeyspaceFor(db, spec);
  if (!home) return home.takeError();
  std::string table = fmt::format("lookup_{}_{}_{}", spec.keyspace, spec.table, spec.column);
  if (table.size() > 64) {
    return invariantError(fmt::format(
        "the lookup table's name {} would be longer than 64 characters: shorter names, please",
        table));
  }
  const std::string insert =
      "INSERT INTO lookup_keys (keyspace, table_name, column_name, is_unique, lookup_keyspace, "
      "lookup_table) VALUES (?, ?, ?, ?, ?, ?) RETURNING " +
      std::string(kColumns);
  Statement st(db, insert.c_str());
  st.bind(1, spec.keyspace).bind(2, spec.table).bind(3, spec.column);
  st.bind(4, std::int64_t{spec.unique ? 1 : 0}).bind(5, *home).bind(6, table);
  auto inserted = st.step();
  if (!inserted) return inserted.takeError();
  if (!*inserted) return invariantError("the lookup key was not recorded");
  LookupKey key = lookupKeyAt(st);
  if (Status s = st.run(); !s) return s.takeError();
  return key;
}

Status deleteLookupKey(sqlite3* db, std::string_view keyspace, std::string_view table,
                       std::string_view column) {
  if (auto sharded = requireKeyspace(db, keyspace); !sharded) return sharded.takeError();
  Statement st(db,
               "DELETE FROM lookup_keys WHERE keyspace = ? AND table_name = ? AND "
               "column_name = ? COLLATE NOCASE RETURNING 1");
  st.bind(1, keyspace).bind(2, table).bind(3, column);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) {
    return notFoundError(fmt::format("{}.{} has no lookup key on {}", keyspace, table, column));
  }
  return st.run();
}

Status updateLookupKey(sqlite3* db, std::int64_t id, bool ready, std::string_view error) {
  Statement st(db, "UPDATE lookup_keys SET ready = ?, error = ? WHERE id = ? RETURNING 1");
  st.bind(1, std::int64_t{ready ? 1 : 0}).bind(2, error).bind(3, id);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return notFoundError(fmt::format("lookup key {} does not exist", id));
  return st.run();
}

Status checkNoLookupKeysIn(sqlite3* db, std::string_view keyspace) {
  auto keys = listOf(db,
                     "SELECT keyspace || '.' || table_name || ' (' || column_name || ')' FROM "
                     "lookup_keys WHERE lookup_keyspace = ? ORDER BY 1",
                     {keyspace});
  if (!keys) return keys.takeError();
  if (keys->empty()) return {};
  return invariantError(fmt::format(
      "keyspace '{}' holds the lookup tables of {}; DROP LOOKUP KEY first", keyspace, *keys));
}

Status readLookupKeys(sqlite3* db, Snapshot& snap) {
  const std::string select = "SELECT " + std::string(kColumns) + " FROM lookup_keys";
  Statement st(db, select.c_str());
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) break;
    snap.lookupKeys.push_back(lookupKeyAt(st));
  }
  std::sort(
      snap.lookupKeys.begin(), snap.lookupKeys.end(), [](const LookupKey& a, const LookupKey& b) {
        return std::tie(a.keyspace, a.table, a.column) < std::tie(b.keyspace, b.table, b.column);
      });
  return {};
}

}  // namespace shardproxy::catalog::detail
