// Catalog: opening the file, snapshots, the change log, and the mutators, each of which is one
// applyChange() around the row operations in store_*.cpp (migration progress excepted).
#include "shardproxy/catalog/catalog.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <functional>

#include "catalog_errors.h"
#include "model.h"
#include "schema.h"
#include "sqlite_util.h"
#include "store.h"

namespace shardproxy::catalog {

using detail::applyChange;

namespace {

// Migration progress, saved every second or so by each worker: a short write transaction without
// the version bump, change-log row and invariant pass of a change (nothing in it alters routing).
Status writeProgress(sqlite3* db, const std::function<Status()>& write) {
  auto tx = detail::Transaction::begin(db, detail::Transaction::Kind::kWrite);
  if (!tx) return tx.takeError();
  if (Status s = write(); !s) return s;
  return tx->commit();
}

}  // namespace

Result<std::unique_ptr<Catalog>> Catalog::open(const std::string& path) {
  sqlite3* db = nullptr;
  Status opened = detail::openCatalogFile(path, true, true, db);
  std::unique_ptr<Catalog> catalog(new Catalog(db));  // closes `db` on every path below
  if (!opened) return opened.takeError();
  auto version = detail::readCatalogVersion(db);
  if (!version) return version.takeError();
  catalog->version_ = *version;
  return catalog;
}

Catalog::Catalog(sqlite3* db) : db_(db) {}

Catalog::~Catalog() {
  sqlite3_close_v2(db_);
}

Result<bool> Catalog::empty() {
  detail::Statement st(db_,
                       "SELECT (SELECT count(*) FROM keyspaces) + (SELECT count(*) FROM backends) "
                       "+ (SELECT count(*) FROM users)");
  auto row = st.step();
  if (!row) return row.takeError();
  return st.int64(0) == 0;
}

Result<SnapshotPtr> Catalog::snapshot() {
  auto tx = detail::Transaction::begin(db_, detail::Transaction::Kind::kRead);
  if (!tx) return tx.takeError();
  auto snap = detail::readSnapshot(db_);
  if (!snap) return snap;
  if (Status s = tx->commit(); !s) return s.takeError();
  version_ = (*snap)->version;
  return snap;
}

Status Catalog::createKeyspace(std::string_view name, bool sharded, const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::insertKeyspace(db_, name, sharded); });
}

Status Catalog::dropKeyspace(std::string_view name, const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx, [&] { return detail::deleteKeyspace(db_, name); });
}

Status Catalog::setScatterWrites(std::string_view keyspace, ScatterWrites setting,
                                 const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::updateScatterWrites(db_, keyspace, setting); });
}

Status Catalog::setTransactionMode(std::string_view keyspace, TransactionMode mode,
                                   const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::updateTransactionMode(db_, keyspace, mode); });
}

Status Catalog::setAutoFailover(std::string_view keyspace, bool on, const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::updateAutoFailover(db_, keyspace, on); });
}

Result<std::vector<std::string>> Catalog::promoteBackend(const Endpoint& newPrimary,
                                                         const Endpoint& oldPrimary,
                                                         BackendState oldPrimaryState,
                                                         const ChangeContext& ctx) {
  std::vector<std::string> switched;
  Status s = applyChange(db_, version_, ctx, [&]() -> Status {
    auto rows = detail::promoteBackendRows(db_, newPrimary, oldPrimary, oldPrimaryState);
    if (!rows) return rows.takeError();
    switched = std::move(*rows);
    return {};
  });
  if (!s) return s.takeError();
  return switched;
}

Result<std::int64_t> Catalog::recordHaEvent(const HaEvent& event) {
  std::int64_t id = 0;
  Status s = writeProgress(db_, [&]() -> Status {
    auto r = detail::insertHaEvent(db_, event);
    if (!r) return r.takeError();
    id = *r;
    return {};
  });
  if (!s) return s.takeError();
  return id;
}

