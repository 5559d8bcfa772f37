// A client session's routing and execution: parse → plan → run — one target relayed untouched
// (the hot path, in a small coroutine frame); several targets are session_multi.cpp's;
// multi-statements. Same class as client_session.cpp (docs/routing.md).
#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

#include "session_util.h"
#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/merge_engine.h"
#include "shardproxy/proxy/merge_relay.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/result_set.h"
#include "shardproxy/proxy/server.h"
#include "shardproxy/router/backend_choice.h"
#include "shardproxy/router/sql/analysis.h"
#include "shardproxy/router/sql/digest.h"

namespace shardproxy::proxy {

// --- COM_QUERY -------------------------------------------------------------------------------

namespace {

metrics::Kind metricsKind(sql::StatementKind k) {
  using sql::StatementKind;
  switch (k) {
    case StatementKind::kSelect:
      return metrics::Kind::kSelect;
    case StatementKind::kInsert:
      return metrics::Kind::kInsert;
    case StatementKind::kUpdate:
      return metrics::Kind::kUpdate;
    case StatementKind::kDelete:
      return metrics::Kind::kDelete;
    case StatementKind::kTransaction:
      return metrics::Kind::kTransaction;
    case StatementKind::kSet:
      return metrics::Kind::kSet;
    case StatementKind::kUse:
      return metrics::Kind::kUse;
    case StatementKind::kShow:
      return metrics::Kind::kShow;
    case StatementKind::kDdl:
      return metrics::Kind::kDdl;
    case StatementKind::kLockTables:
    case StatementKind::kUnlockTables:
      return metrics::Kind::kLock;
    case StatementKind::kExplain:
      return metrics::Kind::kExplain;
    case StatementKind::kOther:
      break;
  }
  return metrics::Kind::kOther;
}

}  // namespace

asio::awaitable<bool> ClientSession::onQueryText(const Packet& pkt, std::string_view sql,
                                                 std::uint8_t seq) {
  refreshSnapshot();
  sql::ParseResult parsed = parser_.parse(sql, 0, statementCounted_ ? nullptr : digestTokens());
  if (!statementCounted_) {
    statementCounted_ = true;
    ctx_.metrics.statement(parsed ? metricsKind(parsed.statement().kind) : metrics::Kind::kOther);
    noteDigest(parsed ? &parsed.statement() : nullptr, sql, parsed ? parsed.statement().text : sql);
  }
  if (!parsed) {
    if (parsed.error().kind == sql::ParseError::Kind::kEmpty) {
      // As the server: a statement of comments only is an OK, nothing at all is 1065.
      if (detail::onlyComments(sql)) co_return co_await sendOk(seq);
      co_return co_await sendError(Error::fromServer(1065, "42000", "Query was empty"), seq);
    }
    // The backend's own parser has the last word on an unsharded keyspace (its dialect may be
    // newer than ours); a sharded keyspace cannot route what it cannot read.
    const catalog::Keyspace* ks = schemaKeyspace();
    if (ks != nullptr && !ks->sharded) co_return co_await passThrough(pkt, seq);
    co_return co_await sendError(parsed.error().toError(), seq);
  }
  if (!txLost_.empty()) [[unlikely]] {
    co_return co_await lostTransaction(&parsed.statement(), seq);
  }
  if (parsed.next() < sql.size()) {
    foundRows_.reset();  // (statements the proxy answers itself are single ones)
    rowCount_.reset();
    warnedOn_.clear();
    co_return co_await onMultiStatement(pkt, sql, seq);
  }
  const sql::Statement& statement = parsed.statement();
  if (!warnedOn_.empty()) [[unlikely]] {
    // The last statement ran on several shards: its warnings are on each of them.
    const auto* show = statement.as<sql::ShowStatement>();
    if (show != nullptr &&
        (show->show == sql::ShowKind::kWarnings || show->show == sql::ShowKind::kErrors)) {
      co_return co_await onShowWarnings(*show, seq);
    }
    if (auto counts = detail::diagnosticsCounts(statement)) {
      co_return co_await onCountWarnings(sql, std::move(*counts), seq);
    }
  }
  if (foundRows_ || rowCount_) {
    auto answered = co_await answerMergedCount(&statement, seq, false);
    if (answered) co_return *answered;
  }
  if (statement.kind == sql::StatementKind::kExplain &&
      statement.as<sql::ExplainStatement>()->route) {
    co_return co_await onExplainRoute(statement, seq);
  }
  if (statement.kind == sql::StatementKind::kLockTables && inTransaction()) [[unlikely]] {
    // MySQL: LOCK TABLES commits the open transaction first (as BEGIN does).
    Status committed = co_await endTransaction("COMMIT", true);
    txOpen_ = false;
    txWriteShard_.clear();
    if (!committed) co_return co_await sendError(committed.error(), seq);
  }
  const Plan* planned = &planner_.plan(statement, planInput({}, false));
  if (planned->sequenceShortfall != nullptr) [[unlikely]] {
    auto refilled = co_await planAfterRefill(statement, *planned, planInput({}, false));
    if (!refilled) co_return co_await sendError(refilled.error(), seq);
    planned = *refilled;
  }
  if (planned->lookup != nullptr) [[unlikely]] {
    auto looked = co_await planAfterLookup(statement, *planned, planInput({}, false));
    if (!looked) co_return co_await sendError(looked.error(), seq);
    planned = *looked;
  }
  // One server resets its warnings for each new statement that uses tables (one without keeps
  // them, unless it has its own: executeSingle()).
  // (SET too: its own error or warnings replace them, onSet().)
  if (planned->kind != PlanKind::kSessionConnection && planned->kind != PlanKind::kSet) {
    warnedOn_.clear();
  }
  if (planned->join) [[unlikely]] {
    co_return co_await onJoin(*planned->join, seq);
  }
  if (planned->insertSelect) [[unlikely]] {
    co_return co_await onInsertSelect(*planned->insertSelect, seq);
  }
  if (planned->usesProcesslist && !rewritingProcesslist_) [[unlikely]] {
    co_return co_await onProcesslist(pkt, sql, seq);
  }
  if (statement.kind == sql::StatementKind::kShow &&
      statement.as<sql::ShowStatement>()->show == sql::ShowKind::kStatus &&
      planned->kind == PlanKind::kSessionConnection) [[unlikely]] {
    co_return co_await onShowStatus(sql, seq);
  }
  if (planned->usesConnectionId) [[unlikely]] {
    // CONNECTION_ID() is the proxy's id (the handshake's, KILL's): written in, then run as sent.
    std::string text;
    if (sql::withConnectionId(sql, id_, parser_.options().lex, text)) {
      protocol::Bytes payload;
      const Packet rewritten = rewrittenPacket(Command::kQuery, text, pkt, payload);
      co_return co_await onQueryText(rewritten, protocol::asString(rewritten.payload.subspan(1)),
                                     seq);
    }
  }
  const Plan& plan = *planned;
  switch (plan.kind) {
    case PlanKind::kError:
      co_return co_await sendError(plan.error, seq);
    case PlanKind::kBegin:
      co_return co_await onBegin(plan, seq);
    case PlanKind::kCommit:
    case PlanKind::kRollback:
    case PlanKind::kSavepoint:
      co_return co_await onEndTransaction(plan, pkt, seq);
    case PlanKind::kSet:
      co_return co_await onSet(plan, pkt, seq);
    default:
      break;
  }
  if (statement.kind == sql::StatementKind::kLockTables ||
      statement.kind == sql::StatementKind::kUnlockTables) {
    // The locked tables are read where the locks are (conservatively also when LOCK failed).
    lockedTables_ = statement.kind == sql::StatementKind::kLockTables;
  }
  if (statement.kind == sql::StatementKind::kDdl) {
    const auto* ddl = statement.as<sql::DdlStatement>();
    if (ddl->temporary && ddl->action == sql::DdlAction::kCreate) temporaryTables_ = true;
    if (!ddl->temporary && plan.keyspace != nullptr && plan.keyspace->sharded) {
      // The plan is gone once executed (a held keyspace plans again): keep the name.
      std::string keyspace = plan.keyspace->name;
      const bool keep = co_await execute(plan, pkt, seq, nullptr);
      if (keep) co_await awaitSchemaRefresh(std::move(keyspace));
      co_return keep;
    }
  }
  if (!plan.lookupWrites.empty()) [[unlikely]] {
    co_return co_await executeWithLookups(plan, pkt, seq, nullptr);
  }
  co_return co_await execute(plan, pkt, seq, nullptr);
}

asio::awaitable<bool> ClientSession::passThrough(const Packet& pkt, std::uint8_t seq) {
  const catalog::Keyspace* ks = schemaKeyspace();
  if (heldAtGate(ks)) co_return co_await waitForRelease(pkt, seq);
  if (ks == nullptr || ks->shards.empty()) {
    co_return co_await sendError(
        Error::make(ErrorCode::kNoRoute,
                    fmt::format("No keyspace serves schema '{}', and there is no unsharded "
                                "keyspace to take it",
                                state_.schema)),
        seq);
  }
  if (ks->sharded) {
    co_return co_await sendError(
        Error::make(
            ErrorCode::kNotSupportedYet,
            fmt::format("This statement cannot be routed on sharded keyspace '{}'", ks->name)),
        seq);
  }
  const catalog::Shard* shard = nullptr;
  for (std::size_t idx : ks->shards)
    if (snapshot_->shards[idx].serving) shard = &snapshot_->shards[idx];
  if (shard == nullptr) {
    co_return co_await sendError(
        Error::make(ErrorCode::kNoRoute,
                    fmt::format("Keyspace '{}' has no serving shard", ks->name)),
        seq);
  }
  auto backend = chooseFor(*shard, Role::kPrimary);
  if (!backend) co_return co_await sendError(backend.error(), seq);
  auto conn = co_await connectionTo(**backend, *shard);
  if (!conn) co_return co_await sendError(conn.error(), seq);
  SessionConn* c = *conn;
  current_ = static_cast<int>(c - conns_.data());
  publishBackend(c);
  ++ctx_.metrics.shard(shard->keyspace, shard->name).single;
  execution_.shards = 1;
  execution_.keyspace = shard->keyspace;
  execution_.shard = shard->name;
  RelayResult r;
  bool keep = co_await relay(*c, pkt, RelayOptions{ResponseKind::kQuery}, &r);
  if (r.outcome == RelayResult::Outcome::kDone && !r.sawError) {
    applySessionChanges((*backend)->address);
  }
  co_return keep;
}

asio::awaitable<bool> ClientSession::onMultiStatement(const Packet& pkt, std::string_view sql,
                                                      std::uint8_t seq) {
  const catalog::Keyspace* ks = schemaKeyspace();
  if (ks != nullptr && !ks->sharded) co_return co_await passThrough(pkt, seq);
  // A sharded keyspace: every statement must run on the same one shard.
  std::optional<std::uint32_t> shard;     // the shard a statement needs
  std::optional<std::uint32_t> anyShard;  // where statements any shard can answer would run
  std::size_t at = 0;
  while (at < sql.size()) {
    sql::ParseResult parsed = parser_.parse(sql, at);
    if (!parsed) {
      if (parsed.error().kind == sql::ParseError::Kind::kEmpty) break;
      co_return co_await sendError(parsed.error().toError(), seq);
    }
    const Plan& plan = planner_.plan(parsed.statement(), planInput({}, false));
    if (plan.kind == PlanKind::kError) co_return co_await sendError(plan.error, seq);
    if (plan.kind == PlanKind::kSessionConnection) {
      // No table (SELECT 2, SELECT @@version): runs wherever the others do.
      if (parsed.next() <= at) break;
      at = parsed.next();
      continue;
    }
    if (plan.kind != PlanKind::kSingle || plan.rewritten(0) ||
        (!plan.anyShard && shard && *shard != plan.targets[0].shard)) {
      co_return co_await sendError(
          Error::make(ErrorCode::kNotSupportedYet,
                      "A multi-statement on a sharded keyspace must run every statement on one "
                      "shard (no transaction statements, SET, or statements on several shards); "
                      "send the statements one by one"),
          seq);
    }
    if (plan.anyShard) {
      if (!anyShard) anyShard = plan.targets[0].shard;
    } else {
      shard = plan.targets[0].shard;
    }
    if (parsed.next() <= at) break;
    at = parsed.next();
  }
  if (!shard) shard = anyShard;
  if (!shard) {
    // Only table-less statements: the session's connection.
    router::Plan session;
    session.kind = PlanKind::kSessionConnection;
    session.role = Role::kPrimary;
    auto conn = co_await sessionConnection(session);
    if (!conn) co_return co_await sendError(conn.error(), seq);
    current_ = static_cast<int>(*conn - conns_.data());
    co_return co_await relay(**conn, pkt, RelayOptions{ResponseKind::kQuery});
  }
  const catalog::Shard& s = snapshot_->shards[*shard];
  if (heldAtGate(snapshot_->findKeyspace(s.keyspace), nullptr, &s)) {
    co_return co_await waitForRelease(pkt, seq);
  }
  auto backend = chooseFor(s, Role::kPrimary);
  if (!backend) co_return co_await sendError(backend.error(), seq);
  auto conn = co_await connectionTo(**backend, s);
  if (!conn) co_return co_await sendError(conn.error(), seq);
  current_ = static_cast<int>(*conn - conns_.data());
  publishBackend(*conn);
  co_return co_await relay(**conn, pkt, RelayOptions{ResponseKind::kQuery});
}

// --- execution of a plan -----------------------------------------------------------------------

asio::awaitable<bool> ClientSession::lostTransaction(const sql::Statement* statement,
                                                     std::uint8_t seq) {
  const std::string server = std::exchange(txLost_, std::string());
  logWith(*moduleLogger("proxy"), spdlog::level::info, logFields(1213),
          "its transaction on {} was lost to a change of role (switchover or failover): "
          "rolled back",
          server);
  co_await abortTransaction();
  for (std::size_t k = conns_.size(); k-- > 0;)
    if (conns_[k].inTx) releaseConn(conns_[k], true);
  txOpen_ = false;
  const auto* tx = statement != nullptr && statement->kind == sql::StatementKind::kTransaction
                       ? statement->as<sql::TransactionStatement>()
                       : nullptr;
  if (tx != nullptr && tx->action == sql::TransactionAction::kRollback) {
    co_return co_await sendOk(seq);
  }
  co_return co_await sendError(
      Error::fromServer(1213, "40001",
                        fmt::format("Deadlock found when trying to get lock; try restarting "
                                    "transaction (shardproxy: the transaction's server {} was "
                                    "switched over or failed over; the transaction was rolled "
                                    "back and the statement was not run)",
                                    server)),
      seq);
}

// --- the keyspace gate (a cutover holds a keyspace) ------------------------------------------

bool ClientSession::busyOn(std::string_view keyspace, std::string_view shard) const {
  if (!idle_ && activeKeyspace_ != nullptr && activeKeyspace_->name == keyspace) return true;
  for (const SessionConn& c : conns_)
    if (c.inTx && c.keyspace == keyspace && (shard.empty() || c.shard == shard)) return true;
  return false;
}

bool ClientSession::heldAtGate(const catalog::Keyspace* ks, const Plan* plan,
                               const catalog::Shard* shard) {
  // Marked busy and checked in one run of this thread: the gate counts busy sessions here too.
  activeKeyspace_ = ks;
  const KeyspaceGate& gate = ctx_.shared.gate;
  if (!gate.anyHeld()) [[likely]]
    return false;
  if (ks == nullptr) return false;
  if (gate.isHeld(ks->name)) {
    // A transaction already open on the keyspace goes on: the cutover waits for it to end.
    for (const SessionConn& c : conns_)
      if (c.inTx && c.keyspace == ks->name) return false;
    heldScope_ = HoldScope{ks->name, {}};
    activeKeyspace_ = nullptr;
    return true;
  }
  if (!gate.anyShardHeld(ks->name)) return false;
  // Some shards of the keyspace are held (a primary switchover or failover): the statement waits
  // when it touches one, unless its transaction is already open there (the switchover waits for
  // it to end; on a dead primary it fails at its next statement).
  auto heldShard = [&](const catalog::Shard& s) {
    if (!gate.isHeld(ks->name, s.name)) return false;
    for (const SessionConn& c : conns_)
      if (c.inTx && c.keyspace == ks->name && c.shard == s.name) return false;
    heldScope_ = HoldScope{ks->name, s.name};
    return true;
  };
  bool held = false;
  if (shard != nullptr) {
    held = heldShard(*shard);
  } else if (plan != nullptr && !plan->targets.empty()) {
    for (const auto& t : plan->targets) {
      if (heldShard(snapshot_->shards[t.shard])) {
        held = true;
        break;
      }
    }
  } else {
    for (std::size_t idx : ks->shards) {
      if (heldShard(snapshot_->shards[idx])) {
        held = true;
        break;
      }
    }
  }
  if (held) activeKeyspace_ = nullptr;
  return held;
}

asio::awaitable<bool> ClientSession::waitForRelease(const Packet& pkt, std::uint8_t seq) {
  KeyspaceGate& gate = ctx_.shared.gate;
  const HoldScope scope = heldScope_;
  const std::size_t bytes = pkt.payload.size();
  auto refuse = [&](std::string_view why) {
    std::string what = scope.shard.empty()
                           ? fmt::format("Keyspace '{}'", scope.keyspace)
                           : fmt::format("Shard {}/{}", scope.keyspace, scope.shard);
    std::string reason = gate.reason(scope);
    return Error::make(ErrorCode::kKeyspaceHeld,
                       fmt::format("{} {} and the statement {}; it was not run: retry it", what,
                                   reason.empty() ? "was held" : reason, why));
  };
  if (!gate.enter(scope, bytes)) {
    co_return co_await sendError(
        refuse(fmt::format("found its buffer full ({} statements or {} bytes waiting)",
                           ctx_.shared.config.bufferMaxStatements,
                           ctx_.shared.config.bufferMaxBytes)),
        seq);
  }
  const auto deadline = std::chrono::steady_clock::now() + ctx_.shared.config.holdTimeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  // Polling keeps the gate free of per-session wake-ups across threads; a cutover's pause is
  // hundreds of milliseconds, so 2 ms steps cost nothing.
  while (gate.isHeld(scope.keyspace, scope.shard)) {
    if (std::chrono::steady_clock::now() >= deadline || closeRequested_) {
      Error err = refuse(fmt::format("waited {} ms", ctx_.shared.config.holdTimeout.count()));
      gate.leave(scope, bytes);
      co_return co_await sendError(std::move(err), seq);
    }
    timer.expires_after(std::chrono::milliseconds(2));
    co_await timer.async_wait(asio::use_awaitable);
  }
  gate.leave(scope, bytes);
  refreshSnapshot();
  co_return co_await dispatch(pkt);
}

asio::awaitable<bool> ClientSession::execute(const Plan& plan, const Packet& pkt, std::uint8_t seq,
                                             PreparedStatement* stmt) {
  // Not a coroutine itself: each path has its own frame, so the hot one stays small enough for
  // Asio's frame recycling (frames over ~1 KiB go to malloc on every statement).
  if (heldAtGate(plan.keyspace, &plan)) [[unlikely]] {
    return waitForRelease(pkt, seq);
  }
  if (plan.kind == PlanKind::kSessionConnection || plan.kind == PlanKind::kSingle ||
      plan.kind == PlanKind::kUse) {
    return executeSingle(plan, pkt, seq, stmt);
  }
  return executeMulti(plan, pkt, seq, stmt);
}

const catalog::Shard* ClientSession::singleShard(const Plan& plan) {
  const catalog::Shard* shard = &snapshot_->shards[plan.targets[0].shard];
  if (plan.anyShard && plan.role == Role::kReplica) {
    // Any shard answers the same: reuse a connection the session already has there.
    for (auto& existing : conns_) {
      if (existing.keyspace != shard->keyspace) continue;
      for (std::size_t idx : plan.keyspace->shards) {
        const auto& s = snapshot_->shards[idx];
        if (s.serving && s.name == existing.shard) shard = &s;
      }
      break;
    }
  }
  return shard;
}

bool ClientSession::txWrites() const {
  return (txOpen_ && !txReadOnly_) || !state_.autocommit || inTransaction();
}

ClientSession::SessionConn* ClientSession::readyFor(const Plan& plan) {
  if (causalReads_) return nullptr;  // may need a GTID wait: the slow path
  if (plan.kind == PlanKind::kSessionConnection) {
    if (plan.connectionBound || current_ < 0) return nullptr;
    SessionConn& c = conns_[static_cast<std::size_t>(current_)];
    const catalog::Keyspace* ks = plan.keyspace != nullptr ? plan.keyspace : schemaKeyspace();
    if (ks != nullptr && c.keyspace != ks->name) return nullptr;
    return readyConn(c.address);
  }
  if (plan.write && txWrites()) return nullptr;  // the transaction's write shard: slow path
  const catalog::Shard* shard = singleShard(plan);
  auto backend = chooseFor(*shard, plan.role);
  if (!backend) return nullptr;
  return readyConn((*backend)->address);
}

asio::awaitable<ClientSession::SessionConn*> ClientSession::acquireFor(const Plan& plan,
                                                                       std::uint8_t seq,
                                                                       bool& keep) {
  keep = true;
  if (plan.kind == PlanKind::kSessionConnection) {
    auto conn = co_await sessionConnection(plan);
    if (!conn) {
      keep = co_await sendError(conn.error(), seq);
      co_return nullptr;
    }
    co_return *conn;
  }
  const catalog::Shard* shard = singleShard(plan);
  const bool txWrite = plan.write && txWrites();
  if (txWrite) {
    std::string key = shard->keyspace + "/" + shard->name;
    if (!txWriteShard_.empty() && txWriteShard_ != key &&
        txModeFor(shard->keyspace) == catalog::TransactionMode::kSingle) {
      keep = co_await sendError(
          Error::make(ErrorCode::kCrossShardTransaction,
                      fmt::format("This transaction already wrote to shard {}, and its "
                                  "transaction mode is 'single' (one shard per transaction): "
                                  "writing to shard {} needs SET shardproxy_transaction_mode = "
                                  "'multi' or 'twopc'. The transaction is still open: COMMIT or "
                                  "ROLLBACK it",
                                  txWriteShard_, key)),
          seq);
      co_return nullptr;
    }
    if (txWriteShard_.empty()) txWriteShard_ = key;
  }
  auto backend = chooseFor(*shard, plan.role);
  if (!backend) {
    keep = co_await sendError(backend.error(), seq);
    co_return nullptr;
  }
  auto conn = co_await connectionTo(**backend, *shard);
  if (!conn && (*backend)->role == catalog::BackendRole::kReplica &&
      findConn((*backend)->address) == nullptr) [[unlikely]] {
    // A replica that cannot be reached (it died before the health probe saw it): the read goes
    // to the primary, which has everything the replica had.
    auto primary = chooseFor(*shard, Role::kPrimary);
    if (primary) conn = co_await connectionTo(**primary, *shard);
  }
  if (!conn) {
    keep = co_await sendError(conn.error(), seq);
    co_return nullptr;
  }
  SessionConn* c = *conn;
  if (causalReads_ && !c->primary && !c->inTx) {
    Status caught = co_await waitForGtid(*c, *shard);
    if (!caught) {
      // The replica is behind the session's last write: read from the primary instead.
      auto primary = chooseFor(*shard, Role::kPrimary);
      if (!primary) {
        keep = co_await sendError(primary.error(), seq);
        co_return nullptr;
      }
      auto pconn = co_await connectionTo(**primary, *shard);
      if (!pconn) {
        keep = co_await sendError(pconn.error(), seq);
        co_return nullptr;
      }
      c = *pconn;
    }
  }
  if (txWrite) c->wrote = true;
  co_return c;
}

asio::awaitable<bool> ClientSession::relayExecute(SessionConn& c, const Packet& pkt,
                                                  std::uint8_t seq, PreparedStatement& stmt,
                                                  RelayResult& r, std::uint64_t insertId) {
  // CURSOR_TYPE_READ_ONLY in the execute's flags: the answer may be metadata only (a cursor).
  const std::uint8_t cursorFlags = pkt.payload.size() > 5 ? pkt.payload[5] : 0;
  RelayOptions options{(cursorFlags & 0x01) != 0 ? ResponseKind::kExecuteCursor
                                                 : ResponseKind::kExecute};
  options.insertId = insertId;
  const catalog::Endpoint address = c.address;
  auto id = co_await preparedOn(stmt, c);
  if (!id) {
    if (SessionConn* still = findConn(address); still && still->conn && still->conn->broken) {
      releaseConn(*still, true);
    }
    co_return co_await sendError(id.error(), seq);
  }
  // Long data first (no responses), then the execute with the backend's statement id.
  for (const auto& [param, data] : stmt.longData) {
    auto& out = c.conn->channel().out();
    std::uint8_t s = 0;
    std::size_t start = protocol::beginPacket(out);
    protocol::ByteWriter w(out);
    w.u8(static_cast<std::uint8_t>(Command::kStmtSendLongData));
    w.u32(*id);
    w.u16(param);
    w.str(data);
    protocol::endPacket(out, start, s);
  }
  // (No co_await inside a short-circuit condition: GCC 12 miscompiles it.)
  bool longDataLost = false;
  if (!stmt.longData.empty()) longDataLost = static_cast<bool>(co_await c.conn->channel().flush());
  if (longDataLost) {
    releaseConn(c, true);
    co_return co_await sendError(
        Error::make(ErrorCode::kBackendLost, "Lost the backend while sending long data"), seq);
  }
  stmt.longData.clear();
  std::uint8_t flags = pkt.payload.size() > 5 ? pkt.payload[5] : 0;
  if (flags != 0) stmt.cursorSerial = c.conn->serial();
  protocol::ByteView payload = executePacketFor(stmt, pkt, c.conn->serial(), false);
  if (payload.data() == pkt.payload.data()) {
    co_return co_await relay(c, pkt, options, &r);
  }
  Packet rebuilt;
  rebuilt.payload = payload;
  rebuilt.seq = 0;
  rebuilt.lastSeq = pkt.lastSeq;
  co_return co_await relay(c, rebuilt, options, &r);
}

asio::awaitable<bool> ClientSession::relayRewritten(SessionConn& c, const Packet& pkt,
                                                    std::string_view sql, RelayResult& r,
                                                    RelayOptions options) {
  cmdBuffer_.clear();
  cmdBuffer_.push_back(static_cast<std::uint8_t>(Command::kQuery));
  cmdBuffer_.insert(cmdBuffer_.end(), sql.begin(), sql.end());
  Packet rewritten;
  rewritten.payload = protocol::ByteView(cmdBuffer_);
  rewritten.seq = 0;
  rewritten.lastSeq = pkt.lastSeq;
  co_return co_await relay(c, rewritten, options, &r);
}

asio::awaitable<bool> ClientSession::executeSingle(const Plan& plan, const Packet& pkt,
                                                   std::uint8_t seq, PreparedStatement* stmt) {
  SessionConn* c = readyFor(plan);
  if (c == nullptr) {
    bool keep = true;
    c = co_await acquireFor(plan, seq, keep);
    if (c == nullptr) co_return keep;
  }
  if (c->conn->peerClosed()) [[unlikely]] {
    if (c->inTx) {
      // The server ended the connection that held this session's transaction
      // (idle_transaction_timeout, KILL, a restart): on one server the client's connection would
      // be gone with it, so it is (the client sees 2013 and reconnects, as it would there).
      logWith(*moduleLogger("proxy"), spdlog::level::info, logFields(2013),
              "the server {} closed the connection holding its transaction: closing the "
              "client's",
              c->address.toString());
      releaseConn(*c, true);
      co_return false;
    }
    // The server closed this kept connection while it sat idle (a restart, a kill, a failover's
    // fence): nothing was sent on it, so the statement goes to a connection chosen afresh.
    releaseConn(*c, true);
    bool keep = true;
    c = co_await acquireFor(plan, seq, keep);
    if (c == nullptr) co_return keep;
  }
  current_ = static_cast<int>(c - conns_.data());
  publishBackend(c);
  if (!plan.targets.empty() && plan.targets.front().shard < snapshot_->shards.size()) {
    const catalog::Shard& shard = snapshot_->shards[plan.targets.front().shard];
    ++ctx_.metrics.shard(shard.keyspace, shard.name).single;
    execution_.shards = 1;
    execution_.keyspace = shard.keyspace;
    execution_.shard = shard.name;
  }
  if (plan.connectionBound && lastInsertId_ != 0 && c->insertIdVersion != insertIdVersion_)
      [[unlikely]] {
    Status synced = co_await syncInsertId(*c);
    if (!synced) co_return co_await sendError(synced.error(), seq);
  }
  const catalog::Endpoint address = c->address;
  RelayResult r;
  bool keep;
  if (stmt != nullptr && !plan.executeParams.empty()) [[unlikely]] {
    keep = co_await relayGeneratedExecute(*c, plan, pkt, seq, *stmt, r);
  } else if (stmt != nullptr) {
    keep = co_await relayExecute(*c, pkt, seq, *stmt, r);
  } else {
    RelayOptions options{ResponseKind::kQuery};
    options.insertInfo = insertSelectInfo_;
    if (plan.kind == PlanKind::kSingle && plan.rewritten(0)) {
      options.insertId = static_cast<std::uint64_t>(plan.generatedId);
      keep = co_await relayRewritten(*c, pkt, plan.sqlFor(0), r, options);
    } else {
      keep = co_await relay(*c, pkt, options, &r);
    }
  }
  if (r.sawError && abortsTransaction(r.errorCode) && inTransaction()) {
    // The server rolled its branch back (a deadlock): so is the whole transaction, as on one
    // server; the client was told by the error itself.
    co_await abortTransaction();
  }
  statementOk_ = r.outcome == RelayResult::Outcome::kDone && !r.sawError;
  if (r.warnings > 0 || r.sawError) warnedOn_.clear();  // its own messages replace the last ones
  if (r.outcome == RelayResult::Outcome::kDone && !r.sawError) {
    applySessionChanges(address);
    noteInsertId(plan, r.insertId);
    SessionConn* still = findConn(address);
    if (plan.write && still != nullptr) lastWrite_ = address;
    if (plan.write && still != nullptr && still->primary && !still->inTx) {
      if (causalReads_) {
        co_await recordGtid(*still);
      } else {
        noteWrite(*still, {});
      }
    }
  }
  co_return keep;
}

}  // namespace shardproxy::proxy
