// Statements about the session rather than rows (reference manual 15.3.1 START TRANSACTION,
// 15.3.4 SAVEPOINT, 15.3.6 LOCK TABLES, 15.7.6.1 SET, 15.7.6.2 SET CHARACTER SET, 15.7.6.3 SET
// NAMES, 15.3.7 SET TRANSACTION, 15.8.4 USE). Forms the proxy has no use for (SET PASSWORD,
// START REPLICA, LOCK INSTANCE, ...) become OtherStatement.
#include "grammar.h"

namespace shardproxy::router::sql::detail {
namespace {

bool scopeOf(Kw kw, VarScope& out) {
  switch (kw) {
    case Kw::kGlobal:
      out = VarScope::kGlobal;
      return true;
    case Kw::kSession:
      out = VarScope::kSession;
      return true;
    case Kw::kLocal:
      out = VarScope::kLocal;
      return true;
    case Kw::kPersist:
      out = VarScope::kPersist;
      return true;
    case Kw::kPersistOnly:
      out = VarScope::kPersistOnly;
      return true;
    default:
      return false;
  }
}

}  // namespace

Statement* Grammar::transactionStatement() {
  const Kw first = tok_.kw;
  if ((first == Kw::kStart && !peek().is(Kw::kTransaction)) ||
      (first == Kw::kBegin && peek().is(Kw::kNot))) {
    return otherStatement();  // START REPLICA ..., BEGIN NOT ATOMIC (a compound statement)
  }
  auto* s = make<TransactionStatement>();
  advance();
  switch (first) {
    case Kw::kBegin:
      s->action = TransactionAction::kBegin;
      accept(Kw::kWork);
      break;
    case Kw::kStart:
      s->action = TransactionAction::kStart;
      advance();  // TRANSACTION
      if (atStatementEnd()) break;
      do {
        if (accept(Kw::kWith)) {
          if (!expect(Kw::kConsistent) || !expect(Kw::kSnapshot)) return nullptr;
          s->consistentSnapshot = true;
        } else if (accept(Kw::kRead)) {
          if (accept(Kw::kOnly)) {
            s->access = AccessMode::kReadOnly;
          } else if (accept(Kw::kWrite)) {
            s->access = AccessMode::kReadWrite;
          } else {
            return failUnexpected("ONLY or WRITE");
          }
        } else {
          return failUnexpected("WITH CONSISTENT SNAPSHOT, READ ONLY or READ WRITE");
        }
      } while (accept(TokenKind::kComma));
      break;
    case Kw::kCommit:
    case Kw::kRollback:
      s->action = first == Kw::kCommit ? TransactionAction::kCommit : TransactionAction::kRollback;
      accept(Kw::kWork);
      if (first == Kw::kRollback && accept(Kw::kTo)) {
        accept(Kw::kSavepoint);
        s->action = TransactionAction::kRollbackToSavepoint;
        if (!name(s->savepoint, "a savepoint name")) return nullptr;
        break;
      }
      if (accept(Kw::kAnd)) {
        s->chain = accept(Kw::kNo) ? Toggle::kNo : Toggle::kYes;
        if (!expect(Kw::kChain)) return nullptr;
      }
      if (accept(Kw::kNo)) {
        s->release = Toggle::kNo;
        if (!expect(Kw::kRelease)) return nullptr;
      } else if (accept(Kw::kRelease)) {
        s->release = Toggle::kYes;
      }
      break;
    case Kw::kSavepoint:
      s->action = TransactionAction::kSavepoint;
      if (!name(s->savepoint, "a savepoint name")) return nullptr;
      break;
    default:  // RELEASE
      s->action = TransactionAction::kReleaseSavepoint;
      if (!expect(Kw::kSavepoint) || !name(s->savepoint, "a savepoint name")) return nullptr;
      break;
  }
  return s;
}

Statement* Grammar::setStatement() {
  const Token& p = peek();
  if (p.is(Kw::kPassword) || p.is(Kw::kRole) || p.is(Kw::kDefault) || p.is(Kw::kStatement) ||
      wordIs(p, "RESOURCE")) {
    return otherStatement();
  }
  advance();  // SET
  auto* s = make<SetStatement>();
  // "The most recent GLOBAL or SESSION modifier in the statement is used for following
  // assignments that have no modifier."
  VarScope scope = VarScope::kNone;
  std::size_t mark = listMark();
  do {
    const SetItem* item = setItem(scope);
    if (item == nullptr) return nullptr;
    listPush(item);
  } while (accept(TokenKind::kComma));
  s->items = listFinish<SetItem>(mark);
  return s;
}

const SetItem* Grammar::setItem(VarScope& scope) {
  const std::uint32_t begin = tok_.begin;
  auto* item = make<SetItem>();
  if (tok_.is(TokenKind::kWord) && !peek().is(TokenKind::kEq) && !peek().is(TokenKind::kAssign) &&
      scopeOf(tok_.kw, scope)) {
    advance();
  }
  item->scope = scope;
  if (accept(Kw::kTransaction)) {
    item->kind = SetItemKind::kTransaction;
    do {
      if (accept(Kw::kIsolation)) {
        if (!expect(Kw::kLevel)) return nullptr;
        const std::uint32_t level = tok_.begin;
        if (accept(Kw::kRead)) {
          if (!accept(Kw::kCommitted) && !expect(Kw::kUncommitted)) return nullptr;
        } else if (accept(Kw::kRepeatable)) {
          if (!expect(Kw::kRead)) return nullptr;
        } else if (!expect(Kw::kSerializable)) {
          return nullptr;
        }
        item->isolation = since(level);
      } else if (accept(Kw::kRead)) {
        if (accept(Kw::kOnly)) {
          item->access = AccessMode::kReadOnly;
        } else if (expect(Kw::kWrite)) {
          item->access = AccessMode::kReadWrite;
        } else {
          return nullptr;
        }
      } else {
        return failUnexpected("ISOLATION LEVEL, READ ONLY or READ WRITE");
      }
    } while (tok_.is(TokenKind::kComma) && (peek().is(Kw::kIsolation) || peek().is(Kw::kRead)) &&
             accept(TokenKind::kComma));
    item->text = since(begin);
    return item;
  }
  if (tok_.is(Kw::kNames) || tok_.is(Kw::kCharset) ||
      (tok_.is(Kw::kCharacter) && peek().is(Kw::kSet))) {
    item->kind = tok_.is(Kw::kNames) ? SetItemKind::kNames : SetItemKind::kCharset;
    if (accept(Kw::kCharacter)) {
      advance();  // SET
    } else {
      advance();
    }
    if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent) &&
        !tok_.is(TokenKind::kString)) {
      return failUnexpected("a character set name");
    }
    item->charset = nameFromToken(tok_);
    advance();
    if (item->kind == SetItemKind::kNames && accept(Kw::kCollate)) {
      if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent) &&
          !tok_.is(TokenKind::kString)) {
        return failUnexpected("a collation name");
      }
      item->collation = nameFromToken(tok_);
      advance();
    }
    item->text = since(begin);
    return item;
  }
  // The variable: @user, @@[scope.]name, or [scope] name[.name].
  if (tok_.is(TokenKind::kUserVar) || tok_.is(TokenKind::kAtAt)) {
    const Expr* e = tok_.is(TokenKind::kUserVar) ? userVariable() : systemVariable();
    if (e == nullptr) return nullptr;
    const auto* v = e->as<Variable>();
    item->userVariable = !v->system;
    item->systemSyntax = v->system;
    item->name = v->name;
    if (v->system) item->scope = v->scope;
  } else {
    if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent)) {
      return failUnexpected("a variable name");
    }
    const std::uint32_t nameBegin = tok_.begin;
    item->name = nameFromToken(tok_);
    advance();
    if (tok_.is(TokenKind::kDot)) {  // a component variable, comp.var
      advance();
      if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent)) {
        return failUnexpected("a variable name");
      }
      advance();
      item->name.text = item->name.name = since(nameBegin);
    }
  }
  if (!accept(TokenKind::kEq) && !expect(TokenKind::kAssign, "'='")) return nullptr;
  const std::uint32_t valueBegin = tok_.begin;
  // SET x = ON | OFF | DEFAULT | ALL | BINARY | ROW | SYSTEM: keywords as values.
  const Token& next = peek();
  const bool alone =
      next.is(TokenKind::kComma) || next.is(TokenKind::kSemicolon) || next.is(TokenKind::kEnd);
  if (alone && (tok_.is(Kw::kOn) || tok_.is(Kw::kDefault) || tok_.is(Kw::kAll) ||
                tok_.is(Kw::kBinary) || tok_.is(Kw::kRow))) {
    item->value = word(textOf(tok_), tok_.begin);
  } else {
    item->value = expr();
  }
  if (item->value == nullptr) return nullptr;
  item->valueText = since(valueBegin);
  item->text = since(begin);
  return item;
}

