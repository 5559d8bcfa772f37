#include "shardproxy/proxy/authenticator.h"

#include <fmt/format.h>

#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/tls.h"

namespace shardproxy::proxy {

namespace cap = protocol::cap;

namespace {
constexpr std::chrono::milliseconds kHandshakeTimeout{10000};

asio::awaitable<bool> sendBytes(Channel& channel, std::string_view bytes, std::uint8_t& seq) {
  auto& out = channel.out();
  std::size_t start = protocol::beginPacket(out);
  protocol::ByteWriter(out).str(bytes);
  protocol::endPacket(out, start, seq);
  co_return !(co_await channel.flush());
}

asio::awaitable<std::optional<std::string>> readAuthData(Channel& channel, std::uint8_t& seq) {
  auto pkt = co_await channel.readPacket();
  if (!pkt) co_return std::nullopt;
  seq = static_cast<std::uint8_t>(pkt->lastSeq + 1);
  co_return std::string(protocol::asString(pkt->payload));
}
}  // namespace

AccountHashes AccountHashes::fromPassword(std::string_view password) {
  if (password.empty()) return {};
  return {protocol::nativeStoredHash(password), protocol::sha256(protocol::sha256(password))};
}

std::optional<protocol::Credentials> FastAuthCache::find(const std::string& user,
                                                         const AccountHashes& current) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(user);
  if (it == entries_.end()) return std::nullopt;
  // A changed password invalidates the entry.
  if (protocol::sha256(it->second.sha2Stage1) != current.sha2Hash) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void FastAuthCache::remember(const std::string& user, const protocol::Credentials& creds) {
  std::lock_guard lock(mutex_);
  protocol::Credentials kept = creds;
  kept.cleartext.reset();  // the stage1 hashes suffice for backend logins
  entries_[user] = std::move(kept);
}

asio::awaitable<bool> sendErrorPacket(Channel& channel, const Error& error, std::uint8_t seq) {
  auto& out = channel.out();
  std::size_t start = protocol::beginPacket(out);
  protocol::encode(protocol::ErrPacket{error.mysqlErrno, error.sqlState, error.message}, out);
  protocol::endPacket(out, start, seq);
  co_return !(co_await channel.flush());
}

asio::awaitable<std::optional<ConnectionPhase>> acceptConnection(Channel& channel,
                                                                 const ServerIdentity& identity,
                                                                 std::uint32_t connectionId,
                                                                 const AccountLookup& lookup,
                                                                 const std::string& peerHost) {
  const std::string nonce = protocol::makeScramble();
  channel.armDeadline(kHandshakeTimeout);
  std::uint8_t seq = 0;
  {
    protocol::HandshakeV10 hello;
    hello.serverVersion = identity.version;
    hello.connectionId = connectionId;
    hello.authPluginData = nonce;
    hello.capabilities = identity.capabilities;
    hello.charset = identity.charset;
    hello.statusFlags = protocol::status::kAutocommit;
    hello.authPluginName = identity.authPlugin;
    auto& out = channel.out();
    std::size_t start = protocol::beginPacket(out);
    protocol::encode(hello, out);
    protocol::endPacket(out, start, seq);
    if (co_await channel.flush()) co_return std::nullopt;
  }
  auto pkt = co_await channel.readPacketNoReadAhead();
  if (!pkt) co_return std::nullopt;
  seq = static_cast<std::uint8_t>(pkt->lastSeq + 1);
  if (protocol::isSslRequest(pkt->payload)) {
    if (!(identity.capabilities & cap::kSsl) || identity.tls == nullptr) co_return std::nullopt;
    if (co_await channel.stream().handshakeTls(identity.tls->serverContext(),
                                               asio::ssl::stream_base::server)) {
      co_return std::nullopt;
    }
    pkt = co_await channel.readPacket();
    if (!pkt) co_return std::nullopt;
    seq = static_cast<std::uint8_t>(pkt->lastSeq + 1);
  }
  auto resp = protocol::decodeHandshakeResponse41(pkt->payload);
  if (!resp) {
    Error err = Error::make(ErrorCode::kHandshakeFailed, std::string("Bad handshake"));
    co_await sendErrorPacket(channel, err, seq);
    co_return std::nullopt;
  }
  std::string plugin = (resp->capabilities & cap::kPluginAuth) && !resp->authPluginName.empty()
                           ? resp->authPluginName
                           : std::string(protocol::kNativePasswordPlugin);
  auto creds = co_await authenticateClient(channel, identity, resp->username, resp->authResponse,
                                           plugin, seq, nonce, lookup, peerHost, connectionId);
  if (!creds) co_return std::nullopt;
  channel.disarmDeadline();
  ConnectionPhase phase;
  phase.capabilities = resp->capabilities & identity.capabilities;
  phase.response = std::move(*resp);
  phase.credentials = std::move(*creds);
  phase.nextSeq = seq;
  co_return phase;
}

asio::awaitable<std::optional<protocol::Credentials>> authenticateClient(
    Channel& channel, const ServerIdentity& identity, const std::string& user, std::string authData,
    std::string plugin, std::uint8_t& seq, const std::string& nonce, const AccountLookup& lookup,
    const std::string& peerHost, std::uint32_t connectionId) {
  LogFields fields;
  fields.conn = connectionId;
  fields.user = user;
  fields.host = peerHost;
  if (plugin != protocol::kNativePasswordPlugin && plugin != protocol::kCachingSha2Plugin) {
    plugin = identity.authPlugin;  // an unknown plugin: switch the client to ours
    auto& out = channel.out();
    std::size_t start = protocol::beginPacket(out);
    protocol::encode(protocol::AuthSwitchRequest{plugin, nonce}, out);
    protocol::endPacket(out, start, seq);
    if (co_await channel.flush()) co_return std::nullopt;
    auto data = co_await readAuthData(channel, seq);
    if (!data) co_return std::nullopt;
    authData = std::move(*data);
  }
  std::optional<AccountHashes> account = lookup(user);
  const bool usedPassword = !authData.empty();
  auto deny = [&]() -> asio::awaitable<std::optional<protocol::Credentials>> {
    std::string msg = fmt::format("Access denied for user '{}'@'{}' (using password: {})", user,
                                  peerHost, usedPassword ? "YES" : "NO");
    Error err = Error::make(ErrorCode::kAccessDenied, std::move(msg));
    co_await sendErrorPacket(channel, err, seq);
    fields.error = err.mysqlErrno;
    logWith(*moduleLogger("proxy"), spdlog::level::info, fields, "access denied");
    co_return std::nullopt;
  };
  if (!account) co_return co_await deny();
  if (account->nativeHash.empty()) {
    // No password: the client must not send one either.
    if (!authData.empty()) co_return co_await deny();
    protocol::Credentials creds;
    creds.emptyPassword = true;
    creds.cleartext = std::string();
    co_return creds;
  }
  if (plugin == protocol::kNativePasswordPlugin) {
    auto stage1 = protocol::verifyNativeStage1(authData, nonce, account->nativeHash);
    if (!stage1) co_return co_await deny();
    protocol::Credentials creds;
    creds.nativeStage1 = *stage1;
    co_return creds;
  }
  // caching_sha2_password: the fast path needs a matching scramble and a cache entry from an
  // earlier full authentication; otherwise full authentication (cleartext over TLS, RSA without).
  auto stage1 = protocol::verifyCachingSha2Stage1(authData, nonce, account->sha2Hash);
  if (stage1 && identity.cache != nullptr) {
    if (auto cached = identity.cache->find(user, *account)) {
      std::string fastOk{static_cast<char>(protocol::kAuthMoreDataHeader),
                         static_cast<char>(protocol::kCachingSha2FastAuthOk)};
      if (!co_await sendBytes(channel, fastOk, seq)) co_return std::nullopt;
      logWith(*moduleLogger("proxy"), spdlog::level::debug, fields, "caching_sha2 fast path");
      co_return *cached;
    }
  }
  std::string fullAuth{static_cast<char>(protocol::kAuthMoreDataHeader),
                       static_cast<char>(protocol::kCachingSha2FullAuth)};
  if (!co_await sendBytes(channel, fullAuth, seq)) co_return std::nullopt;
  auto reply = co_await readAuthData(channel, seq);
  if (!reply) co_return std::nullopt;
  std::string password;
  if (channel.stream().isTls()) {
    password = *reply;
  } else {
    if (reply->size() != 1 || (*reply)[0] != protocol::kCachingSha2RequestPublicKey ||
        identity.tls == nullptr || identity.tls->publicKeyPem().empty()) {
      Error err = Error::make(ErrorCode::kSslRequired,
                              std::string("Authentication requires secure connection."));
      co_await sendErrorPacket(channel, err, seq);
      co_return std::nullopt;
    }
    std::string keyPacket(1, static_cast<char>(protocol::kAuthMoreDataHeader));
    keyPacket += identity.tls->publicKeyPem();
    if (!co_await sendBytes(channel, keyPacket, seq)) co_return std::nullopt;
    auto cipher = co_await readAuthData(channel, seq);
    if (!cipher) co_return std::nullopt;
    auto plain = identity.tls->decrypt(*cipher);
    if (!plain) co_return co_await deny();
    for (std::size_t i = 0; i < plain->size(); ++i) {
      (*plain)[i] = static_cast<char>((*plain)[i] ^ nonce[i % nonce.size()]);
    }
    password = std::move(*plain);
  }
  if (!password.empty() && password.back() == '\0') password.pop_back();
  if (!protocol::secureEquals(protocol::sha256(protocol::sha256(password)), account->sha2Hash)) {
    co_return co_await deny();
  }
  protocol::Credentials creds = protocol::credentialsFromPassword(password);
  if (identity.cache != nullptr) identity.cache->remember(user, creds);
  logWith(*moduleLogger("proxy"), spdlog::level::debug, fields,
          "caching_sha2 full authentication ({})", channel.stream().isTls() ? "TLS" : "RSA");
  co_return creds;
}

}  // namespace shardproxy::proxy
