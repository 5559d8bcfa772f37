// A client session's lookup keys (docs/routing.md, "Lookup keys"): asking the lookup table for the
// keyspace IDs a statement's values live at (then planning it again with the answer), and writing
// an INSERT's lookup entries before its rows, in the same transaction. A UNIQUE key's entry for a
// value whose row is gone (a DELETE leaves entries behind) is healed when the value is inserted
// again. Same class as client_session.cpp.
#include <fmt/format.h>

#include <charconv>

#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/server.h"

namespace shardproxy::proxy {

namespace {

using protocol::Command;

std::string identifier(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  out.push_back('`');
  return out;
}

std::string lookupTable(const catalog::LookupKey& key) {
  return identifier(key.lookupKeyspace) + "." + identifier(key.lookupTable);
}

// "12,34,56" (GROUP_CONCAT of keyspace IDs); false on anything else.
bool parseKeyspaceIds(std::string_view text, std::vector<std::uint64_t>& out) {
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || end != part.data() + part.size()) return false;
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;
}

Error lookupError(const catalog::LookupKey& key, std::string_view what, const Error& cause) {
  Error e = cause;
  e.message = fmt::format("Lookup key {}.{} ({}): {}: {}", key.keyspace, key.table, key.column,
                          what, cause.message);
  return e;
}

}  // namespace

asio::awaitable<Result<ClientSession::SessionConn*>> ClientSession::lookupConnection(
    const catalog::LookupKey& key) {
  const catalog::Keyspace* ks = snapshot_->findKeyspace(key.lookupKeyspace);
  const catalog::Shard* shard = nullptr;
  if (ks != nullptr) {
    for (std::size_t idx : ks->shards)
      if (snapshot_->shards[idx].serving) shard = &snapshot_->shards[idx];
  }
  if (shard == nullptr) {
    co_return Error::make(
        ErrorCode::kNoRoute,
        fmt::format("lookup keyspace '{}' has no serving shard", key.lookupKeyspace));
  }
  // The primary: a replica could be behind the entries just written.
  auto backend = chooseFor(*shard, router::Role::kPrimary);
  if (!backend) co_return backend.takeError();
  co_return co_await connectionTo(**backend, *shard);
}

asio::awaitable<Result<std::optional<std::string>>> ClientSession::lookupQuery(
    const catalog::LookupKey& key, const std::string& sql, bool write) {
  auto conn = co_await lookupConnection(key);
  if (!conn) co_return conn.takeError();
  const catalog::Endpoint address = (*conn)->address;
  BackendConnection::CommandOutput out;
  Status st = co_await (*conn)->conn->command(Command::kQuery, sql, &out);
  SessionConn* still = findConn(address);
  if (still != nullptr && out.sawStatus) {
    still->inTx = (out.status & protocol::status::kInTrans) != 0;
    // A branch of the session's transaction that wrote: committed (or prepared) with the others.
    if (write && st && still->inTx && (txOpen_ || !state_.autocommit)) still->wrote = true;
  }
  if (!st) {
    if (still != nullptr && still->conn && still->conn->broken) releaseConn(*still, true);
    co_return st.takeError();
  }
  co_return out.firstValue;
}

asio::awaitable<Result<const router::Plan*>> ClientSession::planAfterLookup(
    const sql::Statement& statement, const router::Plan& asking, router::PlanInput input) {
  const catalog::LookupKey& key = *asking.lookup;
  const std::string sql = asking.lookupSql;  // planning again overwrites the plan
  auto found = co_await lookupQuery(key, sql);
  if (!found) co_return lookupError(key, "cannot read the lookup table", found.error());
  lookupIds_.clear();
  if (*found && !parseKeyspaceIds(**found, lookupIds_)) {
    co_return Error::make(ErrorCode::kInternal,
                          fmt::format("Lookup key {}.{} ({}): unexpected answer '{}' to {}",
                                      key.keyspace, key.table, key.column, **found, sql));
  }
  router::PlanInput::LookupAnswer answer{key.id, lookupIds_};
  input.lookupAnswer = &answer;
  const router::Plan& plan = planner_.plan(statement, input);
  if (plan.lookup != nullptr) {
    co_return Error::make(ErrorCode::kInternal,
                          fmt::format("{} asked for a second lookup", key.table));
  }
  co_return &plan;
}

