// Function calls and the expressions with keyword syntax of their own: aggregates (reference
// manual 14.19), GROUP_CONCAT, TRIM / SUBSTRING / EXTRACT / POSITION, CAST and CONVERT (14.10),
// CASE, INTERVAL, EXISTS, ROW(...), MATCH ... AGAINST, window calls (... OVER ...), and the
// CURRENT_TIMESTAMP family that needs no parentheses.
#include <algorithm>
#include <array>

#include "grammar.h"

namespace shardproxy::router::sql::detail {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto ux = static_cast<char>((x >= 'a' && x <= 'z') ? x - 32 : x);
           return ux == y;  // b is upper case
         });
}

template <std::size_t N>
bool oneOf(std::string_view name, const std::array<std::string_view, N>& names) {
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view n) { return iequals(name, n); });
}

// (GROUP_CONCAT and JSON_ARRAYAGG take ORDER BY and LIMIT inside: groupConcatArguments().)
constexpr std::array<std::string_view, 16> kAggregates = {
    "COUNT",    "SUM",     "AVG",      "MIN",           "MAX",        "BIT_AND",
    "BIT_OR",   "BIT_XOR", "STD",      "STDDEV",        "STDDEV_POP", "STDDEV_SAMP",
    "VARIANCE", "VAR_POP", "VAR_SAMP", "JSON_OBJECTAGG"};

constexpr std::array<std::string_view, 20> kIntervalUnits = {"MICROSECOND",
                                                             "SECOND",
                                                             "MINUTE",
                                                             "HOUR",
                                                             "DAY",
                                                             "WEEK",
                                                             "MONTH",
                                                             "QUARTER",
                                                             "YEAR",
                                                             "SECOND_MICROSECOND",
                                                             "MINUTE_MICROSECOND",
                                                             "MINUTE_SECOND",
                                                             "HOUR_MICROSECOND",
                                                             "HOUR_SECOND",
                                                             "HOUR_MINUTE",
                                                             "DAY_MICROSECOND",
                                                             "DAY_SECOND",
                                                             "DAY_MINUTE",
                                                             "DAY_HOUR",
                                                             "YEAR_MONTH"};

}  // namespace

// tok_ is the '(' after the name.
const Expr* Grammar::functionCall(Ident qualifier, Ident name, std::uint32_t begin) {
  DepthGuard guard(*this);
  if (!guard) return nullptr;
  auto* f = make<Function>();
  f->qualifier = qualifier;
  f->name = name;
  const bool builtin = qualifier.empty() && !name.quoted;
  const std::string_view n = name.name;
  bool ok = false;
  bool aggregate = false;
  if (builtin && oneOf(n, kAggregates)) {
    aggregate = true;
    ok = aggregateArguments(f);
  } else if (builtin && (iequals(n, "GROUP_CONCAT") || iequals(n, "JSON_ARRAYAGG"))) {
    aggregate = true;
    ok = groupConcatArguments(f);
  } else if (builtin && iequals(n, "TRIM")) {
    ok = trimArguments(f);
  } else if (builtin && (iequals(n, "SUBSTRING") || iequals(n, "SUBSTR") || iequals(n, "MID"))) {
    ok = substringArguments(f);
  } else if (builtin && iequals(n, "EXTRACT")) {
    ok = extractArguments(f);
  } else if (builtin && iequals(n, "POSITION")) {
    ok = positionArguments(f);
  } else if (builtin && iequals(n, "JSON_TABLE")) {
    return fail("JSON_TABLE is not supported by the router's parser");
  } else {
    ok = genericArguments(f);
  }
  if (!ok) return nullptr;
  if (tok_.is(Kw::kOver) && !overClause(f)) return nullptr;
  if (!f->over.empty()) {
    if (block_ != nullptr) block_->hasWindow = true;
  } else if (aggregate) {
    f->aggregate = true;
    if (block_ != nullptr) block_->hasAggregate = true;
  }
  std::size_t height = std::max(maxHeight(f->args), heightOf(f->separator));
  for (const OrderItem* o : f->orderBy)
    height = std::max(height, heightOf(o->expr));
  return done(f, begin, height + 1);
}

