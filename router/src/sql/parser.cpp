// Parser entry point and the grammar's shared machinery: tokens with one token of lookahead,
// errors (first one wins), depth and height caps, list building on the scratch stack, names, and
// the dispatch on a statement's first keyword.
#include "shardproxy/router/sql/parser.h"

#include <algorithm>
#include <limits>
#include <string>

#include "../admin_lexer.h"  // syntaxErrorMessage(): one MySQL-style message for both grammars
#include "grammar.h"

namespace shardproxy::router::sql {

Error ParseError::toError() const {
  if (kind == Kind::kEmpty) {
    return Error{ErrorCode::kParseError, 1065, "42000", "Query was empty"};
  }
  return Error::make(ErrorCode::kParseError, message);
}

Parser::Parser(ParseOptions options) : options_(options) {
  options_.maxHeight = std::min<std::uint16_t>(options_.maxHeight, 60000);
}

ParseResult Parser::parse(std::string_view sql, std::size_t start, std::vector<Token>* tokens) {
  if (tokens != nullptr) tokens->clear();
  arena_.reset();
  scratch_.items.clear();
  scratch_.tables.clear();
  scratch_.hints.clear();
  scratch_.ctes.clear();
  ParseResult result;
  start = std::min(start, sql.size());
  if (sql.size() > options_.maxStatementBytes ||
      sql.size() >= std::numeric_limits<std::uint32_t>::max()) {
    result.error_.position = start;
    result.error_.message = admin::syntaxErrorMessage(
        sql, start,
        "statement longer than max_allowed_packet (" +
            std::to_string(std::min<std::size_t>(options_.maxStatementBytes,
                                                 std::numeric_limits<std::uint32_t>::max() - 1)) +
            " bytes)");
    result.next_ = sql.size();
    return result;
  }
  detail::Grammar grammar(sql, static_cast<std::uint32_t>(start), options_, arena_, scratch_,
                          tokens);
  result.statement_ = grammar.run();
  if (result.statement_ == nullptr) result.error_ = std::move(grammar.error());
  result.next_ = grammar.next();
  return result;
}

namespace detail {

Grammar::Grammar(std::string_view sql, std::uint32_t start, const ParseOptions& options,
                 ParseArena& arena, Parser::Scratch& scratch, std::vector<Token>* tokens)
    : tokens_(tokens),
      sql_(sql),
      options_(options),
      arena_(arena),
      scratch_(scratch),
      lexer_(sql, options.lex, HintSink(&scratch.hints), start),
      prevEnd_(start),
      start_(start) {
  tok_.begin = tok_.end = start;
}

const Statement* Grammar::run() {
  next_ = sql_.size();
  advance();
  if (!failed_ && (tok_.is(TokenKind::kEnd) || tok_.is(TokenKind::kSemicolon))) {
    error_.kind = ParseError::Kind::kEmpty;
    error_.position = tok_.begin;
    error_.message = "Query was empty";
    return nullptr;
  }
  Statement* st = statement();
  if (st != nullptr && !atStatementEnd()) st = failUnexpected("end of statement");
  if (st == nullptr || failed_) return nullptr;

  const std::uint32_t limit = tok_.begin;  // the ';' or the end
  if (tok_.is(TokenKind::kSemicolon)) {
    // What follows is the next statement, unless it is only whitespace and comments.
    LexOptions lexOptions = options_.lex;
    Lexer probe(sql_, lexOptions, HintSink(nullptr), tok_.end);
    Token after = probe.next();
    next_ = after.is(TokenKind::kEnd) ? sql_.size() : tok_.end;
  }
  std::size_t mark = listMark();
  for (const TextRange& h : scratch_.hints) {
    if (h.begin < start_ || h.begin >= limit) continue;
    auto* hint = make<Hint>();
    hint->text = sql_.substr(h.begin, h.end - h.begin);
    listPush(hint);
  }
  st->hints = listFinish<Hint>(mark);
  auto tables = arena_.copy(std::span<const TableName* const>(scratch_.tables));
  st->tables = List<TableName>(tables.data(), tables.size());
  st->placeholderCount = placeholders_;
  if (auto* explain = const_cast<ExplainStatement*>(st->as<ExplainStatement>())) {
    if (auto* inner = const_cast<Statement*>(explain->explained)) {
      inner->hints = st->hints;
      inner->tables = st->tables;
      inner->placeholderCount = st->placeholderCount;
    }
  }
  return st;
}

// ------------------------------------------------------------------ tokens

void Grammar::lexError() {
  failAt(tok_.begin, lexer_.errorMessage());
}

bool Grammar::expect(TokenKind k, std::string_view what) {
  if (accept(k)) return true;
  failUnexpected(what);
  return false;
}

bool Grammar::expect(Kw k) {
  if (accept(k)) return true;
  failUnexpected(keywordText(k));
  return false;
}

bool Grammar::wordIs(const Token& t, std::string_view upper) const {
  if (!t.is(TokenKind::kWord) || t.end - t.begin != upper.size()) return false;
  std::string_view w = textOf(t);
  for (std::size_t i = 0; i < w.size(); ++i) {
    char c = w[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (c != upper[i]) return false;
  }
  return true;
}

bool Grammar::queryAhead() {
  const Token& p = peek();
  if (startsQuery(p)) return true;
  if (!p.is(TokenKind::kLParen)) return false;
  Lexer probe = lexer_;  // positioned after the peeked '('
  for (int i = 0; i < options_.maxDepth; ++i) {
    Token t = probe.next();
    if (!t.is(TokenKind::kLParen)) return startsQuery(t);
  }
  return false;
}

std::string_view Grammar::skipParenthesized() {
  const std::uint32_t begin = tok_.begin;
  if (!expect(TokenKind::kLParen, "'('")) return {};
  std::size_t depth = 1;
  while (depth > 0) {
    if (tok_.is(TokenKind::kEnd) || tok_.is(TokenKind::kSemicolon)) {
      failUnexpected("')'");
      return {};
    }
    if (tok_.is(TokenKind::kLParen)) ++depth;
    if (tok_.is(TokenKind::kRParen)) --depth;
    advance();
  }
  return since(begin);
}

std::string_view Grammar::skipRest(bool ignoreSemicolons) {
  const std::uint32_t begin = tok_.begin;
  while (!tok_.is(TokenKind::kEnd) && (ignoreSemicolons || !tok_.is(TokenKind::kSemicolon))) {
    advance();
  }
  return since(begin);
}

// ------------------------------------------------------------------ errors

std::nullptr_t Grammar::failAt(std::uint32_t position, std::string_view hint) {
  if (failed_) return nullptr;
  failed_ = true;
  error_.kind = ParseError::Kind::kSyntax;
  error_.position = position;
  error_.message = admin::syntaxErrorMessage(sql_, position, hint);
  // Nothing more is read: every caller now sees the end of the statement and unwinds.
  tok_ = Token{};
  tok_.begin = tok_.end = static_cast<std::uint32_t>(sql_.size());
  hasLa_ = false;
  return nullptr;
}

std::nullptr_t Grammar::fail(std::string_view hint) {
  return failAt(tok_.begin, hint);
}

std::nullptr_t Grammar::failUnexpected(std::string_view expected) {
  std::string hint = "expected " + std::string(expected);
  if (tok_.is(TokenKind::kEnd)) hint += " before the end of the statement";
  return fail(hint);
}

std::nullptr_t Grammar::tooHigh() {
  return fail("expression too complex (height limit " + std::to_string(options_.maxHeight) + ")");
}

std::nullptr_t Grammar::tooDeep() {
  return fail("nested too deeply (limit " + std::to_string(options_.maxDepth) + ")");
}

std::size_t Grammar::maxHeight(ExprList list) {
  std::size_t h = 0;
  for (const Expr* e : list)
    h = std::max<std::size_t>(h, e->height);
  return h;
}

std::string_view Grammar::decodeToArena(std::string_view content, char quote, bool string) {
  char* out = arena_.allocateChars(content.size());
  std::size_t n = string ? decodeString(content, quote, !options_.lex.noBackslashEscapes, out,
                                        options_.lex.charset)
                         : decodeQuotedIdent(content, quote, out);
  return {out, n};
}

// ------------------------------------------------------------------ names

bool Grammar::atName() const {
  return tok_.is(TokenKind::kQuotedIdent) || (tok_.is(TokenKind::kWord) && !isReserved(tok_.kw));
}

Ident Grammar::nameFromToken(const Token& t) {
  Ident id;
  id.text = textOf(t);
  if (t.is(TokenKind::kWord)) {
    id.name = id.text;
    return id;
  }
  id.quoted = true;
  std::string_view content = id.text.substr(1, id.text.size() - 2);
  id.name =
      t.needsDecoding ? decodeToArena(content, id.text[0], t.is(TokenKind::kString)) : content;
  return id;
}

bool Grammar::name(Ident& out, std::string_view what) {
  if (!atName()) {
    failUnexpected(what);
    return false;
  }
  out = nameFromToken(tok_);
  advance();
  return true;
}

bool Grammar::qualifiedName(Ident& db, Ident& second, std::string_view what) {
  Ident first;
  if (!name(first, what)) return false;
  if (!tok_.is(TokenKind::kDot)) {
    second = first;
    return true;
  }
  advance();
  // After a dot any word is a name, reserved or not (reference manual 11.2.1).
  if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent)) {
    failUnexpected(what);
    return false;
  }
  db = first;
  second = nameFromToken(tok_);
  advance();
  return true;
}

TableName* Grammar::tableName(bool allowAlias, bool record) {
  const std::uint32_t begin = tok_.begin;
  auto* t = make<TableName>();
  if (!qualifiedName(t->db, t->name, "a table name")) return nullptr;
  if (tok_.is(Kw::kPartition)) {
    const std::uint32_t p = tok_.begin;
    advance();
    if (skipParenthesized().empty()) return nullptr;
    t->partitions = since(p);
  }
  if (allowAlias) {
    if (!optionalAlias(t->alias, false)) return nullptr;
    const std::uint32_t hints = tok_.begin;
    while ((tok_.is(Kw::kUse) || tok_.is(Kw::kForce) || tok_.is(Kw::kIgnore)) &&
           (peek().is(Kw::kIndex) || peek().is(Kw::kKey))) {
      advance();
      advance();
      if (accept(Kw::kFor)) {
        if (accept(Kw::kOrder) || accept(Kw::kGroup)) {
          if (!expect(Kw::kBy)) return nullptr;
        } else if (!expect(Kw::kJoin)) {
          return nullptr;
        }
      }
      if (skipParenthesized().empty()) return nullptr;
    }
    t->indexHints = since(hints);
  }
  t->text = since(begin);
  if (t->db.empty()) {
    for (const Ident* cte : scratch_.ctes)
      t->cte = t->cte || cte->name == t->name.name;
  }
  if (record) scratch_.tables.push_back(t);
  return t;
}

bool Grammar::optionalAlias(Ident& out, bool allowString) {
  if (accept(Kw::kAs)) {
    if (allowString && tok_.is(TokenKind::kString)) {
      out = nameFromToken(tok_);
      advance();
      return true;
    }
    return name(out, "an alias");
  }
  if (atName() || (allowString && tok_.is(TokenKind::kString))) {
    out = nameFromToken(tok_);
    advance();
  }
  return !failed_;
}

bool Grammar::pushExprs() {
  const Expr* e = expr();
  if (e == nullptr) return false;
  listPush(e);
  return pushMoreExprs();
}

bool Grammar::pushMoreExprs() {
  while (accept(TokenKind::kComma)) {
    const Expr* e = expr();
    if (e == nullptr) return false;
    listPush(e);
  }
  return true;
}

bool Grammar::nameList(List<Ident>& out, std::string_view what) {
  if (!expect(TokenKind::kLParen, "'('")) return false;
  std::size_t mark = listMark();
  do {
    auto* id = make<Ident>();
    if (!name(*id, what)) return false;
    listPush(id);
  } while (accept(TokenKind::kComma));
  if (!expect(TokenKind::kRParen, "')'")) return false;
  out = listFinish<Ident>(mark);
  return true;
}

// ------------------------------------------------------------------ statements

Statement* Grammar::statement() {
  DepthGuard guard(*this);
  if (!guard) return nullptr;
  const Token first = tok_;
  Statement* st = nullptr;
  if (tok_.is(TokenKind::kLParen)) {
    st = selectStatement();
  } else {
    switch (tok_.is(TokenKind::kWord) ? tok_.kw : Kw::kNone) {
      case Kw::kSelect:
      case Kw::kWith:
        st = selectStatement();
        break;
      case Kw::kInsert:
      case Kw::kReplace:
        st = insertStatement();
        break;
      case Kw::kUpdate:
        st = updateStatement();
        break;
      case Kw::kDelete:
        st = deleteStatement();
        break;
      case Kw::kBegin:
      case Kw::kStart:
      case Kw::kCommit:
      case Kw::kRollback:
      case Kw::kSavepoint:
      case Kw::kRelease:
        st = transactionStatement();
        break;
      case Kw::kSet:
        st = setStatement();
        break;
      case Kw::kUse:
        st = useStatement();
        break;
      case Kw::kShow:
        st = showStatement();
        break;
      case Kw::kCreate:
      case Kw::kAlter:
      case Kw::kDrop:
      case Kw::kTruncate:
      case Kw::kRename:
        st = ddlStatement();
        break;
      case Kw::kLock:
        st = lockStatement();
        break;
      case Kw::kUnlock:
        st = unlockStatement();
        break;
      case Kw::kExplain:
      case Kw::kDescribe:
      case Kw::kDesc:
        st = explainStatement();
        break;
      default:
        st = otherStatement();
        break;
    }
  }
  if (st == nullptr || failed_) return nullptr;
  st->source = sql_;
  st->text = since(first.begin);
  st->firstKeyword = textOf(first);
  return st;
}

}  // namespace detail
}  // namespace shardproxy::router::sql
