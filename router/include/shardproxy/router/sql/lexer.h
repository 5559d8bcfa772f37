// The MySQL lexer: turns statement text into tokens, one at a time, on demand.
// Place in the request flow: the Parser pulls tokens from it while it descends the grammar; there
// is no token vector, and a token is offsets into the statement text, so lexing never allocates.
// Comments vanish here, except that version comments /*!NNNNN ... */ contribute their content when
// the configured server version is at least NNNNN (as the server would run it), and optimizer hints
// /*+ ... */ are reported to a HintSink so the statement can keep their text.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "shardproxy/router/sql/keywords.h"

namespace shardproxy::router::sql {

enum class TokenKind : std::uint8_t {
  kEnd,
  kError,           // Lexer::errorMessage() says why
  kWord,            // unquoted identifier or keyword (Token::kw)
  kQuotedIdent,     // `name` (or "name" under ANSI_QUOTES)
  kString,          // '...' or "..."
  kNationalString,  // N'...'
  kHexString,       // X'0A1b'
  kBitString,       // B'0101'
  kHexNumber,       // 0x0A1b
  kBitNumber,       // 0b0101
  kInteger,         // digits only
  kDecimal,         // 1.5  .5  1.
  kFloat,           // 1e5  1.5E-3
  kPlaceholder,     // ?
  kUserVar,         // @name  @'name'  @`name`
  kAtAt,            // @@ (the grammar reads [scope.]name after it)
  kAt,              // a lone @
  kLParen,
  kRParen,
  kComma,
  kDot,
  kSemicolon,
  kEq,          // =
  kNullSafeEq,  // <=>
  kNe,          // <> !=
  kLt,
  kLe,
  kGt,
  kGe,
  kShl,     // <<
  kShr,     // >>
  kOrOr,    // ||
  kAndAnd,  // &&
  kBitOr,
  kBitAnd,
  kCaret,
  kTilde,
  kBang,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kAssign,  // :=
  kArrow,   // ->
  kArrow2,  // ->>
  kLBrace,
  kRBrace,
  kOther,  // any other printable ASCII character
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  Kw kw = Kw::kNone;  // for kWord only
  // For quoted tokens: the content contains escapes or doubled quotes (it must be decoded).
  bool needsDecoding = false;
  std::uint32_t begin = 0;  // byte offsets in the statement text
  std::uint32_t end = 0;

  bool is(TokenKind k) const { return kind == k; }
  bool is(Kw k) const { return kw == k && kind == TokenKind::kWord; }
  // The token's text; `sql` must be the text it was lexed from.
  std::string_view text(std::string_view sql) const { return {sql.data() + begin, end - begin}; }
};

struct TextRange {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

// Character sets whose two-byte characters may end in 0x5C ('\\') or 0x60 ('`'): in them a string
// or quoted identifier is read character by character, so that byte is never an escape or a
// closing quote (as the server reads it). Every other supported character set is ASCII-safe.
enum class MultibyteCharset : std::uint8_t { kNone, kSjis, kCp932, kBig5, kGbk };
// The kind of a character set by name ("sjis", "cp932", "big5", "gbk"; any case), or of a
// collation id from the handshake; kNone for the others.
MultibyteCharset multibyteCharsetNamed(std::string_view name);
MultibyteCharset multibyteCharsetOfCollation(std::uint32_t collationId);
// The length of the character starting at s[0] (2 for a valid lead + trail byte, else 1).
inline std::size_t multibyteLength(MultibyteCharset cs, const char* s, std::size_t left) {
  if (cs == MultibyteCharset::kNone || left < 2) return 1;
  const auto a = static_cast<unsigned char>(s[0]);
  const auto b = static_cast<unsigned char>(s[1]);
  switch (cs) {
    case MultibyteCharset::kSjis:
    case MultibyteCharset::kCp932:
      return ((a >= 0x81 && a <= 0x9F) || (a >= 0xE0 && a <= 0xFC)) &&
                     ((b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFC))
                 ? 2
                 : 1;
    case MultibyteCharset::kBig5:
      return (a >= 0xA1 && a <= 0xF9) && ((b >= 0x40 && b <= 0x7E) || (b >= 0xA1 && b <= 0xFE)) ? 2
                                                                                                : 1;
    case MultibyteCharset::kGbk:
      return (a >= 0x81 && a <= 0xFE) && ((b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFE)) ? 2
                                                                                                : 1;
    case MultibyteCharset::kNone:
      break;
  }
  return 1;
}

struct LexOptions {
  // /*!NNNNN ... */ contributes its content when NNNNN <= serverVersion (50700 = 5.7.0,
  // 100600 = MariaDB 10.6.0). A version comment without digits always does.
  std::uint32_t serverVersion = 100000;
  // /*M!NNNNNN ... */ is MariaDB's executable comment; MySQL treats it as a plain comment.
  bool mariadb = true;
  bool ansiQuotes = false;                             // sql_mode ANSI_QUOTES: "x" is an identifier
  bool noBackslashEscapes = false;                     // sql_mode NO_BACKSLASH_ESCAPES
  MultibyteCharset charset = MultibyteCharset::kNone;  // the session's character_set_client
};

// Receives the ranges of /*+ ... */ comments (the text between "/*+" and "*/"), in source order,
// each once even when the parser lexes ahead and back.
class HintSink {
 public:
  explicit HintSink(std::vector<TextRange>* out) : out_(out) {}
  void add(TextRange r) {
    if (out_ != nullptr && (out_->empty() || r.begin > out_->back().begin)) out_->push_back(r);
  }

 private:
  std::vector<TextRange>* out_;
};

class Lexer {
 public:
  Lexer(std::string_view sql, const LexOptions& options, HintSink hints = HintSink(nullptr),
        std::uint32_t start = 0)
      : sql_(sql), options_(&options), hints_(hints), pos_(start) {}

  Token next();

  // Why the last kError token was produced (a static string).
  const char* errorMessage() const { return error_; }
  std::uint32_t position() const { return pos_; }

 private:
  bool skipSpaceAndComments();  // false on an unterminated comment (error_ set)
  void lexQuoted(Token& t, char quote);
  void lexNumberOrWord(Token& t);
  void lexWord(Token& t);
  void lexVariable(Token& t);
  void lexOperator(Token& t);
  bool lexPrefixedString(Token& t);  // N'..' X'..' B'..'
  Token makeError(std::uint32_t at, const char* why);

  std::string_view sql_;
  const LexOptions* options_;
  HintSink hints_;
  std::uint32_t pos_ = 0;
  bool inExecutableComment_ = false;
  std::uint32_t executableStart_ = 0;
  // The previous token was a name immediately followed by '.': what follows is a name even if it
  // starts with digits (t.1col), and ".5" there is not a number.
  TokenKind prevKind_ = TokenKind::kEnd;
  std::uint32_t prevEnd_ = 0;
  bool nameDot_ = false;  // the previous token is a '.' right after a name
  const char* error_ = "";
};

// Decodes a string literal's content (between its quotes): the escapes of the reference manual,
// section 11.1.1 (\0 \' \" \b \n \r \t \Z \\, \% and \_ keep their backslash, any other \c is c)
// and doubled quotes. `out` must hold content.size() bytes; returns the decoded length.
std::size_t decodeString(std::string_view content, char quote, bool backslashEscapes, char* out,
                         MultibyteCharset charset = MultibyteCharset::kNone);
// `name` with `` (or "" under ANSI_QUOTES) collapsed; returns the decoded length.
std::size_t decodeQuotedIdent(std::string_view content, char quote, char* out);

}  // namespace shardproxy::router::sql
