// DDL headers (reference manual 15.1: CREATE / ALTER / DROP / TRUNCATE / RENAME TABLE, CREATE /
// DROP INDEX): the action, the object and the tables named; the body is lexed, not modelled.
// Also EXPLAIN / DESCRIBE (15.8.2) and the catch-all OtherStatement.
#include "grammar.h"

namespace shardproxy::router::sql::detail {

Statement* Grammar::ddlStatement() {
  auto* s = make<DdlStatement>();
  const Kw action = tok_.kw;
  s->action = action == Kw::kCreate     ? DdlAction::kCreate
              : action == Kw::kAlter    ? DdlAction::kAlter
              : action == Kw::kDrop     ? DdlAction::kDrop
              : action == Kw::kTruncate ? DdlAction::kTruncate
                                        : DdlAction::kRename;
  advance();
  if (action == Kw::kCreate && tok_.is(Kw::kOr) && peek().is(Kw::kReplace)) {
    advance();
    advance();
    s->orReplace = true;
  }
  s->temporary = (action == Kw::kCreate || action == Kw::kDrop) && accept(Kw::kTemporary);
  if (action == Kw::kCreate || action == Kw::kAlter) {
    if (!accept(Kw::kOnline)) accept(Kw::kOffline);
  }
  if (action == Kw::kAlter) accept(Kw::kIgnore);
  if (action == Kw::kCreate &&
      (tok_.is(Kw::kUnique) || tok_.is(Kw::kFulltext) || tok_.is(Kw::kSpatial))) {
    s->indexKind = textOf(tok_);
    advance();
    if (!tok_.is(Kw::kIndex) && !tok_.is(Kw::kKey)) return otherStatement();
  }
  auto ifExists = [&](bool notExists) {
    if (!tok_.is(Kw::kIf)) return true;
    advance();
    if (notExists && !expect(Kw::kNot)) return false;
    if (!expect(Kw::kExists)) return false;
    (notExists ? s->ifNotExists : s->ifExists) = true;
    return true;
  };
  std::size_t mark = listMark();
  auto addTable = [&] {
    const TableName* t = tableName(false);
    if (t == nullptr) return false;
    listPush(t);
    return true;
  };
  if (tok_.is(Kw::kIndex) && (action == Kw::kCreate || action == Kw::kDrop)) {
    advance();
    s->object = DdlObject::kIndex;
    if (!ifExists(action == Kw::kCreate)) return nullptr;
    if (!name(s->index, "an index name")) return nullptr;
    if (accept(Kw::kUsing)) advance();  // BTREE / HASH
    if (!expect(Kw::kOn) || !addTable()) return nullptr;
  } else if (tok_.is(Kw::kTable) || (action == Kw::kTruncate && atName()) ||
             ((action == Kw::kDrop || action == Kw::kRename) && tok_.is(Kw::kTables))) {
    if (!accept(Kw::kTable)) accept(Kw::kTables);
    s->object = DdlObject::kTable;
    if (!ifExists(action == Kw::kCreate)) return nullptr;
    if (!addTable()) return nullptr;
    if (action == Kw::kDrop || action == Kw::kRename) {
      do {
        if (action == Kw::kRename && (!expect(Kw::kTo) || !addTable())) return nullptr;
      } while (accept(TokenKind::kComma) && addTable());
      if (failed_) return nullptr;
    } else if (action == Kw::kCreate) {
      // CREATE TABLE t LIKE s | CREATE TABLE t (LIKE s)
      bool paren = tok_.is(TokenKind::kLParen) && peek().is(Kw::kLike);
      if (paren) advance();
      if (accept(Kw::kLike)) {
        if (!addTable() || (paren && !expect(TokenKind::kRParen, "')'"))) return nullptr;
      }
    }
  } else {
    scratch_.items.resize(mark);
    return otherStatement();
  }
  s->targets = listFinish<TableName>(mark);
  s->body = skipRest();
  return s;
}

// EXPLAIN [ROUTE] [ANALYZE] [FORMAT = f] [EXTENDED | PARTITIONS] statement
// EXPLAIN | DESCRIBE | DESC table [column | 'wild']
// EXPLAIN FOR CONNECTION n
Statement* Grammar::explainStatement() {
  advance();  // EXPLAIN / DESCRIBE / DESC
  auto* s = make<ExplainStatement>();
  auto startsStatement = [](const Token& t) {
    return t.is(Kw::kSelect) || t.is(Kw::kWith) || t.is(TokenKind::kLParen) || t.is(Kw::kInsert) ||
           t.is(Kw::kReplace) || t.is(Kw::kUpdate) || t.is(Kw::kDelete);
  };
  // EXPLAIN ROUTE <statement>; "DESCRIBE route" alone describes a table named route.
  if (tok_.is(Kw::kRoute) &&
      (peek().is(TokenKind::kLParen) || (peek().is(TokenKind::kWord) && peek().kw != Kw::kNone))) {
    advance();
    s->route = true;
    s->explained = statement();
    return s->explained != nullptr ? s : nullptr;
  }
  for (;;) {
    if (accept(Kw::kAnalyze)) {
      s->analyze = true;
    } else if (accept(Kw::kExtended) || accept(Kw::kPartitions)) {
    } else if (tok_.is(Kw::kFormat) && peek().is(TokenKind::kEq)) {
      advance();
      advance();
      if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kString)) {
        return failUnexpected("a format name");
      }
      s->format = textOf(tok_);
      advance();
    } else {
      break;
    }
  }
  if (startsStatement(tok_)) {
    s->explained = statement();
    return s->explained != nullptr ? s : nullptr;
  }
  if (tok_.is(Kw::kFor)) {
    s->rest = skipRest();
    return s;
  }
  s->table = tableName(false);
  if (s->table == nullptr) return nullptr;
  if (!atStatementEnd()) {
    if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent) &&
        !tok_.is(TokenKind::kString)) {
      return failUnexpected("a column name or pattern");
    }
    s->column = textOf(tok_);
    advance();
  }
  return s;
}

// Lexed to its end: up to the first ';' — or, once a BEGIN was seen (the body of CREATE
// PROCEDURE / TRIGGER / EVENT, whose ';' are inside it), to the end of the text.
Statement* Grammar::otherStatement() {
  auto* s = make<OtherStatement>();
  bool compound = false;
  while (!tok_.is(TokenKind::kEnd) && (compound || !tok_.is(TokenKind::kSemicolon))) {
    compound = compound || tok_.is(Kw::kBegin);
    advance();
  }
  return failed_ ? nullptr : s;
}

}  // namespace shardproxy::router::sql::detail
