// Primary expressions (reference manual 11.1 literals, 11.2 names, 11.4 variables): numbers with a
// folded sign, strings (joined, decoded only when needed), hex / bit literals, introducers,
// placeholders, @user and @@system variables, parenthesised expressions, rows and subqueries,
// names and the keyword-led forms dispatched to parse_function.cpp.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

#include "grammar.h"

namespace shardproxy::router::sql {

std::optional<std::int64_t> Literal::asInt64() const {
  if (type != LiteralType::kInteger) return std::nullopt;
  constexpr std::uint64_t kMinMagnitude = std::uint64_t{1} << 63;
  if (negative) {
    if (magnitude > kMinMagnitude) return std::nullopt;
    return magnitude == kMinMagnitude ? std::numeric_limits<std::int64_t>::min()
                                      : -static_cast<std::int64_t>(magnitude);
  }
  if (magnitude >= kMinMagnitude) return std::nullopt;
  return static_cast<std::int64_t>(magnitude);
}

std::optional<std::uint64_t> Literal::asUint64() const {
  if (type != LiteralType::kInteger || (negative && magnitude != 0)) return std::nullopt;
  return magnitude;
}

namespace detail {
namespace {

// Character sets that may introduce a literal (_utf8mb4'x'); a leading-underscore word that is
// not one of them is a plain name.
constexpr std::array<std::string_view, 42> kCharsets = {
    "armscii8", "ascii",    "big5",    "binary",   "cp1250", "cp1251",  "cp1256",
    "cp1257",   "cp850",    "cp852",   "cp866",    "cp932",  "dec8",    "eucjpms",
    "euckr",    "filename", "gb18030", "gb2312",   "gbk",    "geostd8", "greek",
    "hebrew",   "hp8",      "keybcs2", "koi8r",    "koi8u",  "latin1",  "latin2",
    "latin5",   "latin7",   "macce",   "macroman", "sjis",   "swe7",    "tis620",
    "ucs2",     "ujis",     "utf16",   "utf16le",  "utf32",  "utf8",    "utf8mb4"};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lx = static_cast<char>((x >= 'A' && x <= 'Z') ? x + 32 : x);
           auto ly = static_cast<char>((y >= 'A' && y <= 'Z') ? y + 32 : y);
           return lx == ly;
         });
}

bool isCharsetName(std::string_view s) {
  if (iequals(s, "utf8mb3")) return true;
  return std::any_of(kCharsets.begin(), kCharsets.end(),
                     [&](std::string_view c) { return iequals(s, c); });
}

bool isNumber(const Token& t) {
  return t.is(TokenKind::kInteger) || t.is(TokenKind::kDecimal) || t.is(TokenKind::kFloat);
}

bool isBitsOrHex(const Token& t) {
  return t.is(TokenKind::kHexString) || t.is(TokenKind::kBitString) ||
         t.is(TokenKind::kHexNumber) || t.is(TokenKind::kBitNumber);
}

}  // namespace

const Expr* Grammar::unary(UnaryOp op, int operandBp) {
  const std::uint32_t begin = tok_.begin;
  advance();
  const Expr* operand = expr(operandBp);
  if (operand == nullptr) return nullptr;
  auto* u = make<Unary>();
  u->op = op;
  u->operand = operand;
  return done(u, begin, 1 + heightOf(operand));
}

// A minus sign directly before a number is folded into the literal, so `id = -5` compares a
// column with a literal the planner can hash.
const Expr* Grammar::negative() {
  if (!isNumber(peek())) return unary(UnaryOp::kNeg, kBpUnary);
  const std::uint32_t begin = tok_.begin;
  advance();
  return numberLiteral(true, begin);
}

const Expr* Grammar::numberLiteral(bool negative, std::uint32_t begin) {
  auto* l = make<Literal>();
  l->negative = negative;
  std::string_view digits = textOf(tok_);
  l->value = digits;
  if (tok_.is(TokenKind::kInteger)) {
    std::uint64_t v = 0;
    bool overflow = false;
    for (char c : digits) {
      auto d = static_cast<std::uint64_t>(c - '0');
      if (v > (UINT64_MAX - d) / 10) {
        overflow = true;
        break;
      }
      v = v * 10 + d;
    }
    constexpr std::uint64_t kMinMagnitude = std::uint64_t{1} << 63;
    if (overflow || (negative && v > kMinMagnitude)) {
      l->type = LiteralType::kDecimal;
    } else {
      l->type = LiteralType::kInteger;
      l->magnitude = v;
    }
  } else {
    l->type = tok_.is(TokenKind::kFloat) ? LiteralType::kFloat : LiteralType::kDecimal;
  }
  advance();
  return done(l, begin);
}

