// The planner's questions: shard key conjuncts, table resolution, query shapes, routing hints.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shardproxy/router/sql/analysis.h"
#include "shardproxy/router/sql/dump.h"
#include "shardproxy/router/sql/parser.h"

namespace shardproxy::router::sql {
namespace {

// The WHERE clause of a SELECT, UPDATE or DELETE.
const Expr* whereOf(const Statement& st) {
  if (const auto* s = st.as<SelectStatement>()) {
    const auto* b = s->query->as<SelectBlock>();
    return b != nullptr ? b->where : nullptr;
  }
  if (const auto* u = st.as<UpdateStatement>()) return u->where;
  if (const auto* d = st.as<DeleteStatement>()) return d->where;
  return nullptr;
}

// "col=value|value" per conjunct, e.g. "id=?0", "k=1|2|3", "a.id~b.id" for column pairs.
std::vector<std::string> conjuncts(std::string_view sql) {
  Parser parser;
  ParseResult r = parser.parse(sql);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().message;
    return {};
  }
  std::vector<KeyConjunct> keys;
  keyConjuncts(whereOf(r.statement()), keys);
  std::vector<std::string> out;
  for (const KeyConjunct& k : keys) {
    std::string s = dump(k.column);
    if (k.match == KeyMatch::kColumns) {
      s += "~" + dump(k.other);
    } else {
      s += "=";
      for (std::size_t i = 0; i < k.values.size(); ++i) {
        if (i > 0) s += "|";
        s += dump(k.values[i]);
      }
    }
    out.push_back(s);
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(SqlAnalysis, EqualityAndInConjuncts) {
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id = ?"), Strings{"id=?0"});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE 5 = id"), Strings{"id=5"});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id <=> -7"), Strings{"id=-7"});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE t.id IN (1, 2, ?)"), Strings{"t.id=1|2|?0"});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE name = 'x' AND id = 3 AND k > 4"),
            (Strings{"name='x'", "id=3"}));
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE (a = 1 AND (b = 2 AND c = 3)) AND d = 4"),
            (Strings{"a=1", "b=2", "c=3", "d=4"}));
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE (a, b) = (1, ?)"), (Strings{"a=1", "b=?0"}));
  EXPECT_EQ(conjuncts("UPDATE t SET x = 1 WHERE id = _utf8mb4'k' AND 1 = 1"),
            Strings{"id=_utf8mb4'k'"});
  EXPECT_EQ(conjuncts("DELETE FROM t WHERE id = 0x1F"), Strings{"id=X'1F'"});
  EXPECT_EQ(conjuncts("SELECT * FROM a, b WHERE a.id = b.a_id AND a.id = 9"),
            (Strings{"a.id~b.a_id", "a.id=9"}));
}

TEST(SqlAnalysis, ConjunctsThatMustNotNarrowTheShards) {
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id = 1 OR id = 2"), Strings{});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE NOT id = 1"), Strings{});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id != 1"), Strings{});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id NOT IN (1, 2)"), Strings{});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id IN (SELECT id FROM u)"), Strings{});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id IN (1, 1 + 1)"), Strings{});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id = 1 + 1"), Strings{});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id = NULL"), Strings{});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id = ANY (SELECT 1)"), Strings{});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE id = @v"), Strings{});
  EXPECT_EQ(conjuncts("SELECT c FROM t WHERE (id = 1 OR x = 2) AND k = 5"), Strings{"k=5"});
  EXPECT_EQ(conjuncts("SELECT c FROM t"), Strings{});
}

