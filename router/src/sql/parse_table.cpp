// Table references (reference manual 15.2.13.2 JOIN clause, 15.2.15.8 derived tables): comma
// lists, JOIN chains with ON / USING, NATURAL and STRAIGHT_JOIN, parenthesised joins, derived
// tables and LATERAL.
#include <algorithm>

#include "grammar.h"

namespace shardproxy::router::sql::detail {

bool Grammar::tableRefs(List<TableRef>& out) {
  std::size_t mark = listMark();
  do {
    const TableRef* r = tableRef();
    if (r == nullptr) return false;
    listPush(r);
  } while (accept(TokenKind::kComma));
  out = listFinish<TableRef>(mark);
  return true;
}

const TableRef* Grammar::tableRef() {
  const std::uint32_t begin = tok_.begin;
  const TableRef* left = tableFactor();
  while (left != nullptr) {
    JoinKind kind = JoinKind::kInner;
    if (accept(Kw::kJoin)) {
      kind = JoinKind::kInner;
    } else if (accept(Kw::kInner)) {
      if (!expect(Kw::kJoin)) return nullptr;
    } else if (accept(Kw::kCross)) {
      if (!expect(Kw::kJoin)) return nullptr;
      kind = JoinKind::kCross;
    } else if (accept(Kw::kStraightJoin)) {
      kind = JoinKind::kStraight;
    } else if (tok_.is(Kw::kLeft) || tok_.is(Kw::kRight)) {
      kind = tok_.is(Kw::kLeft) ? JoinKind::kLeft : JoinKind::kRight;
      advance();
      accept(Kw::kOuter);
      if (!expect(Kw::kJoin)) return nullptr;
    } else if (accept(Kw::kNatural)) {
      kind = JoinKind::kNatural;
      if (tok_.is(Kw::kLeft) || tok_.is(Kw::kRight)) {
        kind = tok_.is(Kw::kLeft) ? JoinKind::kNaturalLeft : JoinKind::kNaturalRight;
        advance();
        accept(Kw::kOuter);
      } else {
        accept(Kw::kInner);
      }
      if (!expect(Kw::kJoin)) return nullptr;
    } else {
      break;
    }
    left = joinRest(left, begin, kind);
  }
  return left;
}

// The JOIN keyword(s) consumed: the right side and its condition.
const TableRef* Grammar::joinRest(const TableRef* left, std::uint32_t begin, JoinKind kind) {
  auto* j = make<Join>();
  j->join = kind;
  j->left = left;
  j->right = tableFactor();
  if (j->right == nullptr) return nullptr;
  const bool natural = kind == JoinKind::kNatural || kind == JoinKind::kNaturalLeft ||
                       kind == JoinKind::kNaturalRight;
  if (!natural) {
    if (accept(Kw::kOn)) {
      j->on = expr();
      if (j->on == nullptr) return nullptr;
    } else if (tok_.is(Kw::kUsing)) {
      advance();
      if (!nameList(j->usingColumns, "a column name")) return nullptr;
    } else if (kind == JoinKind::kLeft || kind == JoinKind::kRight) {
      return failUnexpected("ON or USING");
    }
  }
  return done(j, begin, 1 + std::max({heightOf(left), heightOf(j->right), heightOf(j->on)}));
}

const TableRef* Grammar::tableFactor() {
  DepthGuard guard(*this);
  if (!guard) return nullptr;
  const std::uint32_t begin = tok_.begin;
  if (tok_.is(TokenKind::kLParen)) {
    if (queryAhead()) return derivedTable(begin, false);
    advance();
    // ( table_references ): a comma list inside parentheses becomes kComma joins.
    const TableRef* inner = tableRef();
    while (inner != nullptr && accept(TokenKind::kComma)) {
      auto* j = make<Join>();
      j->join = JoinKind::kComma;
      j->left = inner;
      j->right = tableRef();
      if (j->right == nullptr) return nullptr;
      inner = done(j, begin, 1 + std::max(heightOf(j->left), heightOf(j->right)));
    }
    if (inner == nullptr || !expect(TokenKind::kRParen, "')'")) return nullptr;
    return inner;
  }
  if (tok_.is(Kw::kLateral)) {
    advance();
    if (!tok_.is(TokenKind::kLParen)) return failUnexpected("'('");
    return derivedTable(begin, true);
  }
  if (peek().is(TokenKind::kLParen) && tok_.is(TokenKind::kWord)) {
    return fail("table functions (JSON_TABLE) are not supported by the router's parser");
  }
  const TableName* name = tableName(true);
  if (name == nullptr) return nullptr;
  auto* t = make<BaseTable>();
  t->table = name;
  return done(t, begin);
}

// tok_ is '(' before the query.
const TableRef* Grammar::derivedTable(std::uint32_t begin, bool lateral) {
  advance();  // (
  auto* d = make<DerivedTable>();
  d->lateral = lateral;
  d->query = query();
  if (d->query == nullptr || !expect(TokenKind::kRParen, "')'")) return nullptr;
  if (!optionalAlias(d->alias, false)) return nullptr;
  if (tok_.is(TokenKind::kLParen) && !nameList(d->columns, "a column name")) return nullptr;
  return done(d, begin, 1 + heightOf(d->query));
}

}  // namespace shardproxy::router::sql::detail