Statement* Grammar::useStatement() {
  advance();  // USE
  auto* s = make<UseStatement>();
  if (!name(s->database, "a database name")) return nullptr;
  return s;
}

// LOCK {TABLE | TABLES} t [[AS] alias] {READ [LOCAL] | [LOW_PRIORITY] WRITE}, ...
Statement* Grammar::lockStatement() {
  if (!peek().is(Kw::kTables) && !peek().is(Kw::kTable)) return otherStatement();
  advance();  // LOCK
  advance();  // TABLES
  auto* s = make<LockTablesStatement>();
  std::size_t mark = listMark();
  do {
    auto* lock = make<LockedTable>();
    lock->table = tableName(true);
    if (lock->table == nullptr) return nullptr;
    const std::uint32_t mode = tok_.begin;
    if (accept(Kw::kRead)) {
      accept(Kw::kLocal);
    } else {
      accept(Kw::kLowPriority);
      if (!expect(Kw::kWrite)) return nullptr;
      lock->write = true;
    }
    lock->mode = since(mode);
    listPush(lock);
  } while (accept(TokenKind::kComma));
  s->locks = listFinish<LockedTable>(mark);
  return s;
}

Statement* Grammar::unlockStatement() {
  if (!peek().is(Kw::kTables) && !peek().is(Kw::kTable)) return otherStatement();
  advance();
  advance();
  return make<UnlockTablesStatement>();
}

}  // namespace shardproxy::router::sql::detail
