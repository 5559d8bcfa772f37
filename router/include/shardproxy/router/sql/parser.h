// The SQL parser: statement text in, AST out (docs/sql-parser.md).
// Place in the request flow: the client session keeps one Parser (they are not shared between
// threads) and hands it each COM_QUERY / COM_STMT_PREPARE text; the planner reads the Statement.
// Hand-written recursive descent with Pratt parsing for expressions, over tokens pulled one at a
// time from the Lexer. The AST lives in the Parser's arena, which is rewound by the next parse():
// in steady state parsing allocates nothing. Nesting and size are capped, so hostile text gets a
// syntax error, never a deep recursion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/common/errors.h"
#include "shardproxy/router/sql/arena.h"
#include "shardproxy/router/sql/lexer.h"
#include "shardproxy/router/sql/statement.h"

namespace shardproxy::router::sql {

struct ParseOptions {
  LexOptions lex;              // server version for /*!NNNNN */, sql_mode quoting rules
  bool pipesAsConcat = false;  // sql_mode PIPES_AS_CONCAT: || concatenates instead of OR
  // Statements longer than this are refused (MySQL 8's default max_allowed_packet).
  std::size_t maxStatementBytes = std::size_t{64} << 20;
  // Grammar nesting: parentheses, subqueries, unary operators, function arguments, CASE...
  std::uint16_t maxDepth = 128;
  // Height of any expression / query / join tree, so that code walking the AST recursively is
  // bounded too: operator chains (a + b + c ...) grow it without nesting. AND / OR chains are flat.
  std::uint16_t maxHeight = 1000;
};

struct ParseError {
  enum class Kind : std::uint8_t {
    kSyntax,  // -> ER_PARSE_ERROR 1064 (also for the depth, height and size caps)
    kEmpty,   // only whitespace and comments -> ER_EMPTY_QUERY 1065
  };
  Kind kind = Kind::kSyntax;
  std::size_t position = 0;  // byte offset in the text given to parse()
  std::string message;       // MySQL style: "You have an error ... near '...' at line N"

  Error toError() const;
};

class [[nodiscard]] ParseResult {
 public:
  bool ok() const { return statement_ != nullptr; }
  explicit operator bool() const { return ok(); }
  const Statement& statement() const { return *statement_; }
  const ParseError& error() const { return error_; }
  // Where the next statement of a multi-statement text starts (after this one's ';'); equal to
  // the text's size when nothing but whitespace and comments follows.
  std::size_t next() const { return next_; }

 private:
  friend class Parser;
  const Statement* statement_ = nullptr;
  ParseError error_;
  std::size_t next_ = 0;
};

class Parser {
 public:
  explicit Parser(ParseOptions options = {});

  // Parses the statement starting at byte `start` of `sql` (a trailing ';' is allowed; more text
  // after it is left for the next call, see ParseResult::next()). The result views `sql` and the
  // arena: both must outlive its use, and the next parse() invalidates it.
  // `tokens`, when given, is cleared and receives the statement's tokens in the order the grammar
  // consumed them, its end or ';' last (for fingerprint() in sql/digest.h; the capacity is
  // reused). Past kMaxRecordedTokens it is emptied and recording stops (tokensComplete: false).
  ParseResult parse(std::string_view sql, std::size_t start = 0,
                    std::vector<Token>* tokens = nullptr);
  static constexpr std::size_t kMaxRecordedTokens = 1 << 16;

  const ParseOptions& options() const { return options_; }
  void setOptions(const ParseOptions& options) { options_ = options; }
  const ParseArena& arena() const { return arena_; }

  // Reused buffers: lists under construction (a stack shared by nested lists), the statement's
  // tables, hint ranges and WITH names in scope. Their capacity survives from one statement to
  // the next.
  struct Scratch {
    std::vector<const void*> items;
    std::vector<const TableName*> tables;
    std::vector<TextRange> hints;
    std::vector<const Ident*> ctes;
  };

 private:
  ParseOptions options_;
  ParseArena arena_;
  Scratch scratch_;
};

}  // namespace shardproxy::router::sql
