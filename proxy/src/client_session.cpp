#include "shardproxy/proxy/client_session.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/authenticator.h"
#include "shardproxy/proxy/protocol/auth.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/server.h"
#include "shardproxy/router/sql/digest.h"

namespace shardproxy::proxy {

namespace cap = protocol::cap;
using protocol::Command;
using protocol::ResponseKind;

namespace {

constexpr std::chrono::milliseconds kHandshakeTimeout{10000};

// Only statements that may change session state (USE, SET, or several statements at once) need
// the analyzer; everything else skips it, so the common path does no extra work.
bool mayChangeSession(std::string_view sql) {
  std::size_t i = 0;
  while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i])))
    ++i;
  if (i < sql.size() && (sql[i] == '/' || sql[i] == '#' || sql[i] == '-')) return true;
  if (sql.size() - i >= 4) {
    char a = static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i])));
    char b = static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i + 1])));
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i + 2])));
    char d = sql[i + 3];
    bool boundary = std::isspace(static_cast<unsigned char>(d)) || d == '@' || d == '`';
    if (boundary && ((a == 's' && b == 'e' && c == 't') || (a == 'u' && b == 's' && c == 'e'))) {
      return true;
    }
  }
  return std::memchr(sql.data() + i, ';', sql.size() - i) != nullptr;
}

}  // namespace

ClientSession::ClientSession(ThreadContext& ctx, tcp::socket socket)
    : ctx_(ctx),
      client_(std::move(socket), ctx.shared.config.maxAllowedPacket),
      id_(ctx.shared.nextConnectionId.fetch_add(1, std::memory_order_relaxed)) {
  error_code ec;
  auto ep = client_.stream().socket().remote_endpoint(ec);
  peerHost_ = ec ? "unknown" : ep.address().to_string();
  peerPort_ = ec ? 0 : ep.port();
  client_.stream().socket().set_option(tcp::no_delay(true), ec);
  ctx_.sessions.insert(this);
  ctx_.shared.clientConnections.fetch_add(1, std::memory_order_relaxed);
}

ClientSession::~ClientSession() {
  if (registered_) ctx_.shared.unregisterSession(id_);
  releaseAll();
  ctx_.sessions.erase(this);
  ctx_.shared.clientConnections.fetch_sub(1, std::memory_order_relaxed);
}

void ClientSession::requestClose() {
  closeRequested_ = true;
  if (idle_) client_.stream().close();
}

asio::awaitable<void> ClientSession::run(std::unique_ptr<ClientSession> self) {
  auto log = moduleLogger("proxy");
  if (self->ctx_.shared.clientConnections.load() > self->ctx_.shared.config.maxClientConnections) {
    std::uint8_t seq = 0;
    co_await self->sendError(Error::make(ErrorCode::kTooManyConnections, "Too many connections"),
                             seq);
    self->ctx_.metrics.refused();
    co_return;
  }
  if (co_await self->handshake()) {
    self->ctx_.metrics.accepted();
    logWith(*log, spdlog::level::debug, self->logFields(), "authenticated");
    co_await self->commandLoop();
  } else {
    self->ctx_.metrics.refused();
  }
  logWith(*log, spdlog::level::debug, self->logFields(), "closed");
  self->client_.stream().close();
}

std::uint16_t ClientSession::statusFlags() const {
  std::uint16_t flags = 0;
  if (state_.autocommit) flags |= protocol::status::kAutocommit;
  if (inTransaction() && !implicitTx_) flags |= protocol::status::kInTrans;
  return flags;
}

asio::awaitable<bool> ClientSession::sendOk(std::uint8_t seq, std::uint16_t extraStatus,
                                            std::uint16_t warnings, std::string_view info) {
  auto& out = client_.out();
  std::size_t start = protocol::beginPacket(out);
  protocol::OkPacket ok;
  ok.statusFlags = static_cast<std::uint16_t>(statusFlags() | extraStatus);
  ok.warnings = warnings;
  ok.info = info;  // (length-encoded, with or without session tracking)
  protocol::encode(ok, caps_ & ~cap::kSessionTrack, out);
  if ((caps_ & cap::kSessionTrack) && info.empty()) protocol::ByteWriter(out).u8(0);
  protocol::endPacket(out, start, seq);
  co_return !(co_await client_.flush());
}

