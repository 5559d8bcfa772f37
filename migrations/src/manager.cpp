#include "shardproxy/migrations/manager.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "migration_log.h"
#include "run_context.h"
#include "runner.h"
#include "table_meta.h"

namespace shardproxy::migrations {

struct MigrationManager::Impl {
  ManagerOptions options;
  TrafficGate& gate;
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::map<std::int64_t, std::unique_ptr<Runner>> runners;  // guarded by mu
  // Lookup-key backfills by key id (guarded by mu); `done` set by the thread as it ends.
  struct Backfill {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::map<std::int64_t, std::unique_ptr<Backfill>> backfills;
  std::atomic<bool> stopBackfills{false};

  LookupOptions lookupOptions() const {
    LookupOptions o;
    o.user = options.dbaUser;
    o.password = options.dbaPassword;
    return o;
  }

  // One thread per key not ready yet (and not failed): fill, then mark it in the catalog and
  // publish, so the planner starts routing by it.
  void startBackfills(catalog::Catalog& cat) {
    if (options.dbaUser.empty()) return;
    auto snap = cat.snapshot();
    if (!snap) return;
    for (auto it = backfills.begin(); it != backfills.end();) {
      if (it->second->done.load()) {
        it->second->thread.join();
        it = backfills.erase(it);
      } else {
        ++it;
      }
    }
    for (const catalog::LookupKey& key : (*snap)->lookupKeys) {
      if (key.ready || !key.error.empty() || backfills.count(key.id) != 0) continue;
      auto b = std::make_unique<Backfill>();
      Backfill* raw = b.get();
      raw->thread = std::thread([this, raw, key, snapshot = *snap] {
        runBackfill(*snapshot, key);
        raw->done.store(true);
      });
      backfills.emplace(key.id, std::move(b));
    }
  }

  void runBackfill(const catalog::Snapshot& snapshot, const catalog::LookupKey& key) {
    const auto started = std::chrono::steady_clock::now();
    auto filled = backfillLookupKey(snapshot, key, lookupOptions(), stopBackfills);
    if (stopBackfills.load()) return;  // resumed (from the start) after the restart
    auto cat = catalog::Catalog::open(options.catalogPath);
    if (!cat) return;
    const std::string error = filled ? "" : filled.error().message;
    const catalog::ChangeContext ctx{
        "migrations",
        fmt::format("backfill of lookup key {}.{} ({})", key.keyspace, key.table, key.column)};
    if (filled) {
      log::migrations()->info(
          "lookup key {}.{} ({}): backfilled {} rows ({} new entries) in {} ms; routing by it",
          key.keyspace, key.table, key.column, filled->rowsRead, filled->entriesWritten,
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                started)
              .count());
    } else {
      log::migrations()->error("lookup key {}.{} ({}): backfill failed: {}", key.keyspace,
                               key.table, key.column, error);
    }
    if (Status s = (*cat)->markLookupKey(key.id, static_cast<bool>(filled), error, ctx); !s) {
      // Dropped meanwhile, or the catalog is busy: the next round tries again if it still exists.
      log::migrations()->warn("lookup key {}.{} ({}): {}", key.keyspace, key.table, key.column,
                              s.error().message);
      return;
    }
    if (auto next = (*cat)->snapshot()) gate.publish(*next);
  }

  Impl(ManagerOptions o, TrafficGate& g) : options(std::move(o)), gate(g) {}

  void loop() {
    std::unique_ptr<catalog::Catalog> cat;
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      if (!cat) {
        auto c = catalog::Catalog::open(options.catalogPath);
        if (c) {
          cat = std::move(*c);
        } else {
          log::migrations()->error("migration manager: {}", c.error().message);
        }
      }
      std::vector<std::int64_t> active;
      if (cat) {
        if (auto all = cat->migrations()) {
          for (const auto& m : *all) {
            if (m.phase != catalog::MigrationPhase::kCompleted &&
                m.phase != catalog::MigrationPhase::kCancelled) {
              active.push_back(m.id);
            }
          }
        }
      }
      lock.lock();
      for (auto it = runners.begin(); it != runners.end();) {
        if (it->second->finished()) {
          it->second->join();
          it = runners.erase(it);
        } else {
          ++it;
        }
      }
      if (cat) startBackfills(*cat);
      for (std::int64_t id : active) {
        if (runners.count(id) != 0) continue;
        auto r = std::make_unique<Runner>(id, options, gate);
        r->start();
        runners.emplace(id, std::move(r));
      }
      cv.wait_for(lock, options.poll, [&] { return stopping; });
    }
  }
};

MigrationManager::MigrationManager(ManagerOptions options, TrafficGate& gate)
    : impl_(std::make_unique<Impl>(std::move(options), gate)) {}

MigrationManager::~MigrationManager() {
  stop();
}

