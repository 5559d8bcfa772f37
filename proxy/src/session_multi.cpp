// A client session's statements on several shards: sent to every target before any answer is
// read, then relayed as one answer (relayMany: merged OKs, concatenated or merged rows). Same
// class as client_session.cpp (docs/routing.md, docs/merging.md).
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

namespace shardproxy::proxy {

namespace {

// describeWriteOutcome() with the targets' shard names, from the snapshot the plan was made on.
std::string writeOutcome(const catalog::Snapshot* snap, const Plan& plan, const MergeResult& r) {
  std::vector<std::string_view> names;
  names.reserve(plan.targets.size());
  for (const auto& t : plan.targets) {
    bool known = snap != nullptr && t.shard < snap->shards.size();
    names.push_back(known ? std::string_view(snap->shards[t.shard].name) : "?");
  }
  std::string_view keyspace;
  if (plan.keyspace != nullptr) {
    keyspace = plan.keyspace->name;
  } else if (!plan.targets.empty() && snap != nullptr &&
             plan.targets.front().shard < snap->shards.size()) {
    keyspace = snap->shards[plan.targets.front().shard].keyspace;
  }
  return describeWriteOutcome(keyspace, names, r);
}

// A COM_QUERY of `sql`, framed into `out` (not sent).
void queueQuery(protocol::Bytes& out, std::string_view sql) {
  std::uint8_t seq = 0;
  std::size_t start = protocol::beginPacket(out);
  protocol::ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(Command::kQuery));
  w.str(sql);
  protocol::endPacket(out, start, seq);
}

}  // namespace

// --- sending ---------------------------------------------------------------------------------

asio::awaitable<bool> ClientSession::sendQuery(BackendConnection& conn, std::string_view sql) {
  queueQuery(conn.channel().out(), sql);
  co_return !(co_await conn.channel().flush());
}

asio::awaitable<std::optional<bool>> ClientSession::answerMergedCount(
    const sql::Statement* statement, std::uint8_t seq, bool binaryRows) {
  // Any statement forgets them, these too.
  const auto found = foundRows_;
  const auto count = rowCount_;
  foundRows_.reset();
  rowCount_.reset();
  const auto q = statement != nullptr ? detail::countQuery(*statement) : std::nullopt;
  std::optional<std::int64_t> value;
  if (q && q->rowCount) {
    // After a merged SELECT (found is set) ROW_COUNT() is -1, as after any SELECT.
    if (count) value = static_cast<std::int64_t>(*count);
    if (found) value = -1;
  } else if (q && found) {
    value = static_cast<std::int64_t>(*found);
  }
  if (!value) co_return std::nullopt;
  TextResultSet rs;
  rs.columns = {std::string(q->name)};
  rs.integer = {true};
  rs.rows.push_back({std::to_string(*value)});
  encodeResultSet(rs, caps_, statusFlags(), seq, client_.out(), binaryRows);
  // The answer was a SELECT of one row that no backend saw: the next FOUND_ROWS() is 1 and
  // ROW_COUNT() -1, as one server answers (the backends' last statement was before it).
  foundRows_ = 1;
  co_return !(co_await client_.flush());
}

