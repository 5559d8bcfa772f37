// SELECT: select lists and aliases, FROM and joins, derived tables, WHERE / GROUP BY / HAVING /
// ORDER BY / LIMIT, set operations, locking reads, WITH.
#include <gtest/gtest.h>

#include <string>

#include "shardproxy/router/sql/dump.h"
#include "shardproxy/router/sql/parser.h"
#include "sql_test_util.h"

namespace shardproxy::router::sql {
namespace {

using testing::d;
// The outermost SELECT block of `sql` (parsed by `parser`).
const SelectBlock* block(Parser& parser, std::string_view sql) {
  ParseResult r = parser.parse(sql);
  if (!r.ok()) {
    ADD_FAILURE() << sql << ": " << r.error().message;
    return nullptr;
  }
  const auto* s = r.statement().as<SelectStatement>();
  if (s == nullptr) {
    ADD_FAILURE() << sql << " is not a SELECT";
    return nullptr;
  }
  return s->query->as<SelectBlock>();
}

TEST(SqlSelect, SelectListAndAliases) {
  Parser p;
  const SelectBlock* b =
      block(p, "SELECT a, b AS x, c y, d AS 'z', e \"w\", t.*, COUNT(*) AS `n`, 1 + 1 two FROM t");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->items.size(), 8u);
  EXPECT_TRUE(b->items[0]->alias.empty());
  EXPECT_EQ(b->items[1]->alias.name, "x");
  EXPECT_EQ(b->items[2]->alias.name, "y");
  EXPECT_EQ(b->items[3]->alias.name, "z");
  EXPECT_TRUE(b->items[3]->alias.quoted);
  EXPECT_EQ(b->items[4]->alias.name, "w");
  EXPECT_EQ(b->items[5]->expr->kind, ExprKind::kStar);
  EXPECT_EQ(b->items[6]->alias.name, "n");
  EXPECT_EQ(b->items[6]->text, "COUNT(*) AS `n`");
  EXPECT_EQ(b->items[7]->alias.name, "two");
  EXPECT_TRUE(b->hasAggregate);
  EXPECT_EQ(d("SELECT * FROM t"), "(SELECT * (FROM t))");
  EXPECT_EQ(d("SELECT 1"), "(SELECT 1)");
  EXPECT_EQ(d("SELECT 1 FROM DUAL"), "(SELECT 1)");
}

TEST(SqlSelect, SelectOptions) {
  Parser p;
  const SelectBlock* b = block(p, "SELECT DISTINCT SQL_NO_CACHE SQL_CALC_FOUND_ROWS a FROM t");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->distinct);
  EXPECT_TRUE(b->calcFoundRows);
  EXPECT_EQ(b->options, "DISTINCT SQL_NO_CACHE SQL_CALC_FOUND_ROWS");
  b = block(p, "SELECT STRAIGHT_JOIN HIGH_PRIORITY ALL a FROM t");
  EXPECT_TRUE(b->straightJoin);
  EXPECT_FALSE(b->distinct);
  b = block(p, "SELECT DISTINCT(a) FROM t");
  EXPECT_TRUE(b->distinct);
  EXPECT_EQ(b->items[0]->expr->text, "a");
}

TEST(SqlSelect, FromWithCommaJoinsAliasesAndHints) {
  Parser p;
  ParseResult r = p.parse(
      "SELECT * FROM shop.orders o, customers AS c USE INDEX (idx_a) FORCE KEY FOR JOIN (k), "
      "items PARTITION (p0, p1) i");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Statement& st = r.statement();
  ASSERT_EQ(st.tables.size(), 3u);
  EXPECT_EQ(st.tables[0]->db.name, "shop");
  EXPECT_EQ(st.tables[0]->name.name, "orders");
  EXPECT_EQ(st.tables[0]->alias.name, "o");
  EXPECT_EQ(st.tables[1]->alias.name, "c");
  EXPECT_EQ(st.tables[1]->indexHints, "USE INDEX (idx_a) FORCE KEY FOR JOIN (k)");
  EXPECT_EQ(st.tables[2]->partitions, "PARTITION (p0, p1)");
  EXPECT_EQ(st.tables[2]->alias.name, "i");
  EXPECT_EQ(st.tables[0]->text, "shop.orders o");
  const auto* b = st.as<SelectStatement>()->query->as<SelectBlock>();
  EXPECT_EQ(b->from.size(), 3u);
}

