#include "shardproxy/common/logging.h"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace shardproxy {
namespace {
std::mutex gMutex;
spdlog::level::level_enum gLevel = spdlog::level::info;
bool gJson = false;

void applyFormat(spdlog::logger& logger) {
  if (gJson) {
    logger.set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","module":"%n","thread":%t,"msg":"%v"})",
        spdlog::pattern_time_type::utc);
  } else {
    logger.set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  logger.set_level(gLevel);
}
}  // namespace

bool configureLogging(const std::string& level, bool json) {
  std::lock_guard lock(gMutex);
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return false;
  gLevel = lvl;
  gJson = json;
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { applyFormat(*l); });
  return true;
}

std::shared_ptr<spdlog::logger> moduleLogger(const std::string& module) {
  std::lock_guard lock(gMutex);
  if (auto existing = spdlog::get(module)) return existing;
  auto logger = spdlog::stderr_color_mt(module);
  applyFormat(*logger);
  return logger;
}

}  // namespace shardproxy
