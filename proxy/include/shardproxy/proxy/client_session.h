// One client connection: handshake → authentication → command loop, as one coroutine.
// Place in the request flow: reads each command packet, asks the router where it goes
// (router::route), makes sure a backend connection carries the session's state, forwards the
// command and relays the answer (relay.h). Tracks schema, SET variables, transaction status and
// prepared statements so a replacement backend connection can be brought to the same state.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "shardproxy/proxy/backend_connection.h"
#include "shardproxy/proxy/channel.h"
#include "shardproxy/proxy/protocol/auth.h"
#include "shardproxy/proxy/relay.h"
#include "shardproxy/router/session_state.h"

namespace shardproxy::proxy {

struct ThreadContext;

class ClientSession {
 public:
  ClientSession(ThreadContext& ctx, tcp::socket socket);
  ~ClientSession();

  // The session's whole life; owns itself.
  static asio::awaitable<void> run(std::unique_ptr<ClientSession> self);

  std::uint32_t id() const { return id_; }
  // Shutdown: close now if waiting for a command, else after the running one.
  void requestClose();

 private:
  struct PreparedStatement {
    std::string sql;
    std::uint16_t params = 0;
    std::uint16_t columns = 0;
    std::uint32_t backendId = 0;
    std::uint64_t backendSerial = 0;  // which backend connection backendId belongs to
    protocol::Bytes paramTypes;       // from the last execute that sent them
  };

  asio::awaitable<bool> handshake();
  void onAuthenticated(const std::string& user, protocol::Credentials credentials);
  asio::awaitable<void> commandLoop();
  asio::awaitable<bool> dispatch(const Packet& pkt);

  asio::awaitable<bool> onQuery(const Packet& pkt);
  asio::awaitable<bool> onKill(const router::KillRequest& kill, std::uint8_t seq);
  asio::awaitable<bool> onInitDb(const Packet& pkt);
  asio::awaitable<bool> onSimpleForward(const Packet& pkt, protocol::ResponseKind kind);
  asio::awaitable<bool> onSetOption(const Packet& pkt);
  asio::awaitable<bool> onResetConnection(const Packet& pkt);
  asio::awaitable<bool> onChangeUser(const Packet& pkt);
  asio::awaitable<bool> onStmtPrepare(const Packet& pkt);
  asio::awaitable<bool> onStmtExecute(const Packet& pkt);
  asio::awaitable<bool> onStmtWithId(const Packet& pkt);  // FETCH, RESET, SEND_LONG_DATA, CLOSE

  // Routes `sql` against the current catalog snapshot (kept in snapshot_ for the statement).
  Result<router::RouteDecision> routeFor(std::string_view sql);
  // Returns a backend connection in the session's state, for the routing decision.
  asio::awaitable<Result<BackendConnection*>> backendFor(const catalog::Endpoint& backend);
  // routeFor + backendFor.
  asio::awaitable<Result<BackendConnection*>> backendForStatement(std::string_view sql);
  asio::awaitable<Status> syncState(BackendConnection& conn);
  // The session's backend connection when it already serves `route` in the session's state:
  // the common case, decided without a coroutine call.
  BackendConnection* readyBackend(const router::RouteDecision& route);
  void publishBackend();  // for KILL from other sessions
  asio::awaitable<Result<PreparedStatement*>> preparedOn(std::uint32_t clientId,
                                                         BackendConnection& conn);
  asio::awaitable<bool> forward(BackendConnection& conn, const Packet& pkt);
  // Relays, then handles the outcome; returns false when the client connection must close.
  asio::awaitable<bool> relay(BackendConnection& conn, const Packet& pkt,
                              const RelayOptions& options, RelayResult* out = nullptr);
  void dropBackend();
  void releaseBackend();

  asio::awaitable<bool> sendOk(std::uint8_t seq, std::uint16_t extraStatus = 0);
  asio::awaitable<bool> sendError(const Error& error, std::uint8_t seq);
  std::uint16_t statusFlags() const;
  std::string peer() const;

  ThreadContext& ctx_;
  Channel client_;
  std::uint32_t id_;
  std::uint32_t caps_ = 0;
  std::string user_;
  protocol::Credentials credentials_;  // to log in to backends as this user
  std::string peerHost_;
  router::SessionState state_;
  std::vector<router::SessionChange> changes_;
  std::unique_ptr<BackendConnection> backend_;
  catalog::Endpoint backendAddress_;
  catalog::SnapshotPtr snapshot_;
  std::optional<router::RouteDecision> lastRoute_;  // points into snapshot_
  std::uint64_t routeCatalogVersion_ = 0;
  std::uint64_t routeStateVersion_ = 0;
  bool routeHadBackend_ = false;
  std::unordered_map<std::uint32_t, PreparedStatement> statements_;
  std::uint32_t nextStatementId_ = 1;
  bool registered_ = false;
  bool idle_ = false;
  bool closeRequested_ = false;
};

}  // namespace shardproxy::proxy
