// Statements other than SELECT and DML: transactions, SET, USE, SHOW, DDL headers, LOCK TABLES,
// EXPLAIN, Other; hints and multi-statement texts.
#include <gtest/gtest.h>

#include <string>

#include "shardproxy/router/sql/dump.h"
#include "shardproxy/router/sql/parser.h"
#include "sql_test_util.h"

namespace shardproxy::router::sql {
namespace {

using testing::d;
using testing::parseAs;

TEST(SqlTransaction, BeginStartCommitRollback) {
  EXPECT_EQ(d("BEGIN"), "(BEGIN)");
  EXPECT_EQ(d("begin work;"), "(BEGIN)");
  EXPECT_EQ(d("START TRANSACTION"), "(START)");
  EXPECT_EQ(d("START TRANSACTION READ ONLY"), "(START READ_ONLY)");
  EXPECT_EQ(d("START TRANSACTION READ WRITE"), "(START READ_WRITE)");
  EXPECT_EQ(d("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"),
            "(START CONSISTENT_SNAPSHOT READ_ONLY)");
  EXPECT_EQ(d("COMMIT"), "(COMMIT)");
  EXPECT_EQ(d("COMMIT WORK AND NO CHAIN NO RELEASE"), "(COMMIT NO_CHAIN NO_RELEASE)");
  EXPECT_EQ(d("ROLLBACK AND CHAIN RELEASE"), "(ROLLBACK CHAIN RELEASE)");
  EXPECT_EQ(d("ROLLBACK"), "(ROLLBACK)");
  EXPECT_EQ(d("ROLLBACK TO SAVEPOINT sp1"), "(ROLLBACK_TO sp1)");
  EXPECT_EQ(d("ROLLBACK WORK TO `sp 2`"), "(ROLLBACK_TO sp 2)");
  EXPECT_EQ(d("SAVEPOINT sp1"), "(SAVEPOINT sp1)");
  EXPECT_EQ(d("RELEASE SAVEPOINT sp1"), "(RELEASE sp1)");
  Parser p;
  const auto* t = parseAs<TransactionStatement>(p, "START TRANSACTION READ ONLY");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->action, TransactionAction::kStart);
  EXPECT_EQ(t->access, AccessMode::kReadOnly);
  // Not transactions: replication control and compound statements.
  EXPECT_EQ(d("START SLAVE"), "(OTHER START)");
  EXPECT_EQ(d("START REPLICA IO_THREAD"), "(OTHER START)");
}

TEST(SqlSet, SessionAndGlobalVariables) {
  Parser p;
  const auto* s = parseAs<SetStatement>(
      p, "SET SESSION sql_mode = 'ANSI', autocommit=1, GLOBAL max_connections = 100, x = 2");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->items.size(), 4u);
  EXPECT_EQ(s->items[0]->scope, VarScope::kSession);
  EXPECT_EQ(s->items[0]->name.name, "sql_mode");
  EXPECT_EQ(s->items[0]->valueText, "'ANSI'");
  EXPECT_EQ(s->items[0]->text, "SESSION sql_mode = 'ANSI'");
  EXPECT_EQ(s->items[1]->scope, VarScope::kSession);  // the latest modifier carries over
  EXPECT_EQ(s->items[1]->valueText, "1");
  EXPECT_EQ(s->items[2]->scope, VarScope::kGlobal);
  EXPECT_EQ(s->items[3]->scope, VarScope::kGlobal);
  s = parseAs<SetStatement>(p, "SET @@session.time_zone = '+00:00', @@global.x = 1, @@y = 2");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->items[0]->scope, VarScope::kSession);
  EXPECT_TRUE(s->items[0]->systemSyntax);
  EXPECT_EQ(s->items[0]->name.name, "time_zone");
  EXPECT_EQ(s->items[1]->scope, VarScope::kGlobal);
  EXPECT_EQ(s->items[2]->scope, VarScope::kNone);
  s = parseAs<SetStatement>(p, "SET @a = 1, @`b c` := (SELECT 2), @d = @a + 1");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->items[0]->userVariable);
  EXPECT_EQ(s->items[1]->name.name, "b c");
  EXPECT_EQ(s->items[1]->valueText, "(SELECT 2)");
  EXPECT_EQ(dump(s->items[2]->value), "(+ @a 1)");
}

