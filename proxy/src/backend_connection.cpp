#include "shardproxy/proxy/backend_connection.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>

#include "shardproxy/proxy/protocol/auth.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/protocol/response_scanner.h"

namespace shardproxy::proxy {

bool BackendConnection::peerClosed() {
  // EOF or unsolicited data (an error packet the server sent before closing) both mean the
  // connection is no good; EAGAIN means it is quiet and alive.
  auto& sock = channel_.stream().socket();
  std::uint8_t byte;
  ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return true;
  return errno != EAGAIN && errno != EWOULDBLOCK;
}

namespace {
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
std::atomic<std::uint64_t> gSerial{1};

constexpr std::uint32_t kBaseCaps = protocol::cap::kLongPassword | protocol::cap::kLongFlag |
                                    protocol::cap::kProtocol41 | protocol::cap::kTransactions |
                                    protocol::cap::kSecureConnection | protocol::cap::kPluginAuth |
                                    protocol::cap::kPluginAuthLenencData |
                                    protocol::cap::kConnectAttrs | protocol::cap::kConnectWithDb;

asio::awaitable<Result<tcp::socket>> openSocket(asio::any_io_executor ex,
                                                const catalog::Endpoint& backend,
                                                std::chrono::milliseconds timeout) {
  tcp::resolver resolver(ex);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(backend.host, std::to_string(backend.port), kAwait);
  if (rec) {
    co_return Error::make(
        ErrorCode::kBackendUnreachable,
        fmt::format("Can't resolve backend '{}': {}", backend.toString(), rec.message()));
  }
  tcp::socket socket(ex);
  asio::steady_timer timer(ex);
  timer.expires_after(timeout);
  bool timedOut = false;
  timer.async_wait([&](error_code ec) {
    if (!ec) {
      timedOut = true;
      error_code ignored;
      socket.cancel(ignored);
      socket.close(ignored);
    }
  });
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, kAwait);
  timer.cancel();
  if (cec || timedOut) {
    co_return Error::make(ErrorCode::kBackendUnreachable,
                          fmt::format("Can't connect to backend '{}' ({})", backend.toString(),
                                      timedOut ? std::string("connect timeout") : cec.message()));
  }
  socket.set_option(tcp::no_delay(true));
  co_return std::move(socket);
}
}  // namespace

Error BackendConnection::lost(std::string_view what) const {
  return Error::make(ErrorCode::kBackendLost,
                     fmt::format("Lost connection to backend '{}' {}", address_, what));
}

asio::awaitable<Result<std::unique_ptr<BackendConnection>>> BackendConnection::connect(
    asio::any_io_executor ex, const catalog::Endpoint& backend, const BackendLogin& login,
    const BackendOptions& options) {
  auto socket = co_await openSocket(ex, backend, options.connectTimeout);
  if (!socket) co_return socket.takeError();
  auto conn = std::make_unique<BackendConnection>(std::move(*socket), options.maxPacket,
                                                  backend.toString());
  conn->channel_.armDeadline(options.connectTimeout);
  Status st = co_await conn->login(login, options);
  conn->channel_.disarmDeadline();
  if (!st) {
    if (conn->channel_.deadlineExpired()) {
      co_return Error::make(ErrorCode::kBackendUnreachable,
                            fmt::format("Login to backend '{}' timed out", backend.toString()));
    }
    co_return st.takeError();
  }
  conn->serial_ = gSerial.fetch_add(1, std::memory_order_relaxed);
  conn->idleSince = std::chrono::steady_clock::now();
  co_return std::move(conn);
}

std::uint64_t BackendConnection::nextSerial() {
  return gSerial.load(std::memory_order_relaxed);
}

