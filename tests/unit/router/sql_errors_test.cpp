// Syntax errors (messages and positions), the depth / height / size caps, every prefix of real
// statements, arena reuse, and regressions found by tests/fuzz/sql_parser_fuzz.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shardproxy/router/sql/dump.h"
#include "shardproxy/router/sql/lexer.h"
#include "shardproxy/router/sql/parser.h"

namespace shardproxy::router::sql {
namespace {

ParseError errorOf(std::string_view sql, ParseOptions options = {}) {
  Parser parser(options);
  ParseResult r = parser.parse(sql);
  if (r.ok()) {
    ADD_FAILURE() << "'" << sql << "' parsed: " << dump(r.statement());
    return {};
  }
  return r.error();
}

std::string syntax(std::string_view hint, std::string_view near, int line = 1) {
  return "You have an error in your SQL syntax; " + std::string(hint) + " near '" +
         std::string(near) + "' at line " + std::to_string(line);
}

bool parses(std::string_view sql, ParseOptions options = {}) {
  Parser parser(options);
  return parser.parse(sql).ok();
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += s;
  return out;
}

TEST(SqlErrors, MessagesNameTheProblemAndWhere) {
  ParseError e = errorOf("SELECT FROM t");
  EXPECT_EQ(e.position, 7u);
  EXPECT_EQ(e.message, syntax("expected an expression", "FROM t"));
  e = errorOf("SELECT a FROM");
  EXPECT_EQ(e.position, 13u);
  EXPECT_EQ(e.message, syntax("expected a table name before the end of the statement", ""));
  e = errorOf("SELECT a b c FROM t");
  EXPECT_EQ(e.position, 11u);
  EXPECT_EQ(e.message, syntax("expected end of statement", "c FROM t"));
  e = errorOf("SELECT (1 + 2 FROM t");
  EXPECT_EQ(e.position, 14u);
  EXPECT_EQ(e.message, syntax("expected ')'", "FROM t"));
  e = errorOf("INSERT INTO t VALUES (1, 2");
  EXPECT_EQ(e.position, 26u);
  e = errorOf("UPDATE t SET WHERE id = 1");
  EXPECT_EQ(e.position, 13u);
  EXPECT_EQ(e.message, syntax("expected a column name", "WHERE id = 1"));
  e = errorOf("SELECT 1\nFROM t\nWHERE a = = 1");
  EXPECT_EQ(e.position, 26u);
  EXPECT_EQ(e.message, syntax("expected an expression", "= 1", 3));
  e = errorOf("SELECT * FROM t LIMIT 'x'");
  EXPECT_EQ(e.message, syntax("expected a number or '?'", "'x'"));
  e = errorOf("SELECT a FROM t1 LEFT JOIN t2 WHERE x");
  EXPECT_EQ(e.message, syntax("expected ON or USING", "WHERE x"));
  e = errorOf("SELECT CASE x END");
  EXPECT_EQ(e.message, syntax("expected WHEN", "END"));
  e = errorOf("SELECT INTERVAL 1 FORTNIGHT");
  EXPECT_EQ(e.position, 18u);
  e = errorOf("SELECT * FROM JSON_TABLE('[]', '$[*]' COLUMNS (a INT PATH '$')) j");
  EXPECT_EQ(e.position, 14u);
  e = errorOf("DELETE FROM t1, t2 WHERE id = 1");
  EXPECT_EQ(e.message, syntax("expected USING", "WHERE id = 1"));
  e = errorOf("SELECT 1 FROM t WHERE a IN ()");
  EXPECT_EQ(e.position, 28u);
  e = errorOf("START TRANSACTION READ SOMETIMES");
  EXPECT_EQ(e.message, syntax("expected ONLY or WRITE", "SOMETIMES"));
  e = errorOf("SELECT a FROM t WHERE a IS 5");
  EXPECT_EQ(e.message, syntax("expected NULL, TRUE, FALSE or UNKNOWN", "5"));
}

TEST(SqlErrors, LexerErrorsComeFirst) {
  ParseError e = errorOf("SELECT 'abc");
  EXPECT_EQ(e.position, 7u);
  EXPECT_EQ(e.message, syntax("unterminated string", "'abc"));
  e = errorOf("SELECT a FROM t /* open");
  EXPECT_EQ(e.position, 16u);
  EXPECT_EQ(e.message, syntax("unterminated comment", "/* open"));
  e = errorOf("SELECT X'1'");
  EXPECT_EQ(e.position, 7u);
  e = errorOf(std::string_view("SELECT \x02", 8));
  EXPECT_EQ(e.message, syntax("unexpected control character", "\x02"));
}

TEST(SqlErrors, EmptyStatements) {
  for (std::string_view sql : {"", "   ", "-- just a comment", "/* x */", ";", " ; SELECT 1"}) {
    ParseError e = errorOf(sql);
    EXPECT_EQ(e.kind, ParseError::Kind::kEmpty) << sql;
    EXPECT_EQ(e.message, "Query was empty");
    Error err = e.toError();
    EXPECT_EQ(err.mysqlErrno, 1065);
  }
  Error err = errorOf("SELECT FROM").toError();
  EXPECT_EQ(err.code, ErrorCode::kParseError);
  EXPECT_EQ(err.mysqlErrno, 1064);
  EXPECT_EQ(err.sqlState, "42000");
}

TEST(SqlErrors, NestingIsCapped) {
  EXPECT_TRUE(parses("SELECT " + repeat("(", 100) + "1" + repeat(")", 100)));
  ParseError e = errorOf("SELECT " + repeat("(", 200) + "1" + repeat(")", 200));
  EXPECT_NE(e.message.find("nested too deeply (limit 128)"), std::string::npos) << e.message;
  // Hostile inputs: far deeper than any stack could take if the parser recursed without a cap.
  errorOf("SELECT " + repeat("(", 1000000));
  errorOf("SELECT " + repeat("NOT ", 100000) + "1");
  errorOf("SELECT " + repeat("- ", 100000) + "1");
  errorOf("SELECT " + repeat("~", 100000) + "1");
  errorOf("SELECT " + repeat("(SELECT ", 10000) + "1");
  errorOf("SELECT * FROM " + repeat("(", 100000) + "t");
  errorOf("SELECT " + repeat("f(", 100000) + "1");
  errorOf("SELECT " + repeat("CASE WHEN ", 10000) + "1");
  errorOf("SELECT 1 FROM t WHERE a IN " + repeat("(a IN ", 10000) + "1");
  errorOf(repeat("EXPLAIN ROUTE ", 10000) + "SELECT 1");
  ParseOptions shallow;
  shallow.maxDepth = 8;
  EXPECT_TRUE(parses("SELECT ((1))", shallow));
  errorOf("SELECT ((((((((1))))))))", shallow);
}

TEST(SqlErrors, TreeHeightIsCapped) {
  EXPECT_TRUE(parses("SELECT 1" + repeat(" + 1", 900)));
  ParseError e = errorOf("SELECT 1" + repeat(" + 1", 2000));
  EXPECT_NE(e.message.find("expression too complex (height limit 1000)"), std::string::npos)
      << e.message;
  errorOf("SELECT * FROM t0" + repeat(" JOIN t", 2000));
  // AND / OR chains are flat, and lists are lists: no height to speak of.
  EXPECT_TRUE(parses("SELECT 1 FROM t WHERE a = 1" + repeat(" AND a = 1", 20000)));
  EXPECT_TRUE(parses("SELECT 1 FROM t WHERE a = 1" + repeat(" OR a = 1", 20000)));
  EXPECT_TRUE(parses("SELECT 1 FROM t WHERE a IN (1" + repeat(", 1", 100000) + ")"));
  EXPECT_TRUE(parses("SELECT 1" + repeat(" UNION ALL SELECT 1", 5000)));
  EXPECT_TRUE(parses("INSERT INTO t VALUES (1)" + repeat(", (1)", 100000)));
}

TEST(SqlErrors, StatementSizeIsCapped) {
  ParseOptions small;
  small.maxStatementBytes = 32;
  EXPECT_TRUE(parses("SELECT c FROM sbtest1 WHERE id=?", small));
  ParseError e = errorOf("SELECT c FROM sbtest1 WHERE id = ?", small);
  EXPECT_EQ(e.position, 0u);
  EXPECT_NE(e.message.find("statement longer than max_allowed_packet (32 bytes)"),
            std::string::npos)
      << e.message;
}

// Every prefix of these statements either parses or fails with a sane error — never crashes.
TEST(SqlErrors, EveryPrefixParsesOrFailsCleanly) {
  const std::vector<std::string> statements = {
      "SELECT DISTINCT a.x AS `y`, COUNT(*) c, CASE WHEN b THEN 1 ELSE 2 END FROM db.t1 a LEFT "
      "JOIN (SELECT id FROM t2 WHERE z IN (1, ?, 'q''s')) AS d ON d.id = a.id WHERE a.k BETWEEN "
      "-5 AND 0x1F AND NOT EXISTS (SELECT 1) GROUP BY a.x WITH ROLLUP HAVING c > 1 ORDER BY 1 "
      "DESC LIMIT 10 OFFSET ? FOR UPDATE",
      "INSERT IGNORE INTO t (a, b) VALUES (1, _utf8mb4'x'), (DEFAULT, X'ff') AS n ON DUPLICATE "
      "KEY UPDATE b = VALUES(b) + n.a",
      "UPDATE t1 JOIN t2 USING (id) SET t1.a = t2.b, t1.c = DEFAULT WHERE t1.id = @x ORDER BY "
      "t1.id LIMIT 5",
      "DELETE t1 FROM t1, t2 WHERE t1.id = t2.id",
      "WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT * FROM c",
      "/*!40101 SET NAMES utf8mb4 */; /*+ SHARD(80-) */ SET SESSION TRANSACTION ISOLATION LEVEL "
      "READ COMMITTED, @@session.x = ON",
      "SHOW FULL COLUMNS FROM t FROM db LIKE 'a%'",
      "CREATE UNIQUE INDEX i ON t (a)",
      "EXPLAIN ROUTE SELECT GROUP_CONCAT(DISTINCT a ORDER BY b SEPARATOR ',') FROM t",
      "SELECT TRIM(LEADING 'x' FROM a), SUBSTRING(b FROM 1 FOR 2), CAST(c AS CHAR(3)), "
      "CONVERT(d USING utf8), INTERVAL 1 DAY + e, f->>'$.g', MATCH (h) AGAINST ('i') FROM t",
  };
  Parser parser;
  for (const std::string& full : statements) {
    for (std::size_t n = 0; n <= full.size(); ++n) {
      std::string prefix = full.substr(0, n);
      ParseResult r = parser.parse(prefix);
      if (r.ok()) {
        EXPECT_FALSE(dump(r.statement()).empty());
        EXPECT_LE(r.next(), prefix.size());
      } else {
        EXPECT_LE(r.error().position, prefix.size()) << prefix;
        EXPECT_FALSE(r.error().message.empty()) << prefix;
      }
    }
    EXPECT_TRUE(parser.parse(full).ok()) << full;
  }
}

TEST(SqlErrors, ArenaIsReusedAndBigStatementsDoNotPinMemory) {
  Parser parser;
  ASSERT_TRUE(parser.parse("SELECT c FROM sbtest1 WHERE id=?").ok());
  const std::size_t reserved = parser.arena().bytesReserved();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(parser.parse("SELECT c FROM sbtest1 WHERE id=?").ok());
  }
  EXPECT_EQ(parser.arena().bytesReserved(), reserved);
  std::string big = "INSERT INTO t VALUES (1, 'x')" + repeat(", (1, 'x')", 50000);
  ASSERT_TRUE(parser.parse(big).ok());
  EXPECT_GT(parser.arena().bytesReserved(), ParseArena::kRetainBytes);
  ASSERT_TRUE(parser.parse("SELECT 1").ok());
  EXPECT_LE(parser.arena().bytesReserved(), ParseArena::kRetainBytes);
  // A Parser can be moved into a session object; the moved-from one still works.
  Parser moved(std::move(parser));
  ASSERT_TRUE(moved.parse("SELECT c FROM sbtest1 WHERE id=?").ok());
  ASSERT_TRUE(
      parser.parse("SELECT c FROM sbtest1 WHERE id=?").ok());  // NOLINT(bugprone-use-after-move)
  EXPECT_GT(parser.arena().bytesReserved(), 0u);
}

// ---------------------------------------------------------------- fuzzer regressions
// Inputs found by tests/fuzz/sql_parser_fuzz.cpp are kept here forever.

// A string literal continued inside a version comment left open: the lexer reported the open
// comment again on every call instead of ending, and the re-decoding of the joined string spun.
TEST(SqlFuzzRegressions, StringJoinedIntoAnOpenVersionComment) {
  ParseError e = errorOf("SELECT 'a' /*! 'b'");
  EXPECT_EQ(e.position, 11u);
  EXPECT_EQ(e.message, syntax("unterminated version comment", "/*! 'b'"));
  // The input the fuzzer found (timeout).
  errorOf(R"(SET SEe =DATE 'ANSI'''''''/*+ SHARD(-8) */ /*M!'''''GRANTS''''#''''tMb;T''SQ)");
  // After an error the lexer stays at the end.
  LexOptions o;
  Lexer lexer("/*! x", o);
  EXPECT_TRUE(lexer.next().is(TokenKind::kWord));
  EXPECT_TRUE(lexer.next().is(TokenKind::kError));
  EXPECT_TRUE(lexer.next().is(TokenKind::kEnd));
  EXPECT_TRUE(lexer.next().is(TokenKind::kEnd));
}

}  // namespace
}  // namespace shardproxy::router::sql
