// The SQL lexer on its own: token kinds and boundaries, comments, version comments, hints,
// string decoding.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shardproxy/router/sql/lexer.h"

namespace shardproxy::router::sql {
namespace {

using K = TokenKind;

struct Lexed {
  std::vector<K> kinds;
  std::vector<std::string> texts;
  std::vector<TextRange> hints;
  std::string error;
};

Lexed lex(std::string_view sql, LexOptions options = {}) {
  Lexed out;
  Lexer lexer(sql, options, HintSink(&out.hints));
  for (;;) {
    Token t = lexer.next();
    if (t.is(K::kEnd)) break;
    out.kinds.push_back(t.kind);
    out.texts.emplace_back(t.text(sql));
    if (t.is(K::kError)) {
      out.error = lexer.errorMessage();
      break;
    }
  }
  return out;
}

std::vector<std::string> texts(std::string_view sql, LexOptions options = {}) {
  return lex(sql, options).texts;
}

std::string decoded(std::string_view content, char quote = '\'', bool escapes = true) {
  std::string out(content.size(), '\0');
  out.resize(decodeString(content, quote, escapes, out.data()));
  return out;
}

TEST(SqlLexer, WordsKeywordsAndPunctuation) {
  std::string_view sql = "SELECT c FROM sbtest1 WHERE id=?";
  Lexed l = lex(sql);
  EXPECT_EQ(l.texts,
            (std::vector<std::string>{"SELECT", "c", "FROM", "sbtest1", "WHERE", "id", "=", "?"}));
  EXPECT_EQ(l.kinds, (std::vector<K>{K::kWord, K::kWord, K::kWord, K::kWord, K::kWord, K::kWord,
                                     K::kEq, K::kPlaceholder}));
  Lexer lexer(sql, LexOptions{});
  EXPECT_EQ(lexer.next().kw, Kw::kSelect);
  EXPECT_EQ(lexer.next().kw, Kw::kNone);
  EXPECT_EQ(lexer.next().kw, Kw::kFrom);
}

TEST(SqlLexer, KeywordsAreCaseInsensitiveAndReservedWordsKnown) {
  EXPECT_EQ(lookupKeyword("select"), Kw::kSelect);
  EXPECT_EQ(lookupKeyword("SeLeCt"), Kw::kSelect);
  EXPECT_EQ(lookupKeyword("sql_calc_found_rows"), Kw::kSqlCalcFoundRows);
  EXPECT_EQ(lookupKeyword("sbtest1"), Kw::kNone);
  EXPECT_EQ(lookupKeyword(""), Kw::kNone);
  EXPECT_TRUE(isReserved(Kw::kSelect));
  EXPECT_TRUE(isReserved(Kw::kWhere));
  EXPECT_FALSE(isReserved(Kw::kOffset));  // LIMIT 1 OFFSET 2, but also a column name
  EXPECT_FALSE(isReserved(Kw::kStatus));
  EXPECT_FALSE(isReserved(Kw::kNone));
  EXPECT_EQ(keywordText(Kw::kStraightJoin), "STRAIGHT_JOIN");
}

TEST(SqlLexer, Operators) {
  EXPECT_EQ(texts("a<=>b<>c!=d<=e>=f<<g>>h||i&&j:=k->l->>m"),
            (std::vector<std::string>{"a",  "<=>", "b",  "<>", "c",  "!=",  "d",  "<=", "e",
                                      ">=", "f",   "<<", "g",  ">>", "h",   "||", "i",  "&&",
                                      "j",  ":=",  "k",  "->", "l",  "->>", "m"}));
  Lexed l = lex("~!^%*/+-|&(),.;{}");
  EXPECT_EQ(l.kinds,
            (std::vector<K>{K::kTilde, K::kBang, K::kCaret, K::kPercent, K::kStar, K::kSlash,
                            K::kPlus, K::kMinus, K::kBitOr, K::kBitAnd, K::kLParen, K::kRParen,
                            K::kComma, K::kDot, K::kSemicolon, K::kLBrace, K::kRBrace}));
}

TEST(SqlLexer, QualifiedNamesAndNamesStartingWithDigits) {
  Lexed l = lex("db.tbl.col `my db`.`t``x`.`c` t.1col 1abc 123");
  EXPECT_EQ(l.texts,
            (std::vector<std::string>{"db", ".", "tbl", ".", "col", "`my db`", ".", "`t``x`", ".",
                                      "`c`", "t", ".", "1col", "1abc", "123"}));
  EXPECT_EQ(l.kinds[5], K::kQuotedIdent);
  EXPECT_EQ(l.kinds[12], K::kWord);  // after "t." digits start a name
  EXPECT_EQ(l.kinds[13], K::kWord);
  EXPECT_EQ(l.kinds[14], K::kInteger);
  char buf[8];
  EXPECT_EQ(std::string(buf, decodeQuotedIdent("t``x", '`', buf)), "t`x");
}

TEST(SqlLexer, Numbers) {
  Lexed l = lex("1 1.5 .5 1. 1e5 1.5E-3 2e+10 0x1F 0b101 1e 0x 0xg X'0a1B' x'' B'101' b'0'");
  EXPECT_EQ(l.kinds,
            (std::vector<K>{K::kInteger, K::kDecimal, K::kDecimal, K::kDecimal, K::kFloat,
                            K::kFloat, K::kFloat, K::kHexNumber, K::kBitNumber, K::kWord, K::kWord,
                            K::kWord, K::kHexString, K::kHexString, K::kBitString, K::kBitString}));
  // 0X1F (capital X) is a name in MySQL.
  EXPECT_EQ(lex("0X1F").kinds, std::vector<K>{K::kWord});
  // t.5 is a column named 5 of t, not t followed by .5
  EXPECT_EQ(texts("t.5"), (std::vector<std::string>{"t", ".", "5"}));
  EXPECT_EQ(lex("1.5a").texts, (std::vector<std::string>{"1.5", "a"}));
}

TEST(SqlLexer, BadHexAndBitLiterals) {
  EXPECT_EQ(lex("X'1'").error, "hexadecimal literal X'...' needs an even number of digits");
  EXPECT_EQ(lex("X'zz'").error, "invalid hexadecimal literal");
  EXPECT_EQ(lex("B'102'").error, "invalid bit literal");
  EXPECT_EQ(lex("X'ab").error, "unterminated string");
}

TEST(SqlLexer, StringsAndEscapes) {
  Lexed l = lex(R"('a' "b" 'it''s' 'x\'y' N'nat' n'z' _utf8mb4'i')");
  EXPECT_EQ(l.kinds,
            (std::vector<K>{K::kString, K::kString, K::kString, K::kString, K::kNationalString,
                            K::kNationalString, K::kWord, K::kString}));
  EXPECT_EQ(decoded(R"(\0\'\"\b\n\r\t\Z\\\%\_\x)"), std::string("\0'\"\b\n\r\t\x1a\\\\%\\_x", 14));
  EXPECT_EQ(decoded("it''s"), "it's");
  EXPECT_EQ(decoded(R"(say ""hi"")", '"'), "say \"hi\"");
  EXPECT_EQ(decoded(R"(a\nb)", '\'', false), R"(a\nb)");  // NO_BACKSLASH_ESCAPES
}

TEST(SqlLexer, NoBackslashEscapesAndAnsiQuotes) {
  LexOptions o;
  o.noBackslashEscapes = true;
  // Under NO_BACKSLASH_ESCAPES the backslash does not escape the quote: 'a\' ends there.
  EXPECT_EQ(texts(R"('a\' 'b')", o), (std::vector<std::string>{R"('a\')", "'b'"}));
  o = {};
  o.ansiQuotes = true;
  Lexed l = lex(R"("col" 'str')", o);
  EXPECT_EQ(l.kinds, (std::vector<K>{K::kQuotedIdent, K::kString}));
}

TEST(SqlLexer, UnterminatedQuotesAreErrors) {
  EXPECT_EQ(lex("SELECT 'abc").error, "unterminated string");
  EXPECT_EQ(lex("SELECT `abc").error, "unterminated quoted identifier");
  EXPECT_EQ(lex("SELECT 'abc\\'").error, "unterminated string");
  EXPECT_EQ(lex("SELECT 'abc\\").error, "unterminated string");
  Lexed l = lex("SELECT \"abc");
  EXPECT_EQ(l.kinds.back(), K::kError);
  EXPECT_EQ(l.texts.back(), "\"abc");
}

TEST(SqlLexer, Variables) {
  Lexed l = lex("@a @a.b_$ @'my var' @`q` @\"d\" @@version @@session.sql_mode @ 'u'@'h'");
  EXPECT_EQ(l.texts, (std::vector<std::string>{"@a", "@a.b_$", "@'my var'", "@`q`", "@\"d\"", "@@",
                                               "version", "@@", "session", ".", "sql_mode", "@",
                                               "'u'", "@'h'"}));
  EXPECT_EQ(l.kinds[0], K::kUserVar);
  EXPECT_EQ(l.kinds[5], K::kAtAt);
  EXPECT_EQ(l.kinds[11], K::kAt);
}

TEST(SqlLexer, Comments) {
  EXPECT_EQ(texts("SELECT -- comment\n 1 # another\n + /* block */ 2"),
            (std::vector<std::string>{"SELECT", "1", "+", "2"}));
  // "--" without a following space is two minus signs.
  EXPECT_EQ(texts("5--3"), (std::vector<std::string>{"5", "-", "-", "3"}));
  EXPECT_EQ(texts("1 --\t2"), std::vector<std::string>{"1"});
  EXPECT_EQ(texts("1 --"), std::vector<std::string>{"1"});
  EXPECT_EQ(lex("SELECT /* never closed").error, "unterminated comment");
  // */ outside an executable comment is just two operators.
  EXPECT_EQ(texts("2 */ 3"), (std::vector<std::string>{"2", "*", "/", "3"}));
}

TEST(SqlLexer, VersionCommentsFollowTheServerVersion) {
  LexOptions mysql57;
  mysql57.serverVersion = 50744;
  EXPECT_EQ(texts("/*!40101 SET NAMES utf8 */", mysql57),
            (std::vector<std::string>{"SET", "NAMES", "utf8"}));
  EXPECT_EQ(texts("SELECT 1 /*!80000 + 2 */", mysql57), (std::vector<std::string>{"SELECT", "1"}));
  EXPECT_EQ(texts("SELECT 1 /*! + 2 */", mysql57),
            (std::vector<std::string>{"SELECT", "1", "+", "2"}));
  // Six-digit (MariaDB) versions and the default server version 100000.
  EXPECT_EQ(texts("SELECT 1 /*!100100 + 2 */"), (std::vector<std::string>{"SELECT", "1"}));
  EXPECT_EQ(texts("SELECT 1 /*!99999 + 2 */"), (std::vector<std::string>{"SELECT", "1", "+", "2"}));
  // Fewer than five digits: no version, the digits are content.
  EXPECT_EQ(texts("SELECT /*!12 */"), (std::vector<std::string>{"SELECT", "12"}));
  // A string containing */ does not close the comment; nested plain comments are skipped.
  EXPECT_EQ(texts("/*!40101 SELECT '*/' /* x */ */ 1"),
            (std::vector<std::string>{"SELECT", "'*/'", "1"}));
  EXPECT_EQ(lex("/*!40101 SELECT 1").error, "unterminated version comment");
  EXPECT_EQ(lex("/*!100200 SELECT 1").error, "unterminated comment");
}

TEST(SqlLexer, MariadbExecutableComments) {
  LexOptions mariadb;
  mariadb.serverVersion = 101100;
  EXPECT_EQ(texts("SELECT 1 /*M!100100 + 2 */", mariadb),
            (std::vector<std::string>{"SELECT", "1", "+", "2"}));
  LexOptions mysql;
  mysql.mariadb = false;
  mysql.serverVersion = 80036;
  EXPECT_EQ(texts("SELECT 1 /*M!100100 + 2 */", mysql), (std::vector<std::string>{"SELECT", "1"}));
}

TEST(SqlLexer, HintsAreReportedOnceInOrder) {
  std::string_view sql = "/*+ SHARD(-80) */ SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1 /* plain */";
  Lexed l = lex(sql);
  ASSERT_EQ(l.hints.size(), 2u);
  EXPECT_EQ(sql.substr(l.hints[0].begin, l.hints[0].end - l.hints[0].begin), " SHARD(-80) ");
  EXPECT_EQ(sql.substr(l.hints[1].begin, l.hints[1].end - l.hints[1].begin),
            " MAX_EXECUTION_TIME(1000) ");
  // A second lexer over the same text (the parser looking ahead) does not duplicate them.
  std::vector<TextRange> hints;
  LexOptions o;
  Lexer a(sql, o, HintSink(&hints));
  Lexer b(sql, o, HintSink(&hints));
  while (!a.next().is(K::kEnd)) {
  }
  while (!b.next().is(K::kEnd)) {
  }
  EXPECT_EQ(hints.size(), 2u);
}

TEST(SqlLexer, ControlCharactersAreErrors) {
  EXPECT_EQ(lex(std::string_view("SELECT \x01", 8)).error, "unexpected control character");
  EXPECT_EQ(lex(std::string_view("SELECT 1\0", 9)).error, "unexpected control character");
  // Bytes >= 0x80 belong to names (UTF-8 identifiers).
  EXPECT_EQ(lex("SELECT caf\xc3\xa9").kinds, (std::vector<K>{K::kWord, K::kWord}));
}

TEST(SqlLexer, StartOffsetLexesFromThere) {
  std::string_view sql = "SELECT 1; SELECT 2";
  LexOptions o;
  Lexer lexer(sql, o, HintSink(nullptr), 10);
  Token t = lexer.next();
  EXPECT_EQ(t.text(sql), "SELECT");
  EXPECT_EQ(t.begin, 10u);
}

}  // namespace
}  // namespace shardproxy::router::sql

