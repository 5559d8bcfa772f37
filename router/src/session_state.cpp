#include "shardproxy/router/session_state.h"

#include <algorithm>
#include <cctype>

namespace shardproxy::router {
namespace {

// A tiny MySQL lexer: enough to find statement boundaries and the shape of USE and SET.
// The full parser of the router issue will replace it.
struct Token {
  enum class Kind : std::uint8_t { kEnd, kWord, kQuoted, kString, kNumber, kSymbol, kVariable };
  Kind kind = Kind::kEnd;
  std::string_view text;
  std::size_t begin = 0;
  std::size_t end = 0;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Token next() {
    skipSpaceAndComments();
    Token t;
    t.begin = pos_;
    if (pos_ >= s_.size()) {
      t.begin = t.end = s_.size();
      return t;
    }
    char c = s_[pos_];
    if (c == '\'' || c == '"') {
      t.kind = Token::Kind::kString;
      skipQuoted(c);
    } else if (c == '`') {
      t.kind = Token::Kind::kQuoted;
      skipQuoted('`');
    } else if (c == '@') {
      t.kind = Token::Kind::kVariable;
      ++pos_;
      if (pos_ < s_.size() && s_[pos_] == '@') ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '`' || s_[pos_] == '\'' || s_[pos_] == '"')) {
        skipQuoted(s_[pos_]);
      }
      while (pos_ < s_.size() && (isWordChar(s_[pos_]) || s_[pos_] == '.'))
        ++pos_;
    } else if (isWordChar(c)) {
      t.kind =
          std::isdigit(static_cast<unsigned char>(c)) ? Token::Kind::kNumber : Token::Kind::kWord;
      while (pos_ < s_.size() && isWordChar(s_[pos_]))
        ++pos_;
    } else {
      t.kind = Token::Kind::kSymbol;
      ++pos_;
      if (c == ':' && pos_ < s_.size() && s_[pos_] == '=') ++pos_;
    }
    t.end = pos_;
    t.text = s_.substr(t.begin, t.end - t.begin);
    return t;
  }

 private:
  static bool isWordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
           static_cast<unsigned char>(c) >= 0x80;
  }
  void skipQuoted(char q) {
    ++pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '\\' && q != '`') {
        if (pos_ < s_.size()) ++pos_;
      } else if (c == q) {
        if (pos_ < s_.size() && s_[pos_] == q) {
          ++pos_;  // doubled quote
        } else {
          return;
        }
      }
    }
  }
  void skipSpaceAndComments() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '#' || (c == '-' && s_.substr(pos_, 2) == "--" &&
                              (pos_ + 2 >= s_.size() ||
                               std::isspace(static_cast<unsigned char>(s_[pos_ + 2]))))) {
        while (pos_ < s_.size() && s_[pos_] != '\n')
          ++pos_;
      } else if (s_.substr(pos_, 3) == "/*!" || s_.substr(pos_, 3) == "/*M") {
        // Version comment: its body is executed by the server, so lex it as code.
        pos_ += 3;
        if (pos_ < s_.size() && s_[pos_ - 1] == 'M' && s_[pos_] == '!') ++pos_;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_])))
          ++pos_;
        ++openVersionComments_;
      } else if (s_.substr(pos_, 2) == "/*") {
        auto close = s_.find("*/", pos_ + 2);
        pos_ = close == std::string_view::npos ? s_.size() : close + 2;
      } else if (openVersionComments_ > 0 && s_.substr(pos_, 2) == "*/") {
        --openVersionComments_;
        pos_ += 2;
      } else {
        return;
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int openVersionComments_ = 0;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string unquoteIdentifier(std::string_view s) {
  if (s.size() >= 2 && s.front() == '`' && s.back() == '`') {
    std::string out;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
      out.push_back(s[i]);
      if (s[i] == '`' && s[i + 1] == '`') ++i;
    }
    return out;
  }
  return std::string(s);
}

// Collects the tokens of one statement (up to a top-level ';').
std::vector<Token> statementTokens(Lexer& lex, bool& more) {
  std::vector<Token> out;
  more = false;
  while (true) {
    Token t = lex.next();
    if (t.kind == Token::Kind::kEnd) return out;
    if (t.kind == Token::Kind::kSymbol && t.text == ";") {
      more = true;
      return out;
    }
    out.push_back(t);
  }
}

