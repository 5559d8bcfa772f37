// Lookup keys in the planner (router/src/planner_lookup.cpp): a statement narrowed only by a
// lookup key's column asks for the lookup, then goes where the answer's keyspace IDs live;
// INSERTs carry their rows' entries; writes that would leave entries behind are refused.
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

catalog::Snapshot makeSnapshot(bool ready = true) {
  catalog::Snapshot s;
  s.keyspaces.push_back(catalog::Keyspace{"lookups", false, {2}, {}});
  s.keyspaces.push_back(catalog::Keyspace{"shop", true, {kLow, kHigh}, {}});
  s.shards.push_back(catalog::Shard{"shop", "-80", KeyRange{0, kHalf}, true, {0}, 0});
  s.shards.push_back(catalog::Shard{"shop", "80-", KeyRange{kHalf, std::nullopt}, true, {1}, 1});
  s.shards.push_back(catalog::Shard{"lookups", "0", KeyRange{0, std::nullopt}, true, {2}, 2});
  for (std::int64_t i = 0; i < 3; ++i) {
    catalog::Backend b;
    b.id = i + 1;
    b.address = {"10.0.0." + std::to_string(i + 1), 3306};
    b.keyspace = i == 2 ? "lookups" : "shop";
    b.shard = i == 0 ? "-80" : i == 1 ? "80-" : "0";
    s.backends.push_back(b);
  }
  s.tables.push_back({"shop", "customers", TableKind::kSharded, "id", "xxh3"});
  s.tables.push_back({"shop", "orders", TableKind::kSharded, "customer_id", "xxh3"});
  catalog::LookupKey code{
      1, "shop", "orders", "code", false, "lookups", "lookup_shop_orders_code", ready, ""};
  catalog::LookupKey id{2,     "shop", "orders", "id", true, "lookups", "lookup_shop_orders_id",
                        ready, ""};
  s.lookupKeys = {code, id};  // sorted by (keyspace, table, column)
  return s;
}

std::uint32_t shardOf(std::int64_t v) {
  return keyspaceIdOfInt(v) >= kHalf ? kHigh : kLow;
}

class PlannerLookupTest : public ::testing::Test {
 protected:
  PlanInput input() {
    PlanInput in;
    in.snapshot = &snap_;
    in.schema = "shop";
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
    parsed_ = std::move(r);
    return planner_.plan(parsed_.statement(), in);
  }
  const Plan& plan(std::string sql) { return plan(std::move(sql), input()); }
  // Plans `sql` with the lookup's answer: `ids` for the key the first plan asked about.
  const Plan& answered(const std::string& sql, std::vector<std::uint64_t> ids,
                       std::string* askedSql = nullptr) {
    const Plan& asking = plan(sql);
    EXPECT_NE(asking.lookup, nullptr) << sql;
    if (asking.lookup == nullptr) return asking;
    if (askedSql != nullptr) *askedSql = asking.lookupSql;
    ids_ = std::move(ids);
    answer_ = PlanInput::LookupAnswer{asking.lookup->id, ids_};
    PlanInput in = input();
    in.lookupAnswer = &answer_;
    return planner_.plan(parsed_.statement(), in);
  }

  catalog::Snapshot snap_ = makeSnapshot();
  sql::Parser parser_;
  sql::ParseResult parsed_;
  Planner planner_;
  std::string text_;
  std::vector<std::uint64_t> ids_;
  PlanInput::LookupAnswer answer_;
};

TEST_F(PlannerLookupTest, EqualityOnALookupColumnAsksForTheLookup) {
  const Plan& p = plan("SELECT * FROM orders WHERE id = 42");
  ASSERT_NE(p.lookup, nullptr);
  EXPECT_EQ(p.lookup->column, "id");
  EXPECT_EQ(p.kind, PlanKind::kError);
  EXPECT_TRUE(p.targets.empty());
  EXPECT_EQ(p.lookupSql,
            "SELECT GROUP_CONCAT(DISTINCT keyspace_id) FROM `lookups`.`lookup_shop_orders_id` "
            "WHERE value IN (42)");
}

