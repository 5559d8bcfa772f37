// The binary-protocol commands of a client session (MySQL protocol "Prepared Statements"):
// COM_STMT_PREPARE / EXECUTE / FETCH / RESET / SEND_LONG_DATA / CLOSE. The session hands out its
// own statement ids and maps each to the backend connection's, re-preparing silently when the
// session moved to another backend connection. Split from client_session.cpp, same class.
#include <fmt/format.h>

#include <cstring>

#include "session_util.h"
#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/server.h"
#include "shardproxy/router/sql/analysis.h"

namespace shardproxy::proxy {

using protocol::Command;
using protocol::readU32;
using protocol::ResponseKind;
using protocol::writeU32;

namespace {

// A binary DATE / DATETIME / TIMESTAMP (type 10, 12, 7) or TIME (11) parameter as MySQL prints
// it, into v.temporal (MySQL protocol "Binary Protocol Value": lengths 0, 4, 7, 11 / 0, 8, 12).
void temporalText(std::uint8_t type, protocol::ByteView b, router::BoundValue& v) {
  auto le = [&](std::size_t at, std::size_t n) {
    std::uint32_t x = 0;
    for (std::size_t k = 0; k < n; ++k)
      x |= static_cast<std::uint32_t>(b[at + k]) << (8 * k);
    return x;
  };
  fmt::format_to_n_result<char*> r{};
  char* out = v.temporal.data();
  const std::size_t cap = v.temporal.size();
  if (type == 11) {
    if (b.size() != 0 && b.size() != 8 && b.size() != 12) return;
    const bool neg = !b.empty() && b[0] != 0;
    const std::uint64_t hours = b.empty() ? 0 : std::uint64_t{le(1, 4)} * 24 + b[5];
    const unsigned minutes = b.empty() ? 0 : b[6];
    const unsigned seconds = b.empty() ? 0 : b[7];
    r = fmt::format_to_n(out, cap, "{}{:02}:{:02}:{:02}", neg ? "-" : "", hours, minutes, seconds);
    if (b.size() == 12) r = fmt::format_to_n(r.out, cap - (r.out - out), ".{:06}", le(8, 4));
  } else {
    if (b.size() != 0 && b.size() != 4 && b.size() != 7 && b.size() != 11) return;
    const unsigned year = b.size() >= 4 ? le(0, 2) : 0;
    const unsigned month = b.size() >= 4 ? b[2] : 0;
    const unsigned day = b.size() >= 4 ? b[3] : 0;
    r = fmt::format_to_n(out, cap, "{:04}-{:02}-{:02}", year, month, day);
    if (type != 10) {
      const unsigned h = b.size() >= 7 ? b[4] : 0, m = b.size() >= 7 ? b[5] : 0,
                     sec = b.size() >= 7 ? b[6] : 0;
      r = fmt::format_to_n(r.out, cap - (r.out - out), " {:02}:{:02}:{:02}", h, m, sec);
      if (b.size() == 11) r = fmt::format_to_n(r.out, cap - (r.out - out), ".{:06}", le(7, 4));
    }
  }
  const auto size = static_cast<std::size_t>(r.out - out);
  v.temporalSize = static_cast<std::uint8_t>(size <= cap ? size : 0);
}

// The parameters of a COM_STMT_EXECUTE, decoded enough to route by them (MySQL protocol
// "COM_STMT_EXECUTE": null bitmap, new-params-bound flag, types, binary values). Parameters sent
// with COM_STMT_SEND_LONG_DATA have no value here. False when the packet is malformed.
bool decodeParams(protocol::ByteView payload, std::uint16_t count, protocol::ByteView types,
                  const std::vector<std::pair<std::uint16_t, std::string>>& longData,
                  std::vector<router::BoundValue>& out) {
  using T = router::BoundValue::Type;
  out.assign(count, router::BoundValue{});
  if (count == 0) return true;
  std::size_t pos = 10;
  std::size_t bitmap = pos;
  pos += (count + 7) / 8;
  if (payload.size() < pos + 1) return false;
  bool bound = payload[pos++] == 1;
  if (bound) pos += 2u * count;
  if (types.size() < 2u * count || payload.size() < pos) return false;
  for (std::uint16_t i = 0; i < count; ++i) {
    router::BoundValue& v = out[i];
    if (payload[bitmap + i / 8] & (1u << (i % 8))) {
      v.type = T::kNull;
      continue;
    }
    bool isLong = false;
    for (const auto& ld : longData)
      isLong = isLong || ld.first == i;
    if (isLong) {
      v.type = T::kOther;
      continue;
    }
    std::uint8_t type = types[2u * i];
    bool isUnsigned = (types[2u * i + 1] & 0x80) != 0;
    auto need = [&](std::size_t n) { return payload.size() >= pos + n; };
    auto le = [&](std::size_t n) {
      std::uint64_t x = 0;
      for (std::size_t k = 0; k < n; ++k)
        x |= static_cast<std::uint64_t>(payload[pos + k]) << (8 * k);
      pos += n;
      return x;
    };
    auto integer = [&](std::size_t n) {
      if (!need(n)) return false;
      std::uint64_t x = le(n);
      if (isUnsigned) {
        v.type = T::kUint;
        v.u = x;
      } else {
        v.type = T::kInt;
        int shift = static_cast<int>(64 - 8 * n);
        v.i = static_cast<std::int64_t>(x << shift) >> shift;
      }
      return true;
    };
    switch (type) {
      case 1:  // TINY
        if (!integer(1)) return false;
        break;
      case 2:   // SHORT
      case 13:  // YEAR
        if (!integer(2)) return false;
        break;
      case 3:  // LONG
      case 9:  // INT24
        if (!integer(4)) return false;
        break;
      case 8:  // LONGLONG
        if (!integer(8)) return false;
        break;
      case 4: {  // FLOAT
        if (!need(4)) return false;
        std::uint32_t bits = static_cast<std::uint32_t>(le(4));
        float f;
        std::memcpy(&f, &bits, 4);
        v.type = T::kDouble;
        v.d = f;
        break;
      }
      case 5: {  // DOUBLE
        if (!need(8)) return false;
        std::uint64_t bits = le(8);
        std::memcpy(&v.d, &bits, 8);
        v.type = T::kDouble;
        break;
      }
      case 6:  // NULL
        v.type = T::kNull;
        break;
      case 7:   // TIMESTAMP
      case 10:  // DATE
      case 11:  // TIME
      case 12:  // DATETIME
        if (!need(1) || !need(1 + payload[pos])) return false;
        temporalText(type, payload.subspan(pos + 1, payload[pos]), v);
        pos += 1 + payload[pos];
        v.type = T::kOther;
        break;
      default: {  // strings, decimals, blobs, JSON, BIT, ENUM, SET, GEOMETRY: length-encoded
        protocol::ByteReader r(payload.subspan(pos));
        std::string_view s = r.lenencStr();
        if (r.failed()) return false;
        pos += static_cast<std::size_t>(s.data() + s.size() -
                                        reinterpret_cast<const char*>(payload.data() + pos));
        v.type = T::kString;
        v.s = s;
        break;
      }
    }
  }
  return true;
}

// The bytes of parameter i's value, for parameters that are not NULL.
bool paramSpans(protocol::ByteView payload, std::uint16_t count, protocol::ByteView types,
                std::vector<std::pair<std::size_t, std::size_t>>& spans) {
  spans.assign(count, {0, 0});
  std::size_t pos = 10 + (count + 7) / 8;
  if (payload.size() < pos + 1) return false;
  if (payload[pos++] == 1) pos += 2u * count;
  if (types.size() < 2u * count || payload.size() < pos) return false;
  const std::size_t bitmap = 10;
  for (std::uint16_t i = 0; i < count; ++i) {
    if (payload[bitmap + i / 8] & (1u << (i % 8))) continue;
    std::size_t len;
    switch (types[2u * i]) {
      case 1:
        len = 1;
        break;
      case 2:
      case 13:
        len = 2;
        break;
      case 3:
      case 9:
      case 4:
        len = 4;
        break;
      case 5:
      case 8:
        len = 8;
        break;
      case 6:
        len = 0;
        break;
      case 7:
      case 10:
      case 11:
      case 12:
        if (payload.size() < pos + 1) return false;
        len = 1 + payload[pos];
        break;
      default: {
        protocol::ByteReader r(payload.subspan(pos));
        std::string_view v = r.lenencStr();
        if (r.failed()) return false;
        len = static_cast<std::size_t>(v.data() + v.size() -
                                       reinterpret_cast<const char*>(payload.data() + pos));
        break;
      }
    }
    if (payload.size() < pos + len) return false;
    spans[i] = {pos, len};
    pos += len;
  }
  return true;
}

}  // namespace

namespace detail {

// The start of a COM_STMT_EXECUTE payload the proxy builds for `n` parameters: backend
// statement id 0 (the caller writes it), no cursor, one iteration, then a zeroed NULL bitmap
// (none when n is 0). Returns where the bitmap starts.
std::size_t beginExecutePayload(protocol::Bytes& out, std::size_t n) {
  out.clear();
  protocol::ByteWriter w(out);
  w.u8(0x17);
  w.u32(0);  // the backend statement id
  w.u8(0);   // no cursor
  w.u32(1);  // iteration count
  const std::size_t bitmapAt = out.size();
  if (n > 0) w.zeros((n + 7) / 8);
  return bitmapAt;
}

bool mergeExecutePayload(protocol::ByteView payload, std::uint16_t count, protocol::ByteView types,
                         const router::MergeSpec& spec, protocol::Bytes& out) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  if (count > 0 && !paramSpans(payload, count, types, spans)) return false;
  std::vector<std::uint16_t> kept;
  for (std::uint16_t i = 0; i < count; ++i) {
    if (std::find(spec.droppedParams.begin(), spec.droppedParams.end(), i) ==
        spec.droppedParams.end()) {
      kept.push_back(i);
    }
  }
  const std::size_t n = kept.size() + (spec.limitParam ? 1 : 0);
  const std::size_t bitmapAt = beginExecutePayload(out, n);
  if (n == 0) return true;
  protocol::ByteWriter w(out);
  for (std::size_t j = 0; j < kept.size(); ++j) {
    const std::uint16_t i = kept[j];
    if (payload[10 + i / 8] & (1u << (i % 8))) out[bitmapAt + j / 8] |= 1u << (j % 8);
  }
  w.u8(1);  // types follow
  for (std::uint16_t i : kept) {
    w.u8(types[2u * i]);
    w.u8(types[2u * i + 1]);
  }
  if (spec.limitParam) {
    w.u8(8);     // LONGLONG
    w.u8(0x80);  // unsigned
  }
  for (std::uint16_t i : kept)
    w.bytes(payload.subspan(spans[i].first, spans[i].second));
  if (spec.limitParam) w.u64(spec.pushedLimit);
  return true;
}

bool generatedExecutePayload(protocol::ByteView payload, std::uint16_t count,
                             protocol::ByteView types,
                             std::span<const router::Plan::ExecuteParam> params,
                             protocol::Bytes& out) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  if (count > 0 && (types.size() != 2u * count || !paramSpans(payload, count, types, spans))) {
    return false;
  }
  const std::size_t n = params.size();
  const std::size_t bitmapAt = beginExecutePayload(out, n);
  if (n == 0) return true;
  protocol::ByteWriter w(out);
  for (std::size_t j = 0; j < n; ++j) {
    const auto i = params[j].client;
    if (i < 0) continue;
    if (static_cast<std::size_t>(i) >= count) return false;
    if (payload[10 + i / 8] & (1u << (i % 8))) out[bitmapAt + j / 8] |= 1u << (j % 8);
  }
  w.u8(1);  // types follow
  for (const auto& p : params) {
    if (p.client >= 0) {
      w.u8(types[2u * static_cast<std::size_t>(p.client)]);
      w.u8(types[2u * static_cast<std::size_t>(p.client) + 1]);
    } else {
      w.u8(8);  // LONGLONG, signed
      w.u8(0);
    }
  }
  for (const auto& p : params) {
    if (p.client >= 0) {
      const auto& [at, len] = spans[static_cast<std::size_t>(p.client)];
      w.bytes(payload.subspan(at, len));
    } else {
      w.u64(static_cast<std::uint64_t>(p.value));
    }
  }
  return true;
}

}  // namespace detail

