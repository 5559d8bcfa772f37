// The recursive-descent grammar behind Parser::parse() (private to router/src/sql).
// One Grammar lives on the stack for one statement: it pulls tokens from a Lexer with one token
// of lookahead, builds nodes in the Parser's arena, and records the first error. Every parse
// function returns nullptr (or false) once an error is recorded; after that the current token
// is kEnd, so callers unwind without looking further.
// The statement kinds are split over parse_*.cpp files: expressions, functions, queries, tables,
// DML, session statements, and SHOW / DDL / EXPLAIN / other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "shardproxy/router/sql/parser.h"

namespace shardproxy::router::sql::detail {

// Binding powers, loosest first: the operator precedence of the reference manual, 12.4.1.
enum Bp : int {
  kBpLowest = 0,
  kBpAssign = 5,  // :=
  kBpOr = 10,     // OR ||
  kBpXor = 20,
  kBpAnd = 30,  // AND &&
  kBpNot = 40,  // NOT (prefix)
  kBpBetween = 50,
  kBpCompare = 60,  // = <=> >= > <= < <> != IS LIKE REGEXP IN MEMBER OF SOUNDS LIKE
  kBpBitOr = 70,
  kBpBitAnd = 80,
  kBpShift = 90,
  kBpAdd = 100,
  kBpMul = 110,  // * / DIV % MOD
  kBpBitXor = 120,
  kBpConcat = 125,   // || under PIPES_AS_CONCAT
  kBpUnary = 130,    // - ~
  kBpBang = 140,     // !
  kBpCollate = 150,  // COLLATE, BINARY
  kBpJson = 155,     // -> ->>
};

class Grammar {
 public:
  Grammar(std::string_view sql, std::uint32_t start, const ParseOptions& options, ParseArena& arena,
          Parser::Scratch& scratch, std::vector<Token>* tokens = nullptr);

  // The whole statement, up to its ';' or the end. nullptr on error (see error()).
  const Statement* run();
  ParseError& error() { return error_; }
  std::size_t next() const { return next_; }

  // ---------------------------------------------------------------- tokens (parser.cpp)
  void advance() {
    prevEnd_ = tok_.end;
    // Every consumed '?' counts, also in text the grammar only skips (CALL p(?), OVER (ROWS ?
    // PRECEDING)): the count is the prepared statement's parameter count.
    placeholders_ += tok_.is(TokenKind::kPlaceholder) ? 1 : 0;
    if (failed_) return;  // after an error every token reads as the end
    if (hasLa_) {
      tok_ = la_;
      hasLa_ = false;
    } else {
      tok_ = lexer_.next();
    }
    if (tokens_ != nullptr) record();
    if (tok_.is(TokenKind::kError)) lexError();
  }
  // The token after tok_.
  const Token& peek() {
    if (!hasLa_) {
      la_ = failed_ ? tok_ : lexer_.next();
      hasLa_ = true;
    }
    return la_;
  }
  bool accept(TokenKind k) {
    if (!tok_.is(k)) return false;
    advance();
    return true;
  }
  bool accept(Kw k) {
    if (!tok_.is(k)) return false;
    advance();
    return true;
  }
  void lexError();
  bool expect(TokenKind k, std::string_view what);
  bool expect(Kw k);
  std::string_view textOf(const Token& t) const { return t.text(sql_); }
  // Source text from `begin` to the end of the last consumed token.
  std::string_view since(std::uint32_t begin) const {
    return begin >= prevEnd_ ? std::string_view()
                             : std::string_view(sql_.data() + begin, prevEnd_ - begin);
  }
  // A word token spelled `upper` in any case (for words that are not keywords).
  bool wordIs(const Token& t, std::string_view upper) const;
  bool atStatementEnd() const { return tok_.is(TokenKind::kEnd) || tok_.is(TokenKind::kSemicolon); }
  // tok_ is '(' and a query expression follows, possibly behind more '('.
  bool queryAhead();
  static bool startsQuery(const Token& t) { return t.is(Kw::kSelect) || t.is(Kw::kWith); }
  // Consumes a balanced ( ... ) group starting at tok_; returns its text.
  std::string_view skipParenthesized();
  // Consumes tokens to the end of the statement; returns their text.
  std::string_view skipRest(bool ignoreSemicolons = false);

  // ---------------------------------------------------------------- errors (parser.cpp)
  std::nullptr_t fail(std::string_view hint);
  std::nullptr_t failAt(std::uint32_t position, std::string_view hint);
  std::nullptr_t failUnexpected(std::string_view expected);
  bool failed() const { return failed_; }

