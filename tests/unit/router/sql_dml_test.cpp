// INSERT / REPLACE, UPDATE and DELETE.
#include <gtest/gtest.h>

#include <string>

#include "shardproxy/router/sql/dump.h"
#include "shardproxy/router/sql/parser.h"
#include "sql_test_util.h"

namespace shardproxy::router::sql {
namespace {

using testing::d;
using testing::parseAs;

TEST(SqlInsert, MultiRowValuesKeepEachRowsText) {
  Parser p;
  std::string_view sql =
      "INSERT INTO shop.orders (id, customer_id, note) VALUES (1, 10, 'a'), (2,20,'b''c') ,\n"
      "  (3, ?, DEFAULT) ON DUPLICATE KEY UPDATE note = VALUES(note)";
  const auto* s = parseAs<InsertStatement>(p, sql);
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->replace);
  EXPECT_EQ(s->table->db.name, "shop");
  EXPECT_EQ(s->table->name.name, "orders");
  ASSERT_EQ(s->columns.size(), 3u);
  EXPECT_EQ(s->columns[1]->column.name, "customer_id");
  ASSERT_EQ(s->rows.size(), 3u);
  EXPECT_EQ(s->rows[0]->text, "(1, 10, 'a')");
  EXPECT_EQ(s->rows[1]->text, "(2,20,'b''c')");
  EXPECT_EQ(s->rows[1]->values[2]->as<Literal>()->value, "b'c");
  EXPECT_EQ(s->rows[2]->text, "(3, ?, DEFAULT)");
  EXPECT_EQ(s->rows[2]->values[1]->kind, ExprKind::kPlaceholder);
  EXPECT_EQ(s->rows[2]->values[2]->as<Word>()->word, "DEFAULT");
  EXPECT_EQ(s->rowsText, "(1, 10, 'a'), (2,20,'b''c') ,\n  (3, ?, DEFAULT)");
  // The statement is prefix + rows + suffix: the planner rebuilds per-shard INSERTs from them.
  std::size_t rowsAt = s->offsetOf(s->rowsText);
  EXPECT_EQ(sql.substr(0, rowsAt), "INSERT INTO shop.orders (id, customer_id, note) VALUES ");
  EXPECT_EQ(sql.substr(rowsAt + s->rowsText.size()),
            " ON DUPLICATE KEY UPDATE note = VALUES(note)");
  ASSERT_EQ(s->onDuplicate.size(), 1u);
  EXPECT_EQ(s->onDuplicate[0]->column->column.name, "note");
  EXPECT_EQ(dump(s->onDuplicate[0]->value), "VALUES(note)");
  EXPECT_EQ(s->placeholderCount, 1u);
  ASSERT_EQ(s->tables.size(), 1u);
}

TEST(SqlInsert, Forms) {
  EXPECT_EQ(d("INSERT t VALUE (1)"), "(INSERT t (VALUES (1)))");
  EXPECT_EQ(d("INSERT INTO t () VALUES ()"), "(INSERT t (VALUES ()))");
  EXPECT_EQ(d("INSERT IGNORE INTO t (a) VALUES (1)"), "(INSERT IGNORE t (COLUMNS a) (VALUES (1)))");
  EXPECT_EQ(d("REPLACE INTO t (a, b) VALUES (1, 2)"), "(REPLACE t (COLUMNS a b) (VALUES (1 2)))");
  EXPECT_EQ(d("INSERT INTO t SET a = 1, b = DEFAULT"), "(INSERT t (SET (= a 1) (= b DEFAULT)))");
  EXPECT_EQ(d("INSERT INTO t (a) SELECT x FROM u WHERE y > 1"),
            "(INSERT t (COLUMNS a) (SELECT x (FROM u) (WHERE (> y 1))))");
  EXPECT_EQ(d("INSERT INTO t (SELECT * FROM u)"), "(INSERT t (SELECT * (FROM u)))");
  EXPECT_EQ(d("INSERT INTO t SELECT * FROM u ON DUPLICATE KEY UPDATE a = u.a"),
            "(INSERT t (SELECT * (FROM u)) (ON_DUPLICATE (= a u.a)))");
  EXPECT_EQ(d("INSERT INTO t VALUES ROW(1, 2), ROW(3, 4)"), "(INSERT t (VALUES (1 2) (3 4)))");
  EXPECT_EQ(d("INSERT LOW_PRIORITY INTO t VALUES (1)"), "(INSERT t (VALUES (1)))");
  EXPECT_EQ(d("INSERT INTO t PARTITION (p1) (a) VALUES (1)"),
            "(INSERT t (COLUMNS a) (VALUES (1)))");
  EXPECT_EQ(d("INSERT INTO t (a) VALUES (1 + 2 * 3, NOW(), -5)"),
            "(INSERT t (COLUMNS a) (VALUES ((+ 1 (* 2 3)) NOW() -5)))");
}

TEST(SqlInsert, RowAliasAndPriority) {
  Parser p;
  const auto* s = parseAs<InsertStatement>(
      p, "INSERT DELAYED INTO t (a, b) VALUES (1, 2) AS new (m, n) ON DUPLICATE KEY UPDATE b = n");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->priority, "DELAYED");
  EXPECT_EQ(s->rowAlias.name, "new");
  ASSERT_EQ(s->rowAliasColumns.size(), 2u);
  EXPECT_EQ(s->onDuplicate.size(), 1u);
}

