// The migrations module's logger ("migrations").
#pragma once

#include "shardproxy/common/logging.h"

namespace shardproxy::migrations::log {

inline spdlog::logger* migrations() {
  static const std::shared_ptr<spdlog::logger> logger = moduleLogger("migrations");
  return logger.get();
}

// The fields of a migration's lines: its id, and its keyspace once known.
inline LogFields migrationFields(std::int64_t id, std::string_view keyspace) {
  LogFields f;
  f.migration = id;
  f.keyspace = keyspace;
  return f;
}

}  // namespace shardproxy::migrations::log