asio::awaitable<Status> BackendConnection::login(const BackendLogin& login,
                                                 const BackendOptions& options) {
  login_ = login;
  auto greetingPkt = co_await channel_.readPacket();
  if (!greetingPkt) co_return lost("while reading its greeting");
  if (!greetingPkt->payload.empty() && greetingPkt->payload[0] == protocol::kErrHeader) {
    auto err = protocol::decodeErr(greetingPkt->payload);
    co_return Error::fromServer(err ? err->errorCode : 1158, err ? err->sqlState : "08S01",
                                fmt::format("Backend '{}' refused the connection: {}", address_,
                                            err ? err->message : "malformed error"));
  }
  auto greeting = protocol::decodeHandshakeV10(greetingPkt->payload);
  if (!greeting || !(greeting->capabilities & protocol::cap::kProtocol41)) {
    co_return Error::make(ErrorCode::kBackendProtocol,
                          fmt::format("Backend '{}' sent an unsupported greeting", address_));
  }
  serverVersion_ = greeting->serverVersion;
  threadId_ = greeting->connectionId;
  std::uint8_t seq = static_cast<std::uint8_t>(greetingPkt->seq + 1);
  caps_ = (kBaseCaps | (login.sessionCaps & kSessionCapabilities)) & greeting->capabilities;
  caps_ |= protocol::cap::kProtocol41;
  if ((login.sessionCaps & ~caps_) & protocol::cap::kMariadbExtendedMetadata) {
    // Rows and definitions are relayed as the backend sends them: a client that negotiated the
    // extended metadata block (offered by the first backend probed) would misread them.
    co_return Error::make(
        ErrorCode::kBackendProtocol,
        fmt::format("Backend '{}' ({}) does not offer MariaDB's extended column metadata, which "
                    "this client negotiated with the proxy from another backend: the keyspace's "
                    "servers must be of one kind (MariaDB or MySQL)",
                    address_, serverVersion_));
  }

  if (options.tls != nullptr && (greeting->capabilities & protocol::cap::kSsl)) {
    caps_ |= protocol::cap::kSsl;
    auto& out = channel_.out();
    std::size_t start = protocol::beginPacket(out);
    protocol::encodeSslRequest(caps_, static_cast<std::uint32_t>(options.maxPacket), login.charset,
                               out);
    protocol::endPacket(out, start, seq);
    if (co_await channel_.flush()) co_return lost("during the TLS request");
    if (auto ec =
            co_await channel_.stream().handshakeTls(*options.tls, asio::ssl::stream_base::client)) {
      co_return Error::make(
          ErrorCode::kBackendUnreachable,
          fmt::format("TLS handshake with backend '{}' failed: {}", address_, ec.message()));
    }
  }

  std::string plugin =
      greeting->authPluginName.empty() ? protocol::kNativePasswordPlugin : greeting->authPluginName;
  if (plugin != protocol::kCachingSha2Plugin) plugin = protocol::kNativePasswordPlugin;
  std::string nonce = greeting->authPluginData;

  protocol::HandshakeResponse41 resp;
  resp.capabilities = caps_;
  resp.maxPacketSize = static_cast<std::uint32_t>(options.maxPacket);
  resp.charset = login.charset;
  resp.username = login.user;
  auto scramble = protocol::scrambleFor(plugin, login.credentials, nonce);
  if (!scramble) {
    // caching_sha2 needs SHA256(pw); try native, the server will switch us if it must.
    plugin = protocol::kNativePasswordPlugin;
    scramble = protocol::scrambleFor(plugin, login.credentials, nonce);
  }
  resp.authResponse = scramble.value_or(std::string());
  resp.authPluginName = plugin;
  resp.attributes = {{"_client_name", "shardproxy"}, {"program_name", "shardproxy"}};
  {
    auto& out = channel_.out();
    std::size_t start = protocol::beginPacket(out);
    protocol::encode(resp, out);
    protocol::endPacket(out, start, seq);
    if (co_await channel_.flush()) co_return lost("during login");
  }

  nonce_ = nonce;
  plugin_ = plugin;
  co_return co_await authExchange(seq, plugin, nonce);
}

