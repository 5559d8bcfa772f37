// Statements as real clients send them: sysbench's OLTP statements, ORM-generated SQL (Hibernate,
// Django, Rails, SQLAlchemy, JDBC/Go driver start-up), MySQL reference manual examples and a
// mysqldump file. Each asserts the AST pieces the router needs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shardproxy/router/sql/analysis.h"
#include "shardproxy/router/sql/dump.h"
#include "shardproxy/router/sql/parser.h"
#include "sql_test_util.h"

namespace shardproxy::router::sql {
namespace {

using testing::d;
const Statement* parseOk(Parser& parser, std::string_view sql) {
  ParseResult r = parser.parse(sql);
  if (!r.ok()) {
    ADD_FAILURE() << sql << "\n  " << r.error().message;
    return nullptr;
  }
  return &r.statement();
}

const SelectBlock* selectOf(const Statement* st) {
  if (st == nullptr || st->as<SelectStatement>() == nullptr) return nullptr;
  return st->as<SelectStatement>()->query->as<SelectBlock>();
}

// ---------------------------------------------------------------- sysbench (oltp_common.lua)

TEST(SqlRealWorld, SysbenchPointSelect) {
  Parser p;
  const Statement* st = parseOk(p, "SELECT c FROM sbtest1 WHERE id=?");
  const SelectBlock* b = selectOf(st);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(st->placeholderCount, 1u);
  ASSERT_EQ(st->tables.size(), 1u);
  EXPECT_EQ(st->tables[0]->name.name, "sbtest1");
  std::vector<KeyConjunct> keys;
  keyConjuncts(b->where, keys);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].column->column.name, "id");
  EXPECT_EQ(keys[0].values[0]->as<Placeholder>()->index, 0u);
  EXPECT_TRUE(shapeOf(*st).concatenable());
  // The same statement without server-side prepare, as sysbench --db-ps-mode=disable sends it.
  st = parseOk(p, "SELECT c FROM sbtest1 WHERE id=5012");
  keyConjuncts(selectOf(st)->where, keys);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].values[0]->as<Literal>()->asInt64(), 5012);
}

TEST(SqlRealWorld, SysbenchRanges) {
  EXPECT_EQ(d("SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?"),
            "(SELECT c (FROM sbtest1) (WHERE (BETWEEN id ?0 ?1)))");
  Parser p;
  const Statement* st = parseOk(p, "SELECT SUM(k) FROM sbtest3 WHERE id BETWEEN ? AND ?");
  ASSERT_NE(st, nullptr);
  QueryShape shape = shapeOf(*st);
  EXPECT_TRUE(shape.aggregate);
  EXPECT_FALSE(shape.concatenable());
  st = parseOk(p, "SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c");
  shape = shapeOf(*st);
  EXPECT_TRUE(shape.orderBy);
  EXPECT_FALSE(shape.aggregate);
  st = parseOk(p, "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c");
  shape = shapeOf(*st);
  EXPECT_TRUE(shape.distinct);
  EXPECT_TRUE(shape.orderBy);
  // A range gives no shard key conjunct.
  std::vector<KeyConjunct> keys;
  keyConjuncts(selectOf(st)->where, keys);
  EXPECT_TRUE(keys.empty());
}

TEST(SqlRealWorld, SysbenchWrites) {
  Parser p;
  const Statement* st = parseOk(p, "UPDATE sbtest1 SET k=k+1 WHERE id=?");
  ASSERT_NE(st, nullptr);
  const auto* u = st->as<UpdateStatement>();
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->set[0]->column->column.name, "k");
  EXPECT_EQ(dump(u->where), "(= id ?0)");
  st = parseOk(p, "UPDATE sbtest1 SET c=? WHERE id=?");
  u = st->as<UpdateStatement>();
  EXPECT_EQ(u->set[0]->value->as<Placeholder>()->index, 0u);
  EXPECT_EQ(dump(u->where), "(= id ?1)");
  st = parseOk(p, "DELETE FROM sbtest1 WHERE id=?");
  const auto* del = st->as<DeleteStatement>();
  ASSERT_NE(del, nullptr);
  EXPECT_FALSE(del->multiTable);
  EXPECT_EQ(del->targets[0]->name.name, "sbtest1");
  st = parseOk(p, "INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)");
  const auto* ins = st->as<InsertStatement>();
  ASSERT_NE(ins, nullptr);
  ASSERT_EQ(ins->rows.size(), 1u);
  ASSERT_EQ(ins->rows[0]->values.size(), 4u);
  EXPECT_EQ(ins->columns[0]->column.name, "id");
  EXPECT_EQ(st->placeholderCount, 4u);
  EXPECT_EQ(d("BEGIN"), "(BEGIN)");
  EXPECT_EQ(d("COMMIT"), "(COMMIT)");
}

