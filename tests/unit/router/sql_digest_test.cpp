// sql/digest.h: statements that differ only in literals, spacing, comments and keyword case are
// one digest; different shapes are not.
#include <gtest/gtest.h>

#include <string>

#include "shardproxy/router/sql/digest.h"

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
}

}  // namespace
}  // namespace shardproxy::router::sql