asio::awaitable<Status> BackendConnection::authExchange(std::uint8_t seq, std::string plugin,
                                                        std::string nonce) {
  const BackendLogin& login = login_;
  while (true) {
    auto pkt = co_await channel_.readPacket();
    if (!pkt) co_return lost("during login");
    seq = static_cast<std::uint8_t>(pkt->lastSeq + 1);
    protocol::ByteView p = pkt->payload;
    if (p.empty()) co_return lost("(empty packet during login)");
    auto sendAuthData = [&](std::string_view data) -> asio::awaitable<bool> {
      auto& out = channel_.out();
      std::size_t start = protocol::beginPacket(out);
      protocol::ByteWriter(out).str(data);
      protocol::endPacket(out, start, seq);
      co_return !(co_await channel_.flush());
    };
    switch (p[0]) {
      case protocol::kOkHeader:
        co_return Status{};
      case protocol::kErrHeader: {
        auto err = protocol::decodeErr(p);
        co_return Error::fromServer(
            err ? err->errorCode : 1045, err ? err->sqlState : "28000",
            fmt::format("Backend '{}' refused the login of '{}': {}", address_, login.user,
                        err ? err->message : "malformed error"));
      }
      case protocol::kAuthSwitchHeader: {
        auto sw = protocol::decodeAuthSwitchRequest(p);
        if (!sw) co_return lost("(malformed auth switch)");
        plugin = sw->pluginName;
        if (!sw->pluginData.empty()) nonce = sw->pluginData;
        plugin_ = plugin;
        nonce_ = nonce;
        if (plugin != protocol::kNativePasswordPlugin && plugin != protocol::kCachingSha2Plugin &&
            !(plugin == protocol::kClearPasswordPlugin && channel_.stream().isTls())) {
          co_return Error::make(ErrorCode::kAuthPluginUnsupported,
                                fmt::format("Backend '{}' asked for auth plugin '{}', which the "
                                            "proxy does not implement",
                                            address_, plugin));
        }
        auto scramble = protocol::scrambleFor(plugin, login.credentials, nonce);
        if (!scramble) {
          co_return Error::make(
              ErrorCode::kBackendLoginRefused,
              fmt::format("Backend '{}' wants {} for '{}', and the proxy does not know enough of "
                          "the password for it (set backend_user, or create the user with "
                          "mysql_native_password)",
                          address_, plugin, login.user));
        }
        if (!co_await sendAuthData(*scramble)) co_return lost("during login");
        break;
      }
      case protocol::kAuthMoreDataHeader: {
        if (plugin != protocol::kCachingSha2Plugin || p.size() < 2) {
          co_return lost("(unexpected auth data)");
        }
        if (p[1] == protocol::kCachingSha2FastAuthOk) break;  // OK follows
        if (p[1] == protocol::kCachingSha2FullAuth) {
          if (!login.credentials.cleartext) {
            co_return Error::make(
                ErrorCode::kBackendLoginRefused,
                fmt::format("Backend '{}' asks for a full caching_sha2_password authentication of "
                            "'{}', which needs the cleartext password the proxy does not have "
                            "(set backend_user, or log in once over TLS)",
                            address_, login.user));
          }
          if (channel_.stream().isTls()) {
            if (!co_await sendAuthData(*login.credentials.cleartext + std::string(1, '\0'))) {
              co_return lost("during login");
            }
          } else {
            std::string req(1, static_cast<char>(protocol::kCachingSha2RequestPublicKey));
            if (!co_await sendAuthData(req)) co_return lost("during login");
          }
          break;
        }
        // Otherwise this is the server's RSA public key (PEM).
        auto encrypted = protocol::cachingSha2RsaEncrypt(
            protocol::asString(p.subspan(1)), login.credentials.cleartext.value_or(""), nonce);
        if (!encrypted) {
          co_return Error::make(ErrorCode::kBackendProtocol,
                                fmt::format("Backend '{}' sent an unusable RSA key", address_));
        }
        if (!co_await sendAuthData(*encrypted)) co_return lost("during login");
        break;
      }
      default:
        co_return lost("(unexpected packet during login)");
    }
  }
}

asio::awaitable<Status> BackendConnection::resetSession(bool clearSchema) {
  if (!clearSchema) co_return co_await command(protocol::Command::kResetConnection, {});
  // COM_RESET_CONNECTION keeps the current schema; COM_CHANGE_USER to the same login without a
  // schema resets everything, the schema included (MySQL protocol "COM_CHANGE_USER").
  std::uint8_t seq = 0;
  std::string plugin = plugin_.empty() ? std::string(protocol::kNativePasswordPlugin) : plugin_;
  auto& out = channel_.out();
  std::size_t start = protocol::beginPacket(out);
  protocol::ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(protocol::Command::kChangeUser));
  w.nulStr(login_.user);
  std::string auth = protocol::scrambleFor(plugin, login_.credentials, nonce_).value_or("");
  w.u8(static_cast<std::uint8_t>(auth.size()));
  w.str(auth);
  w.nulStr("");
  w.u16(login_.charset);
  w.nulStr(plugin);
  if (caps_ & protocol::cap::kConnectAttrs) w.lenenc(0);
  protocol::endPacket(out, start, seq);
  if (co_await channel_.flush()) {
    broken = true;
    co_return lost("while resetting the session");
  }
  Status st = co_await authExchange(seq, plugin, nonce_);
  if (!st) broken = true;
  co_return st;
}

