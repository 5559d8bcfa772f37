// Table rules and users: the row operations behind CREATE/DROP ... TABLE (RULE) and
// CREATE/DROP USER.
#include <fmt/format.h>

#include <algorithm>

#include "catalog_errors.h"
#include "model.h"
#include "sqlite_util.h"
#include "store.h"

namespace shardproxy::catalog::detail {
namespace {

constexpr std::size_t kMaxUserNameLength = 80;  // MariaDB's limit
constexpr std::size_t kNativeHashSize = 20;
constexpr std::size_t kSha2HashSize = 32;

std::string tableLabel(std::string_view keyspace, std::string_view table) {
  return fmt::format("{}.{}", keyspace, table);
}

Result<bool> userExists(sqlite3* db, std::string_view name) {
  Statement st(db, "SELECT 1 FROM users WHERE name = ?");
  st.bind(1, name);
  return st.step();
}

}  // namespace

Status checkTableRuleShape(std::string_view keyspace, std::string_view table, TableKind kind,
                           std::string_view shardKey, std::string_view hashFunction) {
  const std::string label = tableLabel(keyspace, table);
  if (kind == TableKind::kSharded) {
    if (shardKey.empty()) {
      return invariantError(fmt::format("sharded table rule {} needs a shard key column", label));
    }
    if (Status s = validateName("shard key column", shardKey); !s) return s;
  } else if (!shardKey.empty()) {
    return invariantError(fmt::format("reference table rule {} takes no shard key", label));
  }
  if (!isHashFunction(hashFunction)) {
    return invariantError(
        fmt::format("table rule {}: hash function '{}' is not supported (xxh3 for integer keys, "
                    "xxh3_ci for _ci strings, xxh3_bin for binary strings)",
                    label, hashFunction));
  }
  return {};
}

Status insertTableRule(sqlite3* db, std::string_view keyspace, std::string_view table,
                       TableKind kind, std::string_view shardKey, std::string_view hashFunction) {
  // A sharded rule in an unsharded keyspace is inert until a migration shards the keyspace; the
  // planner routes everything of an unsharded keyspace to its one serving shard.
  if (auto sharded = requireKeyspace(db, keyspace); !sharded) return sharded.takeError();
  if (Status s = validateName("table", table); !s) return s;
  if (Status s = checkTableRuleShape(keyspace, table, kind, shardKey, hashFunction); !s) return s;
  Statement exists(db, "SELECT 1 FROM table_rules WHERE keyspace = ? AND table_name = ?");
  exists.bind(1, keyspace).bind(2, table);
  auto row = exists.step();
  if (!row) return row.takeError();
  if (*row) {
    return existsError(fmt::format("table rule {} already exists", tableLabel(keyspace, table)));
  }
  Statement st(db,
               "INSERT INTO table_rules (keyspace, table_name, kind, shard_key, hash_function) "
               "VALUES (?, ?, ?, ?, ?)");
  st.bind(1, keyspace).bind(2, table).bind(3, toString(kind)).bind(4, shardKey);
  st.bind(5, hashFunction);
  return st.run();
}

Result<std::string> shardedRuleKey(sqlite3* db, std::string_view keyspace, std::string_view table,
                                   std::string_view whyNotReference) {
  const std::string what = fmt::format("{}.{}", keyspace, table);
  Statement rule(db,
                 "SELECT kind, shard_key FROM table_rules WHERE keyspace = ? AND table_name = ?");
  rule.bind(1, keyspace).bind(2, table);
  auto row = rule.step();
  if (!row) return row.takeError();
  if (!*row) {
    return notFoundError(fmt::format(
        "table rule {} does not exist (CREATE SHARDED TABLE {} SHARD KEY (column) first)", what,
        what));
  }
  if (parseKind(rule.text(0)) != TableKind::kSharded) {
    return invariantError(fmt::format("{} is a reference table: {}", what, whyNotReference));
  }
  return rule.text(1);
}

Status deleteTableRule(sqlite3* db, std::string_view keyspace, std::string_view table) {
  if (auto sharded = requireKeyspace(db, keyspace); !sharded) return sharded.takeError();
  if (Status s = checkNoSequence(db, keyspace, table); !s) return s;
  Statement st(db, "DELETE FROM table_rules WHERE keyspace = ? AND table_name = ? RETURNING 1");
  st.bind(1, keyspace).bind(2, table);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) {
    return notFoundError(fmt::format("table rule {} does not exist", tableLabel(keyspace, table)));
  }
  return st.run();
}

Status insertUser(sqlite3* db, std::string_view name, std::string_view nativeHash,
                  std::string_view sha2Hash, const std::vector<std::string>& keyspaces) {
  if (Status s = validateName("user", name, kMaxUserNameLength); !s) return s;
  const bool empty = nativeHash.empty() && sha2Hash.empty();
  if (!empty && (nativeHash.size() != kNativeHashSize || sha2Hash.size() != kSha2HashSize)) {
    return invariantError(fmt::format(
        "user '{}': native_hash must be {} bytes and sha2_hash {} bytes (both empty for an "
        "empty password)",
        name, kNativeHashSize, kSha2HashSize));
  }
  auto exists = userExists(db, name);
  if (!exists) return exists.takeError();
  if (*exists) return existsError(fmt::format("user '{}' already exists", name));

  Statement st(db, "INSERT INTO users (name, native_hash, sha2_hash) VALUES (?, ?, ?)");
  st.bind(1, name).bindBlob(2, nativeHash).bindBlob(3, sha2Hash);
  if (Status s = st.run(); !s) return s;

  std::vector<std::string> grants = keyspaces;
  std::sort(grants.begin(), grants.end());
  grants.erase(std::unique(grants.begin(), grants.end()), grants.end());
  Statement grant(db, "INSERT INTO user_keyspaces (user, keyspace) VALUES (?, ?)");
  for (const std::string& keyspace : grants) {
    // A keyspace that does not exist is most likely a typo; granting it would fail silently.
    if (auto sharded = requireKeyspace(db, keyspace); !sharded) {
      return notFoundError(fmt::format("user '{}': keyspace '{}' does not exist", name, keyspace));
    }
    grant.reset();
    grant.bind(1, name).bind(2, keyspace);
    if (Status s = grant.run(); !s) return s;
  }
  return {};
}

Status deleteUser(sqlite3* db, std::string_view name) {
  // Its keyspace grants go with it (ON DELETE CASCADE).
  Statement st(db, "DELETE FROM users WHERE name = ? RETURNING 1");
  st.bind(1, name);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return notFoundError(fmt::format("user '{}' does not exist", name));
  return st.run();
}

}  // namespace shardproxy::catalog::detail
