// A client session's transactions (docs/transactions.md): BEGIN answered by the proxy and sent to
// each backend on first use; COMMIT / ROLLBACK / SAVEPOINT everywhere the transaction went. A
// transaction that wrote to several shards commits by its mode: 'multi' commits the shards in
// turn and names the committed ones if a later one fails; 'twopc' makes every written shard an XA
// branch, records the decision in the catalog before the first XA COMMIT, and leaves whatever a
// crash interrupts to the recovery pass (twopc_recovery.h). Same class as client_session.cpp.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "offload.h"
#include "session_util.h"
#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/server.h"

namespace shardproxy::proxy {

namespace {

// Fault injection for the crash tests (tests/integration/twopc_test.sh): a pause after the
// branches are prepared and after the decision is recorded, so a kill -9 lands in between.
std::chrono::milliseconds faultPause() {
  static const std::chrono::milliseconds pause = [] {
    const char* v = std::getenv("SHARDPROXY_FAULT_TWOPC_PAUSE_MS");
    return std::chrono::milliseconds(v != nullptr ? std::strtoll(v, nullptr, 10) : 0);
  }();
  return pause;
}

// COMMIT AND CHAIN / ROLLBACK AND CHAIN (not AND NO CHAIN): a new transaction follows.
bool chains(std::string_view sql) {
  std::string upper(sql);
  for (auto& ch : upper)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto at = upper.find("CHAIN");
  if (at == std::string::npos) return false;
  auto no = upper.rfind("NO", at);
  return no == std::string::npos || upper.find_first_not_of(" \t\r\n", no + 2) != at;
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

catalog::TransactionMode ClientSession::txModeFor(std::string_view keyspace) const {
  if (txModeOverride_) return *txModeOverride_;
  const catalog::Keyspace* ks = snapshot_ ? snapshot_->findKeyspace(keyspace) : nullptr;
  return ks != nullptr ? ks->transactionMode : catalog::TransactionMode::kMulti;
}

bool ClientSession::needsBegin(const SessionConn& c) const {
  if (txOpen_) return true;
  return !state_.autocommit && c.primary &&
         txModeFor(c.keyspace) == catalog::TransactionMode::kTwoPc;
}

std::string ClientSession::branchName(const SessionConn& c) const {
  return c.keyspace + "/" + c.shard;
}

std::string ClientSession::xidOf(const SessionConn& c) const {
  std::string bqual = branchName(c);
  if (bqual.size() > 64) bqual = fmt::format("{:016x}", std::hash<std::string>{}(bqual));
  return quoteString(txGtrid_) + "," + quoteString(bqual);
}

asio::awaitable<Status> ClientSession::beginOn(SessionConn& c) {
  const bool xa =
      !txReadOnly_ && c.primary && txModeFor(c.keyspace) == catalog::TransactionMode::kTwoPc;
  std::string sql;
  if (xa) {
    if (txGtrid_.empty()) {
      txGtrid_ = ctx_.shared.xidPrefix + std::to_string(ctx_.shared.nextXid.fetch_add(1));
    }
    sql = "XA START " + xidOf(c);
  } else {
    sql = txBegin_.empty() ? std::string("BEGIN") : txBegin_;
  }
  const catalog::Endpoint address = c.address;
  Status begun = co_await c.conn->command(Command::kQuery, sql);
  SessionConn* still = findConn(address);
  if (!begun) {
    if (still != nullptr && still->conn->broken) releaseConn(*still, true);
    co_return begun;
  }
  if (still != nullptr) {
    still->inTx = true;
    still->xa = xa;
  }
  co_return Status{};
}

asio::awaitable<void> ClientSession::noteCommitted(SessionConn& c) {
  // Causal reads wait on a replica for this GTID; read-your-writes only needs the time.
  if (causalReads_) {
    co_await recordGtid(c);
  } else {
    noteWrite(c, {});
  }
}

asio::awaitable<Status> ClientSession::commitAll(std::string_view sql) {
  Status first;
  bool wrote = !txWriteShard_.empty();
  for (std::size_t i = conns_.size(); i-- > 0;) {
    SessionConn& c = conns_[i];
    if (!c.inTx) continue;
    BackendConnection::CommandOutput out;
    Status st = co_await c.conn->command(Command::kQuery, sql, &out);
    txEndWarnings_ += out.warnings;  // e.g. 1196: a non-transactional table was changed
    if (out.sawStatus) {
      c.inTx = (out.status & protocol::status::kInTrans) != 0;
    } else if (st) {
      c.inTx = false;
    }
    if (!st && first) first = st;
    if (c.conn->broken) {
      c.inTx = false;
      releaseConn(c, true);
      continue;
    }
    if (st && wrote && c.primary && causalReads_ && startsWithCi(sql, "COMMIT")) {
      co_await recordGtid(c);
    } else if (st && wrote && c.primary) {
      noteWrite(c, {});
    }
  }
  co_return first;
}

asio::awaitable<Status> ClientSession::branchCommand(const catalog::Endpoint& address,
                                                     std::string_view sql) {
  SessionConn* c = findConn(address);
  if (c == nullptr || !c->conn) {
    co_return Error::make(ErrorCode::kBackendLost,
                          fmt::format("Lost connection to backend '{}'", address.toString()));
  }
  BackendConnection::CommandOutput out;
  Status st = co_await c->conn->command(Command::kQuery, sql, &out);
  txEndWarnings_ += out.warnings;
  if (SessionConn* still = findConn(address); still != nullptr && still->conn->broken) {
    still->inTx = false;  // the server rolls back an unprepared branch when its connection goes
    releaseConn(*still, true);
  }
  co_return st;
}

asio::awaitable<Status> ClientSession::finishBranch(const catalog::Endpoint& address, bool commit) {
  SessionConn* c = findConn(address);
  if (c == nullptr) {
    co_return Error::make(ErrorCode::kBackendLost,
                          fmt::format("Lost connection to backend '{}'", address.toString()));
  }
  // (Statements are named locals: GCC 12 destroys some temporaries of a co_await expression
  // twice.)
  Status st;
  if (c->xa) {
    const std::string xid = xidOf(*c);
    const std::string end = "XA END " + xid;
    const std::string finish = commit ? "XA COMMIT " + xid + " ONE PHASE" : "XA ROLLBACK " + xid;
    const std::string rollback = "XA ROLLBACK " + xid;
    Status ended = co_await branchCommand(address, end);
    // A branch the server already rolled back (deadlock) still needs its XA ROLLBACK.
    if (ended || !commit) {
      st = co_await branchCommand(address, finish);
    } else {
      st = ended;
      (void)co_await branchCommand(address, rollback);
    }
  } else {
    const std::string_view finish = commit ? "COMMIT" : "ROLLBACK";
    st = co_await branchCommand(address, finish);
  }
  if (SessionConn* still = findConn(address)) {
    still->inTx = false;
    still->xa = false;
    if (st && commit && still->wrote && still->primary) co_await noteCommitted(*still);
  }
  co_return st;
}

asio::awaitable<Status> ClientSession::rollbackBranches() {
  std::vector<catalog::Endpoint> open;
  for (const auto& c : conns_)
    if (c.inTx) open.push_back(c.address);
  Status first;
  for (const auto& a : open) {
    Status st = co_await finishBranch(a, false);
    if (!st && first) first = st;
  }
  co_return first;
}

asio::awaitable<Status> ClientSession::commitInTurn() {
  // Branches that only read first (nothing of theirs can be lost), then the written ones.
  std::vector<catalog::Endpoint> order;
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& c : conns_)
      if (c.inTx && c.wrote == (pass == 1)) order.push_back(c.address);
  std::vector<std::string> committed, rolledBack;
  std::string failedShard;
  std::optional<Error> failure;
  for (const auto& a : order) {
    SessionConn* c = findConn(a);
    if (c == nullptr) continue;
    const std::string name = branchName(*c);
    const bool wrote = c->wrote;
    if (failure) {
      (void)co_await finishBranch(a, false);
      if (wrote) rolledBack.push_back(name);
      continue;
    }
    Status st = co_await finishBranch(a, true);
    if (st) {
      if (wrote) committed.push_back(name);
    } else if (wrote) {
      failure = st.error();
      failedShard = name;
    }
  }
  if (!failure) co_return Status{};
  if (committed.empty()) {
    // Nothing committed: the transaction is rolled back everywhere, as one server's would be.
    Error e = *failure;
    e.message += fmt::format(
        " (COMMIT failed on shard {}; the transaction was rolled back on "
        "every shard: {})",
        failedShard, joinNames(rolledBack));
    co_return e;
  }
  co_return Error::make(
      ErrorCode::kPartialCommit,
      fmt::format("COMMIT failed on shard {} ({}) after shards {} had committed; rolled back on "
                  "shards {}. The transaction is partly committed (transaction_mode 'multi'; "
                  "use 'twopc' for atomic commit)",
                  failedShard, failure->message, joinNames(committed), joinNames(rolledBack)));
}

asio::awaitable<Status> ClientSession::commitTwoPhase() {
  // Read-only branches end first: one phase, nothing to decide.
  std::vector<catalog::Endpoint> readOnly, written;
  std::string branches;
  for (const auto& c : conns_) {
    if (!c.inTx) continue;
    (c.wrote ? written : readOnly).push_back(c.address);
    if (c.wrote) {
      if (!branches.empty()) branches += ", ";
      branches += branchName(c) + "@" + c.address.toString();
    }
  }
  for (const auto& a : readOnly)
    (void)co_await finishBranch(a, true);
  const std::string gtrid = txGtrid_;
  catalog::DecisionLog* log = ctx_.shared.decisions.get();
  auto record = [log, gtrid, branches] {
    return log->recordPrepare(gtrid, branches, catalog::unixTimeMs());
  };
  auto rollback = [log, gtrid] {
    return log->decide(gtrid, catalog::Decision::kRollback, catalog::unixTimeMs());
  };
  auto commit = [log, gtrid] {
    return log->decide(gtrid, catalog::Decision::kCommit, catalog::unixTimeMs());
  };
  Status recorded = co_await detail::offload(ctx_.shared.blocking, record);
  if (!recorded) {
    std::string why =
        "the commit decision could not be recorded in the catalog: " + recorded.error().message;
    Status result = co_await rollbackWritten(written, branches, why);
    co_return result;
  }
  auto forgetLater = [&] {
    asio::post(ctx_.shared.blocking, [log, gtrid] { (void)log->forget(gtrid); });
  };
  std::vector<catalog::Endpoint> prepared;
  for (const auto& a : written) {
    SessionConn* c = findConn(a);
    std::optional<Error> failed;
    std::string name = c != nullptr ? branchName(*c) : a.toString();
    if (c == nullptr) {
      failed = Error::make(ErrorCode::kBackendLost, "lost connection to " + a.toString());
    } else {
      const std::string xid = xidOf(*c);
      const std::string end = "XA END " + xid;
      const std::string prepare = "XA PREPARE " + xid;
      Status st = co_await branchCommand(a, end);
      if (st) st = co_await branchCommand(a, prepare);
      if (!st) failed = st.error();
    }
    if (failed) {
      auto d = co_await detail::offload(ctx_.shared.blocking, rollback);
      std::string why = fmt::format("shard {} could not prepare: {}", name, failed->message);
      Status result = co_await rollbackWritten(written, branches, why);
      if (d) forgetLater();  // else recovery finds 'prepare' and rolls it back after the timeout
      co_return result;
    }
    prepared.push_back(a);
  }
  if (faultPause().count() > 0) std::this_thread::sleep_for(faultPause());
  auto decided = co_await detail::offload(ctx_.shared.blocking, commit);
  if (!decided || *decided != catalog::Decision::kCommit) {
    // Not recorded as committed (a SQLite failure leaves 'prepare', which recovery rolls back
    // after twopc_abandon_ms; or recovery already decided 'rollback' for a stalled proxy).
    std::string why = !decided ? "recording the commit decision failed: " + decided.error().message
                               : std::string(
                                     "the recovery pass had rolled it back (the commit "
                                     "came later than twopc_abandon_ms)");
    if (!decided) {
      co_return Error::make(ErrorCode::kTransactionRolledBack,
                            fmt::format("XA_RBROLLBACK: the transaction was not committed on any "
                                        "shard ({}): {}; the recovery pass rolls it back",
                                        branches, why));
    }
    Status result = co_await rollbackWritten(written, branches, why);
    forgetLater();
    co_return result;
  }
  if (faultPause().count() > 0) std::this_thread::sleep_for(faultPause());
  // Decided: the transaction is committed whatever happens next; a branch whose XA COMMIT fails
  // stays prepared on its server until the recovery pass commits it.
  bool pending = false;
  for (const auto& a : written) {
    SessionConn* c = findConn(a);
    Status st = Error::make(ErrorCode::kBackendLost, "lost connection to " + a.toString());
    const std::string xaCommit = c != nullptr ? "XA COMMIT " + xidOf(*c) : std::string();
    if (c != nullptr) st = co_await branchCommand(a, xaCommit);
    if (SessionConn* still = findConn(a)) {
      still->inTx = false;
      still->xa = false;
      if (st && still->primary) co_await noteCommitted(*still);
    }
    if (!st) {
      pending = true;
      logWith(*moduleLogger("proxy"), spdlog::level::warn, logFields(st.error().mysqlErrno),
              "XA COMMIT of {} on {} failed ({}); the recovery pass commits it", gtrid,
              a.toString(), st.error().message);
    }
  }
  if (pending) {
    if (ctx_.shared.twopcRecovery) ctx_.shared.twopcRecovery->nudge();
  } else {
    forgetLater();
  }
  co_return Status{};
}

asio::awaitable<Status> ClientSession::rollbackWritten(
    const std::vector<catalog::Endpoint>& written, const std::string& branches, std::string why) {
  for (const auto& a : written)
    (void)co_await finishBranch(a, false);
  co_return Error::make(ErrorCode::kTransactionRolledBack,
                        fmt::format("XA_RBROLLBACK: the transaction was rolled back on every "
                                    "shard ({}): {}",
                                    branches, why));
}

asio::awaitable<Status> ClientSession::endTransaction(std::string_view sql, bool commit) {
  txEndWarnings_ = 0;
  std::size_t written = 0, writtenXa = 0;
  bool anyXa = false;
  for (const auto& c : conns_) {
    if (!c.inTx) continue;
    written += c.wrote ? 1 : 0;
    writtenXa += c.wrote && c.xa ? 1 : 0;
    anyXa = anyXa || c.xa;
  }
  Status st;
  if (!anyXa && written <= 1) {
    st = co_await commitAll(sql);  // as one server: chains and releases as written
  } else {
    if (!commit) {
      st = co_await rollbackBranches();
    } else if (written >= 2 && writtenXa == written) {
      st = co_await commitTwoPhase();
    } else {
      st = co_await commitInTurn();
    }
    if (chains(sql)) txOpen_ = true;  // the next statement begins the chained transaction
  }
  for (auto& c : conns_) {
    if (c.inTx) continue;
    c.wrote = false;
    c.xa = false;
  }
  txGtrid_.clear();
  co_return st;
}

bool ClientSession::abortsTransaction(std::uint16_t mysqlErrno) {
  // ER_LOCK_DEADLOCK, and XA_RBROLLBACK / XA_RBTIMEOUT / XA_RBDEADLOCK inside an XA branch.
  return mysqlErrno == 1213 || mysqlErrno == 1402 || mysqlErrno == 1613 || mysqlErrno == 1614;
}

asio::awaitable<void> ClientSession::abortTransaction() {
  (void)co_await rollbackBranches();
  for (auto& c : conns_) {
    c.wrote = false;
    c.xa = false;
  }
  txOpen_ = false;
  txWriteShard_.clear();
  txGtrid_.clear();
}

asio::awaitable<bool> ClientSession::onBegin(const Plan& plan, std::uint8_t seq) {
  if (inTransaction()) {
    // MySQL: BEGIN inside a transaction commits it first.
    Status st = co_await endTransaction("COMMIT", true);
    txOpen_ = false;
    txWriteShard_.clear();
    if (!st) co_return co_await sendError(st.error(), seq);
  }
  txOpen_ = true;
  txReadOnly_ = plan.readOnly;
  txBegin_.assign(plan.text);
  detail::closeOpenComment(txBegin_);
  txWriteShard_.clear();
  if (plan.consistentSnapshot) [[unlikely]] {
    // The snapshot is of this moment: begun now on each serving shard of the session's keyspace
    // (on several shards, each snapshot is as close to this moment as the proxy can make it),
    // not lazily at the first statement as a plain BEGIN is.
    if (const catalog::Keyspace* ks = schemaKeyspace()) {
      const std::string keyspace = ks->name;
      for (std::size_t idx : ks->shards) {
        const catalog::Shard& shard = snapshot_->shards[idx];
        if (!shard.serving) continue;
        auto backend = chooseFor(shard, txReadOnly_ ? Role::kReplica : Role::kPrimary);
        if (!backend) co_return co_await sendError(backend.error(), seq);
        auto conn = co_await connectionTo(**backend, shard);
        if (!conn) co_return co_await sendError(conn.error(), seq);
        if (snapshot_->findKeyspace(keyspace) != ks) break;  // a new catalog meanwhile
      }
    }
  }
  co_return co_await sendOk(seq);
}

asio::awaitable<bool> ClientSession::onEndTransaction(const Plan& plan, const Packet& pkt,
                                                      std::uint8_t seq) {
  bool any = false;
  for (const auto& c : conns_)
    any = any || c.inTx;
  if (plan.kind == PlanKind::kSavepoint) {
    if (!any) {
      auto conn = co_await sessionConnection(plan);
      if (!conn) co_return co_await sendError(conn.error(), seq);
      co_return co_await relay(**conn, pkt, RelayOptions{ResponseKind::kQuery});
    }
    Status first;
    for (auto& c : conns_) {
      if (!c.inTx) continue;
      Status st = co_await c.conn->command(Command::kQuery, plan.text);
      if (!st && first) first = st;
    }
    for (std::size_t k = conns_.size(); k-- > 0;)
      if (conns_[k].conn && conns_[k].conn->broken) releaseConn(conns_[k], true);
    if (!first) co_return co_await sendError(first.error(), seq);
    co_return co_await sendOk(seq);
  }
  txOpen_ = false;
  Status st = co_await endTransaction(plan.text, plan.kind == PlanKind::kCommit);
  bool chained = txOpen_;  // set by endTransaction for AND CHAIN after a multi-shard commit
  for (const auto& c : conns_)
    chained = chained || c.inTx;
  txOpen_ = chained;
  txWriteShard_.clear();
  if (!st) co_return co_await sendError(st.error(), seq);
  // The backends' warnings reach the client's OK (ROLLBACK that changed a MyISAM table: 1196).
  co_return co_await sendOk(
      seq, 0, static_cast<std::uint16_t>(std::min<std::uint32_t>(txEndWarnings_, 0xffff)));
}

}  // namespace shardproxy::proxy
