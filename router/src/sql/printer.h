// The AST printer behind dump() (private to router/src/sql): appends an S-expression per node to
// `out`. dump.cpp prints expressions, dump_query.cpp tables and queries, dump_statement.cpp
// statements. Recursion is bounded by the parser's height cap.
#pragma once

#include <string>
#include <string_view>

#include "shardproxy/router/sql/statement.h"

namespace shardproxy::router::sql::detail {

class Printer {
 public:
  std::string out;

  // Expressions (dump.cpp).
  void expr(const Expr* e);
  void list(ExprList items, std::string_view separator = " ");
  void name(const Ident& id) { out += id.name; }
  void open(std::string_view op);

  // Tables and queries (dump_query.cpp).
  void tableName(const TableName& t);
  void table(const TableRef* t);
  void tables(List<TableRef> refs);
  void query(const Query* q);
  void orderBy(OrderList items);
  void limit(const Limit* l);
  void where(const Expr* w);

  // Statements (dump_statement.cpp).
  void statement(const Statement& st);

 private:
  void literal(const Literal& l);
  void qualified(const Ident& db, const Ident& table);
  void column(const Column& c);
  void star(const Star& s);
  void placeholder(const Placeholder& p);
  void variable(const Variable& v);
  void unary(const Unary& u);
  void binary(const Binary& b);
  void logical(const Logical& l);
  void isTest(const IsTest& t);
  void like(const Like& l);
  void in(const In& in);
  void between(const Between& b);
  void function(const Function& f);
  void caseExpr(const Case& c);
  void cast(const Cast& c);
  void interval(const Interval& i);
  void wrapped(std::string_view head, const Query* q);
  void row(const Row& r);
  void collate(const Collate& c);
  void word(const Word& w);
  void match(const Match& m);

  void join(const Join& j);
  void derived(const DerivedTable& d);
  void block(const SelectBlock& b);
  void setOperation(const SetOperation& s);
  void queryClauses(const Query& q);

  void update(const UpdateStatement& u);
  void remove(const DeleteStatement& d);
  void insert(const InsertStatement& s);
  void assignments(std::string_view head, List<Assignment> items);
  void transaction(const TransactionStatement& t);
  void set(const SetStatement& s);
  void setItem(const SetItem& i);
  void use(const UseStatement& u);
  void show(const ShowStatement& s);
  void ddl(const DdlStatement& d);
  void lockTables(const LockTablesStatement& l);
  void explain(const ExplainStatement& e);
  void other(const Statement& st);
};

}  // namespace shardproxy::router::sql::detail