TEST(SqlRealWorld, SysbenchPrepare) {
  Parser p;
  const Statement* st = parseOk(
      p,
      "CREATE TABLE sbtest1(\n  id INTEGER NOT NULL AUTO_INCREMENT,\n  k INTEGER DEFAULT '0' NOT "
      "NULL,\n  c CHAR(120) DEFAULT '' NOT NULL,\n  pad CHAR(60) DEFAULT '' NOT NULL,\n  PRIMARY "
      "KEY (id)\n) /*! ENGINE = innodb */");
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->kind, StatementKind::kDdl);
  EXPECT_EQ(st->tables[0]->name.name, "sbtest1");
  EXPECT_EQ(d("CREATE INDEX k_1 ON sbtest1(k)"), "(CREATE INDEX k_1 sbtest1)");
  st = parseOk(
      p, "INSERT INTO sbtest1(k, c, pad) VALUES(5014, '0-1-2', '3-4'),(4995, '5-6-7', '8-9')");
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->as<InsertStatement>()->rows.size(), 2u);
}

// ---------------------------------------------------------------- ORMs and drivers

TEST(SqlRealWorld, HibernateStyle) {
  Parser p;
  const Statement* st = parseOk(
      p,
      "select order0_.id as id1_3_0_, customer1_.id as id1_1_1_, order0_.total as total2_3_0_ "
      "from orders order0_ inner join customers customer1_ on "
      "order0_.customer_id=customer1_.id where order0_.id in (? , ? , ?) and "
      "order0_.status<>? order by order0_.created desc limit ?");
  const SelectBlock* b = selectOf(st);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->items[0]->alias.name, "id1_3_0_");
  ASSERT_EQ(st->tables.size(), 2u);
  EXPECT_EQ(st->tables[0]->alias.name, "order0_");
  EXPECT_EQ(st->tables[1]->alias.name, "customer1_");
  std::vector<KeyConjunct> keys;
  keyConjuncts(b->where, keys);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].match, KeyMatch::kIn);
  EXPECT_EQ(keys[0].values.size(), 3u);
  EXPECT_EQ(resolveTable(st->tables, *keys[0].column), st->tables[0]);
  EXPECT_EQ(st->placeholderCount, 5u);
  EXPECT_TRUE(shapeOf(*st).limit);
}

TEST(SqlRealWorld, DjangoStyle) {
  Parser p;
  const Statement* st =
      parseOk(p,
              "SELECT `auth_user`.`id`, `auth_user`.`password`, `auth_user`.`last_login` FROM "
              "`auth_user` WHERE `auth_user`.`username` = 'alice' LIMIT 21");
  const SelectBlock* b = selectOf(st);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->items.size(), 3u);
  EXPECT_EQ(dump(b->where), "(= auth_user.username 'alice')");
  // Django's exists() check and its savepoints.
  EXPECT_EQ(d("SELECT (1) AS `a` FROM `app_item` WHERE `app_item`.`owner_id` = 7 LIMIT 1"),
            "(SELECT (AS 1 a) (FROM app_item) (WHERE (= app_item.owner_id 7)) (LIMIT 1))");
  EXPECT_EQ(d("SAVEPOINT `s140213_x1`"), "(SAVEPOINT s140213_x1)");
  EXPECT_EQ(d("RELEASE SAVEPOINT `s140213_x1`"), "(RELEASE s140213_x1)");
  st = parseOk(p,
               "INSERT INTO `app_item` (`name`, `owner_id`, `created`) VALUES ('a\\'b', 7, "
               "'2024-05-01 10:00:00.000000')");
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->as<InsertStatement>()->rows[0]->values[0]->as<Literal>()->value, "a'b");
}