asio::awaitable<bool> ClientSession::sendError(const Error& error, std::uint8_t seq) {
  ctx_.metrics.error(error.mysqlErrno);
  execution_.error = true;
  execution_.errorCode = error.mysqlErrno;
  logStatementError(error.mysqlErrno, error.message, false);
  auto& out = client_.out();
  std::size_t start = protocol::beginPacket(out);
  protocol::encode(protocol::ErrPacket{error.mysqlErrno, error.sqlState, error.message}, out);
  protocol::endPacket(out, start, seq);
  co_return !(co_await client_.flush());
}

// --- Connection phase (MySQL protocol "Connection Phase") ----------------------------------

asio::awaitable<bool> ClientSession::handshake() {
  SharedState& shared = ctx_.shared;
  auto phase =
      co_await acceptConnection(client_, shared.identity, id_, shared.appAccounts(), peerHost_);
  if (!phase) co_return false;
  caps_ = phase->capabilities;
  std::uint8_t seq = phase->nextSeq;
  state_.charset = phase->response.charset == 0 ? shared.identity.charset : phase->response.charset;
  onAuthenticated(phase->response.username, std::move(phase->credentials));
  if (!phase->response.database.empty()) {
    state_.setSchema(phase->response.database);
    // A keyspace of the catalog exists on its shards by definition: no backend is asked (so a
    // client connecting while its shard's primary is held or down is not stopped there). Any
    // other database is the unsharded keyspace's server's to confirm (1049 when it has none).
    refreshSnapshot();
    if (snapshot_->findKeyspace(state_.schema) != nullptr) co_return co_await sendOk(seq);
    if (auto err = co_await checkSchema()) {
      co_await sendError(*err, seq);
      co_return false;
    }
  }
  co_return co_await sendOk(seq);
}

void ClientSession::onAuthenticated(const std::string& user, protocol::Credentials credentials) {
  applyClientCharset(sql::multibyteCharsetOfCollation(state_.charset));
  collation_ = state_.collationConnection();
  user_ = user;
  credentials_ = std::move(credentials);
  if (!registered_) {
    ctx_.shared.registerSession(
        id_, {&ctx_, this, user_, {}, 0, fmt::format("{}:{}", peerHost_, peerPort_)});
    registered_ = true;
  } else {
    ctx_.shared.withSession(id_, [&](SharedState::SessionEntry* e) {
      if (e != nullptr) e->user = user_;
      return 0;
    });
  }
}

// --- A client that leaves during a statement ----------------------------------------------

namespace {

// KILL CONNECTION of one backend thread, on a pooled connection of the same login (the session
// may be gone by the time it runs: nothing of it is used).
asio::awaitable<void> killBackendThread(ThreadContext& ctx, catalog::Endpoint address,
                                        BackendLogin login, std::uint32_t thread) {
  auto conn = co_await ctx.pool.acquire(address, login);
  if (!conn) co_return;
  Status st = co_await (*conn)->command(Command::kQuery, fmt::format("KILL CONNECTION {}", thread));
  if (!st) (*conn)->broken = true;
  ctx.pool.release(std::move(*conn));
}

}  // namespace

