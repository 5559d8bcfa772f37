// The keyspace setting scatter_writes (docs/routing.md, "Multi-shard writes"): under 'deny' the
// planner refuses an UPDATE / DELETE that would run on several shards, and nothing else.
// The snapshot is built by hand: keyspace "shop" sharded in two ("-80", "80-"), with a sharded
// table and a reference table, its setting changed per test.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "shardproxy/router/keyspace_id.h"
#include "shardproxy/router/planner.h"
#include "shardproxy/router/sql/parser.h"

namespace shardproxy::router {
namespace {

using catalog::Backend;
using catalog::BackendRole;
using catalog::KeyRange;
using catalog::Keyspace;
using catalog::ScatterWrites;
using catalog::Shard;
using catalog::Snapshot;
using catalog::TableKind;
using catalog::TableRule;

constexpr std::uint64_t kHalf = std::uint64_t{1} << 63;

Snapshot makeSnapshot(ScatterWrites setting) {
  Snapshot s;
  Keyspace shop{"shop", true, {0, 1}, {}};
  shop.scatterWrites = setting;
  s.keyspaces.push_back(shop);
  s.shards.push_back(Shard{"shop", "-80", KeyRange{0, kHalf}, true, {0}, 0});
  s.shards.push_back(Shard{"shop", "80-", KeyRange{kHalf, std::nullopt}, true, {1}, 1});
  for (std::int64_t id : {1, 2}) {
    Backend b;
    b.id = id;
    b.address = {"10.0.0." + std::to_string(id), 3306};
    b.keyspace = "shop";
    b.shard = id == 1 ? "-80" : "80-";
    b.role = BackendRole::kPrimary;
    s.backends.push_back(b);
  }
  s.tables.push_back(TableRule{"shop", "countries", TableKind::kReference, "", ""});
  s.tables.push_back(TableRule{"shop", "orders", TableKind::kSharded, "customer_id", "xxh3"});
  return s;
}

std::int64_t valueOn(bool high) {
  for (std::int64_t v = 1;; ++v) {
    if ((keyspaceIdOfInt(v) >= kHalf) == high) return v;
  }
}

class ScatterWritesTest : public ::testing::Test {
 protected:
  std::optional<catalog::TransactionMode> mode_;
  const Plan& plan(std::string sql, ScatterWrites setting = ScatterWrites::kDeny,
                   bool inTransaction = false) {
    snap_ = makeSnapshot(setting);
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
    in.inTransaction = inTransaction;
    in.transactionMode = mode_;
    if (executing_) {
      in.executing = true;
      in.params = params_;
    }
    return planner_.plan(r.statement(), in);
  }

  const Plan& execute(std::string sql, std::int64_t key) {
    BoundValue b;
    b.type = BoundValue::Type::kInt;
    b.i = key;
    params_ = {b};
    executing_ = true;
    const Plan& p = plan(std::move(sql));
    executing_ = false;
    return p;
  }

  static void expectDenied(const Plan& p, const std::string& message) {
    EXPECT_EQ(p.kind, PlanKind::kError) << toString(p.kind);
    EXPECT_EQ(p.error.code, ErrorCode::kScatterWriteDenied);
    EXPECT_EQ(p.error.mysqlErrno, 1290);
    EXPECT_EQ(p.error.sqlState, "HY000");
    EXPECT_EQ(p.error.message, message);
    EXPECT_TRUE(p.targets.empty());
  }