TEST(SqlRealWorld, RailsStyle) {
  EXPECT_EQ(d("SELECT `users`.* FROM `users` WHERE `users`.`id` = 1 LIMIT 1"),
            "(SELECT users.* (FROM users) (WHERE (= users.id 1)) (LIMIT 1))");
  Parser p;
  const Statement* st =
      parseOk(p,
              "SELECT COUNT(*) FROM `posts` WHERE `posts`.`user_id` IN (1, 2, 3) AND "
              "`posts`.`deleted_at` IS NULL");
  ASSERT_NE(st, nullptr);
  EXPECT_TRUE(shapeOf(*st).aggregate);
  std::vector<KeyConjunct> keys;
  keyConjuncts(selectOf(st)->where, keys);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].values[2]->as<Literal>()->asInt64(), 3);
  st = parseOk(p,
               "SELECT `posts`.* FROM `posts` INNER JOIN `users` ON `users`.`id` = "
               "`posts`.`user_id` WHERE `users`.`id` = 5 ORDER BY `posts`.`id` DESC LIMIT 20 "
               "OFFSET 40");
  const SelectBlock* b = selectOf(st);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->limit->offset->as<Literal>()->asInt64(), 40);
  const auto* join = b->from[0]->as<Join>();
  ASSERT_NE(join, nullptr);
  keyConjuncts(join->on, keys);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].match, KeyMatch::kColumns);
}

TEST(SqlRealWorld, SqlAlchemyStyleWithManyPlaceholders) {
  std::string sql =
      "SELECT users.id AS users_id, users.name AS users_name FROM users WHERE "
      "users.id IN (";
  for (int i = 0; i < 500; ++i)
    sql += i == 0 ? "?" : ", ?";
  sql += ")";
  Parser p;
  const Statement* st = parseOk(p, sql);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->placeholderCount, 500u);
  std::vector<KeyConjunct> keys;
  keyConjuncts(selectOf(st)->where, keys);
  ASSERT_EQ(keys.size(), 1u);
  ASSERT_EQ(keys[0].values.size(), 500u);
  EXPECT_EQ(keys[0].values[499]->as<Placeholder>()->index, 499u);
  // The IN list's text, parentheses included, for rewriting per shard.
  const auto* in = keys[0].source->as<In>();
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->listText.front(), '(');
  EXPECT_EQ(in->listText.back(), ')');
}

TEST(SqlRealWorld, DriverStartupQueries) {
  Parser p;
  const Statement* st = parseOk(
      p,
      "/* mysql-connector-java-8.0.33 (Revision: 7d6b0800528b6b25c68b52dc10d6c1c8429c100c) */"
      "SELECT  @@session.auto_increment_increment AS auto_increment_increment, "
      "@@character_set_client AS character_set_client, @@character_set_connection AS "
      "character_set_connection, @@init_connect AS init_connect, @@interactive_timeout AS "
      "interactive_timeout, @@license AS license, @@lower_case_table_names AS "
      "lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout "
      "AS net_write_timeout, @@performance_schema AS performance_schema, @@sql_mode AS sql_mode, "
      "@@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation "
      "AS transaction_isolation, @@wait_timeout AS wait_timeout");
  const SelectBlock* b = selectOf(st);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->items.size(), 15u);
  EXPECT_EQ(b->items[0]->expr->as<Variable>()->scope, VarScope::kSession);
  EXPECT_EQ(st->firstKeyword, "SELECT");  // the leading comment is not part of the statement
  EXPECT_EQ(d("SET autocommit=1"), "(SET (autocommit 1))");
  EXPECT_EQ(d("SET character_set_results = NULL"), "(SET (character_set_results NULL))");
  EXPECT_EQ(d("SELECT @@session.transaction_read_only"),
            "(SELECT @@SESSION.transaction_read_only)");
  EXPECT_EQ(d("SELECT @@max_allowed_packet"), "(SELECT @@max_allowed_packet)");
  EXPECT_EQ(d("SELECT DATABASE()"), "(SELECT DATABASE())");
  EXPECT_EQ(d("SELECT @@version_comment LIMIT 1"), "(SELECT @@version_comment (LIMIT 1))");
  EXPECT_EQ(d("SHOW VARIABLES LIKE 'lower_case_table_names'"),
            "(SHOW VARIABLES (LIKE 'lower_case_table_names'))");
  EXPECT_EQ(d("SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE "
              "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users'"),
            "(SELECT TABLE_NAME COLUMN_NAME (FROM information_schema.COLUMNS) (WHERE (AND (= "
            "TABLE_SCHEMA DATABASE()) (= TABLE_NAME 'users'))))");
}

