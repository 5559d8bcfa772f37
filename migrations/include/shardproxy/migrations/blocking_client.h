// A small RAII wrapper over libmariadb (Connector/C) for the migration workers, which run on their
// own threads: bulk copy, chunk checksums and binlog streaming (mariadb_rpl_*) in the resharding
// issue. Never used on the proxy's event loops: every call here blocks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "shardproxy/common/errors.h"

struct st_mysql;

namespace shardproxy::migrations {

struct Endpoint {
  std::string host;
  std::uint16_t port = 3306;
  std::string user;
  std::string password;
  std::string database;
};

class BlockingClient {
 public:
  BlockingClient();
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  Status connect(const Endpoint& endpoint);
  Status execute(const std::string& sql);
  // First column of the first row, or std::nullopt for no row / NULL.
  Result<std::optional<std::string>> scalar(const std::string& sql);

 private:
  Error lastError(const std::string& context) const;
  st_mysql* mysql_;
};

}  // namespace shardproxy::migrations