Status Catalog::updateHaEvent(const HaEvent& event) {
  return writeProgress(db_, [&] { return detail::updateHaEventRow(db_, event); });
}

Result<std::vector<HaEvent>> Catalog::haEvents(std::optional<std::uint32_t> limit) {
  auto tx = detail::Transaction::begin(db_, detail::Transaction::Kind::kRead);
  if (!tx) return tx.takeError();
  auto rows = detail::selectHaEvents(db_, limit);
  if (!rows) return rows;
  if (Status s = tx->commit(); !s) return s.takeError();
  return rows;
}

Status Catalog::createShard(std::string_view keyspace, std::string_view shardName,
                            const Endpoint& primary, const std::vector<Endpoint>& replicas,
                            bool serving, const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx, [&]() -> Status {
    auto name = detail::insertShard(db_, keyspace, shardName, serving);
    if (!name) return name.takeError();
    Status s = detail::insertBackend(db_, keyspace, *name,
                                     detail::BackendSpec{primary, BackendRole::kPrimary});
    for (std::size_t i = 0; s && i < replicas.size(); ++i) {
      s = detail::insertBackend(db_, keyspace, *name, detail::BackendSpec{replicas[i]});
    }
    return s;
  });
}

Status Catalog::dropShard(std::string_view keyspace, std::string_view shardName,
                          const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::deleteShard(db_, keyspace, shardName); });
}

Status Catalog::setShardServing(std::string_view keyspace, std::string_view shardName, bool serving,
                                const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::updateShardServing(db_, keyspace, shardName, serving); });
}

Status Catalog::addBackend(const Endpoint& address, std::string_view keyspace,
                           std::string_view shardName, BackendRole role,
                           std::optional<std::uint32_t> weight,
                           std::optional<std::uint32_t> maxLagSeconds, const ChangeContext& ctx) {
  const detail::BackendSpec spec{address, role, weight.value_or(detail::kDefaultWeight),
                                 BackendState::kOnline,
                                 maxLagSeconds.value_or(detail::kDefaultMaxLagSeconds)};
  return applyChange(db_, version_, ctx,
                     [&] { return detail::insertBackend(db_, keyspace, shardName, spec); });
}

Status Catalog::dropBackend(const Endpoint& address, const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx, [&] { return detail::deleteBackend(db_, address); });
}

Status Catalog::setBackendState(const Endpoint& address, BackendState state,
                                const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::updateBackendState(db_, address, state); });
}

Status Catalog::createTableRule(std::string_view keyspace, std::string_view table, TableKind kind,
                                std::string_view shardKeyColumn, const ChangeContext& ctx,
                                std::string_view hashFunction) {
  return applyChange(db_, version_, ctx, [&] {
    return detail::insertTableRule(db_, keyspace, table, kind, shardKeyColumn, hashFunction);
  });
}

Status Catalog::dropTableRule(std::string_view keyspace, std::string_view table,
                              const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::deleteTableRule(db_, keyspace, table); });
}

Status Catalog::createUser(std::string_view name, std::string_view password,
                           const std::vector<std::string>& keyspaces, const ChangeContext& ctx) {
  const std::string native = detail::nativePasswordHash(password);
  const std::string sha2 = detail::sha2PasswordHash(password);
  return applyChange(db_, version_, ctx,
                     [&] { return detail::insertUser(db_, name, native, sha2, keyspaces); });
}

Status Catalog::dropUser(std::string_view name, const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx, [&] { return detail::deleteUser(db_, name); });
}

Result<std::int64_t> Catalog::createMigration(const MigrationSpec& spec, const ChangeContext& ctx) {
  std::int64_t id = 0;
  Status s = applyChange(db_, version_, ctx, [&]() -> Status {
    auto created = detail::insertMigration(db_, spec);
    if (!created) return created.takeError();
    id = *created;
    return {};
  });
  if (!s) return s.takeError();
  return id;
}

