// Planner questions over the AST (see analysis.h). Walks are bounded: they follow AND chains,
// set operations and join trees, all of which are capped by ParseOptions::maxHeight.
#include "shardproxy/router/sql/analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace shardproxy::router::sql {
namespace {

bool hasDerivedTable(const TableRef* t) {
  if (t->kind == TableRefKind::kDerived) return true;
  if (const auto* j = t->as<Join>()) return hasDerivedTable(j->left) || hasDerivedTable(j->right);
  return false;
}

void addShape(const Query& q, QueryShape& s) {
  s.orderBy = s.orderBy || !q.orderBy.empty();
  s.limit = s.limit || q.limit != nullptr;
  if (q.locking.mode != LockMode::kNone && s.locking != LockMode::kForUpdate) {
    s.locking = q.locking.mode;
  }
  if (const auto* b = q.as<SelectBlock>()) {
    s.aggregate = s.aggregate || b->hasAggregate;
    s.groupBy = s.groupBy || !b->groupBy.empty();
    s.having = s.having || b->having != nullptr;
    s.distinct = s.distinct || b->distinct;
    s.window = s.window || b->hasWindow;
    s.subquery = s.subquery || b->hasSubquery;
    s.calcFoundRows = s.calcFoundRows || b->calcFoundRows;
    for (const TableRef* t : b->from)
      s.derivedTable = s.derivedTable || hasDerivedTable(t);
    return;
  }
  const auto* op = q.as<SetOperation>();
  s.setOperation = s.setOperation || op->operands.size() > 1;
  for (std::size_t i = 0; i < op->operands.size(); ++i) {
    if (i > 0 && !op->operands[i]->all) s.distinct = true;
    addShape(*op->operands[i]->query, s);
  }
}

const Column* asColumn(const Expr* e) {
  return e != nullptr ? e->as<Column>() : nullptr;
}

bool isEquality(const Binary& b) {
  return (b.op == BinaryOp::kEq || b.op == BinaryOp::kNullSafeEq) &&
         b.quantifier == Quantifier::kNone;
}

void addComparison(const Binary& b, std::vector<KeyConjunct>& out) {
  const Column* l = asColumn(b.left);
  const Column* r = asColumn(b.right);
  if (l != nullptr && r != nullptr) {
    out.push_back({KeyMatch::kColumns, l, {}, r, &b});
  } else if (l != nullptr && isRoutableValue(b.right)) {
    out.push_back({KeyMatch::kEquals, l, ExprList(&b.right, 1), nullptr, &b});
  } else if (r != nullptr && isRoutableValue(b.left)) {
    out.push_back({KeyMatch::kEquals, r, ExprList(&b.left, 1), nullptr, &b});
  } else if (const auto* lr = b.left->as<Row>()) {
    // (a, b) = (1, 2): one equality per position.
    const auto* rr = b.right->as<Row>();
    if (rr == nullptr || rr->items.size() != lr->items.size()) return;
    for (std::size_t i = 0; i < lr->items.size(); ++i) {
      const Column* c = asColumn(lr->items[i]);
      if (c != nullptr && isRoutableValue(rr->items[i])) {
        out.push_back({KeyMatch::kEquals, c, ExprList(&rr->items[i], 1), nullptr, &b});
      }
    }
  }
}

void collect(const Expr* e, std::vector<KeyConjunct>& out) {
  if (const auto* l = e->as<Logical>()) {
    if (l->op != LogicalOp::kAnd) return;
    for (const Expr* operand : l->operands)
      collect(operand, out);
    return;
  }
  if (const auto* b = e->as<Binary>()) {
    if (isEquality(*b)) addComparison(*b, out);
    return;
  }
  if (const auto* in = e->as<In>()) {
    const Column* c = asColumn(in->operand);
    if (c == nullptr || in->negated || in->subquery != nullptr || in->list.empty()) return;
    if (std::all_of(in->list.begin(), in->list.end(), isRoutableValue)) {
      out.push_back({KeyMatch::kIn, c, in->list, nullptr, in});
    }
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto ux = static_cast<char>((x >= 'a' && x <= 'z') ? x - 32 : x);
           auto uy = static_cast<char>((y >= 'a' && y <= 'z') ? y - 32 : y);
           return ux == uy;
         });
}

bool isHintWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && space(s.back()))
    s.remove_suffix(1);
  return s;
}

// Reads one hint comment: NAME or NAME(args) items; nested parentheses are skipped whole so
// that INDEX(t1 PRIMARY) is not taken for PRIMARY.
void scanHint(std::string_view text, RoutingHints& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (!isHintWordChar(text[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size() && isHintWordChar(text[i]))
      ++i;
    std::string_view word = text.substr(start, i - start);
    std::size_t j = i;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n'))
      ++j;
    if (j < text.size() && text[j] == '(') {
      std::size_t depth = 0;
      std::size_t k = j;
      for (; k < text.size(); ++k) {
        if (text[k] == '(') ++depth;
        if (text[k] == ')' && --depth == 0) break;
      }
      if (iequals(word, "SHARD") && k < text.size() && out.shard.empty()) {
        out.shard = trim(text.substr(j + 1, k - j - 1));
      }
      i = k < text.size() ? k + 1 : text.size();
    } else if (iequals(word, "PRIMARY")) {
      out.primary = true;
    }
  }
}

}  // namespace

