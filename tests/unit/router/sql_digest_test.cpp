// sql/digest.h: statements that differ only in literals, spacing, comments and keyword case are
// one digest; different shapes are not.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "shardproxy/router/sql/digest.h"
#include "shardproxy/router/sql/parser.h"

namespace shardproxy::router::sql {
namespace {

std::string fp(std::string_view sql, const LexOptions& o = {}) {
  std::string out;
  fingerprint(sql, o, out);
  return out;
}

TEST(SqlDigest, LiteralsBecomePlaceholders) {
  EXPECT_EQ(fp("select * from t where id = 5"), "SELECT * FROM t WHERE id = ?");
  EXPECT_EQ(fp("SELECT *  FROM t WHERE id=7 /* x */"), "SELECT * FROM t WHERE id = ?");
  EXPECT_EQ(fp("SELECT a FROM t WHERE s = 'it''s' AND x = -1.5e3 AND h = 0xFF AND b = x'00'"),
            "SELECT a FROM t WHERE s = ? AND x = ? AND h = ? AND b = ?");
  EXPECT_EQ(fp("SELECT a - 1 FROM t"), "SELECT a - ? FROM t");  // a subtraction stays one
  EXPECT_EQ(fp("SELECT a FROM t WHERE id = ?"), "SELECT a FROM t WHERE id = ?");
}

TEST(SqlDigest, InListsAndValuesRowsFold) {
  EXPECT_EQ(fp("SELECT a FROM t WHERE id IN (1, 2, 3)"), "SELECT a FROM t WHERE id IN (...)");
  EXPECT_EQ(fp("SELECT a FROM t WHERE id IN (7)"), fp("SELECT a FROM t WHERE id in (8,9,-10)"));
  // An IN over a subquery is kept.
  EXPECT_EQ(fp("SELECT a FROM t WHERE id IN (SELECT b FROM u)"),
            "SELECT a FROM t WHERE id IN (SELECT b FROM u)");
  EXPECT_EQ(fp("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')"),
            "INSERT INTO t VALUES (?, ?), ...");
  EXPECT_EQ(fp("INSERT INTO t VALUES (1, 'a')"), "INSERT INTO t VALUES (?, ?)");
  EXPECT_EQ(fp("INSERT INTO t (a, b) VALUES (1, 2), (3, 4) ON DUPLICATE KEY UPDATE b = 5"),
            "INSERT INTO t (a, b) VALUES (?, ?), ... ON DUPLICATE KEY UPDATE b = ?");
}

TEST(SqlDigest, SameShapeSameHashOtherShapeOther) {
  std::string a, b, c;
  const LexOptions o;
  EXPECT_EQ(fingerprint("SELECT v FROM t WHERE id = 1", o, a),
            fingerprint("select v from t where id=2;", o, b));
  EXPECT_NE(fingerprint("SELECT v FROM t WHERE id = 1", o, a),
            fingerprint("SELECT v FROM t WHERE k = 1", o, c));
  // Identifiers keep their case (they may be case-sensitive table names).
  EXPECT_EQ(fp("select Name from Users where `Id` = 3"), "SELECT Name FROM Users WHERE `Id` = ?");
  EXPECT_EQ(fp("SELECT t.a, f(x, 2) FROM db.t"), "SELECT t.a, f(x, ?) FROM db.t");
}

TEST(SqlDigest, LongTextIsCut) {
  std::string sql = "SELECT ";
  for (int i = 0; i < 400; ++i)
    sql += "column_number_" + std::to_string(i) + ", ";
  sql += "x FROM t";
  std::string out;
  fingerprint(sql, LexOptions{}, out);
  EXPECT_LE(out.size(), kMaxDigestText + 3);
  EXPECT_EQ(out.substr(out.size() - 3), "...");
  // Words of every length up to 6 put the cut at every offset, also right after a word that
  // filled the text exactly (the space before the next one must not push it past the bound).
  for (std::size_t len = 1; len <= 6; ++len) {
    std::string words = "SELECT";
    for (int i = 0; i < 1200; ++i)
      words += " " + std::string(len, 'w');
    fingerprint(words, LexOptions{}, out);
    EXPECT_LE(out.size(), kMaxDigestText + 3) << len;
    EXPECT_EQ(out.substr(out.size() - 3), "...") << len;
  }
}

// The session fingerprints from the tokens the parser consumed; that must be the text and hash of
// lexing the statement again, for every statement the parser reads.
void expectSameFromTokens(Parser& parser, std::string_view sql) {
  std::vector<Token> tokens;
  std::size_t at = 0;
  for (int i = 0; i < 16 && at < sql.size(); ++i) {
    ParseResult r = parser.parse(sql, at, &tokens);
    if (!r.ok()) {
      EXPECT_FALSE(tokensComplete(tokens)) << sql;
      return;
    }
    ASSERT_TRUE(tokensComplete(tokens)) << sql;
    std::string lexed, recorded;
    const std::uint64_t a = fingerprint(sql.substr(at), parser.options().lex, lexed);
    const std::uint64_t b = fingerprint(tokens, sql, recorded);
    EXPECT_EQ(recorded, lexed) << sql;
    EXPECT_EQ(a, b) << sql;
    if (r.next() <= at) return;
    at = r.next();
  }
}

TEST(SqlDigest, TheParsersTokensGiveTheSameFingerprint) {
  Parser parser;
  for (std::string_view sql : {
           "select * from t where id = 5",
           "SELECT a FROM t WHERE id IN (1, -2, NULL, 'x') AND b in (c, 1) AND d IN (SELECT 1)",
           "SELECT a - 1, -5, - 5, a-1, (-1), f(-2) FROM t WHERE x > -1.5e3",
           "INSERT INTO t (a, b) VALUES (1, (2)), (3, (4 + 1)), (5, 6) ON DUPLICATE KEY UPDATE b = "
           "5",
           "INSERT INTO t VALUE (1)",
           "SELECT /*+ MAX_EXECUTION_TIME(10) */ a FROM t /* c */ WHERE id = ? -- x\n",
           "SELECT /*!50000 STRAIGHT_JOIN */ a FROM t; SELECT 2; UPDATE t SET a = a + 1 WHERE id "
           "IN (7)",
           "  /* leading */ SELECT COUNT(*), SUM(x) FROM t GROUP BY c HAVING SUM(x) > 10 ORDER BY "
           "2",
           "SELECT t.a, db.t.b, COUNT(*) FROM db.t JOIN u ON t.id = u.id WHERE u.x IN (1,2)",
           "WITH c AS (SELECT 1 AS x) SELECT x FROM c UNION ALL SELECT 2",
           "SET @a = -1, SESSION sql_mode = 'ANSI'",
           "DO 1 - 0--;SELECT 1",  // "--;" is two minus signs, not a comment
           // A VALUES row left open: the fold must not look past the statement's ';'.
           "CREATE TABLE tt * FROM u INSERT INTO t1 VALUES (1, 2), (3, 4 * FROM t1;\n0);",
           "SELECT x'00', b'01', 0xFF, N'a', _utf8mb4'b' COLLATE utf8mb4_bin FROM t",
       }) {
    expectSameFromTokens(parser, sql);
  }
}

TEST(SqlDigest, EveryPlanTestQueryGivesTheSameFingerprintFromTokens) {
  std::ifstream in(SHARDPROXY_TESTDATA_DIR "/merge_plans.txt");
  ASSERT_TRUE(in) << "merge_plans.txt";
  Parser parser;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("> ", 0) != 0) continue;
    expectSameFromTokens(parser, std::string_view(line).substr(2));
    ++n;
  }
  EXPECT_GT(n, 50);
}

TEST(SqlDigest, ARecordingPastTheCapIsDropped) {
  std::string sql = "SELECT a FROM t WHERE id IN (";
  for (std::size_t i = 0; i < Parser::kMaxRecordedTokens; ++i)
    sql += "1,";
  sql += "2)";
  Parser parser;
  std::vector<Token> tokens;
  ASSERT_TRUE(parser.parse(sql, 0, &tokens).ok());
  EXPECT_FALSE(tokensComplete(tokens));
  EXPECT_TRUE(tokens.empty());
  // The session then lexes the text again: still the folded fingerprint.
  EXPECT_EQ(fp(sql), "SELECT a FROM t WHERE id IN (...)");
}

TEST(SqlDigest, AFailedParseIsNotAWholeRecording) {
  Parser parser;
  std::vector<Token> tokens;
  EXPECT_FALSE(parser.parse("SELECT a FROM WHERE", 0, &tokens).ok());
  EXPECT_FALSE(tokensComplete(tokens));
}

}  // namespace
}  // namespace shardproxy::router::sql
