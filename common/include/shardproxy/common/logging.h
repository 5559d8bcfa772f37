// Logging set-up: one spdlog logger per module ("proxy", "router", "catalog", "migrations").
// Place in the request flow: configured once at start-up, before any listener opens.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace shardproxy {

// level: trace|debug|info|warn|error|critical|off. json: one JSON object per line.
// Returns false (and leaves the defaults) for an unknown level name.
bool configureLogging(const std::string& level, bool json);

std::shared_ptr<spdlog::logger> moduleLogger(const std::string& module);

}  // namespace shardproxy