void analyzeSet(std::string_view sql, const std::vector<Token>& toks,
                std::vector<SessionChange>& out) {
  // SET item (',' item)*. Split items at top-level commas.
  std::size_t i = 1;
  if (i < toks.size() && (iequals(toks[i].text, "STATEMENT") || iequals(toks[i].text, "PASSWORD") ||
                          iequals(toks[i].text, "ROLE") || iequals(toks[i].text, "DEFAULT"))) {
    return;  // SET STATEMENT ... FOR, SET PASSWORD, SET ROLE: no lasting session variable here
  }
  while (i < toks.size()) {
    std::size_t start = i;
    int depth = 0;
    std::size_t j = i;
    for (; j < toks.size(); ++j) {
      const auto& t = toks[j];
      if (t.kind == Token::Kind::kSymbol) {
        if (t.text == "(") ++depth;
        if (t.text == ")") --depth;
        if (t.text == "," && depth == 0) break;
      }
    }
    std::size_t end = j;  // exclusive
    i = j + 1;
    if (start >= end) continue;
    std::string_view itemText =
        sql.substr(toks[start].begin, toks[end - 1].end - toks[start].begin);
    const Token& first = toks[start];
    if (first.kind == Token::Kind::kWord) {
      if (iequals(first.text, "GLOBAL") || iequals(first.text, "PERSIST") ||
          iequals(first.text, "PERSIST_ONLY")) {
        continue;
      }
      if (iequals(first.text, "NAMES") || iequals(first.text, "CHARSET") ||
          (iequals(first.text, "CHARACTER") && start + 1 < end &&
           iequals(toks[start + 1].text, "SET"))) {
        out.push_back({SessionChange::Type::kSetNames, "names", std::string(itemText)});
        continue;
      }
      std::size_t nameIdx = start;
      if (iequals(first.text, "SESSION") || iequals(first.text, "LOCAL")) nameIdx = start + 1;
      if (nameIdx >= end) continue;
      if (iequals(toks[nameIdx].text, "TRANSACTION")) {
        if (nameIdx != start) {
          out.push_back({SessionChange::Type::kSetSession, "transaction", std::string(itemText)});
        }
        continue;  // SET TRANSACTION without SESSION affects only the next transaction
      }
      std::string name = lower(toks[nameIdx].text);
      std::string_view valueText =
          nameIdx + 1 < end ? sql.substr(toks[nameIdx].end, toks[end - 1].end - toks[nameIdx].end)
                            : std::string_view{};
      out.push_back({SessionChange::Type::kSetSession, name,
                     "@@session." + std::string(toks[nameIdx].text) + std::string(valueText)});
      continue;
    }
    if (first.kind == Token::Kind::kVariable) {
      std::string_view var = first.text;
      if (var.starts_with("@@")) {
        std::string_view rest = var.substr(2);
        std::string scope;
        auto dot = rest.find('.');
        if (dot != std::string_view::npos) {
          scope = lower(rest.substr(0, dot));
          rest = rest.substr(dot + 1);
        }
        if (scope == "global" || scope == "persist" || scope == "persist_only") continue;
        std::string_view valueText = sql.substr(first.end, toks[end - 1].end - first.end);
        out.push_back({SessionChange::Type::kSetSession, lower(rest),
                       "@@session." + std::string(rest) + std::string(valueText)});
      } else {
        out.push_back({SessionChange::Type::kSetUserVariable, lower(var), std::string(itemText)});
      }
    }
  }
}

}  // namespace

void analyzeSession(std::string_view sql, std::vector<SessionChange>& out) {
  Lexer lex(sql);
  bool more = true;
  while (more) {
    std::vector<Token> toks = statementTokens(lex, more);
    if (toks.empty() || toks[0].kind != Token::Kind::kWord) continue;
    if (iequals(toks[0].text, "USE") && toks.size() >= 2) {
      out.push_back({SessionChange::Type::kUse, unquoteIdentifier(toks[1].text), {}});
    } else if (iequals(toks[0].text, "SET")) {
      analyzeSet(sql, toks, out);
    }
  }
}

void SessionState::setSchema(std::string_view s) {
  if (schema == s) return;
  schema = s;
  ++version;
}

void SessionState::apply(const SessionChange& change) {
  if (change.type == SessionChange::Type::kUse) {
    setSchema(change.name);
    return;
  }
  if (change.name == "autocommit") {
    std::string v = lower(change.value);
    auto eq = v.find('=');
    std::string_view val =
        eq == std::string::npos ? std::string_view{} : std::string_view(v).substr(eq + 1);
    while (!val.empty() && std::isspace(static_cast<unsigned char>(val.front())))
      val.remove_prefix(1);
    autocommit = !(val.starts_with("0") || val.starts_with("off") || val.starts_with("false") ||
                   val.starts_with("'off'"));
  }
  ++version;
  for (auto& [name, value] : assignments) {
    if (name == change.name) {
      value = change.value;
      return;
    }
  }
  assignments.emplace_back(change.name, change.value);
}