asio::awaitable<bool> ClientSession::relayGeneratedExecute(SessionConn& c, const Plan& plan,
                                                           const Packet& pkt, std::uint8_t seq,
                                                           PreparedStatement& stmt,
                                                           RelayResult& r) {
  if (!stmt.longData.empty()) {
    co_return co_await sendError(
        Error::make(ErrorCode::kNotSupportedYet,
                    "COM_STMT_SEND_LONG_DATA for a prepared INSERT given generated keys; send "
                    "the value inline"),
        seq);
  }
  PreparedStatement& variant =
      stmt.variant(plan.sqlFor(0), static_cast<std::uint16_t>(plan.executeParams.size()));
  if (!detail::generatedExecutePayload(pkt.payload, stmt.params,
                                       protocol::ByteView(stmt.paramTypes), plan.executeParams,
                                       mergeExecute_)) {
    co_return co_await sendError(
        Error::make(ErrorCode::kMalformedPacket, "Malformed COM_STMT_EXECUTE parameters"), seq);
  }
  Packet rebuilt;
  rebuilt.payload = protocol::ByteView(mergeExecute_);
  rebuilt.seq = 0;
  rebuilt.lastSeq = pkt.lastSeq;
  co_return co_await relayExecute(c, rebuilt, seq, variant, r,
                                  static_cast<std::uint64_t>(plan.generatedId));
}