void MigrationManager::start() {
  // A cutover that a crash interrupted left its source fenced (read_only): hold the keyspace
  // before the proxy serves anything, so statements wait (or get the retryable error) instead of
  // failing on the fence; its runner unfences and releases (Runner::recoverInterruptedCutover).
  if (auto cat = catalog::Catalog::open(impl_->options.catalogPath)) {
    if (auto all = (*cat)->migrations()) {
      for (const auto& m : *all) {
        if (m.phase != catalog::MigrationPhase::kCuttingOver) continue;
        log::migrations()->warn(
            "migration {}: interrupted during a cutover; holding keyspace "
            "'{}' until its source is unfenced",
            m.id, m.keyspace);
        (void)impl_->gate.hold(m.keyspace, std::chrono::steady_clock::now());
      }
    }
  }
  impl_->thread = std::thread([this] { impl_->loop(); });
}

void MigrationManager::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    impl_->stopBackfills.store(true);
    for (auto& [id, r] : impl_->runners)
      r->requestStop();
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  std::lock_guard lock(impl_->mu);
  impl_->runners.clear();  // joins each
  for (auto& [id, b] : impl_->backfills)
    if (b->thread.joinable()) b->thread.join();
  impl_->backfills.clear();
}

std::optional<LiveStatus> MigrationManager::live(std::int64_t id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->runners.find(id);
  if (it == impl_->runners.end()) return std::nullopt;
  return it->second->live();
}

Result<std::vector<TableDrift>> MigrationManager::schemaDrift(
    const catalog::Snapshot& snapshot, const std::optional<std::string>& keyspace) const {
  if (impl_->options.dbaUser.empty()) {
    return Error::make(ErrorCode::kConfigInvalid,
                       "SHOW SCHEMA DRIFT reads SHOW CREATE TABLE on every shard as the DBA "
                       "account: start shardproxy with --dba-user name:password");
  }
  DriftOptions options;
  options.user = impl_->options.dbaUser;
  options.password = impl_->options.dbaPassword;
  return findSchemaDrift(snapshot, keyspace, options);
}

Status MigrationManager::createLookupTable(const catalog::Snapshot& snapshot,
                                           const catalog::LookupKey& key) const {
  if (impl_->options.dbaUser.empty()) {
    return Error::make(ErrorCode::kConfigInvalid,
                       "CREATE LOOKUP KEY creates and fills the lookup table as the DBA account: "
                       "start shardproxy with --dba-user name:password");
  }
  return migrations::createLookupTable(snapshot, key, impl_->lookupOptions());
}

Result<std::optional<std::int64_t>> MigrationManager::columnMax(const catalog::Snapshot& snapshot,
                                                                const std::string& keyspace,
                                                                const std::string& table,
                                                                const std::string& column) const {
  if (impl_->options.dbaUser.empty()) {
    return Error::make(ErrorCode::kConfigInvalid,
                       "CREATE SEQUENCE without START WITH starts above MAX(column) on every "
                       "shard, read as the DBA account: start shardproxy with --dba-user "
                       "name:password, or give START WITH n");
  }
  ColumnMaxOptions options;
  options.user = impl_->options.dbaUser;
  options.password = impl_->options.dbaPassword;
  return findColumnMax(snapshot, keyspace, table, column, options);
}