TEST(SqlSelect, Joins) {
  EXPECT_EQ(d("SELECT * FROM a JOIN b ON a.id = b.a_id"),
            "(SELECT * (FROM (JOIN INNER a b ON (= a.id b.a_id))))");
  EXPECT_EQ(d("SELECT * FROM a INNER JOIN b USING (id, k) LEFT OUTER JOIN c ON c.x = b.x"),
            "(SELECT * (FROM (JOIN LEFT (JOIN INNER a b USING id k) c ON (= c.x b.x))))");
  EXPECT_EQ(d("SELECT * FROM a CROSS JOIN b RIGHT JOIN c USING (z)"),
            "(SELECT * (FROM (JOIN RIGHT (JOIN CROSS a b) c USING z)))");
  EXPECT_EQ(d("SELECT * FROM a STRAIGHT_JOIN b ON a.x = b.x"),
            "(SELECT * (FROM (JOIN STRAIGHT a b ON (= a.x b.x))))");
  EXPECT_EQ(d("SELECT * FROM a NATURAL JOIN b NATURAL LEFT OUTER JOIN c"),
            "(SELECT * (FROM (JOIN NATURAL_LEFT (JOIN NATURAL a b) c)))");
  EXPECT_EQ(d("SELECT * FROM a JOIN b"), "(SELECT * (FROM (JOIN INNER a b)))");
  EXPECT_EQ(d("SELECT * FROM (a, b) JOIN c ON c.k = a.k"),
            "(SELECT * (FROM (JOIN INNER (JOIN COMMA a b) c ON (= c.k a.k))))");
  EXPECT_EQ(d("SELECT * FROM a LEFT JOIN (b JOIN c ON b.y = c.y) ON a.x = b.x"),
            "(SELECT * (FROM (JOIN LEFT a (JOIN INNER b c ON (= b.y c.y)) ON (= a.x b.x))))");
  EXPECT_EQ(d("SELECT * FROM t1, t2 LEFT JOIN t3 ON t3.a = t2.a"),
            "(SELECT * (FROM t1, (JOIN LEFT t2 t3 ON (= t3.a t2.a))))");
}