TEST(SqlAnalysis, ResolveTableByAliasNameAndDb) {
  Parser p;
  ParseResult r = p.parse(
      "SELECT * FROM shop.orders o JOIN customers ON customers.id = o.cid "
      "JOIN other.customers oc ON oc.id = o.x");
  ASSERT_TRUE(r.ok());
  const Statement& st = r.statement();
  auto column = [](std::string_view db, std::string_view table, std::string_view name) {
    Column c;
    c.db.name = c.db.text = db;
    c.table.name = c.table.text = table;
    c.column.name = c.column.text = name;
    return c;
  };
  EXPECT_EQ(resolveTable(st.tables, column("", "o", "id")), st.tables[0]);
  EXPECT_EQ(resolveTable(st.tables, column("", "customers", "id")), st.tables[1]);
  EXPECT_EQ(resolveTable(st.tables, column("", "oc", "id")), st.tables[2]);
  EXPECT_EQ(resolveTable(st.tables, column("", "orders", "id")), nullptr);  // aliased away
  EXPECT_EQ(resolveTable(st.tables, column("", "", "id")), nullptr);        // ambiguous
  EXPECT_EQ(resolveTable(st.tables, column("", "nope", "id")), nullptr);
  r = p.parse("SELECT * FROM t WHERE id = 1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(resolveTable(r.statement().tables, column("", "", "id")), r.statement().tables[0]);
  EXPECT_EQ(resolveTable(r.statement().tables, column("db", "t", "id")), nullptr);
  r = p.parse("SELECT * FROM db.t WHERE id = 1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(resolveTable(r.statement().tables, column("db", "t", "id")), r.statement().tables[0]);
  // WITH names do not count as tables for unqualified columns.
  r = p.parse("WITH x AS (SELECT 1) SELECT * FROM t, x WHERE id = 1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(resolveTable(r.statement().tables, column("", "", "id")), r.statement().tables[0]);
}

TEST(SqlAnalysis, TablesOfOneBlock) {
  Parser p;
  ParseResult r = p.parse(
      "SELECT * FROM a JOIN (b, c) ON b.x = a.x, (SELECT * FROM d) AS dt WHERE id IN (SELECT id "
      "FROM e)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().tables.size(), 5u);  // a b c d e
  const auto* block = r.statement().as<SelectStatement>()->query->as<SelectBlock>();
  std::vector<const TableName*> own;
  tablesIn(block->from, own);
  ASSERT_EQ(own.size(), 3u);  // a b c: not d (derived) nor e (subquery)
  EXPECT_EQ(own[2]->name.name, "c");
  Column id;
  id.column.name = id.column.text = "id";
  EXPECT_EQ(resolveTable(own, id), nullptr);  // three candidates
  std::vector<const TableName*> one;
  r = p.parse("SELECT * FROM t WHERE id IN (SELECT id FROM u)");
  ASSERT_TRUE(r.ok());
  tablesIn(r.statement().as<SelectStatement>()->query->as<SelectBlock>()->from, one);
  EXPECT_EQ(resolveTable(r.statement().tables, id), nullptr);  // t or u
  EXPECT_EQ(resolveTable(one, id), r.statement().tables[0]);   // t
}

QueryShape shape(std::string_view sql) {
  Parser parser;
  ParseResult r = parser.parse(sql);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().message;
    return {};
  }
  return shapeOf(r.statement());
}

TEST(SqlAnalysis, QueryShapes) {
  EXPECT_TRUE(shape("SELECT a FROM t WHERE b = 1").concatenable());
  EXPECT_TRUE(shape("SELECT a FROM t UNION ALL SELECT a FROM u").concatenable());
  EXPECT_TRUE(shape("SELECT a FROM t WHERE b IN (SELECT MAX(x) FROM u)").concatenable());
  EXPECT_TRUE(shape("SELECT a FROM t WHERE b IN (SELECT MAX(x) FROM u)").subquery);
  EXPECT_FALSE(shape("SELECT a FROM t UNION SELECT a FROM u").concatenable());
  EXPECT_TRUE(shape("SELECT COUNT(*) FROM t").aggregate);
  EXPECT_TRUE(shape("SELECT a FROM t GROUP BY a").groupBy);
  EXPECT_TRUE(shape("SELECT a FROM t HAVING a > 1").having);
  EXPECT_TRUE(shape("SELECT a FROM t ORDER BY a").orderBy);
  EXPECT_TRUE(shape("SELECT a FROM t LIMIT 1").limit);
  EXPECT_TRUE(shape("SELECT DISTINCT a FROM t").distinct);
  EXPECT_TRUE(shape("SELECT SQL_CALC_FOUND_ROWS a FROM t").calcFoundRows);
  EXPECT_TRUE(shape("SELECT RANK() OVER (ORDER BY a) FROM t").window);
  EXPECT_TRUE(shape("SELECT * FROM (SELECT a FROM t) d").derivedTable);
  EXPECT_TRUE(shape("SELECT a FROM t UNION ALL (SELECT a FROM u LIMIT 2)").limit);
  EXPECT_TRUE(shape("(SELECT a FROM t) UNION ALL (SELECT a FROM u) ORDER BY a").orderBy);
  EXPECT_TRUE(shape("SELECT a FROM t UNION ALL SELECT COUNT(*) FROM u").aggregate);
  EXPECT_EQ(shape("SELECT a FROM t FOR UPDATE").locking, LockMode::kForUpdate);
  EXPECT_EQ(shape("SELECT a FROM t LOCK IN SHARE MODE").locking, LockMode::kLockInShareMode);
  EXPECT_EQ(shape("SELECT a FROM t").locking, LockMode::kNone);
  EXPECT_TRUE(shape("INSERT INTO t SELECT a FROM u ORDER BY a").orderBy);
  EXPECT_TRUE(shape("UPDATE t SET a = 1 ORDER BY id LIMIT 3").limit);
  EXPECT_TRUE(shape("DELETE FROM t ORDER BY id").orderBy);
  EXPECT_TRUE(shape("EXPLAIN ROUTE SELECT COUNT(*) FROM t").aggregate);
  EXPECT_TRUE(shape("BEGIN").concatenable());
}

RoutingHints hints(std::string_view sql) {
  Parser parser;
  ParseResult r = parser.parse(sql);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().message;
    return {};
  }
  RoutingHints h = routingHints(r.statement());
  // The views point into `sql`, which outlives the parser.
  return h;
}

TEST(SqlAnalysis, RoutingHints) {
  RoutingHints h = hints("/*+ SHARD(-80) */ SELECT * FROM t");
  EXPECT_EQ(h.shard, "-80");
  EXPECT_FALSE(h.primary);
  h = hints("/*+ PRIMARY */ SELECT * FROM t");
  EXPECT_TRUE(h.primary);
  h = hints("SELECT /*+ shard( 80-c0 ) primary MAX_EXECUTION_TIME(100) */ * FROM t");
  EXPECT_EQ(h.shard, "80-c0");
  EXPECT_TRUE(h.primary);
  // PRIMARY inside another hint's arguments is an index name, not the routing hint.
  h = hints("SELECT /*+ INDEX(t PRIMARY) */ * FROM t");
  EXPECT_FALSE(h.primary);
  EXPECT_TRUE(h.shard.empty());
  h = hints("SELECT /* SHARD(-80) is only a comment */ 1");
  EXPECT_TRUE(h.shard.empty());
  h = hints("/*+ SHARD(`-80`) */ INSERT INTO t VALUES (1)");
  EXPECT_EQ(h.shard, "`-80`");
}

}  // namespace
}  // namespace shardproxy::router::sql

