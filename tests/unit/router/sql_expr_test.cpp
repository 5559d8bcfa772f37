// Expressions: literals, names, operator precedence, functions and the special forms.
#include <gtest/gtest.h>

#include <string>

#include "shardproxy/router/sql/dump.h"
#include "shardproxy/router/sql/parser.h"

namespace shardproxy::router::sql {
namespace {

// Parses "SELECT <text>" and returns the first select item's expression, dumped.
std::string e(std::string_view text, ParseOptions options = {}) {
  Parser parser(options);
  std::string sql = "SELECT " + std::string(text);
  ParseResult r = parser.parse(sql);
  if (!r.ok()) return "error: " + r.error().message;
  const auto* b = r.statement().as<SelectStatement>()->query->as<SelectBlock>();
  return dump(b->items[0]->expr);
}

// The first select item of "SELECT <text>" for field checks; `sql` keeps the text alive.
const Expr* first(Parser& parser, std::string& sql, std::string_view text) {
  sql = "SELECT " + std::string(text);
  ParseResult r = parser.parse(sql);
  if (!r.ok()) {
    ADD_FAILURE() << sql << ": " << r.error().message;
    return nullptr;
  }
  return r.statement().as<SelectStatement>()->query->as<SelectBlock>()->items[0]->expr;
}

TEST(SqlExpr, IntegerLiterals) {
  Parser p;
  std::string sql;
  const auto* l = first(p, sql, "42")->as<Literal>();
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->type, LiteralType::kInteger);
  EXPECT_EQ(l->asInt64(), 42);
  l = first(p, sql, "-42")->as<Literal>();  // the minus is folded into the literal
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->asInt64(), -42);
  EXPECT_EQ(l->text, "-42");
  EXPECT_FALSE(l->asUint64());
  l = first(p, sql, "18446744073709551615")->as<Literal>();
  EXPECT_EQ(l->type, LiteralType::kInteger);
  EXPECT_EQ(l->asUint64(), UINT64_MAX);
  EXPECT_FALSE(l->asInt64());
  l = first(p, sql, "- 9223372036854775808")->as<Literal>();
  EXPECT_EQ(l->asInt64(), INT64_MIN);
  // Overflow makes a DECIMAL, as in MySQL.
  l = first(p, sql, "18446744073709551616")->as<Literal>();
  EXPECT_EQ(l->type, LiteralType::kDecimal);
  EXPECT_EQ(l->value, "18446744073709551616");
  l = first(p, sql, "-9223372036854775809")->as<Literal>();
  EXPECT_EQ(l->type, LiteralType::kDecimal);
  EXPECT_TRUE(l->negative);
}

TEST(SqlExpr, OtherLiterals) {
  EXPECT_EQ(e("1.50"), "1.50");
  EXPECT_EQ(e("-.5e3"), "-.5e3");
  EXPECT_EQ(e("NULL"), "NULL");
  EXPECT_EQ(e("true"), "TRUE");
  EXPECT_EQ(e("X'0aFF'"), "X'0aFF'");
  EXPECT_EQ(e("0x0aff"), "X'0aff'");
  EXPECT_EQ(e("b'101'"), "B'101'");
  EXPECT_EQ(e("0b101"), "B'101'");
  EXPECT_EQ(e("DATE '2024-01-31'"), "DATE'2024-01-31'");
  EXPECT_EQ(e("TIMESTAMP '2024-01-31 10:00:00'"), "TIMESTAMP'2024-01-31 10:00:00'");
  EXPECT_EQ(e("date"), "date");  // a column named date
  EXPECT_EQ(e("- - 1"), "(- -1)");
  EXPECT_EQ(e("-a"), "(- a)");
  EXPECT_EQ(e("+1"), "(+ 1)");
}