asio::awaitable<bool> ClientSession::relayMany(std::span<SessionConn* const> conns,
                                               const Plan& plan, std::uint8_t seq, bool binary,
                                               bool firstAsk, bool heldBack) {
  targetConns_.clear();
  for (SessionConn* c : conns)
    targetConns_.push_back(c->conn.get());
  MergeResult r;
  if (plan.kind == PlanKind::kMerge) {
    MergeOptions options;
    options.binary = binary;
    options.setLimit = ctx_.shared.config.mergeBufferRows;
    options.firstLimit = firstAsk ? plan.merge.firstLimit : 0;
    options.heldBack = heldBack;
    r = co_await relayMergeSpec(targetConns_, client_, caps_, seq,
                                static_cast<std::uint16_t>(statusFlags()), plan.merge, options);
    if (firstAsk) {
      ctx_.metrics.firstAsk(r.askAgain);
      ctx_.firstAsks.record(digestActive_ ? digestHash_ : 0, r.askAgain);
    }
    if (r.askAgain) {
      // The first ask was not enough: every shard again, with the full LIMIT.
      std::size_t sent = 0;
      while (sent < conns.size()) {
        if (!co_await sendQuery(*conns[sent]->conn, plan.sqlFor(sent))) break;
        ++sent;
      }
      if (sent == conns.size()) {
        options.firstLimit = 0;
        options.heldBack = false;
        r = co_await relayMergeSpec(targetConns_, client_, caps_, seq,
                                    static_cast<std::uint16_t>(statusFlags()), plan.merge, options);
      } else {
        for (std::size_t i = 0; i <= sent; ++i)
          conns[i]->conn->broken = true;  // sent and never read, or lost
        r.askAgain = false;
        r.outcome = MergeResult::Outcome::kBackendLost;
        r.failed = sent;
      }
    }
  } else {
    r = co_await relayMerged(
        targetConns_, client_, caps_, seq, static_cast<std::uint16_t>(statusFlags()), plan.copies,
        static_cast<std::uint64_t>(plan.generatedId), implicitTx_, plan.splitInsert);
  }
  execution_.rows += r.rows;
  warnedOn_.clear();
  mergeCuts_ = std::move(r.cutRows);
  if (conns.size() > 1) {
    for (SessionConn* c : conns)
      if (std::find(warnedOn_.begin(), warnedOn_.end(), c->address) == warnedOn_.end()) {
        warnedOn_.push_back(c->address);  // (two shards on one server share a connection)
      }
  }
  heldOk_ = implicitTx_ && r.finished && r.outcome == MergeResult::Outcome::kDone;
  heldOkStart_ = r.finalStart;
  heldOkSeq_ = r.finalSeq;
  statementOk_ = r.finished && r.outcome == MergeResult::Outcome::kDone && !r.error;
  if (r.finished && r.outcome == MergeResult::Outcome::kDone) noteInsertId(plan, 0);
  // A write on several shards: ROW_COUNT() is the sum the client was told, which no one shard
  // knows (answerMergedCount). Copies (a reference table) report one backend's, which it knows.
  if (statementOk_ && r.affected && conns.size() > 1 && !plan.copies) rowCount_ = *r.affected;
  for (std::size_t i = 0; i < conns.size(); ++i) {
    if (r.status[i] != 0) conns[i]->inTx = (r.status[i] & protocol::status::kInTrans) != 0;
  }
  bool aborted = false;
  for (const auto& e : r.errors)
    aborted = aborted || (e && abortsTransaction(e->errorCode));
  if (r.error) aborted = aborted || abortsTransaction(r.error->errorCode);
  if (aborted && inTransaction()) co_await abortTransaction();
  // A SELECT on several shards: FOUND_ROWS() is the rows the client got, which no one shard
  // knows (or, with SQL_CALC_FOUND_ROWS, the shards' sum, below).
  if (statementOk_ && r.headerSent && !r.affected && conns.size() > 1) foundRows_ = r.rows;
  if (plan.kind == PlanKind::kMerge && plan.merge.calcFoundRows && r.finished &&
      r.outcome == MergeResult::Outcome::kDone) {
    // SQL_CALC_FOUND_ROWS: the client's next SELECT FOUND_ROWS() gets the shards' sum.
    std::uint64_t total = 0;
    bool known = true;
    for (SessionConn* c : conns) {
      BackendConnection::CommandOutput out;
      Status st = co_await c->conn->command(protocol::Command::kQuery, "SELECT FOUND_ROWS()", &out);
      if (!st || !out.firstValue) {
        known = false;
        break;
      }
      total += std::strtoull(out.firstValue->c_str(), nullptr, 10);
    }
    if (known) foundRows_ = total;
  }
  if (r.outcome == MergeResult::Outcome::kClientGone) {
    for (SessionConn* c : conns)
      if (c->conn && c->conn->broken) c->conn->broken = true;
    co_return false;
  }
  std::string failedAddr;
  if (r.outcome != MergeResult::Outcome::kDone) failedAddr = conns[r.failed]->address.toString();
  // Release broken connections (they are not reusable) — from the back, indexes shift.
  for (std::size_t i = conns_.size(); i-- > 0;) {
    if (conns_[i].conn && conns_[i].conn->broken) releaseConn(conns_[i], true);
  }
  if (r.finished) co_return true;
  // A write names every shard, applied or failed (the DBA completes or reverts it); a read names
  // the shard whose error it was.
  std::string context;
  if (implicitTx_) {
    context = " (rolled back on every shard: a statement on several shards is atomic)";
  } else if (plan.write) {
    context = writeOutcome(snapshot_.get(), plan, r);
  }
  if (r.outcome != MergeResult::Outcome::kDone) {
    co_return co_await sendError(
        Error::make(
            ErrorCode::kBackendLost,
            fmt::format("Lost connection to backend '{}' during query{}", failedAddr, context)),
        r.nextSeq);
  }
  const protocol::ErrPacket& e = *r.error;
  if (!plan.write && r.errorFrom < plan.targets.size() && snapshot_ &&
      plan.targets[r.errorFrom].shard < snapshot_->shards.size()) {
    // Which shard said it: the others were cancelled (or agreed).
    const catalog::Shard& shard = snapshot_->shards[plan.targets[r.errorFrom].shard];
    context = fmt::format(" (shard {}/{})", shard.keyspace, shard.name);
  }
  co_return co_await sendError(Error::fromServer(e.errorCode, e.sqlState, e.message + context),
                               r.nextSeq);
}

