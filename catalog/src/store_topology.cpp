// Keyspaces, shards and backends: the row operations behind CREATE/ALTER/DROP KEYSPACE,
// CREATE/DROP SHARD, ADD/DROP/SET BACKEND. Each checks the rule its own change could break and
// names it.
#include <fmt/format.h>

#include <initializer_list>

#include "catalog_errors.h"
#include "model.h"
#include "sqlite_util.h"
#include "store.h"

namespace shardproxy::catalog::detail {
namespace {

// A shard named by a range is stored in canonical form, so "8-c" and "80-c0" are one shard.
std::string canonicalShardName(std::string_view name) {
  if (auto range = KeyRange::parse(name)) return range->toString();
  return std::string(name);
}

Result<bool> shardExists(sqlite3* db, std::string_view keyspace, std::string_view name) {
  Statement st(db, "SELECT 1 FROM shards WHERE keyspace = ? AND name = ?");
  st.bind(1, keyspace).bind(2, name);
  return st.step();
}

// Serving shards never overlap: the first serving shard (other than `self`) that `range` meets.
Status checkNoServingOverlap(sqlite3* db, std::string_view keyspace, std::string_view self,
                             const KeyRange& range) {
  Statement st(db,
               "SELECT name, range_start, range_end FROM shards "
               "WHERE keyspace = ? AND serving = 1 AND name <> ? ORDER BY range_start");
  st.bind(1, keyspace).bind(2, self);
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return {};
    auto other = storedRangeAt(st, 1, keyspace, st.text(0));
    if (!other) return other.takeError();
    if (range.overlaps(*other)) {
      return invariantError(fmt::format("shard {} would overlap serving shard {}",
                                        shardLabel(keyspace, self),
                                        shardLabel(keyspace, st.text(0))));
    }
  }
}

Result<KeyRange> storedRange(sqlite3* db, std::string_view keyspace, std::string_view name) {
  Statement st(db, "SELECT range_start, range_end FROM shards WHERE keyspace = ? AND name = ?");
  st.bind(1, keyspace).bind(2, name);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) {
    return notFoundError(fmt::format("shard {} does not exist", shardLabel(keyspace, name)));
  }
  return storedRangeAt(st, 0, keyspace, name);
}

}  // namespace

// The comma-separated values of a one-column query with text parameters bound in order.
Result<std::string> listOf(sqlite3* db, const char* sql,
                           std::initializer_list<std::string_view> params) {
  Statement st(db, sql);
  int i = 1;
  for (std::string_view p : params)
    st.bind(i++, p);
  std::string out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return out;
    out += (out.empty() ? "" : ", ") + st.text(0);
  }
}

namespace {

// An unsharded keyspace has one shard of its own; the others are NOT SERVING resharding targets.
Status checkNoOwnShardYet(sqlite3* db, std::string_view keyspace) {
  Statement st(db,
               "SELECT name, range_start, range_end, serving FROM shards WHERE keyspace = ? "
               "ORDER BY range_start, name");
  st.bind(1, keyspace);
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return {};
    auto range = storedRangeAt(st, 1, keyspace, st.text(0));
    if (!range) return range.takeError();
    if (!isReshardingTarget(st.text(0), *range, st.int64(3) != 0)) {
      return invariantError(fmt::format(
          "unsharded keyspace '{}' already has shard {}; an unsharded keyspace has one shard "
          "(resharding targets beside it are created NOT SERVING and named by their key range, "
          "like -80)",
          keyspace, shardLabel(keyspace, st.text(0))));
    }
  }
}

struct BackendRow {
  std::string keyspace;
  std::string shard;
  BackendRole role = BackendRole::kReplica;
};

Result<std::optional<BackendRow>> findBackendRow(sqlite3* db, const Endpoint& address) {
  Statement st(db, "SELECT keyspace, shard, role FROM backends WHERE host = ? AND port = ?");
  st.bind(1, address.host).bind(2, std::int64_t{address.port});
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return std::optional<BackendRow>();
  return std::optional<BackendRow>(
      BackendRow{st.text(0), st.text(1), parseRole(st.text(2)).value_or(BackendRole::kReplica)});
}

Error backendNotFound(const Endpoint& address) {
  return notFoundError(fmt::format("backend {} does not exist", address.toString()));
}

}  // namespace