TEST_F(PlannerLookupTest, TheAnswerNarrowsToTheOwningShards) {
  const Plan& one = answered("SELECT * FROM orders WHERE id = 42", {keyspaceIdOfInt(7)});
  ASSERT_EQ(one.kind, PlanKind::kSingle);
  EXPECT_EQ(one.targets[0].shard, shardOf(7));
  EXPECT_EQ(one.reason, "lookup key");
  EXPECT_EQ(one.sqlFor(0), "SELECT * FROM orders WHERE id = 42");
  // Two keyspace IDs on different shards: both, concatenated.
  std::int64_t other = 1;
  while (shardOf(other) == shardOf(7))
    ++other;
  const Plan& two = answered("SELECT * FROM orders WHERE code IN ('a', 'b')",
                             {keyspaceIdOfInt(7), keyspaceIdOfInt(other)});
  EXPECT_EQ(two.kind, PlanKind::kConcatenate);
  EXPECT_EQ(two.targets.size(), 2u);
}

TEST_F(PlannerLookupTest, NoKeyspaceIdMeansOneShardAnswersForAll) {
  const Plan& p = answered("SELECT COUNT(*) FROM orders WHERE id = 42", {});
  ASSERT_EQ(p.kind, PlanKind::kSingle);
  EXPECT_EQ(p.targets.size(), 1u);
}

TEST_F(PlannerLookupTest, StringsAndNullsInTheLookup) {
  std::string asked;
  answered("SELECT * FROM orders WHERE code IN ('it''s', 'x')", {}, &asked);
  EXPECT_EQ(asked,
            "SELECT GROUP_CONCAT(DISTINCT keyspace_id) FROM `lookups`.`lookup_shop_orders_code` "
            "WHERE value IN ('it''s', 'x')");
  // NULL never narrows (no entry has it): every shard, as without a lookup key.
  const Plan& p = plan("SELECT * FROM orders WHERE code = NULL");
  EXPECT_EQ(p.lookup, nullptr);
  EXPECT_EQ(p.targets.size(), 2u);
}

TEST_F(PlannerLookupTest, TheShardKeyWinsOverALookup) {
  const Plan& p = plan("SELECT * FROM orders WHERE customer_id = 5 AND id = 42");
  EXPECT_EQ(p.lookup, nullptr);
  ASSERT_EQ(p.kind, PlanKind::kSingle);
  EXPECT_EQ(p.targets[0].shard, shardOf(5));
  EXPECT_EQ(p.reason, "shard key");
}

TEST_F(PlannerLookupTest, NotReadyKeysAndOrConditionsDoNotNarrow) {
  snap_ = makeSnapshot(false);
  EXPECT_EQ(plan("SELECT * FROM orders WHERE id = 42").lookup, nullptr);
  snap_ = makeSnapshot(true);
  const Plan& p = plan("SELECT * FROM orders WHERE id = 42 OR amount > 3");
  EXPECT_EQ(p.lookup, nullptr);
  EXPECT_EQ(p.targets.size(), 2u);
  // A set operation's blocks are not narrowed by one answer.
  EXPECT_EQ(
      plan("SELECT id FROM orders WHERE id = 1 UNION SELECT id FROM orders WHERE id = 2").lookup,
      nullptr);
}

TEST_F(PlannerLookupTest, UpdatesAndDeletesUseTheLookupToo) {
  const Plan& u = answered("UPDATE orders SET amount = 1 WHERE code = 'a'", {keyspaceIdOfInt(9)});
  ASSERT_EQ(u.kind, PlanKind::kSingle);
  EXPECT_EQ(u.targets[0].shard, shardOf(9));
  const Plan& d = answered("DELETE FROM orders WHERE id IN (1, 2)", {keyspaceIdOfInt(9)});
  ASSERT_EQ(d.kind, PlanKind::kSingle);
  EXPECT_EQ(d.targets[0].shard, shardOf(9));
}