Result<std::int64_t> MigrationManager::reshard(catalog::Catalog& catalog,
                                               const ReshardRequest& request,
                                               const catalog::ChangeContext& ctx) {
  if (impl_->options.dbaUser.empty()) {
    return Error::make(ErrorCode::kConfigInvalid,
                       "resharding needs a DBA account: start shardproxy with --dba-user "
                       "name:password (replication and READ ONLY ADMIN privileges)");
  }
  auto snap = catalog.snapshot();
  if (!snap) return snap.takeError();
  const catalog::Keyspace* ks = (*snap)->findKeyspace(request.keyspace);
  if (ks == nullptr) {
    return Error::make(ErrorCode::kCatalogNotFound,
                       fmt::format("keyspace '{}' does not exist", request.keyspace));
  }
  // The tables as a source primary has them (catalog checks of the shards come later, in one
  // transaction; a missing shard is reported there).
  const catalog::Backend* primary = nullptr;
  for (std::size_t idx : ks->shards) {
    const catalog::Shard& sh = (*snap)->shards[idx];
    if (sh.name == request.from.front() && sh.primary) primary = &(*snap)->backends[*sh.primary];
  }
  catalog::MigrationSpec spec;
  spec.keyspace = request.keyspace;
  spec.sources = request.from;
  spec.targets = request.to;
  spec.autoCutover = request.autoCutover;
  spec.throttleRowsPerSecond = request.throttleRowsPerSecond;
  if (primary != nullptr) {
    BlockingClient c;
    Endpoint e{primary->address.host, primary->address.port, impl_->options.dbaUser,
               impl_->options.dbaPassword, ""};
    if (Status s = connectWorker(c, e); !s) return s.takeError();
    auto tables = c.rows(fmt::format(
        "SELECT t.TABLE_NAME, IFNULL(t.TABLE_ROWS, 0), (SELECT COUNT(*) FROM "
        "information_schema.TABLE_CONSTRAINTS k WHERE k.TABLE_SCHEMA = t.TABLE_SCHEMA AND "
        "k.TABLE_NAME = t.TABLE_NAME AND k.CONSTRAINT_TYPE = 'PRIMARY KEY') FROM "
        "information_schema.TABLES t WHERE t.TABLE_SCHEMA = {} AND t.TABLE_TYPE = 'BASE TABLE' "
        "ORDER BY t.TABLE_NAME",
        hexLiteral(request.keyspace, "utf8mb4")));
    if (!tables) return tables.takeError();
    std::vector<std::string> noKey, noRule;
    for (const Row& r : *tables) {
      const std::string name = r[0].value_or("");
      const catalog::TableRule* rule = (*snap)->findTable(request.keyspace, name);
      if (r[2].value_or("0") == "0") noKey.push_back(name);
      if (rule == nullptr) noRule.push_back(name);
      spec.tables.push_back(catalog::MigrationSpec::Table{
          name,
          rule != nullptr && rule->kind == catalog::TableKind::kReference ? "reference" : "sharded",
          std::stoull(r[1].value_or("0"))});
    }
    // The catch-up reads primary keys from binlog row images: integers and strings only.
    auto odd = c.rows(fmt::format(
        "SELECT CONCAT(k.TABLE_NAME, '.', k.COLUMN_NAME, ' (', c.COLUMN_TYPE, ')') FROM "
        "information_schema.KEY_COLUMN_USAGE k JOIN information_schema.COLUMNS c ON "
        "c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = "
        "k.COLUMN_NAME WHERE k.TABLE_SCHEMA = {} AND k.CONSTRAINT_NAME = 'PRIMARY' AND "
        "LOWER(c.DATA_TYPE) NOT IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'char', "
        "'varchar', 'binary', 'varbinary') ORDER BY 1",
        hexLiteral(request.keyspace, "utf8mb4")));
    if (!odd) return odd.takeError();
    if (!odd->empty()) {
      std::vector<std::string> cols;
      for (const Row& r : *odd)
        cols.push_back(r[0].value_or(""));
      return Error::make(ErrorCode::kNotSupportedYet,
                         fmt::format("cannot reshard keyspace '{}': primary key column(s) {} are "
                                     "not integers or strings, which the binlog catch-up follows",
                                     request.keyspace, fmt::join(cols, ", ")));
    }
    if (!noKey.empty()) {
      return Error::make(ErrorCode::kNotSupportedYet,
                         fmt::format("cannot reshard keyspace '{}': table(s) {} have no primary "
                                     "key; the copy and the binlog catch-up follow rows by "
                                     "primary key, so add one first",
                                     request.keyspace, fmt::join(noKey, ", ")));
    }
    if (!noRule.empty()) {
      return Error::make(ErrorCode::kNoTableRule,
                         fmt::format("cannot reshard keyspace '{}': table(s) {} have no rule; "
                                     "say how each is split first (CREATE SHARDED TABLE "
                                     "{}.<table> SHARD KEY (<column>) or CREATE REFERENCE TABLE)",
                                     request.keyspace, fmt::join(noRule, ", "), request.keyspace));
    }
  }
  // Targets start empty: rows left by an earlier (cancelled) attempt could be rows the source
  // deleted since, which no copy would remove.
  for (const std::string& target : request.to) {
    const catalog::Shard* shard = nullptr;
    for (std::size_t idx : ks->shards)
      if ((*snap)->shards[idx].name == target) shard = &(*snap)->shards[idx];
    if (shard == nullptr || !shard->primary) continue;  // createMigration names the problem
    const catalog::Backend& b = (*snap)->backends[*shard->primary];
    BlockingClient c;
    Endpoint e{b.address.host, b.address.port, impl_->options.dbaUser, impl_->options.dbaPassword,
               ""};
    if (Status s = connectWorker(c, e); !s) return s.takeError();
    for (const auto& t : spec.tables) {
      auto exists = c.scalar(
          fmt::format("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND "
                      "TABLE_NAME = {}",
                      hexLiteral(request.keyspace, "utf8mb4"), hexLiteral(t.name, "utf8mb4")));
      if (!exists) return exists.takeError();
      if (exists->value_or("0") == "0") continue;
      auto any = c.scalar("SELECT 1 FROM " + quoteIdent(request.keyspace) + "." +
                          quoteIdent(t.name) + " LIMIT 1");
      if (!any) return any.takeError();
      if (*any) {
        return Error::make(
            ErrorCode::kMigration,
            fmt::format("cannot reshard keyspace '{}': target shard {} already holds rows in "
                        "{}.{} (a cancelled migration?); empty the target's tables first",
                        request.keyspace, target, request.keyspace, t.name));
      }
    }
  }
  return catalog.createMigration(spec, ctx);
}

}  // namespace shardproxy::migrations
