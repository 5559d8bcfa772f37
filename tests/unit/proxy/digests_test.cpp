// Query digests (digests.h) and the shard-key advisor (admin_digests.h) over digests built in
// memory: bounded tables, executions added up across threads, p99 from the log buckets, and
// advice that names the column whose equality would have made scatter statements single-shard.
#include "shardproxy/proxy/digests.h"

#include <gtest/gtest.h>

#include "admin_digests.h"

namespace shardproxy::proxy {
namespace {

TEST(DigestTable, StaysWithinItsCapacityAndCountsEvictions) {
  DigestTable t(100);
  for (std::uint64_t h = 1; h <= 1000; ++h) {
    t.add(h, "SELECT ?", "shop", {});
    t.record(h, Execution{1000, 1, 1, false});
  }
  EXPECT_EQ(t.copy().size(), 100u);
  EXPECT_EQ(t.evicted(), 900u);
  // A digest executed often survives a stream of one-off ones.
  DigestTable u(50);
  u.add(7, "SELECT hot", "shop", {});
  for (int i = 0; i < 100; ++i)
    u.record(7, Execution{1000, 0, 1, false});
  for (std::uint64_t h = 100; h < 2000; ++h) {
    u.add(h, "SELECT cold", "shop", {});
    u.record(h, Execution{1000, 0, 1, false});
  }
  EXPECT_TRUE(u.contains(7));
}

TEST(DigestTable, RecordsExecutionsAndMergesThreads) {
  DigestTable a, b;
  a.add(1, "SELECT * FROM t WHERE c = ?", "shop", {{"t", "c"}});
  b.add(1, "SELECT * FROM t WHERE c = ?", "shop", {{"t", "c"}});
  a.record(1, Execution{2'000'000, 10, 4, false});
  a.record(1, Execution{1'000'000, 0, 4, true});
  b.record(1, Execution{3'000'000, 5, 1, false});
  EXPECT_FALSE(a.record(2, Execution{}));  // unknown digest: not counted
  auto all = mergeDigests({a.copy(), b.copy()});
  ASSERT_EQ(all.size(), 1u);
  const Digest& d = all[0];
  EXPECT_EQ(d.count, 3u);
  EXPECT_EQ(d.errors, 1u);
  EXPECT_EQ(d.rows, 15u);
  EXPECT_EQ(d.totalNs, 6'000'000u);
  EXPECT_EQ(d.minNs, 1'000'000u);
  EXPECT_EQ(d.maxNs, 3'000'000u);
  EXPECT_EQ(d.scatter, 2u);
  EXPECT_EQ(d.single, 1u);
  EXPECT_EQ(d.shardsTouched, 9u);
}

TEST(LogHistogram, QuantileWithinItsBucket) {
  LogHistogram h;
  for (int i = 0; i < 990; ++i)
    h.add(100'000);  // 100 µs
  for (int i = 0; i < 10; ++i)
    h.add(50'000'000);  // 50 ms
  const std::uint64_t p99 = h.quantileNs(0.99, 1000);
  EXPECT_GE(p99, 100'000u);
  EXPECT_LE(p99, 142'000u);  // the bucket's upper bound, within √2
  const std::uint64_t p100 = h.quantileNs(1.0, 1000);
  EXPECT_GE(p100, 50'000'000u);
  EXPECT_LE(p100, 71'000'000u);
}

catalog::Snapshot shopSnapshot() {
  catalog::Snapshot s;
  catalog::Keyspace shop;
  shop.name = "shop";
  shop.sharded = true;
  s.keyspaces.push_back(shop);
  s.tables.push_back({"shop", "orders", catalog::TableKind::kSharded, "id", "xxh3"});
  s.tables.push_back({"shop", "regions", catalog::TableKind::kReference, "", ""});
  return s;
}

TEST(ShardKeyAdvice, NamesTheColumnThatWouldMakeScattersSingleShard) {
  Digest byCustomer;
  byCustomer.hash = 1;
  byCustomer.keyspace = "shop";
  byCustomer.text = "SELECT * FROM orders WHERE customer_id = ?";
  byCustomer.count = byCustomer.scatter = 80;
  byCustomer.equalities = {{"orders", "customer_id"}};
  Digest byId;  // already single-shard: traffic, not advice
  byId.hash = 2;
  byId.keyspace = "shop";
  byId.count = byId.single = 100;
  byId.equalities = {{"orders", "id"}};
  Digest byStatus;  // scatter, on a column compared with a value too
  byStatus.hash = 3;
  byStatus.keyspace = "shop";
  byStatus.text = "SELECT * FROM orders WHERE status = ?";
  byStatus.count = byStatus.scatter = 20;
  byStatus.equalities = {{"orders", "status"}, {"regions", "code"}};
  auto rs = shardKeyAdvice({byCustomer, byId, byStatus}, shopSnapshot(), std::nullopt);
  ASSERT_EQ(rs.rows.size(), 2u);  // regions is a reference table: no advice
  EXPECT_EQ(*rs.rows[0][2], "customer_id");
  EXPECT_EQ(*rs.rows[0][3], "id");
  EXPECT_EQ(*rs.rows[0][4], "80");
  EXPECT_EQ(*rs.rows[0][5], "80.0");  // of the 100 scatter executions
  EXPECT_EQ(*rs.rows[0][6], "40.0");  // of all 200
  EXPECT_EQ(*rs.rows[1][2], "status");
  EXPECT_TRUE(shardKeyAdvice({byCustomer}, shopSnapshot(), std::string("crm")).rows.empty());
}

}  // namespace
}  // namespace shardproxy::proxy