// ---------------------------------------------------------------- MySQL reference manual

TEST(SqlRealWorld, ManualSelectExamples) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"SELECT CONCAT(last_name,', ',first_name) AS full_name FROM mytable ORDER BY full_name",
       "(SELECT (AS CONCAT(last_name, ', ', first_name) full_name) (FROM mytable) (ORDER "
       "full_name))"},
      {"SELECT t1.name, t2.salary FROM employee AS t1, info AS t2 WHERE t1.name = t2.name",
       "(SELECT t1.name t2.salary (FROM employee AS t1, info AS t2) (WHERE (= t1.name t2.name)))"},
      {"SELECT * FROM tbl LIMIT 95,18446744073709551615",
       "(SELECT * (FROM tbl) (LIMIT 18446744073709551615 OFFSET 95))"},
      {"SELECT * FROM t1 LEFT JOIN (t2, t3, t4) ON (t2.a = t1.a AND t3.b = t1.b AND t4.c = t1.c)",
       "(SELECT * (FROM (JOIN LEFT t1 (JOIN COMMA (JOIN COMMA t2 t3) t4) ON (AND (= t2.a t1.a) (= "
       "t3.b t1.b) (= t4.c t1.c)))))"},
      {"SELECT * FROM table1 LEFT JOIN table2 ON table1.id = table2.id WHERE table2.id IS NULL",
       "(SELECT * (FROM (JOIN LEFT table1 table2 ON (= table1.id table2.id))) (WHERE (IS "
       "table2.id NULL)))"},
      {"SELECT * FROM t1 WHERE column1 = (SELECT column1 FROM t2)",
       "(SELECT * (FROM t1) (WHERE (= column1 (SUBQUERY (SELECT column1 (FROM t2))))))"},
      {"SELECT s1 FROM t1 WHERE s1 > ANY (SELECT s1 FROM t2)",
       "(SELECT s1 (FROM t1) (WHERE (> ANY s1 (SUBQUERY (SELECT s1 (FROM t2))))))"},
      {"SELECT DISTINCT store_type FROM stores WHERE NOT EXISTS (SELECT * FROM cities_stores "
       "WHERE cities_stores.store_type = stores.store_type)",
       "(SELECT DISTINCT store_type (FROM stores) (WHERE (NOT (EXISTS (SELECT * (FROM "
       "cities_stores) (WHERE (= cities_stores.store_type stores.store_type)))))))"},
      {"SELECT * FROM t1 WHERE (col1,col2) = (SELECT col3, col4 FROM t2 WHERE id = 10)",
       "(SELECT * (FROM t1) (WHERE (= (ROW col1 col2) (SUBQUERY (SELECT col3 col4 (FROM t2) "
       "(WHERE (= id 10)))))))"},
      {"SELECT user, MAX(salary) FROM users GROUP BY user HAVING MAX(salary) > 10",
       "(SELECT user MAX(salary) (FROM users) (GROUP user) (HAVING (> MAX(salary) 10)))"},
      {"SELECT year, SUM(profit) AS profit FROM sales GROUP BY year WITH ROLLUP",
       "(SELECT year (AS SUM(profit) profit) (FROM sales) (GROUP year ROLLUP))"},
      {"SELECT year, country, SUM(profit) OVER() AS total_profit, SUM(profit) OVER(PARTITION BY "
       "country) AS country_profit FROM sales ORDER BY country, year",
       "(SELECT year country (AS SUM(profit) OVER () total_profit) (AS SUM(profit) OVER "
       "(PARTITION BY country) country_profit) (FROM sales) (ORDER country year))"},
      {"WITH cte1 AS (SELECT a, b FROM table1), cte2 AS (SELECT c, d FROM table2) SELECT b, d "
       "FROM cte1 JOIN cte2 WHERE cte1.a = cte2.c",
       "(WITH (cte1 (SELECT a b (FROM table1))) (cte2 (SELECT c d (FROM table2))) (SELECT b d "
       "(FROM (JOIN INNER cte1 cte2)) (WHERE (= cte1.a cte2.c))))"},
      {"SELECT c, c->\"$.id\", g FROM jemp WHERE c->\"$.id\" > 1 ORDER BY c->\"$.name\"",
       "(SELECT c (-> c '$.id') g (FROM jemp) (WHERE (> (-> c '$.id') 1)) (ORDER (-> c "
       "'$.name')))"},
      {"SELECT DATE_ADD('2018-05-01',INTERVAL 1 DAY)",
       "(SELECT DATE_ADD('2018-05-01', (INTERVAL 1 DAY)))"},
      {"SELECT '2018-12-31 23:59:59' + INTERVAL 1 SECOND",
       "(SELECT (+ '2018-12-31 23:59:59' (INTERVAL 1 SECOND)))"},
      {"SELECT _latin1'abc' COLLATE latin1_danish_ci",
       "(SELECT (COLLATE _latin1'abc' latin1_danish_ci))"},
      {"SELECT 'hello', '\"hello\"', '\"\"hello\"\"', 'hel''lo', '\\'hello'",
       "(SELECT 'hello' '\"hello\"' '\"\"hello\"\"' 'hel'lo' ''hello')"},
      {"SELECT X'4D7953514C', 0x5061756c, b'1000001'",
       "(SELECT X'4D7953514C' X'5061756c' B'1000001')"},
      {"SELECT CASE 1 WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'more' END",
       "(SELECT (CASE 1 (WHEN 1 'one') (WHEN 2 'two') (ELSE 'more')))"},
      {"SELECT 1 + 1 FROM DUAL", "(SELECT (+ 1 1))"},
  };
  for (const auto& [sql, expected] : cases)
    EXPECT_EQ(d(sql), expected) << sql;
}