  class DepthGuard {
   public:
    explicit DepthGuard(Grammar& g) : g_(g), ok_(++g.depth_ <= g.options_.maxDepth) {
      if (!ok_) g.tooDeep();
    }
    ~DepthGuard() { --g_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
    explicit operator bool() const { return ok_; }

   private:
    Grammar& g_;
    bool ok_;
  };

  // ---------------------------------------------------------------- building (parser.cpp)
  template <typename T>
  T* make() {
    return arena_.make<T>();
  }
  std::size_t listMark() const { return scratch_.items.size(); }
  void listPush(const void* item) { scratch_.items.push_back(item); }
  template <typename T>
  List<T> listFinish(std::size_t mark) {
    std::size_t n = scratch_.items.size() - mark;
    if (n == 0) return {};
    auto** out = static_cast<const T**>(arena_.allocate(n * sizeof(const T*), alignof(const T*)));
    for (std::size_t i = 0; i < n; ++i)
      out[i] = static_cast<const T*>(scratch_.items[mark + i]);
    scratch_.items.resize(mark);
    return List<T>(out, n);
  }
  // Sets a node's text (from `begin` to the last consumed token) and height; fails (returns
  // nullptr) when the height passes the cap.
  template <typename T>
  T* done(T* node, std::uint32_t begin, std::size_t height = 1) {
    node->text = since(begin);
    if (height > options_.maxHeight) return tooHigh();
    node->height = static_cast<std::uint16_t>(height);
    return node;
  }
  std::nullptr_t tooHigh();
  std::nullptr_t tooDeep();
  static std::size_t heightOf(const Expr* e) { return e != nullptr ? e->height : 0; }
  static std::size_t heightOf(const Query* q) { return q != nullptr ? q->height : 0; }
  static std::size_t heightOf(const TableRef* t) { return t != nullptr ? t->height : 0; }
  static std::size_t maxHeight(ExprList list);
  std::string_view decodeToArena(std::string_view content, char quote, bool string);

  // ---------------------------------------------------------------- names (parser.cpp)
  // A word that is not reserved, or a quoted identifier.
  bool atName() const;
  Ident nameFromToken(const Token& t);
  // Consumes a name; fails naming `what` if there is none.
  bool name(Ident& out, std::string_view what);
  // db.tbl or tbl (records nothing).
  bool qualifiedName(Ident& db, Ident& second, std::string_view what);
  // A table name with optional PARTITION, alias and index hints, recorded in the statement's
  // tables. `allowAlias` is false where the grammar takes no alias (INSERT, DDL, LOCK's own).
  TableName* tableName(bool allowAlias, bool record = true);
  // [AS] alias: a name or, with `allowString`, a 'string'. Returns false on error only.
  bool optionalAlias(Ident& out, bool allowString);
  // ( name, ... )
  bool nameList(List<Ident>& out, std::string_view what);

  // ---------------------------------------------------------------- expressions
  // parse_expr.cpp: the operators; parse_primary.cpp: everything from unary() on.
  const Expr* expr(int minBp = kBpLowest);
  // Pushes `expr (',' expr)*` onto the list under construction; false on a syntax error.
  bool pushExprs();
  // Pushes `(',' expr)*`: the rest of a list whose first item is already pushed.
  bool pushMoreExprs();
  const Expr* prefix();
  const Expr* infix(const Expr* left, std::uint32_t begin, int minBp, bool& stop);
  const Expr* logicalChain(const Expr* left, std::uint32_t begin, LogicalOp op);
  const Expr* comparison(const Expr* left, std::uint32_t begin, BinaryOp op);
  const Expr* binary(const Expr* left, std::uint32_t begin, BinaryOp op, int rightBp);
  const Expr* isTest(const Expr* left, std::uint32_t begin);
  const Expr* inList(const Expr* left, std::uint32_t begin, bool negated);
  const Expr* like(const Expr* left, std::uint32_t begin, bool negated, bool regexp);
  const Expr* soundsLike(const Expr* left, std::uint32_t begin);
  const Expr* memberOf(const Expr* left, std::uint32_t begin);
  const Expr* between(const Expr* left, std::uint32_t begin, bool negated);
  const Expr* collate(const Expr* left, std::uint32_t begin);
  const Expr* unary(UnaryOp op, int operandBp);
  const Expr* negative();
  const Expr* numberLiteral(bool negative, std::uint32_t begin);
  const Expr* stringLiteral(std::string_view charset, std::uint32_t begin);
  const Expr* bitsOrHexLiteral(std::string_view charset, std::uint32_t begin);
  const Expr* keywordLiteral(LiteralType type);
  const Expr* temporalLiteral();
  const Expr* placeholder();
  const Expr* userVariable();
  const Expr* systemVariable();
  const Expr* parenthesized();
  const Expr* subquery(std::uint32_t begin);  // tok_ is the query's first token, '(' consumed
  const Expr* wordPrefix();
  const Expr* columnOrFunction();
  const Expr* word(std::string_view text, std::uint32_t begin);
  bool isCharsetIntroducer();
  // Value expressions of INSERT rows and SET: DEFAULT is a Word there.
  const Expr* valueOrDefault();
  void noteSubquery();