TEST(SqlExpr, StringLiterals) {
  Parser p;
  std::string sql;
  const auto* l = first(p, sql, "'plain'")->as<Literal>();
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->value, "plain");
  EXPECT_EQ(l->value.data(), sql.data() + 8);  // a view into the statement: no copy
  l = first(p, sql, R"('it''s \'quoted\'\n')")->as<Literal>();
  EXPECT_EQ(l->value, "it's 'quoted'\n");
  l = first(p, sql, R"("double \"q\"")")->as<Literal>();
  EXPECT_EQ(l->value, "double \"q\"");
  // Adjacent literals are one string, comments between them allowed.
  l = first(p, sql, "'a' 'b' /* c */ \"c\"")->as<Literal>();
  EXPECT_EQ(l->value, "abc");
  EXPECT_EQ(l->text, "'a' 'b' /* c */ \"c\"");
  l = first(p, sql, "_utf8mb4'caf\xc3\xa9'")->as<Literal>();
  EXPECT_EQ(l->charset, "utf8mb4");
  EXPECT_EQ(l->value, "caf\xc3\xa9");
  l = first(p, sql, "_binary 'x'")->as<Literal>();
  EXPECT_EQ(l->charset, "binary");
  l = first(p, sql, "_latin1 X'41'")->as<Literal>();
  EXPECT_EQ(l->type, LiteralType::kHex);
  EXPECT_EQ(l->charset, "latin1");
  l = first(p, sql, "N'national'")->as<Literal>();
  EXPECT_TRUE(l->national);
  EXPECT_EQ(l->value, "national");
  // A leading-underscore name that is no character set is a column with a string alias.
  EXPECT_EQ(e("_foo 'x'"), "_foo");
}

TEST(SqlExpr, StringLiteralsUnderSqlModes) {
  ParseOptions o;
  o.lex.noBackslashEscapes = true;
  EXPECT_EQ(e(R"('a\n')", o), R"('a\n')");
  o = {};
  o.lex.ansiQuotes = true;
  EXPECT_EQ(e(R"("my col")", o), "my col");
}

TEST(SqlExpr, Names) {
  EXPECT_EQ(e("c"), "c");
  EXPECT_EQ(e("t.c"), "t.c");
  EXPECT_EQ(e("db.t.c"), "db.t.c");
  EXPECT_EQ(e("`my db`.`my``tbl`.`c`"), "my db.my`tbl.c");
  EXPECT_EQ(e("t.*"), "t.*");
  EXPECT_EQ(e("db.t.*"), "db.t.*");
  EXPECT_EQ(e("t.select"), "t.select");  // reserved words are names after a dot
  EXPECT_EQ(e("`select`"), "select");
  Parser p;
  std::string sql;
  const auto* c = first(p, sql, "s.`t`.c")->as<Column>();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->db.name, "s");
  EXPECT_EQ(c->table.name, "t");
  EXPECT_TRUE(c->table.quoted);
  EXPECT_EQ(c->table.text, "`t`");
  EXPECT_EQ(c->column.name, "c");
}

TEST(SqlExpr, PlaceholdersAreNumberedInTextOrder) {
  EXPECT_EQ(e("f(?, ?) + ?"), "(+ f(?0, ?1) ?2)");
  Parser p;
  ParseResult r = p.parse("SELECT ? FROM t WHERE a = ? AND b IN (?, ?) LIMIT ?");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().placeholderCount, 5u);
  EXPECT_EQ(dump(r.statement()),
            "(SELECT ?0 (FROM t) (WHERE (AND (= a ?1) (IN b (?2 ?3)))) (LIMIT ?4))");
}

TEST(SqlExpr, PlaceholdersInSkippedTextStillCount) {
  Parser p;
  ParseResult r = p.parse("CALL add_item(?, ?)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().placeholderCount, 2u);
  r = p.parse("SELECT SUM(x) OVER (ORDER BY id ROWS ? PRECEDING) FROM t WHERE a = ?");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().placeholderCount, 2u);
  const auto* b = r.statement().as<SelectStatement>()->query->as<SelectBlock>();
  EXPECT_EQ(dump(b->where), "(= a ?1)");
  r = p.parse("SELECT 'not ? a placeholder', `nor ?` FROM t /* ? */");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.statement().placeholderCount, 0u);
}

