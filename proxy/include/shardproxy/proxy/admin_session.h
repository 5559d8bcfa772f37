// One connection on the admin port: handshake (admin accounts, separate from application users)
// → command loop where every COM_QUERY is an admin statement (docs/admin-sql.md).
// Place in the request flow: runs on the admin thread, where blocking SQLite calls are allowed
// (no application session runs there). After a change it publishes a new catalog snapshot that
// every application session picks up at its next statement.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "shardproxy/proxy/admin_executor.h"
#include "shardproxy/proxy/channel.h"

namespace shardproxy::proxy {

struct SharedState;

class AdminSession {
 public:
  AdminSession(SharedState& shared, tcp::socket socket);
  static asio::awaitable<void> run(std::unique_ptr<AdminSession> self);

 private:
  asio::awaitable<void> commandLoop();
  asio::awaitable<bool> onQuery(std::string_view sql, std::uint8_t seq);
  asio::awaitable<bool> sendOk(std::uint8_t seq, std::uint64_t affected, std::string_view info);
  asio::awaitable<bool> sendResultSet(const TextResultSet& rs, std::uint8_t seq);
  // An error packet, counted in /metrics (listener="admin").
  asio::awaitable<bool> sendError(const Error& error, std::uint8_t seq);

  SharedState& shared_;
  Channel client_;
  std::uint32_t id_;
  std::uint32_t caps_ = 0;
  std::string user_;
  std::string peerHost_;
};

}  // namespace shardproxy::proxy