QueryShape shapeOf(const Query& query) {
  QueryShape s;
  addShape(query, s);
  return s;
}

QueryShape shapeOf(const Statement& statement) {
  switch (statement.kind) {
    case StatementKind::kSelect:
      return shapeOf(*statement.as<SelectStatement>()->query);
    case StatementKind::kInsert: {
      const auto* i = statement.as<InsertStatement>();
      return i->select != nullptr ? shapeOf(*i->select) : QueryShape{};
    }
    case StatementKind::kUpdate: {
      const auto* u = statement.as<UpdateStatement>();
      QueryShape s;
      s.orderBy = !u->orderBy.empty();
      s.limit = u->limit != nullptr;
      return s;
    }
    case StatementKind::kDelete: {
      const auto* d = statement.as<DeleteStatement>();
      QueryShape s;
      s.orderBy = !d->orderBy.empty();
      s.limit = d->limit != nullptr;
      return s;
    }
    case StatementKind::kExplain: {
      const auto* e = statement.as<ExplainStatement>();
      return e->explained != nullptr ? shapeOf(*e->explained) : QueryShape{};
    }
    default:
      return {};
  }
}

bool isRoutableValue(const Expr* e) {
  if (e == nullptr) return false;
  if (e->kind == ExprKind::kPlaceholder) return true;
  const auto* l = e->as<Literal>();
  return l != nullptr && l->type != LiteralType::kNull;
}

void keyConjuncts(const Expr* where, std::vector<KeyConjunct>& out) {
  out.clear();
  if (where != nullptr) collect(where, out);
}

void tablesIn(List<TableRef> refs, std::vector<const TableName*>& out) {
  for (const TableRef* r : refs) {
    if (const auto* b = r->as<BaseTable>()) {
      out.push_back(b->table);
    } else if (const auto* j = r->as<Join>()) {
      const TableRef* sides[] = {j->left, j->right};
      tablesIn(List<TableRef>(sides, 2), out);
    }
  }
}

const TableName* resolveTable(List<TableName> tables, const Column& column) {
  if (column.table.empty()) {
    const TableName* only = nullptr;
    for (const TableName* t : tables) {
      if (t->cte) continue;
      if (only != nullptr) return nullptr;
      only = t;
    }
    return only;
  }
  if (column.db.empty()) {
    for (const TableName* t : tables) {
      if (!t->alias.empty() && t->alias.name == column.table.name) return t;
    }
  }
  const TableName* found = nullptr;
  for (const TableName* t : tables) {
    if (!t->alias.empty() || t->name.name != column.table.name) continue;
    if (!column.db.empty() && t->db.name != column.db.name) continue;
    if (found != nullptr) return nullptr;  // the same table twice without aliases
    found = t;
  }
  return found;
}

RoutingHints routingHints(const Statement& statement) {
  RoutingHints out;
  for (const Hint* h : statement.hints)
    scanHint(h->text, out);
  return out;
}

namespace {

// Every token of the statement text, up to the end or a lexing error (the rewrites below only
// replace tokens they recognise; the rest of the text is copied as it is).
std::vector<Token> tokensOf(std::string_view sql, const LexOptions& options) {
  std::vector<Token> toks;
  Lexer lexer(sql, options);
  for (;;) {
    Token t = lexer.next();
    if (t.is(TokenKind::kEnd) || t.is(TokenKind::kError)) break;
    toks.push_back(t);
  }
  return toks;
}

}  // namespace

bool withConnectionId(std::string_view sql, std::uint32_t id, const LexOptions& options,
                      std::string& out) {
  const std::vector<Token> toks = tokensOf(sql, options);
  auto word = [&](std::size_t i, std::string_view w) {
    return i < toks.size() && toks[i].is(TokenKind::kWord) && iequals(toks[i].text(sql), w);
  };
  std::string result;
  std::size_t copied = 0;
  bool any = false;
  int depth = 0;
  bool selectList = false;  // in a depth-0 select list
  for (std::size_t i = 0; i < toks.size(); ++i) {
    const Token& t = toks[i];
    if (t.is(TokenKind::kLParen)) ++depth;
    if (t.is(TokenKind::kRParen)) --depth;
    if (depth == 0 && t.is(TokenKind::kWord)) {
      if (word(i, "SELECT")) selectList = true;
      for (std::string_view end : {"FROM", "INTO", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT",
                                   "UNION", "EXCEPT", "INTERSECT", "WINDOW", "FOR"})
        if (word(i, end)) selectList = false;
    }
    if (!word(i, "CONNECTION_ID") || i + 2 >= toks.size() || !toks[i + 1].is(TokenKind::kLParen) ||
        !toks[i + 2].is(TokenKind::kRParen)) {
      continue;
    }
    // The call alone as a select-list item: after SELECT / DISTINCT / ALL / ',' and before ',',
    // FROM, INTO, ';' or the end.
    const bool itemStart =
        i > 0 && (toks[i - 1].is(TokenKind::kComma) || word(i - 1, "SELECT") ||
                  word(i - 1, "DISTINCT") || word(i - 1, "ALL") || word(i - 1, "DISTINCTROW"));
    const std::size_t after = i + 3;
    const bool itemEnd = after >= toks.size() || toks[after].is(TokenKind::kComma) ||
                         toks[after].is(TokenKind::kSemicolon) || word(after, "FROM") ||
                         word(after, "INTO");
    result.append(sql.substr(copied, toks[i].begin - copied));
    result += std::to_string(id);
    if (selectList && depth == 0 && itemStart && itemEnd) {
      result += " AS `";
      for (char c : sql.substr(toks[i].begin, toks[i + 2].end - toks[i].begin))
        result += c == '`' ? std::string("``") : std::string(1, c);
      result += '`';
    }
    copied = toks[i + 2].end;
    i += 2;  // past the call's '(' and ')': the depth is unchanged
    any = true;
  }
  if (!any) return false;
  result.append(sql.substr(copied));
  out = std::move(result);
  return true;
}

