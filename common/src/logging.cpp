#include "shardproxy/common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace shardproxy {
namespace {
std::mutex gMutex;
spdlog::level::level_enum gLevel = spdlog::level::info;
bool gJson = false;

// %j: the message with JSON string escaping, so a quote or newline in a log line (a client's
// user name, a backend error) cannot break the one-object-per-line format.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            const char esc[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
            dest.append(esc, esc + sizeof esc);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

void applyFormat(spdlog::logger& logger) {
  if (gJson && logger.name() == "slow") {
    // The message is already JSON members (slowLogger()).
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","module":"slow",%v})");
    logger.set_formatter(std::move(formatter));
  } else if (gJson) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","module":"%n","thread":%t,"msg":"%j"})");
    logger.set_formatter(std::move(formatter));
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

bool loggingJson() {
  std::lock_guard lock(gMutex);
  return gJson;
}

std::shared_ptr<spdlog::logger> slowLogger() {
  return moduleLogger("slow");
}

void appendJsonString(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\u00";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

std::shared_ptr<spdlog::logger> moduleLogger(const std::string& module) {
  std::lock_guard lock(gMutex);
  if (auto existing = spdlog::get(module)) return existing;
  auto logger = spdlog::stderr_color_mt(module);
  applyFormat(*logger);
  return logger;
}

}  // namespace shardproxy