asio::awaitable<bool> ClientSession::prepareProxyOnly(std::string_view sql, std::uint8_t seq) {
  std::uint32_t clientId = nextStatementId_++;
  PreparedStatement& st = statements_[clientId];
  st.sql.assign(sql);
  st.proxyOnly = true;
  auto& out = client_.out();
  std::size_t start = protocol::beginPacket(out);
  protocol::StmtPrepareOk ok;
  ok.statementId = clientId;
  protocol::encode(ok, out);
  protocol::endPacket(out, start, seq);
  co_return !(co_await client_.flush());
}

asio::awaitable<bool> ClientSession::onStmtPrepare(const Packet& pkt) {
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  std::string_view sql = protocol::asString(pkt.payload.subspan(1));
  refreshSnapshot();
  if (sql.size() > 4 && (sql[0] == 'k' || sql[0] == 'K') && router::parseKill(sql)) [[unlikely]] {
    // KILL [QUERY] <id> names the proxy's ids, as the text statement does: prepared here,
    // translated to the target's backend thread at execute (onKill).
    co_return co_await prepareProxyOnly(sql, seq);
  }
  // Prepared where the statement would run (its first shard), so the server checks it there;
  // each execute is routed again on its bound values.
  router::Plan session;
  session.kind = router::PlanKind::kSessionConnection;
  session.role = router::Role::kPrimary;
  const router::Plan* plan = &session;
  sql::ParseResult parsed = parser_.parse(sql);
  if (parsed) {
    router::PlanInput in = planInput({}, false);
    in.prepared = true;  // its text cannot take generated keys
    plan = &planner_.plan(parsed.statement(), in);
    if (plan->kind == router::PlanKind::kError) co_return co_await sendError(plan->error, seq);
    std::string text;
    if (plan->usesProcesslist && !rewritingProcesslist_ &&
        sql::withProcesslist(sql, processlistTable(), parser_.options().lex, text)) [[unlikely]] {
      // The proxy's sessions as they are now, written into the prepared text (a statement
      // prepared once and run many times keeps the list of its prepare).
      protocol::Bytes payload;
      const Packet rewritten = rewrittenPacket(Command::kStmtPrepare, text, pkt, payload);
      rewritingProcesslist_ = true;
      const bool keep = co_await onStmtPrepare(rewritten);
      rewritingProcesslist_ = false;
      co_return keep;
    }
    if (plan->usesConnectionId && sql::withConnectionId(sql, id_, parser_.options().lex, text))
        [[unlikely]] {
      // CONNECTION_ID() is the proxy's id: the statement is prepared with it written in.
      protocol::Bytes payload;
      const Packet rewritten = rewrittenPacket(Command::kStmtPrepare, text, pkt, payload);
      co_return co_await onStmtPrepare(rewritten);
    }
    const auto* set = parsed.statement().as<sql::SetStatement>();
    if (set != nullptr && proxyVariables(*set) > 0) {
      // The proxy's own variables: prepared here (no backend knows them), applied at execute.
      if (proxyVariables(*set) != set->items.size() || parsed.statement().placeholderCount > 0) {
        co_return co_await sendError(
            Error::make(ErrorCode::kNotSupportedYet,
                        "Set shardproxy_* variables in a SET of their own, with literal values"),
            seq);
      }
      co_return co_await prepareProxyOnly(sql, seq);
    }
  } else {
    const catalog::Keyspace* ks = schemaKeyspace();
    if (ks == nullptr || ks->sharded) co_return co_await sendError(parsed.error().toError(), seq);
  }
  Result<SessionConn*> conn = Error::make(ErrorCode::kInternal, "no connection");
  if (!plan->targets.empty()) {
    const catalog::Shard& shard = snapshot_->shards[plan->targets[0].shard];
    auto backend = chooseFor(shard, plan->role);
    if (!backend) co_return co_await sendError(backend.error(), seq);
    conn = co_await connectionTo(**backend, shard);
  } else {
    conn = co_await sessionConnection(*plan);
  }
  if (!conn) co_return co_await sendError(conn.error(), seq);
  std::uint32_t clientId = nextStatementId_++;
  RelayResult r;
  RelayOptions options{ResponseKind::kPrepare, true, clientId};
  std::uint64_t serial = (*conn)->conn->serial();
  bool keep = co_await relay(**conn, pkt, options, &r);
  if (r.outcome == RelayResult::Outcome::kDone && !r.sawError) {
    PreparedStatement& st = statements_[clientId];
    st.sql.assign(sql);
    st.params = r.prepareParams;
    st.columns = r.prepareColumns;
    st.backendIds.assign(1, {serial, r.backendStatementId, 0});
  }
  co_return keep;
}

