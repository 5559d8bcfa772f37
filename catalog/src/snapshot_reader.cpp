// Builds an immutable Snapshot from the catalog file inside one read transaction (one WAL
// snapshot), sorted the way Snapshot's lookups expect.
#include <algorithm>
#include <map>
#include <tuple>

#include "model.h"
#include "sqlite_util.h"
#include "store.h"

namespace shardproxy::catalog::detail {
namespace {

// Steps a query to the end, calling `onRow` for each row.
template <typename OnRow>
Status forEachRow(Statement& st, OnRow onRow) {
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return {};
    onRow();
  }
}

Status readKeyspacesAndShards(sqlite3* db, Snapshot& snap) {
  Statement ks(
      db, "SELECT name, sharded, scatter_writes, transaction_mode, auto_failover FROM keyspaces");
  Status s = forEachRow(ks, [&] {
    Keyspace& keyspace = snap.keyspaces.emplace_back();
    keyspace.name = ks.text(0);
    keyspace.sharded = ks.int64(1) != 0;
    // The schema's CHECK admits only the two values.
    keyspace.scatterWrites = parseScatterWrites(ks.text(2)).value_or(ScatterWrites::kAllow);
    keyspace.transactionMode = parseTransactionMode(ks.text(3)).value_or(TransactionMode::kMulti);
    keyspace.autoFailover = ks.int64(4) != 0;
  });
  if (!s) return s;
  std::sort(snap.keyspaces.begin(), snap.keyspaces.end(),
            [](const Keyspace& a, const Keyspace& b) { return a.name < b.name; });

  Statement sh(db, "SELECT keyspace, name, range_start, range_end, serving FROM shards");
  for (;;) {
    auto row = sh.step();
    if (!row) return row.takeError();
    if (!*row) break;
    Shard& shard = snap.shards.emplace_back();
    shard.keyspace = sh.text(0);
    shard.name = sh.text(1);
    auto range = storedRangeAt(sh, 2, shard.keyspace, shard.name);
    if (!range) return range.takeError();
    shard.range = *range;
    shard.serving = sh.int64(4) != 0;
  }
  std::sort(snap.shards.begin(), snap.shards.end(), [](const Shard& a, const Shard& b) {
    return std::tie(a.keyspace, a.range.start, a.name) <
           std::tie(b.keyspace, b.range.start, b.name);
  });
  std::map<std::string_view, Keyspace*> byName;
  for (Keyspace& keyspace : snap.keyspaces) {
    byName[keyspace.name] = &keyspace;
  }
  for (std::size_t i = 0; i < snap.shards.size(); ++i) {
    auto it = byName.find(snap.shards[i].keyspace);
    if (it != byName.end()) it->second->shards.push_back(i);  // always found: foreign key
  }
  for (Keyspace& keyspace : snap.keyspaces) {
    std::vector<KeyRange> serving;
    for (std::size_t i : keyspace.shards) {
      if (snap.shards[i].serving) serving.push_back(snap.shards[i].range);
    }
    keyspace.uncovered = uncoveredRanges(serving);
  }
  return {};
}

Status readBackends(sqlite3* db, Snapshot& snap) {
  Statement st(db,
               "SELECT id, keyspace, shard, host, port, role, weight, state, max_lag_seconds "
               "FROM backends");
  Status s = forEachRow(st, [&] {
    Backend b;
    b.id = st.int64(0);
    b.keyspace = st.text(1);
    b.shard = st.text(2);
    b.address = Endpoint{st.text(3), static_cast<std::uint16_t>(st.int64(4))};
    b.role = parseRole(st.text(5)).value_or(BackendRole::kReplica);
    b.weight = static_cast<std::uint32_t>(st.int64(6));
    b.state = parseState(st.text(7)).value_or(BackendState::kOffline);
    b.maxLagSeconds = static_cast<std::uint32_t>(st.int64(8));
    snap.backends.push_back(std::move(b));
  });
  if (!s) return s;
  std::sort(snap.backends.begin(), snap.backends.end(), [](const Backend& a, const Backend& b) {
    return std::tie(a.address.host, a.address.port) < std::tie(b.address.host, b.address.port);
  });
  std::map<std::pair<std::string_view, std::string_view>, Shard*> byName;
  for (Shard& shard : snap.shards) {
    byName[{shard.keyspace, shard.name}] = &shard;
  }
  for (std::size_t i = 0; i < snap.backends.size(); ++i) {
    const Backend& b = snap.backends[i];
    auto it = byName.find({b.keyspace, b.shard});
    if (it == byName.end()) continue;  // never: foreign key
    Shard& shard = *it->second;
    if (b.role == BackendRole::kPrimary) {
      // The primary first, then replicas by address.
      shard.backends.insert(shard.backends.begin(), i);
      shard.primary = i;
    } else {
      shard.backends.push_back(i);
    }
  }
  return {};
}

Status readTables(sqlite3* db, Snapshot& snap) {
  Statement st(db, "SELECT keyspace, table_name, kind, shard_key, hash_function FROM table_rules");
  Status s = forEachRow(st, [&] {
    snap.tables.push_back(TableRule{st.text(0), st.text(1),
                                    parseKind(st.text(2)).value_or(TableKind::kReference),
                                    st.text(3), st.text(4)});
  });
  if (!s) return s;
  std::sort(snap.tables.begin(), snap.tables.end(), [](const TableRule& a, const TableRule& b) {
    return std::tie(a.keyspace, a.table) < std::tie(b.keyspace, b.table);
  });
  return {};
}

Status readUsers(sqlite3* db, Snapshot& snap) {
  Statement st(db, "SELECT name, native_hash, sha2_hash FROM users");
  Status s = forEachRow(st, [&] {
    User& user = snap.users.emplace_back();
    user.name = st.text(0);
    user.nativeHash = st.blob(1);
    user.sha2Hash = st.blob(2);
  });
  if (!s) return s;
  std::sort(snap.users.begin(), snap.users.end(),
            [](const User& a, const User& b) { return a.name < b.name; });
  std::map<std::string_view, User*> byName;
  for (User& user : snap.users) {
    byName[user.name] = &user;
  }
  Statement grants(db, "SELECT user, keyspace FROM user_keyspaces");
  s = forEachRow(grants, [&] {
    auto it = byName.find(grants.text(0));
    if (it != byName.end()) it->second->keyspaces.push_back(grants.text(1));
  });
  if (!s) return s;
  for (User& user : snap.users) {
    std::sort(user.keyspaces.begin(), user.keyspaces.end());
  }
  return {};
}

}  // namespace

Result<SnapshotPtr> readSnapshot(sqlite3* db) {
  auto snap = std::make_shared<Snapshot>();
  auto version = readCatalogVersion(db);
  if (!version) return version.takeError();
  snap->version = *version;
  for (auto read : {readKeyspacesAndShards, readBackends, readTables, readUsers, readSequences,
                    readLookupKeys}) {
    if (Status s = read(db, *snap); !s) return s.takeError();
  }
  return SnapshotPtr(std::move(snap));
}

}  // namespace shardproxy::catalog::detail
