// The topology the proxy serves: backends and application users.
// Place in the request flow: the proxy builds one immutable Topology at start-up (from the config
// today; from the SQLite catalog in the catalog issue) and every session reads it through a
// std::shared_ptr<const Topology>; the router reads it to pick a backend.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::catalog {

enum class BackendRole : std::uint8_t { kPrimary, kReplica };

struct Backend {
  std::string host;
  std::uint16_t port = 3306;
  BackendRole role = BackendRole::kPrimary;
  std::string address() const { return host + ":" + std::to_string(port); }
};

struct User {
  std::string name;
  std::string password;  // needed to log in to backends as this user (ProxySQL does the same)
};

struct Topology {
  std::vector<Backend> backends;
  std::vector<User> users;
  // A fixed login for every backend connection instead of the client's own credentials.
  std::optional<User> backendUser;

  const User* findUser(std::string_view name) const;
};

using TopologyPtr = std::shared_ptr<const Topology>;

}  // namespace shardproxy::catalog