asio::awaitable<Status> BackendConnection::command(protocol::Command cmd, std::string_view arg,
                                                   CommandOutput* output) {
  auto& out = channel_.out();
  std::uint8_t seq = 0;
  std::size_t start = protocol::beginPacket(out);
  protocol::ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(cmd));
  w.str(arg);
  protocol::endPacket(out, start, seq);
  if (co_await channel_.flush()) {
    broken = true;
    co_return lost("while sending a command");
  }
  if (output != nullptr && output->capture != nullptr) output->capture->defsSeen = 0;
  protocol::ResponseScanner scanner;
  protocol::ResponseKind kind = cmd == protocol::Command::kQuery
                                    ? protocol::ResponseKind::kQuery
                                    : protocol::ResponseKind::kSinglePacket;
  scanner.start(kind, caps_);
  std::optional<Error> firstError;
  std::size_t index = 0;
  std::size_t firstRow = 0;  // packet index of the first row once the column count is known
  while (!scanner.done()) {
    auto pkt = co_await channel_.readPacket();
    if (!pkt) {
      broken = true;
      co_return lost("while reading a response");
    }
    if (output != nullptr && !pkt->payload.empty()) {
      if (index == 0 && pkt->payload[0] == protocol::kOkHeader) {
        if (auto ok = protocol::decodeOk(pkt->payload, caps_)) output->warnings = ok->warnings;
      } else if (index == 0 && pkt->payload[0] != protocol::kOkHeader &&
                 pkt->payload[0] != protocol::kErrHeader) {
        protocol::ByteReader r(pkt->payload);
        std::uint64_t n = r.lenenc().value_or(0);
        firstRow = 1 + n + ((caps_ & protocol::cap::kDeprecateEof) ? 0 : 1);
      } else if (firstRow != 0 && index == firstRow &&
                 !protocol::isEofOrOkTerminator(pkt->payload, caps_) &&
                 pkt->payload[0] != protocol::kErrHeader) {
        if (pkt->payload[0] != 0xfb) {
          protocol::ByteReader r(pkt->payload);
          output->firstValue = std::string(r.lenencStr());
        }
      }
      if (output->capture != nullptr && firstRow != 0 && index > 0) {
        captureRow(*output->capture, *pkt, index, firstRow);
      }
    }
    ++index;
    if (!pkt->payload.empty() && pkt->payload[0] == protocol::kErrHeader && !firstError) {
      auto err = protocol::decodeErr(pkt->payload);
      if (err) firstError = Error::fromServer(err->errorCode, err->sqlState, err->message);
    }
    auto step = scanner.onPacket(pkt->payload, static_cast<std::uint32_t>(pkt->payload.size()));
    if (step == protocol::ResponseScanner::Step::kMalformed ||
        step == protocol::ResponseScanner::Step::kLocalInfile) {
      broken = true;
      co_return Error::make(ErrorCode::kBackendProtocol,
                            fmt::format("Backend '{}' sent an unexpected packet", address_));
    }
  }
  if (output != nullptr) {
    output->sawStatus = scanner.sawStatus();
    output->status = scanner.lastStatus();
  }
  if (firstError) co_return *firstError;
  co_return Status{};
}

void BackendConnection::captureRow(CommandOutput::Capture& c, const Packet& pkt, std::size_t index,
                                   std::size_t firstRow) {
  if (index < firstRow) {
    // A column definition (the EOF after them, without DEPRECATE_EOF, is skipped). Later answers
    // (other shards) have the same columns: the first answer's are kept.
    if (auto def = protocol::decodeColumnDefinition(pkt.payload, extendedMetadata())) {
      if (c.defsSeen++ >= c.columns.size()) {
        c.columns.emplace_back(def->type, def->charset);
        c.definitions.emplace_back(protocol::asString(pkt.payload));
      }
    }
    return;
  }
  if (protocol::isEofOrOkTerminator(pkt.payload, caps_) || pkt.payload[0] == protocol::kErrHeader ||
      c.columns.empty()) {
    return;
  }
  if (c.values.size() / c.columns.size() >= c.limit) {
    c.overflow = true;
    return;
  }
  protocol::ByteReader r(pkt.payload);
  for (std::size_t i = 0; i < c.columns.size(); ++i) {
    if (r.remaining() > 0 && pkt.payload[r.position()] == 0xfb) {
      r.skip(1);
      c.values.emplace_back(std::nullopt);
    } else {
      c.values.emplace_back(std::string(r.lenencStr()));
    }
  }
}