asio::awaitable<Result<std::uint32_t>> ClientSession::preparedOn(PreparedStatement& st,
                                                                 SessionConn& conn, bool* fresh) {
  std::uint64_t serial = conn.conn->serial();
  if (auto* b = st.on(serial)) co_return b->id;
  // Another backend connection: prepare the statement there first, silently.
  auto id = co_await conn.conn->prepare(st.sql);
  if (!id) co_return id.takeError();
  st.backendIds.push_back({serial, *id, 0});
  if (fresh != nullptr) *fresh = true;
  co_return *id;
}

protocol::ByteView ClientSession::executePacketFor(PreparedStatement& st, const Packet& pkt,
                                                   std::uint64_t serial, bool copy) {
  PreparedStatement::OnBackend& b = *st.on(serial);
  std::uint32_t backendId = b.id;
  std::size_t typesAt = 10 + (st.params + 7) / 8;
  bool carriesTypes = st.params > 0 && pkt.payload.size() > typesAt && pkt.payload[typesAt] == 1;
  bool addTypes = st.params > 0 && !carriesTypes && b.typesSeen != st.typesGeneration &&
                  pkt.payload.size() > typesAt && st.paramTypes.size() == 2u * st.params;
  b.typesSeen = st.typesGeneration;
  if (!addTypes && !copy) {
    // The payload lives in this session's own read buffer: rewrite the id in place.
    protocol::writeU32(const_cast<std::uint8_t*>(pkt.payload.data()) + 1, backendId);
    return pkt.payload;
  }
  cmdBuffer_.assign(pkt.payload.begin(), pkt.payload.end());
  if (addTypes) {
    // The new backend statement has never seen the parameter types: send them again.
    cmdBuffer_[typesAt] = 1;
    cmdBuffer_.insert(cmdBuffer_.begin() + static_cast<std::ptrdiff_t>(typesAt + 1),
                      st.paramTypes.begin(), st.paramTypes.end());
  }
  protocol::writeU32(cmdBuffer_.data() + 1, backendId);
  return protocol::ByteView(cmdBuffer_);
}