  // ---------------------------------------------------------------- functions (parse_function.cpp)
  const Expr* functionCall(Ident qualifier, Ident name, std::uint32_t begin);
  bool genericArguments(Function* f);
  bool aggregateArguments(Function* f);
  bool groupConcatArguments(Function* f);
  bool trimArguments(Function* f);
  bool substringArguments(Function* f);
  bool extractArguments(Function* f);
  bool positionArguments(Function* f);
  bool overClause(Function* f);
  const Expr* castOrConvert(bool convert);
  const Expr* caseExpr();
  const Expr* interval();
  const Expr* exists();
  const Expr* rowConstructor();
  const Expr* match();
  const Expr* niladic(Kw kw);  // CURRENT_TIMESTAMP and friends without ()

  // ---------------------------------------------------------------- queries (parse_query.cpp)
  // [WITH ...] query [ORDER BY] [LIMIT] [locking] [INTO].
  const Query* query();
  // The rest of a query expression whose first primary is already parsed.
  const Query* queryTail(Query* first, std::uint32_t begin, List<Cte> with, bool recursive);
  Query* queryPrimary();
  SelectBlock* selectBlock();
  bool withClause(List<Cte>& out, bool& recursive);
  bool selectOptions(SelectBlock* b);
  bool selectItems(SelectBlock* b);
  bool groupBy(SelectBlock* b);
  bool orderBy(OrderList& out);
  const Limit* limit();
  const Expr* limitValue();
  bool locking(Locking& out);
  bool into(std::string_view& out);
  // ORDER BY / LIMIT / locking / INTO after a query body, into `q`.
  bool queryClauses(Query* q);

  // ---------------------------------------------------------------- tables (parse_table.cpp)
  bool tableRefs(List<TableRef>& out);
  const TableRef* tableRef();
  const TableRef* tableFactor();
  const TableRef* joinRest(const TableRef* left, std::uint32_t begin, JoinKind kind);
  const TableRef* derivedTable(std::uint32_t begin, bool lateral);

  // ---------------------------------------------------------------- statements
  Statement* statement();  // parser.cpp: dispatch on the first keyword; sets text & firstKeyword
  Statement* selectStatement();             // parse_query.cpp
  Statement* insertStatement();             // parse_dml.cpp
  Statement* updateStatement();             // parse_dml.cpp
  Statement* deleteStatement();             // parse_dml.cpp
  bool assignments(List<Assignment>& out);  // parse_dml.cpp
  bool insertRows(InsertStatement* s);      // parse_dml.cpp
  Statement* transactionStatement();        // parse_session.cpp
  Statement* setStatement();                // parse_session.cpp
  const SetItem* setItem(VarScope& scope);  // parse_session.cpp
  Statement* useStatement();                // parse_session.cpp
  Statement* lockStatement();               // parse_session.cpp
  Statement* unlockStatement();             // parse_session.cpp
  Statement* showStatement();               // parse_show.cpp
  Statement* ddlStatement();                // parse_ddl.cpp
  Statement* explainStatement();            // parse_ddl.cpp
  Statement* otherStatement();              // parse_ddl.cpp

  // ---------------------------------------------------------------- state
 private:
  // tok_ into the caller's recording (Parser::parse's `tokens`), up to kMaxRecordedTokens.
  void record() {
    if (tokens_->size() < Parser::kMaxRecordedTokens) {
      tokens_->push_back(tok_);
    } else {
      tokens_->clear();
      tokens_ = nullptr;
    }
  }
  std::vector<Token>* tokens_;
  std::string_view sql_;
  const ParseOptions& options_;
  ParseArena& arena_;
  Parser::Scratch& scratch_;
  Lexer lexer_;
  Token tok_;
  Token la_;
  bool hasLa_ = false;
  std::uint32_t prevEnd_ = 0;  // end of the last consumed token
  std::uint32_t start_ = 0;
  int depth_ = 0;
  std::uint32_t placeholders_ = 0;
  SelectBlock* block_ = nullptr;  // the innermost SELECT block being parsed (scratch_.ctes
                                  // holds the WITH names visible there)
  bool failed_ = false;
  ParseError error_;
  std::size_t next_ = 0;
};

}  // namespace shardproxy::router::sql::detail