TEST(SqlExpr, Variables) {
  EXPECT_EQ(e("@a"), "@a");
  EXPECT_EQ(e("@`my var`"), "@my var");
  EXPECT_EQ(e("@@version"), "@@version");
  EXPECT_EQ(e("@@session.sql_mode"), "@@SESSION.sql_mode");
  EXPECT_EQ(e("@@GLOBAL.read_only"), "@@GLOBAL.read_only");
  EXPECT_EQ(e("@x := 5"), "(:= @x 5)");
  Parser p;
  std::string sql;
  const auto* v = first(p, sql, "@@local.autocommit")->as<Variable>();
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->system);
  EXPECT_EQ(v->scope, VarScope::kLocal);
  EXPECT_EQ(v->name.name, "autocommit");
}

TEST(SqlExpr, ArithmeticAndBitPrecedence) {
  EXPECT_EQ(e("1 + 2 * 3"), "(+ 1 (* 2 3))");
  EXPECT_EQ(e("1 - 2 - 3"), "(- (- 1 2) 3)");
  EXPECT_EQ(e("(1 + 2) * 3"), "(* (+ 1 2) 3)");
  EXPECT_EQ(e("a DIV 2 MOD 3 % 4"), "(% (% (DIV a 2) 3) 4)");
  EXPECT_EQ(e("a << 2 | 1 & b"), "(| (<< a 2) (& 1 b))");
  EXPECT_EQ(e("-2 ^ 2"), "(^ -2 2)");  // unary minus binds tighter than ^
  EXPECT_EQ(e("a * b ^ c"), "(* a (^ b c))");
  EXPECT_EQ(e("~a + !b"), "(+ (~ a) (NOT b))");
  EXPECT_EQ(e("a - -b"), "(- a (- b))");
  EXPECT_EQ(e("2-1"), "(- 2 1)");
}

TEST(SqlExpr, LogicalPrecedenceAndFlatChains) {
  EXPECT_EQ(e("a OR b AND c"), "(OR a (AND b c))");
  EXPECT_EQ(e("a AND b OR c AND d"), "(OR (AND a b) (AND c d))");
  EXPECT_EQ(e("a = 1 AND b = 2 AND c = 3"), "(AND (= a 1) (= b 2) (= c 3))");
  EXPECT_EQ(e("a || b && c"), "(OR a (AND b c))");
  EXPECT_EQ(e("a XOR b OR c"), "(OR (XOR a b) c)");
  EXPECT_EQ(e("a AND b XOR c"), "(XOR (AND a b) c)");
  EXPECT_EQ(e("NOT a = b AND c"), "(AND (NOT (= a b)) c)");
  EXPECT_EQ(e("NOT NOT a"), "(NOT (NOT a))");
  EXPECT_EQ(e("!a = b"), "(= (NOT a) b)");  // ! binds tighter than =
  ParseOptions o;
  o.pipesAsConcat = true;
  EXPECT_EQ(e("a || b || c", o), "(|| (|| a b) c)");
}

