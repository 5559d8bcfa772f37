// Start-up configuration: a JSON file (--config) and flags that mirror every key.
// Place in the request flow: read once in main(); the Server and its pools copy what they need.
// Unknown keys and wrong types are errors that name the key.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shardproxy/catalog/topology.h"
#include "shardproxy/common/errors.h"

namespace shardproxy::proxy {

struct PoolConfig {
  std::size_t maxConnections = 200;  // per backend, across all threads
  std::size_t minIdle = 0;           // per backend and login, kept warm once used
  std::chrono::milliseconds idleTimeout{60000};
  std::chrono::milliseconds acquireTimeout{5000};
  std::chrono::milliseconds connectTimeout{5000};
  std::chrono::milliseconds pingAfterIdle{2000};
};

struct Config {
  std::string listenHost = "127.0.0.1";
  std::uint16_t listenPort = 6033;
  unsigned threads = 0;  // 0: one per core
  std::string logLevel = "info";
  bool logJson = false;
  std::vector<catalog::Backend> backends;
  std::vector<catalog::User> users;
  std::optional<catalog::User> backendUser;
  std::size_t maxAllowedPacket = 64 * 1024 * 1024;
  std::string serverVersion;  // empty: the first backend's own version
  std::string authPlugin = "mysql_native_password";
  std::string tlsCert;  // PEM files; empty: a self-signed certificate is generated at start
  std::string tlsKey;
  bool backendTls = false;
  PoolConfig pool;
  std::chrono::milliseconds shutdownGrace{10000};
  std::size_t maxClientConnections = 10000;
};

// Applies a JSON document on top of `config`.
Status applyJsonConfig(const std::string& json, Config& config);
// "host:port" → (host, port); the error names `what`.
Result<std::pair<std::string, std::uint16_t>> parseHostPort(const std::string& text,
                                                            const std::string& what);
// "name:password" → User.
Result<catalog::User> parseUserSpec(const std::string& text, const std::string& what);
Status validate(const Config& config);

}  // namespace shardproxy::proxy