asio::awaitable<bool> ClientSession::onStmtExecute(const Packet& pkt) {
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  warnedOn_.clear();  // (a prepared SHOW WARNINGS asks the session's last connection)
  if (pkt.payload.size() < 10) {
    co_return co_await sendError(
        Error::make(ErrorCode::kMalformedPacket, "Malformed COM_STMT_EXECUTE packet"), seq);
  }
  std::uint32_t clientId = readU32(pkt.payload.data() + 1);
  auto it = statements_.find(clientId);
  if (it == statements_.end()) {
    co_return co_await sendError(
        Error::make(ErrorCode::kUnknownStatement,
                    fmt::format("Unknown prepared statement handler ({}) given to "
                                "mysqld_stmt_execute",
                                clientId)),
        seq);
  }
  PreparedStatement& st = it->second;
  if (st.proxyOnly) {
    if (auto kill = router::parseKill(st.sql)) co_return co_await onKill(*kill, seq);
    sql::ParseResult parsed = parser_.parse(st.sql);
    const auto* set = parsed ? parsed.statement().as<sql::SetStatement>() : nullptr;
    if (set == nullptr) {
      co_return co_await sendError(Error::make(ErrorCode::kInternal, "proxy statement lost"), seq);
    }
    if (auto err = applyProxyVariables(*set)) co_return co_await sendError(*err, seq);
    co_return co_await sendOk(seq);
  }
  std::size_t typesAt = 10 + (st.params + 7) / 8;
  if (st.params > 0 && pkt.payload.size() > typesAt && pkt.payload[typesAt] == 1 &&
      pkt.payload.size() >= typesAt + 1 + 2u * st.params) {
    ++st.typesGeneration;
    st.paramTypes.assign(
        pkt.payload.begin() + static_cast<std::ptrdiff_t>(typesAt + 1),
        pkt.payload.begin() + static_cast<std::ptrdiff_t>(typesAt + 1 + 2 * st.params));
  }
  if (!decodeParams(pkt.payload, st.params, protocol::ByteView(st.paramTypes), st.longData,
                    params_)) {
    co_return co_await sendError(
        Error::make(ErrorCode::kMalformedPacket, "Malformed COM_STMT_EXECUTE parameters"), seq);
  }
  refreshSnapshot();
  const bool knownDigest = st.digest != 0 && ctx_.digests.contains(st.digest);
  sql::ParseResult parsed = parser_.parse(st.sql, 0, knownDigest ? nullptr : digestTokens());
  if (knownDigest) {
    digestHash_ = st.digest;
    digestActive_ = true;
  } else {
    noteDigest(parsed ? &parsed.statement() : nullptr, st.sql, st.sql);
    st.digest = digestHash_;
  }
  if (!txLost_.empty()) [[unlikely]] {
    co_return co_await lostTransaction(parsed ? &parsed.statement() : nullptr, seq);
  }
  if (foundRows_ || rowCount_) {
    auto answered = co_await answerMergedCount(parsed ? &parsed.statement() : nullptr, seq, true);
    if (answered) co_return *answered;
  }
  router::Plan session;
  session.kind = router::PlanKind::kSessionConnection;
  session.role = router::Role::kPrimary;
  const router::Plan* plan = &session;
  if (parsed) {
    router::PlanInput in = planInput(params_, true);
    in.prepared = true;
    plan = &planner_.plan(parsed.statement(), in);
    if (plan->lookup != nullptr) [[unlikely]] {
      auto looked = co_await planAfterLookup(parsed.statement(), *plan, in);
      if (!looked) co_return co_await sendError(looked.error(), seq);
      plan = *looked;
    }
    switch (plan->kind) {
      case router::PlanKind::kError:
        co_return co_await sendError(plan->error, seq);
      case router::PlanKind::kSingle:
      case router::PlanKind::kConcatenate:
      case router::PlanKind::kMerge:
      case router::PlanKind::kScatter:
      case router::PlanKind::kSessionConnection:
        break;
      case router::PlanKind::kBegin:
        // Prepared BEGIN / COMMIT / ROLLBACK (sysbench's --db-ps-mode=auto prepares them): the
        // proxy's transaction, as for the text statements; each answers a plain OK.
        co_return co_await onBegin(*plan, seq);
      case router::PlanKind::kCommit:
      case router::PlanKind::kRollback:
        co_return co_await onEndTransaction(*plan, pkt, seq);
      case router::PlanKind::kSavepoint: {
        // On every connection of the transaction; with none yet, where the session last ran.
        bool branches = false;
        for (const auto& c : conns_)
          branches = branches || c.inTx;
        if (branches) co_return co_await onEndTransaction(*plan, pkt, seq);
        plan = &session;
        break;
      }
      default:
        // Session statements prepared by the client (SET, USE) run where it last ran.
        plan = &session;
        break;
    }
  }
  if (!plan->lookupWrites.empty()) [[unlikely]] {
    co_return co_await executeWithLookups(*plan, pkt, seq, &st);
  }
  co_return co_await execute(*plan, pkt, seq, &st);
}

