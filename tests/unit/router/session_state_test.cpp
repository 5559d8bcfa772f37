#include "shardproxy/router/session_state.h"

#include <gtest/gtest.h>

namespace shardproxy::router {
namespace {

std::vector<SessionChange> analyze(std::string_view sql) {
  std::vector<SessionChange> out;
  analyzeSession(sql, out);
  return out;
}

TEST(SessionAnalyzer, UseWithAndWithoutBackticks) {
  auto c = analyze("USE shop");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].type, SessionChange::Type::kUse);
  EXPECT_EQ(c[0].name, "shop");
  c = analyze("use `we``ird db`;");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].name, "we`ird db");
}

TEST(SessionAnalyzer, SessionVariablesInEverySpelling) {
  auto c = analyze(
      "SET sql_mode='ANSI', SESSION wait_timeout = 10, @@session.time_zone='+00:00', "
      "@@autocommit=0, LOCAL net_read_timeout=5");
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0].name, "sql_mode");
  EXPECT_EQ(c[0].value, "@@session.sql_mode='ANSI'");
  EXPECT_EQ(c[1].name, "wait_timeout");
  EXPECT_EQ(c[2].name, "time_zone");
  EXPECT_EQ(c[3].name, "autocommit");
  EXPECT_EQ(c[4].name, "net_read_timeout");
}

TEST(SessionAnalyzer, GlobalAssignmentsAreNotSessionState) {
  auto c = analyze("SET GLOBAL max_connections=10, @@global.x=1, sort_buffer_size=1000000");
  ASSERT_EQ(c.size(), 1u);  // a modifier applies only to the variable that follows it
  EXPECT_EQ(c[0].name, "sort_buffer_size");
}

TEST(SessionAnalyzer, NamesCharsetAndUserVariables) {
  auto c = analyze("SET NAMES utf8mb4 COLLATE utf8mb4_bin, @a := 5, @`b c` = 'x,y'");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].type, SessionChange::Type::kSetNames);
  EXPECT_EQ(c[0].value, "NAMES utf8mb4 COLLATE utf8mb4_bin");
  EXPECT_EQ(c[1].type, SessionChange::Type::kSetUserVariable);
  EXPECT_EQ(c[1].value, "@a := 5");
  EXPECT_EQ(c[2].value, "@`b c` = 'x,y'");
  c = analyze("SET CHARACTER SET latin1");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].name, "names");
}

TEST(SessionAnalyzer, CommasInsideFunctionCallsDoNotSplit) {
  auto c = analyze("SET @x = CONCAT('a', 'b'), @y = IF(1, 2, 3)");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].value, "@x = CONCAT('a', 'b')");
  EXPECT_EQ(c[1].value, "@y = IF(1, 2, 3)");
}

TEST(SessionAnalyzer, MultiStatementsAndComments) {
  auto c = analyze("/* c */ SELECT 1; SET @a=1; -- x\n USE db2; SELECT ';'");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].name, "@a");
  EXPECT_EQ(c[1].name, "db2");
}

TEST(SessionAnalyzer, VersionCommentBodyIsCode) {
  auto c = analyze("/*!40101 SET NAMES utf8mb4 */");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].type, SessionChange::Type::kSetNames);
}

TEST(SessionAnalyzer, StatementsThatChangeNothing) {
  EXPECT_TRUE(analyze("SELECT * FROM t WHERE a = 'SET x=1'").empty());
  EXPECT_TRUE(analyze("SET PASSWORD = 'x'").empty());
  EXPECT_TRUE(analyze("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").empty());
  EXPECT_TRUE(analyze("SET STATEMENT max_statement_time=1 FOR SELECT 1").empty());
  EXPECT_TRUE(analyze("").empty());
  EXPECT_TRUE(analyze("'unterminated").empty());
}

TEST(SessionState, ReplayKeepsOrderAndLatestValue) {
  SessionState s;
  for (auto& c :
       analyze("SET sql_mode='A', @x=1; SET sql_mode='B'; SET SESSION TRANSACTION READ ONLY")) {
    s.apply(c);
  }
  auto replay = s.replayStatements();
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_EQ(replay[0], "SET @@session.sql_mode='B', @x=1");
  EXPECT_EQ(replay[1], "SET SESSION TRANSACTION READ ONLY");
}

TEST(SessionState, AutocommitIsTracked) {
  SessionState s;
  for (auto& c : analyze("SET autocommit = 0"))
    s.apply(c);
  EXPECT_FALSE(s.autocommit);
  for (auto& c : analyze("SET @@autocommit=ON"))
    s.apply(c);
  EXPECT_TRUE(s.autocommit);
}

TEST(SessionState, VersionBumpsOnEveryChange) {
  SessionState s;
  auto v = s.version;
  s.setSchema("a");
  EXPECT_GT(s.version, v);
  v = s.version;
  s.setSchema("a");
  EXPECT_EQ(s.version, v);
}

}  // namespace
}  // namespace shardproxy::router

namespace shardproxy::router {
namespace {

TEST(KillParser, RecognisesEveryForm) {
  auto k = parseKill("KILL 42");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->id, 42u);
  EXPECT_FALSE(k->queryOnly);
  k = parseKill("kill query 7;");
  ASSERT_TRUE(k);
  EXPECT_TRUE(k->queryOnly);
  k = parseKill("KILL HARD CONNECTION 9");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->id, 9u);
  EXPECT_FALSE(parseKill("KILL QUERY ID 5"));  // a query id, not a connection id
  EXPECT_FALSE(parseKill("KILL USER app"));
  EXPECT_FALSE(parseKill("KILL 1; SELECT 1"));
  EXPECT_FALSE(parseKill("KILL 99999999999"));
  EXPECT_FALSE(parseKill("killer"));
}

}  // namespace
}  // namespace shardproxy::router