TEST(SqlSet, KeywordValues) {
  EXPECT_EQ(d("SET autocommit = ON"), "(SET (autocommit ON))");
  EXPECT_EQ(d("SET sql_log_bin = OFF"), "(SET (sql_log_bin OFF))");
  EXPECT_EQ(d("SET sql_mode = DEFAULT, x = 1"), "(SET (sql_mode DEFAULT) (x 1))");
  EXPECT_EQ(d("SET optimizer_switch = 'index_merge=off'"),
            "(SET (optimizer_switch 'index_merge=off'))");
  EXPECT_EQ(d("SET session = 1"), "(SET (session 1))");  // a variable named session
}

TEST(SqlSet, NamesCharsetTransaction) {
  Parser p;
  const auto* s = parseAs<SetStatement>(p, "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->items[0]->kind, SetItemKind::kNames);
  EXPECT_EQ(s->items[0]->charset.name, "utf8mb4");
  EXPECT_EQ(s->items[0]->collation.name, "utf8mb4_unicode_ci");
  EXPECT_EQ(d("SET NAMES 'latin1'"), "(SET (NAMES latin1))");
  EXPECT_EQ(d("SET NAMES DEFAULT"), "(SET (NAMES DEFAULT))");
  EXPECT_EQ(d("SET CHARACTER SET utf8"), "(SET (CHARSET utf8))");
  EXPECT_EQ(d("SET CHARSET 'utf8mb4'"), "(SET (CHARSET utf8mb4))");
  EXPECT_EQ(d("SET NAMES utf8mb4, autocommit = 0"), "(SET (NAMES utf8mb4) (autocommit 0))");
  EXPECT_EQ(d("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            "(SET (TRANSACTION ISOLATION READ COMMITTED))");
  EXPECT_EQ(d("SET SESSION TRANSACTION READ ONLY"), "(SET (SESSION TRANSACTION READ_ONLY))");
  EXPECT_EQ(d("SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE"),
            "(SET (GLOBAL TRANSACTION ISOLATION SERIALIZABLE READ_WRITE))");
  EXPECT_EQ(d("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, autocommit = 1"),
            "(SET (TRANSACTION ISOLATION REPEATABLE READ) (autocommit 1))");
  // Forms the proxy does not model.
  EXPECT_EQ(d("SET PASSWORD FOR 'u'@'%' = 'x'"), "(OTHER SET)");
  EXPECT_EQ(d("SET ROLE ALL"), "(OTHER SET)");
  EXPECT_EQ(d("SET DEFAULT ROLE r TO u"), "(OTHER SET)");
  EXPECT_EQ(d("SET STATEMENT max_statement_time=1 FOR SELECT 1"), "(OTHER SET)");
  EXPECT_EQ(d("SET RESOURCE GROUP rg"), "(OTHER SET)");
}

TEST(SqlUse, Database) {
  EXPECT_EQ(d("USE shop"), "(USE shop)");
  EXPECT_EQ(d("use `my shop`;"), "(USE my shop)");
}

TEST(SqlShow, CommonForms) {
  EXPECT_EQ(d("SHOW TABLES"), "(SHOW TABLES)");
  EXPECT_EQ(d("SHOW FULL TABLES FROM shop LIKE 'o%'"),
            "(SHOW FULL TABLES (FROM shop) (LIKE 'o%'))");
  EXPECT_EQ(d("SHOW TABLE STATUS WHERE Name = 'x'"), "(SHOW TABLE STATUS (WHERE (= Name 'x')))");
  EXPECT_EQ(d("SHOW DATABASES"), "(SHOW DATABASES)");
  EXPECT_EQ(d("SHOW GLOBAL VARIABLES LIKE 'max%'"), "(SHOW VARIABLES (LIKE 'max%'))");
  EXPECT_EQ(d("SHOW SESSION STATUS"), "(SHOW STATUS)");
  EXPECT_EQ(d("SHOW WARNINGS LIMIT 10"), "(SHOW WARNINGS)");
  EXPECT_EQ(d("SHOW CREATE DATABASE IF NOT EXISTS shop"),
            "(SHOW CREATE DATABASE IF NOT EXISTS shop)");
  EXPECT_EQ(d("SHOW ENGINE INNODB STATUS"), "(SHOW ENGINE INNODB STATUS)");
  EXPECT_EQ(d("SHOW SLAVE STATUS"), "(SHOW SLAVE STATUS)");
  EXPECT_EQ(d("SHOW BINARY LOGS"), "(SHOW BINARY LOGS)");
  EXPECT_EQ(d("SHOW GRANTS FOR CURRENT_USER()"), "(SHOW GRANTS)");
  EXPECT_EQ(d("SHOW CHARACTER SET LIKE 'utf8%'"), "(SHOW CHARACTER SET (LIKE 'utf8%'))");
  Parser p;
  const auto* s = parseAs<ShowStatement>(p, "SHOW FULL COLUMNS FROM orders FROM shop LIKE 'i%'");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->show, ShowKind::kColumns);
  EXPECT_TRUE(s->full);
  ASSERT_NE(s->table, nullptr);
  EXPECT_EQ(s->table->name.name, "orders");
  EXPECT_EQ(s->table->db.name, "shop");  // FROM db qualifies the table
  EXPECT_EQ(s->database.name, "shop");
  EXPECT_EQ(s->like->value, "i%");
  ASSERT_EQ(s->tables.size(), 1u);
  s = parseAs<ShowStatement>(p, "SHOW INDEX FROM shop.orders");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->show, ShowKind::kIndex);
  EXPECT_EQ(s->table->db.name, "shop");
  s = parseAs<ShowStatement>(p, "SHOW CREATE TABLE `orders`");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->show, ShowKind::kCreateTable);
  EXPECT_EQ(s->table->name.name, "orders");
  s = parseAs<ShowStatement>(p, "SHOW KEYS IN t IN db");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->show, ShowKind::kIndex);
  s = parseAs<ShowStatement>(p, "SHOW WARNINGS LIMIT 10");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->rest, "LIMIT 10");
  s = parseAs<ShowStatement>(p, "SHOW GLOBAL STATUS LIKE 'Threads%'");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->scope, VarScope::kGlobal);
  EXPECT_EQ(s->show, ShowKind::kStatus);
}

