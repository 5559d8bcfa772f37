#include "shardproxy/proxy/admin_session.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/authenticator.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/server.h"

namespace shardproxy::proxy {

using protocol::Command;

namespace {

std::string normalized(std::string_view sql) {
  std::string out;
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';'))
    out.pop_back();
  return out;
}

}  // namespace

AdminSession::AdminSession(SharedState& shared, tcp::socket socket)
    : shared_(shared),
      client_(std::move(socket), 16 * 1024 * 1024),
      id_(shared.nextConnectionId.fetch_add(1, std::memory_order_relaxed)) {
  error_code ec;
  auto ep = client_.stream().socket().remote_endpoint(ec);
  peerHost_ = ec ? "unknown" : ep.address().to_string();
}

asio::awaitable<void> AdminSession::run(std::unique_ptr<AdminSession> self) {
  auto phase = co_await acceptConnection(self->client_, self->shared_.adminIdentity, self->id_,
                                         self->shared_.adminAccounts(), self->peerHost_);
  auto& m = self->shared_.adminMetrics;
  if (phase) {
    m.accepted();
    m.opened();
    self->caps_ = phase->capabilities;
    self->user_ = phase->response.username;
    LogFields fields;
    fields.conn = self->id_;
    fields.user = self->user_;
    fields.host = self->peerHost_;
    logWith(*moduleLogger("proxy"), spdlog::level::info, fields, "admin session connected");
    if (co_await self->sendOk(phase->nextSeq, 0, {})) co_await self->commandLoop();
    m.closed();
  } else {
    m.refused();
  }
  self->client_.stream().close();
}

asio::awaitable<bool> AdminSession::sendError(const Error& error, std::uint8_t seq) {
  shared_.adminMetrics.error(error.mysqlErrno);
  co_return co_await sendErrorPacket(client_, error, seq);
}

asio::awaitable<bool> AdminSession::sendOk(std::uint8_t seq, std::uint64_t affected,
                                           std::string_view info) {
  auto& out = client_.out();
  std::size_t start = protocol::beginPacket(out);
  protocol::OkPacket ok;
  ok.affectedRows = affected;
  ok.statusFlags = protocol::status::kAutocommit;
  ok.info = info;
  protocol::encode(ok, caps_, out);
  protocol::endPacket(out, start, seq);
  co_return !(co_await client_.flush());
}

asio::awaitable<bool> AdminSession::sendResultSet(const TextResultSet& rs, std::uint8_t seq) {
  encodeResultSet(rs, caps_, protocol::status::kAutocommit, seq, client_.out());
  co_return !(co_await client_.flush());
}

asio::awaitable<void> AdminSession::commandLoop() {
  while (!shared_.shuttingDown.load()) {
    auto pkt = co_await client_.readPacket();
    if (!pkt) co_return;
    std::uint8_t seq = static_cast<std::uint8_t>(pkt->lastSeq + 1);
    if (pkt->seq != 0) {
      Error err =
          Error::make(ErrorCode::kPacketsOutOfOrder, std::string("Got packets out of order"));
      co_await sendError(err, seq);
      co_return;
    }
    Command cmd = pkt->payload.empty() ? Command::kSleep : static_cast<Command>(pkt->payload[0]);
    switch (cmd) {
      case Command::kQuit:
        co_return;
      case Command::kPing:
      case Command::kInitDb:
      case Command::kResetConnection:
        if (!co_await sendOk(seq, 0, {})) co_return;
        break;
      case Command::kQuery:
        shared_.adminMetrics.statement();
        if (!co_await onQuery(protocol::asString(pkt->payload.subspan(1)), seq)) co_return;
        break;
      default: {
        Error err = Error::make(ErrorCode::kUnknownCommand,
                                std::string("Unknown command on the admin port"));
        if (!co_await sendError(err, seq)) co_return;
      }
    }
  }
}

asio::awaitable<bool> AdminSession::onQuery(std::string_view sql, std::uint8_t seq) {
  // What the mariadb CLI asks on connect, before the prompt.
  if (normalized(sql) == "select @@version_comment limit 1") {
    TextResultSet rs;
    rs.columns.emplace_back("@@version_comment");
    rs.rows.push_back({std::optional<std::string>(std::string("shardproxy admin"))});
    co_return co_await sendResultSet(rs, seq);
  }
  // Drivers set session options on connect (PyMySQL: SET AUTOCOMMIT); the admin port has no
  // session state, so any SET but SET BACKEND and SET KEYSPACE is accepted and ignored, as
  // ProxySQL's admin does.
  std::string n = normalized(sql);
  if (n.starts_with("set ") && !n.starts_with("set backend ") && !n.starts_with("set keyspace "))
    co_return co_await sendOk(seq, 0, {});
  bool changed = false;
  AdminResult result = shared_.runAdmin(sql, fmt::format("{}@{}", user_, peerHost_), changed);
  if (auto* ok = std::get_if<AdminOk>(&result)) {
    co_return co_await sendOk(seq, ok->affectedRows, ok->info);
  }
  if (auto* rs = std::get_if<TextResultSet>(&result)) co_return co_await sendResultSet(*rs, seq);
  co_return co_await sendError(std::get<Error>(result), seq);
}

}  // namespace shardproxy::proxy