// 'a' 'b' is one literal 'ab' (11.1.1). The joined value is decoded into the arena only when
// there is more than one part or a part has escapes; otherwise it is a view of the text.
const Expr* Grammar::stringLiteral(std::string_view charset, std::uint32_t begin) {
  auto* l = make<Literal>();
  l->type = LiteralType::kString;
  l->charset = charset;
  l->national = tok_.is(TokenKind::kNationalString);
  const Token first = tok_;
  bool decode = first.needsDecoding;
  advance();
  Token last = first;
  while (tok_.is(TokenKind::kString)) {
    decode = true;
    last = tok_;
    advance();
  }
  if (failed_) return nullptr;
  const std::uint32_t contentStart = first.begin + (l->national ? 2 : 1);
  if (!decode) {
    l->value = sql_.substr(contentStart, first.end - 1 - contentStart);
    return done(l, begin);
  }
  // Decode every part again with a private lexer over the same text (comments may sit between
  // parts), into one buffer no larger than the text they span.
  char* out = arena_.allocateChars(last.end - first.begin);
  std::size_t n = 0;
  LexOptions lexOptions = options_.lex;
  Lexer again(sql_, lexOptions, HintSink(nullptr), first.begin);
  for (Token t = again.next();
       t.begin < last.end && !t.is(TokenKind::kEnd) && !t.is(TokenKind::kError); t = again.next()) {
    if (!t.is(TokenKind::kString) && !t.is(TokenKind::kNationalString)) continue;
    std::uint32_t from = t.begin + (t.is(TokenKind::kNationalString) ? 2 : 1);
    std::string_view content = sql_.substr(from, t.end - 1 - from);
    n += decodeString(content, sql_[t.end - 1], !options_.lex.noBackslashEscapes, out + n,
                      options_.lex.charset);
  }
  l->value = std::string_view(out, n);
  return done(l, begin);
}

const Expr* Grammar::bitsOrHexLiteral(std::string_view charset, std::uint32_t begin) {
  auto* l = make<Literal>();
  l->charset = charset;
  std::string_view t = textOf(tok_);
  if (tok_.is(TokenKind::kHexString) || tok_.is(TokenKind::kBitString)) {
    l->value = t.substr(2, t.size() - 3);
  } else {
    l->value = t.substr(2);
  }
  l->type = (tok_.is(TokenKind::kHexString) || tok_.is(TokenKind::kHexNumber)) ? LiteralType::kHex
                                                                               : LiteralType::kBits;
  advance();
  return done(l, begin);
}

const Expr* Grammar::keywordLiteral(LiteralType type) {
  const std::uint32_t begin = tok_.begin;
  auto* l = make<Literal>();
  l->type = type;
  l->value = textOf(tok_);
  advance();
  return done(l, begin);
}

const Expr* Grammar::temporalLiteral() {
  const std::uint32_t begin = tok_.begin;
  std::string_view type = textOf(tok_);
  advance();
  auto* l = const_cast<Literal*>(static_cast<const Literal*>(stringLiteral({}, begin)));
  if (l == nullptr) return nullptr;
  l->type = LiteralType::kTemporal;
  l->temporal = type;
  return l;
}

const Expr* Grammar::placeholder() {
  const std::uint32_t begin = tok_.begin;
  auto* p = make<Placeholder>();
  p->index = placeholders_;  // advance() counts it
  advance();
  return done(p, begin);
}

const Expr* Grammar::userVariable() {
  const std::uint32_t begin = tok_.begin;
  auto* v = make<Variable>();
  std::string_view t = textOf(tok_);
  v->name.text = t.substr(1);
  v->name.name = v->name.text;
  if (char q = t.size() > 1 ? t[1] : '\0'; q == '\'' || q == '"' || q == '`') {
    v->name.quoted = true;
    std::string_view content = t.substr(2, t.size() - 3);
    v->name.name = tok_.needsDecoding ? decodeToArena(content, q, q != '`') : content;
  }
  advance();
  return done(v, begin);
}