TEST(SqlExpr, Comparisons) {
  EXPECT_EQ(e("a = b = c"), "(= (= a b) c)");
  EXPECT_EQ(e("a <=> NULL"), "(<=> a NULL)");
  EXPECT_EQ(e("a != b"), "(<> a b)");
  EXPECT_EQ(e("a + 1 >= b * 2"), "(>= (+ a 1) (* b 2))");
  EXPECT_EQ(e("a IS NULL"), "(IS a NULL)");
  EXPECT_EQ(e("a IS NOT TRUE"), "(IS_NOT a TRUE)");
  EXPECT_EQ(e("a = b IS UNKNOWN"), "(IS (= a b) UNKNOWN)");
  EXPECT_EQ(e("a LIKE 'x%'"), "(LIKE a 'x%')");
  EXPECT_EQ(e("a NOT LIKE 'x!%' ESCAPE '!'"), "(NOT_LIKE a 'x!%' ESCAPE '!')");
  EXPECT_EQ(e("a REGEXP '^x'"), "(REGEXP a '^x')");
  EXPECT_EQ(e("a NOT RLIKE 'x'"), "(NOT_REGEXP a 'x')");
  EXPECT_EQ(e("a SOUNDS LIKE b"), "(SOUNDS_LIKE a b)");
  EXPECT_EQ(e("a IN (1, 2, 3)"), "(IN a (1 2 3))");
  EXPECT_EQ(e("a NOT IN ('x')"), "(NOT_IN a ('x'))");
  EXPECT_EQ(e("(a, b) IN ((1, 2), (3, 4))"), "(IN (ROW a b) ((ROW 1 2) (ROW 3 4)))");
  EXPECT_EQ(e("a BETWEEN 1 AND 10"), "(BETWEEN a 1 10)");
  EXPECT_EQ(e("a BETWEEN 1 AND 10 AND b"), "(AND (BETWEEN a 1 10) b)");
  EXPECT_EQ(e("a NOT BETWEEN b + 1 AND c * 2"), "(NOT_BETWEEN a (+ b 1) (* c 2))");
  EXPECT_EQ(e("NOT a BETWEEN 1 AND 2"), "(NOT (BETWEEN a 1 2))");
  EXPECT_EQ(e("(a, b) = (1, 2)"), "(= (ROW a b) (ROW 1 2))");
  EXPECT_EQ(e("ROW(a, b) <> ROW(1, 2)"), "(<> (ROW a b) (ROW 1 2))");
  EXPECT_EQ(e("1 MEMBER OF ('[1, 2]')"), "(MEMBER_OF 1 '[1, 2]')");
}

TEST(SqlExpr, CollateBinaryAndJson) {
  EXPECT_EQ(e("a COLLATE utf8mb4_bin = 'X'"), "(= (COLLATE a utf8mb4_bin) 'X')");
  EXPECT_EQ(e("a = 'X' COLLATE 'utf8mb4_bin'"), "(= a (COLLATE 'X' utf8mb4_bin))");
  EXPECT_EQ(e("BINARY a = b"), "(= (BINARY a) b)");
  EXPECT_EQ(e("doc->'$.a' = 1"), "(= (-> doc '$.a') 1)");
  EXPECT_EQ(e("doc->>'$.name'"), "(->> doc '$.name')");
}

TEST(SqlExpr, Subqueries) {
  EXPECT_EQ(e("(SELECT 1)"), "(SUBQUERY (SELECT 1))");
  EXPECT_EQ(e("(SELECT 1) + 1"), "(+ (SUBQUERY (SELECT 1)) 1)");
  EXPECT_EQ(e("((SELECT 1))"), "(SUBQUERY (SELECT 1))");
  EXPECT_EQ(e("((SELECT 1) + 1)"), "(+ (SUBQUERY (SELECT 1)) 1)");
  EXPECT_EQ(e("((SELECT 1) UNION (SELECT 2))"), "(SUBQUERY (SETOP (SELECT 1) UNION (SELECT 2)))");
  EXPECT_EQ(e("a IN (SELECT id FROM t)"), "(IN a ((SELECT id (FROM t))))");
  EXPECT_EQ(e("EXISTS (SELECT * FROM t WHERE t.a = b)"),
            "(EXISTS (SELECT * (FROM t) (WHERE (= t.a b))))");
  EXPECT_EQ(e("NOT EXISTS (SELECT 1)"), "(NOT (EXISTS (SELECT 1)))");
  EXPECT_EQ(e("a > ALL (SELECT b FROM t)"), "(> ALL a (SUBQUERY (SELECT b (FROM t))))");
  EXPECT_EQ(e("a = ANY (SELECT b FROM t)"), "(= ANY a (SUBQUERY (SELECT b (FROM t))))");
  EXPECT_EQ(e("a = SOME (SELECT b FROM t)"), "(= ANY a (SUBQUERY (SELECT b (FROM t))))");
}