namespace shardproxy::router::sql {
namespace {

// ソ in Shift_JIS is 0x83 0x5C: its trail byte is '\'. Read as ASCII, the backslash would escape
// the closing quote and the statement would run on (how an injection gets past a proxy).
TEST(SqlLexerMultibyte, TrailBytesThatLookLikeABackslashAreNotEscapes) {
  const std::string sjis = "SELECT '\x83\x5c', 'x'";
  LexOptions o;
  o.charset = MultibyteCharset::kSjis;
  EXPECT_EQ(texts(sjis, o), (std::vector<std::string>{"SELECT", "'\x83\x5c'", ",", "'x'"}));
  // Without the character set the same bytes read as one string "\x83\', " followed by x'.
  EXPECT_NE(texts(sjis), texts(sjis, o));
  for (auto cs : {MultibyteCharset::kCp932, MultibyteCharset::kGbk}) {
    o.charset = cs;
    EXPECT_EQ(texts(sjis, o).size(), 4u);
  }
  // Big5: 0xA5 0x5C (功).
  o.charset = MultibyteCharset::kBig5;
  EXPECT_EQ(texts("SELECT '\xa5\x5c'", o), (std::vector<std::string>{"SELECT", "'\xa5\x5c'"}));
  // A lone lead byte before a real escape: the pair is not a character, the escape stays one.
  o.charset = MultibyteCharset::kSjis;
  EXPECT_EQ(texts("SELECT 'a\\'b'", o), (std::vector<std::string>{"SELECT", "'a\\'b'"}));
  // Backquoted identifiers: 0x60 ('`') as a trail byte does not close them.
  o.charset = MultibyteCharset::kGbk;
  EXPECT_EQ(texts("SELECT `\x81\x60`", o), (std::vector<std::string>{"SELECT", "`\x81\x60`"}));
}

TEST(SqlLexerMultibyte, DecodingKeepsTwoByteCharactersWhole) {
  std::string content = "\x83\x5c\\n";
  std::string out(content.size(), '\0');
  out.resize(decodeString(content, '\'', true, out.data(), MultibyteCharset::kSjis));
  EXPECT_EQ(out, "\x83\x5c\n");
}

TEST(SqlLexerMultibyte, CharsetsByNameAndCollation) {
  EXPECT_EQ(multibyteCharsetNamed("SJIS"), MultibyteCharset::kSjis);
  EXPECT_EQ(multibyteCharsetNamed("cp932"), MultibyteCharset::kCp932);
  EXPECT_EQ(multibyteCharsetNamed("utf8mb4"), MultibyteCharset::kNone);
  EXPECT_EQ(multibyteCharsetOfCollation(13), MultibyteCharset::kSjis);
  EXPECT_EQ(multibyteCharsetOfCollation(28), MultibyteCharset::kGbk);
  EXPECT_EQ(multibyteCharsetOfCollation(1), MultibyteCharset::kBig5);
  EXPECT_EQ(multibyteCharsetOfCollation(95), MultibyteCharset::kCp932);
  EXPECT_EQ(multibyteCharsetOfCollation(45), MultibyteCharset::kNone);  // utf8mb4_general_ci
}

}  // namespace
}  // namespace shardproxy::router::sql
