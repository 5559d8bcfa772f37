// SHOW (reference manual 15.7.7): what is shown, the table or database it is about, and the
// LIKE / WHERE filter. The rest (LIMIT of SHOW WARNINGS, FOR user of SHOW GRANTS, ...) is kept as
// text; SHOW never fails on a form it does not know, it only lexes it.
#include "grammar.h"

namespace shardproxy::router::sql::detail {
namespace {

bool startsFilter(const Token& t) {
  return t.is(Kw::kFrom) || t.is(Kw::kIn) || t.is(Kw::kLike) || t.is(Kw::kWhere) ||
         t.is(Kw::kLimit) || t.is(Kw::kFor) || t.is(TokenKind::kEnd) || t.is(TokenKind::kSemicolon);
}

}  // namespace

Statement* Grammar::showStatement() {
  advance();  // SHOW
  auto* s = make<ShowStatement>();
  if (tok_.is(Kw::kGlobal) || tok_.is(Kw::kSession) || tok_.is(Kw::kLocal)) {
    s->scope = tok_.is(Kw::kGlobal)    ? VarScope::kGlobal
               : tok_.is(Kw::kSession) ? VarScope::kSession
                                       : VarScope::kLocal;
    advance();
  }
  accept(Kw::kExtended);
  s->full = accept(Kw::kFull);
  const std::uint32_t kindBegin = tok_.begin;
  bool tableFollows = false;     // FROM tbl [FROM db]
  bool databaseFollows = false;  // [FROM db]
  switch (tok_.is(TokenKind::kWord) ? tok_.kw : Kw::kNone) {
    case Kw::kTables:
      s->show = ShowKind::kTables;
      databaseFollows = true;
      advance();
      break;
    case Kw::kTable:
      advance();
      if (!expect(Kw::kStatus)) return nullptr;
      s->show = ShowKind::kTableStatus;
      databaseFollows = true;
      break;
    case Kw::kColumns:
    case Kw::kFields:
      s->show = ShowKind::kColumns;
      tableFollows = true;
      advance();
      break;
    case Kw::kIndex:
    case Kw::kIndexes:
    case Kw::kKeys:
      s->show = ShowKind::kIndex;
      tableFollows = true;
      advance();
      break;
    case Kw::kCreate: {
      advance();
      if (accept(Kw::kTable)) {
        s->show = ShowKind::kCreateTable;
      } else if (accept(Kw::kView)) {
        s->show = ShowKind::kCreateView;
      } else if (accept(Kw::kDatabase) || accept(Kw::kSchema)) {
        s->show = ShowKind::kCreateDatabase;
        if (tok_.is(Kw::kIf)) {
          advance();
          if (!expect(Kw::kNot) || !expect(Kw::kExists)) return nullptr;
        }
      } else {
        s->show = ShowKind::kCreateOther;
        if (!tok_.is(TokenKind::kWord)) return failUnexpected("what to show");
        advance();
      }
      s->kindText = since(kindBegin);
      if (s->show == ShowKind::kCreateTable || s->show == ShowKind::kCreateView) {
        s->table = tableName(false);
        if (s->table == nullptr) return nullptr;
      } else {
        Ident db;
        if (!qualifiedName(db, s->object, "a name")) return nullptr;
      }
      break;
    }
    case Kw::kDatabases:
    case Kw::kSchemas:
      s->show = ShowKind::kDatabases;
      advance();
      break;
    case Kw::kVariables:
      s->show = ShowKind::kVariables;
      advance();
      break;
    case Kw::kStatus:
      s->show = ShowKind::kStatus;
      advance();
      break;
    case Kw::kWarnings:
      s->show = ShowKind::kWarnings;
      advance();
      break;
    case Kw::kProcesslist:
      s->show = ShowKind::kProcesslist;
      advance();
      break;
    case Kw::kGrants:
      s->show = ShowKind::kGrants;
      advance();
      break;
    case Kw::kCharset:
      s->show = ShowKind::kCharset;
      advance();
      break;
    case Kw::kCollation:
      s->show = ShowKind::kCollation;
      advance();
      break;
    case Kw::kEngines:
      s->show = ShowKind::kEngines;
      advance();
      break;
    case Kw::kTriggers:
      s->show = ShowKind::kTriggers;
      databaseFollows = true;
      advance();
      break;
    case Kw::kCharacter:
      advance();
      if (!expect(Kw::kSet)) return nullptr;
      s->show = ShowKind::kCharset;
      break;
    case Kw::kOpen:
      advance();
      if (!expect(Kw::kTables)) return nullptr;
      s->show = ShowKind::kOpenTables;
      databaseFollows = true;
      break;
    case Kw::kErrors:
      s->show = ShowKind::kErrors;
      advance();
      break;
    default:
      if (!tok_.is(TokenKind::kWord)) return failUnexpected("what to show");
      s->show = ShowKind::kOther;
      while (!startsFilter(tok_))
        advance();
      break;
  }
  if (s->kindText.empty()) s->kindText = since(kindBegin);
  if (tableFollows) {
    if (!accept(Kw::kFrom) && !expect(Kw::kIn)) return nullptr;
    auto* t = tableName(false);
    if (t == nullptr) return nullptr;
    s->table = t;
    if (accept(Kw::kFrom) || accept(Kw::kIn)) {
      if (!name(s->database, "a database name")) return nullptr;
      if (t->db.empty()) t->db = s->database;  // SHOW COLUMNS FROM t FROM db names db.t
    }
  } else if (databaseFollows && (accept(Kw::kFrom) || accept(Kw::kIn))) {
    if (!name(s->database, "a database name")) return nullptr;
  }
  if (accept(Kw::kLike)) {
    if (!tok_.is(TokenKind::kString)) return failUnexpected("a pattern string");
    s->like = static_cast<const Literal*>(stringLiteral({}, tok_.begin));
    if (s->like == nullptr) return nullptr;
  } else if (accept(Kw::kWhere)) {
    s->where = expr();
    if (s->where == nullptr) return nullptr;
  }
  s->rest = skipRest();
  return s;
}

}  // namespace shardproxy::router::sql::detail
