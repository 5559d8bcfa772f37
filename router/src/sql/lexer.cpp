// MySQL lexical structure as the reference manual describes it: 11.1 "Literal Values" (strings,
// escapes, introducers, numbers, hexadecimal and bit-value literals), 11.2 "Schema Object Names"
// (identifier characters, quoting, names starting with digits), 11.4 "User-Defined Variables",
// 11.7 "Comments" (#, "-- ", /* */, /*! executable */, /*+ hints */), and 12.4 "Operators".
#include "shardproxy/router/sql/lexer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string>

namespace shardproxy::router::sql {
namespace {

// What a byte can start, for the dispatch in Lexer::next().
enum CharClass : std::uint8_t {
  kOther,
  kSpace,
  kDigit,
  kWordChar,  // letters, $, _ and bytes >= 0x80
  kPrefix,    // N X B (and lower case): a prefixed string if a quote follows
  kQuote,     // ' " `
  kDotChar,
  kAtChar,
};

constexpr std::array<CharClass, 256> buildClasses() {
  std::array<CharClass, 256> table{};
  for (int c = 0; c < 256; ++c) {
    CharClass k = kOther;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') k = kSpace;
    if (c >= '0' && c <= '9') k = kDigit;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c >= 0x80) {
      k = kWordChar;
    }
    if (c == 'N' || c == 'n' || c == 'X' || c == 'x' || c == 'B' || c == 'b') k = kPrefix;
    if (c == '\'' || c == '"' || c == '`') k = kQuote;
    if (c == '.') k = kDotChar;
    if (c == '@') k = kAtChar;
    table[static_cast<std::size_t>(c)] = k;
  }
  return table;
}

constexpr auto kClasses = buildClasses();

// One-character operators and punctuation; kOther for any other printable character.
constexpr std::array<TokenKind, 256> kSingle = [] {
  std::array<TokenKind, 256> t{};
  t.fill(TokenKind::kOther);
  constexpr std::string_view kChars = "(),.;?=<>!|&^~+-*/%{}";
  constexpr std::array<TokenKind, 21> kKinds = {
      TokenKind::kLParen,    TokenKind::kRParen,      TokenKind::kComma,   TokenKind::kDot,
      TokenKind::kSemicolon, TokenKind::kPlaceholder, TokenKind::kEq,      TokenKind::kLt,
      TokenKind::kGt,        TokenKind::kBang,        TokenKind::kBitOr,   TokenKind::kBitAnd,
      TokenKind::kCaret,     TokenKind::kTilde,       TokenKind::kPlus,    TokenKind::kMinus,
      TokenKind::kStar,      TokenKind::kSlash,       TokenKind::kPercent, TokenKind::kLBrace,
      TokenKind::kRBrace};
  static_assert(kChars.size() == kKinds.size());
  for (std::size_t i = 0; i < kChars.size(); ++i) {
    t[static_cast<unsigned char>(kChars[i])] = kKinds[i];
  }
  return t;
}();

CharClass classOf(char c) {
  return kClasses[static_cast<unsigned char>(c)];
}

bool isSpace(char c) {
  return classOf(c) == kSpace;
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

bool isHexDigit(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Unquoted identifiers: [0-9a-zA-Z$_] and U+0080 and above (any byte >= 0x80 here).
bool isWordChar(char c) {
  CharClass k = classOf(c);
  return k == kWordChar || k == kPrefix || k == kDigit;
}

bool isName(TokenKind k) {
  return k == TokenKind::kWord || k == TokenKind::kQuotedIdent;
}

}  // namespace

Token Lexer::makeError(std::uint32_t at, const char* why) {
  error_ = why;
  Token t;
  t.kind = TokenKind::kError;
  t.begin = at;
  t.end = static_cast<std::uint32_t>(sql_.size());
  // Nothing after an error is lexed: the next call returns kEnd (an open version comment must
  // not report itself again).
  pos_ = t.end;
  inExecutableComment_ = false;
  return t;
}

Token Lexer::next() {
  if (!skipSpaceAndComments()) return makeError(pos_, error_);  // pos_: the comment's start
  Token t;
  t.begin = pos_;
  const auto size = static_cast<std::uint32_t>(sql_.size());
  if (pos_ >= size) {
    t.begin = t.end = size;
    return t;
  }
  const char c = sql_[pos_];
  switch (classOf(c)) {
    case kWordChar:
      lexWord(t);
      break;
    case kPrefix:
      if (pos_ + 1 < size && sql_[pos_ + 1] == '\'') {
        if (!lexPrefixedString(t)) return t;
      } else {
        lexWord(t);
      }
      break;
    case kDigit:
      if (prevKind_ == TokenKind::kDot && prevEnd_ == pos_ && nameDot_) {
        lexWord(t);  // t.1col
      } else {
        lexNumberOrWord(t);
      }
      break;
    case kQuote:
      lexQuoted(t, c);
      break;
    case kDotChar:
      // ".5" is a number, except right after a name: "t.5" is column 5 of t.
      if (pos_ + 1 < size && isDigit(sql_[pos_ + 1]) && !(isName(prevKind_) && prevEnd_ == pos_)) {
        lexNumberOrWord(t);
      } else {
        lexOperator(t);
      }
      break;
    case kAtChar:
      lexVariable(t);
      break;
    default:
      lexOperator(t);
      break;
  }
  if (t.kind == TokenKind::kError) return t;
  t.end = pos_;
  nameDot_ = t.kind == TokenKind::kDot && isName(prevKind_) && prevEnd_ == t.begin;
  prevKind_ = t.kind;
  prevEnd_ = t.end;
  return t;
}

bool Lexer::skipSpaceAndComments() {
  const auto size = static_cast<std::uint32_t>(sql_.size());
  while (pos_ < size) {
    char c = sql_[pos_];
    if (isSpace(c)) {
      ++pos_;
      continue;
    }
    if (c != '#' && c != '-' && c != '/' && c != '*') break;
    std::string_view rest = sql_.substr(pos_);
    if (c == '#' || (rest.starts_with("--") &&
                     (rest.size() == 2 || static_cast<unsigned char>(rest[2]) <= ' '))) {
      std::size_t eol = sql_.find('\n', pos_);
      pos_ = eol == std::string_view::npos ? size : static_cast<std::uint32_t>(eol + 1);
    } else if (inExecutableComment_ && rest.starts_with("*/")) {
      inExecutableComment_ = false;
      pos_ += 2;
    } else if (rest.starts_with("/*")) {
      const std::uint32_t start = pos_;
      bool mariadbComment = rest.starts_with("/*M!");
      if (!inExecutableComment_ &&
          (rest.starts_with("/*!") || (mariadbComment && options_->mariadb))) {
        std::uint32_t p = pos_ + (mariadbComment ? 4 : 3);
        std::uint32_t digits = 0;
        while (p + digits < size && isDigit(sql_[p + digits]))
          ++digits;
        std::uint32_t version = 0;
        bool versioned = digits >= 5;
        if (versioned) {
          digits = digits >= 6 ? 6 : 5;
          for (std::uint32_t i = 0; i < digits; ++i) {
            version = version * 10 + static_cast<std::uint32_t>(sql_[p + i] - '0');
          }
          p += digits;
        }
        if (!versioned || version <= options_->serverVersion) {
          inExecutableComment_ = true;
          executableStart_ = start;
          pos_ = p;
          continue;
        }
      }
      std::size_t close = sql_.find("*/", pos_ + 2);
      if (close == std::string_view::npos) {
        pos_ = start;
        error_ = "unterminated comment";
        return false;
      }
      if (rest.size() > 2 && rest[2] == '+') {
        hints_.add({pos_ + 3, static_cast<std::uint32_t>(close)});
      }
      pos_ = static_cast<std::uint32_t>(close + 2);
    } else {
      break;
    }
  }
  if (pos_ >= size && inExecutableComment_) {
    pos_ = executableStart_;
    error_ = "unterminated version comment";
    return false;
  }
  return true;
}

void Lexer::lexQuoted(Token& t, char quote) {
  const bool ident = quote == '`' || (quote == '"' && options_->ansiQuotes);
  const bool escapes = !ident && !options_->noBackslashEscapes;
  t.kind = ident ? TokenKind::kQuotedIdent : TokenKind::kString;
  const std::uint32_t start = pos_;
  const char* base = sql_.data();
  const auto size = static_cast<std::uint32_t>(sql_.size());
  std::uint32_t pos = pos_ + 1;
  if (options_->charset != MultibyteCharset::kNone) {
    // Character by character: a two-byte character's trail byte may be '\\' or '`'.
    while (pos < size) {
      const std::size_t n = multibyteLength(options_->charset, base + pos, size - pos);
      if (n == 2) {
        pos += 2;
        continue;
      }
      const char c = base[pos];
      if (escapes && c == '\\') {
        t.needsDecoding = true;
        pos += 2;
        continue;
      }
      if (c == quote) {
        if (pos + 1 < size && base[pos + 1] == quote) {
          t.needsDecoding = true;
          pos += 2;
          continue;
        }
        pos_ = pos + 1;
        return;
      }
      ++pos;
    }
    t = makeError(start, ident ? "unterminated quoted identifier" : "unterminated string");
    return;
  }
  // Jump from quote to quote (memchr), looking for a backslash only in between.
  while (pos < size) {
    const void* found = std::memchr(base + pos, quote, size - pos);
    const std::uint32_t q = found != nullptr
                                ? static_cast<std::uint32_t>(static_cast<const char*>(found) - base)
                                : size;
    if (escapes) {
      if (const void* bs = std::memchr(base + pos, '\\', q - pos)) {
        t.needsDecoding = true;
        pos = static_cast<std::uint32_t>(static_cast<const char*>(bs) - base) + 2;
        continue;
      }
    }
    if (q >= size) break;
    if (q + 1 < size && base[q + 1] == quote) {
      t.needsDecoding = true;
      pos = q + 2;
      continue;
    }
    pos_ = q + 1;
    return;
  }
  t = makeError(start, ident ? "unterminated quoted identifier" : "unterminated string");
}

bool Lexer::lexPrefixedString(Token& t) {
  const std::uint32_t start = pos_;
  char prefix = static_cast<char>(sql_[pos_] & ~0x20);  // upper case
  if (prefix == 'N') {
    ++pos_;
    lexQuoted(t, '\'');
    if (t.kind == TokenKind::kError) return false;
    t.kind = TokenKind::kNationalString;
    return true;
  }
  pos_ += 2;
  const auto size = static_cast<std::uint32_t>(sql_.size());
  std::uint32_t count = 0;
  while (pos_ < size && sql_[pos_] != '\'') {
    char c = sql_[pos_];
    if (prefix == 'X' ? !isHexDigit(c) : (c != '0' && c != '1')) {
      t = makeError(start, prefix == 'X' ? "invalid hexadecimal literal" : "invalid bit literal");
      return false;
    }
    ++pos_;
    ++count;
  }
  if (pos_ >= size) {
    t = makeError(start, "unterminated string");
    return false;
  }
  ++pos_;
  if (prefix == 'X' && count % 2 != 0) {
    t = makeError(start, "hexadecimal literal X'...' needs an even number of digits");
    return false;
  }
  t.kind = prefix == 'X' ? TokenKind::kHexString : TokenKind::kBitString;
  return true;
}

void Lexer::lexWord(Token& t) {
  const auto size = static_cast<std::uint32_t>(sql_.size());
  const std::uint32_t start = pos_;
  std::uint32_t hash = kKeywordHashSeed;  // computed while scanning: no second pass
  while (pos_ < size && isWordChar(sql_[pos_]))
    hash = keywordHashStep(hash, sql_[pos_++]);
  t.kind = TokenKind::kWord;
  t.kw = lookupKeyword(std::string_view(sql_.data() + start, pos_ - start), hash);
}

// Digits may start a number, a 0x/0b literal or a name ("Identifiers may begin with a digit but
// unless quoted may not consist solely of digits").
void Lexer::lexNumberOrWord(Token& t) {
  const auto size = static_cast<std::uint32_t>(sql_.size());
  const std::uint32_t start = pos_;
  auto digitsFrom = [&](std::uint32_t p) {
    while (p < size && isDigit(sql_[p]))
      ++p;
    return p;
  };
  // An exponent at p: returns its end, or p if there is none.
  auto exponentAt = [&](std::uint32_t p) {
    if (p >= size || (sql_[p] != 'e' && sql_[p] != 'E')) return p;
    std::uint32_t q = p + 1;
    if (q < size && (sql_[q] == '+' || sql_[q] == '-')) ++q;
    if (q >= size || !isDigit(sql_[q])) return p;
    return digitsFrom(q);
  };
  std::uint32_t p = digitsFrom(pos_);
  if (p < size && sql_[p] == '.') {
    std::uint32_t fractionEnd = digitsFrom(p + 1);
    std::uint32_t e = exponentAt(fractionEnd);
    t.kind = e != fractionEnd ? TokenKind::kFloat : TokenKind::kDecimal;
    pos_ = e;
    return;
  }
  if (p < size && isWordChar(sql_[p])) {
    std::uint32_t wordEnd = p;
    while (wordEnd < size && isWordChar(sql_[wordEnd]))
      ++wordEnd;
    std::string_view word = sql_.substr(start, wordEnd - start);
    if (word.size() > 2 && word[0] == '0' && (word[1] == 'x' || word[1] == 'b')) {
      bool ok = true;
      for (char c : word.substr(2))
        ok = ok && (word[1] == 'x' ? isHexDigit(c) : (c == '0' || c == '1'));
      if (ok) {
        t.kind = word[1] == 'x' ? TokenKind::kHexNumber : TokenKind::kBitNumber;
        pos_ = wordEnd;
        return;
      }
    }
    std::uint32_t e = exponentAt(p);
    if (e != p && (e >= size || !isWordChar(sql_[e]))) {
      t.kind = TokenKind::kFloat;
      pos_ = e;
      return;
    }
    t.kind = TokenKind::kWord;
    t.kw = lookupKeyword(word);
    pos_ = wordEnd;
    return;
  }
  t.kind = TokenKind::kInteger;
  pos_ = p;
}

void Lexer::lexVariable(Token& t) {
  const auto size = static_cast<std::uint32_t>(sql_.size());
  if (pos_ + 1 < size && sql_[pos_ + 1] == '@') {
    t.kind = TokenKind::kAtAt;
    pos_ += 2;
    return;
  }
  const std::uint32_t start = pos_;
  ++pos_;
  if (pos_ < size && (sql_[pos_] == '\'' || sql_[pos_] == '"' || sql_[pos_] == '`')) {
    char q = sql_[pos_];
    Token quoted;
    lexQuoted(quoted, q);
    if (quoted.kind == TokenKind::kError) {
      t = quoted;
      return;
    }
    t.kind = TokenKind::kUserVar;
    t.needsDecoding = quoted.needsDecoding;
    return;
  }
  while (pos_ < size && (isWordChar(sql_[pos_]) || sql_[pos_] == '.'))
    ++pos_;
  t.kind = pos_ == start + 1 ? TokenKind::kAt : TokenKind::kUserVar;
}

// Operators and punctuation (reference manual 12.4): the longest match first.
void Lexer::lexOperator(Token& t) {
  struct Multi {
    std::string_view text;
    TokenKind kind;
  };
  static constexpr std::array<Multi, 12> kMulti = {{
      {"<=>", TokenKind::kNullSafeEq},
      {"->>", TokenKind::kArrow2},
      {"<=", TokenKind::kLe},
      {"<>", TokenKind::kNe},
      {"<<", TokenKind::kShl},
      {">=", TokenKind::kGe},
      {">>", TokenKind::kShr},
      {"!=", TokenKind::kNe},
      {"||", TokenKind::kOrOr},
      {"&&", TokenKind::kAndAnd},
      {":=", TokenKind::kAssign},
      {"->", TokenKind::kArrow},
  }};
  const char c = sql_[pos_];
  if (c == '<' || c == '>' || c == '!' || c == '|' || c == '&' || c == ':' || c == '-') {
    std::string_view rest(sql_.data() + pos_, std::min<std::size_t>(3, sql_.size() - pos_));
    for (const Multi& m : kMulti) {
      if (rest.starts_with(m.text)) {
        t.kind = m.kind;
        pos_ += static_cast<std::uint32_t>(m.text.size());
        return;
      }
    }
  }
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u == 0x7f) {
    t = makeError(pos_, "unexpected control character");
    return;
  }
  t.kind = kSingle[u];
  ++pos_;
}

std::size_t decodeString(std::string_view content, char quote, bool backslashEscapes, char* out,
                         MultibyteCharset charset) {
  static constexpr std::string_view kFrom = "0bnrtZ";
  static constexpr std::string_view kTo("\0\b\n\r\t\x1a", 6);
  std::size_t n = 0;
  for (std::size_t i = 0; i < content.size(); ++i) {
    char c = content[i];
    if (charset != MultibyteCharset::kNone &&
        multibyteLength(charset, content.data() + i, content.size() - i) == 2) {
      out[n++] = c;
      out[n++] = content[++i];
      continue;
    }
    if (c == '\\' && backslashEscapes && i + 1 < content.size()) {
      char e = content[++i];
      if (std::size_t k = kFrom.find(e); k != std::string_view::npos) {
        out[n++] = kTo[k];
      } else {
        if (e == '%' || e == '_') out[n++] = '\\';  // only LIKE gives these a meaning
        out[n++] = e;
      }
    } else if (c == quote && i + 1 < content.size() && content[i + 1] == quote) {
      out[n++] = quote;
      ++i;
    } else {
      out[n++] = c;
    }
  }
  return n;
}

std::size_t decodeQuotedIdent(std::string_view content, char quote, char* out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < content.size(); ++i) {
    out[n++] = content[i];
    if (content[i] == quote && i + 1 < content.size() && content[i + 1] == quote) ++i;
  }
  return n;
}

