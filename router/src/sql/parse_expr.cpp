// Expressions: a Pratt parser over MySQL's operator precedence (reference manual 12.4.1). The
// infix operators are a table — binding power and form per token — and each form is one function.
// Primaries (literals, names, variables, parentheses) are in parse_primary.cpp.
#include <algorithm>
#include <array>

#include "grammar.h"

namespace shardproxy::router::sql::detail {
namespace {

enum class Form : std::uint8_t {
  kNone,
  kBinary,   // left-associative: the right side binds one level tighter
  kAssign,   // := is right-associative
  kCompare,  // = <=> <> < <= > >= (and = ANY (subquery))
  kAnd,
  kOr,
  kIs,
  kIn,
  kLike,
  kRegexp,
  kBetween,
  kNot,  // NOT IN / NOT LIKE / NOT REGEXP / NOT BETWEEN
  kSounds,
  kMember,
  kCollate,
};

struct InfixOp {
  Form form = Form::kNone;
  int bp = 0;
  BinaryOp op = BinaryOp::kEq;
};

constexpr std::size_t kTokenKinds = static_cast<std::size_t>(TokenKind::kOther) + 1;

constexpr std::array<InfixOp, kTokenKinds> kPunctuation = [] {
  std::array<InfixOp, kTokenKinds> t{};
  auto set = [&](TokenKind k, Form f, int bp, BinaryOp op = BinaryOp::kEq) {
    t[static_cast<std::size_t>(k)] = InfixOp{f, bp, op};
  };
  set(TokenKind::kOrOr, Form::kOr, kBpOr);  // || under PIPES_AS_CONCAT: see infixOf()
  set(TokenKind::kAndAnd, Form::kAnd, kBpAnd);
  set(TokenKind::kEq, Form::kCompare, kBpCompare, BinaryOp::kEq);
  set(TokenKind::kNullSafeEq, Form::kCompare, kBpCompare, BinaryOp::kNullSafeEq);
  set(TokenKind::kNe, Form::kCompare, kBpCompare, BinaryOp::kNe);
  set(TokenKind::kLt, Form::kCompare, kBpCompare, BinaryOp::kLt);
  set(TokenKind::kLe, Form::kCompare, kBpCompare, BinaryOp::kLe);
  set(TokenKind::kGt, Form::kCompare, kBpCompare, BinaryOp::kGt);
  set(TokenKind::kGe, Form::kCompare, kBpCompare, BinaryOp::kGe);
  set(TokenKind::kBitOr, Form::kBinary, kBpBitOr, BinaryOp::kBitOr);
  set(TokenKind::kBitAnd, Form::kBinary, kBpBitAnd, BinaryOp::kBitAnd);
  set(TokenKind::kShl, Form::kBinary, kBpShift, BinaryOp::kShl);
  set(TokenKind::kShr, Form::kBinary, kBpShift, BinaryOp::kShr);
  set(TokenKind::kPlus, Form::kBinary, kBpAdd, BinaryOp::kAdd);
  set(TokenKind::kMinus, Form::kBinary, kBpAdd, BinaryOp::kSub);
  set(TokenKind::kStar, Form::kBinary, kBpMul, BinaryOp::kMul);
  set(TokenKind::kSlash, Form::kBinary, kBpMul, BinaryOp::kDiv);
  set(TokenKind::kPercent, Form::kBinary, kBpMul, BinaryOp::kMod);
  set(TokenKind::kCaret, Form::kBinary, kBpBitXor, BinaryOp::kBitXor);
  set(TokenKind::kAssign, Form::kAssign, kBpAssign, BinaryOp::kAssign);
  set(TokenKind::kArrow, Form::kBinary, kBpJson, BinaryOp::kJsonExtract);
  set(TokenKind::kArrow2, Form::kBinary, kBpJson, BinaryOp::kJsonUnquoteExtract);
  return t;
}();

struct KeywordOp {
  Kw kw = Kw::kNone;
  InfixOp op;
};

constexpr std::array<KeywordOp, 15> kKeywordOps = {{
    {Kw::kOr, {Form::kOr, kBpOr}},
    {Kw::kXor, {Form::kBinary, kBpXor, BinaryOp::kXor}},
    {Kw::kAnd, {Form::kAnd, kBpAnd}},
    {Kw::kDiv, {Form::kBinary, kBpMul, BinaryOp::kIntDiv}},
    {Kw::kMod, {Form::kBinary, kBpMul, BinaryOp::kMod}},
    {Kw::kIs, {Form::kIs, kBpCompare}},
    {Kw::kIn, {Form::kIn, kBpCompare}},
    {Kw::kLike, {Form::kLike, kBpCompare}},
    {Kw::kRegexp, {Form::kRegexp, kBpCompare}},
    {Kw::kRlike, {Form::kRegexp, kBpCompare}},
    {Kw::kBetween, {Form::kBetween, kBpBetween}},
    {Kw::kSounds, {Form::kSounds, kBpCompare}},
    {Kw::kMember, {Form::kMember, kBpCompare}},
    {Kw::kCollate, {Form::kCollate, kBpCollate}},
    {Kw::kNot, {Form::kNot, kBpCompare}},  // NOT IN / LIKE / REGEXP / BETWEEN, see infix()
}};

InfixOp infixOf(const Token& t, bool pipesAsConcat) {
  if (t.is(TokenKind::kOrOr) && pipesAsConcat) return {Form::kBinary, kBpConcat, BinaryOp::kConcat};
  if (!t.is(TokenKind::kWord)) return kPunctuation[static_cast<std::size_t>(t.kind)];
  for (const KeywordOp& k : kKeywordOps) {
    if (k.kw == t.kw) return k.op;
  }
  return {};
}

// tok_ is IN / LIKE / REGEXP / RLIKE / BETWEEN (after NOT when negated).
const Expr* negatable(Grammar& g, const Expr* left, std::uint32_t begin, Form form, bool negated) {
  g.advance();
  switch (form) {
    case Form::kIn:
      return g.inList(left, begin, negated);
    case Form::kLike:
      return g.like(left, begin, negated, false);
    case Form::kRegexp:
      return g.like(left, begin, negated, true);
    default:
      return g.between(left, begin, negated);
  }
}

}  // namespace

const Expr* Grammar::expr(int minBp) {
  DepthGuard guard(*this);
  if (!guard) return nullptr;
  const std::uint32_t begin = tok_.begin;
  const Expr* left = prefix();
  while (left != nullptr) {
    bool stop = false;
    const Expr* next = infix(left, begin, minBp, stop);
    if (stop) break;
    left = next;
  }
  return left;
}

// Applies the operator at tok_ to `left` if it binds at least as tightly as minBp; otherwise
// sets `stop`. Left-associative operators parse their right side one level tighter.

// Applies the operator at tok_ to `left` if it binds at least as tightly as minBp; otherwise
// sets `stop`.
const Expr* Grammar::infix(const Expr* left, std::uint32_t begin, int minBp, bool& stop) {
  InfixOp op = infixOf(tok_, options_.pipesAsConcat);
  if (op.form == Form::kNot) {
    // NOT in infix position: NOT IN, NOT LIKE, NOT REGEXP / RLIKE, NOT BETWEEN.
    op = infixOf(peek(), false);
    if (op.form != Form::kIn && op.form != Form::kLike && op.form != Form::kRegexp &&
        op.form != Form::kBetween) {
      stop = true;
      return left;
    }
    stop = op.bp < minBp;
    if (stop) return left;
    advance();  // NOT
    return negatable(*this, left, begin, op.form, true);
  }
  stop = op.form == Form::kNone || op.bp < minBp;
  if (stop) return left;
  switch (op.form) {
    case Form::kBinary:
      return binary(left, begin, op.op, op.bp + 1);
    case Form::kAssign:
      return binary(left, begin, op.op, op.bp);
    case Form::kCompare:
      return comparison(left, begin, op.op);
    case Form::kAnd:
      return logicalChain(left, begin, LogicalOp::kAnd);
    case Form::kOr:
      return logicalChain(left, begin, LogicalOp::kOr);
    case Form::kIs:
      return isTest(left, begin);
    case Form::kIn:
    case Form::kLike:
    case Form::kRegexp:
    case Form::kBetween:
      return negatable(*this, left, begin, op.form, false);
    case Form::kSounds:
      return soundsLike(left, begin);
    case Form::kMember:
      return memberOf(left, begin);
    case Form::kCollate:
      return collate(left, begin);
    default:
      return left;
  }
}

const Expr* Grammar::soundsLike(const Expr* left, std::uint32_t begin) {
  advance();  // SOUNDS
  if (!tok_.is(Kw::kLike)) return failUnexpected("LIKE");
  return binary(left, begin, BinaryOp::kSoundsLike, kBpCompare + 1);
}

// x MEMBER OF (json)
const Expr* Grammar::memberOf(const Expr* left, std::uint32_t begin) {
  advance();  // MEMBER
  if (!accept(Kw::kOf)) return failUnexpected("OF");
  if (!tok_.is(TokenKind::kLParen)) return failUnexpected("'('");
  auto* b = make<Binary>();
  b->op = BinaryOp::kMemberOf;
  b->left = left;
  b->right = parenthesized();
  if (b->right == nullptr) return nullptr;
  return done(b, begin, 1 + std::max(heightOf(left), heightOf(b->right)));
}

const Expr* Grammar::binary(const Expr* left, std::uint32_t begin, BinaryOp op, int rightBp) {
  advance();
  const Expr* right = expr(rightBp);
  if (right == nullptr) return nullptr;
  auto* b = make<Binary>();
  b->op = op;
  b->left = left;
  b->right = right;
  return done(b, begin, 1 + std::max(heightOf(left), heightOf(right)));
}

const Expr* Grammar::comparison(const Expr* left, std::uint32_t begin, BinaryOp op) {
  advance();
  Quantifier q = Quantifier::kNone;
  if ((tok_.is(Kw::kAny) || tok_.is(Kw::kSome) || tok_.is(Kw::kAll)) &&
      peek().is(TokenKind::kLParen)) {
    q = tok_.is(Kw::kAll) ? Quantifier::kAll : Quantifier::kAny;
    advance();
  }
  const Expr* right = nullptr;
  if (q != Quantifier::kNone) {
    const std::uint32_t sub = tok_.begin;
    advance();  // (
    right = subquery(sub);
  } else {
    right = expr(kBpCompare + 1);
  }
  if (right == nullptr) return nullptr;
  auto* b = make<Binary>();
  b->op = op;
  b->quantifier = q;
  b->left = left;
  b->right = right;
  return done(b, begin, 1 + std::max(heightOf(left), heightOf(right)));
}

const Expr* Grammar::logicalChain(const Expr* left, std::uint32_t begin, LogicalOp op) {
  auto isOp = [&] {
    if (op == LogicalOp::kAnd) return tok_.is(Kw::kAnd) || tok_.is(TokenKind::kAndAnd);
    return tok_.is(Kw::kOr) || (tok_.is(TokenKind::kOrOr) && !options_.pipesAsConcat);
  };
  const int bp = op == LogicalOp::kAnd ? kBpAnd : kBpOr;
  std::size_t mark = listMark();
  listPush(left);
  std::size_t height = heightOf(left);
  while (isOp()) {
    advance();
    const Expr* right = expr(bp + 1);
    if (right == nullptr) return nullptr;
    listPush(right);
    height = std::max(height, heightOf(right));
  }
  auto* l = make<Logical>();
  l->op = op;
  l->operands = listFinish<Expr>(mark);
  return done(l, begin, height + 1);
}

const Expr* Grammar::isTest(const Expr* left, std::uint32_t begin) {
  advance();  // IS
  auto* t = make<IsTest>();
  t->operand = left;
  t->negated = accept(Kw::kNot);
  if (tok_.is(Kw::kNull)) {
    t->what = IsWhat::kNull;
  } else if (tok_.is(Kw::kTrue)) {
    t->what = IsWhat::kTrue;
  } else if (tok_.is(Kw::kFalse)) {
    t->what = IsWhat::kFalse;
  } else if (tok_.is(Kw::kUnknown)) {
    t->what = IsWhat::kUnknown;
  } else {
    return failUnexpected("NULL, TRUE, FALSE or UNKNOWN");
  }
  advance();
  return done(t, begin, 1 + heightOf(left));
}

// IN / NOT IN already consumed.
const Expr* Grammar::inList(const Expr* left, std::uint32_t begin, bool negated) {
  const std::uint32_t listBegin = tok_.begin;
  if (!expect(TokenKind::kLParen, "'('")) return nullptr;
  auto* in = make<In>();
  in->operand = left;
  in->negated = negated;
  std::size_t height = heightOf(left);
  if (startsQuery(tok_)) {
    in->subquery = query();
    if (in->subquery == nullptr || !expect(TokenKind::kRParen, "')'")) return nullptr;
    noteSubquery();
    height = std::max(height, heightOf(in->subquery));
  } else {
    std::size_t mark = listMark();
    if (!pushExprs()) return nullptr;
    if (!expect(TokenKind::kRParen, "')'")) return nullptr;
    in->list = listFinish<Expr>(mark);
    height = std::max(height, maxHeight(in->list));
  }
  in->listText = since(listBegin);
  return done(in, begin, height + 1);
}

// LIKE / REGEXP (and NOT) already consumed.
const Expr* Grammar::like(const Expr* left, std::uint32_t begin, bool negated, bool regexp) {
  auto* l = make<Like>();
  l->operand = left;
  l->negated = negated;
  l->regexp = regexp;
  l->pattern = expr(kBpCompare + 1);
  if (l->pattern == nullptr) return nullptr;
  if (!regexp && accept(Kw::kEscape)) {
    l->escape = expr(kBpCompare + 1);
    if (l->escape == nullptr) return nullptr;
  }
  return done(l, begin, 1 + std::max({heightOf(left), heightOf(l->pattern), heightOf(l->escape)}));
}

// BETWEEN (and NOT) already consumed. The bounds stop before AND: a BETWEEN 1 AND 2 AND b.
const Expr* Grammar::between(const Expr* left, std::uint32_t begin, bool negated) {
  auto* b = make<Between>();
  b->operand = left;
  b->negated = negated;
  b->low = expr(kBpBitOr);
  if (b->low == nullptr || !expect(Kw::kAnd)) return nullptr;
  b->high = expr(kBpBitOr);
  if (b->high == nullptr) return nullptr;
  return done(b, begin, 1 + std::max({heightOf(left), heightOf(b->low), heightOf(b->high)}));
}

const Expr* Grammar::collate(const Expr* left, std::uint32_t begin) {
  advance();  // COLLATE
  if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent) &&
      !tok_.is(TokenKind::kString)) {
    return failUnexpected("a collation name");
  }
  auto* c = make<Collate>();
  c->operand = left;
  c->collation = nameFromToken(tok_);
  advance();
  return done(c, begin, 1 + heightOf(left));
}

}  // namespace shardproxy::router::sql::detail