TEST_F(PlannerLookupTest, PreparedStatementsLookUpAtExecute) {
  const Plan& prep = plan("SELECT * FROM orders WHERE id = ?");
  EXPECT_EQ(prep.lookup, nullptr);
  EXPECT_TRUE(prep.deferred);
  std::vector<BoundValue> params(1);
  params[0].type = BoundValue::Type::kString;
  params[0].s = "o'k\\";
  PlanInput in = input();
  in.params = params;
  in.executing = true;
  const Plan& exec = plan("SELECT * FROM orders WHERE code = ?", in);
  ASSERT_NE(exec.lookup, nullptr);
  EXPECT_NE(exec.lookupSql.find("IN ('o''k\\\\')"), std::string::npos) << exec.lookupSql;
}

TEST_F(PlannerLookupTest, InsertsCarryTheirRowsEntries) {
  const Plan& p =
      plan("INSERT INTO orders (id, customer_id, code) VALUES (1, 10, 'a'), (2, 20, NULL)");
  ASSERT_NE(p.kind, PlanKind::kError) << p.error.message;
  ASSERT_EQ(p.lookupWrites.size(), 2u);
  const Plan::LookupWrite& code = p.lookupWrites[0];
  EXPECT_EQ(code.key->column, "code");
  ASSERT_EQ(code.entries.size(), 1u);  // NULL has no entry
  EXPECT_EQ(code.entries[0].value, "'a'");
  EXPECT_EQ(code.entries[0].keyspaceId, keyspaceIdOfInt(10));
  const Plan::LookupWrite& id = p.lookupWrites[1];
  ASSERT_EQ(id.entries.size(), 2u);
  EXPECT_EQ(id.entries[1].value, "2");
  EXPECT_EQ(id.entries[1].keyspaceId, keyspaceIdOfInt(20));
  const Plan& set = plan("INSERT INTO orders SET customer_id = 3, id = 4, code = 'c'");
  ASSERT_EQ(set.lookupWrites.size(), 2u);
  EXPECT_EQ(set.lookupWrites[1].entries[0].keyspaceId, keyspaceIdOfInt(3));
  EXPECT_TRUE(plan("INSERT INTO customers (id) VALUES (1)").lookupWrites.empty());
}

TEST_F(PlannerLookupTest, WritesThatWouldLeaveEntriesBehindAreRefused) {
  auto refused = [&](const std::string& sql, std::string_view words) {
    const Plan& p = plan(sql);
    EXPECT_EQ(p.kind, PlanKind::kError) << sql;
    EXPECT_EQ(p.error.mysqlErrno, 1235) << sql;
    EXPECT_NE(p.error.message.find(words), std::string::npos) << p.error.message;
  };
  refused("UPDATE orders SET code = 'x' WHERE customer_id = 1", "changes column 'code'");
  refused("REPLACE INTO orders (id, customer_id, code) VALUES (1, 1, 'a')", "REPLACE");
  refused("INSERT INTO orders (customer_id, code) VALUES (1, 'a')",
          "does not give lookup key column 'id'");
  refused("INSERT INTO orders (id, customer_id, code) VALUES (1 + 1, 1, 'a')", "needs a literal");
  refused("INSERT IGNORE INTO orders (id, customer_id, code) VALUES (1, 1, 'a')",
          "UNIQUE lookup key");
  refused(
      "INSERT INTO orders (id, customer_id, code) VALUES (1, 1, 'a') ON DUPLICATE KEY UPDATE "
      "code = 'b'",
      "changes column 'code'");
}

