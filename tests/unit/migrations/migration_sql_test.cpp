// The migration workers' pure pieces: GTID positions and the SQL they build from table metadata.
#include <gtest/gtest.h>

#include "binlog_reader.h"
#include "table_meta.h"

namespace shardproxy::migrations {
namespace {

TEST(GtidPosition, ParsesPrintsAndCompares) {
  auto p = GtidPosition::parse("0-101-57,1-5-3");
  EXPECT_EQ(p.toString(), "0-101-57,1-5-3");
  EXPECT_TRUE(p.reached(GtidPosition::parse("0-101-57")));
  EXPECT_TRUE(p.reached(GtidPosition::parse("0-7-50,1-5-3")));
  EXPECT_FALSE(p.reached(GtidPosition::parse("0-101-58")));
  EXPECT_FALSE(p.reached(GtidPosition::parse("2-1-1")));  // a domain it never saw
  EXPECT_EQ(p.behind(GtidPosition::parse("0-101-60,1-5-4")), 4U);
  EXPECT_EQ(p.behind(GtidPosition::parse("0-101-10")), 0U);
  EXPECT_TRUE(GtidPosition::parse("").empty());
  EXPECT_TRUE(GtidPosition::parse("").reached(GtidPosition::parse("")));
}

TEST(GtidPosition, AdvanceReplacesTheDomainsEntry) {
  GtidPosition p;
  p.advance(0, 1, 5);
  p.advance(0, 2, 6);
  EXPECT_EQ(p.toString(), "0-2-6");
  EXPECT_TRUE(GtidPosition::parse(" 0-1-5,\n1-1-1").reached(GtidPosition::parse("1-1-1")));
}

TableMeta twoColumnKey() {
  TableMeta t;
  t.database = "shop";
  t.name = "order`s";
  t.columns = {{"a", "bigint", "", false, false},
               {"b", "varchar", "utf8mb4", false, false},
               {"c", "blob", "binary", false, false},
               {"g", "int", "", false, true}};
  t.pk = {0, 1};
  return t;
}

TEST(TableMeta, QuotesIdentifiersAndSkipsGeneratedColumns) {
  TableMeta t = twoColumnKey();
  EXPECT_EQ(t.qualified(), "`shop`.`order``s`");
  EXPECT_EQ(t.selectList(), "`a`, `b`, `c`");
  EXPECT_EQ(t.pkList(), "`a`, `b`");
}

TEST(TableMeta, CompositeKeyRangesUseTheIndexFriendlyForm) {
  TableMeta t = twoColumnKey();
  EXPECT_EQ(t.pkGreaterThan({"5", "X'61'"}), "((`a` > 5) OR (`a` = 5 AND `b` > X'61'))");
  EXPECT_EQ(t.pkAtMost({"5", "X'61'"}), "NOT ((`a` > 5) OR (`a` = 5 AND `b` > X'61'))");
  EXPECT_EQ(t.pkIn({{"1", "X'62'"}, {"2", "X'63'"}}), "(`a`, `b`) IN ((1, X'62'), (2, X'63'))");
  TableMeta single = t;
  single.pk = {0};
  EXPECT_EQ(single.pkIn({{"1"}, {"-2"}}), "`a` IN (1, -2)");
}

TEST(TableMeta, KeyColumnsTellTheBinlogReaderHowToWriteEachKey) {
  TableMeta t = twoColumnKey();
  KeyColumns k = t.keyColumns();
  ASSERT_EQ(k.columns.size(), 2U);
  EXPECT_FALSE(k.columns[0].isString);
  EXPECT_TRUE(k.columns[1].isString);
  EXPECT_EQ(k.columns[1].charset, "utf8mb4");
  EXPECT_EQ(k.columns[1].position, 1U);
}

TEST(Literals, ValuesTravelWithoutEscapingQuestions) {
  ColumnMeta num{"n", "decimal", "", false, false};
  ColumnMeta text{"t", "varchar", "utf8mb4", false, false};
  ColumnMeta bin{"b", "varbinary", "binary", false, false};
  std::string out;
  appendValueLiteral(out, num, "-1.50", 5);
  out += ' ';
  appendValueLiteral(out, text, "it's\\", 5);
  out += ' ';
  appendValueLiteral(out, bin, "\x00\xff", 2);
  out += ' ';
  appendValueLiteral(out, text, nullptr, 0);
  EXPECT_EQ(out, "-1.50 'it\\'s\\\\' X'00ff' NULL");
  EXPECT_EQ(hexLiteral("ab", "latin1"), "_latin1 X'6162'");
  EXPECT_EQ(joinKey({"1", "_utf8mb4 X'61'"}), "1,_utf8mb4 X'61'");
  EXPECT_EQ(splitKey("1,_utf8mb4 X'61'"), (std::vector<std::string>{"1", "_utf8mb4 X'61'"}));
  EXPECT_TRUE(splitKey("").empty());
}

}  // namespace
}  // namespace shardproxy::migrations