bool Grammar::genericArguments(Function* f) {
  advance();  // (
  std::size_t mark = listMark();
  if (!tok_.is(TokenKind::kRParen)) {
    if (!pushExprs()) return false;
  }
  f->args = listFinish<Expr>(mark);
  // CHAR(n, ... USING charset)
  if (tok_.is(Kw::kUsing)) {
    advance();
    if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent) &&
        !tok_.is(TokenKind::kString)) {
      failUnexpected("a character set name");
      return false;
    }
    f->modifier = textOf(tok_);
    advance();
  }
  return expect(TokenKind::kRParen, "')'");
}

// COUNT(*), COUNT(DISTINCT a, b), SUM(ALL x), ...
bool Grammar::aggregateArguments(Function* f) {
  advance();  // (
  if (tok_.is(TokenKind::kStar)) {
    f->star = true;
    advance();
    return expect(TokenKind::kRParen, "')'");
  }
  if (accept(Kw::kDistinct) || accept(Kw::kDistinctrow)) {
    f->distinct = true;
  } else {
    accept(Kw::kAll);
  }
  std::size_t mark = listMark();
  if (!pushExprs()) return false;
  f->args = listFinish<Expr>(mark);
  return expect(TokenKind::kRParen, "')'");
}

// GROUP_CONCAT([DISTINCT] expr, ... [ORDER BY ...] [LIMIT ...] [SEPARATOR 'str']),
// JSON_ARRAYAGG([DISTINCT] expr [ORDER BY ...] [LIMIT ...]) (the server refuses a SEPARATOR there)
bool Grammar::groupConcatArguments(Function* f) {
  advance();  // (
  f->distinct = accept(Kw::kDistinct) || accept(Kw::kDistinctrow);
  std::size_t mark = listMark();
  if (!pushExprs()) return false;
  f->args = listFinish<Expr>(mark);
  if (tok_.is(Kw::kOrder) && !orderBy(f->orderBy)) return false;
  if (tok_.is(Kw::kLimit)) {
    f->limit = limit();
    if (f->limit == nullptr) return false;
  }
  if (accept(Kw::kSeparator)) {
    f->separator = expr();
    if (f->separator == nullptr) return false;
  }
  return expect(TokenKind::kRParen, "')'");
}

// TRIM([BOTH | LEADING | TRAILING] [remstr] FROM str) | TRIM([remstr FROM] str)
bool Grammar::trimArguments(Function* f) {
  advance();  // (
  if (tok_.is(Kw::kBoth) || tok_.is(Kw::kLeading) || tok_.is(Kw::kTrailing)) {
    f->modifier = textOf(tok_);
    advance();
  }
  std::size_t mark = listMark();
  if (!f->modifier.empty() && tok_.is(Kw::kFrom)) {
    advance();
  } else {
    const Expr* first = expr();
    if (first == nullptr) return false;
    listPush(first);
    if (!accept(Kw::kFrom)) {
      if (!f->modifier.empty()) {
        failUnexpected("FROM");
        return false;
      }
      f->args = listFinish<Expr>(mark);
      return expect(TokenKind::kRParen, "')'");
    }
  }
  const Expr* str = expr();
  if (str == nullptr) return false;
  listPush(str);
  f->args = listFinish<Expr>(mark);
  return expect(TokenKind::kRParen, "')'");
}

// SUBSTRING(str, pos [, len]) | SUBSTRING(str FROM pos [FOR len])
bool Grammar::substringArguments(Function* f) {
  advance();  // (
  std::size_t mark = listMark();
  const Expr* str = expr();
  if (str == nullptr) return false;
  listPush(str);
  if (accept(Kw::kFrom)) {
    const Expr* pos = expr();
    if (pos == nullptr) return false;
    listPush(pos);
    if (accept(Kw::kFor)) {
      const Expr* len = expr();
      if (len == nullptr) return false;
      listPush(len);
    }
  } else {
    if (!pushMoreExprs()) return false;
  }
  f->args = listFinish<Expr>(mark);
  return expect(TokenKind::kRParen, "')'");
}