asio::awaitable<bool> ClientSession::onStmtWithId(const Packet& pkt) {
  auto cmd = static_cast<Command>(pkt.payload[0]);
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  const bool replies = cmd == Command::kStmtFetch || cmd == Command::kStmtReset;
  if (pkt.payload.size() < 5) {
    if (!replies) co_return true;
    co_return co_await sendError(Error::make(ErrorCode::kMalformedPacket, "Malformed packet"), seq);
  }
  std::uint32_t clientId = readU32(pkt.payload.data() + 1);
  auto it = statements_.find(clientId);
  if (cmd == Command::kStmtClose) {
    if (it != statements_.end()) {
      std::vector<PreparedStatement::OnBackend> all = it->second.backendIds;
      for (const auto& v : it->second.variants)
        all.insert(all.end(), v.backendIds.begin(), v.backendIds.end());
      for (const auto& b : all) {
        for (auto& c : conns_) {
          if (!c.conn || c.conn->serial() != b.serial) continue;
          writeU32(const_cast<std::uint8_t*>(pkt.payload.data()) + 1, b.id);
          const catalog::Endpoint address = c.address;
          if (!co_await forward(*c.conn, pkt)) {
            if (SessionConn* still = findConn(address)) releaseConn(*still, true);
          }
          break;
        }
      }
      statements_.erase(it);
    }
    co_return true;  // COM_STMT_CLOSE has no response
  }
  if (it == statements_.end()) {
    if (!replies) co_return true;  // SEND_LONG_DATA has no response either
    co_return co_await sendError(
        Error::make(
            ErrorCode::kUnknownStatement,
            fmt::format("Unknown prepared statement handler ({}) given to {}", clientId,
                        cmd == Command::kStmtFetch ? "mysqld_stmt_fetch" : "mysqld_stmt_reset")),
        seq);
  }
  PreparedStatement& st = it->second;
  if (cmd == Command::kStmtSendLongData) {
    // Kept until the execute: only then is it known which connections run the statement.
    if (pkt.payload.size() >= 7) {
      std::uint16_t param = static_cast<std::uint16_t>(pkt.payload[5] | (pkt.payload[6] << 8));
      std::string_view data = protocol::asString(pkt.payload.subspan(7));
      bool found = false;
      for (auto& [p, buffer] : st.longData) {
        if (p == param) {
          buffer.append(data);
          found = true;
        }
      }
      if (!found) st.longData.emplace_back(param, std::string(data));
    }
    co_return true;
  }
  if (cmd == Command::kStmtReset) st.longData.clear();
  SessionConn* target = nullptr;
  for (auto& c : conns_) {
    if (c.conn && st.cursorSerial != 0 && c.conn->serial() == st.cursorSerial) target = &c;
  }
  if (target == nullptr) {
    if (cmd == Command::kStmtReset) co_return co_await sendOk(seq);
    // The cursor lived on a backend connection that is gone (or there never was one).
    co_return co_await sendError(
        Error::make(ErrorCode::kBackendLost,
                    "The cursor's backend connection was lost; execute the statement again"),
        seq);
  }
  auto* on = st.on(st.cursorSerial);
  if (on == nullptr) co_return co_await sendOk(seq);
  writeU32(const_cast<std::uint8_t*>(pkt.payload.data()) + 1, on->id);
  co_return co_await relay(*target, pkt,
                           RelayOptions{cmd == Command::kStmtFetch ? ResponseKind::kFetch
                                                                   : ResponseKind::kSinglePacket});
}

}  // namespace shardproxy::proxy
