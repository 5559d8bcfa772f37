#include "shardproxy/proxy/admin_executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "admin_digests.h"
#include "admin_ha.h"
#include "admin_migrations.h"
#include "shardproxy/router/admin_statement.h"
#include "shardproxy/router/keyspace_id.h"

namespace shardproxy::proxy {

namespace adm = router::admin;

namespace {

constexpr std::uint32_t kDefaultSequenceCache = 1000;

std::string hex64(std::uint64_t v) {
  return fmt::format("{:016x}", v);
}

std::string joinRanges(const std::vector<catalog::KeyRange>& ranges) {
  std::string out;
  for (const auto& r : ranges) {
    if (!out.empty()) out += ",";
    out += r.toString();
  }
  return out;
}

bool keyspaceMatches(const std::optional<std::string>& filter, const std::string& ks) {
  return !filter || *filter == ks;
}

// Each visitor case is one small function: a SHOW builds rows from the snapshot, a change calls
// the catalog.
class Visitor {
 public:
  Visitor(catalog::Catalog& catalog, const AdminServices& services,
          const catalog::ChangeContext& ctx, bool& changed)
      : catalog_(catalog),
        manager_(services.manager),
        services_(services),
        ctx_(ctx),
        changed_(changed) {}

  AdminResult operator()(const adm::ShowKeyspaces&) {
    auto snap = snapshot();
    if (!snap) return snap.takeError();
    TextResultSet rs{{"name", "sharded", "serving_shards", "complete", "uncovered_ranges",
                      "scatter_writes", "transaction_mode", "auto_failover"},
                     {}};
    for (const auto& ks : (*snap)->keyspaces) {
      std::size_t serving = 0;
      for (auto idx : ks.shards)
        serving += (*snap)->shards[idx].serving ? 1 : 0;
      rs.rows.push_back({ks.name, yesNo(ks.sharded), std::to_string(serving), yesNo(ks.complete()),
                         joinRanges(ks.uncovered), std::string(catalog::toString(ks.scatterWrites)),
                         std::string(catalog::toString(ks.transactionMode)),
                         ks.autoFailover ? std::string("on") : std::string("off")});
    }
    return rs;
  }
  AdminResult operator()(const adm::ShowShards& s) {
    auto snap = snapshot();
    if (!snap) return snap.takeError();
    if (auto err = requireKeyspace(**snap, s.keyspace)) return *err;
    TextResultSet rs{
        {"keyspace", "shard", "range_start", "range_end", "serving", "primary", "replicas"}, {}};
    for (const auto& sh : (*snap)->shards) {
      if (!keyspaceMatches(s.keyspace, sh.keyspace)) continue;
      std::string primary, replicas;
      for (auto idx : sh.backends) {
        const auto& b = (*snap)->backends[idx];
        if (b.role == catalog::BackendRole::kPrimary) {
          primary = b.address.toString();
        } else {
          replicas += (replicas.empty() ? "" : ",") + b.address.toString();
        }
      }
      rs.rows.push_back(
          {sh.keyspace, sh.name, hex64(sh.range.start),
           sh.range.end ? std::optional<std::string>(hex64(*sh.range.end)) : std::nullopt,
           yesNo(sh.serving), primary.empty() ? std::nullopt : std::optional(primary), replicas});
    }
    return rs;
  }
  AdminResult operator()(const adm::ShowBackends& s) {
    auto snap = snapshot();
    if (!snap) return snap.takeError();
    if (auto err = requireKeyspace(**snap, s.keyspace)) return *err;
    TextResultSet rs{{"keyspace", "shard", "address", "role", "weight", "state", "max_lag_seconds",
                      "shared_with", "health", "lag_seconds", "gtid_behind", "read_only",
                      "last_change", "last_error"},
                     {}};
    const auto status = backendStatus(services_);
    // Grouped by shard (in key order), primary first. A server that holds shards of several
    // keyspaces (one pool, one health probe) names the others in shared_with.
    for (const auto& sh : (*snap)->shards) {
      if (!keyspaceMatches(s.keyspace, sh.keyspace)) continue;
      for (auto idx : sh.backends) {
        const auto& b = (*snap)->backends[idx];
        std::string shared;
        for (const auto& o : (*snap)->backends) {
          if (o.address == b.address && o.keyspace != b.keyspace) {
            shared += (shared.empty() ? "" : ",") + o.keyspace + "/" + o.shard;
          }
        }
        std::vector<std::optional<std::string>> row{
            b.keyspace,
            b.shard,
            b.address.toString(),
            std::string(catalog::toString(b.role)),
            std::to_string(b.weight),
            std::string(catalog::toString(b.state)),
            std::to_string(b.maxLagSeconds),
            shared.empty() ? std::nullopt : std::optional<std::string>(shared)};
        appendHealthColumns(row, b, status);
        rs.rows.push_back(std::move(row));
      }
    }
    return rs;
  }
  AdminResult operator()(const adm::ShowTableRules& s) {
    auto snap = snapshot();
    if (!snap) return snap.takeError();
    if (auto err = requireKeyspace(**snap, s.keyspace)) return *err;
    TextResultSet rs{{"keyspace", "table", "kind", "shard_key", "hash"}, {}};
    for (const auto& t : (*snap)->tables) {
      if (!keyspaceMatches(s.keyspace, t.keyspace)) continue;
      rs.rows.push_back({t.keyspace, t.table, std::string(catalog::toString(t.kind)),
                         t.shardKey.empty() ? std::nullopt : std::optional(t.shardKey),
                         t.hashFunction.empty() ? std::nullopt : std::optional(t.hashFunction)});
    }
    return rs;
  }
  AdminResult operator()(const adm::ShowUsers&) {
    auto snap = snapshot();
    if (!snap) return snap.takeError();
    TextResultSet rs{{"name", "keyspaces"}, {}};
    for (const auto& u : (*snap)->users) {
      std::string ks;
      for (const auto& k : u.keyspaces)
        ks += (ks.empty() ? "" : ",") + k;
      rs.rows.push_back({u.name, u.keyspaces.empty() ? std::string("*") : ks});
    }
    return rs;
  }
  AdminResult operator()(const adm::ShowCatalogVersion&) {
    // Read from the file: migration workers change the catalog too.
    auto snap = snapshot();
    if (!snap) return snap.takeError();
    return TextResultSet{{"version"}, {{std::to_string((*snap)->version)}}};
  }
  AdminResult operator()(const adm::ShowCatalogChanges& s) {
    auto changes = catalog_.changes(s.limit);
    if (!changes) return changes.takeError();
    TextResultSet rs{{"version", "time", "who", "statement"}, {}};
    for (const auto& c : *changes) {
      rs.rows.push_back({std::to_string(c.version), c.time, c.who, c.statement});
    }
    return rs;
  }
  AdminResult operator()(const adm::CreateKeyspace& s) {
    return done(catalog_.createKeyspace(s.name, s.sharded, ctx_));
  }
  AdminResult operator()(const adm::DropKeyspace& s) {
    return done(catalog_.dropKeyspace(s.name, ctx_));
  }
  AdminResult operator()(const adm::AlterKeyspace& s) {
    // The grammar requires at least one setting; each is its own change (and change-log row).
    Status st;
    if (s.scatterWrites) st = catalog_.setScatterWrites(s.keyspace, *s.scatterWrites, ctx_);
    if (st && s.transactionMode) {
      changed_ = changed_ || s.scatterWrites.has_value();
      st = catalog_.setTransactionMode(s.keyspace, *s.transactionMode, ctx_);
    }
    if (st && s.autoFailover) {
      changed_ = changed_ || s.scatterWrites.has_value() || s.transactionMode.has_value();
      st = catalog_.setAutoFailover(s.keyspace, *s.autoFailover, ctx_);
    }
    return done(std::move(st));
  }
  AdminResult operator()(const adm::SetAutoFailover& s) {
    return done(catalog_.setAutoFailover(s.keyspace, s.on, ctx_));
  }
  AdminResult operator()(const adm::Switchover& s) {
    return adminSwitchover(catalog_, services_, s, changed_);
  }
  AdminResult operator()(const adm::ShowFailovers& s) { return adminShowFailovers(catalog_, s); }
  AdminResult operator()(const adm::ShowBuffers&) { return adminShowBuffers(services_); }
  AdminResult operator()(const adm::ShowQueryDigest& s) {
    return adminShowQueryDigest(services_, s);
  }
  AdminResult operator()(const adm::ResetQueryDigest&) { return adminResetQueryDigest(services_); }
  AdminResult operator()(const adm::ShowShardKeyAdvice& s) {
    auto snap = catalog_.snapshot();
    if (!snap) return snap.takeError();
    return adminShowShardKeyAdvice(services_, **snap, s);
  }
  AdminResult operator()(const adm::CreateShard& s) {
    return done(catalog_.createShard(s.keyspace, s.shard, s.primary, s.replicas, s.serving, ctx_));
  }
  AdminResult operator()(const adm::DropShard& s) {
    return done(catalog_.dropShard(s.keyspace, s.shard, ctx_));
  }
  AdminResult operator()(const adm::AddBackend& s) {
    return done(catalog_.addBackend(s.address, s.keyspace, s.shard, s.role, s.weight,
                                    s.maxLagSeconds, ctx_));
  }
  AdminResult operator()(const adm::DropBackend& s) {
    return done(catalog_.dropBackend(s.address, ctx_));
  }
  AdminResult operator()(const adm::SetBackendState& s) {
    return done(catalog_.setBackendState(s.address, s.state, ctx_));
  }
  AdminResult operator()(const adm::CreateTableRule& s) {
    return done(catalog_.createTableRule(
        s.keyspace, s.table, s.kind, s.shardKey, ctx_,
        // _ci keyspace IDs depend on the ICU collator: the rule records the version it was made
        // under, and the router refuses to hash by it under another one.
        s.hashFunction == "xxh3_ci" ? "xxh3_ci@" + router::collatorVersion() : s.hashFunction));
  }
  AdminResult operator()(const adm::DropTableRule& s) {
    return done(catalog_.dropTableRule(s.keyspace, s.table, ctx_));
  }
  AdminResult operator()(const adm::CreateUser& s) {
    return done(catalog_.createUser(s.name, s.password, s.keyspaces, ctx_));
  }
  AdminResult operator()(const adm::DropUser& s) { return done(catalog_.dropUser(s.name, ctx_)); }
  AdminResult operator()(const adm::Reshard& s) {
    return adminReshard(catalog_, manager_, s, ctx_, changed_);
  }
  AdminResult operator()(const adm::ShowMigrations& s) {
    return adminShowMigrations(catalog_, manager_, s);
  }
  AdminResult operator()(const adm::ShowMigration& s) {
    return adminShowMigration(catalog_, manager_, s);
  }
  AdminResult operator()(const adm::MigrationCommand& s) {
    return adminMigrationCommand(catalog_, s, ctx_, changed_);
  }
  AdminResult operator()(const adm::CreateSequence& s) {
    catalog::SequenceSpec spec{s.keyspace, s.table, s.column, s.start.value_or(1),
                               s.cache.value_or(kDefaultSequenceCache)};
    if (!s.start) {
      if (Status ok = catalog_.checkSequence(spec); !ok) return ok.takeError();
      auto start = startAboveRows(spec);
      if (!start) return start.takeError();
      spec.start = *start;
    }
    return done(catalog_.createSequence(spec, ctx_));
  }
  AdminResult operator()(const adm::DropSequence& s) {
    return done(catalog_.dropSequence(s.keyspace, s.table, ctx_));
  }
  AdminResult operator()(const adm::ShowSequences& s) {
    auto snap = snapshot();
    if (!snap) return snap.takeError();
    if (auto err = requireKeyspace(**snap, s.keyspace)) return *err;
    auto states = catalog_.sequences();
    if (!states) return states.takeError();
    TextResultSet rs{{"keyspace", "table", "column", "next_value", "cache", "start"}, {}};
    rs.integer = {false, false, false, true, true, true};
    for (const auto& st : *states) {
      const catalog::Sequence& q = st.sequence;
      if (!keyspaceMatches(s.keyspace, q.keyspace)) continue;
      rs.rows.push_back({q.keyspace, q.table, q.column, std::to_string(st.nextValue),
                         std::to_string(q.cache), std::to_string(q.start)});
    }
    return rs;
  }
  AdminResult operator()(const adm::CreateLookupKey& s) {
    if (manager_ == nullptr) {
      return Error::make(ErrorCode::kConfigInvalid,
                         "CREATE LOOKUP KEY is not available on this port");
    }
    catalog::LookupKeySpec spec{s.keyspace, s.table, s.column, s.unique, s.lookupKeyspace};
    auto key = catalog_.createLookupKey(spec, ctx_);
    if (!key) return key.takeError();
    changed_ = true;
    // The table exists before any session sees the key (they write it with the rows); the
    // manager's thread fills it from the rows already there, then the key routes.
    auto snap = snapshot();
    Status made = snap ? manager_->createLookupTable(**snap, *key) : Status(snap.takeError());
    if (!made) {
      catalog::ChangeContext undo{ctx_.who, "(undo) " + ctx_.statement};
      (void)catalog_.dropLookupKey(s.keyspace, s.table, s.column, undo);
      Error e = made.takeError();
      e.message = fmt::format("cannot create the lookup table {}.{}: {}", key->lookupKeyspace,
                              key->lookupTable, e.message);
      return e;
    }
    return AdminOk{1, fmt::format("catalog version {}; lookup table {}.{}, backfill started",
                                  catalog_.version(), key->lookupKeyspace, key->lookupTable)};
  }
  AdminResult operator()(const adm::DropLookupKey& s) {
    return done(catalog_.dropLookupKey(s.keyspace, s.table, s.column, ctx_));
  }
  AdminResult operator()(const adm::ShowLookupKeys& s) {
    auto snap = snapshot();
    if (!snap) return snap.takeError();
    if (auto err = requireKeyspace(**snap, s.keyspace)) return *err;
    TextResultSet rs{
        {"keyspace", "table", "column", "unique", "lookup_table", "state", "last_error"}, {}};
    for (const auto& k : (*snap)->lookupKeys) {
      if (!keyspaceMatches(s.keyspace, k.keyspace)) continue;
      const char* state = k.ready ? "ready" : k.error.empty() ? "backfilling" : "failed";
      rs.rows.push_back({k.keyspace, k.table, k.column, yesNo(k.unique),
                         k.lookupKeyspace + "." + k.lookupTable, std::string(state),
                         k.error.empty() ? std::nullopt : std::optional<std::string>(k.error)});
    }
    return rs;
  }
  AdminResult operator()(const adm::ShowTransactions&) {
    auto rows = catalog_.twopcTransactions();
    if (!rows) return rows.takeError();
    TextResultSet rs{{"gtrid", "state", "branches", "age_ms"}, {}};
    const std::int64_t now = catalog::unixTimeMs();
    for (const auto& r : *rows) {
      rs.rows.push_back({r.gtrid, std::string(catalog::toString(r.state)), r.branches,
                         std::to_string(now - r.createdMs)});
    }
    return rs;
  }
  AdminResult operator()(const adm::ShowSchemaDrift& s) {
    if (manager_ == nullptr) {
      return Error::make(ErrorCode::kConfigInvalid,
                         "SHOW SCHEMA DRIFT is not available on this port");
    }
    auto snap = snapshot();
    if (!snap) return snap.takeError();
    // Blocks this (admin) thread until every shard answered or timed out, as RESHARD's checks do.
    auto drift = manager_->schemaDrift(**snap, s.keyspace);
    if (!drift) return drift.takeError();
    TextResultSet rs{{"keyspace", "table", "shards_differing", "detail"}, {}};
    for (const auto& d : *drift) {
      std::string shards;
      for (const auto& name : d.shardsDiffering)
        shards += (shards.empty() ? "" : ",") + name;
      rs.rows.push_back({d.keyspace, d.table, shards, d.detail});
    }
    return rs;
  }