Result<KeyRange> storedRangeAt(const Statement& st, int column, std::string_view keyspace,
                               std::string_view shard) {
  auto start = boundFromText(st.text(column));
  std::optional<std::uint64_t> end;
  if (!st.isNull(column + 1)) end = boundFromText(st.text(column + 1));
  if (!start || (!st.isNull(column + 1) && !end) || (end && *end <= *start)) {
    return invariantError(
        fmt::format("shard {} has a malformed stored key range", shardLabel(keyspace, shard)));
  }
  return KeyRange{*start, end};
}

Status validateName(std::string_view what, std::string_view name, std::size_t maxLength) {
  if (name.empty() || name.size() > maxLength) {
    return invariantError(
        fmt::format("{} name '{}' must be 1 to {} characters", what, name, maxLength));
  }
  return {};
}

Result<std::string> resolveShard(sqlite3* db, std::string_view keyspace, std::string_view name) {
  auto sharded = requireKeyspace(db, keyspace);
  if (!sharded) return sharded.takeError();
  // An unsharded keyspace's own shard may have any name, even one that looks like a range (its
  // resharding targets are stored canonically): the name as given first.
  for (const std::string& candidate :
       {*sharded ? canonicalShardName(name) : std::string(name), canonicalShardName(name)}) {
    auto exists = shardExists(db, keyspace, candidate);
    if (!exists) return exists.takeError();
    if (*exists) return candidate;
  }
  return notFoundError(fmt::format("shard {} does not exist", shardLabel(keyspace, name)));
}

bool isReshardingTarget(std::string_view name, const KeyRange& range, bool serving) {
  auto named = KeyRange::parse(name);
  return !serving && named && named->toString() == name && *named == range;
}

bool fitsShardedKeyspace(std::string_view name, const KeyRange& range, bool serving) {
  auto named = KeyRange::parse(name);
  if (named) return named->toString() == name && *named == range;
  return !serving && range == KeyRange{};
}

Result<bool> requireKeyspace(sqlite3* db, std::string_view name) {
  Statement st(db, "SELECT sharded FROM keyspaces WHERE name = ?");
  st.bind(1, name);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return notFoundError(fmt::format("keyspace '{}' does not exist", name));
  return st.int64(0) != 0;
}

Status insertKeyspace(sqlite3* db, std::string_view name, bool sharded) {
  if (Status s = validateName("keyspace", name); !s) return s;
  Statement exists(db, "SELECT 1 FROM keyspaces WHERE name = ?");
  exists.bind(1, name);
  auto row = exists.step();
  if (!row) return row.takeError();
  if (*row) return existsError(fmt::format("keyspace '{}' already exists", name));
  Statement st(db, "INSERT INTO keyspaces (name, sharded) VALUES (?, ?)");
  st.bind(1, name).bind(2, std::int64_t{sharded ? 1 : 0});
  return st.run();
}

Status deleteKeyspace(sqlite3* db, std::string_view name) {
  auto sharded = requireKeyspace(db, name);
  if (!sharded) return sharded.takeError();
  if (Status s = checkNoUnfinishedMigration(db, name); !s) return s;
  auto shards =
      listOf(db, "SELECT name FROM shards WHERE keyspace = ? ORDER BY range_start, name", {name});
  if (!shards) return shards.takeError();
  if (!shards->empty()) {
    return invariantError(
        fmt::format("keyspace '{}' still has shards ({}); drop them first", name, *shards));
  }
  auto users =
      listOf(db, "SELECT user FROM user_keyspaces WHERE keyspace = ? ORDER BY user", {name});
  if (!users) return users.takeError();
  if (!users->empty()) {
    return invariantError(
        fmt::format("keyspace '{}' is still granted to users ({}); drop or re-create them first",
                    name, *users));
  }
  if (Status s = checkNoLookupKeysIn(db, name); !s) return s;
  // Table rules and finished migrations go with the keyspace (ON DELETE CASCADE): they describe
  // no data of their own.
  Statement st(db, "DELETE FROM keyspaces WHERE name = ?");
  st.bind(1, name);
  return st.run();
}

Status updateScatterWrites(sqlite3* db, std::string_view keyspace, ScatterWrites setting) {
  auto sharded = requireKeyspace(db, keyspace);
  if (!sharded) return sharded.takeError();
  Statement st(db, "UPDATE keyspaces SET scatter_writes = ? WHERE name = ?");
  st.bind(1, toString(setting)).bind(2, keyspace);
  return st.run();
}

Status updateTransactionMode(sqlite3* db, std::string_view keyspace, TransactionMode mode) {
  auto sharded = requireKeyspace(db, keyspace);
  if (!sharded) return sharded.takeError();
  Statement st(db, "UPDATE keyspaces SET transaction_mode = ? WHERE name = ?");
  st.bind(1, toString(mode)).bind(2, keyspace);
  return st.run();
}

