#include "shardproxy/common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace shardproxy {
namespace detail {
thread_local const LogFields* tLogFields = nullptr;
}  // namespace detail

namespace {
std::mutex gMutex;
spdlog::level::level_enum gLevel = spdlog::level::info;
bool gJson = false;

// `value` with JSON string escaping (no quotes) onto `out` (a std::string or spdlog's buffer).
template <typename Out>
void escapeJson(Out& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto put = [&](std::string_view s) { out.append(s.data(), s.data() + s.size()); };
  for (char c : value) {
    switch (c) {
      case '"':
        put("\\\"");
        break;
      case '\\':
        put("\\\\");
        break;
      case '\n':
        put("\\n");
        break;
      case '\r':
        put("\\r");
        break;
      case '\t':
        put("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
          put(std::string_view(esc, sizeof esc));
        } else {
          out.push_back(c);
        }
    }
  }
}

// %j: the message with JSON string escaping, so a quote or newline in a log line (a client's
// user name, a backend error) cannot break the one-object-per-line format.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    escapeJson(dest, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// %k: the line's LogFields (logWith), as JSON members each followed by a comma, or as
// `key=value ` words; nothing for a line without fields.
class FieldsFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit FieldsFlag(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const LogFields* f = detail::tLogFields;
    if (f == nullptr) return;
    if (f->conn != 0) number("conn", f->conn, dest);
    if (!f->user.empty()) text("user", f->user, dest);
    if (!f->host.empty()) text("host", f->host, dest);
    if (!f->keyspace.empty()) text("keyspace", f->keyspace, dest);
    if (!f->shard.empty()) text("shard", f->shard, dest);
    if (f->error != 0) number("error", f->error, dest);
    if (f->migration > 0) number("migration", static_cast<std::uint64_t>(f->migration), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<FieldsFlag>(json_);
  }

 private:
  void key(std::string_view name, spdlog::memory_buf_t& dest) const {
    if (json_) {
      dest.push_back('"');
      dest.append(name);
      dest.append(std::string_view("\":"));
    } else {
      dest.append(name);
      dest.push_back('=');
    }
  }
  void number(std::string_view name, std::uint64_t value, spdlog::memory_buf_t& dest) const {
    key(name, dest);
    fmt::format_to(std::back_inserter(dest), "{}", value);
    dest.push_back(json_ ? ',' : ' ');
  }
  void text(std::string_view name, std::string_view value, spdlog::memory_buf_t& dest) const {
    key(name, dest);
    if (json_) {
      dest.push_back('"');
      escapeJson(dest, value);
      dest.push_back('"');
      dest.push_back(',');
    } else {
      // A value with a space or '=' is quoted, so the words still split.
      const bool quote = value.find_first_of(" =\"") != std::string_view::npos;
      if (quote) dest.push_back('"');
      dest.append(value);
      if (quote) dest.push_back('"');
      dest.push_back(' ');
    }
  }
  bool json_;
};

void applyFormat(spdlog::logger& logger) {
  if (gJson && logger.name() == "slow") {
    // The message is already JSON members (slowLogger()).
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","module":"slow",%v})");
    logger.set_formatter(std::move(formatter));
  } else if (gJson) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('j');
    formatter->add_flag<FieldsFlag>('k', true);
    formatter->set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","module":"%n","thread":%t,%k"msg":"%j"})");
    logger.set_formatter(std::move(formatter));
  } else {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<FieldsFlag>('k', false);
    formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %k%v");
    logger.set_formatter(std::move(formatter));
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
  out += '"';
  escapeJson(out, value);
  out += '"';
}

bool LogThrottle::allow(std::int64_t nowMs) {
  if (windowStartMs_ < 0 || nowMs - windowStartMs_ >= 1000) {
    windowStartMs_ = nowMs;
    inWindow_ = 0;
  }
  if (inWindow_ >= perSecond_) {
    ++suppressed_;
    return false;
  }
  ++inWindow_;
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