TEST(SqlDdl, TableHeaders) {
  Parser p;
  const auto* s = parseAs<DdlStatement>(
      p,
      "CREATE TABLE IF NOT EXISTS `shop`.`orders` (id BIGINT PRIMARY KEY, note TEXT) "
      "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->action, DdlAction::kCreate);
  EXPECT_EQ(s->object, DdlObject::kTable);
  EXPECT_TRUE(s->ifNotExists);
  ASSERT_EQ(s->targets.size(), 1u);
  EXPECT_EQ(s->targets[0]->db.name, "shop");
  EXPECT_EQ(s->targets[0]->name.name, "orders");
  EXPECT_EQ(s->body, "(id BIGINT PRIMARY KEY, note TEXT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
  EXPECT_EQ(d("CREATE TEMPORARY TABLE t (a INT)"), "(CREATE TABLE t)");
  EXPECT_EQ(d("CREATE TABLE t2 LIKE t1"), "(CREATE TABLE t2 t1)");
  EXPECT_EQ(d("CREATE TABLE t2 (LIKE t1)"), "(CREATE TABLE t2 t1)");
  EXPECT_EQ(d("CREATE OR REPLACE TABLE t (a INT)"), "(CREATE TABLE t)");
  EXPECT_EQ(d("ALTER TABLE t ADD COLUMN c INT, ADD INDEX (c)"), "(ALTER TABLE t)");
  EXPECT_EQ(d("ALTER ONLINE IGNORE TABLE db.t ENGINE=InnoDB"), "(ALTER TABLE db.t)");
  EXPECT_EQ(d("DROP TABLE IF EXISTS a, db.b CASCADE"), "(DROP TABLE a db.b)");
  EXPECT_EQ(d("DROP TEMPORARY TABLE t"), "(DROP TABLE t)");
  EXPECT_EQ(d("TRUNCATE TABLE t"), "(TRUNCATE TABLE t)");
  EXPECT_EQ(d("TRUNCATE t"), "(TRUNCATE TABLE t)");
  EXPECT_EQ(d("RENAME TABLE a TO b, c TO d"), "(RENAME TABLE a b c d)");
  s = parseAs<DdlStatement>(p, "DROP TABLE IF EXISTS `t`");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->ifExists);
  s = parseAs<DdlStatement>(p, "CREATE TEMPORARY TABLE tmp SELECT * FROM src");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->temporary);
  EXPECT_EQ(s->tables.size(), 1u);  // the SELECT of CREATE ... SELECT is lexed only
}

