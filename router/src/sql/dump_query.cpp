// S-expression rendering of table references and query expressions (see dump.h).
#include <array>

#include "printer.h"

namespace shardproxy::router::sql::detail {
namespace {

constexpr std::array<std::string_view, 9> kJoinNames = {
    "COMMA", "INNER",   "CROSS",        "STRAIGHT",     "LEFT",
    "RIGHT", "NATURAL", "NATURAL_LEFT", "NATURAL_RIGHT"};
constexpr std::array<std::string_view, 4> kLockNames = {"", " FOR_UPDATE", " FOR_SHARE",
                                                        " LOCK_IN_SHARE_MODE"};
constexpr std::array<std::string_view, 3> kSetOpNames = {" UNION", " EXCEPT", " INTERSECT"};

}  // namespace

void Printer::tableName(const TableName& t) {
  qualified(t.db, {});
  name(t.name);
  if (!t.alias.empty()) {
    out += " AS ";
    name(t.alias);
  }
}

void Printer::table(const TableRef* t) {
  switch (t->kind) {
    case TableRefKind::kTable:
      return tableName(*t->as<BaseTable>()->table);
    case TableRefKind::kDerived:
      return derived(*t->as<DerivedTable>());
    case TableRefKind::kJoin:
      return join(*t->as<Join>());
  }
}

void Printer::tables(List<TableRef> refs) {
  for (std::size_t i = 0; i < refs.size(); ++i) {
    if (i > 0) out += ", ";
    table(refs[i]);
  }
}

void Printer::derived(const DerivedTable& d) {
  out += d.lateral ? "(LATERAL " : "(DERIVED ";
  query(d.query);
  if (!d.alias.empty()) {
    out += " AS ";
    name(d.alias);
  }
  out += ')';
}

void Printer::join(const Join& j) {
  out += "(JOIN ";
  out += kJoinNames[static_cast<std::size_t>(j.join)];
  out += ' ';
  table(j.left);
  out += ' ';
  table(j.right);
  if (j.on != nullptr) {
    out += " ON ";
    expr(j.on);
  }
  if (!j.usingColumns.empty()) out += " USING";
  for (const Ident* c : j.usingColumns) {
    out += ' ';
    name(*c);
  }
  out += ')';
}

void Printer::orderBy(OrderList items) {
  out += "(ORDER";
  for (const OrderItem* o : items) {
    out += o->desc ? " (DESC " : " ";
    expr(o->expr);
    if (o->desc) out += ')';
  }
  out += ')';
}

void Printer::limit(const Limit* l) {
  out += " (LIMIT ";
  expr(l->count);
  if (l->offset != nullptr) {
    out += " OFFSET ";
    expr(l->offset);
  }
  out += ')';
}

void Printer::where(const Expr* w) {
  if (w == nullptr) return;
  out += " (WHERE ";
  expr(w);
  out += ')';
}

void Printer::queryClauses(const Query& q) {
  if (!q.orderBy.empty()) {
    out += ' ';
    orderBy(q.orderBy);
  }
  if (q.limit != nullptr) limit(q.limit);
  out += kLockNames[static_cast<std::size_t>(q.locking.mode)];
}

void Printer::block(const SelectBlock& b) {
  out += b.distinct ? "(SELECT DISTINCT" : "(SELECT";
  for (const SelectItem* i : b.items) {
    out += i->alias.empty() ? " " : " (AS ";
    expr(i->expr);
    if (!i->alias.empty()) {
      out += ' ';
      name(i->alias);
      out += ')';
    }
  }
  if (!b.from.empty()) {
    out += " (FROM ";
    tables(b.from);
    out += ')';
  }
  where(b.where);
  if (!b.groupBy.empty()) {
    out += " (GROUP";
    for (std::size_t i = 0; i < b.groupBy.size(); ++i) {
      const bool desc = i < 64 ? (b.groupDesc >> i & 1) != 0 : b.groupDescPast64;
      out += desc ? " (DESC " : " ";
      expr(b.groupBy[i]);
      if (desc) out += ')';
    }
    if (b.withRollup) out += " ROLLUP";
    out += ')';
  }
  if (b.having != nullptr) {
    out += " (HAVING ";
    expr(b.having);
    out += ')';
  }
  queryClauses(b);
  out += ')';
}

void Printer::setOperation(const SetOperation& s) {
  out += "(SETOP";
  for (std::size_t i = 0; i < s.operands.size(); ++i) {
    const SetOperand* o = s.operands[i];
    if (i > 0) {
      out += kSetOpNames[static_cast<std::size_t>(o->op)];
      if (o->all) out += "_ALL";
    }
    out += ' ';
    query(o->query);
  }
  queryClauses(s);
  out += ')';
}

// (WITH (name query) ... body) around the body when there is a WITH clause.
void Printer::query(const Query* q) {
  if (q == nullptr) {
    out += "<null>";
    return;
  }
  if (!q->with.empty()) {
    out += "(WITH";
    for (const Cte* c : q->with) {
      out += " (";
      name(c->name);
      out += ' ';
      query(c->query);
      out += ')';
    }
    out += ' ';
  }
  if (const auto* b = q->as<SelectBlock>()) {
    block(*b);
  } else {
    setOperation(*q->as<SetOperation>());
  }
  if (!q->with.empty()) out += ')';
}

}  // namespace shardproxy::router::sql::detail