// EXTRACT(unit FROM date): the unit is `modifier` and also the first argument, a Word.
bool Grammar::extractArguments(Function* f) {
  advance();  // (
  if (!tok_.is(TokenKind::kWord)) {
    failUnexpected("an interval unit");
    return false;
  }
  std::size_t mark = listMark();
  f->modifier = textOf(tok_);
  const Expr* unit = word(f->modifier, tok_.begin);
  if (unit == nullptr || !expect(Kw::kFrom)) return false;
  listPush(unit);
  const Expr* date = expr();
  if (date == nullptr) return false;
  listPush(date);
  f->args = listFinish<Expr>(mark);
  return expect(TokenKind::kRParen, "')'");
}

// POSITION(substr IN str)
bool Grammar::positionArguments(Function* f) {
  advance();  // (
  std::size_t mark = listMark();
  const Expr* sub = expr(kBpCompare + 1);
  if (sub == nullptr) return false;
  listPush(sub);
  if (accept(Kw::kIn)) {
    const Expr* str = expr();
    if (str == nullptr) return false;
    listPush(str);
  } else {
    if (!pushMoreExprs()) return false;  // a user function named position(a, b)
  }
  f->args = listFinish<Expr>(mark);
  return expect(TokenKind::kRParen, "')'");
}

// OVER w | OVER (window spec): kept as written.
bool Grammar::overClause(Function* f) {
  advance();  // OVER
  if (tok_.is(TokenKind::kLParen)) {
    f->over = skipParenthesized();
    return !failed_;
  }
  const std::uint32_t begin = tok_.begin;
  Ident window;
  if (!name(window, "a window name or '('")) return false;
  f->over = since(begin);
  return true;
}

// CAST(expr AS type) | CONVERT(expr, type) | CONVERT(expr USING charset)
const Expr* Grammar::castOrConvert(bool convert) {
  const std::uint32_t begin = tok_.begin;
  advance();  // CAST / CONVERT
  advance();  // (
  auto* c = make<Cast>();
  c->convert = convert;
  c->operand = expr();
  if (c->operand == nullptr) return nullptr;
  if (convert && accept(Kw::kUsing)) {
    if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent) &&
        !tok_.is(TokenKind::kString)) {
      return failUnexpected("a character set name");
    }
    c->charset = textOf(tok_);
    advance();
  } else {
    if (convert ? !expect(TokenKind::kComma, "',' or USING") : !expect(Kw::kAs)) return nullptr;
    // The type, as written: words and parenthesised lengths up to the closing ')'.
    const std::uint32_t typeBegin = tok_.begin;
    while (!tok_.is(TokenKind::kRParen)) {
      if (tok_.is(TokenKind::kLParen)) {
        if (skipParenthesized().empty()) return nullptr;
      } else if (tok_.is(TokenKind::kWord) || tok_.is(TokenKind::kQuotedIdent) ||
                 tok_.is(TokenKind::kString) || tok_.is(TokenKind::kInteger)) {
        advance();
      } else {
        return failUnexpected("a type");
      }
    }
    c->type = since(typeBegin);
    if (c->type.empty()) return failUnexpected("a type");
  }
  if (!expect(TokenKind::kRParen, "')'")) return nullptr;
  return done(c, begin, 1 + heightOf(c->operand));
}

