// MySQL lexical structure as described in the reference manual, sections 11.1 "Literal Values"
// (string escapes, doubled quotes), 11.2 "Schema Object Names" (unquoted identifier characters,
// backquotes) and 11.7 "Comments" (#, "-- ", /* */, /*! executable */).
#include "admin_lexer.h"

#include <algorithm>

namespace shardproxy::router::admin {
namespace {

constexpr std::size_t kNearBytes = 80;

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// MySQL allows U+0080..U+FFFF in unquoted identifiers; we take every non-ASCII byte and let the
// parser check that names are valid UTF-8.
bool isWordChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || isDigit(c) || u == '_' || u == '$' ||
         u >= 0x80;
}

char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// The escapes of section 11.1.1, Table 11.1; \% and \_ keep their backslash (they only matter in
// LIKE patterns), any other escaped character stands for itself.
void appendEscaped(std::string& out, char c) {
  static constexpr std::string_view kFrom = "0bnrtZ";
  static constexpr std::string_view kTo("\0\b\n\r\t\x1a", 6);
  if (std::size_t i = kFrom.find(c); i != std::string_view::npos) {
    out += kTo[i];
  } else {
    if (c == '%' || c == '_') out += '\\';
    out += c;
  }
}

}  // namespace

bool Token::isWord(std::string_view keyword) const {
  if (kind != Kind::kWord || raw.size() != keyword.size()) return false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (upper(raw[i]) != keyword[i]) return false;
  }
  return true;
}

Token Lexer::next() {
  Token t;
  if (!skipSpaceAndComments()) {
    t.kind = Token::Kind::kError;
    t.begin = commentError_;
    t.end = sql_.size();
    t.raw = sql_.substr(t.begin);
    t.value = "unterminated comment";
    pos_ = sql_.size();
    return t;
  }
  t.begin = pos_;
  if (pos_ >= sql_.size()) {
    t.begin = t.end = sql_.size();
    return t;
  }
  char c = sql_[pos_];
  if (c == '\'' || c == '"' || c == '`') {
    readQuoted(t, c);
  } else if (isWordChar(c)) {
    readWordOrNumber(t);
  } else if (static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f) {
    t.kind = Token::Kind::kSymbol;
    ++pos_;
  } else {
    t.kind = Token::Kind::kError;
    t.value = "unexpected control character";
    ++pos_;
  }
  t.end = pos_;
  t.raw = sql_.substr(t.begin, t.end - t.begin);
  return t;
}

bool Lexer::skipSpaceAndComments() {
  while (pos_ < sql_.size()) {
    char c = sql_[pos_];
    std::string_view rest = sql_.substr(pos_);
    if (isSpace(c)) {
      ++pos_;
    } else if (c == '#' ||
               (rest.starts_with("--") && (rest.size() == 2 || isSpace(rest[2]) ||
                                           static_cast<unsigned char>(rest[2]) < 0x20))) {
      std::size_t eol = sql_.find('\n', pos_);
      pos_ = eol == std::string_view::npos ? sql_.size() : eol + 1;
    } else if (!inExecutableComment_ && (rest.starts_with("/*!") || rest.starts_with("/*M!"))) {
      commentError_ = pos_;
      pos_ += rest[2] == '!' ? 3 : 4;
      while (pos_ < sql_.size() && isDigit(sql_[pos_]))
        ++pos_;  // the version gate
      inExecutableComment_ = true;
    } else if (inExecutableComment_ && rest.starts_with("*/")) {
      pos_ += 2;
      inExecutableComment_ = false;
    } else if (rest.starts_with("/*")) {
      std::size_t close = sql_.find("*/", pos_ + 2);
      if (close == std::string_view::npos) {
        commentError_ = pos_;
        return false;
      }
      pos_ = close + 2;
    } else {
      break;
    }
  }
  // An executable comment still open at the end of input is as unterminated as a plain one.
  return !(pos_ >= sql_.size() && inExecutableComment_);
}

void Lexer::readQuoted(Token& t, char quote) {
  t.kind = quote == '`' ? Token::Kind::kQuotedIdent : Token::Kind::kString;
  ++pos_;
  while (pos_ < sql_.size()) {
    char c = sql_[pos_];
    if (c == '\\' && quote != '`') {
      if (pos_ + 1 >= sql_.size()) break;
      appendEscaped(t.value, sql_[pos_ + 1]);
      pos_ += 2;
    } else if (c == quote) {
      if (pos_ + 1 < sql_.size() && sql_[pos_ + 1] == quote) {
        t.value += quote;
        pos_ += 2;
      } else {
        ++pos_;
        return;
      }
    } else {
      // Copy the run of ordinary characters at once.
      std::size_t stop = pos_;
      while (stop < sql_.size() && sql_[stop] != quote && (quote == '`' || sql_[stop] != '\\')) {
        ++stop;
      }
      t.value.append(sql_.substr(pos_, stop - pos_));
      pos_ = stop;
    }
  }
  t.kind = Token::Kind::kError;
  t.value = quote == '`' ? "unterminated quoted identifier" : "unterminated string";
  pos_ = sql_.size();
}

void Lexer::readWordOrNumber(Token& t) {
  bool allDigits = true;
  while (pos_ < sql_.size() && isWordChar(sql_[pos_])) {
    allDigits = allDigits && isDigit(sql_[pos_]);
    ++pos_;
  }
  // "Identifiers may begin with a digit but unless quoted may not consist solely of digits."
  t.kind = allDigits ? Token::Kind::kNumber : Token::Kind::kWord;
}

std::string syntaxErrorMessage(std::string_view sql, std::size_t position, std::string_view hint) {
  position = std::min(position, sql.size());
  std::size_t len = std::min(kNearBytes, sql.size() - position);
  // Never cut a UTF-8 sequence in half.
  while (len > 0 && position + len < sql.size() &&
         (static_cast<unsigned char>(sql[position + len]) & 0xC0) == 0x80) {
    --len;
  }
  auto line =
      1 + std::count(sql.begin(), sql.begin() + static_cast<std::ptrdiff_t>(position), '\n');
  std::string msg = "You have an error in your SQL syntax; ";
  msg += hint;
  msg += " near '";
  msg += sql.substr(position, len);
  msg += "' at line ";
  msg += std::to_string(line);
  return msg;
}

}  // namespace shardproxy::router::admin