// @@name, @@global.name, @@session.name, @@local.name, @@persist.name, @@comp.name.
const Expr* Grammar::systemVariable() {
  const std::uint32_t begin = tok_.begin;
  advance();  // @@
  auto* v = make<Variable>();
  v->system = true;
  if (tok_.is(TokenKind::kWord) && peek().is(TokenKind::kDot)) {
    switch (tok_.kw) {
      case Kw::kGlobal:
        v->scope = VarScope::kGlobal;
        break;
      case Kw::kSession:
        v->scope = VarScope::kSession;
        break;
      case Kw::kLocal:
        v->scope = VarScope::kLocal;
        break;
      case Kw::kPersist:
        v->scope = VarScope::kPersist;
        break;
      case Kw::kPersistOnly:
        v->scope = VarScope::kPersistOnly;
        break;
      default:
        break;
    }
    if (v->scope != VarScope::kNone) {
      advance();
      advance();
    }
  }
  if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent)) {
    return failUnexpected("a variable name");
  }
  const std::uint32_t nameBegin = tok_.begin;
  v->name = nameFromToken(tok_);
  advance();
  if (tok_.is(TokenKind::kDot) &&
      (peek().is(TokenKind::kWord) || peek().is(TokenKind::kQuotedIdent))) {
    advance();
    advance();
    v->name.text = v->name.name = since(nameBegin);  // a component variable: comp.var
  }
  return done(v, begin);
}

// ( expr ), ( expr, expr ... ) a row, or ( query ) a subquery.
const Expr* Grammar::parenthesized() {
  const std::uint32_t begin = tok_.begin;
  advance();  // (
  if (startsQuery(tok_)) return subquery(begin);
  std::size_t mark = listMark();
  const Expr* first = expr();
  if (first == nullptr) return nullptr;
  // ((SELECT ...) UNION (SELECT ...)): the first operand parsed as a subquery; continue the query.
  if (const auto* sub = first->as<Subquery>();
      sub != nullptr && (tok_.is(Kw::kUnion) || tok_.is(Kw::kExcept) || tok_.is(Kw::kIntersect) ||
                         tok_.is(Kw::kOrder) || tok_.is(Kw::kLimit))) {
    const auto subBegin = static_cast<std::uint32_t>(sub->text.data() - sql_.data());
    const Query* q = queryTail(const_cast<Query*>(sub->query), subBegin, {}, false);
    if (q == nullptr || !expect(TokenKind::kRParen, "')'")) return nullptr;
    auto* s = make<Subquery>();
    s->query = q;
    return done(s, begin, 1 + heightOf(q));
  }
  listPush(first);
  if (!pushMoreExprs()) return nullptr;
  if (!expect(TokenKind::kRParen, "')'")) return nullptr;
  ExprList items = listFinish<Expr>(mark);
  if (items.size() == 1) return items[0];
  auto* row = make<Row>();
  row->items = items;
  return done(row, begin, 1 + maxHeight(items));
}

// '(' consumed at `begin`; tok_ starts the query.
const Expr* Grammar::subquery(std::uint32_t begin) {
  const Query* q = query();
  if (q == nullptr || !expect(TokenKind::kRParen, "')'")) return nullptr;
  noteSubquery();
  auto* s = make<Subquery>();
  s->query = q;
  return done(s, begin, 1 + heightOf(q));
}

void Grammar::noteSubquery() {
  if (block_ != nullptr) block_->hasSubquery = true;
}

bool Grammar::isCharsetIntroducer() {
  std::string_view t = textOf(tok_);
  if (t.size() < 2 || t[0] != '_' || !isCharsetName(t.substr(1))) return false;
  const Token& p = peek();
  return p.is(TokenKind::kString) || isBitsOrHex(p);
}

const Expr* Grammar::prefix() {
  switch (tok_.kind) {
    case TokenKind::kInteger:
    case TokenKind::kDecimal:
    case TokenKind::kFloat:
      return numberLiteral(false, tok_.begin);
    case TokenKind::kString:
    case TokenKind::kNationalString:
      return stringLiteral({}, tok_.begin);
    case TokenKind::kHexString:
    case TokenKind::kBitString:
    case TokenKind::kHexNumber:
    case TokenKind::kBitNumber:
      return bitsOrHexLiteral({}, tok_.begin);
    case TokenKind::kPlaceholder:
      return placeholder();
    case TokenKind::kUserVar:
      return userVariable();
    case TokenKind::kAtAt:
      return systemVariable();
    case TokenKind::kLParen:
      return parenthesized();
    case TokenKind::kMinus:
      return negative();
    case TokenKind::kPlus:
      return unary(UnaryOp::kPlus, kBpUnary);
    case TokenKind::kTilde:
      return unary(UnaryOp::kBitNot, kBpUnary);
    case TokenKind::kBang:
      return unary(UnaryOp::kNot, kBpBang);
    case TokenKind::kWord:
      return wordPrefix();
    case TokenKind::kQuotedIdent:
      return columnOrFunction();
    default:
      return failUnexpected("an expression");
  }
}