void ClientSession::checkClientGone() {
  const std::uint64_t seen = std::exchange(watchedCommand_, commands_);
  // Only a statement that was already running at the previous look (a second or more).
  if (idle_ || clientGoneKill_ || seen != commands_ || conns_.empty()) return;
  auto& sock = client_.stream().socket();
  std::uint8_t byte;
  ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  const bool gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  if (!gone) return;  // quiet, or the client already sent its next command (pipelining)
  clientGoneKill_ = true;
  logWith(*moduleLogger("proxy"), spdlog::level::info, logFields(),
          "the client closed its connection during a statement: killing its {} backend "
          "connection(s)",
          conns_.size());
  const BackendLogin login = backendLogin();
  for (const SessionConn& c : conns_) {
    if (!c.conn || c.conn->threadId() == 0) continue;
    asio::co_spawn(ctx_.io, killBackendThread(ctx_, c.address, login, c.conn->threadId()),
                   asio::detached);
  }
}

// --- Command phase ---------------------------------------------------------------------------

asio::awaitable<void> ClientSession::commandLoop() {
  auto log = moduleLogger("proxy");
  while (!closeRequested_ && !ctx_.shuttingDown) {
    idle_ = true;
    auto pkt = co_await client_.readPacket();
    idle_ = false;
    ++commands_;
    if (!pkt) {
      logWith(*log, spdlog::level::debug, logFields(), "read failed: {}", pkt.error().message);
      if (pkt.error().code == ErrorCode::kPacketTooLarge) {
        co_await sendError(pkt.error(), 1);
      }
      co_return;
    }
    if (pkt->seq != 0) {
      logWith(*log, spdlog::level::debug, logFields(), "command packet with sequence id {}",
              pkt->seq);
      co_await sendError(Error::make(ErrorCode::kPacketsOutOfOrder, "Got packets out of order"),
                         static_cast<std::uint8_t>(pkt->lastSeq + 1));
      co_return;
    }
    if (pkt->payload.empty()) {
      // No command byte: answer like MySQL (unknown command) and keep the connection.
      if (!co_await sendError(Error::make(ErrorCode::kUnknownCommand, "Unknown command"), 1)) {
        co_return;
      }
      continue;
    }
    statementCounted_ = false;
    digestActive_ = false;
    execution_ = Execution{};
    commandStart_ = std::chrono::steady_clock::now();
    switch (static_cast<Command>(pkt->payload[0])) {
      case Command::kQuery:
        break;  // by its statement's kind, once parsed (onQueryText)
      case Command::kStmtPrepare:
        ctx_.metrics.statement(metrics::Kind::kPrepare);
        break;
      case Command::kStmtExecute:
        ctx_.metrics.statement(metrics::Kind::kExecute);
        break;
      default:
        ctx_.metrics.statement(metrics::Kind::kCommand);
        break;
    }
    const bool keep = co_await dispatch(*pkt);
    const auto slow = ctx_.shared.config.slowQuery;
    if (digestActive_ || slow.count() != 0) {
      const auto took = std::chrono::steady_clock::now() - commandStart_;
      execution_.ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
      if (digestActive_) ctx_.digests.record(digestHash_, execution_);
      if (slow.count() != 0 && took >= slow) [[unlikely]]
        logSlow(*pkt);
    }
    if (!keep) co_return;
    client_.shrinkIfLarge();
  }
}

asio::awaitable<bool> ClientSession::dispatch(const Packet& pkt) {
  auto cmd = static_cast<Command>(pkt.payload[0]);
  // Session changes belong to the command that made them: none may leak into the next one (a
  // COM_STMT_EXECUTE after a SET would apply the SET again).
  changes_.clear();
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  switch (cmd) {
    case Command::kQuit:
      co_return false;
    case Command::kQuery:
      co_return co_await onQuery(pkt);
    case Command::kInitDb:
      co_return co_await onInitDb(pkt);
    case Command::kPing:
      co_return co_await sendOk(seq);
    case Command::kFieldList:
      co_return co_await onSimpleForward(pkt, ResponseKind::kFieldList);
    case Command::kStatistics:
      co_return co_await onSimpleForward(pkt, ResponseKind::kSinglePacket);
    case Command::kSetOption:
      co_return co_await onSetOption(pkt);
    case Command::kResetConnection:
      co_return co_await onResetConnection(pkt);
    case Command::kChangeUser:
      co_return co_await onChangeUser(pkt);
    case Command::kStmtPrepare:
      co_return co_await onStmtPrepare(pkt);
    case Command::kStmtExecute:
      co_return co_await onStmtExecute(pkt);
    case Command::kStmtFetch:
    case Command::kStmtReset:
    case Command::kStmtSendLongData:
    case Command::kStmtClose:
      co_return co_await onStmtWithId(pkt);
    default:
      co_return co_await sendError(
          Error::make(ErrorCode::kUnknownCommand,
                      fmt::format("Unknown command (0x{:02x})", pkt.payload[0])),
          seq);
  }
}