// INSERT ... SELECT into a sharded table is cut around its SELECT for the session, which runs the
// SELECT and sends the rows as VALUES (planned like any INSERT).
TEST_F(PlannerLookupTest, InsertSelectIsCutAroundItsSelect) {
  const Plan& p = plan(
      "INSERT INTO customers (id) (SELECT customer_id FROM orders WHERE amount > 3) ON DUPLICATE "
      "KEY UPDATE id = id");
  ASSERT_TRUE(p.insertSelect.has_value()) << p.error.message;
  EXPECT_EQ(p.kind, PlanKind::kError);
  EXPECT_EQ(p.insertSelect->prefix, "INSERT INTO customers (id)");
  EXPECT_EQ(p.insertSelect->select, "(SELECT customer_id FROM orders WHERE amount > 3)");
  EXPECT_EQ(p.insertSelect->suffix, "ON DUPLICATE KEY UPDATE id = id");
  const Plan& bare = plan("INSERT INTO customers SELECT * FROM customers");
  ASSERT_TRUE(bare.insertSelect.has_value());
  EXPECT_EQ(bare.insertSelect->prefix, "INSERT INTO customers");
  EXPECT_EQ(bare.insertSelect->suffix, "");
  PlanInput in = input();
  in.prepared = true;
  const Plan& prepared = plan("INSERT INTO customers (id) SELECT customer_id FROM orders", in);
  EXPECT_FALSE(prepared.insertSelect.has_value());
  EXPECT_EQ(prepared.error.mysqlErrno, 1235);
}

TEST_F(PlannerLookupTest, DmlIsMarkedForItsOwnTransaction) {
  EXPECT_TRUE(plan("UPDATE customers SET name = 'x' WHERE id > 3").dml);
  EXPECT_TRUE(plan("DELETE FROM customers").dml);
  EXPECT_FALSE(plan("CREATE TABLE t2 (id INT)").dml);
  EXPECT_FALSE(plan("SELECT * FROM customers").dml);
}

// Joins across shards: split into the outer side's query and the inner side's per batch of keys.
TEST_F(PlannerLookupTest, JoinsNotOnBothShardKeysBecomeANestedLoop) {
  const Plan& p = plan(
      "SELECT o.id, c.name AS who, o.amount FROM orders o JOIN customers c ON c.id = o.id "
      "WHERE o.amount > 3 AND c.name <> 'x'");
  ASSERT_TRUE(p.join.has_value()) << p.error.message;
  EXPECT_EQ(p.join->outerSql, "SELECT o.id, o.amount, o.id FROM orders o WHERE (o.amount > 3)");
  EXPECT_EQ(p.join->innerPrefix, "SELECT c.name AS who, c.id FROM customers c WHERE c.id IN (");
  EXPECT_EQ(p.join->innerSuffix, ") AND (c.name <> 'x')");
  ASSERT_EQ(p.join->output.size(), 3u);
  EXPECT_EQ(p.join->output[1], std::make_pair(true, std::uint16_t{0}));
  EXPECT_EQ(p.join->output[2], std::make_pair(false, std::uint16_t{1}));
  EXPECT_FALSE(p.join->left);
  const Plan& left = plan(
      "SELECT c.id, o.amount FROM customers c LEFT JOIN orders o ON o.id = c.id AND o.amount > 1");
  ASSERT_TRUE(left.join.has_value()) << left.error.message;
  EXPECT_TRUE(left.join->left);
  EXPECT_EQ(left.join->innerSuffix, ") AND (o.amount > 1)");
}

TEST_F(PlannerLookupTest, CoLocatedJoinsStayOrdinaryAndTheRestIsRefused) {
  EXPECT_FALSE(plan("SELECT c.id FROM customers c JOIN orders o ON o.customer_id = c.id").join);
  auto refused = [&](const std::string& sql, std::string_view words) {
    const Plan& p = plan(sql);
    EXPECT_FALSE(p.join.has_value()) << sql;
    EXPECT_EQ(p.error.mysqlErrno, 1235) << sql;
    EXPECT_NE(p.error.message.find(words), std::string::npos) << p.error.message;
  };
  refused("SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.id", "aggregates");
  refused("SELECT o.id FROM orders o JOIN customers c ON c.id = o.id ORDER BY o.id LIMIT 3",
          "ORDER BY or LIMIT");
  refused("SELECT o.id FROM orders o JOIN customers c ON c.id = o.id WHERE o.amount > c.id",
          "WHERE condition");
  refused("SELECT o.id + c.id FROM orders o JOIN customers c ON c.id = o.id", "select-list item");
  refused("SELECT o.id FROM orders o LEFT JOIN customers c ON c.id = o.id WHERE c.name = 'x'",
          "WHERE condition");
}

}  // namespace
}  // namespace shardproxy::router