Status updateAutoFailover(sqlite3* db, std::string_view keyspace, bool on) {
  auto sharded = requireKeyspace(db, keyspace);
  if (!sharded) return sharded.takeError();
  Statement st(db, "UPDATE keyspaces SET auto_failover = ? WHERE name = ?");
  st.bind(1, std::int64_t{on ? 1 : 0}).bind(2, keyspace);
  return st.run();
}

Result<std::string> insertShard(sqlite3* db, std::string_view keyspace, std::string_view name,
                                bool serving, bool restoring) {
  auto sharded = requireKeyspace(db, keyspace);
  if (!sharded) return sharded.takeError();
  const std::optional<KeyRange> named = KeyRange::parse(name);
  KeyRange range;  // the whole space: an unsharded keyspace's own shard, or its old one
  if (*sharded && !named && !(restoring && !serving)) {
    return invariantError(fmt::format(
        "shard name '{}' in sharded keyspace '{}' is not a key range in Vitess notation "
        "(like -80, 80-c0, c0-, or - for the whole space)",
        name, keyspace));
  }
  const bool byRange = named && (*sharded || !serving);
  if (byRange) {
    range = *named;
  } else {
    if (Status s = validateName("shard", name); !s) return s.takeError();
    if (!*sharded) {
      if (Status s = checkNoOwnShardYet(db, keyspace); !s) return s.takeError();
    }
  }
  const std::string canonical = byRange ? named->toString() : std::string(name);
  auto exists = shardExists(db, keyspace, canonical);
  if (!exists) return exists.takeError();
  if (*exists) {
    return existsError(fmt::format("shard {} already exists", shardLabel(keyspace, canonical)));
  }
  if (serving) {
    if (Status s = checkNoServingOverlap(db, keyspace, canonical, range); !s) return s.takeError();
  }
  Statement st(db,
               "INSERT INTO shards (keyspace, name, range_start, range_end, serving) "
               "VALUES (?, ?, ?, ?, ?)");
  st.bind(1, keyspace).bind(2, canonical).bind(3, boundToText(range.start));
  st.bindOptional(4, range.end ? std::optional(boundToText(*range.end)) : std::nullopt);
  st.bind(5, std::int64_t{serving ? 1 : 0});
  if (Status s = st.run(); !s) return s.takeError();
  return canonical;
}

Status deleteShard(sqlite3* db, std::string_view keyspace, std::string_view name) {
  auto canonical = resolveShard(db, keyspace, name);
  if (!canonical) return canonical.takeError();
  if (Status s = checkNoUnfinishedMigration(db, keyspace, *canonical); !s) return s;
  // Its backends go with it (ON DELETE CASCADE). A serving shard leaves a gap, which is allowed.
  Statement st(db, "DELETE FROM shards WHERE keyspace = ? AND name = ?");
  st.bind(1, keyspace).bind(2, *canonical);
  return st.run();
}

Status updateShardServing(sqlite3* db, std::string_view keyspace, std::string_view name,
                          bool serving) {
  auto canonical = resolveShard(db, keyspace, name);
  if (!canonical) return canonical.takeError();
  if (serving) {
    auto range = storedRange(db, keyspace, *canonical);
    if (!range) return range.takeError();
    if (Status s = checkNoServingOverlap(db, keyspace, *canonical, *range); !s) return s;
  }
  Statement st(db, "UPDATE shards SET serving = ? WHERE keyspace = ? AND name = ?");
  st.bind(1, std::int64_t{serving ? 1 : 0}).bind(2, keyspace).bind(3, *canonical);
  return st.run();
}