asio::awaitable<bool> ClientSession::forward(BackendConnection& conn, const Packet& pkt) {
  error_code ec;
  if (!pkt.raw.empty()) {
    auto [wec, n] = co_await conn.channel().write(pkt.raw);
    ec = wec;
  } else {
    auto& out = conn.channel().out();
    std::uint8_t seq = 0;
    std::size_t start = protocol::beginPacket(out);
    protocol::ByteWriter(out).bytes(pkt.payload);
    protocol::endPacket(out, start, seq);
    ec = co_await conn.channel().flush();
  }
  co_return !ec;
}

asio::awaitable<bool> ClientSession::relay(SessionConn& sc, const Packet& pkt,
                                           const RelayOptions& options, RelayResult* out) {
  BackendConnection& conn = *sc.conn;
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  if (sc.counters == nullptr) [[unlikely]]
    sc.counters = &ctx_.metrics.backend(sc.address.toString());
  metrics::BackendCounters& counters = *sc.counters;
  const auto started = std::chrono::steady_clock::now();
  ++counters.statements;
  counters.bytesOut += pkt.payload.size() + protocol::kHeaderSize;
  // The common case (an unsplit packet) writes straight from the client's read buffer without
  // another coroutine frame.
  bool sent;
  if (!pkt.raw.empty()) {
    auto [ec, n] = co_await conn.channel().write(pkt.raw);
    sent = !ec;
  } else {
    sent = co_await forward(conn, pkt);
  }
  if (!sent) {
    std::string addr = conn.address();
    releaseConn(sc, true);
    co_return co_await sendError(
        Error::make(ErrorCode::kBackendLost,
                    fmt::format("Lost connection to backend '{}' while sending the command", addr)),
        seq);
  }
  RelayResult r = co_await relayResponse(conn, client_, options);
  counters.latency.add(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count()));
  counters.bytesIn += r.bytes;
  execution_.rows += r.rows;
  if (r.sawError) {
    ++counters.errors;
    ctx_.metrics.error(r.errorCode);
    execution_.error = true;
    execution_.errorCode = r.errorCode;
    logStatementError(r.errorCode, {}, true);
  }
  if (out != nullptr) *out = r;
  if (r.sawStatus) {
    sc.inTx = (r.statusFlags & protocol::status::kInTrans) != 0;
    state_.autocommit = (r.statusFlags & protocol::status::kAutocommit) != 0;
  }
  switch (r.outcome) {
    case RelayResult::Outcome::kDone:
      if (conn.broken) releaseConn(sc, true);
      co_return true;
    case RelayResult::Outcome::kClientGone:
      releaseConn(sc, true);
      co_return false;
    case RelayResult::Outcome::kBackendLost:
    case RelayResult::Outcome::kBackendProtocol: {
      std::string addr = conn.address();
      bool inTx = sc.inTx || txOpen_;
      releaseConn(sc, true);
      logWith(*moduleLogger("proxy"), spdlog::level::warn, logFields(),
              "backend '{}' failed during a statement", addr);
      // Part of the response reached the client (column definitions, rows): an error packet
      // there is not one a server would send (a binary-protocol client reads it as malformed),
      // so the client loses its connection, as it would had it been connected to that server.
      if (r.clientStreamBroken || r.bytes > 0) co_return false;
      std::uint8_t errSeq = seq;
      co_return co_await sendError(
          Error::make(r.outcome == RelayResult::Outcome::kBackendLost ? ErrorCode::kBackendLost
                                                                      : ErrorCode::kBackendProtocol,
                      fmt::format("Lost connection to backend '{}' during query{}", addr,
                                  inTx ? "; the open transaction was rolled back" : "")),
          errSeq);
    }
  }
  co_return false;
}