TEST(SqlRealWorld, ManualDmlExamples) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"INSERT INTO t1 (a,b,c) VALUES (1,2,3) ON DUPLICATE KEY UPDATE c=c+1",
       "(INSERT t1 (COLUMNS a b c) (VALUES (1 2 3)) (ON_DUPLICATE (= c (+ c 1))))"},
      {"INSERT INTO t1 (a,b,c) VALUES (1,2,3),(4,5,6) AS new ON DUPLICATE KEY UPDATE c = "
       "new.a+new.b",
       "(INSERT t1 (COLUMNS a b c) (VALUES (1 2 3) (4 5 6)) (ON_DUPLICATE (= c (+ new.a new.b))))"},
      {"INSERT INTO tbl_temp2 (fld_id) SELECT tbl_temp1.fld_order_id FROM tbl_temp1 WHERE "
       "tbl_temp1.fld_order_id > 100",
       "(INSERT tbl_temp2 (COLUMNS fld_id) (SELECT tbl_temp1.fld_order_id (FROM tbl_temp1) "
       "(WHERE (> tbl_temp1.fld_order_id 100))))"},
      {"UPDATE items,month SET items.price=month.price WHERE items.id=month.id",
       "(UPDATE items, month (SET (= items.price month.price)) (WHERE (= items.id month.id)))"},
      {"UPDATE t SET id = id + 1 ORDER BY id DESC",
       "(UPDATE t (SET (= id (+ id 1))) (ORDER (DESC id)))"},
      {"DELETE t1, t2 FROM t1 INNER JOIN t2 INNER JOIN t3 WHERE t1.id=t2.id AND t2.id=t3.id",
       "(DELETE t1 t2 (FROM (JOIN INNER (JOIN INNER t1 t2) t3)) (WHERE (AND (= t1.id t2.id) (= "
       "t2.id t3.id))))"},
      {"DELETE FROM somelog WHERE user = 'jcole' ORDER BY timestamp_column LIMIT 1",
       "(DELETE (FROM somelog) (WHERE (= user 'jcole')) (ORDER timestamp_column) (LIMIT 1))"},
      {"REPLACE INTO test VALUES (1, 'Old', '2014-08-20 18:47:00')",
       "(REPLACE test (VALUES (1 'Old' '2014-08-20 18:47:00')))"},
  };
  for (const auto& [sql, expected] : cases)
    EXPECT_EQ(d(sql), expected) << sql;
}

