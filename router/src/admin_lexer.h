// The admin SQL lexer (private to router/): MySQL's lexical rules, reduced to what the admin
// grammar needs. Place in the request flow: parseAdmin() (admin_parser.cpp) pulls tokens one at a
// time, so the work done on a statement is bounded by how far the grammar gets into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace shardproxy::router::admin {

struct Token {
  enum class Kind : std::uint8_t {
    kEnd,          // end of input
    kWord,         // plain identifier or keyword: [A-Za-z0-9_$] and bytes >= 0x80, not all digits
    kQuotedIdent,  // `backquoted`; value holds the name with `` unescaped
    kString,       // '...' or "..."; value holds the text with escapes resolved
    kNumber,       // digits only; raw holds them
    kSymbol,       // one of . , ( ) ; @ and any other single ASCII punctuation
    kError,        // unterminated quote or comment, or a byte that starts no token; value = why
  };
  Kind kind = Kind::kEnd;
  std::size_t begin = 0;  // byte offset in the statement
  std::size_t end = 0;
  std::string_view raw;  // the token's text as written
  std::string value;     // decoded text of kQuotedIdent / kString, the reason of kError

  [[nodiscard]] bool isSymbol(char c) const {
    return kind == Kind::kSymbol && raw.size() == 1 && raw[0] == c;
  }
  // Case-insensitive keyword match; `keyword` is upper case.
  [[nodiscard]] bool isWord(std::string_view keyword) const;
};

class Lexer {
 public:
  explicit Lexer(std::string_view sql) : sql_(sql) {}
  Token next();

 private:
  // Returns false (and sets error_) on an unterminated /* comment.
  bool skipSpaceAndComments();
  void readQuoted(Token& t, char quote);
  void readWordOrNumber(Token& t);

  std::string_view sql_;
  std::size_t pos_ = 0;
  // Inside /*! ... */ (or /*M! ... */): MySQL runs the comment's content, so we lex it too.
  bool inExecutableComment_ = false;
  std::size_t commentError_ = std::string_view::npos;
};

// The one-line MySQL syntax error text: "You have an error in your SQL syntax; <hint> near
// '<up to 80 bytes from position>' at line N".
std::string syntaxErrorMessage(std::string_view sql, std::size_t position, std::string_view hint);

}  // namespace shardproxy::router::admin
