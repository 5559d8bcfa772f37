// Logging set-up: one spdlog logger per module ("proxy", "router", "catalog", "migrations").
// Place in the request flow: configured once at start-up, before any listener opens.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace shardproxy {

// level: trace|debug|info|warn|error|critical|off. json: one JSON object per line.
// Returns false (and leaves the defaults) for an unknown level name.
bool configureLogging(const std::string& level, bool json);

std::shared_ptr<spdlog::logger> moduleLogger(const std::string& module);

// Whether lines are JSON objects (--log-format json).
bool loggingJson();
// The slow-statement log (logger "slow"): its messages are key/value fields, written as
// `"key":value,...` members of the line's JSON object in JSON mode (appendJsonString quotes and
// escapes a value), as `key=value ...` otherwise.
std::shared_ptr<spdlog::logger> slowLogger();
void appendJsonString(std::string& out, std::string_view value);

}  // namespace shardproxy