asio::awaitable<bool> ClientSession::onQuery(const Packet& pkt) {
  std::string_view sql = protocol::asString(pkt.payload.subspan(1));
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  changes_.clear();
  if (sql.size() > 4 && (sql[0] == 'k' || sql[0] == 'K')) {
    if (auto kill = router::parseKill(sql)) co_return co_await onKill(*kill, seq);
  }
  if (mayChangeSession(sql)) router::analyzeSession(sql, changes_);
  co_return co_await onQueryText(pkt, sql, seq);
}

asio::awaitable<bool> ClientSession::onKill(const router::KillRequest& kill, std::uint8_t seq) {
  // Connection ids clients see are the proxy's; the backend thread behind the target session is
  // what must be killed (sending the client's id to a backend would hit an unrelated thread).
  struct Target {
    bool found = false;
    bool owner = false;
    ThreadContext* thread = nullptr;
    std::uint32_t backendThread = 0;
    catalog::Endpoint backend;
  };
  const auto id = static_cast<std::uint32_t>(kill.id);
  Target t = ctx_.shared.withSession(id, [&](SharedState::SessionEntry* e) {
    Target r;
    if (e == nullptr) return r;
    r.found = true;
    r.owner = e->user == user_;
    r.thread = e->thread;
    r.backendThread = e->backendThread;
    r.backend = e->backend;
    return r;
  });
  if (!t.found) {
    co_return co_await sendError(
        Error::fromServer(1094, "HY000", fmt::format("Unknown thread id: {}", kill.id)), seq);
  }
  if (!t.owner) {
    co_return co_await sendError(
        Error::fromServer(1095, "HY000", fmt::format("You are not owner of thread {}", kill.id)),
        seq);
  }
  if (id == id_) {
    if (kill.queryOnly) co_return co_await sendOk(seq);
    co_await sendError(Error::fromServer(1927, "70100", "Connection was killed"), seq);
    co_return false;
  }
  if (t.backendThread != 0) {
    refreshSnapshot();
    const catalog::Backend* b = snapshot_->findBackend(t.backend);
    const catalog::Shard* shard = nullptr;
    for (const auto& s : snapshot_->shards)
      if (b != nullptr && s.keyspace == b->keyspace && s.name == b->shard) shard = &s;
    if (b != nullptr && shard != nullptr) {
      auto conn = co_await connectionTo(*b, *shard);
      if (!conn) co_return co_await sendError(conn.error(), seq);
      const catalog::Endpoint address = (*conn)->address;
      std::string sql = fmt::format("KILL {}{}", kill.queryOnly ? "QUERY " : "", t.backendThread);
      Status st = co_await (*conn)->conn->command(Command::kQuery, sql);
      SessionConn* still = findConn(address);
      if (!st && still != nullptr && still->conn->broken) releaseConn(*still, true);
      // An unknown backend thread means the statement already ended: nothing left to kill.
    }
  }
  if (!kill.queryOnly) {
    asio::post(t.thread->io, [shared = &ctx_.shared, id] {
      shared->withSession(id, [](SharedState::SessionEntry* e) {
        if (e != nullptr) e->session->requestClose();
        return 0;
      });
    });
  }
  co_return co_await sendOk(seq);
}

asio::awaitable<std::optional<Error>> ClientSession::checkSchema() {
  // Connecting brings the connection to the session's schema: the backend says if it exists.
  refreshSnapshot();
  auto conn = co_await schemaConnection();
  if (!conn) co_return conn.takeError();
  co_return std::nullopt;
}

