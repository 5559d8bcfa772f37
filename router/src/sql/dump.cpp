// S-expression rendering of expressions (see dump.h), and the dump() entry points.
#include "shardproxy/router/sql/dump.h"

#include <array>

#include "printer.h"

namespace shardproxy::router::sql {
namespace detail {
namespace {

// Indexed by the enums' values, in declaration order.
constexpr std::array<std::string_view, 25> kBinaryNames = {
    "XOR", "=", "<=>", "<>",  "<", "<=", ">",  ">=", "|",  "&",   "<<",          ">>",       "+",
    "-",   "*", "/",   "DIV", "%", "^",  "||", ":=", "->", "->>", "SOUNDS_LIKE", "MEMBER_OF"};
constexpr std::array<std::string_view, 5> kUnaryNames = {"-", "+", "~", "NOT", "BINARY"};
constexpr std::array<std::string_view, 4> kIsNames = {" NULL", " TRUE", " FALSE", " UNKNOWN"};

template <typename Enum, std::size_t N>
std::string_view nameOf(const std::array<std::string_view, N>& names, Enum e) {
  auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : "?";
}

}  // namespace

void Printer::open(std::string_view op) {
  out += '(';
  out += op;
  out += ' ';
}

void Printer::list(ExprList items, std::string_view separator) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    expr(items[i]);
  }
}

void Printer::expr(const Expr* e) {
  if (e == nullptr) {
    out += "<null>";
    return;
  }
  switch (e->kind) {
    case ExprKind::kLiteral:
      return literal(*e->as<Literal>());
    case ExprKind::kColumn:
      return column(*e->as<Column>());
    case ExprKind::kStar:
      return star(*e->as<Star>());
    case ExprKind::kPlaceholder:
      return placeholder(*e->as<Placeholder>());
    case ExprKind::kVariable:
      return variable(*e->as<Variable>());
    case ExprKind::kUnary:
      return unary(*e->as<Unary>());
    case ExprKind::kBinary:
      return binary(*e->as<Binary>());
    case ExprKind::kLogical:
      return logical(*e->as<Logical>());
    case ExprKind::kIs:
      return isTest(*e->as<IsTest>());
    case ExprKind::kLike:
      return like(*e->as<Like>());
    case ExprKind::kIn:
      return in(*e->as<In>());
    case ExprKind::kBetween:
      return between(*e->as<Between>());
    case ExprKind::kFunction:
      return function(*e->as<Function>());
    case ExprKind::kCase:
      return caseExpr(*e->as<Case>());
    case ExprKind::kCast:
      return cast(*e->as<Cast>());
    case ExprKind::kInterval:
      return interval(*e->as<Interval>());
    case ExprKind::kExists:
      return wrapped("EXISTS", e->as<Exists>()->query);
    case ExprKind::kSubquery:
      return wrapped("SUBQUERY", e->as<Subquery>()->query);
    case ExprKind::kRow:
      return row(*e->as<Row>());
    case ExprKind::kCollate:
      return collate(*e->as<Collate>());
    case ExprKind::kWord:
      return word(*e->as<Word>());
    case ExprKind::kMatch:
      return match(*e->as<Match>());
  }
}

void Printer::literal(const Literal& l) {
  switch (l.type) {
    case LiteralType::kNull:
      out += "NULL";
      return;
    case LiteralType::kTrue:
      out += "TRUE";
      return;
    case LiteralType::kFalse:
      out += "FALSE";
      return;
    case LiteralType::kInteger:
    case LiteralType::kDecimal:
    case LiteralType::kFloat:
      if (l.negative) out += '-';
      out += l.value;
      return;
    default:
      break;
  }
  if (!l.charset.empty()) {
    out += '_';
    out += l.charset;
  }
  if (l.type == LiteralType::kHex || l.type == LiteralType::kBits) {
    out += l.type == LiteralType::kHex ? "X'" : "B'";
  } else {
    if (l.national) out += 'N';
    out += l.temporal;
    out += '\'';
  }
  out += l.value;
  out += '\'';
}

void Printer::qualified(const Ident& db, const Ident& table) {
  for (const Ident* part : {&db, &table}) {
    if (part->empty()) continue;
    name(*part);
    out += '.';
  }
}

void Printer::column(const Column& c) {
  qualified(c.db, c.table);
  name(c.column);
}

void Printer::star(const Star& s) {
  qualified(s.db, s.table);
  out += '*';
}

void Printer::placeholder(const Placeholder& p) {
  out += '?';
  out += std::to_string(p.index);
}

void Printer::variable(const Variable& v) {
  static constexpr std::array<std::string_view, 6> kScopes = {
      "", "GLOBAL.", "SESSION.", "LOCAL.", "PERSIST.", "PERSIST_ONLY."};
  out += v.system ? "@@" : "@";
  out += nameOf(kScopes, v.scope);
  name(v.name);
}

