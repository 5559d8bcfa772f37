// Generated keys in the planner: INSERTs that leave a sequence's column to it are rewritten with
// its values and placed by them (router/src/planner_sequence.cpp). A fake SequenceSource hands
// out values from a counter, and runs short on demand.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "shardproxy/router/keyspace_id.h"
#include "shardproxy/router/planner.h"
#include "shardproxy/router/sql/parser.h"

namespace shardproxy::router {
namespace {

using catalog::KeyRange;
using catalog::TableKind;

constexpr std::uint64_t kHalf = std::uint64_t{1} << 63;
constexpr std::uint32_t kLow = 0;   // shop/-80
constexpr std::uint32_t kHigh = 1;  // shop/80-

catalog::Snapshot makeSnapshot() {
  catalog::Snapshot s;
  s.keyspaces.push_back(catalog::Keyspace{"shop", true, {kLow, kHigh}, {}});
  s.shards.push_back(catalog::Shard{"shop", "-80", KeyRange{0, kHalf}, true, {0}, 0});
  s.shards.push_back(catalog::Shard{"shop", "80-", KeyRange{kHalf, std::nullopt}, true, {1}, 1});
  for (std::int64_t i = 0; i < 2; ++i) {
    catalog::Backend b;
    b.id = i + 1;
    b.address = {"10.0.0." + std::to_string(i + 1), 3306};
    b.keyspace = "shop";
    b.shard = i == 0 ? "-80" : "80-";
    s.backends.push_back(b);
  }
  s.tables.push_back({"shop", "customers", TableKind::kSharded, "id", "xxh3"});
  s.tables.push_back({"shop", "orders", TableKind::kSharded, "customer_id", "xxh3"});
  s.tables.push_back({"shop", "plain", TableKind::kSharded, "id", "xxh3"});
  s.sequences.push_back({1, "shop", "customers", "id", 1, 100});
  s.sequences.push_back({2, "shop", "orders", "id", 1, 100});
  return s;
}

class FakeSource : public SequenceSource {
 public:
  bool take(const catalog::Sequence& seq, std::span<std::int64_t> out) override {
    lastSequence = seq.table;
    if (out.size() > available) return false;
    available -= out.size();
    for (auto& v : out)
      v = next++;
    return true;
  }
  std::int64_t next = 1000;
  std::size_t available = 1000;
  std::string lastSequence;
};

// The shard position (kLow / kHigh) a value's keyspace ID falls on.
std::uint32_t shardOf(std::int64_t v) {
  return keyspaceIdOfInt(v) >= kHalf ? kHigh : kLow;
}

class PlannerSequenceTest : public ::testing::Test {
 protected:
  PlanInput input() {
    PlanInput in;
    in.snapshot = &snap_;
    in.schema = "shop";
    in.sequences = &source_;
    return in;
  }
  const Plan& plan(std::string sql, PlanInput in) {
    text_ = std::move(sql);
    sql::ParseResult r = parser_.parse(text_);
    if (!r.ok()) {
      ADD_FAILURE() << text_ << ": " << r.error().message;
      static const Plan kNone;
      return kNone;
    }
    return planner_.plan(r.statement(), in);
  }
  const Plan& plan(std::string sql) { return plan(std::move(sql), input()); }
  static std::string sql(const Plan& p, std::size_t i = 0) { return std::string(p.sqlFor(i)); }

