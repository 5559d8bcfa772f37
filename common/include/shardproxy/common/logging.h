// Logging set-up: one spdlog logger per module ("proxy", "router", "catalog", "migrations").
// Place in the request flow: configured once at start-up, before any listener opens.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
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

// What a line is about, as fields of its own: members of the JSON object in JSON mode
// (`"conn":12,"user":"app","keyspace":"shop","shard":"-80","error":1105`), `key=value` words
// before the message otherwise. Unset fields (0, empty) are left out. Views only: logging with
// fields allocates nothing beyond what the line itself needs.
struct LogFields {
  std::uint64_t conn = 0;  // client session (proxy connection id)
  std::string_view user;
  std::string_view host;  // the client's address
  std::string_view keyspace;
  std::string_view shard;
  std::uint16_t error = 0;     // MySQL error code
  std::int64_t migration = 0;  // a resharding migration's id (SHOW MIGRATIONS)
};

namespace detail {
// The fields of the line being formatted on this thread (sinks are synchronous).
extern thread_local const LogFields* tLogFields;
}  // namespace detail

// logger.log(level, ...) with `fields` on the line; nothing is formatted when the level is off.
template <typename... Args>
void logWith(spdlog::logger& logger, spdlog::level::level_enum level, const LogFields& fields,
             fmt::format_string<Args...> format, Args&&... args) {
  if (!logger.should_log(level)) return;
  detail::tLogFields = &fields;
  logger.log(level, format, std::forward<Args>(args)...);
  detail::tLogFields = nullptr;
}

// At most `perSecond` lines a second pass (per instance: keep one per thread); the rest are
// counted, and the next line that passes says how many were dropped (takeSuppressed()).
class LogThrottle {
 public:
  explicit LogThrottle(std::uint32_t perSecond = 20) : perSecond_(perSecond) {}
  bool allow(std::int64_t nowMs);
  std::uint64_t takeSuppressed() {
    auto n = suppressed_;
    suppressed_ = 0;
    return n;
  }

 private:
  std::uint32_t perSecond_;
  std::int64_t windowStartMs_ = -1;
  std::uint32_t inWindow_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace shardproxy
