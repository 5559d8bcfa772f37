// Schema tracking in the planner (router/table_schema.h, docs/routing.md "Schema tracking"): an
// INSERT without a column list routes by the shard key's position among the tracked columns, and
// a `*` in a multi-shard merge is spelled out from them; plus the snapshot building itself.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shardproxy/router/keyspace_id.h"
#include "shardproxy/router/planner.h"
#include "shardproxy/router/sql/parser.h"
#include "shardproxy/router/table_schema.h"

namespace shardproxy::router {
namespace {

using catalog::Backend;
using catalog::BackendRole;
using catalog::KeyRange;
using catalog::Keyspace;
using catalog::Shard;
using catalog::Snapshot;
using catalog::TableKind;
using catalog::TableRule;

constexpr std::uint64_t kHalf = std::uint64_t{1} << 63;

// Keyspace "shop" in two shards (-80, 80-), one primary each.
Snapshot twoShards() {
  Snapshot s;
  s.version = 1;
  s.keyspaces.push_back(Keyspace{"shop", true, {0, 1}, {}});
  s.shards.push_back(Shard{"shop", "-80", KeyRange{0, kHalf}, true, {0}, 0});
  s.shards.push_back(Shard{"shop", "80-", KeyRange{kHalf, std::nullopt}, true, {1}, 1});
  for (std::int64_t i = 0; i < 2; ++i) {
    Backend b;
    b.id = i;
    b.address = {"10.0.0." + std::to_string(i + 1), 3306};
    b.keyspace = "shop";
    b.shard = i == 0 ? "-80" : "80-";
    b.role = BackendRole::kPrimary;
    s.backends.push_back(b);
  }
  s.tables.push_back(TableRule{"shop", "countries", TableKind::kReference, "", ""});
  s.tables.push_back(TableRule{"shop", "customers", TableKind::kSharded, "id", "xxh3"});
  s.tables.push_back(TableRule{"shop", "notes", TableKind::kSharded, "id", "xxh3"});
  s.tables.push_back(TableRule{"shop", "orders", TableKind::kSharded, "customer_id", "xxh3"});
  return s;
}

ColumnRow row(std::string table, std::string column, std::uint32_t ordinal,
              std::string type = "int") {
  return ColumnRow{std::move(table), std::move(column), ordinal, type, type, "YES", "", ""};
}

// customers (id, name, created_at), orders (id, customer_id, amount); "notes" is not tracked.
SchemaSnapshot tracked() {
  std::vector<ColumnRow> rows = {
      row("orders", "amount", 3, "decimal"),         row("customers", "id", 1),
      row("customers", "name", 2, "varchar"),        row("orders", "id", 1),
      row("customers", "created_at", 3, "datetime"), row("orders", "customer_id", 2)};
  auto ks = buildKeyspaceSchema("shop", rows);
  EXPECT_TRUE(ks.ok());
  SchemaSnapshot s;
  return *s.with(std::move(*ks));
}

std::int64_t valueOn(bool high, int n) {
  for (std::int64_t v = 1;; ++v)
    if ((keyspaceIdOfInt(v) >= kHalf) == high && --n == 0) return v;
}

class PlannerSchemaTest : public ::testing::Test {
 protected:
  PlannerSchemaTest()
      : snap_(twoShards()), schema_(tracked()), lo_(valueOn(false, 1)), hi_(valueOn(true, 1)) {}

  const Plan& plan(std::string sql, bool tracking = true, std::span<const BoundValue> params = {}) {
    text_ = std::move(sql);
    sql::ParseResult r = parser_.parse(text_);
    if (!r.ok()) {
      ADD_FAILURE() << text_ << ": " << r.error().message;
      static const Plan kNone;
      return kNone;
    }
    PlanInput in;
    in.snapshot = &snap_;
    in.schema = "shop";
    in.tracked = tracking ? &schema_ : nullptr;
    in.params = params;
    in.executing = !params.empty();
    return planner_.plan(r.statement(), in);
  }