bool readsProcesslist(const Statement& statement) {
  if (statement.kind == StatementKind::kShow) {
    return statement.as<ShowStatement>()->show == ShowKind::kProcesslist;
  }
  if (statement.kind != StatementKind::kSelect) return false;
  for (const TableName* t : statement.as<SelectStatement>()->tables) {
    if (!t->db.empty() && iequals(t->db.name, "information_schema") &&
        iequals(t->name.name, "processlist")) {
      return true;
    }
  }
  return false;
}

bool withProcesslist(std::string_view sql, std::string_view derived, const LexOptions& options,
                     std::string& out) {
  const std::vector<Token> toks = tokensOf(sql, options);
  auto name = [&](std::size_t i, std::string_view w) {
    if (i >= toks.size()) return false;
    std::string_view text = toks[i].text(sql);
    if (text.size() >= 2 && text.front() == '`' && text.back() == '`') {
      text = text.substr(1, text.size() - 2);
    }
    return (toks[i].is(TokenKind::kWord) || toks[i].is(TokenKind::kQuotedIdent)) &&
           iequals(text, w);
  };
  // SHOW [FULL] PROCESSLIST: the whole statement.
  if (name(0, "SHOW")) {
    const bool full = name(1, "FULL");
    if (!name(full ? 2 : 1, "PROCESSLIST")) return false;
    out = fmt::format(
        "SELECT ID AS Id, USER AS User, HOST AS Host, DB AS db, COMMAND AS Command, "
        "TIME AS Time, STATE AS State, {} AS Info, PROGRESS AS Progress FROM ({}) AS "
        "PROCESSLIST ORDER BY ID",
        full ? "INFO" : "LEFT(INFO, 100)", derived);
    return true;
  }
  static constexpr std::string_view kClauses[] = {
      "WHERE",     "JOIN",  "LEFT",  "RIGHT",  "INNER",  "CROSS",     "NATURAL", "STRAIGHT_JOIN",
      "ON",        "USING", "GROUP", "HAVING", "ORDER",  "LIMIT",     "UNION",   "EXCEPT",
      "INTERSECT", "FOR",   "LOCK",  "INTO",   "WINDOW", "PROCEDURE", "FULL"};
  std::string result;
  std::size_t copied = 0;
  bool any = false;
  for (std::size_t i = 0; i + 2 < toks.size(); ++i) {
    if (!name(i, "information_schema") || !toks[i + 1].is(TokenKind::kDot) ||
        !name(i + 2, "processlist")) {
      continue;
    }
    result.append(sql.substr(copied, toks[i].begin - copied));
    result += '(';
    result += derived;
    result += ')';
    const std::size_t next = i + 3;
    bool alias = next < toks.size() &&
                 (toks[next].is(TokenKind::kQuotedIdent) || toks[next].is(TokenKind::kWord));
    if (alias && toks[next].is(TokenKind::kWord)) {
      for (std::string_view c : kClauses)
        if (name(next, c)) alias = false;
    }
    if (!alias) result += " AS PROCESSLIST";
    copied = toks[i + 2].end;
    i += 2;
    any = true;
  }
  if (!any) return false;
  result.append(sql.substr(copied));
  out = std::move(result);
  return true;
}

void appendStringLiteral(std::string_view bytes, const LexOptions& options, std::string& out) {
  out.push_back('\'');
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t n = multibyteLength(options.charset, bytes.data() + i, bytes.size() - i);
    if (n > 1) {
      out.append(bytes.substr(i, n));
      i += n;
      continue;
    }
    const char c = bytes[i++];
    if (c == '\'') {
      out.append("''");
    } else if (c == '\\' && !options.noBackslashEscapes) {
      out.append("\\\\");
    } else if (c == '\0' && !options.noBackslashEscapes) {
      out.append("\\0");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
}

}  // namespace shardproxy::router::sql
