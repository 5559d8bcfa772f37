// The worker and checker of the catalog's kill -9 test (tests/integration/catalog_kill9_test.sh).
//
//   catalog_stress FILE           applies changes forever; prints each committed version (flushed)
//   catalog_stress --check FILE   opens FILE, checks SQLite integrity and every catalog invariant
//                                 on a snapshot, prints the version; exit 1 on any violation
//
// The worker cycles through every kind of change, including ones the catalog must reject and a
// many-row JSON import, so a kill lands inside all of them. It may start from any state a
// previous, killed worker left: each change is tried and a rejected one is simply skipped.
#include <sqlite3.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "shardproxy/catalog/catalog.h"

namespace {

using shardproxy::Status;
using namespace shardproxy::catalog;

Endpoint ep(std::uint16_t port) {
  return Endpoint{"127.0.0.1", port};
}

constexpr const char* kImport = R"json({
  "keyspaces": [{"name": "imported", "sharded": true,
    "shards": [
      {"name": "-40", "backends": [{"host": "10.0.0.1", "port": 3306, "role": "primary"},
                                   {"host": "10.0.0.2", "port": 3306, "role": "replica"}]},
      {"name": "40-80", "backends": [{"host": "10.0.0.3", "port": 3306, "role": "primary"}]},
      {"name": "80-", "serving": false,
       "backends": [{"host": "10.0.0.4", "port": 3306, "role": "primary", "state": "draining"}]}],
    "tables": [{"name": "t1", "kind": "sharded", "shard_key": "id"},
               {"name": "t2", "kind": "reference"}]}],
  "users": [{"name": "imported_user", "password": "pw", "keyspaces": ["imported"]}]})json";

std::vector<std::function<Status(Catalog&, const ChangeContext&)>> cycle() {
  return {
      [](Catalog& c, const ChangeContext& x) { return c.createKeyspace("shop", true, x); },
      [](Catalog& c, const ChangeContext& x) {
        return c.createShard("shop", "-80", ep(20001), {ep(20002), ep(20003)}, true, x);
      },
      [](Catalog& c, const ChangeContext& x) {
        return c.createShard("shop", "80-", ep(20004), {}, true, x);
      },
      // Rejected while -80 serves: overlap.
      [](Catalog& c, const ChangeContext& x) {
        return c.createShard("shop", "-40", ep(20005), {}, true, x);
      },
      [](Catalog& c, const ChangeContext& x) {
        return c.createShard("shop", "-40", ep(20005), {}, false, x);
      },
      [](Catalog& c, const ChangeContext& x) {
        return c.addBackend(ep(20006), "shop", "80-", BackendRole::kReplica, 2, 10, x);
      },
      // Rejected: 80- already has a primary.
      [](Catalog& c, const ChangeContext& x) {
        return c.addBackend(ep(20007), "shop", "80-", BackendRole::kPrimary, {}, {}, x);
      },
      [](Catalog& c, const ChangeContext& x) {
        return c.setBackendState(ep(20002), BackendState::kDraining, x);
      },
      [](Catalog& c, const ChangeContext& x) {
        return c.createTableRule("shop", "orders", TableKind::kSharded, "customer_id", x);
      },
      [](Catalog& c, const ChangeContext& x) { return c.createUser("app", "secret", {"shop"}, x); },
      [](Catalog& c, const ChangeContext& x) { return c.importJson(kImport, x); },
      [](Catalog& c, const ChangeContext& x) { return c.setShardServing("shop", "-80", false, x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropShard("shop", "-80", x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropUser("app", x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropUser("imported_user", x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropTableRule("shop", "orders", x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropBackend(ep(20006), x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropShard("shop", "80-", x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropShard("shop", "-40", x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropKeyspace("shop", x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropShard("imported", "-40", x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropShard("imported", "40-80", x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropShard("imported", "80-", x); },
      [](Catalog& c, const ChangeContext& x) { return c.dropKeyspace("imported", x); },
  };
}

int runWorker(const std::string& path) {
  auto catalog = Catalog::open(path);
  if (!catalog) {
    std::fprintf(stderr, "%s\n", catalog.error().message.c_str());
    return 1;
  }
  const auto steps = cycle();
  for (std::uint64_t n = 0;; ++n) {
    const ChangeContext ctx{"catalog_stress", "step " + std::to_string(n % steps.size())};
    if (steps[n % steps.size()](**catalog, ctx)) {
      std::printf("%llu\n", static_cast<unsigned long long>((*catalog)->version()));
      std::fflush(stdout);
    }
  }
}

// Independent of the catalog's own checks: re-derives each rule from the snapshot.
std::string violation(const Snapshot& snap) {
  for (const Keyspace& ks : snap.keyspaces) {
    const KeyRange* previous = nullptr;
    std::vector<KeyRange> serving;
    for (std::size_t i : ks.shards) {
      const Shard& shard = snap.shards[i];
      std::size_t primaries = 0;
      for (std::size_t b : shard.backends) {
        primaries += snap.backends[b].role == BackendRole::kPrimary ? 1 : 0;
      }
      if (!shard.backends.empty() && primaries != 1) return "shard " + shard.name + " primaries";
      if (!shard.serving) continue;
      if (previous != nullptr && previous->overlaps(shard.range)) return "overlap in " + ks.name;
      previous = &shard.range;
    }
    if (!ks.sharded && ks.shards.size() > 1) return "unsharded keyspace " + ks.name;
  }
  for (const TableRule& t : snap.tables) {
    if (snap.findKeyspace(t.keyspace) == nullptr) return "table rule without keyspace";
  }
  return {};
}

std::string integrity(const std::string& path) {
  sqlite3* db = nullptr;
  std::string result = "cannot open";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close_v2(db);
  return result;
}

int runCheck(const std::string& path) {
  auto catalog = Catalog::open(path);  // recovers the WAL a killed worker left
  if (!catalog) {
    std::fprintf(stderr, "open: %s\n", catalog.error().message.c_str());
    return 1;
  }
  auto snap = (*catalog)->snapshot();
  if (!snap) {
    std::fprintf(stderr, "snapshot: %s\n", snap.error().message.c_str());
    return 1;
  }
  if (std::string v = violation(**snap); !v.empty()) {
    std::fprintf(stderr, "invariant broken: %s\n", v.c_str());
    return 1;
  }
  if (std::string ok = integrity(path); ok != "ok") {
    std::fprintf(stderr, "integrity_check: %s\n", ok.c_str());
    return 1;
  }
  std::printf("%llu\n", static_cast<unsigned long long>((*snap)->version));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "--check") return runCheck(args[1]);
  if (args.size() == 1 && args[0] != "--check") return runWorker(args[0]);
  std::fprintf(stderr, "usage: catalog_stress FILE | catalog_stress --check FILE\n");
  return 2;
}
