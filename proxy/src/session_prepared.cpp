// The binary-protocol commands of a client session (MySQL protocol "Prepared Statements"):
// COM_STMT_PREPARE / EXECUTE / FETCH / RESET / SEND_LONG_DATA / CLOSE. The session hands out its
// own statement ids and maps each to the backend connection's, re-preparing silently when the
// session moved to another backend connection. Split from client_session.cpp, same class.
#include <fmt/format.h>

#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/server.h"

namespace shardproxy::proxy {

using protocol::Command;
using protocol::readU32;
using protocol::ResponseKind;
using protocol::writeU32;

// --- Prepared statements (MySQL protocol "Prepared Statements") -----------------------------

asio::awaitable<bool> ClientSession::onStmtPrepare(const Packet& pkt) {
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  std::string_view sql = protocol::asString(pkt.payload.subspan(1));
  auto conn = co_await backendForStatement(sql);
  if (!conn) co_return co_await sendError(conn.error(), seq);
  std::uint32_t clientId = nextStatementId_++;
  RelayResult r;
  RelayOptions options{ResponseKind::kPrepare, true, clientId};
  std::uint64_t serial = (*conn)->serial();
  bool keep = co_await relay(**conn, pkt, options, &r);
  if (r.outcome == RelayResult::Outcome::kDone && !r.sawError) {
    PreparedStatement& st = statements_[clientId];
    st.sql.assign(sql);
    st.params = r.prepareParams;
    st.columns = r.prepareColumns;
    st.backendId = r.backendStatementId;
    st.backendSerial = serial;
  }
  co_return keep;
}

asio::awaitable<Result<ClientSession::PreparedStatement*>> ClientSession::preparedOn(
    std::uint32_t clientId, BackendConnection& conn) {
  auto it = statements_.find(clientId);
  if (it == statements_.end()) {
    co_return Error::make(ErrorCode::kUnknownStatement,
                          fmt::format("Unknown prepared statement handler ({}) given to "
                                      "mysqld_stmt_execute",
                                      clientId));
  }
  PreparedStatement& st = it->second;
  if (st.backendSerial != conn.serial()) {
    // A replacement backend connection: prepare the statement there first, silently.
    auto id = co_await conn.prepare(st.sql);
    if (!id) co_return id.takeError();
    st.backendId = *id;
    st.backendSerial = conn.serial();
  }
  co_return &st;
}

asio::awaitable<bool> ClientSession::onStmtExecute(const Packet& pkt) {
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  if (pkt.payload.size() < 10) {
    co_return co_await sendError(
        Error::make(ErrorCode::kMalformedPacket, "Malformed COM_STMT_EXECUTE packet"), seq);
  }
  std::uint32_t clientId = readU32(pkt.payload.data() + 1);
  auto route = routeFor({});
  if (!route) co_return co_await sendError(route.error(), seq);
  BackendConnection* be = readyBackend(*route);
  if (be == nullptr) {
    auto acquired = co_await backendFor(route->backend->address);
    if (!acquired) co_return co_await sendError(acquired.error(), seq);
    be = *acquired;
  }
  BackendConnection** conn = &be;
  PreparedStatement* found = nullptr;
  bool reprepared = false;
  if (auto it = statements_.find(clientId);
      it != statements_.end() && it->second.backendSerial == be->serial()) {
    found = &it->second;  // prepared on this connection already: no extra round trip
  } else {
    auto stmt = co_await preparedOn(clientId, **conn);
    if (!stmt) {
      if (backend_ && backend_->broken) dropBackend();
      co_return co_await sendError(stmt.error(), seq);
    }
    found = *stmt;
    reprepared = true;
  }
  PreparedStatement& st = *found;
  // The payload lives in this session's own read buffer: rewriting the id in place avoids a copy.
  auto* payload = const_cast<std::uint8_t*>(pkt.payload.data());
  std::size_t typesAt = 10 + (st.params + 7) / 8;
  if (st.params > 0 && pkt.payload.size() > typesAt) {
    if (payload[typesAt] == 1 && pkt.payload.size() >= typesAt + 1 + 2u * st.params) {
      st.paramTypes.assign(payload + typesAt + 1, payload + typesAt + 1 + 2 * st.params);
    } else if (payload[typesAt] == 0 && reprepared) {
      // The new backend statement has never seen the parameter types: send them again.
      if (st.paramTypes.size() != 2u * st.params) {
        co_return co_await sendError(
            Error::make(ErrorCode::kMalformedPacket,
                        "COM_STMT_EXECUTE without parameter types on a re-prepared statement"),
            seq);
      }
      protocol::Bytes rebuilt(pkt.payload.begin(), pkt.payload.end());
      rebuilt[typesAt] = 1;
      rebuilt.insert(rebuilt.begin() + static_cast<std::ptrdiff_t>(typesAt + 1),
                     st.paramTypes.begin(), st.paramTypes.end());
      writeU32(rebuilt.data() + 1, st.backendId);
      Packet copy;
      copy.payload = protocol::ByteView(rebuilt);
      copy.seq = 0;
      copy.lastSeq = pkt.lastSeq;
      co_return co_await relay(**conn, copy, RelayOptions{ResponseKind::kExecute});
    }
  }
  writeU32(payload + 1, st.backendId);
  co_return co_await relay(**conn, pkt, RelayOptions{ResponseKind::kExecute});
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
      if (backend_ && it->second.backendSerial == backend_->serial()) {
        writeU32(const_cast<std::uint8_t*>(pkt.payload.data()) + 1, it->second.backendId);
        if (!co_await forward(*backend_, pkt)) dropBackend();
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
  if (cmd == Command::kStmtFetch && (!backend_ || it->second.backendSerial != backend_->serial())) {
    // The cursor lived on a backend connection that is gone.
    co_return co_await sendError(
        Error::make(ErrorCode::kBackendLost,
                    "The cursor's backend connection was lost; execute the statement again"),
        seq);
  }
  auto conn = co_await backendForStatement({});
  if (!conn) {
    if (!replies) co_return true;
    co_return co_await sendError(conn.error(), seq);
  }
  auto stmt = co_await preparedOn(clientId, **conn);
  if (!stmt) {
    if (!replies) co_return true;
    co_return co_await sendError(stmt.error(), seq);
  }
  writeU32(const_cast<std::uint8_t*>(pkt.payload.data()) + 1, (*stmt)->backendId);
  if (cmd == Command::kStmtSendLongData) {
    if (!co_await forward(**conn, pkt)) dropBackend();
    co_return true;
  }
  co_return co_await relay(**conn, pkt,
                           RelayOptions{cmd == Command::kStmtFetch ? ResponseKind::kFetch
                                                                   : ResponseKind::kSinglePacket});
}

}  // namespace shardproxy::proxy