void Printer::word(const Word& w) {
  out += w.word;
}

void Printer::unary(const Unary& u) {
  open(nameOf(kUnaryNames, u.op));
  expr(u.operand);
  out += ')';
}

void Printer::binary(const Binary& b) {
  open(nameOf(kBinaryNames, b.op));
  if (b.quantifier != Quantifier::kNone) out += b.quantifier == Quantifier::kAll ? "ALL " : "ANY ";
  expr(b.left);
  out += ' ';
  expr(b.right);
  out += ')';
}

void Printer::logical(const Logical& l) {
  open(l.op == LogicalOp::kAnd ? "AND" : "OR");
  list(l.operands);
  out += ')';
}

void Printer::isTest(const IsTest& t) {
  open(t.negated ? "IS_NOT" : "IS");
  expr(t.operand);
  out += nameOf(kIsNames, t.what);
  out += ')';
}

void Printer::like(const Like& l) {
  out += l.negated ? "(NOT_" : "(";
  out += l.regexp ? "REGEXP " : "LIKE ";
  expr(l.operand);
  out += ' ';
  expr(l.pattern);
  if (l.escape != nullptr) {
    out += " ESCAPE ";
    expr(l.escape);
  }
  out += ')';
}

void Printer::in(const In& in) {
  open(in.negated ? "NOT_IN" : "IN");
  expr(in.operand);
  out += " (";
  if (in.subquery != nullptr) {
    query(in.subquery);
  } else {
    list(in.list);
  }
  out += "))";
}

void Printer::between(const Between& b) {
  open(b.negated ? "NOT_BETWEEN" : "BETWEEN");
  expr(b.operand);
  out += ' ';
  expr(b.low);
  out += ' ';
  expr(b.high);
  out += ')';
}

// name(DISTINCT args; modifier ORDER SEPARATOR) OVER window
void Printer::function(const Function& f) {
  qualified({}, f.qualifier);
  name(f.name);
  if (f.noParens) return;
  out += '(';
  if (f.distinct) out += "DISTINCT ";
  if (f.star) out += '*';
  list(f.args, ", ");
  if (!f.modifier.empty()) {
    out += "; ";
    out += f.modifier;
  }
  if (!f.orderBy.empty()) {
    out += ' ';
    orderBy(f.orderBy);
  }
  if (f.limit != nullptr) limit(f.limit);
  if (f.separator != nullptr) {
    out += " SEPARATOR ";
    expr(f.separator);
  }
  out += ')';
  if (!f.over.empty()) {
    out += " OVER ";
    out += f.over;
  }
}

void Printer::caseExpr(const Case& c) {
  out += "(CASE";
  if (c.operand != nullptr) {
    out += ' ';
    expr(c.operand);
  }
  for (const WhenClause* w : c.whens) {
    out += " (WHEN ";
    expr(w->when);
    out += ' ';
    expr(w->then);
    out += ')';
  }
  if (c.elseExpr != nullptr) {
    out += " (ELSE ";
    expr(c.elseExpr);
    out += ')';
  }
  out += ')';
}

void Printer::cast(const Cast& c) {
  open(c.convert ? "CONVERT" : "CAST");
  expr(c.operand);
  out += c.charset.empty() ? " AS " : " USING ";
  out += c.charset.empty() ? c.type : c.charset;
  out += ')';
}

void Printer::interval(const Interval& i) {
  open("INTERVAL");
  expr(i.operand);
  out += ' ';
  out += i.unit;
  out += ')';
}

void Printer::wrapped(std::string_view head, const Query* q) {
  open(head);
  query(q);
  out += ')';
}

void Printer::row(const Row& r) {
  open("ROW");
  list(r.items);
  out += ')';
}

void Printer::collate(const Collate& c) {
  open("COLLATE");
  expr(c.operand);
  out += ' ';
  name(c.collation);
  out += ')';
}

void Printer::match(const Match& m) {
  out += "(MATCH (";
  list(m.columns);
  out += ") ";
  expr(m.against);
  if (!m.modifier.empty()) {
    out += ' ';
    out += m.modifier;
  }
  out += ')';
}

}  // namespace detail

std::string dump(const Expr* expr) {
  detail::Printer p;
  p.expr(expr);
  return p.out;
}

std::string dump(const Query* query) {
  detail::Printer p;
  p.query(query);
  return p.out;
}

std::string dump(const TableRef* table) {
  detail::Printer p;
  p.table(table);
  return p.out;
}

std::string dump(const Statement& statement) {
  detail::Printer p;
  p.statement(statement);
  return p.out;
}

}  // namespace shardproxy::router::sql