// ---------------------------------------------------------------- mysqldump

TEST(SqlRealWorld, MysqldumpFile) {
  const std::string dumpFile = R"(-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: shop
-- ------------------------------------------------------
/*M!999999\- enable the sandbox mode */
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!50503 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Table structure for table `orders`
--

DROP TABLE IF EXISTS `orders`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE `orders` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `note` varchar(255) DEFAULT NULL,
  `data` blob,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `orders`
--

LOCK TABLES `orders` WRITE;
/*!40000 ALTER TABLE `orders` DISABLE KEYS */;
INSERT INTO `orders` VALUES (1,'it\'s \"quoted\"',_binary 'a\0b\Z'),(2,'line\nbreak; with ; semicolons',NULL),(3,'back\\slash',_binary '');
/*!40000 ALTER TABLE `orders` ENABLE KEYS */;
UNLOCK TABLES;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;

-- Dump completed on 2024-05-01 10:00:00
)";
  Parser p;
  std::vector<std::string> kinds;
  bool sawInsert = false;
  for (std::size_t at = 0; at < dumpFile.size();) {
    ParseResult r = p.parse(dumpFile, at);
    ASSERT_TRUE(r.ok()) << "at " << at << ": " << r.error().message;
    const Statement& st = r.statement();
    kinds.push_back(dump(st).substr(0, dump(st).find(' ')));
    if (const auto* i = st.as<InsertStatement>()) {
      sawInsert = true;
      ASSERT_EQ(i->rows.size(), 3u);
      EXPECT_EQ(i->rows[0]->values[1]->as<Literal>()->value, "it's \"quoted\"");
      const auto* blob = i->rows[0]->values[2]->as<Literal>();
      EXPECT_EQ(blob->charset, "binary");
      EXPECT_EQ(blob->value, std::string_view("a\0b\x1a", 4));
      EXPECT_EQ(i->rows[1]->values[1]->as<Literal>()->value, "line\nbreak; with ; semicolons");
      EXPECT_EQ(i->rows[2]->values[1]->as<Literal>()->value, "back\\slash");
      EXPECT_EQ(i->rows[1]->text, "(2,'line\\nbreak; with ; semicolons',NULL)");
    }
    at = r.next();
  }
  EXPECT_TRUE(sawInsert);
  EXPECT_EQ(kinds, (std::vector<std::string>{"(SET",
                                             "(SET",
                                             "(SET",
                                             "(SET",
                                             "(SET",
                                             "(SET",
                                             "(SET",
                                             "(SET",
                                             "(SET",
                                             "(DROP",
                                             "(SET",
                                             "(SET",
                                             "(CREATE",
                                             "(SET",
                                             "(LOCK_TABLES",
                                             "(ALTER",
                                             "(INSERT",
                                             "(ALTER",
                                             "(UNLOCK_TABLES)",
                                             "(SET",
                                             "(SET",
                                             "(SET"}));
}

TEST(SqlRealWorld, MysqldumpUnderMysql57VersionRules) {
  ParseOptions o;
  o.lex.serverVersion = 50744;
  o.lex.mariadb = false;
  Parser p(o);
  // 50503 <= 50744: the comment's content runs.
  ParseResult r = p.parse("/*!50503 SET NAMES utf8mb4 */;");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().kind, StatementKind::kSet);
  // 80016 > 50744: only a comment, so the statement is empty.
  r = p.parse("/*!80016 SET x = 1 */;");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ParseError::Kind::kEmpty);
  // CREATE DATABASE with version-gated clauses.
  r = p.parse(
      "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET "
      "utf8mb4 */ /*!80016 DEFAULT ENCRYPTION='N' */");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().kind, StatementKind::kOther);
}

}  // namespace
}  // namespace shardproxy::router::sql