Result<std::vector<Migration>> Catalog::migrations(std::optional<std::int64_t> id) {
  auto tx = detail::Transaction::begin(db_, detail::Transaction::Kind::kRead);
  if (!tx) return tx.takeError();
  auto list = detail::readMigrations(db_, id);
  if (!list) return list;
  if (Status s = tx->commit(); !s) return s.takeError();
  return list;
}

Status Catalog::requestMigration(std::int64_t id, MigrationRequest request,
                                 std::optional<std::uint32_t> timeoutMs, const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::recordMigrationRequest(db_, id, request, timeoutMs); });
}

Status Catalog::updateMigration(std::int64_t id, const MigrationUpdate& update) {
  return writeProgress(db_, [&] { return detail::updateMigrationRow(db_, id, update); });
}

Status Catalog::saveTableProgress(std::int64_t id, const MigrationTable& table) {
  return writeProgress(db_, [&] { return detail::upsertMigrationTable(db_, id, table); });
}

Status Catalog::saveStreamProgress(std::int64_t id, const MigrationStream& stream) {
  return writeProgress(db_, [&] { return detail::upsertMigrationStream(db_, id, stream); });
}

Status Catalog::switchMigration(std::int64_t id, bool toTargets,
                                const std::vector<MigrationStream>& streams,
                                const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::switchMigrationShards(db_, id, toTargets, streams); });
}

Status Catalog::completeMigration(std::int64_t id, const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx, [&] { return detail::finishMigration(db_, id); });
}

Status Catalog::createSequence(const SequenceSpec& spec, const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx, [&] { return detail::insertSequence(db_, spec); });
}

Status Catalog::dropSequence(std::string_view keyspace, std::string_view table,
                             const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::deleteSequence(db_, keyspace, table); });
}

Status Catalog::checkSequence(const SequenceSpec& spec) {
  auto tx = detail::Transaction::begin(db_, detail::Transaction::Kind::kWrite);
  if (!tx) return tx.takeError();
  return detail::insertSequence(db_, spec);  // rolled back with `tx`
}

Result<std::vector<SequenceState>> Catalog::sequences() {
  auto tx = detail::Transaction::begin(db_, detail::Transaction::Kind::kRead);
  if (!tx) return tx.takeError();
  auto list = detail::readSequenceStates(db_);
  if (!list) return list;
  if (Status s = tx->commit(); !s) return s.takeError();
  return list;
}

Result<std::vector<DecisionRecord>> Catalog::twopcTransactions() {
  return detail::listDecisions(db_);
}

Result<LookupKey> Catalog::createLookupKey(const LookupKeySpec& spec, const ChangeContext& ctx) {
  LookupKey created;
  Status s = applyChange(db_, version_, ctx, [&]() -> Status {
    auto key = detail::insertLookupKey(db_, spec);
    if (!key) return key.takeError();
    created = std::move(*key);
    return {};
  });
  if (!s) return s.takeError();
  return created;
}

Status Catalog::dropLookupKey(std::string_view keyspace, std::string_view table,
                              std::string_view column, const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::deleteLookupKey(db_, keyspace, table, column); });
}

Status Catalog::markLookupKey(std::int64_t id, bool ready, std::string_view error,
                              const ChangeContext& ctx) {
  return applyChange(db_, version_, ctx,
                     [&] { return detail::updateLookupKey(db_, id, ready, error); });
}

Result<std::vector<ChangeRecord>> Catalog::changes(std::optional<std::uint32_t> limit) {
  detail::Statement st(db_,
                       "SELECT version, time, statement, who FROM change_log "
                       "ORDER BY version DESC LIMIT ?");
  st.bind(1, limit ? std::int64_t{*limit} : std::int64_t{-1});  // -1: no limit
  std::vector<ChangeRecord> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return out;
    out.push_back(
        ChangeRecord{static_cast<std::uint64_t>(st.int64(0)), st.text(1), st.text(2), st.text(3)});
  }
}

}  // namespace shardproxy::catalog