  catalog::Snapshot snap_ = makeSnapshot();
  FakeSource source_;
  sql::Parser parser_;
  Planner planner_;
  std::string text_;
};

TEST_F(PlannerSequenceTest, OmittedKeyColumnIsAddedAndRoutesTheRow) {
  const Plan& p = plan("INSERT INTO customers (name) VALUES ('ann')");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(p.generatedId, 1000);
  ASSERT_EQ(p.targets.size(), 1u);
  EXPECT_EQ(p.targets[0].shard, shardOf(1000));
  EXPECT_TRUE(p.rewritten(0));
  EXPECT_EQ(sql(p), "INSERT INTO customers (name, `id`) VALUES ('ann', 1000)");
  EXPECT_EQ(source_.lastSequence, "customers");
}

TEST_F(PlannerSequenceTest, NullZeroAndDefaultAreReplacedInPlace) {
  const Plan& p = plan(
      "INSERT INTO customers (id, name) VALUES (NULL, 'a'), (0, 'b'), "
      "(DEFAULT, 'c'), (77, 'd')");
  ASSERT_NE(p.kind, PlanKind::kError) << p.error.message;
  EXPECT_EQ(p.generatedId, 1000);
  std::string all;
  for (std::size_t i = 0; i < p.targets.size(); ++i)
    all += sql(p, i) + "\n";
  // Consecutive values, each row on the shard of its own id.
  for (std::int64_t v : {1000, 1001, 1002, 77}) {
    const std::string row = "(" + std::to_string(v) + ", '";
    EXPECT_NE(all.find(row), std::string::npos) << all;
  }
  EXPECT_EQ(source_.next, 1003);
  if (shardOf(1000) == shardOf(1001) && shardOf(1001) == shardOf(1002) &&
      shardOf(1002) == shardOf(77)) {
    EXPECT_EQ(p.kind, PlanKind::kSingle);
  } else {
    EXPECT_EQ(p.kind, PlanKind::kScatter);
    EXPECT_EQ(p.reason, "shard key: rows split per shard");
  }
}

TEST_F(PlannerSequenceTest, ZeroIsKeptUnderNoAutoValueOnZero) {
  PlanInput in = input();
  in.noAutoValueOnZero = true;
  const Plan& p = plan("INSERT INTO customers (id, name) VALUES (0, 'a')", in);
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(p.generatedId, 0);
  EXPECT_FALSE(p.rewritten(0));
  EXPECT_EQ(p.targets[0].shard, shardOf(0));
}

TEST_F(PlannerSequenceTest, ExplicitValuesAreUntouched) {
  const Plan& p = plan("INSERT INTO customers (id, name) VALUES (5, 'a')");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(p.generatedId, 0);
  EXPECT_FALSE(p.rewritten(0));
  EXPECT_EQ(source_.next, 1000);  // nothing taken
  // A table without a sequence keeps today's refusal, now naming the remedy.
  const Plan& q = plan("INSERT INTO plain (name) VALUES ('a')");
  ASSERT_EQ(q.kind, PlanKind::kError);
  EXPECT_NE(q.error.message.find("CREATE SEQUENCE FOR shop.plain (id)"), std::string::npos)
      << q.error.message;
}

TEST_F(PlannerSequenceTest, MultiRowInsertsSplitPerShardByTheirGeneratedKeys) {
  const Plan& p = plan("INSERT INTO customers (name) VALUES ('a'), ('b'), ('c'), ('d'), ('e')");
  ASSERT_NE(p.kind, PlanKind::kError) << p.error.message;
  EXPECT_EQ(p.generatedId, 1000);
  std::size_t rows = 0;
  for (std::size_t i = 0; i < p.targets.size(); ++i) {
    const std::string s = sql(p, i);
    EXPECT_TRUE(s.starts_with("INSERT INTO customers (name, `id`) VALUES ")) << s;
    for (std::int64_t v = 1000; v < 1005; ++v) {
      if (s.find(", " + std::to_string(v) + ")") == std::string::npos) continue;
      EXPECT_EQ(p.targets[i].shard, shardOf(v)) << s;
      ++rows;
    }
  }
  EXPECT_EQ(rows, 5u);
}

TEST_F(PlannerSequenceTest, SequenceOnANonKeyColumnKeepsRoutingByTheKey) {
  const Plan& p = plan("INSERT INTO orders (customer_id, total) VALUES (42, 9.5)");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(p.targets[0].shard, shardOf(42));
  EXPECT_EQ(sql(p), "INSERT INTO orders (customer_id, total, `id`) VALUES (42, 9.5, 1000)");
  EXPECT_EQ(source_.lastSequence, "orders");
}

TEST_F(PlannerSequenceTest, SetFormAndEmptyRows) {
  const Plan& p = plan("INSERT INTO customers SET name = 'x'");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(sql(p), "INSERT INTO customers SET name = 'x', `id` = 1000");
  EXPECT_EQ(p.targets[0].shard, shardOf(1000));
  const Plan& q = plan("INSERT INTO customers SET id = NULL, name = 'y'");
  ASSERT_EQ(q.kind, PlanKind::kSingle) << q.error.message;
  EXPECT_EQ(sql(q), "INSERT INTO customers SET id = 1001, name = 'y'");
  const Plan& r = plan("INSERT INTO customers VALUES ()");
  ASSERT_EQ(r.kind, PlanKind::kSingle) << r.error.message;
  EXPECT_EQ(sql(r), "INSERT INTO customers (`id`) VALUES (1002)");
  const Plan& e = plan("INSERT INTO customers () VALUES ()");
  ASSERT_EQ(e.kind, PlanKind::kSingle) << e.error.message;
  EXPECT_EQ(sql(e), "INSERT INTO customers (`id`) VALUES (1003)");
}

TEST_F(PlannerSequenceTest, ShortfallAsksForARefillAndTakesNothing) {
  source_.available = 2;
  const Plan& p = plan("INSERT INTO customers (name) VALUES ('a'), ('b'), ('c')");
  ASSERT_EQ(p.kind, PlanKind::kError);
  ASSERT_NE(p.sequenceShortfall, nullptr);
  EXPECT_EQ(p.sequenceShortfall->table, "customers");
  EXPECT_EQ(p.sequenceNeed, 3u);
  EXPECT_TRUE(p.targets.empty());
  EXPECT_EQ(source_.next, 1000);
  source_.available = 10;
  const Plan& again = plan("INSERT INTO customers (name) VALUES ('a'), ('b'), ('c')");
  ASSERT_NE(again.kind, PlanKind::kError) << again.error.message;
  EXPECT_EQ(again.sequenceShortfall, nullptr);
  EXPECT_EQ(again.generatedId, 1000);
}

TEST_F(PlannerSequenceTest, PreparedInsertsGetValuesAtExecuteAsParameters) {
  PlanInput in = input();
  in.prepared = true;
  // PREPARE: rows are placed at EXECUTE, no value is taken yet.
  const Plan& prepare = plan("INSERT INTO customers (name) VALUES (?)", in);
  ASSERT_EQ(prepare.kind, PlanKind::kScatter) << prepare.error.message;
  EXPECT_TRUE(prepare.deferred);
  EXPECT_EQ(source_.next, 1000);
  // EXECUTE, column omitted: the shard's statement gets a `?` for it, after the client's.
  std::vector<BoundValue> one(1);
  one[0].type = BoundValue::Type::kString;
  one[0].s = "x";
  in.executing = true;
  in.params = one;
  const Plan& omitted = plan("INSERT INTO customers (name) VALUES (?)", in);
  ASSERT_EQ(omitted.kind, PlanKind::kSingle) << omitted.error.message;
  EXPECT_EQ(omitted.sqlFor(0), "INSERT INTO customers (name, `id`) VALUES (?, ?)");
  ASSERT_EQ(omitted.executeParams.size(), 2u);
  EXPECT_EQ(omitted.executeParams[0].client, 0);
  EXPECT_EQ(omitted.executeParams[1].client, -1);
  EXPECT_EQ(omitted.executeParams[1].value, 1000);
  EXPECT_EQ(omitted.generatedId, 1000);
  EXPECT_EQ(omitted.targets[0].shard, shardOf(1000));
  // A `?` bound to NULL keeps its place and takes the value; other placeholders stay the client's.
  std::vector<BoundValue> params(3);
  params[0].type = BoundValue::Type::kString;
  params[0].s = "a";
  params[1].type = BoundValue::Type::kNull;
  params[2].type = BoundValue::Type::kString;
  params[2].s = "b";
  in.params = params;
  const Plan& nullId = plan("INSERT INTO customers (name, id, note) VALUES (?, ?, ?)", in);
  ASSERT_EQ(nullId.kind, PlanKind::kSingle) << nullId.error.message;
  EXPECT_EQ(nullId.sqlFor(0), "INSERT INTO customers (name, id, note) VALUES (?, ?, ?)");
  ASSERT_EQ(nullId.executeParams.size(), 3u);
  EXPECT_EQ(nullId.executeParams[0].client, 0);
  EXPECT_EQ(nullId.executeParams[1].client, -1);
  EXPECT_EQ(nullId.executeParams[1].value, 1001);
  EXPECT_EQ(nullId.executeParams[2].client, 2);
  EXPECT_EQ(nullId.targets[0].shard, shardOf(1001));
  // A literal NULL becomes a `?` between the client's.
  std::vector<BoundValue> two(2);
  two[0].type = two[1].type = BoundValue::Type::kString;
  two[0].s = "a";
  two[1].s = "b";
  in.params = two;
  const Plan& literal = plan("INSERT INTO customers (name, id, note) VALUES (?, NULL, ?)", in);
  ASSERT_EQ(literal.kind, PlanKind::kSingle) << literal.error.message;
  EXPECT_EQ(literal.sqlFor(0), "INSERT INTO customers (name, id, note) VALUES (?, ?, ?)");
  ASSERT_EQ(literal.executeParams.size(), 3u);
  EXPECT_EQ(literal.executeParams[0].client, 0);
  EXPECT_EQ(literal.executeParams[1].value, 1002);
  EXPECT_EQ(literal.executeParams[2].client, 1);
  // A value given: no rewrite, routed by it.
  params[1].type = BoundValue::Type::kInt;
  params[1].i = 12;
  in.params = params;
  const Plan& given = plan("INSERT INTO customers (name, id, note) VALUES (?, ?, ?)", in);
  ASSERT_EQ(given.kind, PlanKind::kSingle) << given.error.message;
  EXPECT_TRUE(given.executeParams.empty());
  EXPECT_EQ(given.targets[0].shard, shardOf(12));
  EXPECT_EQ(source_.next, 1003);
}

// Without a column list the tracked columns (schema tracking) say which value is the sequence's.
TEST_F(PlannerSequenceTest, NoColumnListUsesTheTrackedColumns) {
  std::vector<ColumnRow> rows = {{"customers", "name", 2, "varchar", "varchar(20)", "YES", "", ""},
                                 {"customers", "id", 1, "bigint", "bigint", "NO", "", ""}};
  auto ks = buildKeyspaceSchema("shop", rows);
  ASSERT_TRUE(ks.ok());
  auto tracked = SchemaSnapshot{}.with(std::move(*ks));
  PlanInput in = input();
  in.tracked = tracked.get();
  const Plan& p = plan("INSERT INTO customers VALUES (NULL, 'a'), (77, 'b')", in);
  ASSERT_NE(p.kind, PlanKind::kError) << p.error.message;
  EXPECT_EQ(p.generatedId, 1000);
  std::string all;
  for (std::size_t i = 0; i < p.targets.size(); ++i)
    all += sql(p, i) + "\n";
  EXPECT_NE(all.find("(1000, 'a')"), std::string::npos) << all;
  EXPECT_NE(all.find("(77, 'b')"), std::string::npos) << all;
  // Not tracked: refused as before, not sent without its key.
  EXPECT_EQ(plan("INSERT INTO customers VALUES (NULL, 'a')").kind, PlanKind::kError);
}

TEST_F(PlannerSequenceTest, WithoutASourceTheInsertIsRefusedNotSentWithoutItsKey) {
  PlanInput in = input();
  in.sequences = nullptr;
  const Plan& p = plan("INSERT INTO customers (name) VALUES ('a')", in);
  ASSERT_EQ(p.kind, PlanKind::kError);
  EXPECT_NE(p.error.message.find("application port"), std::string::npos);
}

}  // namespace
}  // namespace shardproxy::router