TEST(SqlUpdate, SingleTable) {
  Parser p;
  const auto* s = parseAs<UpdateStatement>(
      p, "UPDATE LOW_PRIORITY IGNORE sbtest1 SET k=k+1, c = ? WHERE id=? ORDER BY id LIMIT 1");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->lowPriority);
  EXPECT_TRUE(s->ignore);
  EXPECT_FALSE(s->multiTable());
  ASSERT_EQ(s->set.size(), 2u);
  EXPECT_EQ(s->set[0]->text, "k=k+1");
  EXPECT_EQ(dump(s->set[0]->value), "(+ k 1)");
  EXPECT_EQ(s->set[1]->value->as<Placeholder>()->index, 0u);
  EXPECT_EQ(dump(s->where), "(= id ?1)");
  EXPECT_EQ(s->orderBy.size(), 1u);
  ASSERT_NE(s->limit, nullptr);
  EXPECT_EQ(s->tableRefs.size(), 1u);
  EXPECT_EQ(s->tables.size(), 1u);
}

TEST(SqlUpdate, MultiTable) {
  EXPECT_EQ(
      d("UPDATE items, month SET items.price = month.price WHERE items.id = month.id"),
      "(UPDATE items, month (SET (= items.price month.price)) (WHERE (= items.id month.id)))");
  EXPECT_EQ(d("UPDATE t1 AS a JOIN t2 b ON a.id = b.id SET a.x = b.y"),
            "(UPDATE (JOIN INNER t1 AS a t2 AS b ON (= a.id b.id)) (SET (= a.x b.y)))");
  Parser p;
  const auto* s = parseAs<UpdateStatement>(p, "UPDATE a, b SET a.x = 1");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->multiTable());
}

TEST(SqlDelete, SingleTable) {
  Parser p;
  const auto* s = parseAs<DeleteStatement>(
      p,
      "DELETE LOW_PRIORITY QUICK IGNORE FROM db.sbtest1 AS s WHERE s.id = ? ORDER BY s.id "
      "LIMIT 10");
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->multiTable);
  EXPECT_TRUE(s->quick);
  EXPECT_TRUE(s->ignore);
  EXPECT_TRUE(s->lowPriority);
  ASSERT_EQ(s->targets.size(), 1u);
  EXPECT_EQ(s->targets[0]->db.name, "db");
  EXPECT_EQ(s->targets[0]->name.name, "sbtest1");
  EXPECT_EQ(s->targets[0]->alias.name, "s");
  EXPECT_EQ(s->targets[0]->text, "db.sbtest1 AS s");
  ASSERT_EQ(s->tables.size(), 1u);
  EXPECT_EQ(s->tables[0], s->targets[0]);
  EXPECT_EQ(dump(s->where), "(= s.id ?0)");
  EXPECT_NE(s->limit, nullptr);
  EXPECT_EQ(d("DELETE FROM t WHERE id = 1"), "(DELETE (FROM t) (WHERE (= id 1)))");
  EXPECT_EQ(d("DELETE FROM t PARTITION (p0)"), "(DELETE (FROM t))");
}

TEST(SqlDelete, MultiTable) {
  Parser p;
  const auto* s = parseAs<DeleteStatement>(p,
                                           "DELETE t1, t2.* FROM t1 INNER JOIN t2 ON t1.id = t2.id "
                                           "WHERE t1.k = 5");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->multiTable);
  ASSERT_EQ(s->targets.size(), 2u);
  EXPECT_EQ(s->targets[1]->name.name, "t2");
  ASSERT_EQ(s->tables.size(), 2u);  // the FROM tables; targets refer to them
  EXPECT_EQ(dump(s->from[0]), "(JOIN INNER t1 t2 ON (= t1.id t2.id))");
  EXPECT_EQ(d("DELETE FROM t1, t2 USING t1 JOIN t2 USING (id) WHERE t1.id > 3"),
            "(DELETE t1 t2 (FROM (JOIN INNER t1 t2 USING id)) (WHERE (> t1.id 3)))");
  EXPECT_EQ(d("DELETE FROM a.* USING a"), "(DELETE a (FROM a))");
  EXPECT_EQ(d("DELETE x FROM db.t1 AS x WHERE x.id = 1"),
            "(DELETE x (FROM db.t1 AS x) (WHERE (= x.id 1)))");
}

}  // namespace
}  // namespace shardproxy::router::sql