 private:
  static std::optional<std::string> yesNo(bool b) { return std::string(b ? "yes" : "no"); }

  Result<catalog::SnapshotPtr> snapshot() { return catalog_.snapshot(); }

  static std::optional<Error> requireKeyspace(const catalog::Snapshot& snap,
                                              const std::optional<std::string>& ks) {
    if (ks && snap.findKeyspace(*ks) == nullptr) {
      return Error::make(ErrorCode::kCatalogNotFound,
                         fmt::format("keyspace '{}' does not exist", *ks));
    }
    return std::nullopt;
  }

  // CREATE SEQUENCE without START WITH: one above the largest value already on the shards.
  Result<std::int64_t> startAboveRows(const catalog::SequenceSpec& spec) {
    if (manager_ == nullptr) {
      return Error::make(ErrorCode::kConfigInvalid,
                         "CREATE SEQUENCE without START WITH cannot read the shards on this "
                         "port; give START WITH n");
    }
    auto snap = snapshot();
    if (!snap) return snap.takeError();
    // Blocks this (admin) thread until every shard answered or timed out, as RESHARD's checks do.
    auto max = manager_->columnMax(**snap, spec.keyspace, spec.table, spec.column);
    if (!max) return max.takeError();
    if (!*max || **max < 1) return std::int64_t{1};
    if (**max == std::numeric_limits<std::int64_t>::max()) {
      return Error::make(ErrorCode::kCatalogInvariant,
                         fmt::format("{}.{} already holds {} = 2^63-1: no value is left above it",
                                     spec.keyspace, spec.table, spec.column));
    }
    return **max + 1;
  }

  AdminResult done(Status st) {
    if (!st) return st.takeError();
    changed_ = true;
    return AdminOk{1, fmt::format("catalog version {}", catalog_.version())};
  }

  catalog::Catalog& catalog_;
  migrations::MigrationManager* manager_;
  const AdminServices& services_;
  const catalog::ChangeContext& ctx_;
  bool& changed_;
};

}  // namespace

AdminResult AdminExecutor::execute(std::string_view sql, const std::string& who, bool& changed) {
  changed = false;
  auto parsed = adm::parseAdmin(sql);
  if (auto* err = std::get_if<adm::AdminParseError>(&parsed)) {
    return Error::make(err->kind == adm::AdminParseError::Kind::kSyntax
                           ? ErrorCode::kParseError
                           : ErrorCode::kNotSupportedYet,
                       err->message);
  }
  const auto& statement = std::get<adm::AdminStatement>(parsed);
  // The change log keeps the statement, never a password typed in it.
  catalog::ChangeContext ctx{who, adm::redactPassword(sql, statement)};
  Visitor visitor(catalog_, services_, ctx, changed);
  return std::visit(visitor, statement);
}

}  // namespace shardproxy::proxy