asio::awaitable<Result<ClientSession::SessionConn*>> ClientSession::schemaConnection() {
  router::Plan plan;
  plan.kind = router::PlanKind::kSessionConnection;
  plan.role = router::Role::kPrimary;
  plan.keyspace = schemaKeyspace();
  co_return co_await sessionConnection(plan);
}

asio::awaitable<bool> ClientSession::onInitDb(const Packet& pkt) {
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  std::string schema(protocol::asString(pkt.payload.subspan(1)));
  refreshSnapshot();
  router::Plan plan;
  plan.kind = router::PlanKind::kSessionConnection;
  plan.role = router::Role::kPrimary;
  plan.keyspace = snapshot_->findKeyspace(schema);
  if (plan.keyspace == nullptr) {
    for (const auto& k : snapshot_->keyspaces)
      if (!k.sharded && plan.keyspace == nullptr) plan.keyspace = &k;
  }
  if (plan.keyspace != nullptr && !plan.keyspace->sharded) {
    if (const catalog::User* u = snapshot_->findUser(user_);
        u != nullptr && !u->mayUse(plan.keyspace->name)) {
      co_return co_await sendError(
          Error::fromServer(1044, "42000",
                            fmt::format("Access denied for user '{}' to keyspace '{}'", user_,
                                        plan.keyspace->name)),
          seq);
    }
  }
  auto conn = co_await sessionConnection(plan);
  if (!conn) co_return co_await sendError(conn.error(), seq);
  const catalog::Endpoint address = (*conn)->address;
  RelayResult r;
  bool keep = co_await relay(**conn, pkt, RelayOptions{ResponseKind::kSinglePacket}, &r);
  if (r.outcome == RelayResult::Outcome::kDone && !r.sawError) {
    state_.setSchema(schema);
    if (SessionConn* still = findConn(address); still != nullptr && still->conn) {
      still->conn->schema = schema;
      still->conn->syncedVersion = state_.version;
    }
  }
  co_return keep;
}

asio::awaitable<bool> ClientSession::onSimpleForward(const Packet& pkt, ResponseKind kind) {
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  refreshSnapshot();
  router::Plan plan;
  plan.kind = router::PlanKind::kSessionConnection;
  plan.role = router::Role::kPrimary;
  auto conn = co_await sessionConnection(plan);
  if (!conn) co_return co_await sendError(conn.error(), seq);
  co_return co_await relay(**conn, pkt, RelayOptions{kind});
}

asio::awaitable<bool> ClientSession::onSetOption(const Packet& pkt) {
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  if (pkt.payload.size() != 3) {
    co_return co_await sendError(
        Error::make(ErrorCode::kMalformedPacket, "Malformed COM_SET_OPTION packet"), seq);
  }
  refreshSnapshot();
  router::Plan plan;
  plan.kind = router::PlanKind::kSessionConnection;
  plan.role = router::Role::kPrimary;
  auto conn = co_await sessionConnection(plan);
  if (!conn) co_return co_await sendError(conn.error(), seq);
  (*conn)->conn->dirtyCaps = true;  // the pooled connection's multi-statement mode now differs
  const catalog::Endpoint address = (*conn)->address;
  RelayResult r;
  bool keep = co_await relay(**conn, pkt, RelayOptions{ResponseKind::kSinglePacket}, &r);
  if (r.outcome == RelayResult::Outcome::kDone && !r.sawError) {
    std::uint16_t option = static_cast<std::uint16_t>(pkt.payload[1] | (pkt.payload[2] << 8));
    if (option == 0) caps_ |= cap::kMultiStatements;
    if (option == 1) caps_ &= ~cap::kMultiStatements;
    // The session's other connections were logged in with the old option: let them go.
    for (std::size_t i = conns_.size(); i-- > 0;) {
      if (!(conns_[i].address == address) && !conns_[i].inTx) releaseConn(conns_[i], false);
    }
    current_ = -1;
    for (std::size_t i = 0; i < conns_.size(); ++i)
      if (conns_[i].address == address) current_ = static_cast<int>(i);
  }
  co_return keep;
}

