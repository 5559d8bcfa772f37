// The server side of the MySQL connection phase, shared by the application port and the admin
// port (MySQL protocol "Connection Phase": Initial Handshake, SSLRequest, HandshakeResponse41,
// Authentication Method Switch, caching_sha2_password fast and full authentication).
// Place in the request flow: the first thing a session does. It verifies the client against
// stored password hashes only, and returns the Credentials it learned, with which the proxy then
// logs in to backends as that user.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "shardproxy/proxy/channel.h"
#include "shardproxy/proxy/protocol/auth.h"
#include "shardproxy/proxy/protocol/messages.h"

namespace shardproxy::proxy {

class TlsMaterial;

// Stored hashes of an account: SHA1(SHA1(pw)) and SHA256(SHA256(pw)); both empty = no password.
struct AccountHashes {
  std::string nativeHash;
  std::string sha2Hash;
  static AccountHashes fromPassword(std::string_view password);
};
using AccountLookup = std::function<std::optional<AccountHashes>(const std::string& user)>;

// caching_sha2_password's server-side cache: users that completed a full authentication since
// start, with what that taught us (so a fast-path login can still log in to native backends).
class FastAuthCache {
 public:
  std::optional<protocol::Credentials> find(const std::string& user, const AccountHashes& current);
  void remember(const std::string& user, const protocol::Credentials& creds);

 private:
  std::mutex mutex_;
  std::map<std::string, protocol::Credentials> entries_;
};

struct ServerIdentity {
  std::string version;
  std::uint32_t capabilities = 0;
  std::uint8_t charset = 45;
  std::string authPlugin = protocol::kNativePasswordPlugin;
  TlsMaterial* tls = nullptr;
  FastAuthCache* cache = nullptr;
};

struct ConnectionPhase {
  protocol::HandshakeResponse41 response;
  std::uint32_t capabilities = 0;  // negotiated
  protocol::Credentials credentials;
  std::uint8_t nextSeq = 0;  // sequence id for the OK (or ERR) that ends the phase
};

// Greeting → (TLS) → response → authentication. On failure it has already answered the client
// (Bad handshake, Access denied) where that was possible, and returns std::nullopt.
asio::awaitable<std::optional<ConnectionPhase>> acceptConnection(Channel& channel,
                                                                 const ServerIdentity& identity,
                                                                 std::uint32_t connectionId,
                                                                 const AccountLookup& lookup,
                                                                 const std::string& peerHost);

// The authentication exchange alone: also used after COM_CHANGE_USER's auth switch.
asio::awaitable<std::optional<protocol::Credentials>> authenticateClient(
    Channel& channel, const ServerIdentity& identity, const std::string& user, std::string authData,
    std::string plugin, std::uint8_t& seq, const std::string& nonce, const AccountLookup& lookup,
    const std::string& peerHost, std::uint32_t connectionId);

asio::awaitable<bool> sendErrorPacket(Channel& channel, const Error& error, std::uint8_t seq);

}  // namespace shardproxy::proxy