TEST(SqlExpr, FunctionCalls) {
  EXPECT_EQ(e("NOW()"), "NOW()");
  EXPECT_EQ(e("CONCAT(a, '-', b)"), "CONCAT(a, '-', b)");
  EXPECT_EQ(e("IF(a > 0, 'pos', 'neg')"), "IF((> a 0), 'pos', 'neg')");
  EXPECT_EQ(e("LEFT(name, 3)"), "LEFT(name, 3)");  // reserved words as function names
  EXPECT_EQ(e("REPLACE(a, 'x', 'y')"), "REPLACE(a, 'x', 'y')");
  EXPECT_EQ(e("DATABASE()"), "DATABASE()");
  EXPECT_EQ(e("mydb.myfunc(1)"), "mydb.myfunc(1)");
  EXPECT_EQ(e("CURRENT_TIMESTAMP"), "CURRENT_TIMESTAMP");
  EXPECT_EQ(e("CURRENT_TIMESTAMP(6)"), "CURRENT_TIMESTAMP(6)");
  EXPECT_EQ(e("count (*)"), "count(*)");
  Parser p;
  std::string sql;
  const auto* f = first(p, sql, "UTC_DATE")->as<Function>();
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->noParens);
}

TEST(SqlExpr, AggregatesAreFlagged) {
  Parser p;
  std::string sql;
  const auto* f = first(p, sql, "COUNT(*)")->as<Function>();
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->star);
  EXPECT_TRUE(f->aggregate);
  f = first(p, sql, "count(DISTINCT a, b)")->as<Function>();
  EXPECT_TRUE(f->distinct);
  EXPECT_TRUE(f->aggregate);
  EXPECT_EQ(f->args.size(), 2u);
  for (const char* agg : {"SUM(k)", "AVG(k)", "MIN(k)", "MAX(k)", "BIT_OR(k)", "STDDEV(k)",
                          "VAR_SAMP(k)", "JSON_ARRAYAGG(k)", "GROUP_CONCAT(k)", "SUM(ALL k)"}) {
    f = first(p, sql, agg)->as<Function>();
    ASSERT_NE(f, nullptr) << agg;
    EXPECT_TRUE(f->aggregate) << agg;
  }
  f = first(p, sql, "LOWER(k)")->as<Function>();
  EXPECT_FALSE(f->aggregate);
  f = first(p, sql, "otherdb.SUM(k)")->as<Function>();  // a stored function, not the aggregate
  EXPECT_FALSE(f->aggregate);
  // A window call is not a group aggregate.
  f = first(p, sql, "SUM(k) OVER (PARTITION BY g ORDER BY id)")->as<Function>();
  EXPECT_FALSE(f->aggregate);
  EXPECT_EQ(f->over, "(PARTITION BY g ORDER BY id)");
  EXPECT_EQ(e("ROW_NUMBER() OVER w"), "ROW_NUMBER() OVER w");
  EXPECT_EQ(e("RANK() OVER (ORDER BY score DESC)"), "RANK() OVER (ORDER BY score DESC)");
}

TEST(SqlExpr, GroupConcat) {
  EXPECT_EQ(e("GROUP_CONCAT(DISTINCT name ORDER BY name DESC, id SEPARATOR '; ')"),
            "GROUP_CONCAT(DISTINCT name (ORDER (DESC name) id) SEPARATOR '; ')");
  // MariaDB takes a LIMIT inside both, and ORDER BY / DISTINCT inside JSON_ARRAYAGG.
  EXPECT_EQ(e("GROUP_CONCAT(qty ORDER BY qty LIMIT 1, 2)"),
            "GROUP_CONCAT(qty (ORDER qty) (LIMIT 2 OFFSET 1))");
  EXPECT_EQ(e("JSON_ARRAYAGG(DISTINCT qty ORDER BY qty DESC LIMIT 3)"),
            "JSON_ARRAYAGG(DISTINCT qty (ORDER (DESC qty)) (LIMIT 3))");
}