void ClientSession::resetRouting() {
  releaseAll();
  txOpen_ = false;
  txReadOnly_ = false;
  txWriteShard_.clear();
  txGtrid_.clear();
  txModeOverride_.reset();
  recentWrites_.clear();
  lastWrite_ = {};
  parser_.setOptions(sql::ParseOptions{});  // sql_mode back to the server default
  applyClientCharset(sql::multibyteCharsetOfCollation(state_.charset));
  collation_ = state_.collationConnection();
  noAutoValueOnZero_ = false;
  lastInsertId_ = 0;
  ++insertIdVersion_;
  temporaryTables_ = false;
  lockedTables_ = false;
  causalReads_ = false;
  readYourWritesMs_ = ctx_.shared.config.readYourWritesMs;
}

asio::awaitable<bool> ClientSession::onResetConnection(const Packet& pkt) {
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  // Server semantics: roll back, drop temporary tables, user variables, prepared statements and
  // session variables; keep the user and the current schema. Returning the backend connection
  // to the pool does exactly that on the backend side (it is reset before reuse).
  resetRouting();
  std::string schema = state_.schema;
  std::uint8_t charset = state_.charset;
  state_ = router::SessionState{};
  state_.charset = charset;
  state_.setSchema(schema);
  statements_.clear();
  co_return co_await sendOk(seq);
}

asio::awaitable<bool> ClientSession::onChangeUser(const Packet& pkt) {
  std::uint8_t seq = static_cast<std::uint8_t>(pkt.lastSeq + 1);
  protocol::ByteReader r(pkt.payload.subspan(1));
  std::string user(r.nulTerminated());
  std::string authData;
  if (caps_ & cap::kSecureConnection) {
    std::uint8_t len = r.u8();
    authData = r.str(len);
  } else {
    authData = r.nulTerminated();
  }
  std::string schema(r.nulTerminatedOrEof());
  std::uint16_t charset = state_.charset;
  if (r.remaining() >= 2) charset = r.u16();
  std::string plugin = protocol::kNativePasswordPlugin;
  if ((caps_ & cap::kPluginAuth) && !r.atEnd()) plugin = r.nulTerminatedOrEof();
  if (r.failed()) {
    co_await sendError(Error::make(ErrorCode::kMalformedPacket, "Malformed COM_CHANGE_USER"), seq);
    co_return false;
  }
  // Re-authenticate with a fresh scramble: switch the client to our plugin and nonce.
  std::string nonce = protocol::makeScramble();
  const ServerIdentity& identity = ctx_.shared.identity;
  {
    auto& out = client_.out();
    std::size_t start = protocol::beginPacket(out);
    protocol::encode(protocol::AuthSwitchRequest{identity.authPlugin, nonce}, out);
    protocol::endPacket(out, start, seq);
    if (co_await client_.flush()) co_return false;
  }
  auto reply = co_await client_.readPacket();
  if (!reply) co_return false;
  seq = static_cast<std::uint8_t>(reply->lastSeq + 1);
  resetRouting();
  statements_.clear();
  state_ = router::SessionState{};
  state_.charset = static_cast<std::uint8_t>(charset);
  auto creds = co_await authenticateClient(
      client_, identity, user, std::string(protocol::asString(reply->payload)), identity.authPlugin,
      seq, nonce, ctx_.shared.appAccounts(), peerHost_, id_);
  if (!creds) co_return false;  // MySQL closes the connection after a failed COM_CHANGE_USER
  onAuthenticated(user, std::move(*creds));
  if (!schema.empty()) {
    state_.setSchema(schema);
    if (auto err = co_await checkSchema()) {
      co_await sendError(*err, seq);
      co_return false;
    }
  }
  co_return co_await sendOk(seq);
}

}  // namespace shardproxy::proxy