namespace shardproxy::router::sql {
namespace {

std::string withId(std::string_view sql) {
  std::string out = "(none)";
  LexOptions o;
  withConnectionId(sql, 42, o, out);
  return out;
}

TEST(SqlAnalysisConnectionId, TheProxysIdIsWrittenInKeepingColumnNames) {
  EXPECT_EQ(withId("SELECT CONNECTION_ID()"), "SELECT 42 AS `CONNECTION_ID()`");
  EXPECT_EQ(withId("select connection_id ( ) , 1 from t"),
            "select 42 AS `connection_id ( )` , 1 from t");
  EXPECT_EQ(withId("SELECT CONNECTION_ID() AS id"), "SELECT 42 AS id");
  EXPECT_EQ(withId("SELECT CONNECTION_ID() + 1"), "SELECT 42 + 1");
  EXPECT_EQ(withId("SELECT CONCAT(a, CONNECTION_ID(), b) FROM t"),
            "SELECT CONCAT(a, 42, b) FROM t");
  EXPECT_EQ(withId("SELECT * FROM p WHERE id = CONNECTION_ID() ORDER BY a, CONNECTION_ID()"),
            "SELECT * FROM p WHERE id = 42 ORDER BY a, 42");
  EXPECT_EQ(withId("INSERT INTO t VALUES (CONNECTION_ID())"), "INSERT INTO t VALUES (42)");
  EXPECT_EQ(withId("SELECT (SELECT CONNECTION_ID())"), "SELECT (SELECT 42)");
  // Not a call: names, strings and comments stay.
  EXPECT_EQ(withId("SELECT 'CONNECTION_ID()', `CONNECTION_ID` FROM t /* CONNECTION_ID() */"),
            "(none)");
}

}  // namespace
}  // namespace shardproxy::router::sql