  Snapshot snap_;
  sql::Parser parser_;
  Planner planner_;
  std::string text_;
  std::vector<BoundValue> params_;
  bool executing_ = false;
  const std::int64_t lo_ = valueOn(false);
  const std::int64_t hi_ = valueOn(true);
};

constexpr const char* kNoKey =
    "This {} would run on 2 shards of keyspace 'shop' (no shard key in WHERE), and the "
    "keyspace's scatter_writes setting is 'deny': narrow it to one shard by the shard key, or "
    "have a DBA run ALTER KEYSPACE shop SET scatter_writes = allow on the admin port";

std::string noKey(std::string_view what) {
  std::string m = kNoKey;
  return m.replace(m.find("{}"), 2, what);
}

TEST_F(ScatterWritesTest, DenyRefusesUpdateAndDeleteOnEveryShard) {
  expectDenied(plan("UPDATE orders SET status = 'x'"), noKey("UPDATE"));
  expectDenied(plan("UPDATE orders SET status = 'x' WHERE note = 'a'"), noKey("UPDATE"));
  expectDenied(plan("DELETE FROM orders WHERE status = 'old'"), noKey("DELETE"));
  expectDenied(plan("DELETE FROM orders"), noKey("DELETE"));
}

TEST_F(ScatterWritesTest, DenyRefusesKeysOnSeveralShards) {
  const Plan& p = plan("DELETE FROM orders WHERE customer_id IN (" + std::to_string(lo_) + ", " +
                       std::to_string(hi_) + ")");
  expectDenied(p,
               "This DELETE would run on 2 shards of keyspace 'shop' (the shard key values are on "
               "several shards), and the keyspace's scatter_writes setting is 'deny': narrow it "
               "to one shard by the shard key, or have a DBA run ALTER KEYSPACE shop SET "
               "scatter_writes = allow on the admin port");
}

TEST_F(ScatterWritesTest, DenyLetsOneShardWritesThrough) {
  const Plan& p = plan("UPDATE orders SET status = 'x' WHERE customer_id = " + std::to_string(hi_));
  ASSERT_NE(p.kind, PlanKind::kError) << p.error.message;
  ASSERT_EQ(p.targets.size(), 1u);
  EXPECT_EQ(snap_.shards[p.targets[0].shard].name, "80-");
  const Plan& d = plan("DELETE FROM orders WHERE customer_id IN (" + std::to_string(lo_) + ", " +
                       std::to_string(lo_) + ")");
  ASSERT_NE(d.kind, PlanKind::kError) << d.error.message;
  EXPECT_EQ(d.targets.size(), 1u);
}

TEST_F(ScatterWritesTest, AllowRunsThemOnEveryShard) {
  const Plan& p = plan("UPDATE orders SET status = 'x'", ScatterWrites::kAllow);
  ASSERT_EQ(p.kind, PlanKind::kScatter) << p.error.message;
  EXPECT_EQ(p.targets.size(), 2u);
  EXPECT_TRUE(p.write);
  EXPECT_FALSE(p.copies);  // affected rows are summed
  const Plan& d = plan("DELETE FROM orders", ScatterWrites::kAllow);
  ASSERT_EQ(d.kind, PlanKind::kScatter) << d.error.message;
  EXPECT_EQ(d.targets.size(), 2u);
}

TEST_F(ScatterWritesTest, ReferenceTableWritesAreNotScatterWrites) {
  for (const char* sql : {"UPDATE countries SET name = 'x'", "DELETE FROM countries",
                          "INSERT INTO countries (code, name) VALUES ('fr', 'France')"}) {
    const Plan& p = plan(sql);
    ASSERT_EQ(p.kind, PlanKind::kScatter) << sql << ": " << p.error.message;
    EXPECT_TRUE(p.copies) << sql;
    EXPECT_EQ(p.targets.size(), 2u) << sql;
  }
}

TEST_F(ScatterWritesTest, InsertRowsSplitByKeyAreNotScatterWrites) {
  const Plan& p = plan("INSERT INTO orders (customer_id, status) VALUES (" + std::to_string(lo_) +
                       ", 'a'), (" + std::to_string(hi_) + ", 'b')");
  ASSERT_EQ(p.kind, PlanKind::kScatter) << p.error.message;
  EXPECT_EQ(p.targets.size(), 2u);
}

TEST_F(ScatterWritesTest, DdlStillRunsOnEveryShard) {
  for (const char* sql : {"ALTER TABLE orders ADD COLUMN note VARCHAR(20)",
                          "CREATE INDEX by_status ON orders (status)", "TRUNCATE TABLE orders",
                          "CREATE TABLE t (id INT PRIMARY KEY)", "DROP TABLE t"}) {
    const Plan& p = plan(sql);
    ASSERT_EQ(p.kind, PlanKind::kScatter) << sql << ": " << p.error.message;
    EXPECT_EQ(p.targets.size(), 2u) << sql;
  }
}

TEST_F(ScatterWritesTest, PreparedStatementsAreCheckedWithTheirValues) {
  const std::string sql = "UPDATE orders SET status = 'x' WHERE customer_id = ?";
  const Plan& prepared = plan(sql);  // the key is unknown yet: tentative, not refused
  EXPECT_NE(prepared.kind, PlanKind::kError) << prepared.error.message;
  EXPECT_TRUE(prepared.deferred);
  const Plan& p = execute(sql, lo_);
  ASSERT_NE(p.kind, PlanKind::kError) << p.error.message;
  EXPECT_EQ(p.targets.size(), 1u);
  // Without the key in WHERE there is nothing to wait for: refused at PREPARE already.
  expectDenied(plan("UPDATE orders SET status = ? WHERE note = 'a'"), noKey("UPDATE"));
}

TEST_F(ScatterWritesTest, DenyIsReportedBeforeTheTransactionRule) {
  mode_ = catalog::TransactionMode::kSingle;
  expectDenied(plan("UPDATE orders SET status = 'x'", ScatterWrites::kDeny, true), noKey("UPDATE"));
  const Plan& p = plan("UPDATE orders SET status = 'x'", ScatterWrites::kAllow, true);
  EXPECT_EQ(p.kind, PlanKind::kError);
  EXPECT_EQ(p.error.code, ErrorCode::kCrossShardTransaction);
}

}  // namespace
}  // namespace shardproxy::router