namespace {

// The collation ids clients send in the handshake most, and MariaDB 10.11's default collation of
// the character sets they name (utf8 is utf8mb3 there).
std::string_view collationOfId(std::uint8_t id) {
  switch (id) {
    case 8:
      return "latin1_swedish_ci";
    case 33:
      return "utf8mb3_general_ci";
    case 45:
      return "utf8mb4_general_ci";
    case 46:
      return "utf8mb4_bin";
    case 47:
      return "latin1_bin";
    case 48:
      return "latin1_general_ci";
    case 63:
      return "binary";
    case 83:
      return "utf8mb3_bin";
    case 192:
      return "utf8mb3_unicode_ci";
    case 224:
      return "utf8mb4_unicode_ci";
    default:
      return {};
  }
}

std::string defaultCollationOf(std::string_view charset) {
  if (charset == "utf8mb4") return "utf8mb4_general_ci";
  if (charset == "utf8" || charset == "utf8mb3") return "utf8mb3_general_ci";
  if (charset == "latin1") return "latin1_swedish_ci";
  if (charset == "ascii") return "ascii_general_ci";
  if (charset == "binary") return "binary";
  return {};
}

// The words of an assignment's text, unquoted and lower-cased, `=` and `@@session.` dropped.
std::vector<std::string> wordsOf(std::string_view text) {
  std::vector<std::string> out;
  std::string w;
  auto flush = [&] {
    if (!w.empty()) out.push_back(lower(w));
    w.clear();
  };
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '=' || c == '\'' || c == '"' ||
        c == '`') {
      flush();
    } else {
      w.push_back(c);
    }
  }
  flush();
  for (auto& x : out) {
    for (std::string_view p : {"@@session.", "@@local.", "@@"})
      if (x.starts_with(p)) x.erase(0, p.size());
    if (x.starts_with("utf8_")) x.replace(0, 5, "utf8mb3_");
  }
  return out;
}

}  // namespace

std::string SessionState::collationConnection() const {
  std::string c(collationOfId(charset));
  for (const auto& [name, value] : assignments) {
    std::vector<std::string> w = wordsOf(value);
    if (name == "names") {
      // NAMES cs [COLLATE coll] | NAMES DEFAULT | CHARACTER SET cs / CHARSET cs (the database's)
      if (w.size() >= 2 && w[0] == "names") {
        c = w[1] == "default"                    ? std::string(collationOfId(charset))
            : w.size() >= 4 && w[2] == "collate" ? w[3]
                                                 : defaultCollationOf(w[1]);
      } else {
        c.clear();
      }
    } else if (name == "collation_connection" && w.size() >= 2) {
      c = w.back();
    } else if (name == "character_set_connection" && w.size() >= 2) {
      c = defaultCollationOf(w.back());
    }
  }
  return c;
}

std::vector<std::string> SessionState::replayStatements() const {
  std::vector<std::string> out;
  std::string set;
  for (const auto& [name, value] : assignments) {
    if (name == "transaction") {
      out.push_back("SET " + value);
      continue;
    }
    set += set.empty() ? "SET " : ", ";
    set += value;
  }
  if (!set.empty()) out.insert(out.begin(), std::move(set));
  return out;
}

std::optional<KillRequest> parseKill(std::string_view sql) {
  Lexer lex(sql);
  bool more = false;
  std::vector<Token> toks = statementTokens(lex, more);
  if (more) {
    // Only a single statement (a trailing ';' is fine).
    Token next = lex.next();
    if (next.kind != Token::Kind::kEnd) return std::nullopt;
  }
  std::size_t i = 0;
  if (toks.empty() || !iequals(toks[0].text, "KILL")) return std::nullopt;
  ++i;
  KillRequest req;
  if (i < toks.size() && (iequals(toks[i].text, "HARD") || iequals(toks[i].text, "SOFT"))) ++i;
  if (i < toks.size() && iequals(toks[i].text, "CONNECTION")) {
    ++i;
  } else if (i < toks.size() && iequals(toks[i].text, "QUERY")) {
    req.queryOnly = true;
    ++i;
    if (i < toks.size() && iequals(toks[i].text, "ID")) return std::nullopt;  // KILL QUERY ID qid
  }
  if (i + 1 != toks.size() || toks[i].kind != Token::Kind::kNumber) return std::nullopt;
  std::uint64_t id = 0;
  for (char c : toks[i].text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    id = id * 10 + static_cast<std::uint64_t>(c - '0');
    if (id > UINT32_MAX) return std::nullopt;
  }
  req.id = id;
  return req;
}

}  // namespace shardproxy::router
