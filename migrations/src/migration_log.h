// The migrations module's logger ("migrations").
#pragma once

#include "shardproxy/common/logging.h"

namespace shardproxy::migrations::log {

inline spdlog::logger* migrations() {
  static const std::shared_ptr<spdlog::logger> logger = moduleLogger("migrations");
  return logger.get();
}

}  // namespace shardproxy::migrations::log