MultibyteCharset multibyteCharsetNamed(std::string_view name) {
  std::string lower(name.substr(0, 16));
  for (auto& ch : lower)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "sjis") return MultibyteCharset::kSjis;
  if (lower == "cp932") return MultibyteCharset::kCp932;
  if (lower == "big5") return MultibyteCharset::kBig5;
  if (lower == "gbk") return MultibyteCharset::kGbk;
  return MultibyteCharset::kNone;
}

MultibyteCharset multibyteCharsetOfCollation(std::uint32_t id) {
  switch (id) {
    case 13:    // sjis_japanese_ci
    case 88:    // sjis_bin
    case 1037:  // sjis_japanese_nopad_ci
    case 1112:  // sjis_nopad_bin
      return MultibyteCharset::kSjis;
    case 95:    // cp932_japanese_ci
    case 96:    // cp932_bin
    case 1119:  // cp932_japanese_nopad_ci
    case 1120:  // cp932_nopad_bin
      return MultibyteCharset::kCp932;
    case 1:     // big5_chinese_ci
    case 84:    // big5_bin
    case 1025:  // big5_chinese_nopad_ci
    case 1108:  // big5_nopad_bin
      return MultibyteCharset::kBig5;
    case 28:    // gbk_chinese_ci
    case 87:    // gbk_bin
    case 1052:  // gbk_chinese_nopad_ci
    case 1111:  // gbk_nopad_bin
      return MultibyteCharset::kGbk;
    default:
      return MultibyteCharset::kNone;
  }
}

}  // namespace shardproxy::router::sql
