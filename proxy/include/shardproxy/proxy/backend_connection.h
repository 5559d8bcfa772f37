// The proxy's own async MySQL client: one logged-in connection to one backend.
// Place in the request flow: the pool creates these; a session borrows one, brings it to the
// session's state (schema, SET variables) and forwards commands through its Channel.
// Implements MySQL protocol "Connection Phase" as a client (native and caching_sha2 auth,
// auth switch, optional TLS, RSA key exchange for caching_sha2 full auth without TLS).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/proxy/channel.h"
#include "shardproxy/proxy/protocol/auth.h"
#include "shardproxy/proxy/protocol/constants.h"

namespace shardproxy::proxy {

// Capabilities that change what the backend sends or accepts, so a pooled connection can only
// serve clients that negotiated the same subset (the pool keys on it).
inline constexpr std::uint32_t kSessionCapabilities =
    protocol::cap::kFoundRows | protocol::cap::kIgnoreSpace | protocol::cap::kLocalFiles |
    protocol::cap::kMultiStatements | protocol::cap::kMultiResults |
    protocol::cap::kPsMultiResults | protocol::cap::kSessionTrack | protocol::cap::kDeprecateEof |
    protocol::cap::kInteractive | protocol::cap::kMariadbExtendedMetadata;

struct BackendLogin {
  std::string user;
  protocol::Credentials credentials;
  std::uint8_t charset = protocol::kCharsetUtf8mb4GeneralCi;
  std::uint32_t sessionCaps = 0;  // subset of kSessionCapabilities the client negotiated
};

struct BackendOptions {
  std::chrono::milliseconds connectTimeout{5000};
  std::size_t maxPacket = 1024 * 1024 * 1024;
  asio::ssl::context* tls = nullptr;  // TLS to the backend when set and the server offers it
};

class BackendConnection {
 public:
  static asio::awaitable<Result<std::unique_ptr<BackendConnection>>> connect(
      asio::any_io_executor ex, const catalog::Endpoint& backend, const BackendLogin& login,
      const BackendOptions& options);

  Channel& channel() { return channel_; }
  // The server closed the connection (or sent something unasked) while it sat idle: one
  // non-blocking peek, no round trip. Only meaningful between commands.
  bool peerClosed();
  std::uint32_t capabilities() const { return caps_; }
  // Column definitions carry MariaDB's extended metadata block (protocol::ColumnDefinition).
  bool extendedMetadata() const { return (caps_ & protocol::cap::kMariadbExtendedMetadata) != 0; }
  const std::string& address() const { return address_; }
  const std::string& serverVersion() const { return serverVersion_; }
  std::uint32_t threadId() const { return threadId_; }
  std::uint64_t serial() const { return serial_; }
  // The serial the next connection to log in gets: every connection below it logged in before.
  static std::uint64_t nextSerial();
  const BackendLogin& login() const { return login_; }

  // Sends one command and reads its whole response without relaying it (state restore, pool
  // checks). Result sets are read and dropped. An ERR from the server becomes an Error carrying
  // its errno/SQLSTATE; a broken socket becomes kBackendLost.
  // `out` (optional) receives the first column of the first row (nullopt for NULL or no row)
  // and the final status flags.
  struct CommandOutput {
    std::optional<std::string> firstValue;
    std::uint16_t status = 0;
    bool sawStatus = false;
    std::uint16_t warnings = 0;  // of an OK answer
    // When set: the rows of the answer's result set, each column's type and character set, and
    // every value row by row (nullopt for NULL). More rows than `limit` is an error (the rest
    // are read and dropped).
    struct Capture {
      std::vector<std::pair<std::uint8_t, std::uint16_t>> columns;  // field type, charset
      std::vector<std::string> definitions;            // each column definition packet's payload
      std::vector<std::optional<std::string>> values;  // row-major
      std::size_t limit = 0;
      bool overflow = false;
      std::size_t defsSeen = 0;  // column definitions of the current answer (set per command)
    };
    Capture* capture = nullptr;
  };
  asio::awaitable<Status> command(protocol::Command cmd, std::string_view arg,
                                  CommandOutput* out = nullptr);
  // Reading a text result set a few rows at a time (a join's outer side): the query was sent;
  // each call appends up to `max` rows to `rows` (columns and definitions at the first call) and
  // sets `done` at the end of the result. An ERR answer is the returned error (done too).
  struct RowStream {
    bool started = false;
    bool done = false;
    std::size_t defsLeft = 0;
    bool eofAfterDefs = false;
  };
  asio::awaitable<Status> streamRows(RowStream& stream, CommandOutput::Capture& rows,
                                     std::size_t max);
  // Returns the connection to a fresh session for the next borrower: COM_RESET_CONNECTION, or
  // COM_CHANGE_USER when the schema must be cleared too (reset keeps the current schema).
  asio::awaitable<Status> resetSession(bool clearSchema);
  // COM_STMT_PREPARE, metadata dropped; returns the backend's statement id.
  asio::awaitable<Result<std::uint32_t>> prepare(std::string_view sql);

  // Session-sync bookkeeping owned by the session that borrows the connection.
  std::uint64_t syncedVersion = 0;
  std::string schema;
  // `schema` after a COM_RESET_CONNECTION: the server kept some current database, which may since
  // have been dropped (a dropped current database leaves none): the next borrower sets its own.
  static constexpr std::string_view kSchemaUnknown{"\x01unknown"};
  bool broken = false;     // not safe to reuse (I/O error, abandoned mid-response)
  bool dirtyCaps = false;  // COM_SET_OPTION changed it: close instead of pooling
  std::chrono::steady_clock::time_point idleSince;

  BackendConnection(tcp::socket socket, std::size_t maxPacket, std::string address)
      : channel_(std::move(socket), maxPacket), address_(std::move(address)) {}

 private:
  asio::awaitable<Status> login(const BackendLogin& login, const BackendOptions& options);
  void captureRow(CommandOutput::Capture& c, const Packet& pkt, std::size_t index,
                  std::size_t firstRow);
  // Reads the server's answers after an authentication response until OK or ERR.
  asio::awaitable<Status> authExchange(std::uint8_t seq, std::string plugin, std::string nonce);
  Error lost(std::string_view what) const;

  Channel channel_;
  std::string address_;
  std::string serverVersion_;
  std::uint32_t caps_ = 0;
  std::uint32_t threadId_ = 0;
  std::uint64_t serial_ = 0;
  BackendLogin login_;
  std::string nonce_;
  std::string plugin_;
};

// Reads only the server greeting (no login): the proxy learns the version and capabilities it
// should present to clients.
struct ServerGreeting {
  std::string version;
  std::uint32_t capabilities = 0;
  std::uint8_t charset = 0;
};
asio::awaitable<Result<ServerGreeting>> probeBackend(asio::any_io_executor ex,
                                                     const catalog::Endpoint& backend,
                                                     std::chrono::milliseconds timeout);

}  // namespace shardproxy::proxy
