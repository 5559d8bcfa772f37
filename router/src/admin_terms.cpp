#include "admin_terms.h"

#include <algorithm>
#include <array>
#include <limits>

namespace shardproxy::router::admin {
namespace {

constexpr std::size_t kMaxHostBytes = 255;  // a DNS name's limit

bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool isHostChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
         c == '-' || c == '_';
}

// Counts the code points of well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF),
// or returns nullopt.
std::optional<std::size_t> utf8Length(std::string_view s) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++count) {
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = b < 0x80             ? 1
                    : (b & 0xE0) == 0xC0 ? 2
                    : (b & 0xF0) == 0xE0 ? 3
                    : (b & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (n == 0 || i + n > s.size()) return std::nullopt;
    std::uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr std::array<std::uint32_t, 5> kMin = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    i += n;
  }
  return count;
}

bool matchesAny(const Token& t, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return t.isWord(w); });
}

}  // namespace

std::optional<std::string> parseEndpoint(std::string_view text, catalog::Endpoint& out) {
  std::string_view host;
  std::string_view rest;
  if (text.starts_with('[')) {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "an IPv6 address needs its closing ']'";
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (host.empty() || host.find(':') == std::string_view::npos ||
        !std::all_of(host.begin(), host.end(),
                     [](char c) { return isHex(c) || c == ':' || c == '.'; })) {
      return "invalid IPv6 address";
    }
  } else {
    std::size_t colon = text.find(':');
    host = text.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
    if (rest.find(':', 1) != std::string_view::npos) {
      return "write IPv6 addresses in brackets, as '[::1]:3306'";
    }
    if (host.empty()) return "missing host";
    if (!std::all_of(host.begin(), host.end(), isHostChar)) return "invalid host name";
  }
  if (host.size() > kMaxHostBytes) return "host name longer than 255 bytes";
  if (!rest.starts_with(':') || rest.size() == 1) return "expected 'host:port'";
  std::string_view digits = rest.substr(1);
  std::uint32_t port = 0;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !parseUint32(digits, port) || port < 1 || port > 65535) {
    return "port must be a number from 1 to 65535";
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(port);
  return std::nullopt;
}

std::optional<std::string> nameProblem(std::string_view name, std::size_t maxChars) {
  if (name.empty()) return "empty name";
  if (name.find('\0') != std::string_view::npos) return "a name cannot contain a NUL character";
  auto chars = utf8Length(name);
  if (!chars) return "a name must be valid UTF-8";
  if (*chars > maxChars) return "name longer than " + std::to_string(maxChars) + " characters";
  if (name.back() == ' ') return "a name cannot end with a space";
  return std::nullopt;
}

bool parseUint32(std::string_view digits, std::uint32_t& out) {
  std::uint64_t v = 0;
  for (char c : digits) {
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > 0xFFFFFFFFull) return false;  // stop early: a 1 MiB run of digits costs nothing
  }
  out = static_cast<std::uint32_t>(v);
  return !digits.empty();
}

bool parsePositiveInt64(std::string_view digits, std::int64_t& out) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t v = 0;
  for (char c : digits) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (kMax - d) / 10) return false;
    v = v * 10 + d;
  }
  if (v == 0) return false;
  out = static_cast<std::int64_t>(v);
  return true;
}

std::optional<std::uint64_t> secondsToMs(std::string_view whole, std::string_view fraction) {
  std::uint32_t w = 0;
  if (!whole.empty() && !parseUint32(whole, w)) return std::nullopt;
  std::uint64_t ms = std::uint64_t{w} * 1000;
  std::uint64_t scale = 100;
  for (std::size_t i = 0; i < fraction.size() && i < 3; ++i, scale /= 10) {
    ms += static_cast<std::uint64_t>(fraction[i] - '0') * scale;
  }
  // The fourth decimal decides alone: the digits after it only add less than one of its units.
  if (fraction.size() > 3 && fraction[3] >= '5') ++ms;
  return ms;
}

bool isMysqlVerb(const Token& t) {
  return matchesAny(
      t, {"ALTER",    "ANALYZE",  "BACKUP",   "BEGIN",    "BINLOG",     "CACHE",     "CALL",
          "CHANGE",   "CHECK",    "CHECKSUM", "COMMIT",   "DEALLOCATE", "DELETE",    "DESC",
          "DESCRIBE", "DO",       "EXECUTE",  "EXPLAIN",  "FLUSH",      "GET",       "GRANT",
          "HANDLER",  "HELP",     "INSERT",   "INSTALL",  "KILL",       "LOAD",      "LOCK",
          "OPTIMIZE", "PREPARE",  "PURGE",    "RELEASE",  "RENAME",     "REPAIR",    "REPLACE",
          "RESET",    "RESIGNAL", "REVOKE",   "ROLLBACK", "SAVEPOINT",  "SELECT",    "SHUTDOWN",
          "SIGNAL",   "START",    "STOP",     "TABLE",    "TRUNCATE",   "UNINSTALL", "UNLOCK",
          "UPDATE",   "USE",      "VALUES",   "WITH",     "XA"});
}

bool isMysqlShowTarget(const Token& t) {
  return matchesAny(
      t, {"BINARY",  "BINLOG",    "CHARACTER", "CHARSET",  "COLLATION",  "COLUMNS",   "COUNT",
          "CREATE",  "DATABASES", "ENGINE",    "ENGINES",  "ERRORS",     "EVENTS",    "EXTENDED",
          "FIELDS",  "FULL",      "FUNCTION",  "GLOBAL",   "GRANTS",     "INDEX",     "INDEXES",
          "KEYS",    "MASTER",    "OPEN",      "PLUGINS",  "PRIVILEGES", "PROCEDURE", "PROCESSLIST",
          "PROFILE", "PROFILES",  "RELAYLOG",  "REPLICA",  "SCHEMAS",    "SESSION",   "SLAVE",
          "STATUS",  "STORAGE",   "TABLES",    "TRIGGERS", "VARIABLES",  "WARNINGS"});
}

bool isMysqlObjectType(const Token& t) {
  return matchesAny(t, {"AGGREGATE", "ALGORITHM",  "DATABASE",  "DEFINER", "EVENT",   "FULLTEXT",
                        "FUNCTION",  "INDEX",      "LOGFILE",   "OR",      "PACKAGE", "PROCEDURE",
                        "ROLE",      "SCHEMA",     "SEQUENCE",  "SERVER",  "SPATIAL", "SQL",
                        "TABLE",     "TABLESPACE", "TEMPORARY", "TRIGGER", "UNIQUE",  "VIEW"});
}

std::string upperText(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace shardproxy::router::admin