TEST(SqlExpr, FunctionsWithKeywordArguments) {
  EXPECT_EQ(e("TRIM(name)"), "TRIM(name)");
  EXPECT_EQ(e("TRIM('x' FROM name)"), "TRIM('x', name)");
  EXPECT_EQ(e("TRIM(LEADING '0' FROM code)"), "TRIM('0', code; LEADING)");
  EXPECT_EQ(e("TRIM(BOTH FROM name)"), "TRIM(name; BOTH)");
  EXPECT_EQ(e("SUBSTRING(s FROM 2 FOR 3)"), "SUBSTRING(s, 2, 3)");
  EXPECT_EQ(e("SUBSTR(s, 2)"), "SUBSTR(s, 2)");
  EXPECT_EQ(e("EXTRACT(YEAR_MONTH FROM d)"), "EXTRACT(YEAR_MONTH, d; YEAR_MONTH)");
  EXPECT_EQ(e("POSITION('b' IN 'abc')"), "POSITION('b', 'abc')");
  EXPECT_EQ(e("CHAR(77, 121 USING utf8mb4)"), "CHAR(77, 121; utf8mb4)");
  EXPECT_EQ(e("CAST(a AS UNSIGNED)"), "(CAST a AS UNSIGNED)");
  EXPECT_EQ(e("CAST(a AS CHAR(10) CHARACTER SET utf8mb4)"),
            "(CAST a AS CHAR(10) CHARACTER SET utf8mb4)");
  EXPECT_EQ(e("CAST(price AS DECIMAL(10, 2))"), "(CAST price AS DECIMAL(10, 2))");
  EXPECT_EQ(e("CONVERT(a, SIGNED INTEGER)"), "(CONVERT a AS SIGNED INTEGER)");
  EXPECT_EQ(e("CONVERT(a USING latin1)"), "(CONVERT a USING latin1)");
  EXPECT_EQ(e("MATCH (title, body) AGAINST ('+db -sql' IN BOOLEAN MODE)"),
            "(MATCH (title body) '+db -sql' IN BOOLEAN MODE)");
}

TEST(SqlExpr, CaseAndInterval) {
  EXPECT_EQ(e("CASE WHEN a > 1 THEN 'big' WHEN a = 1 THEN 'one' ELSE 'small' END"),
            "(CASE (WHEN (> a 1) 'big') (WHEN (= a 1) 'one') (ELSE 'small'))");
  EXPECT_EQ(e("CASE status WHEN 1 THEN 'on' END"), "(CASE status (WHEN 1 'on'))");
  EXPECT_EQ(e("NOW() - INTERVAL 1 DAY"), "(- NOW() (INTERVAL 1 DAY))");
  EXPECT_EQ(e("d + INTERVAL '1:30' HOUR_MINUTE"), "(+ d (INTERVAL '1:30' HOUR_MINUTE))");
  EXPECT_EQ(e("DATE_ADD(d, INTERVAL ? SECOND)"), "DATE_ADD(d, (INTERVAL ?0 SECOND))");
  EXPECT_EQ(e("INTERVAL 1 + 1 DAY + d"), "(+ (INTERVAL (+ 1 1) DAY) d)");
  EXPECT_EQ(e("INTERVAL(5, 1, 10, 100)"), "INTERVAL(5, 1, 10, 100)");
  EXPECT_EQ(e("INTERVAL (2) WEEK"), "(INTERVAL 2 WEEK)");
}

TEST(SqlExpr, SourceRanges) {
  Parser p;
  std::string sql;
  const auto* b = first(p, sql, "a  +  f( 1 ) * 2 AS x")->as<Binary>();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->text, "a  +  f( 1 ) * 2");
  EXPECT_EQ(b->left->text, "a");
  EXPECT_EQ(b->right->text, "f( 1 ) * 2");
  EXPECT_EQ(b->right->as<Binary>()->left->text, "f( 1 )");
  const auto* in = first(p, sql, "id IN ( 1 , ? )")->as<In>();
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->listText, "( 1 , ? )");
  EXPECT_EQ(in->list[1]->text, "?");
}

TEST(SqlExpr, HeightsCountOperatorChains) {
  Parser p;
  std::string sql;
  EXPECT_EQ(first(p, sql, "1")->height, 1);
  EXPECT_EQ(first(p, sql, "1 + 2")->height, 2);
  EXPECT_EQ(first(p, sql, "1 + 2 + 3 + 4")->height, 4);
  EXPECT_EQ(first(p, sql, "a AND b AND c AND d")->height, 2);  // flat
  EXPECT_EQ(first(p, sql, "f(g(h(1)))")->height, 4);
}

}  // namespace
}  // namespace shardproxy::router::sql