TEST(SqlSelect, DerivedTablesAndLateral) {
  EXPECT_EQ(d("SELECT x.n FROM (SELECT COUNT(*) AS n FROM t) AS x"),
            "(SELECT x.n (FROM (DERIVED (SELECT (AS COUNT(*) n) (FROM t)) AS x)))");
  EXPECT_EQ(d("SELECT * FROM ((SELECT 1) UNION ALL (SELECT 2)) u"),
            "(SELECT * (FROM (DERIVED (SETOP (SELECT 1) UNION_ALL (SELECT 2)) AS u)))");
  EXPECT_EQ(d("SELECT * FROM t, LATERAL (SELECT t.a) AS l"),
            "(SELECT * (FROM t, (LATERAL (SELECT t.a) AS l)))");
  Parser p;
  ParseResult r = p.parse("SELECT * FROM (SELECT a FROM inner_t) AS d (x)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r.statement().tables.size(), 1u);
  EXPECT_EQ(r.statement().tables[0]->name.name, "inner_t");
  const auto* dt =
      r.statement().as<SelectStatement>()->query->as<SelectBlock>()->from[0]->as<DerivedTable>();
  ASSERT_NE(dt, nullptr);
  EXPECT_EQ(dt->alias.name, "d");
  ASSERT_EQ(dt->columns.size(), 1u);
  EXPECT_EQ(dt->columns[0]->name, "x");
}

TEST(SqlSelect, WhereGroupByHavingOrderByLimit) {
  EXPECT_EQ(d("SELECT k, COUNT(*) FROM t WHERE a > 1 GROUP BY k WITH ROLLUP HAVING COUNT(*) > 2 "
              "ORDER BY k DESC, 2 ASC LIMIT 10"),
            "(SELECT k COUNT(*) (FROM t) (WHERE (> a 1)) (GROUP k ROLLUP) (HAVING (> COUNT(*) 2)) "
            "(ORDER (DESC k) 2) (LIMIT 10))");
  // GROUP BY keys keep their direction: MariaDB returns the groups in that order.
  EXPECT_EQ(d("SELECT a, b FROM t GROUP BY a DESC, b ASC, a + b DESC"),
            "(SELECT a b (FROM t) (GROUP (DESC a) b (DESC (+ a b))))");
  EXPECT_EQ(d("SELECT a FROM t LIMIT 5, 10"), "(SELECT a (FROM t) (LIMIT 10 OFFSET 5))");
  EXPECT_EQ(d("SELECT a FROM t LIMIT 10 OFFSET 5"), "(SELECT a (FROM t) (LIMIT 10 OFFSET 5))");
  EXPECT_EQ(d("SELECT a FROM t LIMIT ?, ?"), "(SELECT a (FROM t) (LIMIT ?1 OFFSET ?0))");
  EXPECT_EQ(d("SELECT a FROM t ORDER BY NULL"), "(SELECT a (FROM t) (ORDER NULL))");
  Parser p;
  const SelectBlock* b = block(p, "SELECT a FROM t LIMIT 20 OFFSET 40");
  ASSERT_NE(b, nullptr);
  ASSERT_NE(b->limit, nullptr);
  EXPECT_EQ(b->limit->text, "LIMIT 20 OFFSET 40");
  EXPECT_EQ(b->limit->count->as<Literal>()->asInt64(), 20);
  EXPECT_EQ(b->limit->offset->as<Literal>()->asInt64(), 40);
  EXPECT_EQ(b->text, "SELECT a FROM t LIMIT 20 OFFSET 40");
}

TEST(SqlSelect, LockingReads) {
  Parser p;
  const SelectBlock* b = block(p, "SELECT * FROM t WHERE id = 1 FOR UPDATE");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->locking.mode, LockMode::kForUpdate);
  b = block(p, "SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE");
  EXPECT_EQ(b->locking.mode, LockMode::kLockInShareMode);
  b = block(p, "SELECT * FROM t FOR SHARE OF t NOWAIT");
  EXPECT_EQ(b->locking.mode, LockMode::kForShare);
  EXPECT_TRUE(b->locking.nowait);
  b = block(p, "SELECT * FROM t LIMIT 1 FOR UPDATE SKIP LOCKED");
  EXPECT_EQ(b->locking.mode, LockMode::kForUpdate);
  EXPECT_TRUE(b->locking.skipLocked);
  b = block(p, "SELECT * FROM t FOR SHARE OF t FOR UPDATE OF u");
  EXPECT_EQ(b->locking.mode, LockMode::kForUpdate);
  b = block(p, "SELECT * FROM t FOR UPDATE WAIT 5");
  EXPECT_EQ(b->locking.mode, LockMode::kForUpdate);
}

TEST(SqlSelect, SetOperations) {
  EXPECT_EQ(d("SELECT a FROM t UNION SELECT b FROM u"),
            "(SETOP (SELECT a (FROM t)) UNION (SELECT b (FROM u)))");
  EXPECT_EQ(d("SELECT 1 UNION ALL SELECT 2 UNION DISTINCT SELECT 3 ORDER BY 1 LIMIT 2"),
            "(SETOP (SELECT 1) UNION_ALL (SELECT 2) UNION (SELECT 3) (ORDER 1) (LIMIT 2))");
  EXPECT_EQ(d("(SELECT a FROM t ORDER BY a LIMIT 1) UNION ALL (SELECT a FROM u LIMIT 1)"),
            "(SETOP (SELECT a (FROM t) (ORDER a) (LIMIT 1)) UNION_ALL (SELECT a (FROM u) (LIMIT "
            "1)))");
  EXPECT_EQ(d("SELECT 1 EXCEPT SELECT 2 INTERSECT SELECT 3"),
            "(SETOP (SELECT 1) EXCEPT (SELECT 2) INTERSECT (SELECT 3))");
  // A parenthesised query with its own LIMIT and an outer one keeps both.
  EXPECT_EQ(d("(SELECT a FROM t LIMIT 5) LIMIT 2"),
            "(SETOP (SELECT a (FROM t) (LIMIT 5)) (LIMIT 2))");
  EXPECT_EQ(d("(SELECT a FROM t) ORDER BY a"), "(SELECT a (FROM t) (ORDER a))");
  EXPECT_EQ(d("((SELECT 1))"), "(SELECT 1)");
}