TEST(SqlDdl, IndexHeaders) {
  Parser p;
  const auto* s =
      parseAs<DdlStatement>(p, "CREATE UNIQUE INDEX idx_email USING BTREE ON users (email)");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->object, DdlObject::kIndex);
  EXPECT_EQ(s->indexKind, "UNIQUE");
  EXPECT_EQ(s->index.name, "idx_email");
  ASSERT_EQ(s->targets.size(), 1u);
  EXPECT_EQ(s->targets[0]->name.name, "users");
  EXPECT_EQ(d("CREATE INDEX k ON t (a, b)"), "(CREATE INDEX k t)");
  EXPECT_EQ(d("CREATE FULLTEXT INDEX ft ON docs (body)"), "(CREATE INDEX ft docs)");
  EXPECT_EQ(d("DROP INDEX k ON db.t"), "(DROP INDEX k db.t)");
}

TEST(SqlDdl, OtherObjectsAreOther) {
  EXPECT_EQ(d("CREATE DATABASE shop"), "(OTHER CREATE)");
  EXPECT_EQ(d("DROP DATABASE IF EXISTS shop"), "(OTHER DROP)");
  EXPECT_EQ(d("CREATE VIEW v AS SELECT 1"), "(OTHER CREATE)");
  EXPECT_EQ(d("ALTER USER 'u'@'%' IDENTIFIED BY 'x'"), "(OTHER ALTER)");
  EXPECT_EQ(d("CREATE UNIQUE something"), "(OTHER CREATE)");
}

TEST(SqlLockTables, LockAndUnlock) {
  Parser p;
  const auto* s = parseAs<LockTablesStatement>(
      p, "LOCK TABLES t1 READ, t2 AS x WRITE, db.t3 READ LOCAL, t4 LOW_PRIORITY WRITE");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->locks.size(), 4u);
  EXPECT_FALSE(s->locks[0]->write);
  EXPECT_TRUE(s->locks[1]->write);
  EXPECT_EQ(s->locks[1]->table->alias.name, "x");
  EXPECT_EQ(s->locks[2]->mode, "READ LOCAL");
  EXPECT_EQ(s->locks[3]->mode, "LOW_PRIORITY WRITE");
  EXPECT_EQ(s->tables.size(), 4u);
  EXPECT_EQ(d("UNLOCK TABLES"), "(UNLOCK_TABLES)");
  EXPECT_EQ(d("LOCK TABLE t WRITE"), "(LOCK_TABLES (t WRITE))");
  EXPECT_EQ(d("LOCK INSTANCE FOR BACKUP"), "(OTHER LOCK)");
  EXPECT_EQ(d("UNLOCK INSTANCE"), "(OTHER UNLOCK)");
}

TEST(SqlExplain, StatementsTablesAndRoute) {
  EXPECT_EQ(d("EXPLAIN SELECT * FROM t WHERE id = 1"),
            "(EXPLAIN (SELECT * (FROM t) (WHERE (= id 1))))");
  EXPECT_EQ(d("EXPLAIN FORMAT=JSON UPDATE t SET a = 1"), "(EXPLAIN (UPDATE t (SET (= a 1))))");
  EXPECT_EQ(d("EXPLAIN ANALYZE SELECT 1"), "(EXPLAIN (SELECT 1))");
  EXPECT_EQ(d("DESCRIBE orders"), "(EXPLAIN orders)");
  EXPECT_EQ(d("DESC shop.orders id"), "(EXPLAIN shop.orders)");
  EXPECT_EQ(d("EXPLAIN FOR CONNECTION 12"), "(EXPLAIN FOR CONNECTION 12)");
  EXPECT_EQ(d("EXPLAIN ROUTE SELECT c FROM sbtest1 WHERE id = 5"),
            "(EXPLAIN_ROUTE (SELECT c (FROM sbtest1) (WHERE (= id 5))))");
  EXPECT_EQ(d("EXPLAIN ROUTE INSERT INTO t VALUES (1)"), "(EXPLAIN_ROUTE (INSERT t (VALUES (1))))");
  EXPECT_EQ(d("DESCRIBE route"), "(EXPLAIN route)");  // a table named route
  Parser p;
  const auto* e = parseAs<ExplainStatement>(p, "EXPLAIN FORMAT=TREE SELECT a FROM t WHERE b = ?");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->format, "TREE");
  ASSERT_NE(e->explained, nullptr);
  EXPECT_EQ(e->explained->text, "SELECT a FROM t WHERE b = ?");
  EXPECT_EQ(e->explained->placeholderCount, 1u);
  EXPECT_EQ(e->explained->tables.size(), 1u);
  EXPECT_EQ(e->tables.size(), 1u);
}