// CASE [operand] WHEN a THEN b ... [ELSE c] END
const Expr* Grammar::caseExpr() {
  const std::uint32_t begin = tok_.begin;
  advance();  // CASE
  auto* c = make<Case>();
  if (!tok_.is(Kw::kWhen)) {
    c->operand = expr();
    if (c->operand == nullptr) return nullptr;
  }
  std::size_t height = heightOf(c->operand);
  std::size_t mark = listMark();
  while (accept(Kw::kWhen)) {
    auto* w = make<WhenClause>();
    w->when = expr();
    if (w->when == nullptr || !expect(Kw::kThen)) return nullptr;
    w->then = expr();
    if (w->then == nullptr) return nullptr;
    height = std::max({height, heightOf(w->when), heightOf(w->then)});
    listPush(w);
  }
  c->whens = listFinish<WhenClause>(mark);
  if (c->whens.empty()) return failUnexpected("WHEN");
  if (accept(Kw::kElse)) {
    c->elseExpr = expr();
    if (c->elseExpr == nullptr) return nullptr;
    height = std::max(height, heightOf(c->elseExpr));
  }
  if (!expect(Kw::kEnd)) return nullptr;
  return done(c, begin, height + 1);
}

// INTERVAL expr unit, or the function INTERVAL(n, n1, n2, ...).
const Expr* Grammar::interval() {
  const std::uint32_t begin = tok_.begin;
  Ident name = nameFromToken(tok_);
  advance();  // INTERVAL
  const Expr* operand = nullptr;
  if (tok_.is(TokenKind::kLParen)) {
    operand = parenthesized();
    if (operand == nullptr) return nullptr;
    if (const Row* row = operand->as<Row>()) {
      auto* f = make<Function>();
      f->name = name;
      f->args = row->items;
      return done(f, begin, 1 + maxHeight(f->args));
    }
  } else {
    operand = expr();
    if (operand == nullptr) return nullptr;
  }
  if (!tok_.is(TokenKind::kWord) || !oneOf(textOf(tok_), kIntervalUnits)) {
    return failUnexpected("an interval unit (DAY, HOUR, ...)");
  }
  auto* i = make<Interval>();
  i->operand = operand;
  i->unit = textOf(tok_);
  advance();
  return done(i, begin, 1 + heightOf(operand));
}

const Expr* Grammar::exists() {
  const std::uint32_t begin = tok_.begin;
  advance();  // EXISTS
  const std::uint32_t paren = tok_.begin;
  if (!expect(TokenKind::kLParen, "'('")) return nullptr;
  const Expr* sub = subquery(paren);
  if (sub == nullptr) return nullptr;
  auto* e = make<Exists>();
  e->query = sub->as<Subquery>()->query;
  return done(e, begin, 1 + heightOf(e->query));
}

const Expr* Grammar::rowConstructor() {
  const std::uint32_t begin = tok_.begin;
  advance();  // ROW
  advance();  // (
  std::size_t mark = listMark();
  if (!pushExprs()) return nullptr;
  if (!expect(TokenKind::kRParen, "')'")) return nullptr;
  auto* row = make<Row>();
  row->items = listFinish<Expr>(mark);
  return done(row, begin, 1 + maxHeight(row->items));
}

// MATCH (col, ...) AGAINST (expr [IN NATURAL LANGUAGE MODE | IN BOOLEAN MODE | WITH QUERY
// EXPANSION])
const Expr* Grammar::match() {
  const std::uint32_t begin = tok_.begin;
  advance();  // MATCH
  advance();  // (
  auto* m = make<Match>();
  std::size_t mark = listMark();
  if (!pushExprs()) return nullptr;
  if (!expect(TokenKind::kRParen, "')'")) return nullptr;
  m->columns = listFinish<Expr>(mark);
  if (!expect(Kw::kAgainst) || !expect(TokenKind::kLParen, "'('")) return nullptr;
  m->against = expr(kBpCompare + 1);
  if (m->against == nullptr) return nullptr;
  const std::uint32_t modifier = tok_.begin;
  while (tok_.is(TokenKind::kWord))
    advance();
  m->modifier = since(modifier);
  if (!expect(TokenKind::kRParen, "')'")) return nullptr;
  return done(m, begin, 1 + std::max(maxHeight(m->columns), heightOf(m->against)));
}

const Expr* Grammar::niladic(Kw /*kw*/) {
  const std::uint32_t begin = tok_.begin;
  auto* f = make<Function>();
  f->name = nameFromToken(tok_);
  f->noParens = true;
  advance();
  return done(f, begin);
}

}  // namespace shardproxy::router::sql::detail