TEST(SqlSelect, WithQueries) {
  Parser p;
  ParseResult r = p.parse(
      "WITH RECURSIVE cte (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM cte WHERE n < 5), "
      "o AS (SELECT * FROM orders) SELECT * FROM cte JOIN o ON o.id = cte.n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Query* q = r.statement().as<SelectStatement>()->query;
  EXPECT_TRUE(q->recursive);
  ASSERT_EQ(q->with.size(), 2u);
  EXPECT_EQ(q->with[0]->name.name, "cte");
  ASSERT_EQ(q->with[0]->columns.size(), 1u);
  // Tables: cte (inside its own body, recursive), orders, cte, o — CTE references flagged.
  const auto& tables = r.statement().tables;
  ASSERT_EQ(tables.size(), 4u);
  EXPECT_TRUE(tables[0]->cte);
  EXPECT_EQ(tables[1]->name.name, "orders");
  EXPECT_FALSE(tables[1]->cte);
  EXPECT_TRUE(tables[2]->cte);
  EXPECT_TRUE(tables[3]->cte);
  // The names are scoped: after the statement, a table called cte is a table.
  r = p.parse("SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) d, x");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r.statement().tables.size(), 2u);
  EXPECT_TRUE(r.statement().tables[0]->cte);
  EXPECT_FALSE(r.statement().tables[1]->cte);
}

TEST(SqlSelect, SubqueryAndAggregateFlagsBelongToTheirBlock) {
  Parser p;
  const SelectBlock* b =
      block(p, "SELECT a FROM t WHERE b IN (SELECT MAX(x) FROM u) AND EXISTS (SELECT 1 FROM v)");
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->hasAggregate);  // MAX belongs to the subquery
  EXPECT_TRUE(b->hasSubquery);
  const auto* in = b->where->as<Logical>()->operands[0]->as<In>();
  ASSERT_NE(in, nullptr);
  EXPECT_TRUE(in->subquery->as<SelectBlock>()->hasAggregate);
  b = block(p, "SELECT a FROM t ORDER BY COUNT(*)");
  EXPECT_TRUE(b->hasAggregate);
  b = block(p, "SELECT a FROM t HAVING SUM(b) > 1");
  EXPECT_TRUE(b->hasAggregate);
  b = block(p, "SELECT ROW_NUMBER() OVER (ORDER BY a) FROM t");
  EXPECT_FALSE(b->hasAggregate);
  EXPECT_TRUE(b->hasWindow);
}

TEST(SqlSelect, IntoClauses) {
  Parser p;
  const SelectBlock* b = block(p, "SELECT a, b INTO @x, @y FROM t WHERE id = 1");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->into, "INTO @x, @y");
  EXPECT_EQ(b->from.size(), 1u);
  b = block(p, "SELECT * FROM t INTO OUTFILE '/tmp/t.csv' FIELDS TERMINATED BY ','");
  EXPECT_EQ(b->into, "INTO OUTFILE '/tmp/t.csv' FIELDS TERMINATED BY ','");
  b = block(p, "SELECT * FROM t FOR UPDATE INTO @v");
  EXPECT_EQ(b->into, "INTO @v");
}

TEST(SqlSelect, WindowClause) {
  Parser p;
  const SelectBlock* b =
      block(p, "SELECT SUM(x) OVER w FROM t WINDOW w AS (PARTITION BY g ORDER BY id)");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->window, "WINDOW w AS (PARTITION BY g ORDER BY id)");
}

TEST(SqlSelect, QueryText) {
  Parser p;
  std::string_view sql = "  SELECT a FROM t WHERE x = 1 ORDER BY a LIMIT 3 ;  ";
  ParseResult r = p.parse(sql);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().text, "SELECT a FROM t WHERE x = 1 ORDER BY a LIMIT 3");
  EXPECT_EQ(r.statement().firstKeyword, "SELECT");
  EXPECT_EQ(r.statement().offsetOf(r.statement().text), 2u);
  EXPECT_EQ(r.next(), sql.size());
}

}  // namespace
}  // namespace shardproxy::router::sql