Status insertBackend(sqlite3* db, std::string_view keyspace, std::string_view shard,
                     const BackendSpec& spec) {
  auto canonical = resolveShard(db, keyspace, shard);
  if (!canonical) return canonical.takeError();
  const std::string label = shardLabel(keyspace, *canonical);
  if (spec.address.host.empty() || spec.address.port == 0) {
    return invariantError(fmt::format("backend address '{}' needs a host and a port 1-65535",
                                      spec.address.toString()));
  }
  if (spec.weight == 0) {
    return invariantError(fmt::format(
        "backend {}: weight must be at least 1 (use SET BACKEND ... OFFLINE to take it out)",
        spec.address.toString()));
  }
  // One server may hold shards of several keyspaces (each its own database there), in one role:
  // a writable primary everywhere, or a read_only replica everywhere.
  Statement uses(db, "SELECT keyspace, shard, role FROM backends WHERE host = ? AND port = ?");
  uses.bind(1, spec.address.host).bind(2, std::int64_t{spec.address.port});
  for (;;) {
    auto row = uses.step();
    if (!row) return row.takeError();
    if (!*row) break;
    const std::string ks = uses.text(0), sh = uses.text(1);
    if (ks == keyspace) {
      return existsError(fmt::format("backend {} already exists (shard {})",
                                     spec.address.toString(), shardLabel(ks, sh)));
    }
    if (parseRole(uses.text(2)).value_or(BackendRole::kReplica) != spec.role) {
      return invariantError(fmt::format(
          "server {} is a {} of shard {}: a server shared by keyspaces has one role (a writable "
          "primary or a read_only replica), so it cannot be a {} of shard {}",
          spec.address.toString(), uses.text(2), shardLabel(ks, sh), toString(spec.role), label));
    }
  }
  Statement primary(db,
                    "SELECT host, port FROM backends "
                    "WHERE keyspace = ? AND shard = ? AND role = 'primary'");
  primary.bind(1, keyspace).bind(2, *canonical);
  auto hasPrimary = primary.step();
  if (!hasPrimary) return hasPrimary.takeError();
  if (spec.role == BackendRole::kPrimary && *hasPrimary) {
    return invariantError(fmt::format("shard {} already has a primary ({}:{})", label,
                                      primary.text(0), primary.int64(1)));
  }
  if (spec.role == BackendRole::kReplica && !*hasPrimary) {
    return invariantError(fmt::format("shard {} has no primary; add its primary first", label));
  }
  Statement st(db,
               "INSERT INTO backends (keyspace, shard, host, port, role, weight, state, "
               "max_lag_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, keyspace).bind(2, *canonical).bind(3, spec.address.host);
  st.bind(4, std::int64_t{spec.address.port}).bind(5, toString(spec.role));
  st.bind(6, std::int64_t{spec.weight}).bind(7, toString(spec.state));
  st.bind(8, std::int64_t{spec.maxLagSeconds});
  return st.run();
}

Status deleteBackend(sqlite3* db, const Endpoint& address) {
  auto row = findBackendRow(db, address);
  if (!row) return row.takeError();
  if (!*row) return backendNotFound(address);
  Statement shared(db,
                   "SELECT keyspace || '.' || shard FROM backends WHERE host = ? AND port = ? "
                   "ORDER BY keyspace");
  shared.bind(1, address.host).bind(2, std::int64_t{address.port});
  std::string where;
  std::size_t uses = 0;
  for (;;) {
    auto r = shared.step();
    if (!r) return r.takeError();
    if (!*r) break;
    where += (uses++ == 0 ? "" : ", ") + shared.text(0);
  }
  if (uses > 1) {
    return invariantError(fmt::format(
        "server {} holds shards of several keyspaces ({}): DROP SHARD (or DROP KEYSPACE) the ones "
        "it should leave; DROP BACKEND would remove it from all of them",
        address.toString(), where));
  }
  const BackendRow& backend = **row;
  if (backend.role == BackendRole::kPrimary) {
    Statement others(
        db, "SELECT count(*) FROM backends WHERE keyspace = ? AND shard = ? AND role <> 'primary'");
    others.bind(1, backend.keyspace).bind(2, backend.shard);
    auto counted = others.step();
    if (!counted) return counted.takeError();
    if (others.int64(0) > 0) {
      return invariantError(fmt::format(
          "backend {} is the primary of shard {}, which still has {} replica(s); a primary can "
          "only be dropped as the last backend of its shard (drop the replicas or the shard)",
          address.toString(), shardLabel(backend.keyspace, backend.shard), others.int64(0)));
    }
  }
  Statement st(db, "DELETE FROM backends WHERE host = ? AND port = ?");
  st.bind(1, address.host).bind(2, std::int64_t{address.port});
  return st.run();
}

Status updateBackendState(sqlite3* db, const Endpoint& address, BackendState state) {
  auto row = findBackendRow(db, address);
  if (!row) return row.takeError();
  if (!*row) return backendNotFound(address);
  Statement st(db, "UPDATE backends SET state = ? WHERE host = ? AND port = ?");
  st.bind(1, toString(state)).bind(2, address.host).bind(3, std::int64_t{address.port});
  return st.run();
}

}  // namespace shardproxy::catalog::detail