asio::awaitable<Status> BackendConnection::streamRows(RowStream& stream,
                                                      CommandOutput::Capture& rows,
                                                      std::size_t max) {
  std::size_t added = 0;
  while (!stream.done && added < max) {
    auto pkt = co_await channel_.readPacket();
    if (!pkt) {
      broken = true;
      stream.done = true;
      co_return lost("while reading a result set");
    }
    const protocol::ByteView p = pkt->payload;
    if (!p.empty() && p[0] == protocol::kErrHeader && stream.defsLeft == 0) {
      stream.done = true;
      auto err = protocol::decodeErr(p);
      if (!err) co_return Error::make(ErrorCode::kBackendProtocol, "malformed ERR packet");
      co_return Error::fromServer(err->errorCode, err->sqlState, err->message);
    }
    if (!stream.started) {
      stream.started = true;
      if (!p.empty() && p[0] == protocol::kOkHeader) {  // not a result set
        stream.done = true;
        break;
      }
      protocol::ByteReader r(p);
      stream.defsLeft = static_cast<std::size_t>(r.lenenc().value_or(0));
      stream.eofAfterDefs = (caps_ & protocol::cap::kDeprecateEof) == 0;
      rows.defsSeen = 0;
      continue;
    }
    if (stream.defsLeft > 0) {
      --stream.defsLeft;
      if (auto def = protocol::decodeColumnDefinition(p, extendedMetadata())) {
        if (rows.defsSeen++ >= rows.columns.size()) {
          rows.columns.emplace_back(def->type, def->charset);
          rows.definitions.emplace_back(protocol::asString(p));
        }
      }
      continue;
    }
    if (stream.eofAfterDefs) {
      stream.eofAfterDefs = false;
      continue;
    }
    if (protocol::isEofOrOkTerminator(p, caps_)) {
      stream.done = true;
      break;
    }
    protocol::ByteReader r(p);
    for (std::size_t i = 0; i < rows.columns.size(); ++i) {
      if (r.remaining() > 0 && p[r.position()] == 0xfb) {
        r.skip(1);
        rows.values.emplace_back(std::nullopt);
      } else {
        rows.values.emplace_back(std::string(r.lenencStr()));
      }
    }
    ++added;
  }
  co_return Status{};
}

asio::awaitable<Result<std::uint32_t>> BackendConnection::prepare(std::string_view sql) {
  auto& out = channel_.out();
  std::uint8_t seq = 0;
  std::size_t start = protocol::beginPacket(out);
  protocol::ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(protocol::Command::kStmtPrepare));
  w.str(sql);
  protocol::endPacket(out, start, seq);
  if (co_await channel_.flush()) {
    broken = true;
    co_return lost("while preparing a statement");
  }
  protocol::ResponseScanner scanner;
  scanner.start(protocol::ResponseKind::kPrepare, caps_);
  std::uint32_t id = 0;
  while (!scanner.done()) {
    auto pkt = co_await channel_.readPacket();
    if (!pkt) {
      broken = true;
      co_return lost("while preparing a statement");
    }
    if (scanner.packets() == 0) {
      if (!pkt->payload.empty() && pkt->payload[0] == protocol::kErrHeader) {
        auto err = protocol::decodeErr(pkt->payload);
        co_return Error::fromServer(err ? err->errorCode : 1105, err ? err->sqlState : "HY000",
                                    err ? err->message : "prepare failed");
      }
      auto ok = protocol::decodeStmtPrepareOk(pkt->payload);
      if (ok) id = ok->statementId;
    }
    if (scanner.onPacket(pkt->payload, static_cast<std::uint32_t>(pkt->payload.size())) ==
        protocol::ResponseScanner::Step::kMalformed) {
      broken = true;
      co_return Error::make(
          ErrorCode::kBackendProtocol,
          fmt::format("Backend '{}' sent a malformed prepare response", address_));
    }
  }
  co_return id;
}

asio::awaitable<Result<ServerGreeting>> probeBackend(asio::any_io_executor ex,
                                                     const catalog::Endpoint& backend,
                                                     std::chrono::milliseconds timeout) {
  auto socket = co_await openSocket(ex, backend, timeout);
  if (!socket) co_return socket.takeError();
  Channel ch(std::move(*socket), 1 << 20);
  ch.armDeadline(timeout);
  auto pkt = co_await ch.readPacket();
  ch.disarmDeadline();
  if (!pkt) {
    co_return Error::make(ErrorCode::kBackendUnreachable,
                          fmt::format("Backend '{}' sent no greeting", backend.toString()));
  }
  auto greeting = protocol::decodeHandshakeV10(pkt->payload);
  if (!greeting) {
    co_return Error::make(
        ErrorCode::kBackendProtocol,
        fmt::format("Backend '{}' sent an unsupported greeting", backend.toString()));
  }
  ch.stream().close();
  co_return ServerGreeting{greeting->serverVersion, greeting->capabilities, greeting->charset};
}

}  // namespace shardproxy::proxy