const Expr* Grammar::wordPrefix() {
  const bool call = peek().is(TokenKind::kLParen);
  switch (tok_.kw) {
    case Kw::kNull:
      return keywordLiteral(LiteralType::kNull);
    case Kw::kTrue:
      return keywordLiteral(LiteralType::kTrue);
    case Kw::kFalse:
      return keywordLiteral(LiteralType::kFalse);
    case Kw::kNot:
      return unary(UnaryOp::kNot, kBpNot + 1);
    case Kw::kBinary:
      return unary(UnaryOp::kBinary, kBpCollate);
    case Kw::kExists:
      return exists();
    case Kw::kCase:
      return caseExpr();
    case Kw::kInterval:
      return interval();
    case Kw::kCast:
    case Kw::kConvert:
      if (call) return castOrConvert(tok_.is(Kw::kConvert));
      break;
    case Kw::kRow:
      if (call) return rowConstructor();
      break;
    case Kw::kMatch:
      if (call) return match();
      break;
    case Kw::kDefault:
      if (!call) return word(textOf(tok_), tok_.begin);
      break;
    case Kw::kDate:
    case Kw::kTime:
    case Kw::kTimestamp:
      if (peek().is(TokenKind::kString)) return temporalLiteral();
      break;
    case Kw::kCurrentDate:
    case Kw::kCurrentTime:
    case Kw::kCurrentTimestamp:
    case Kw::kLocaltime:
    case Kw::kLocaltimestamp:
    case Kw::kUtcDate:
    case Kw::kUtcTime:
    case Kw::kUtcTimestamp:
    case Kw::kCurrentUser:
      if (!call) return niladic(tok_.kw);
      break;
    default:
      break;
  }
  if (tok_.kw == Kw::kNone && isCharsetIntroducer()) {
    const std::uint32_t begin = tok_.begin;
    std::string_view charset = textOf(tok_).substr(1);
    advance();
    return tok_.is(TokenKind::kString) ? stringLiteral(charset, begin)
                                       : bitsOrHexLiteral(charset, begin);
  }
  if (!call && isReserved(tok_.kw)) return failUnexpected("an expression");
  return columnOrFunction();
}

// name, name(...), a.b, a.b(...), a.b.c, a.*, a.b.*
const Expr* Grammar::columnOrFunction() {
  const std::uint32_t begin = tok_.begin;
  Ident parts[3];
  std::size_t n = 0;
  parts[n++] = nameFromToken(tok_);
  advance();
  for (;;) {
    if (tok_.is(TokenKind::kLParen) && n <= 2) {
      return functionCall(n == 2 ? parts[0] : Ident{}, parts[n - 1], begin);
    }
    if (!tok_.is(TokenKind::kDot) || n == 3) break;
    advance();
    if (tok_.is(TokenKind::kStar) && n <= 2) {
      advance();
      auto* s = make<Star>();
      s->table = parts[n - 1];
      if (n == 2) s->db = parts[0];
      return done(s, begin);
    }
    if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent)) {
      return failUnexpected("a column name");
    }
    parts[n++] = nameFromToken(tok_);
    advance();
  }
  auto* c = make<Column>();
  c->column = parts[n - 1];
  if (n >= 2) c->table = parts[n - 2];
  if (n == 3) c->db = parts[0];
  return done(c, begin);
}

const Expr* Grammar::word(std::string_view text, std::uint32_t begin) {
  auto* w = make<Word>();
  w->word = text;
  advance();
  return done(w, begin);
}

const Expr* Grammar::valueOrDefault() {
  if (tok_.is(Kw::kDefault) && !peek().is(TokenKind::kLParen)) {
    return word(textOf(tok_), tok_.begin);
  }
  return expr();
}

}  // namespace detail
}  // namespace shardproxy::router::sql
