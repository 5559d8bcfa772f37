// SHOW SCHEMA DRIFT's comparison (migrations/schema_drift.h): definitions normalized, grouped
// per table, the odd shards named and the first differing line shown.
#include "shardproxy/migrations/schema_drift.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shardproxy::migrations {
namespace {

const std::string kOrders =
    "CREATE TABLE `orders` (\n"
    "  `id` bigint(20) NOT NULL AUTO_INCREMENT,\n"
    "  `customer_id` bigint(20) NOT NULL,\n"
    "  PRIMARY KEY (`id`)\n"
    ") ENGINE=InnoDB AUTO_INCREMENT=17 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";

std::string withCounter(std::string sql, std::string_view from, std::string_view to) {
  sql.replace(sql.find(from), from.size(), to);
  return sql;
}

const std::string kOrdersWithNote =
    "CREATE TABLE `orders` (\n"
    "  `id` bigint(20) NOT NULL AUTO_INCREMENT,\n"
    "  `customer_id` bigint(20) NOT NULL,\n"
    "  `note` varchar(20) DEFAULT NULL,\n"
    "  PRIMARY KEY (`id`)\n"
    ") ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";

ShardTables shard(std::string name, std::map<std::string, std::string> tables) {
  return ShardTables{std::move(name), std::move(tables)};
}

TEST(SchemaDrift, NormalizingDropsOnlyTheTableCounter) {
  EXPECT_EQ(normalizeCreateTable(kOrders),
            "CREATE TABLE `orders` (\n"
            "  `id` bigint(20) NOT NULL AUTO_INCREMENT,\n"
            "  `customer_id` bigint(20) NOT NULL,\n"
            "  PRIMARY KEY (`id`)\n"
            ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci");
  // A table that never had a row has no counter; the options line stays as it is.
  const std::string fresh = withCounter(kOrders, " AUTO_INCREMENT=17", "");
  EXPECT_EQ(normalizeCreateTable(fresh), fresh);
  // A column's default or comment that happens to read like the option is left alone.
  const std::string comment =
      "CREATE TABLE `t` (\n  `a` int(11) COMMENT ' AUTO_INCREMENT=5'\n) ENGINE=InnoDB";
  EXPECT_EQ(normalizeCreateTable(comment), comment);
}

TEST(SchemaDrift, SameDefinitionsWithDifferentCountersAreNoDrift) {
  const auto drift = compareShardTables(
      "shop", {shard("-80", {{"orders", kOrders}}),
               shard("80-", {{"orders", withCounter(kOrders, "=17", "=123456")}})});
  EXPECT_TRUE(drift.empty());
  EXPECT_TRUE(compareShardTables("shop", {}).empty());
  EXPECT_TRUE(compareShardTables("shop", {shard("-80", {}), shard("80-", {})}).empty());
}

TEST(SchemaDrift, TheOddShardOutIsNamedWithTheFirstDifferingLine) {
  const auto drift = compareShardTables(
      "shop", {shard("-40", {{"orders", kOrders}}), shard("40-80", {{"orders", kOrdersWithNote}}),
               shard("80-", {{"orders", kOrders}})});
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].keyspace, "shop");
  EXPECT_EQ(drift[0].table, "orders");
  EXPECT_EQ(drift[0].shardsDiffering, std::vector<std::string>{"40-80"});
  EXPECT_EQ(drift[0].detail,
            "40-80: line 4 is \"`note` varchar(20) DEFAULT NULL,\" where -40, 80- have "
            "\"PRIMARY KEY (`id`)\"");
}

TEST(SchemaDrift, WithoutAMajorityEveryShardIsListed) {
  const auto drift = compareShardTables(
      "shop", {shard("-80", {{"orders", kOrders}}), shard("80-", {{"orders", kOrdersWithNote}})});
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].shardsDiffering, (std::vector<std::string>{"-80", "80-"}));
  EXPECT_EQ(drift[0].detail,
            "no majority; 80-: line 4 is \"`note` varchar(20) DEFAULT NULL,\" where -80 has "
            "\"PRIMARY KEY (`id`)\"");
}

TEST(SchemaDrift, AMissingTableIsDrift) {
  auto drift = compareShardTables("shop", {shard("-40", {{"orders", kOrders}}), shard("40-80", {}),
                                           shard("80-", {{"orders", kOrders}})});
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].shardsDiffering, std::vector<std::string>{"40-80"});
  EXPECT_EQ(drift[0].detail, "missing on 40-80");
  // Created on one shard only: the others are the majority, the one that has it is listed.
  drift = compareShardTables(
      "shop", {shard("-40", {}), shard("40-80", {{"tmp", kOrders}}), shard("80-", {})});
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].table, "tmp");
  EXPECT_EQ(drift[0].shardsDiffering, std::vector<std::string>{"40-80"});
  EXPECT_EQ(drift[0].detail, "only on 40-80 (missing on -40, 80-)");
}

TEST(SchemaDrift, ThreeDefinitionsAreEachDescribedAgainstTheMajority) {
  const std::string shorter =
      "CREATE TABLE `orders` (\n"
      "  `id` bigint(20) NOT NULL AUTO_INCREMENT,\n"
      "  `customer_id` bigint(20) NOT NULL,\n"
      "  PRIMARY KEY (`id`)\n"
      ")";
  const auto drift = compareShardTables(
      "shop", {shard("-40", {{"orders", kOrdersWithNote}}), shard("40-80", {{"orders", kOrders}}),
               shard("80-c0", {{"orders", kOrders}}), shard("c0-", {{"orders", shorter}})});
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].shardsDiffering, (std::vector<std::string>{"-40", "c0-"}));
  EXPECT_EQ(drift[0].detail,
            "-40: line 4 is \"`note` varchar(20) DEFAULT NULL,\" where 40-80, 80-c0 have "
            "\"PRIMARY KEY (`id`)\"; c0-: line 5 is \")\" where 40-80, 80-c0 have \") "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci\"");
}

TEST(SchemaDrift, TablesAreReportedByNameAndLongLinesAreCut) {
  const std::string longColumn = "CREATE TABLE `b` (\n  `" + std::string(200, 'x') + "` int\n)";
  const auto drift = compareShardTables(
      "shop", {shard("-80", {{"b", "CREATE TABLE `b` (\n  `y` int\n)"}, {"a", kOrders}}),
               shard("80-", {{"b", longColumn}})});
  ASSERT_EQ(drift.size(), 2u);
  EXPECT_EQ(drift[0].table, "a");
  EXPECT_EQ(drift[0].detail, "no majority; missing on 80-");
  EXPECT_EQ(drift[1].table, "b");
  EXPECT_EQ(drift[1].detail, "no majority; 80-: line 2 is \"`" + std::string(119, 'x') +
                                 "...\" where -80 has \"`y` int\"");
}

TEST(SchemaDrift, AnUnknownKeyspaceIsNotFound) {
  catalog::Snapshot snap;
  auto r = findSchemaDrift(snap, std::string("shop"), DriftOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCatalogNotFound);
  EXPECT_EQ(r.error().message, "keyspace 'shop' does not exist");
  // Nothing to compare: no connection is attempted.
  auto none = findSchemaDrift(snap, std::nullopt, DriftOptions{});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace shardproxy::migrations
