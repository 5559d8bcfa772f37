// The whole-catalog rules, checked inside every change's transaction just before COMMIT, and
// the version/change-log bookkeeping that goes with each change. The row operations already
// reject the changes they know break a rule, with a message about that change; this pass is the
// net under them (and under importJson, which combines many).
#include <fmt/format.h>

#include "catalog_errors.h"
#include "model.h"
#include "sqlite_util.h"
#include "store.h"

namespace shardproxy::catalog::detail {
namespace {

struct ShardRow {
  std::string name;
  KeyRange range;
  bool serving = false;
};

Result<std::vector<ShardRow>> loadShards(sqlite3* db, std::string_view keyspace) {
  Statement st(db,
               "SELECT name, range_start, range_end, serving FROM shards WHERE keyspace = ? "
               "ORDER BY range_start, name");
  st.bind(1, keyspace);
  std::vector<ShardRow> shards;
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return shards;
    auto range = storedRangeAt(st, 1, keyspace, st.text(0));
    if (!range) return range.takeError();
    shards.push_back(ShardRow{st.text(0), *range, st.int64(3) != 0});
  }
}

// One shard of its own, owning the whole space; beside it only NOT SERVING resharding targets
// named by their key range (a migration makes the keyspace sharded at its cutover).
Status checkUnshardedKeyspace(std::string_view keyspace, const std::vector<ShardRow>& shards) {
  std::vector<const ShardRow*> own;
  for (const ShardRow& shard : shards) {
    if (!isReshardingTarget(shard.name, shard.range, shard.serving)) own.push_back(&shard);
  }
  if (own.size() > 1) {
    std::string names;
    for (const ShardRow* shard : own) {
      names += (names.empty() ? "" : ", ") + shardLabel(keyspace, shard->name);
    }
    return invariantError(fmt::format(
        "unsharded keyspace '{}' has {} shards ({}); it may have only one, besides NOT SERVING "
        "resharding targets named by their key range",
        keyspace, own.size(), names));
  }
  if (!own.empty() && !(own[0]->range == KeyRange{})) {
    return invariantError(
        fmt::format("shard {} of unsharded keyspace '{}' must own the whole "
                    "key space",
                    shardLabel(keyspace, own[0]->name), keyspace));
  }
  return {};
}

Status checkShardedKeyspace(std::string_view keyspace, const std::vector<ShardRow>& shards) {
  const ShardRow* previousServing = nullptr;
  for (const ShardRow& shard : shards) {
    if (!fitsShardedKeyspace(shard.name, shard.range, shard.serving)) {
      return invariantError(fmt::format(
          "shard {}: its name is not the canonical form of its key range {}{}",
          shardLabel(keyspace, shard.name), shard.range.toString(),
          KeyRange::parse(shard.name) ? ""
                                      : " (only the old shard of a keyspace that was unsharded "
                                        "may keep its name, NOT SERVING and owning the whole "
                                        "space)"));
    }
    if (!shard.serving) continue;
    // Sorted by start: if any two serving shards overlap, two neighbours do.
    if (previousServing != nullptr && previousServing->range.overlaps(shard.range)) {
      return invariantError(fmt::format("serving shards {} and {} overlap",
                                        shardLabel(keyspace, previousServing->name),
                                        shardLabel(keyspace, shard.name)));
    }
    previousServing = &shard;
  }
  return {};
}

Status checkKeyspaces(sqlite3* db) {
  Statement st(db, "SELECT name, sharded FROM keyspaces ORDER BY name");
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return {};
    const std::string name = st.text(0);
    auto shards = loadShards(db, name);
    if (!shards) return shards.takeError();
    Status s = st.int64(1) != 0 ? checkShardedKeyspace(name, *shards)
                                : checkUnshardedKeyspace(name, *shards);
    if (!s) return s;
  }
}

Status checkPrimaries(sqlite3* db) {
  Statement st(db,
               "SELECT keyspace, shard, sum(role = 'primary') FROM backends "
               "GROUP BY keyspace, shard HAVING sum(role = 'primary') <> 1 ORDER BY 1, 2");
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return {};
  return invariantError(
      fmt::format("shard {} has {} primaries; a shard with backends has exactly one primary",
                  shardLabel(st.text(0), st.text(1)), st.int64(2)));
}

Status checkTableRules(sqlite3* db) {
  Statement st(db,
               "SELECT keyspace, table_name, kind, shard_key, hash_function FROM table_rules "
               "ORDER BY 1, 2");
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return {};
    auto kind = parseKind(st.text(2));
    if (!kind) return invariantError(fmt::format("table rule has unknown kind '{}'", st.text(2)));
    Status s = checkTableRuleShape(st.text(0), st.text(1), *kind, st.text(3), st.text(4));
    if (!s) return s;
  }
}

Status checkForeignKeys(sqlite3* db) {
  Statement st(db, "PRAGMA foreign_key_check");
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return {};
  return invariantError(
      fmt::format("a row of table {} refers to a missing {}", st.text(0), st.text(2)));
}

}  // namespace

Status checkInvariants(sqlite3* db) {
  for (auto check : {checkKeyspaces, checkPrimaries, checkTableRules, checkForeignKeys}) {
    if (Status s = check(db); !s) return s;
  }
  return {};
}

Result<std::uint64_t> readCatalogVersion(sqlite3* db) {
  Statement st(db, "SELECT catalog_version FROM meta WHERE id = 1");
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return Error::make(ErrorCode::kInternal, "catalog: the meta row is missing");
  return static_cast<std::uint64_t>(st.int64(0));
}

Result<std::uint64_t> recordChange(sqlite3* db, const ChangeContext& ctx) {
  auto current = readCatalogVersion(db);
  if (!current) return current.takeError();
  const std::uint64_t next = *current + 1;
  Statement bump(db, "UPDATE meta SET catalog_version = ? WHERE id = 1");
  bump.bind(1, static_cast<std::int64_t>(next));
  if (Status s = bump.run(); !s) return s.takeError();
  Statement log(db,
                "INSERT INTO change_log (version, time, statement, who) "
                "VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?, ?)");
  log.bind(1, static_cast<std::int64_t>(next)).bind(2, ctx.statement).bind(3, ctx.who);
  if (Status s = log.run(); !s) return s.takeError();
  return next;
}

Status applyChange(sqlite3* db, std::uint64_t& version, const ChangeContext& ctx,
                   const std::function<Status()>& apply) {
  auto tx = Transaction::begin(db, Transaction::Kind::kWrite);
  if (!tx) return tx.takeError();
  // Returning early destroys `tx`, which rolls back: nothing of a rejected change remains.
  if (Status s = apply(); !s) return s;
  if (Status s = checkInvariants(db); !s) return s;
  auto next = recordChange(db, ctx);
  if (!next) return next.takeError();
  if (Status s = tx->commit(); !s) return s;
  version = *next;
  return {};
}

}  // namespace shardproxy::catalog::detail