  Snapshot snap_;
  SchemaSnapshot schema_;
  std::int64_t lo_, hi_;
  std::string text_;
  sql::Parser parser_;
  Planner planner_;
};

TEST_F(PlannerSchemaTest, InsertWithoutColumnsRoutesByTrackedKeyPosition) {
  // orders is sharded by its second column.
  const Plan& p = plan("INSERT INTO orders VALUES (1, " + std::to_string(hi_) + ", 9.5)");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(p.targets[0].shard, 1u);
  EXPECT_FALSE(p.rewritten(0));
  const Plan& q = plan("INSERT INTO orders VALUE (" + std::to_string(hi_) + ", " +
                       std::to_string(lo_) + ", 1)");
  ASSERT_EQ(q.kind, PlanKind::kSingle) << q.error.message;
  EXPECT_EQ(q.targets[0].shard, 0u);
  const Plan& r = plan("REPLACE INTO customers VALUES (" + std::to_string(lo_) + ", 'a', NOW())");
  ASSERT_EQ(r.kind, PlanKind::kSingle) << r.error.message;
  EXPECT_EQ(r.targets[0].shard, 0u);
}

TEST_F(PlannerSchemaTest, InsertWithoutColumnsSplitsRowsPerShard) {
  const std::string lo = std::to_string(lo_), hi = std::to_string(hi_);
  const Plan& p =
      plan("INSERT INTO `orders` VALUES (1," + hi + ",1),(2," + lo + ",2),(3," + hi + ",3)");
  ASSERT_EQ(p.kind, PlanKind::kScatter) << p.error.message;
  ASSERT_EQ(p.targets.size(), 2u);
  EXPECT_EQ(p.sqlFor(0), "INSERT INTO `orders` VALUES (2," + lo + ",2)");
  EXPECT_EQ(p.sqlFor(1), "INSERT INTO `orders` VALUES (1," + hi + ",1), (3," + hi + ",3)");
}

TEST_F(PlannerSchemaTest, InsertWithoutColumnsPreparedRoutesAtExecute) {
  const Plan& prepared = plan("INSERT INTO orders VALUES (?, ?, ?)");
  EXPECT_TRUE(prepared.deferred);
  std::vector<BoundValue> params(3);
  params[0].type = params[1].type = params[2].type = BoundValue::Type::kInt;
  params[0].i = 7;
  params[1].i = hi_;
  params[2].i = 1;
  const Plan& p = plan("INSERT INTO orders VALUES (?, ?, ?)", true, params);
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(p.targets[0].shard, 1u);
}

TEST_F(PlannerSchemaTest, ValueCountMismatchIsMysqlError1136) {
  for (const std::string sql :
       {"INSERT INTO orders VALUES (1, 2)", "INSERT INTO orders VALUES (1, 2, 3), (4, 5)",
        "INSERT INTO orders (id, customer_id) VALUES (1, 2, 3)"}) {
    const Plan& p = plan(sql);
    ASSERT_EQ(p.kind, PlanKind::kError) << sql;
    EXPECT_EQ(p.error.mysqlErrno, 1136) << sql;
    EXPECT_EQ(p.error.sqlState, "21S01") << sql;
  }
  const Plan& second = plan("INSERT INTO orders VALUES (1, 2, 3), (4, 5)");
  EXPECT_NE(second.error.message.find("at row 2"), std::string::npos) << second.error.message;
}

TEST_F(PlannerSchemaTest, UnknownTableIsRefusedNamingTheRefresh) {
  const Plan& p = plan("INSERT INTO notes VALUES (1, 'x')");
  ASSERT_EQ(p.kind, PlanKind::kError);
  EXPECT_EQ(p.error.code, ErrorCode::kShardKeyRequired);
  EXPECT_NE(p.error.message.find("after each DDL"), std::string::npos) << p.error.message;
  EXPECT_NE(p.error.message.find("no such table"), std::string::npos) << p.error.message;
  // Without tracking (no DBA account) the message says what is missing.
  const Plan& off = plan("INSERT INTO orders VALUES (1, 2, 3)", false);
  ASSERT_EQ(off.kind, PlanKind::kError);
  EXPECT_NE(off.error.message.find("--dba-user"), std::string::npos) << off.error.message;
  // Named columns need no tracking.
  EXPECT_EQ(plan("INSERT INTO notes (id, body) VALUES (1, 'x')", false).kind, PlanKind::kSingle);
  // `VALUES ()` fills no column, so no shard key.
  const Plan& empty = plan("INSERT INTO orders VALUES ()");
  ASSERT_EQ(empty.kind, PlanKind::kError);
  EXPECT_EQ(empty.error.code, ErrorCode::kShardKeyRequired);
}

TEST_F(PlannerSchemaTest, StarGroupByIsSpelledOutFromTrackedColumns) {
  const Plan& p = plan("SELECT * FROM customers GROUP BY name");
  ASSERT_EQ(p.kind, PlanKind::kMerge) << p.error.message;
  EXPECT_EQ(p.sqlFor(0).substr(0, 69),
            "SELECT `customers`.`id`, `customers`.`name`, `customers`.`created_at`");
  EXPECT_EQ(p.merge.visible.size(), 3u);
  ASSERT_EQ(p.merge.group.size(), 1u);
  EXPECT_EQ(p.merge.group[0].column, (ColumnRef{1, false}));  // name, a visible column
  // Without tracking the old refusal stands.
  EXPECT_EQ(plan("SELECT * FROM customers GROUP BY name", false).kind, PlanKind::kError);
}

TEST_F(PlannerSchemaTest, StarWithAggregateDistinctPositionAndAlias) {
  const Plan& agg = plan("SELECT c.*, COUNT(*) AS n FROM customers c GROUP BY c.id ORDER BY n");
  ASSERT_EQ(agg.kind, PlanKind::kMerge) << agg.error.message;
  ASSERT_EQ(agg.merge.visible.size(), 4u);
  EXPECT_EQ(agg.merge.visible[3].agg, MergeAgg::kCount);
  EXPECT_NE(agg.sqlFor(0).find("`c`.`created_at`, COUNT(*) AS n"), std::string::npos)
      << agg.sqlFor(0);

  const Plan& distinct = plan("SELECT DISTINCT * FROM orders");
  ASSERT_EQ(distinct.kind, PlanKind::kMerge) << distinct.error.message;
  EXPECT_EQ(distinct.merge.distinctWeights.size(), 3u);

  const Plan& pos = plan("SELECT * FROM orders ORDER BY 3 DESC LIMIT 2");
  ASSERT_EQ(pos.kind, PlanKind::kMerge) << pos.error.message;
  ASSERT_EQ(pos.merge.order.size(), 1u);
  EXPECT_EQ(pos.merge.order[0].column, (ColumnRef{2, false}));

  const Plan& alias = plan("SELECT o.*, amount * 2 AS x FROM orders o ORDER BY x LIMIT 3");
  ASSERT_EQ(alias.kind, PlanKind::kMerge) << alias.error.message;
  EXPECT_EQ(alias.merge.order[0].column, (ColumnRef{3, false}));

  const Plan& join =
      plan("SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.id, o.id");
  ASSERT_EQ(join.kind, PlanKind::kMerge) << join.error.message;
  EXPECT_EQ(join.merge.visible.size(), 6u);

  const Plan& un = plan("SELECT * FROM orders UNION SELECT * FROM orders ORDER BY 1");
  ASSERT_EQ(un.kind, PlanKind::kMerge) << un.error.message;
  EXPECT_EQ(un.merge.visible.size(), 3u);
}

TEST_F(PlannerSchemaTest, PlainStarOrderByKeepsTheStar) {
  const Plan& p = plan("SELECT * FROM orders ORDER BY amount LIMIT 5");
  ASSERT_EQ(p.kind, PlanKind::kMerge) << p.error.message;
  EXPECT_EQ(p.sqlFor(0).substr(0, 9), "SELECT *,");
  // A `*` over a table the tracker does not know is left as it was (refused where it was).
  const Plan& unknown = plan("SELECT * FROM notes GROUP BY id");
  ASSERT_EQ(unknown.kind, PlanKind::kError);
  EXPECT_EQ(unknown.error.mysqlErrno, 1235);
}

// A restored dump locks each table while it inserts: every shard's primary takes the locks.
TEST_F(PlannerSchemaTest, LockTablesRunOnEveryPrimary) {
  const Plan& lock = plan("LOCK TABLES `orders` WRITE, countries READ /*!32311 LOCAL */");
  ASSERT_EQ(lock.kind, PlanKind::kScatter) << lock.error.message;
  EXPECT_EQ(lock.targets.size(), 2u);
  EXPECT_EQ(lock.role, Role::kPrimary);
  const Plan& unlock = plan("UNLOCK TABLES");
  ASSERT_EQ(unlock.kind, PlanKind::kScatter);
  EXPECT_EQ(unlock.targets.size(), 2u);
  const Plan& unknown = plan("LOCK TABLES nosuch WRITE");
  ASSERT_EQ(unknown.kind, PlanKind::kError);
  EXPECT_EQ(unknown.error.code, ErrorCode::kNoTableRule);
}

TEST(TableSchema, BuildsTablesInOrdinalOrder) {
  std::vector<ColumnRow> rows = {row("b", "y", 2), row("a", "k", 1), row("b", "x", 1)};
  rows[0].extra = "VIRTUAL GENERATED";
  rows[1].extra = "auto_increment";
  rows[1].nullable = "NO";
  auto ks = buildKeyspaceSchema("shop", rows);
  ASSERT_TRUE(ks.ok()) << ks.error().message;
  ASSERT_EQ(ks->tables.size(), 2u);
  EXPECT_EQ(ks->tables[0].name, "a");
  const TrackedTable* b = ks->find("b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->columns.size(), 2u);
  EXPECT_EQ(b->columns[0].name, "x");
  EXPECT_EQ(b->columns[1].name, "y");
  EXPECT_TRUE(b->columns[1].generated);
  EXPECT_TRUE(ks->find("a")->columns[0].autoIncrement);
  EXPECT_FALSE(ks->find("a")->columns[0].nullable);
  EXPECT_EQ(b->position("Y"), 1u);
  EXPECT_EQ(ks->find("B"), nullptr);  // table names compare as the server's (case-sensitive)
}

TEST(TableSchema, RefusesAGapInOrdinalPositions) {
  std::vector<ColumnRow> rows = {row("t", "a", 1), row("t", "c", 3)};
  auto ks = buildKeyspaceSchema("shop", rows);
  ASSERT_FALSE(ks.ok());
  EXPECT_NE(ks.error().message.find("ordinal position 3"), std::string::npos);
}

TEST(TableSchema, SnapshotReplacesAndDropsKeyspaces) {
  SchemaSnapshot empty;
  auto one = empty.with(KeyspaceSchema{"shop", {}, "a"});
  auto two = one->with(KeyspaceSchema{"main", {}, "b"});
  auto three = two->with(KeyspaceSchema{"shop", {TrackedTable{"t", {}}}, "c"});
  ASSERT_EQ(three->keyspaces.size(), 2u);
  EXPECT_EQ(three->keyspaces[0].keyspace, "main");
  EXPECT_EQ(three->keyspaces[1].source, "c");
  EXPECT_NE(three->table("shop", "t"), nullptr);
  EXPECT_EQ(three->version, 3u);
  EXPECT_EQ(one->keyspaces[0].source, "a");  // published snapshots never change
  EXPECT_EQ(three->retain([](std::string_view) { return true; }), nullptr);
  auto dropped = three->retain([](std::string_view k) { return k != "main"; });
  ASSERT_NE(dropped, nullptr);
  ASSERT_EQ(dropped->keyspaces.size(), 1u);
  EXPECT_EQ(dropped->keyspaces[0].keyspace, "shop");
}

TEST(TableSchema, ColumnQueryQuotesTheDatabaseAsHex) {
  const std::string q = columnRowsQuery("sh'op");
  EXPECT_NE(q.find("TABLE_SCHEMA = _utf8mb4 X'7368276F70'"), std::string::npos) << q;
}

}  // namespace
}  // namespace shardproxy::router