asio::awaitable<bool> ClientSession::executeMulti(const Plan& plan, const Packet& pkt,
                                                  std::uint8_t seq, PreparedStatement* stmt) {
  if (plan.kind != PlanKind::kConcatenate && plan.kind != PlanKind::kScatter &&
      plan.kind != PlanKind::kMerge) {
    co_return co_await sendError(
        Error::make(ErrorCode::kInternal,
                    fmt::format("Unexpected plan '{}'", router::toString(plan.kind))),
        seq);
  }
  // A merge of a prepared statement runs the shards' own rewritten statement (hidden columns,
  // pushed-down LIMIT), prepared on each shard beside the client's.
  PreparedStatement* variant = nullptr;
  if (stmt != nullptr && plan.kind == PlanKind::kMerge) {
    const auto& spec = plan.merge;
    const auto params = static_cast<std::uint16_t>(stmt->params - spec.droppedParams.size() +
                                                   (spec.limitParam ? 1 : 0));
    variant = &stmt->variant(plan.sqlFor(0), params);
    if (!detail::mergeExecutePayload(pkt.payload, stmt->params,
                                     protocol::ByteView(stmt->paramTypes), spec, mergeExecute_)) {
      co_return co_await sendError(
          Error::make(ErrorCode::kMalformedPacket, "Malformed COM_STMT_EXECUTE parameters"), seq);
    }
  }
  if (stmt != nullptr && pkt.payload.size() > 5 && pkt.payload[5] != 0) {
    co_return co_await sendError(
        Error::make(ErrorCode::kNotSupportedYet,
                    "A cursor over a statement that reads several shards is not supported yet; "
                    "execute it without a cursor"),
        seq);
  }
  if (stmt != nullptr && !stmt->longData.empty()) {
    co_return co_await sendError(
        Error::make(ErrorCode::kNotSupportedYet,
                    "COM_STMT_SEND_LONG_DATA for a statement that runs on several shards"),
        seq);
  }
  // INSERT / UPDATE / DELETE on several shards outside a transaction: in one of its own, so an
  // error on one shard leaves the statement applied nowhere (as on one server).
  if (plan.kind == PlanKind::kScatter && plan.dml && plan.targets.size() > 1 && !txOpen_ &&
      state_.autocommit && !inTransaction() && plan.keyspace != nullptr &&
      txModeFor(plan.keyspace->name) != catalog::TransactionMode::kSingle) [[unlikely]] {
    co_return co_await executeAtomically(plan, pkt, seq, stmt);
  }
  // Connect to every target first (connections may be added to conns_ meanwhile, so keep
  // addresses and look the connections up again afterwards).
  std::vector<catalog::Endpoint> addresses;
  addresses.reserve(plan.targets.size());
  for (const auto& t : plan.targets) {
    const catalog::Shard& shard = snapshot_->shards[t.shard];
    auto backend = chooseFor(shard, plan.role);
    if (!backend) co_return co_await sendError(backend.error(), seq);
    auto conn = co_await connectionTo(**backend, shard);
    if (!conn) co_return co_await sendError(conn.error(), seq);
    const catalog::Backend* chosen = *backend;
    if (causalReads_ && !(*conn)->primary && !(*conn)->inTx) {
      Status caught = co_await waitForGtid(**conn, shard);
      if (!caught) {
        // This shard's replica is behind the session's last write there: its primary answers.
        auto primary = chooseFor(shard, Role::kPrimary);
        if (!primary) co_return co_await sendError(primary.error(), seq);
        auto pconn = co_await connectionTo(**primary, shard);
        if (!pconn) co_return co_await sendError(pconn.error(), seq);
        chosen = *primary;
      }
    }
    addresses.push_back(chosen->address);
  }
  targets_.clear();
  for (const auto& a : addresses)
    targets_.push_back(findConn(a));
  const bool txWrite = plan.write && txWrites();
  if (std::find(targets_.begin(), targets_.end(), nullptr) != targets_.end()) {
    co_return co_await sendError(
        Error::make(ErrorCode::kBackendLost, "A backend connection was lost while connecting"),
        seq);
  }
  // A first, smaller ask of an ORDER BY ... LIMIT (router::MergeSpec::firstLimit), unless this
  // statement often needed the full one.
  const bool firstAsk = stmt == nullptr && plan.kind == PlanKind::kMerge &&
                        plan.merge.firstLimit != 0 && plan.firstAskLength != 0 &&
                        ctx_.firstAsks.allow(digestActive_ ? digestHash_ : 0);
  // Send to all, then read each in turn: the shards work in parallel. A text command is written
  // into every shard's buffer first and the buffers go out in one system call (batch_send.h).
  const bool batched = stmt == nullptr;
  // The first `sent` targets were sent the command and their responses will never be read: their
  // connections are released as broken. (The targets point into conns_: nothing reads them once
  // releasing starts.)
  auto abandon = [&](std::size_t sent) {
    for (std::size_t j = 0; j < sent; ++j)
      targets_[j]->conn->broken = true;
    for (std::size_t k = conns_.size(); k-- > 0;)
      if (conns_[k].conn && conns_[k].conn->broken) releaseConn(conns_[k], true);
  };
  auto lostWhileSending = [&](std::string addr, std::size_t sent) -> asio::awaitable<bool> {
    abandon(sent);
    co_return co_await sendError(
        Error::make(ErrorCode::kBackendLost,
                    fmt::format("Lost connection to backend '{}' while sending the command", addr)),
        seq);
  };
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    SessionConn& c = *targets_[i];
    if (c.counters == nullptr) [[unlikely]]
      c.counters = &ctx_.metrics.backend(c.address.toString());
    ++c.counters->statements;
    if (i < plan.targets.size() && plan.targets[i].shard < snapshot_->shards.size()) {
      const catalog::Shard& shard = snapshot_->shards[plan.targets[i].shard];
      ++ctx_.metrics.shard(shard.keyspace, shard.name).scatter;
    }
    execution_.shards = static_cast<std::uint32_t>(targets_.size());
    if (plan.keyspace != nullptr) execution_.keyspace = plan.keyspace->name;
    if (txWrite) c.wrote = true;
    if (batched) {
      auto& out = c.conn->channel().out();
      if (firstAsk || plan.rewritten(i)) {
        queueQuery(out, firstAsk ? plan.firstAskSql() : plan.sqlFor(i));
      } else if (!pkt.raw.empty()) {
        out.insert(out.end(), pkt.raw.begin(), pkt.raw.end());  // the client's packet as sent
      } else {
        std::uint8_t s = 0;
        protocol::appendPacket(out, pkt.payload, s);
      }
      continue;
    }
    bool sent;
    if (variant != nullptr) {
      auto id = co_await preparedOn(*variant, c);
      if (!id) {
        abandon(i);
        co_return co_await sendError(id.error(), seq);
      }
      auto& out = c.conn->channel().out();
      std::uint8_t s = 0;
      std::size_t start = protocol::beginPacket(out);
      protocol::writeU32(mergeExecute_.data() + 1, *id);
      protocol::ByteWriter(out).bytes(protocol::ByteView(mergeExecute_));
      protocol::endPacket(out, start, s);
      sent = !(co_await c.conn->channel().flush());
    } else {
      auto id = co_await preparedOn(*stmt, c);
      if (!id) {
        abandon(i);
        co_return co_await sendError(id.error(), seq);
      }
      protocol::ByteView copy = executePacketFor(*stmt, pkt, c.conn->serial(), true);
      auto& out = c.conn->channel().out();
      std::uint8_t s = 0;
      std::size_t start = protocol::beginPacket(out);
      protocol::ByteWriter(out).bytes(copy);
      protocol::endPacket(out, start, s);
      sent = !(co_await c.conn->channel().flush());
    }
    if (!sent) co_return co_await lostWhileSending(c.address.toString(), i + 1);
  }
  if (batched) {
    batch_.clear();
    const bool holdBack = plan.kind == PlanKind::kMerge && targets_.size() > 1;
    for (SessionConn* t : targets_) {
      Channel& ch = t->conn->channel();
      if (ch.stream().isTls()) continue;
      if (holdBack && t != targets_.front()) ch.stream().setReadLowWater(kHeldBackBytes);
      batch_.push_back(BatchSender::Item{ch.stream().socket().native_handle(), ch.out().data(),
                                         ch.out().size(), 0});
    }
    ctx_.batchSender.send(batch_);
    std::size_t next = 0;
    for (SessionConn* t : targets_) {
      Channel& ch = t->conn->channel();
      if (!ch.stream().isTls()) {
        const long took = batch_[next++].result;
        if (took > 0) ch.out().erase(ch.out().begin(), ch.out().begin() + took);
      }
      // What the socket did not take at once (TLS, a full send buffer, an error to report).
      if (!ch.out().empty() && co_await ch.flush()) {
        co_return co_await lostWhileSending(t->address.toString(), targets_.size());
      }
    }
  }
  current_ = static_cast<int>(targets_.front() - conns_.data());
  publishBackend(targets_.front());
  bool keep = co_await relayMany(targets_, plan, seq, stmt != nullptr, firstAsk,
                                 batched && plan.kind == PlanKind::kMerge);
  if (plan.write) {
    for (const auto& a : addresses)
      if (SessionConn* c = findConn(a); c != nullptr && c->primary && !c->inTx) {
        if (causalReads_) {
          co_await recordGtid(*c);  // every shard written: its own GTID to wait for
        } else {
          noteWrite(*c, {});
        }
      }
  }
  co_return keep;
}

asio::awaitable<bool> ClientSession::executeAtomically(const Plan& plan, const Packet& pkt,
                                                       std::uint8_t seq, PreparedStatement* stmt) {
  // The statement's own transaction: begun on each shard as it is connected (needsBegin), XA
  // branches under twopc; the client's OK waits in its buffer until the commit is through.
  txOpen_ = true;
  implicitTx_ = true;
  heldOk_ = false;
  txWriteShard_ = plan.keyspace->name;  // written: the commit counts the branches that wrote
  bool keep = co_await executeMulti(plan, pkt, seq, stmt);
  const bool committing = heldOk_ && keep;
  Status ended = co_await endTransaction(committing ? "COMMIT" : "ROLLBACK", committing);
  implicitTx_ = false;
  txOpen_ = false;
  txWriteShard_.clear();
  if (!committing) co_return keep;
  if (!ended) {
    // The client has not seen the OK: it gets the commit's error instead.
    client_.out().resize(heldOkStart_);
    statementOk_ = false;
    rowCount_.reset();  // nothing was written
    co_return co_await sendError(ended.error(), heldOkSeq_);
  }
  co_return !(co_await client_.flush());
}

}  // namespace shardproxy::proxy