TEST(SqlOther, AnythingElseIsLexedAndNamed) {
  Parser p;
  ParseResult r = p.parse("FLUSH TABLES WITH READ LOCK");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().kind, StatementKind::kOther);
  EXPECT_EQ(r.statement().firstKeyword, "FLUSH");
  EXPECT_EQ(r.statement().text, "FLUSH TABLES WITH READ LOCK");
  EXPECT_EQ(d("CALL proc(1, 'x')"), "(OTHER CALL)");
  EXPECT_EQ(d("DO SLEEP(1)"), "(OTHER DO)");
  EXPECT_EQ(d("GRANT SELECT ON shop.* TO 'app'@'%'"), "(OTHER GRANT)");
  EXPECT_EQ(d("LOAD DATA INFILE '/tmp/x' INTO TABLE t"), "(OTHER LOAD)");
  EXPECT_EQ(d("PREPARE s FROM 'SELECT ?'"), "(OTHER PREPARE)");
  EXPECT_EQ(d("XA START 'x'"), "(OTHER XA)");
  EXPECT_EQ(d("KILL QUERY 5"), "(OTHER KILL)");
  EXPECT_EQ(d("HANDLER t OPEN"), "(OTHER HANDLER)");
  EXPECT_EQ(d("ANALYZE TABLE t"), "(OTHER ANALYZE)");
  // Still lexed: an unterminated string is an error, not an Other.
  r = p.parse("GRANT SELECT ON t TO 'app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().position, 21u);
}

TEST(SqlOther, CompoundBodiesKeepTheirSemicolons) {
  Parser p;
  std::string_view sql = "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END";
  ParseResult r = p.parse(sql);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.statement().kind, StatementKind::kOther);
  EXPECT_EQ(r.statement().text, sql);
  EXPECT_EQ(r.next(), sql.size());
  r = p.parse("BEGIN NOT ATOMIC SELECT 1; END");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().kind, StatementKind::kOther);
}

TEST(SqlHints, KeptAsRawTextOnTheStatement) {
  Parser p;
  ParseResult r =
      p.parse("/*+ SHARD(-80) */ SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t /* plain */");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.statement().hints.size(), 2u);
  EXPECT_EQ(r.statement().hints[0]->text, " SHARD(-80) ");
  EXPECT_EQ(r.statement().hints[1]->text, " MAX_EXECUTION_TIME(1000) ");
  r = p.parse("INSERT /*+ PRIMARY */ INTO t VALUES (1)");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.statement().hints.size(), 1u);
  r = p.parse("SELECT 1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.statement().hints.empty());
}

TEST(SqlMultiStatement, NextPointsAfterTheSemicolon) {
  Parser p;
  std::string_view sql = "SELECT 1; UPDATE t SET a = 1 ;\n DELETE FROM t; -- done\n";
  ParseResult r = p.parse(sql);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().kind, StatementKind::kSelect);
  EXPECT_EQ(r.next(), 9u);
  r = p.parse(sql, r.next());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().kind, StatementKind::kUpdate);
  EXPECT_EQ(r.statement().text, "UPDATE t SET a = 1");
  r = p.parse(sql, r.next());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().kind, StatementKind::kDelete);
  EXPECT_EQ(r.next(), sql.size());  // only a comment follows
}

TEST(SqlMultiStatement, PlaceholdersAndHintsArePerStatement) {
  Parser p;
  std::string_view sql = "SELECT ? /*+ A */; SELECT ?, ? /*+ B */";
  ParseResult r = p.parse(sql);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().placeholderCount, 1u);
  ASSERT_EQ(r.statement().hints.size(), 1u);
  EXPECT_EQ(r.statement().hints[0]->text, " A ");
  r = p.parse(sql, r.next());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().placeholderCount, 2u);
  ASSERT_EQ(r.statement().hints.size(), 1u);
  EXPECT_EQ(r.statement().hints[0]->text, " B ");
}

}  // namespace
}  // namespace shardproxy::router::sql