// A UNIQUE key's value is taken (1062 from the lookup table): an error if a row really holds it;
// if the entry names a keyspace ID where no row has the value (left by a DELETE), it is moved to
// `keyspaceId`.
asio::awaitable<Status> ClientSession::healUniqueEntry(const catalog::LookupKey& key,
                                                       const router::Plan::LookupEntry& entry) {
  const std::string select = fmt::format("SELECT keyspace_id FROM {} WHERE value = {} FOR UPDATE",
                                         lookupTable(key), entry.value);
  auto current = co_await lookupQuery(key, select);
  if (!current) co_return current.takeError();
  std::uint64_t owner = 0;
  const std::optional<std::string>& held = *current;
  if (held) std::from_chars(held->data(), held->data() + held->size(), owner);
  // Where the row holding the value would be: is it there?
  const catalog::Keyspace* ks = snapshot_->findKeyspace(key.keyspace);
  const catalog::Shard* shard = nullptr;
  if (ks != nullptr && held) shard = snapshot_->shardFor(*ks, owner);
  bool taken = false;
  if (shard != nullptr) {
    auto backend = chooseFor(*shard, router::Role::kPrimary);
    if (!backend) co_return backend.takeError();
    auto conn = co_await connectionTo(**backend, *shard);
    if (!conn) co_return conn.takeError();
    BackendConnection::CommandOutput out;
    const std::string probe = fmt::format(
        "SELECT 1 FROM {}.{} WHERE {} = {} LIMIT 1 LOCK IN SHARE MODE", identifier(key.keyspace),
        identifier(key.table), identifier(key.column), entry.value);
    Status st = co_await (*conn)->conn->command(Command::kQuery, probe, &out);
    if (!st) co_return st;
    taken = out.firstValue.has_value();
  }
  if (taken) {
    co_return Error::fromServer(
        1062, "23000",
        fmt::format("Duplicate entry {} for key '{}' (lookup key of {}.{})",
                    entry.value.starts_with('\'') ? entry.value : "'" + entry.value + "'",
                    key.column, key.keyspace, key.table));
  }
  if (held && owner == entry.keyspaceId) co_return Status{};
  auto moved = co_await lookupQuery(key,
                                    fmt::format("UPDATE {} SET keyspace_id = {} WHERE value = {}",
                                                lookupTable(key), entry.keyspaceId, entry.value),
                                    true);
  if (!moved) co_return moved.takeError();
  co_return Status{};
}

asio::awaitable<Status> ClientSession::writeLookupEntries(const router::Plan::LookupWrite& w) {
  const catalog::LookupKey& key = *w.key;
  // Several rows may share a non-unique entry (same value, same keyspace ID): IGNORE.
  std::string sql = fmt::format("INSERT {}INTO {} (value, keyspace_id) VALUES ",
                                key.unique ? "" : "IGNORE ", lookupTable(key));
  for (std::size_t i = 0; i < w.entries.size(); ++i)
    sql +=
        fmt::format("{}({}, {})", i == 0 ? "" : ", ", w.entries[i].value, w.entries[i].keyspaceId);
  auto written = co_await lookupQuery(key, sql, true);
  if (written) co_return Status{};
  if (!key.unique || written.error().mysqlErrno != 1062) co_return written.takeError();
  // Which value is taken, and is it really: one entry at a time.
  for (const auto& entry : w.entries) {
    auto one =
        co_await lookupQuery(key,
                             fmt::format("INSERT INTO {} (value, keyspace_id) VALUES ({}, {})",
                                         lookupTable(key), entry.value, entry.keyspaceId),
                             true);
    if (one) continue;
    if (one.error().mysqlErrno != 1062) co_return one.takeError();
    Status healed = co_await healUniqueEntry(key, entry);
    if (!healed) co_return healed;
  }
  co_return Status{};
}

asio::awaitable<void> ClientSession::endLookupTransactions(
    const std::vector<const catalog::LookupKey*>& keys, bool commit) {
  for (const catalog::LookupKey* k : keys) {
    auto ended = co_await lookupQuery(*k, commit ? "COMMIT" : "ROLLBACK");
    if (!ended && commit) {
      // The rows are in, their entries may not be: routing by this key may miss them.
      logWith(*moduleLogger("proxy"), spdlog::level::err, logFields(),
              "lookup key {}.{} ({}): the rows were inserted but committing their entries "
              "failed: {}; DROP and CREATE the lookup key to backfill it",
              k->keyspace, k->table, k->column, ended.error().message);
    }
  }
}

asio::awaitable<bool> ClientSession::executeWithLookups(const router::Plan& plan, const Packet& pkt,
                                                        std::uint8_t seq, PreparedStatement* stmt) {
  if (heldAtGate(plan.keyspace, &plan)) {
    // Planned again after the release (entries included).
    co_return co_await waitForRelease(pkt, seq);
  }
  // Outside a transaction the entries get one of their own on the lookup keyspace's primary,
  // committed once the rows are in (rolled back if they are not): a concurrent INSERT of the same
  // UNIQUE value waits on it instead of seeing an entry without its row.
  const bool own = !txOpen_ && !inTransaction() && state_.autocommit;
  // One key per lookup keyspace ends its transaction (the first key naming it).
  std::vector<const catalog::LookupKey*> ends;
  for (const auto& w : plan.lookupWrites) {
    bool seen = false;
    for (const auto* k : ends)
      seen = seen || k->lookupKeyspace == w.key->lookupKeyspace;
    if (!seen) ends.push_back(w.key);
  }
  if (own) {
    for (const auto* k : ends) {
      auto begun = co_await lookupQuery(*k, "START TRANSACTION");
      if (!begun) {
        co_await endLookupTransactions(ends, false);
        co_return co_await sendError(lookupError(*k, "BEGIN", begun.error()), seq);
      }
    }
  }
  for (const auto& w : plan.lookupWrites) {
    Status st = co_await writeLookupEntries(w);
    if (!st) {
      if (own) co_await endLookupTransactions(ends, false);
      Error e = st.takeError();
      if (e.mysqlErrno != 1062) e = lookupError(*w.key, "cannot write the entries", e);
      co_return co_await sendError(e, seq);
    }
  }
  // The plan is the planner's until the next plan(): nothing below plans.
  statementOk_ = false;
  const bool keep = co_await execute(plan, pkt, seq, stmt);
  if (own) co_await endLookupTransactions(ends, statementOk_);
  co_return keep;
}

}  // namespace shardproxy::proxy
