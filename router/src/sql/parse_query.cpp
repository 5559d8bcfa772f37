// Query expressions (reference manual 15.2.13 SELECT, 15.2.18 UNION, 15.2.20 WITH): SELECT
// blocks, set operations, parenthesised queries, ORDER BY, LIMIT, locking reads, INTO.
#include <algorithm>

#include "grammar.h"

namespace shardproxy::router::sql::detail {

Statement* Grammar::selectStatement() {
  const Query* q = query();
  if (q == nullptr) return nullptr;
  auto* s = make<SelectStatement>();
  s->query = q;
  return s;
}

const Query* Grammar::query() {
  DepthGuard guard(*this);
  if (!guard) return nullptr;
  const std::uint32_t begin = tok_.begin;
  const std::size_t cteMark = scratch_.ctes.size();
  List<Cte> with;
  bool recursive = false;
  if (tok_.is(Kw::kWith) && !withClause(with, recursive)) return nullptr;
  Query* first = queryPrimary();
  if (first == nullptr) return nullptr;
  const Query* q = queryTail(first, begin, with, recursive);
  scratch_.ctes.resize(cteMark);  // WITH names are visible inside this query only
  return q;
}

Query* Grammar::queryPrimary() {
  if (tok_.is(Kw::kSelect)) return selectBlock();
  if (tok_.is(TokenKind::kLParen)) {
    advance();
    auto* q = const_cast<Query*>(query());
    if (q == nullptr || !expect(TokenKind::kRParen, "')'")) return nullptr;
    return q;
  }
  return failUnexpected("SELECT");
}

const Query* Grammar::queryTail(Query* first, std::uint32_t begin, List<Cte> with, bool recursive) {
  Query* result = first;
  auto isSetOp = [&] {
    return tok_.is(Kw::kUnion) || tok_.is(Kw::kExcept) || tok_.is(Kw::kIntersect);
  };
  const bool clausesFollow = isSetOp() || tok_.is(Kw::kOrder) || tok_.is(Kw::kLimit);
  // A parenthesised block that already has ORDER BY / LIMIT keeps them; outer ones wrap it.
  const bool wrap = clausesFollow && (first->limit != nullptr || !first->orderBy.empty());
  if (isSetOp() || wrap || (!with.empty() && !first->with.empty())) {
    auto* s = make<SetOperation>();
    std::size_t mark = listMark();
    auto* firstOperand = make<SetOperand>();
    firstOperand->query = first;
    listPush(firstOperand);
    std::size_t height = first->height;
    while (isSetOp()) {
      auto* operand = make<SetOperand>();
      operand->op = tok_.is(Kw::kUnion)    ? SetOp::kUnion
                    : tok_.is(Kw::kExcept) ? SetOp::kExcept
                                           : SetOp::kIntersect;
      advance();
      operand->all = accept(Kw::kAll);
      if (!operand->all) accept(Kw::kDistinct);
      operand->query = queryPrimary();
      if (operand->query == nullptr) return nullptr;
      height = std::max<std::size_t>(height, operand->query->height);
      listPush(operand);
    }
    s->operands = listFinish<SetOperand>(mark);
    s->height = static_cast<std::uint16_t>(std::min<std::size_t>(height + 1, 65535));
    result = s;
  }
  if (!queryClauses(result)) return nullptr;
  if (!with.empty()) {
    result->with = with;
    result->recursive = recursive;
    for (const Cte* c : with) {
      result->height =
          static_cast<std::uint16_t>(std::max<std::size_t>(result->height, heightOf(c->query) + 1));
    }
  }
  return done(result, begin, result->height);
}

bool Grammar::withClause(List<Cte>& out, bool& recursive) {
  advance();  // WITH
  recursive = accept(Kw::kRecursive);
  std::size_t mark = listMark();
  do {
    auto* c = make<Cte>();
    if (!name(c->name, "a WITH query name")) return false;
    if (tok_.is(TokenKind::kLParen) && !nameList(c->columns, "a column name")) return false;
    if (!expect(Kw::kAs) || !expect(TokenKind::kLParen, "'('")) return false;
    scratch_.ctes.push_back(&c->name);  // visible in its own body (WITH RECURSIVE) and after
    c->query = query();
    if (c->query == nullptr || !expect(TokenKind::kRParen, "')'")) return false;
    listPush(c);
  } while (accept(TokenKind::kComma));
  out = listFinish<Cte>(mark);
  return true;
}

SelectBlock* Grammar::selectBlock() {
  const std::uint32_t begin = tok_.begin;
  auto* b = make<SelectBlock>();
  SelectBlock* outer = block_;
  block_ = b;
  advance();  // SELECT
  if (!selectOptions(b) || !selectItems(b)) return nullptr;
  if (tok_.is(Kw::kInto) && !into(b->into)) return nullptr;
  if (accept(Kw::kFrom)) {
    if (!accept(Kw::kDual) && !tableRefs(b->from)) return nullptr;
  }
  if (accept(Kw::kWhere)) {
    b->where = expr();
    if (b->where == nullptr) return nullptr;
  }
  if (tok_.is(Kw::kGroup) && !groupBy(b)) return nullptr;
  if (accept(Kw::kHaving)) {
    b->having = expr();
    if (b->having == nullptr) return nullptr;
  }
  if (tok_.is(Kw::kWindow)) {
    const std::uint32_t w = tok_.begin;
    advance();
    do {
      Ident windowName;
      if (!name(windowName, "a window name") || !expect(Kw::kAs)) return nullptr;
      if (skipParenthesized().empty()) return nullptr;
    } while (accept(TokenKind::kComma));
    b->window = since(w);
  }
  block_ = outer;
  std::size_t height = std::max({heightOf(b->where), heightOf(b->having), maxHeight(b->groupBy)});
  for (const SelectItem* i : b->items)
    height = std::max(height, heightOf(i->expr));
  for (const TableRef* t : b->from)
    height = std::max(height, heightOf(t));
  return done(b, begin, height + 1);
}

bool Grammar::selectOptions(SelectBlock* b) {
  const std::uint32_t begin = tok_.begin;
  for (;;) {
    switch (tok_.is(TokenKind::kWord) ? tok_.kw : Kw::kNone) {
      case Kw::kDistinct:
      case Kw::kDistinctrow:
        b->distinct = true;
        break;
      case Kw::kStraightJoin:
        b->straightJoin = true;
        break;
      case Kw::kSqlCalcFoundRows:
        b->calcFoundRows = true;
        break;
      case Kw::kAll:
      case Kw::kHighPriority:
      case Kw::kSqlSmallResult:
      case Kw::kSqlBigResult:
      case Kw::kSqlBufferResult:
      case Kw::kSqlNoCache:
      case Kw::kSqlCache:
        break;
      default:
        b->options = since(begin);
        return true;
    }
    advance();
  }
}

bool Grammar::selectItems(SelectBlock* b) {
  std::size_t mark = listMark();
  do {
    const std::uint32_t begin = tok_.begin;
    auto* item = make<SelectItem>();
    if (tok_.is(TokenKind::kStar)) {
      advance();
      item->expr = done(make<Star>(), begin);
    } else {
      item->expr = expr();
      if (item->expr == nullptr) return false;
      if (!optionalAlias(item->alias, true)) return false;
    }
    item->text = since(begin);
    listPush(item);
  } while (accept(TokenKind::kComma));
  b->items = listFinish<SelectItem>(mark);
  return true;
}

// GROUP BY expr [ASC | DESC], ... [WITH ROLLUP]
bool Grammar::groupBy(SelectBlock* b) {
  advance();  // GROUP
  if (!expect(Kw::kBy)) return false;
  std::size_t mark = listMark();
  do {
    const Expr* e = expr();
    if (e == nullptr) return false;
    const std::size_t key = listMark() - mark;
    if (!accept(Kw::kAsc) && accept(Kw::kDesc)) {
      if (key < 64) {
        b->groupDesc |= std::uint64_t{1} << key;
      } else {
        b->groupDescPast64 = true;
      }
    }
    listPush(e);
  } while (accept(TokenKind::kComma));
  b->groupBy = listFinish<Expr>(mark);
  if (tok_.is(Kw::kWith) && peek().is(Kw::kRollup)) {
    advance();
    advance();
    b->withRollup = true;
  }
  return true;
}

bool Grammar::orderBy(OrderList& out) {
  advance();  // ORDER
  if (!expect(Kw::kBy)) return false;
  std::size_t mark = listMark();
  do {
    const std::uint32_t begin = tok_.begin;
    auto* o = make<OrderItem>();
    o->expr = expr();
    if (o->expr == nullptr) return false;
    if (accept(Kw::kDesc)) {
      o->desc = true;
    } else {
      accept(Kw::kAsc);
    }
    o->text = since(begin);
    listPush(o);
  } while (accept(TokenKind::kComma));
  out = listFinish<OrderItem>(mark);
  return true;
}

// LIMIT n | LIMIT offset, n | LIMIT n OFFSET offset
const Limit* Grammar::limit() {
  const std::uint32_t begin = tok_.begin;
  advance();  // LIMIT
  auto* l = make<Limit>();
  const Expr* first = limitValue();
  if (first == nullptr) return nullptr;
  if (accept(TokenKind::kComma)) {
    l->offset = first;
    l->count = limitValue();
  } else if (accept(Kw::kOffset)) {
    l->count = first;
    l->offset = limitValue();
  } else {
    l->count = first;
  }
  if (l->count == nullptr || failed_) return nullptr;
  l->text = since(begin);
  return l;
}

// An unsigned integer, a placeholder, or (inside stored routines) a variable name.
const Expr* Grammar::limitValue() {
  if (tok_.is(TokenKind::kInteger)) return numberLiteral(false, tok_.begin);
  if (tok_.is(TokenKind::kPlaceholder)) return placeholder();
  if (atName()) return columnOrFunction();
  return failUnexpected("a number or '?'");
}

// FOR UPDATE | FOR SHARE [OF t, ...] [NOWAIT | SKIP LOCKED | WAIT n] | LOCK IN SHARE MODE,
// possibly several (the strongest wins).
bool Grammar::locking(Locking& out) {
  const std::uint32_t begin = tok_.begin;
  while (tok_.is(Kw::kFor) || (tok_.is(Kw::kLock) && peek().is(Kw::kIn))) {
    LockMode mode = LockMode::kNone;
    if (accept(Kw::kLock)) {
      advance();  // IN
      if (!expect(Kw::kShare) || !expect(Kw::kMode)) return false;
      mode = LockMode::kLockInShareMode;
    } else {
      advance();  // FOR
      if (accept(Kw::kUpdate)) {
        mode = LockMode::kForUpdate;
      } else if (accept(Kw::kShare)) {
        mode = LockMode::kForShare;
      } else {
        failUnexpected("UPDATE or SHARE");
        return false;
      }
      if (accept(Kw::kOf)) {
        do {
          Ident db;
          Ident table;
          if (!qualifiedName(db, table, "a table name")) return false;
        } while (accept(TokenKind::kComma));
      }
      if (accept(Kw::kNowait)) {
        out.nowait = true;
      } else if (accept(Kw::kSkip)) {
        if (!expect(Kw::kLocked)) return false;
        out.skipLocked = true;
      } else if (accept(Kw::kWait)) {
        if (!expect(TokenKind::kInteger, "a number of seconds")) return false;
      }
    }
    if (out.mode != LockMode::kForUpdate) out.mode = mode;
  }
  out.text = since(begin);
  return true;
}

// INTO @v, ... | INTO OUTFILE 'file' [options] | INTO DUMPFILE 'file'
bool Grammar::into(std::string_view& out) {
  const std::uint32_t begin = tok_.begin;
  advance();  // INTO
  if (accept(Kw::kOutfile) || accept(Kw::kDumpfile)) {
    if (!expect(TokenKind::kString, "a file name")) return false;
    // Export options (CHARACTER SET, FIELDS TERMINATED BY ..., LINES ...) up to the next clause.
    while (!atStatementEnd() && !tok_.is(TokenKind::kRParen) && !tok_.is(Kw::kFrom) &&
           !tok_.is(Kw::kWhere) && !tok_.is(Kw::kGroup) && !tok_.is(Kw::kHaving) &&
           !tok_.is(Kw::kOrder) && !tok_.is(Kw::kLimit) && !tok_.is(Kw::kFor) &&
           !tok_.is(Kw::kLock) && !tok_.is(Kw::kUnion) && !tok_.is(Kw::kExcept) &&
           !tok_.is(Kw::kIntersect) && !tok_.is(Kw::kWindow)) {
      advance();
    }
  } else {
    do {
      if (tok_.is(TokenKind::kUserVar) || atName()) {
        advance();
      } else {
        failUnexpected("a variable");
        return false;
      }
    } while (accept(TokenKind::kComma));
  }
  out = since(begin);
  return true;
}

bool Grammar::queryClauses(Query* q) {
  SelectBlock* outer = block_;
  if (q->kind == QueryKind::kSelect) block_ = static_cast<SelectBlock*>(q);
  std::size_t height = q->height > 0 ? q->height - 1 : 0;
  if (tok_.is(Kw::kOrder)) {
    if (!orderBy(q->orderBy)) return false;
    for (const OrderItem* o : q->orderBy)
      height = std::max(height, heightOf(o->expr));
  }
  if (tok_.is(Kw::kLimit)) {
    q->limit = limit();
    if (q->limit == nullptr) return false;
  }
  if (tok_.is(Kw::kInto) && !into(q->into)) return false;
  if ((tok_.is(Kw::kFor) || tok_.is(Kw::kLock)) && !locking(q->locking)) return false;
  if (tok_.is(Kw::kInto) && !into(q->into)) return false;
  block_ = outer;
  if (height + 1 > options_.maxHeight) {
    tooHigh();
    return false;
  }
  q->height = static_cast<std::uint16_t>(height + 1);
  return true;
}

}  // namespace shardproxy::router::sql::detail
