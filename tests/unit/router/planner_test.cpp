// The query planner (router/planner.h): a parsed statement + a catalog snapshot → where it runs.
// The snapshot is built by hand: keyspace "shop" sharded in two ("-80", "80-", each with a
// primary and a replica), keyspace "main" unsharded ("-"). Test values are chosen by hashing
// (keyspaceIdOfInt), so each test names the shard it expects from the value, not a constant.
#include "shardproxy/router/planner.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/router/keyspace_id.h"
#include "shardproxy/router/sql/parser.h"

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
using catalog::User;

constexpr std::uint64_t kHalf = std::uint64_t{1} << 63;

// Snapshot::shards indexes.
constexpr std::uint32_t kMainShard = 0;
constexpr std::uint32_t kLow = 1;   // shop/-80
constexpr std::uint32_t kHigh = 2;  // shop/80-

Snapshot makeSnapshot() {
  Snapshot s;
  s.version = 7;
  // Sorted by name, as Catalog::snapshot() leaves them (the lookups binary-search).
  s.keyspaces.push_back(Keyspace{"main", false, {kMainShard}, {}});
  s.keyspaces.push_back(Keyspace{"shop", true, {kLow, kHigh}, {}});

  s.shards.push_back(Shard{"main", "-", KeyRange{0, std::nullopt}, true, {0}, 0});
  s.shards.push_back(Shard{"shop", "-80", KeyRange{0, kHalf}, true, {1, 2}, 1});
  s.shards.push_back(Shard{"shop", "80-", KeyRange{kHalf, std::nullopt}, true, {3, 4}, 3});

  auto backend = [](std::int64_t id, std::string host, std::string ks, std::string shard,
                    BackendRole role) {
    Backend b;
    b.id = id;
    b.address = {std::move(host), 3306};
    b.keyspace = std::move(ks);
    b.shard = std::move(shard);
    b.role = role;
    return b;
  };
  // Sorted by address.
  s.backends.push_back(backend(1, "10.0.0.1", "main", "-", BackendRole::kPrimary));
  s.backends.push_back(backend(2, "10.0.1.1", "shop", "-80", BackendRole::kPrimary));
  s.backends.push_back(backend(3, "10.0.1.2", "shop", "-80", BackendRole::kReplica));
  s.backends.push_back(backend(4, "10.0.2.1", "shop", "80-", BackendRole::kPrimary));
  s.backends.push_back(backend(5, "10.0.2.2", "shop", "80-", BackendRole::kReplica));

  // Sorted by (keyspace, table).
  s.tables.push_back(TableRule{"shop", "accounts", TableKind::kSharded, "email", "xxh3_ci"});
  s.tables.push_back(TableRule{"shop", "countries", TableKind::kReference, "", ""});
  s.tables.push_back(TableRule{"shop", "customers", TableKind::kSharded, "id", "xxh3"});
  s.tables.push_back(TableRule{"shop", "orders", TableKind::kSharded, "customer_id", "xxh3"});

  User alice;
  alice.name = "alice";
  alice.keyspaces = {"main"};
  User bob;
  bob.name = "bob";  // every keyspace
  s.users.push_back(alice);
  s.users.push_back(bob);
  return s;
}

// The n-th small integer (counting from 1) whose keyspace ID falls on the wanted half.
std::int64_t valueOn(bool high, int n) {
  for (std::int64_t v = 1;; ++v) {
    if ((keyspaceIdOfInt(v) >= kHalf) == high && --n == 0) return v;
  }
}

std::string str(std::int64_t v) {
  return std::to_string(v);
}

class PlannerTest : public ::testing::Test {
 protected:
  PlannerTest()
      : snap_(makeSnapshot()),
        lo1_(valueOn(false, 1)),
        lo2_(valueOn(false, 2)),
        hi1_(valueOn(true, 1)),
        hi2_(valueOn(true, 2)) {}

  PlanInput input(std::string_view schema = "shop") const {
    PlanInput in;
    in.snapshot = &snap_;
    in.schema = schema;
    return in;
  }

  // Parses and plans `sql`; the text and the AST live until the next call.
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

  // Executes a prepared statement: plans with the bound values.
  const Plan& execute(std::string sql, std::vector<BoundValue> params) {
    params_ = std::move(params);
    PlanInput in = input();
    in.executing = true;
    in.params = params_;
    return plan(std::move(sql), in);
  }

  std::vector<std::string> shards(const Plan& p) const {
    std::vector<std::string> out;
    for (const PlanTarget& t : p.targets)
      out.push_back(snap_.shards.at(t.shard).name);
    return out;
  }

  static BoundValue intValue(std::int64_t v) {
    BoundValue b;
    b.type = BoundValue::Type::kInt;
    b.i = v;
    return b;
  }

  Snapshot snap_;
  sql::Parser parser_;
  Planner planner_;
  std::string text_;
  std::vector<BoundValue> params_;
  const std::int64_t lo1_, lo2_, hi1_, hi2_;
  const std::vector<std::string> kLowOnly{"-80"};
  const std::vector<std::string> kHighOnly{"80-"};
  const std::vector<std::string> kBoth{"-80", "80-"};
};

#define EXPECT_REFUSED(p, errorCode)                                       \
  do {                                                                     \
    const Plan& refused_ = (p);                                            \
    EXPECT_EQ(refused_.kind, PlanKind::kError) << toString(refused_.kind); \
    EXPECT_EQ(refused_.error.code, (errorCode)) << refused_.error.message; \
    EXPECT_FALSE(refused_.error.message.empty());                          \
    EXPECT_TRUE(refused_.targets.empty());                                 \
  } while (0)

#define EXPECT_NOT_SUPPORTED(p)                                 \
  do {                                                          \
    const Plan& ns_ = (p);                                      \
    EXPECT_REFUSED(ns_, ErrorCode::kNotSupportedYet);           \
    EXPECT_EQ(ns_.error.mysqlErrno, 1235) << ns_.error.message; \
    EXPECT_EQ(ns_.error.sqlState, "42000");                     \
  } while (0)

TEST_F(PlannerTest, TestValuesLandOnTheShardsTheirNamesSay) {
  for (auto v : {lo1_, lo2_}) {
    EXPECT_LT(keyspaceIdOfInt(v), kHalf) << v;
  }
  for (auto v : {hi1_, hi2_}) {
    EXPECT_GE(keyspaceIdOfInt(v), kHalf) << v;
  }
  EXPECT_NE(lo1_, lo2_);
  EXPECT_NE(hi1_, hi2_);
}

// ------------------------------------------------------------------ point selects

TEST_F(PlannerTest, PointSelectByKeyGoesToOneShardOnAReplica) {
  std::string sql = "SELECT * FROM customers WHERE id = " + str(lo1_);
  const Plan& p = plan(sql);
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(shards(p), kLowOnly);
  EXPECT_EQ(p.role, Role::kReplica);
  EXPECT_FALSE(p.write);
  EXPECT_FALSE(p.deferred);
  EXPECT_FALSE(p.anyShard);
  EXPECT_FALSE(p.connectionBound);
  ASSERT_NE(p.keyspace, nullptr);
  EXPECT_EQ(p.keyspace->name, "shop");
  EXPECT_FALSE(p.rewritten(0));
  EXPECT_EQ(p.sqlFor(0), sql);
  EXPECT_FALSE(p.reason.empty());

  const Plan& q = plan("SELECT name FROM customers WHERE id = " + str(hi1_));
  ASSERT_EQ(q.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(q), kHighOnly);
}

TEST_F(PlannerTest, LiteralOnTheLeftOfTheKey) {
  const Plan& p = plan("SELECT * FROM customers WHERE " + str(hi1_) + " = id");
  ASSERT_EQ(p.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(p), kHighOnly);
}

TEST_F(PlannerTest, QualifiedKeyAndNullSafeEquality) {
  const Plan& p = plan("SELECT c.name FROM shop.customers AS c WHERE c.id <=> " + str(lo2_));
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(shards(p), kLowOnly);
}

TEST_F(PlannerTest, NegativeAndDecimalLiterals) {
  // -1 and 42 are pinned by keyspace_id_test.cpp: -1 -> 0x51.., 42 -> 0x2e.., 0 -> 0xc7...
  const Plan& neg = plan("SELECT * FROM customers WHERE id = -1");
  ASSERT_EQ(neg.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(neg), kLowOnly);
  const Plan& dec = plan("SELECT * FROM customers WHERE id = " + str(hi1_) + ".000");
  ASSERT_EQ(dec.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(dec), kHighOnly);
  // 5.5 matches no integer: no narrowing (still correct: both shards answer "no rows").
  const Plan& frac = plan("SELECT * FROM customers WHERE id = 5.5");
  EXPECT_EQ(frac.kind, PlanKind::kConcatenate);
  const Plan& flt = plan("SELECT * FROM customers WHERE id = 1e1");
  EXPECT_EQ(flt.kind, PlanKind::kConcatenate);
}

TEST_F(PlannerTest, AndConjunctionsNarrow) {
  const Plan& p =
      plan("SELECT * FROM customers WHERE name = 'x' AND id = " + str(hi2_) + " AND age > 3");
  ASSERT_EQ(p.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(p), kHighOnly);

  const Plan& nested =
      plan("SELECT * FROM customers WHERE (age > 3 AND (id = " + str(lo1_) + ")) AND name <> ''");
  ASSERT_EQ(nested.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(nested), kLowOnly);

  // Two keys on different shards: no row matches, any one shard says so.
  const Plan& none =
      plan("SELECT * FROM customers WHERE id = " + str(lo1_) + " AND id = " + str(hi1_));
  ASSERT_EQ(none.kind, PlanKind::kSingle);
  EXPECT_EQ(none.targets.size(), 1u);
}

TEST_F(PlannerTest, RowEqualityNarrowsByItsKeyPosition) {
  const Plan& p = plan("SELECT * FROM customers WHERE (name, id) = ('x', " + str(hi1_) + ")");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(shards(p), kHighOnly);
}

TEST_F(PlannerTest, OrAndNotDoNotNarrow) {
  EXPECT_EQ(plan("SELECT * FROM customers WHERE id = " + str(lo1_) + " OR name = 'x'").kind,
            PlanKind::kConcatenate);
  EXPECT_EQ(plan("SELECT * FROM customers WHERE NOT (id = " + str(lo1_) + ")").kind,
            PlanKind::kConcatenate);
  EXPECT_EQ(plan("SELECT * FROM customers WHERE id <> " + str(lo1_)).kind, PlanKind::kConcatenate);
  EXPECT_EQ(plan("SELECT * FROM customers WHERE id NOT IN (" + str(lo1_) + ")").kind,
            PlanKind::kConcatenate);
  EXPECT_EQ(plan("SELECT * FROM customers WHERE id = " + str(lo1_) + " + 0").kind,
            PlanKind::kConcatenate);
}

// ------------------------------------------------------------------ prepared statements

TEST_F(PlannerTest, PlaceholderKeyIsDeferredWhilePreparing) {
  const Plan& p = plan("SELECT * FROM customers WHERE id = ?");
  ASSERT_EQ(p.kind, PlanKind::kConcatenate) << p.error.message;
  EXPECT_TRUE(p.deferred);
  EXPECT_EQ(shards(p), kBoth);
}

TEST_F(PlannerTest, PlaceholderKeyAtExecute) {
  const std::string sql = "SELECT * FROM customers WHERE id = ?";
  {
    const Plan& p = execute(sql, {intValue(lo1_)});
    ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
    EXPECT_FALSE(p.deferred);
    EXPECT_EQ(shards(p), kLowOnly);
    EXPECT_EQ(p.role, Role::kReplica);
  }
  {
    BoundValue u;
    u.type = BoundValue::Type::kUint;
    u.u = static_cast<std::uint64_t>(hi1_);
    const Plan& p = execute(sql, {u});
    ASSERT_EQ(p.kind, PlanKind::kSingle);
    EXPECT_EQ(shards(p), kHighOnly);
  }
  {
    const std::string digits = str(hi2_);
    BoundValue s;
    s.type = BoundValue::Type::kString;
    s.s = digits;
    const Plan& p = execute(sql, {s});
    ASSERT_EQ(p.kind, PlanKind::kSingle);
    EXPECT_EQ(shards(p), kHighOnly);
  }
  {
    BoundValue d;
    d.type = BoundValue::Type::kDouble;
    d.d = static_cast<double>(lo2_);
    const Plan& p = execute(sql, {d});
    ASSERT_EQ(p.kind, PlanKind::kSingle);
    EXPECT_EQ(shards(p), kLowOnly);
  }
  {
    BoundValue d;
    d.type = BoundValue::Type::kDouble;
    d.d = 2.5;
    EXPECT_EQ(execute(sql, {d}).kind, PlanKind::kConcatenate);
  }
  {
    BoundValue other;
    other.type = BoundValue::Type::kOther;
    EXPECT_EQ(execute(sql, {other}).kind, PlanKind::kConcatenate);
  }
  // Fewer values than placeholders: nothing to hash, every shard.
  EXPECT_EQ(execute(sql, {}).kind, PlanKind::kConcatenate);
}

TEST_F(PlannerTest, PlaceholderNullKeyIsAnyOneShard) {
  BoundValue null;  // kNull
  const Plan& p = execute("SELECT * FROM customers WHERE id = ?", {null});
  ASSERT_EQ(p.kind, PlanKind::kSingle);
  EXPECT_EQ(p.targets.size(), 1u);

  const Plan& in = execute("SELECT * FROM customers WHERE id IN (?, ?)", {null, intValue(hi1_)});
  ASSERT_EQ(in.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(in), kHighOnly);
}

TEST_F(PlannerTest, PreparedInListIsNotRewrittenAtExecute) {
  // Rewriting would renumber the placeholders: every target gets the statement as written.
  const Plan& p =
      execute("SELECT * FROM customers WHERE id IN (?, ?)", {intValue(lo1_), intValue(hi1_)});
  ASSERT_EQ(p.kind, PlanKind::kConcatenate);
  EXPECT_EQ(shards(p), kBoth);
  EXPECT_FALSE(p.rewritten(0));
  EXPECT_FALSE(p.rewritten(1));
}

TEST_F(PlannerTest, DeferredPlanIsNotRefusedForWhatTheBoundKeyMayNarrow) {
  // At PREPARE the key is unknown: ORDER BY / LIMIT would need merging only if the bound value
  // does not pin one shard, which EXECUTE decides.
  const std::string sql = "SELECT * FROM customers WHERE id = ? ORDER BY name LIMIT 10";
  const Plan& prepared = plan(sql);
  EXPECT_NE(prepared.kind, PlanKind::kError) << prepared.error.message;
  EXPECT_TRUE(prepared.deferred);
  const Plan& executed = execute(sql, {intValue(hi1_)});
  ASSERT_EQ(executed.kind, PlanKind::kSingle) << executed.error.message;
  EXPECT_EQ(shards(executed), kHighOnly);
  BoundValue other;
  other.type = BoundValue::Type::kOther;
  EXPECT_EQ(execute(sql, {other}).kind, PlanKind::kMerge);  // every shard, merged

  const std::string update = "UPDATE customers SET name = 'x' WHERE id = ? LIMIT 1";
  const Plan& u = plan(update);
  EXPECT_NE(u.kind, PlanKind::kError) << u.error.message;
  EXPECT_TRUE(u.deferred);
  EXPECT_EQ(execute(update, {intValue(lo1_)}).kind, PlanKind::kSingle);

  const std::string sub =
      "SELECT * FROM customers WHERE id = ? AND EXISTS (SELECT 1 FROM orders WHERE customer_id "
      "= ?)";
  const Plan& s = plan(sub);
  EXPECT_NE(s.kind, PlanKind::kError) << s.error.message;
  EXPECT_TRUE(s.deferred);
  const Plan& same = execute(sub, {intValue(lo1_), intValue(lo2_)});
  ASSERT_EQ(same.kind, PlanKind::kSingle) << same.error.message;
  EXPECT_EQ(shards(same), kLowOnly);
  EXPECT_NOT_SUPPORTED(execute(sub, {intValue(lo1_), intValue(hi1_)}));
}

TEST_F(PlannerTest, PreparedInsertIsDeferredThenPlacedAtExecute) {
  const std::string sql = "INSERT INTO orders (customer_id, amount) VALUES (?, ?)";
  const Plan& p = plan(sql);
  EXPECT_TRUE(p.deferred);
  EXPECT_TRUE(p.write);
  EXPECT_EQ(p.role, Role::kPrimary);
  const Plan& e = execute(sql, {intValue(hi1_), intValue(3)});
  ASSERT_EQ(e.kind, PlanKind::kSingle) << e.error.message;
  EXPECT_EQ(shards(e), kHighOnly);
  EXPECT_FALSE(e.deferred);

  const std::string multi = "INSERT INTO orders (customer_id, amount) VALUES (?, 1), (?, 2)";
  const Plan& same = execute(multi, {intValue(lo1_), intValue(lo2_)});
  ASSERT_EQ(same.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(same), kLowOnly);
  EXPECT_NOT_SUPPORTED(execute(multi, {intValue(lo1_), intValue(hi1_)}));
  BoundValue null;
  EXPECT_REFUSED(execute(multi, {null, intValue(hi1_)}), ErrorCode::kShardKeyRequired);
}

// ------------------------------------------------------------------ IN lists

TEST_F(PlannerTest, InListAcrossBothShardsIsSplit) {
  const std::string sql = "SELECT * FROM customers WHERE id IN (" + str(lo1_) + ", " + str(hi1_) +
                          ", " + str(lo2_) + ") AND name <> 'x'";
  const Plan& p = plan(sql);
  ASSERT_EQ(p.kind, PlanKind::kConcatenate) << p.error.message;
  ASSERT_EQ(shards(p), kBoth);
  EXPECT_EQ(p.role, Role::kReplica);
  EXPECT_TRUE(p.rewritten(0));
  EXPECT_TRUE(p.rewritten(1));
  EXPECT_EQ(p.sqlFor(0), "SELECT * FROM customers WHERE id IN (" + str(lo1_) + ", " + str(lo2_) +
                             ") AND name <> 'x'");
  EXPECT_EQ(p.sqlFor(1), "SELECT * FROM customers WHERE id IN (" + str(hi1_) + ") AND name <> 'x'");
  EXPECT_EQ(p.text, sql);
}

TEST_F(PlannerTest, InListKeepsUnhashableValuesEverywhere) {
  // 'abc' compares as 0 with an integer column: the proxy cannot place it, so every shard gets it.
  const Plan& p = plan("SELECT * FROM customers WHERE id IN (" + str(lo1_) + ", 'abc')");
  ASSERT_EQ(p.kind, PlanKind::kConcatenate);
  ASSERT_EQ(shards(p), kBoth);
  EXPECT_EQ(p.sqlFor(0), "SELECT * FROM customers WHERE id IN (" + str(lo1_) + ", 'abc')");
  EXPECT_EQ(p.sqlFor(1), "SELECT * FROM customers WHERE id IN ('abc')");
}

TEST_F(PlannerTest, InListOnOneShardIsUntouched) {
  const std::string sql =
      "SELECT * FROM customers WHERE id IN (" + str(hi1_) + ", " + str(hi2_) + ")";
  const Plan& p = plan(sql);
  ASSERT_EQ(p.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(p), kHighOnly);
  EXPECT_FALSE(p.rewritten(0));
  EXPECT_EQ(p.sqlFor(0), sql);
}

TEST_F(PlannerTest, InListAndAnotherKeyConditionIsNotRewritten) {
  const Plan& p = plan("SELECT * FROM customers WHERE id IN (" + str(lo1_) + ", " + str(hi1_) +
                       ") AND id IN (" + str(lo1_) + ", " + str(hi1_) + ", " + str(hi2_) + ")");
  ASSERT_EQ(p.kind, PlanKind::kConcatenate);
  EXPECT_EQ(shards(p), kBoth);
  EXPECT_FALSE(p.rewritten(0));
}

// ------------------------------------------------------------------ scatter reads

TEST_F(PlannerTest, NoKeyReadsBothShardsConcatenated) {
  const std::string sql = "SELECT id, name FROM customers WHERE name LIKE 'a%'";
  const Plan& p = plan(sql);
  ASSERT_EQ(p.kind, PlanKind::kConcatenate);
  EXPECT_EQ(shards(p), kBoth);
  EXPECT_EQ(p.role, Role::kReplica);
  EXPECT_FALSE(p.write);
  EXPECT_FALSE(p.rewritten(0));
  EXPECT_EQ(p.sqlFor(1), sql);

  EXPECT_EQ(plan("SELECT * FROM customers").kind, PlanKind::kConcatenate);
  EXPECT_EQ(plan("SELECT * FROM customers UNION ALL SELECT * FROM customers").kind,
            PlanKind::kConcatenate);
}

// What merges (testdata/merge_plans.txt has the plans) and what stays refused.
TEST_F(PlannerTest, MergingShapesAcrossShardsAreMerged) {
  for (const char* sql : {
           "SELECT * FROM customers ORDER BY name",
           "SELECT * FROM customers LIMIT 10",
           "SELECT COUNT(*) FROM customers",
           "SELECT name, COUNT(*) FROM orders GROUP BY name",
           "SELECT DISTINCT name FROM customers",
           "SELECT name FROM customers GROUP BY name HAVING name > 'a'",
           "SELECT id FROM customers UNION SELECT customer_id FROM orders",
           "SELECT COUNT(DISTINCT name) FROM customers",
       }) {
    SCOPED_TRACE(sql);
    const Plan& p = plan(sql);
    ASSERT_EQ(p.kind, PlanKind::kMerge) << p.error.message;
    EXPECT_EQ(p.targets.size(), 2u);
    EXPECT_TRUE(p.rewritten(0));
  }
}

TEST_F(PlannerTest, MergingShapesAcrossShardsAreRefused) {
  for (const char* sql : {
           "SELECT id FROM customers EXCEPT SELECT customer_id FROM orders",
           "SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM customers",
           "SELECT SQL_CALC_FOUND_ROWS COUNT(*) FROM customers",
           "SELECT id FROM customers UNION ALL SELECT 1",
           "SELECT id FROM customers UNION ALL SELECT code FROM countries",
           "SELECT id, LAST_INSERT_ID() FROM customers",
       }) {
    SCOPED_TRACE(sql);
    EXPECT_NOT_SUPPORTED(plan(sql));
  }
}

TEST_F(PlannerTest, MergingShapesOnOneShardAreFine) {
  for (const std::string& sql : {
           "SELECT * FROM customers WHERE id = " + str(lo1_) + " ORDER BY name",
           "SELECT * FROM customers WHERE id = " + str(lo1_) + " LIMIT 10",
           "SELECT COUNT(*) FROM customers WHERE id = " + str(lo1_),
           "SELECT name, COUNT(*) FROM orders WHERE customer_id = " + str(lo1_) + " GROUP BY name",
           "SELECT DISTINCT name FROM customers WHERE id IN (" + str(lo1_) + ", " + str(lo2_) + ")",
           "SELECT id FROM customers WHERE id = " + str(lo1_) +
               " UNION SELECT customer_id FROM orders WHERE customer_id = " + str(lo2_),
       }) {
    SCOPED_TRACE(sql);
    const Plan& p = plan(sql);
    ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
    EXPECT_EQ(shards(p), kLowOnly);
  }
}

// ------------------------------------------------------------------ joins and subqueries

TEST_F(PlannerTest, JoinOnShardKeysIsAllowed) {
  const Plan& all = plan("SELECT * FROM customers c JOIN orders o ON c.id = o.customer_id");
  ASSERT_EQ(all.kind, PlanKind::kConcatenate) << all.error.message;
  EXPECT_EQ(shards(all), kBoth);

  const Plan& one = plan(
      "SELECT * FROM customers c JOIN orders o ON c.id = o.customer_id WHERE "
      "o.customer_id = " +
      str(hi1_));
  ASSERT_EQ(one.kind, PlanKind::kSingle) << one.error.message;
  EXPECT_EQ(shards(one), kHighOnly);

  const Plan& comma = plan(
      "SELECT * FROM customers c, orders o WHERE o.customer_id = c.id AND "
      "c.id = " +
      str(lo1_));
  ASSERT_EQ(comma.kind, PlanKind::kSingle) << comma.error.message;
  EXPECT_EQ(shards(comma), kLowOnly);

  const Plan& left = plan("SELECT * FROM customers c LEFT JOIN orders o ON o.customer_id = c.id");
  EXPECT_EQ(left.kind, PlanKind::kConcatenate) << left.error.message;

  const Plan& ref = plan(
      "SELECT * FROM customers c JOIN countries k ON c.country = k.code WHERE "
      "c.id = " +
      str(lo1_));
  ASSERT_EQ(ref.kind, PlanKind::kSingle) << ref.error.message;
  EXPECT_EQ(shards(ref), kLowOnly);
}

TEST_F(PlannerTest, JoinNotOnShardKeysIsRefused) {
  EXPECT_NOT_SUPPORTED(plan("SELECT * FROM customers c JOIN orders o ON c.id = o.id"));
  EXPECT_NOT_SUPPORTED(plan("SELECT * FROM customers c JOIN orders o ON c.name = o.customer_id"));
  EXPECT_NOT_SUPPORTED(plan("SELECT * FROM customers c, orders o"));
  // Even narrowed to one shard by one table, the other's rows may live elsewhere.
  EXPECT_NOT_SUPPORTED(
      plan("SELECT * FROM customers c JOIN orders o ON c.id = o.id WHERE c.id = " + str(lo1_)));
}

TEST_F(PlannerTest, OuterJoinOnConditionDoesNotNarrow) {
  // The ON of a LEFT JOIN keeps every customer row: `o.customer_id = v` filters orders only.
  const Plan& p = plan(
      "SELECT * FROM customers c LEFT JOIN orders o ON o.customer_id = c.id AND "
      "o.customer_id = " +
      str(lo1_));
  EXPECT_EQ(p.kind, PlanKind::kConcatenate) << p.error.message;
  const Plan& inner = plan(
      "SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id AND "
      "o.customer_id = " +
      str(lo1_));
  ASSERT_EQ(inner.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(inner), kLowOnly);
}

TEST_F(PlannerTest, CorrelatedSubqueryOnTheShardKeyIsAllowed) {
  const Plan& p = plan(
      "SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)");
  ASSERT_EQ(p.kind, PlanKind::kConcatenate) << p.error.message;
  EXPECT_EQ(shards(p), kBoth);

  const Plan& one = plan("SELECT * FROM customers c WHERE c.id = " + str(hi1_) +
                         " AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)");
  ASSERT_EQ(one.kind, PlanKind::kSingle) << one.error.message;
  EXPECT_EQ(shards(one), kHighOnly);

  const Plan& scalar = plan(
      "SELECT c.id, (SELECT COUNT(*) FROM orders o WHERE o.customer_id = "
      "c.id) FROM customers c");
  EXPECT_EQ(scalar.kind, PlanKind::kConcatenate) << scalar.error.message;
}

TEST_F(PlannerTest, CorrelatedSubqueryNotOnTheShardKeyIsRefused) {
  EXPECT_NOT_SUPPORTED(
      plan("SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.id = c.id)"));
  EXPECT_NOT_SUPPORTED(
      plan("SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o "
           "WHERE o.customer_id = c.name)"));
}

TEST_F(PlannerTest, UncorrelatedSubqueryOnAShardedTable) {
  EXPECT_NOT_SUPPORTED(
      plan("SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders)"));
  EXPECT_NOT_SUPPORTED(plan("SELECT (SELECT COUNT(*) FROM orders)"));
  EXPECT_NOT_SUPPORTED(plan("SELECT * FROM (SELECT * FROM customers) d"));
  // The subquery reads one shard, the outer query both: the other shard would miss its rows.
  EXPECT_NOT_SUPPORTED(
      plan("SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders "
           "WHERE customer_id = " +
           str(lo1_) + ")"));

  // Everything on one shard.
  const Plan& same =
      plan("SELECT * FROM customers WHERE id = " + str(lo1_) +
           " AND id IN (SELECT customer_id FROM orders WHERE customer_id = " + str(lo1_) + ")");
  ASSERT_EQ(same.kind, PlanKind::kSingle) << same.error.message;
  EXPECT_EQ(shards(same), kLowOnly);

  // A reference table outside, a one-shard subquery inside.
  const Plan& ref = plan(
      "SELECT * FROM countries WHERE code IN (SELECT country FROM customers "
      "WHERE id = " +
      str(hi1_) + ")");
  ASSERT_EQ(ref.kind, PlanKind::kSingle) << ref.error.message;
  EXPECT_EQ(shards(ref), kHighOnly);
  EXPECT_FALSE(ref.anyShard);

  const Plan& derived =
      plan("SELECT * FROM (SELECT * FROM customers WHERE id = " + str(lo2_) + ") d");
  ASSERT_EQ(derived.kind, PlanKind::kSingle) << derived.error.message;
  EXPECT_EQ(shards(derived), kLowOnly);

  const Plan& cte = plan("WITH x AS (SELECT * FROM orders WHERE customer_id = " + str(hi2_) +
                         ") SELECT * FROM x");
  ASSERT_EQ(cte.kind, PlanKind::kSingle) << cte.error.message;
  EXPECT_EQ(shards(cte), kHighOnly);

  // Subqueries on different shards.
  EXPECT_NOT_SUPPORTED(plan("SELECT (SELECT name FROM customers WHERE id = " + str(lo1_) +
                            "), (SELECT name FROM customers WHERE id = " + str(hi1_) + ")"));
}

TEST_F(PlannerTest, OneShardSubqueryUnderAnOuterQueryOnAnotherShardIsRefused) {
  // The outer row lives on one shard, the subquery's rows on the other: no single shard can
  // answer (EXISTS would be false wherever the query runs).
  EXPECT_NOT_SUPPORTED(plan("SELECT * FROM customers WHERE id = " + str(lo1_) +
                            " AND EXISTS (SELECT 1 FROM orders WHERE customer_id = " + str(hi1_) +
                            ")"));
  EXPECT_NOT_SUPPORTED(plan("SELECT id, (SELECT COUNT(*) FROM orders WHERE customer_id = " +
                            str(hi1_) + ") FROM customers WHERE id = " + str(lo1_)));
}

TEST_F(PlannerTest, SubqueryOnAReferenceTableIsFine) {
  const Plan& p = plan("SELECT * FROM customers WHERE country IN (SELECT code FROM countries)");
  EXPECT_EQ(p.kind, PlanKind::kConcatenate) << p.error.message;
}

// ------------------------------------------------------------------ reference tables

TEST_F(PlannerTest, ReferenceTableReadIsAnyOneShard) {
  const Plan& p = plan("SELECT * FROM countries WHERE code = 'FR'");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(p.targets.size(), 1u);
  EXPECT_TRUE(p.anyShard);
  EXPECT_EQ(p.role, Role::kReplica);
  EXPECT_FALSE(p.write);
  // Merging shapes are fine: every shard has all the rows.
  const Plan& q = plan("SELECT COUNT(*) FROM countries ORDER BY 1 LIMIT 3");
  EXPECT_EQ(q.kind, PlanKind::kSingle) << q.error.message;
}

TEST_F(PlannerTest, ReferenceTableWritesGoToEveryPrimary) {
  for (const char* sql : {
           "INSERT INTO countries (code, name) VALUES ('FR', 'France'), ('DE', 'Germany')",
           "UPDATE countries SET name = 'France' WHERE code = 'FR'",
           "DELETE FROM countries WHERE code = 'FR'",
           "REPLACE INTO countries VALUES ('FR', 'France')",
       }) {
    SCOPED_TRACE(sql);
    const Plan& p = plan(sql);
    ASSERT_EQ(p.kind, PlanKind::kScatter) << p.error.message;
    EXPECT_EQ(shards(p), kBoth);
    EXPECT_EQ(p.role, Role::kPrimary);
    EXPECT_TRUE(p.write);
    EXPECT_FALSE(p.rewritten(0));
    EXPECT_FALSE(p.rewritten(1));
  }
}

TEST_F(PlannerTest, ReferenceTableWriteReadingAShardedTableIsRefused) {
  // Each shard would compute the subquery over its own rows: the copies would diverge.
  EXPECT_NOT_SUPPORTED(
      plan("UPDATE countries SET name = 'x' WHERE code IN (SELECT country FROM "
           "customers WHERE id = " +
           str(lo1_) + ")"));
  EXPECT_NOT_SUPPORTED(
      plan("DELETE FROM countries WHERE code IN (SELECT country FROM customers "
           "WHERE id = " +
           str(lo1_) + ")"));
  EXPECT_NOT_SUPPORTED(plan("INSERT INTO countries (code) SELECT country FROM customers"));
  EXPECT_NOT_SUPPORTED(
      plan("INSERT INTO countries (code) SELECT code FROM countries WHERE code IN "
           "(SELECT country FROM customers WHERE id = " +
           str(lo1_) + ")"));
  EXPECT_NOT_SUPPORTED(
      plan("INSERT INTO countries (code) VALUES ((SELECT country FROM customers "
           "WHERE id = " +
           str(lo1_) + "))"));
  EXPECT_NOT_SUPPORTED(
      plan("UPDATE customers c JOIN countries k ON c.country = k.code SET k.name "
           "= 'x' WHERE c.id = " +
           str(lo1_)));
  EXPECT_NOT_SUPPORTED(
      plan("DELETE k FROM countries k JOIN customers c ON c.country = k.code "
           "WHERE c.id = " +
           str(lo1_)));
  // INSERT ... SELECT from the reference table itself is fine.
  const Plan& p = plan("INSERT INTO countries (code) SELECT code FROM countries WHERE code = 'x'");
  EXPECT_EQ(p.kind, PlanKind::kScatter) << p.error.message;
}

// ------------------------------------------------------------------ INSERT

TEST_F(PlannerTest, MultiRowInsertIsSplitPerShard) {
  const std::string sql = "INSERT INTO orders (customer_id, amount) VALUES (" + str(hi1_) +
                          ", 1), (" + str(lo1_) + ", 2), (" + str(hi2_) + ", 3), (" + str(lo2_) +
                          ", 'four')";
  const Plan& p = plan(sql);
  ASSERT_EQ(p.kind, PlanKind::kScatter) << p.error.message;
  ASSERT_EQ(shards(p), kBoth);
  EXPECT_TRUE(p.write);
  EXPECT_EQ(p.role, Role::kPrimary);
  EXPECT_TRUE(p.rewritten(0));
  EXPECT_TRUE(p.rewritten(1));
  EXPECT_EQ(p.sqlFor(0), "INSERT INTO orders (customer_id, amount) VALUES (" + str(lo1_) +
                             ", 2), (" + str(lo2_) + ", 'four')");
  EXPECT_EQ(p.sqlFor(1), "INSERT INTO orders (customer_id, amount) VALUES (" + str(hi1_) +
                             ", 1), (" + str(hi2_) + ", 3)");
}

TEST_F(PlannerTest, MultiRowInsertSplitKeepsWhatFollowsTheRows) {
  const std::string sql = "INSERT IGNORE INTO orders(amount, customer_id) VALUES(1," + str(lo1_) +
                          "),(2," + str(hi1_) + ") ON DUPLICATE KEY UPDATE amount = amount + 1";
  const Plan& p = plan(sql);
  ASSERT_EQ(p.kind, PlanKind::kScatter) << p.error.message;
  ASSERT_EQ(shards(p), kBoth);
  EXPECT_EQ(p.sqlFor(0), "INSERT IGNORE INTO orders(amount, customer_id) VALUES(1," + str(lo1_) +
                             ") ON DUPLICATE KEY UPDATE amount = amount + 1");
  EXPECT_EQ(p.sqlFor(1), "INSERT IGNORE INTO orders(amount, customer_id) VALUES(2," + str(hi1_) +
                             ") ON DUPLICATE KEY UPDATE amount = amount + 1");
}

TEST_F(PlannerTest, SingleShardInsertIsUntouched) {
  const std::string sql =
      "INSERT INTO customers (id, name) VALUES (" + str(lo1_) + ", 'a'), (" + str(lo2_) + ", 'b')";
  const Plan& p = plan(sql);
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(shards(p), kLowOnly);
  EXPECT_FALSE(p.rewritten(0));
  EXPECT_EQ(p.sqlFor(0), sql);
  EXPECT_TRUE(p.write);
  EXPECT_EQ(p.role, Role::kPrimary);

  const Plan& set = plan("INSERT INTO customers SET name = 'a', id = " + str(hi1_));
  ASSERT_EQ(set.kind, PlanKind::kSingle) << set.error.message;
  EXPECT_EQ(shards(set), kHighOnly);

  const Plan& str5 = plan("INSERT INTO customers (id) VALUES ('" + str(hi1_) + "')");
  ASSERT_EQ(str5.kind, PlanKind::kSingle) << str5.error.message;
  EXPECT_EQ(shards(str5), kHighOnly);
}

TEST_F(PlannerTest, InsertWithoutAUsableShardKeyIsRefused) {
  EXPECT_REFUSED(plan("INSERT INTO customers VALUES (" + str(lo1_) + ", 'a')"),
                 ErrorCode::kShardKeyRequired);
  EXPECT_REFUSED(plan("INSERT INTO customers (name) VALUES ('a')"), ErrorCode::kShardKeyRequired);
  EXPECT_REFUSED(plan("INSERT INTO customers SET name = 'a'"), ErrorCode::kShardKeyRequired);
  EXPECT_REFUSED(plan("INSERT INTO customers (id, name) VALUES (NULL, 'a')"),
                 ErrorCode::kShardKeyRequired);
  EXPECT_REFUSED(
      plan("INSERT INTO customers (id, name) VALUES (" + str(lo1_) + ", 'a'), (DEFAULT, 'b')"),
      ErrorCode::kShardKeyRequired);
  EXPECT_REFUSED(plan("INSERT INTO customers (id, name) VALUES ('abc', 'a')"),
                 ErrorCode::kShardKeyRequired);
  EXPECT_REFUSED(plan("INSERT INTO customers (id, name) VALUES (1 + 1, 'a')"),
                 ErrorCode::kShardKeyRequired);
}

TEST_F(PlannerTest, InsertRefusals) {
  // INSERT ... SELECT into a sharded table: the session runs the SELECT, then inserts the rows.
  EXPECT_TRUE(plan("INSERT INTO orders (customer_id) SELECT id FROM customers").insertSelect);
  EXPECT_REFUSED(plan("INSERT INTO orders (customer_id, amount) VALUES (" + str(lo1_) +
                      ", 1) ON DUPLICATE KEY UPDATE customer_id = " + str(hi1_)),
                 ErrorCode::kShardKeyChange);
  EXPECT_REFUSED(plan("INSERT INTO nosuch (id) VALUES (1)"), ErrorCode::kNoTableRule);
  const Plan& count = plan("INSERT INTO orders (amount, customer_id) VALUES (1)");
  EXPECT_EQ(count.kind, PlanKind::kError);
  EXPECT_EQ(count.error.mysqlErrno, 1136);
}

TEST_F(PlannerTest, InsertValueSubqueryOnAnotherShardIsRefused) {
  EXPECT_NOT_SUPPORTED(plan("INSERT INTO orders (customer_id, amount) VALUES (" + str(lo1_) +
                            ", (SELECT COUNT(*) FROM customers WHERE id = " + str(hi1_) + "))"));
  const Plan& same = plan("INSERT INTO orders (customer_id, amount) VALUES (" + str(lo1_) +
                          ", (SELECT COUNT(*) FROM customers WHERE id = " + str(lo1_) + "))");
  ASSERT_EQ(same.kind, PlanKind::kSingle) << same.error.message;
  EXPECT_EQ(shards(same), kLowOnly);
}

// ------------------------------------------------------------------ UPDATE / DELETE

TEST_F(PlannerTest, UpdateOfTheShardKeyIsRefused) {
  EXPECT_REFUSED(plan("UPDATE customers SET id = " + str(hi1_) + " WHERE id = " + str(lo1_)),
                 ErrorCode::kShardKeyChange);
  EXPECT_REFUSED(plan("UPDATE orders o SET o.customer_id = 3"), ErrorCode::kShardKeyChange);
  EXPECT_REFUSED(plan("UPDATE customers c JOIN orders o ON c.id = o.customer_id SET customer_id = "
                      "3 WHERE c.id = " +
                      str(lo1_)),
                 ErrorCode::kShardKeyChange);
}

TEST_F(PlannerTest, UpdateAndDeleteByKeyGoToOnePrimary) {
  for (const std::string& sql : {
           "UPDATE customers SET name = 'x' WHERE id = " + str(hi1_),
           "DELETE FROM customers WHERE id = " + str(hi1_),
           "UPDATE customers SET name = 'x' WHERE id = " + str(hi1_) + " ORDER BY name LIMIT 1",
           "DELETE FROM orders WHERE customer_id = " + str(hi2_) + " LIMIT 5",
           "UPDATE customers c JOIN orders o ON o.customer_id = c.id SET o.amount = 0 WHERE c.id "
           "= " +
               str(hi1_),
       }) {
    SCOPED_TRACE(sql);
    const Plan& p = plan(sql);
    ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
    EXPECT_EQ(shards(p), kHighOnly);
    EXPECT_TRUE(p.write);
    EXPECT_EQ(p.role, Role::kPrimary);
    EXPECT_FALSE(p.rewritten(0));
  }
}

TEST_F(PlannerTest, UpdateAndDeleteWithoutKeyScatter) {
  for (const std::string& sql : {
           std::string("UPDATE customers SET name = 'x' WHERE name = 'y'"),
           std::string("DELETE FROM orders"),
           "DELETE FROM customers WHERE id IN (" + str(lo1_) + ", " + str(hi1_) + ")",
       }) {
    SCOPED_TRACE(sql);
    const Plan& p = plan(sql);
    ASSERT_EQ(p.kind, PlanKind::kScatter) << p.error.message;
    EXPECT_EQ(shards(p), kBoth);
    EXPECT_TRUE(p.write);
    EXPECT_EQ(p.role, Role::kPrimary);
  }
}

TEST_F(PlannerTest, UpdateAndDeleteWithLimitAcrossShardsAreRefused) {
  EXPECT_NOT_SUPPORTED(plan("UPDATE customers SET name = 'x' LIMIT 1"));
  EXPECT_NOT_SUPPORTED(plan("UPDATE customers SET name = 'x' ORDER BY id"));
  EXPECT_NOT_SUPPORTED(plan("DELETE FROM customers WHERE name = 'x' LIMIT 1"));
  EXPECT_NOT_SUPPORTED(plan("DELETE FROM customers ORDER BY id"));
}

TEST_F(PlannerTest, WriteWithASubqueryOnAShardedTable) {
  EXPECT_NOT_SUPPORTED(
      plan("UPDATE customers SET name = 'x' WHERE id IN (SELECT customer_id FROM "
           "orders)"));
  EXPECT_NOT_SUPPORTED(plan("DELETE FROM customers WHERE id IN (SELECT customer_id FROM orders)"));
  const Plan& correlated = plan(
      "DELETE FROM customers WHERE NOT EXISTS (SELECT 1 FROM orders o "
      "WHERE o.customer_id = customers.id)");
  EXPECT_EQ(correlated.kind, PlanKind::kScatter) << correlated.error.message;
}

TEST_F(PlannerTest, MultiShardWritesInsideASingleModeTransactionAreRefused) {
  PlanInput tx = input();
  tx.inTransaction = true;
  tx.transactionMode = catalog::TransactionMode::kSingle;
  for (const std::string& sql : {
           std::string("UPDATE customers SET name = 'x'"),
           std::string("DELETE FROM orders WHERE amount = 0"),
           std::string("INSERT INTO countries (code) VALUES ('FR')"),
           "INSERT INTO customers (id) VALUES (" + str(lo1_) + "), (" + str(hi1_) + ")",
       }) {
    SCOPED_TRACE(sql);
    const Plan& p = plan(sql, tx);
    EXPECT_REFUSED(p, ErrorCode::kCrossShardTransaction);
  }
  // One shard is fine, and reads are not writes.
  const Plan& one = plan("UPDATE customers SET name = 'x' WHERE id = " + str(lo1_), tx);
  ASSERT_EQ(one.kind, PlanKind::kSingle) << one.error.message;
  EXPECT_EQ(plan("SELECT * FROM customers", tx).kind, PlanKind::kConcatenate);
  // Modes multi (the keyspace default) and twopc run them on every shard they touch.
  for (auto mode :
       {std::optional<catalog::TransactionMode>(), std::optional(catalog::TransactionMode::kMulti),
        std::optional(catalog::TransactionMode::kTwoPc)}) {
    tx.transactionMode = mode;
    const Plan& p = plan("UPDATE customers SET name = 'x'", tx);
    EXPECT_EQ(p.kind, PlanKind::kScatter) << p.error.message;
    EXPECT_EQ(p.targets.size(), 2u);
  }
}

// ------------------------------------------------------------------ roles and hints

TEST_F(PlannerTest, LockingReadsGoToThePrimary) {
  const Plan& p = plan("SELECT * FROM customers WHERE id = " + str(lo1_) + " FOR UPDATE");
  ASSERT_EQ(p.kind, PlanKind::kSingle);
  EXPECT_EQ(p.role, Role::kPrimary);
  EXPECT_EQ(plan("SELECT * FROM customers WHERE id = " + str(lo1_) + " LOCK IN SHARE MODE").role,
            Role::kPrimary);
  EXPECT_EQ(plan("SELECT * FROM countries FOR SHARE").role, Role::kPrimary);
}

TEST_F(PlannerTest, TransactionsDecideTheRole) {
  const std::string sql = "SELECT * FROM customers WHERE id = " + str(lo1_);
  PlanInput in = input();
  in.inTransaction = true;
  EXPECT_EQ(plan(sql, in).role, Role::kPrimary);
  in.readOnlyTransaction = true;
  EXPECT_EQ(plan(sql, in).role, Role::kReplica);
  PlanInput force = input();
  force.forcePrimary = true;
  EXPECT_EQ(plan(sql, force).role, Role::kPrimary);
  EXPECT_EQ(plan(sql).role, Role::kReplica);
}

TEST_F(PlannerTest, ShardHintPicksTheShard) {
  const Plan& p = plan("SELECT /*+ SHARD(80-) */ * FROM customers WHERE name = 'x'");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(shards(p), kHighOnly);
  EXPECT_FALSE(p.rewritten(0));
  EXPECT_EQ(p.role, Role::kReplica);

  const Plan& key = plan("SELECT /*+ SHARD(-80) */ * FROM customers WHERE id = " + str(hi1_));
  ASSERT_EQ(key.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(key), kLowOnly);

  const Plan& in = plan("SELECT /*+ SHARD(80-) */ * FROM customers WHERE id IN (" + str(lo1_) +
                        ", " + str(hi1_) + ")");
  ASSERT_EQ(in.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(in), kHighOnly);
  EXPECT_FALSE(in.rewritten(0));

  // A hint names one shard: the session must not substitute another.
  const Plan& ref = plan("SELECT /*+ SHARD(80-) */ * FROM countries");
  ASSERT_EQ(ref.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(ref), kHighOnly);
  EXPECT_FALSE(ref.anyShard);
}

TEST_F(PlannerTest, ShardHintSendsRefusedStatementsUnchanged) {
  // docs/routing.md, "Hints": the named shard, unchanged, without shard-key checks (maintenance).
  const Plan& order = plan("SELECT /*+ SHARD(80-) */ * FROM customers ORDER BY id LIMIT 3");
  ASSERT_EQ(order.kind, PlanKind::kSingle) << order.error.message;
  EXPECT_EQ(shards(order), kHighOnly);
  EXPECT_EQ(order.role, Role::kReplica);
  EXPECT_FALSE(order.write);
  EXPECT_TRUE(order.error.message.empty());
  EXPECT_EQ(order.sqlFor(0), text_);

  // ... except INSERT rows that belong to another shard by their key: never misplaced.
  const Plan& misplaced =
      plan("INSERT /*+ SHARD(80-) */ INTO customers (id) VALUES (" + str(lo1_) + ")");
  EXPECT_NOT_SUPPORTED(misplaced);
  EXPECT_NE(misplaced.error.message.find("could never be found by key"), std::string::npos);

  const Plan& split = plan("INSERT /*+ SHARD(-80) */ INTO customers (id) VALUES (" + str(hi1_) +
                           "), (" + str(lo1_) + ")");
  EXPECT_NOT_SUPPORTED(split);
  EXPECT_NE(split.error.message.find("belong to shard 80-"), std::string::npos);

  const Plan& placed =
      plan("INSERT /*+ SHARD(-80) */ INTO customers (id) VALUES (" + str(lo1_) + ")");
  ASSERT_EQ(placed.kind, PlanKind::kSingle) << placed.error.message;
  EXPECT_EQ(shards(placed), kLowOnly);
  EXPECT_EQ(placed.sqlFor(0), text_);

  const Plan& key = plan("UPDATE /*+ SHARD(-80) */ customers SET id = 3 WHERE id = 4");
  ASSERT_EQ(key.kind, PlanKind::kSingle) << key.error.message;
  EXPECT_EQ(key.role, Role::kPrimary);

  const Plan& norule = plan("SELECT /*+ SHARD(-80) */ * FROM nosuch");
  ASSERT_EQ(norule.kind, PlanKind::kSingle) << norule.error.message;
  EXPECT_EQ(norule.role, Role::kReplica);

  const Plan& status = plan("SHOW /*+ SHARD(80-) */ TABLE STATUS");
  ASSERT_EQ(status.kind, PlanKind::kSingle) << status.error.message;
  EXPECT_EQ(shards(status), kHighOnly);

  const Plan& lock = plan("SELECT /*+ SHARD(80-) */ id, LAST_INSERT_ID() FROM customers");
  ASSERT_EQ(lock.kind, PlanKind::kSingle) << lock.error.message;
  EXPECT_TRUE(lock.connectionBound);
  EXPECT_EQ(lock.role, Role::kPrimary);

  // A prepared statement with the hint is not deferred: the hint decides.
  const Plan& prepared = plan("SELECT /*+ SHARD(80-) */ * FROM customers WHERE id = ?");
  ASSERT_EQ(prepared.kind, PlanKind::kSingle);
  EXPECT_FALSE(prepared.deferred);

  // Keyspace and access checks still apply.
  EXPECT_NOT_SUPPORTED(plan("SELECT /*+ SHARD(-80) */ * FROM customers JOIN main.t"));
  PlanInput alice = input();
  alice.user = "alice";
  EXPECT_EQ(plan("SELECT /*+ SHARD(-80) */ 1", alice).error.mysqlErrno, 1044);
}

TEST_F(PlannerTest, UnionSubqueryIsColocatedOnlyIfEveryBranchIs) {
  const Plan& both = plan(
      "SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE "
      "o.customer_id = c.id UNION ALL SELECT 1 FROM orders o2 WHERE "
      "o2.customer_id = c.id)");
  EXPECT_EQ(both.kind, PlanKind::kConcatenate) << both.error.message;
  EXPECT_NOT_SUPPORTED(
      plan("SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE "
           "o.customer_id = c.id UNION ALL SELECT 1 FROM orders o2 WHERE "
           "o2.amount > 100)"));
  const Plan& ref = plan(
      "SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE "
      "o.customer_id = c.id UNION ALL SELECT 1 FROM countries k WHERE k.code "
      "= c.country)");
  EXPECT_EQ(ref.kind, PlanKind::kConcatenate) << ref.error.message;
}

TEST_F(PlannerTest, PrimaryHint) {
  const Plan& p = plan("SELECT /*+ PRIMARY */ * FROM customers WHERE id = " + str(lo1_));
  ASSERT_EQ(p.kind, PlanKind::kSingle);
  EXPECT_EQ(p.role, Role::kPrimary);
  const Plan& both = plan("SELECT /*+ SHARD(-80) PRIMARY */ * FROM customers");
  ASSERT_EQ(both.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(both), kLowOnly);
  EXPECT_EQ(both.role, Role::kPrimary);
}

TEST_F(PlannerTest, UnknownShardInHintIsAnError) {
  EXPECT_REFUSED(plan("SELECT /*+ SHARD(40-) */ * FROM customers"), ErrorCode::kNoRoute);
  EXPECT_REFUSED(plan("SELECT /*+ SHARD(-) */ * FROM customers"), ErrorCode::kNoRoute);
}

TEST_F(PlannerTest, UnmodelledStatementsNeedAShardHint) {
  EXPECT_NOT_SUPPORTED(plan("FLUSH TABLES"));
  const Plan& p = plan("FLUSH /*+ SHARD(-80) */ TABLES");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_EQ(shards(p), kLowOnly);
  EXPECT_EQ(p.role, Role::kPrimary);
  // LOCK TABLES takes the locks on every shard's primary (planner_schema_test.cpp).
  EXPECT_EQ(plan("LOCK TABLES customers READ").kind, PlanKind::kScatter);
  EXPECT_EQ(plan("UNLOCK TABLES").kind, PlanKind::kScatter);
}

// ------------------------------------------------------------------ tables without rules, schema

TEST_F(PlannerTest, TableWithoutRuleIsRefused) {
  EXPECT_REFUSED(plan("SELECT * FROM nosuch"), ErrorCode::kNoTableRule);
  EXPECT_REFUSED(plan("SELECT * FROM customers c JOIN nosuch n ON c.id = n.id"),
                 ErrorCode::kNoTableRule);
  EXPECT_REFUSED(plan("UPDATE nosuch SET a = 1"), ErrorCode::kNoTableRule);
  EXPECT_REFUSED(plan("DELETE FROM nosuch"), ErrorCode::kNoTableRule);
  EXPECT_REFUSED(plan("SELECT * FROM customers WHERE id IN (SELECT id FROM nosuch)"),
                 ErrorCode::kNoTableRule);
}

TEST_F(PlannerTest, ShowStatements) {
  const Plan& tables = plan("SHOW TABLES");
  ASSERT_EQ(tables.kind, PlanKind::kSingle) << tables.error.message;
  EXPECT_TRUE(tables.anyShard);
  EXPECT_EQ(tables.targets.size(), 1u);
  EXPECT_EQ(tables.role, Role::kReplica);
  EXPECT_FALSE(tables.write);

  const Plan& columns = plan("SHOW COLUMNS FROM customers");
  EXPECT_EQ(columns.kind, PlanKind::kSingle);
  EXPECT_TRUE(columns.anyShard);

  EXPECT_NOT_SUPPORTED(plan("SHOW TABLE STATUS"));
  EXPECT_NOT_SUPPORTED(plan("SHOW TABLE STATUS LIKE 'customers'"));

  const Plan& warnings = plan("SHOW WARNINGS");
  EXPECT_EQ(warnings.kind, PlanKind::kSessionConnection);
  EXPECT_TRUE(warnings.connectionBound);
}

TEST_F(PlannerTest, ShowFromAnotherDatabaseUsesItsKeyspace) {
  const Plan& p = plan("SHOW TABLES FROM main");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  ASSERT_NE(p.keyspace, nullptr);
  EXPECT_EQ(p.keyspace->name, "main");
  ASSERT_EQ(p.targets.size(), 1u);
  EXPECT_EQ(p.targets[0].shard, kMainShard);

  const Plan& status = plan("SHOW TABLE STATUS FROM main");
  EXPECT_EQ(status.kind, PlanKind::kSingle) << status.error.message;

  const Plan& cols = plan("SHOW COLUMNS FROM t FROM main");
  ASSERT_NE(cols.keyspace, nullptr);
  EXPECT_EQ(cols.keyspace->name, "main");
}

TEST_F(PlannerTest, InformationSchemaRowStatisticsAreRefused) {
  EXPECT_NOT_SUPPORTED(
      plan("SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES WHERE "
           "TABLE_SCHEMA = 'shop'"));
  EXPECT_NOT_SUPPORTED(plan("SELECT * FROM information_schema.tables"));
  EXPECT_NOT_SUPPORTED(plan("SELECT SUM(DATA_LENGTH) FROM information_schema.TABLES"));
  EXPECT_NOT_SUPPORTED(plan("SELECT t.table_rows FROM information_schema.TABLES t"));

  const Plan& p = plan(
      "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' ORDER BY 1");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_TRUE(p.anyShard);
  EXPECT_EQ(p.targets.size(), 1u);
  ASSERT_NE(p.keyspace, nullptr);
  EXPECT_EQ(p.keyspace->name, "shop");

  const Plan& cols = plan(
      "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_NAME = "
      "'customers'");
  EXPECT_EQ(cols.kind, PlanKind::kSingle) << cols.error.message;
}

TEST_F(PlannerTest, StatementsWithoutTablesUseTheSessionConnection) {
  for (const char* sql : {"SELECT 1", "SELECT DATABASE()", "SELECT @@version", "SELECT 1 FROM DUAL",
                          "SELECT NOW(), 1 + 2"}) {
    SCOPED_TRACE(sql);
    const Plan& p = plan(sql);
    EXPECT_EQ(p.kind, PlanKind::kSessionConnection) << p.error.message;
    EXPECT_TRUE(p.targets.empty());
    EXPECT_FALSE(p.connectionBound);
    EXPECT_FALSE(p.write);
  }
}

TEST_F(PlannerTest, LastInsertIdGoesToTheShardLastWritten) {
  PlanInput in = input();
  in.lastWriteShard = kHigh;
  const Plan& p = plan("SELECT LAST_INSERT_ID()", in);
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  ASSERT_EQ(p.targets.size(), 1u);
  EXPECT_EQ(p.targets[0].shard, kHigh);
  EXPECT_TRUE(p.connectionBound);
  EXPECT_FALSE(p.anyShard);
  EXPECT_EQ(p.role, Role::kPrimary);

  const Plan& none = plan("SELECT LAST_INSERT_ID()");
  EXPECT_EQ(none.kind, PlanKind::kSessionConnection);
  EXPECT_TRUE(none.connectionBound);
  EXPECT_EQ(none.role, Role::kPrimary);

  const Plan& assign = plan("SELECT @x := 1");
  EXPECT_TRUE(assign.connectionBound);

  // A reference table read with a connection-bound function: not any shard.
  const Plan& ref = plan("SELECT LAST_INSERT_ID() FROM countries LIMIT 1", in);
  ASSERT_EQ(ref.kind, PlanKind::kSingle) << ref.error.message;
  EXPECT_TRUE(ref.connectionBound);
  EXPECT_FALSE(ref.anyShard);
  EXPECT_EQ(shards(ref), kHighOnly);
}

TEST_F(PlannerTest, DdlGoesToEveryPrimary) {
  for (const char* sql :
       {"CREATE TABLE t (id INT PRIMARY KEY)", "ALTER TABLE customers ADD COLUMN x INT",
        "DROP TABLE IF EXISTS t", "TRUNCATE TABLE orders", "CREATE INDEX i ON customers (name)"}) {
    SCOPED_TRACE(sql);
    const Plan& p = plan(sql);
    ASSERT_EQ(p.kind, PlanKind::kScatter) << p.error.message;
    EXPECT_EQ(shards(p), kBoth);
    EXPECT_TRUE(p.write);
    EXPECT_EQ(p.role, Role::kPrimary);
  }
  EXPECT_NOT_SUPPORTED(plan("RENAME TABLE customers TO clients"));
  EXPECT_EQ(plan("RENAME TABLE t1 TO t2").kind, PlanKind::kScatter);
}

TEST_F(PlannerTest, SessionStatementKinds) {
  EXPECT_EQ(plan("BEGIN").kind, PlanKind::kBegin);
  EXPECT_FALSE(plan("BEGIN").readOnly);
  const Plan& ro = plan("START TRANSACTION READ ONLY");
  EXPECT_EQ(ro.kind, PlanKind::kBegin);
  EXPECT_TRUE(ro.readOnly);
  const Plan& rw = plan("START TRANSACTION READ WRITE");
  EXPECT_EQ(rw.kind, PlanKind::kBegin);
  EXPECT_FALSE(rw.readOnly);
  EXPECT_EQ(plan("COMMIT").kind, PlanKind::kCommit);
  EXPECT_EQ(plan("ROLLBACK").kind, PlanKind::kRollback);
  EXPECT_EQ(plan("SAVEPOINT s1").kind, PlanKind::kSavepoint);
  EXPECT_EQ(plan("ROLLBACK TO SAVEPOINT s1").kind, PlanKind::kSavepoint);
  EXPECT_EQ(plan("RELEASE SAVEPOINT s1").kind, PlanKind::kSavepoint);
  EXPECT_EQ(plan("SET autocommit = 0").kind, PlanKind::kSet);
  EXPECT_EQ(plan("SET NAMES utf8mb4").kind, PlanKind::kSet);

  const Plan& use = plan("USE main");
  EXPECT_EQ(use.kind, PlanKind::kUse);
  ASSERT_NE(use.keyspace, nullptr);
  EXPECT_EQ(use.keyspace->name, "main");
  const Plan& useShop = plan("USE shop", input("main"));
  EXPECT_EQ(useShop.kind, PlanKind::kUse);
  ASSERT_NE(useShop.keyspace, nullptr);
  EXPECT_EQ(useShop.keyspace->name, "shop");
  // An unknown database falls to the unsharded keyspace.
  const Plan& other = plan("USE somewhere");
  EXPECT_EQ(other.kind, PlanKind::kUse);
  ASSERT_NE(other.keyspace, nullptr);
  EXPECT_EQ(other.keyspace->name, "main");
}

TEST_F(PlannerTest, ExplainRoute) {
  const std::string inner = "SELECT * FROM customers WHERE id = " + str(lo1_);
  const Plan& p = plan("EXPLAIN ROUTE " + inner);
  EXPECT_EQ(p.kind, PlanKind::kExplainRoute);
  EXPECT_EQ(p.text, inner);
}

TEST_F(PlannerTest, ExplainGoesToOneShard) {
  const Plan& q = plan("EXPLAIN SELECT * FROM customers WHERE name = 'x'");
  ASSERT_EQ(q.kind, PlanKind::kSingle) << q.error.message;
  EXPECT_EQ(q.targets.size(), 1u);
  EXPECT_FALSE(q.write);
  const Plan& d = plan("DESCRIBE customers");
  EXPECT_EQ(d.kind, PlanKind::kSingle) << d.error.message;
  EXPECT_TRUE(d.anyShard);
  EXPECT_NOT_SUPPORTED(plan("EXPLAIN ANALYZE SELECT * FROM customers"));
  const Plan& a = plan("EXPLAIN ANALYZE SELECT * FROM customers WHERE id = " + str(lo1_));
  ASSERT_EQ(a.kind, PlanKind::kSingle) << a.error.message;
  EXPECT_EQ(shards(a), kLowOnly);
}

// ------------------------------------------------------------------ unsharded keyspace

TEST_F(PlannerTest, UnshardedKeyspaceIsOneShard) {
  const PlanInput in = input("main");
  const Plan& read = plan("SELECT * FROM t ORDER BY a LIMIT 3", in);
  ASSERT_EQ(read.kind, PlanKind::kSingle) << read.error.message;
  ASSERT_EQ(read.targets.size(), 1u);
  EXPECT_EQ(read.targets[0].shard, kMainShard);
  EXPECT_EQ(read.role, Role::kReplica);
  EXPECT_FALSE(read.write);
  ASSERT_NE(read.keyspace, nullptr);
  EXPECT_EQ(read.keyspace->name, "main");

  for (const char* sql :
       {"INSERT INTO t VALUES (1), (2)", "UPDATE t SET a = 1", "DELETE FROM t LIMIT 1",
        "CREATE TABLE u (a INT)", "FLUSH TABLES", "LOCK TABLES t READ"}) {
    SCOPED_TRACE(sql);
    const Plan& w = plan(sql, in);
    ASSERT_EQ(w.kind, PlanKind::kSingle) << w.error.message;
    ASSERT_EQ(w.targets.size(), 1u);
    EXPECT_EQ(w.targets[0].shard, kMainShard);
    EXPECT_EQ(w.role, Role::kPrimary);
    EXPECT_TRUE(w.write);
  }
  EXPECT_EQ(plan("SELECT * FROM t FOR UPDATE", in).role, Role::kPrimary);
  const Plan& lid = plan("SELECT LAST_INSERT_ID()", in);
  EXPECT_EQ(lid.kind, PlanKind::kSingle);
  EXPECT_TRUE(lid.connectionBound);
  EXPECT_EQ(lid.role, Role::kPrimary);
  EXPECT_EQ(plan("SHOW TABLE STATUS", in).kind, PlanKind::kSingle);

  // A qualified table of the unsharded keyspace from a session in the sharded one.
  const Plan& q = plan("SELECT * FROM main.t");
  ASSERT_EQ(q.kind, PlanKind::kSingle) << q.error.message;
  EXPECT_EQ(q.keyspace->name, "main");
  // An unknown database belongs to the unsharded keyspace.
  const Plan& u = plan("SELECT * FROM elsewhere.t");
  ASSERT_EQ(u.kind, PlanKind::kSingle) << u.error.message;
  EXPECT_EQ(u.keyspace->name, "main");

  PlanInput tx = in;
  tx.inTransaction = true;
  EXPECT_EQ(plan("SELECT * FROM t", tx).role, Role::kPrimary);
}

TEST_F(PlannerTest, UnshardedConnectionBoundReadsAnywhereInTheQuery) {
  const PlanInput in = input("main");
  for (const char* sql : {"SELECT 1 UNION SELECT LAST_INSERT_ID()",
                          "SELECT * FROM t WHERE id = (SELECT LAST_INSERT_ID())",
                          "SELECT * FROM (SELECT LAST_INSERT_ID() AS id) d",
                          "SELECT a FROM t ORDER BY FOUND_ROWS()", "SELECT a, @x := a FROM t"}) {
    SCOPED_TRACE(sql);
    const Plan& p = plan(sql, in);
    ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
    EXPECT_TRUE(p.connectionBound);
    EXPECT_EQ(p.role, Role::kPrimary);
  }
  EXPECT_FALSE(plan("SELECT a FROM t WHERE a IN (SELECT b FROM u)", in).connectionBound);
  const Plan& warnings = plan("SHOW WARNINGS", in);
  EXPECT_EQ(warnings.kind, PlanKind::kSessionConnection);
  EXPECT_TRUE(warnings.connectionBound);
}

TEST_F(PlannerTest, CrossKeyspaceStatementsAreRefused) {
  EXPECT_NOT_SUPPORTED(plan("SELECT * FROM customers c JOIN main.t ON c.id = t.id"));
  EXPECT_NOT_SUPPORTED(plan("SELECT * FROM main.t WHERE a IN (SELECT id FROM shop.customers)"));
  EXPECT_NOT_SUPPORTED(plan("INSERT INTO main.t SELECT * FROM customers"));
}

TEST_F(PlannerTest, UserAccessIsChecked) {
  PlanInput in = input();
  in.user = "alice";
  const Plan& p = plan("SELECT * FROM customers WHERE id = " + str(lo1_), in);
  EXPECT_EQ(p.kind, PlanKind::kError);
  EXPECT_EQ(p.error.mysqlErrno, 1044);
  EXPECT_EQ(p.error.sqlState, "42000");
  EXPECT_TRUE(p.targets.empty());
  EXPECT_EQ(plan("USE shop", in).error.mysqlErrno, 1044);

  in.schema = "main";
  EXPECT_EQ(plan("SELECT * FROM t", in).kind, PlanKind::kSingle);
  in.user = "bob";
  in.schema = "shop";
  EXPECT_EQ(plan("SELECT * FROM customers WHERE id = " + str(lo1_), in).kind, PlanKind::kSingle);
}

// ------------------------------------------------------------------ key values

TEST_F(PlannerTest, NullKeyMatchesNothing) {
  // key = NULL is never true: no narrowing is needed for correctness, any shard(s) answer.
  const Plan& p = plan("SELECT * FROM customers WHERE id = NULL");
  EXPECT_NE(p.kind, PlanKind::kError);
  BoundValue null;
  const Plan& b = execute("SELECT * FROM customers WHERE id = ?", {null});
  ASSERT_EQ(b.kind, PlanKind::kSingle);
  EXPECT_EQ(b.targets.size(), 1u);
  const Plan& u = execute("UPDATE customers SET name = 'x' WHERE id = ?", {null});
  ASSERT_EQ(u.kind, PlanKind::kSingle);
  EXPECT_EQ(u.targets.size(), 1u);
}

TEST_F(PlannerTest, StringValueOnAnIntegerKeyHashesAsTheNumber) {
  const Plan& p = plan("SELECT * FROM customers WHERE id = '" + str(hi1_) + "'");
  ASSERT_EQ(p.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(p), kHighOnly);
  const Plan& spaced = plan("SELECT * FROM customers WHERE id = ' " + str(lo1_) + " '");
  ASSERT_EQ(spaced.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(spaced), kLowOnly);
  // -1 hashes on -80 (pinned in keyspace_id_test.cpp).
  const Plan& neg = plan("SELECT * FROM customers WHERE id = '-1'");
  ASSERT_EQ(neg.kind, PlanKind::kSingle);
  EXPECT_EQ(shards(neg), kLowOnly);
}

TEST_F(PlannerTest, UnhashableValuesDoNotNarrow) {
  for (const char* v : {"'abc'", "'5abc'", "''", "'5.0'", "X'05'", "DATE '2020-01-01'"}) {
    SCOPED_TRACE(v);
    const Plan& p = plan(std::string("SELECT * FROM customers WHERE id = ") + v);
    EXPECT_EQ(p.kind, PlanKind::kConcatenate) << p.error.message;
    EXPECT_EQ(shards(p), kBoth);
  }
}

TEST_F(PlannerTest, StringsBeyondDoublePrecisionDoNotNarrow) {
  // MySQL compares an integer column with a string as doubles: above 2^53 several integers equal
  // the same string, and they may live on different shards.
  const Plan& big = plan("SELECT * FROM customers WHERE id = '9007199254740993'");
  EXPECT_EQ(big.kind, PlanKind::kConcatenate);
  BoundValue d;
  d.type = BoundValue::Type::kDouble;
  d.d = 9007199254740992.0;
  EXPECT_EQ(execute("SELECT * FROM customers WHERE id = ?", {d}).kind, PlanKind::kConcatenate);
  // The integer literal itself is exact.
  EXPECT_EQ(plan("SELECT * FROM customers WHERE id = 9007199254740993").kind, PlanKind::kSingle);
}

TEST_F(PlannerTest, CaseInsensitiveStringKey) {
  const Plan& a = plan("SELECT * FROM accounts WHERE email = 'Alice@Example.com'");
  ASSERT_EQ(a.kind, PlanKind::kSingle) << a.error.message;
  const Plan& b = plan("SELECT * FROM accounts WHERE email = 'alice@example.com  '");
  ASSERT_EQ(b.kind, PlanKind::kSingle);
  EXPECT_EQ(a.targets[0].shard, b.targets[0].shard);
  // An integer compared with a string column compares as a number: no narrowing.
  EXPECT_EQ(plan("SELECT * FROM accounts WHERE email = 5").kind, PlanKind::kConcatenate);
}

// ------------------------------------------------------------------ more writes

TEST_F(PlannerTest, WriteWithAOneShardSubqueryOnTheSameShard) {
  const Plan& u = plan(
      "UPDATE customers SET total = (SELECT SUM(amount) FROM orders WHERE "
      "customer_id = " +
      str(lo1_) + ") WHERE id = " + str(lo1_));
  ASSERT_EQ(u.kind, PlanKind::kSingle) << u.error.message;
  EXPECT_EQ(shards(u), kLowOnly);
  EXPECT_NOT_SUPPORTED(
      plan("UPDATE customers SET total = (SELECT SUM(amount) FROM orders WHERE "
           "customer_id = " +
           str(hi1_) + ") WHERE id = " + str(lo1_)));
  EXPECT_NOT_SUPPORTED(
      plan("DELETE FROM customers WHERE id = " + str(lo1_) +
           " AND name IN (SELECT name FROM orders WHERE customer_id = " + str(hi1_) + ")"));
  const Plan& correlated = plan(
      "UPDATE customers c SET c.total = (SELECT SUM(o.amount) FROM "
      "orders o WHERE o.customer_id = c.id)");
  EXPECT_EQ(correlated.kind, PlanKind::kScatter) << correlated.error.message;
}

TEST_F(PlannerTest, UnqualifiedColumnOfAMultiTableUpdateMayBeAReferenceTables) {
  // `name` may be countries.name: the reference table's copy on one shard would change only.
  EXPECT_NOT_SUPPORTED(
      plan("UPDATE customers c JOIN countries k ON c.country = k.code SET "
           "name = 'x' WHERE c.id = " +
           str(lo1_)));
  const Plan& ok = plan(
      "UPDATE customers c JOIN countries k ON c.country = k.code SET c.name = "
      "k.name WHERE c.id = " +
      str(lo1_));
  ASSERT_EQ(ok.kind, PlanKind::kSingle) << ok.error.message;
  EXPECT_EQ(shards(ok), kLowOnly);
}

TEST_F(PlannerTest, WritesToSystemTablesAreRefused) {
  EXPECT_NOT_SUPPORTED(plan("UPDATE mysql.user SET host = '%'"));
  EXPECT_NOT_SUPPORTED(plan("DELETE FROM mysql.user"));
  EXPECT_NOT_SUPPORTED(plan("INSERT INTO mysql.user (user) VALUES ('x')"));
}

TEST_F(PlannerTest, ConnectionBoundFunctionsInWrites) {
  const Plan& p =
      plan("INSERT INTO orders (customer_id, parent) VALUES (" + str(lo1_) + ", LAST_INSERT_ID())");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  EXPECT_TRUE(p.connectionBound);
  const Plan& u =
      plan("UPDATE customers SET seq = LAST_INSERT_ID(seq + 1) WHERE id = " + str(hi1_));
  ASSERT_EQ(u.kind, PlanKind::kSingle) << u.error.message;
  EXPECT_TRUE(u.connectionBound);
  EXPECT_FALSE(plan("UPDATE customers SET seq = 1 WHERE id = " + str(hi1_)).connectionBound);
}

TEST_F(PlannerTest, ConnectionBoundReads) {
  const Plan& lock = plan("SELECT GET_LOCK('x', 10)");
  EXPECT_EQ(lock.kind, PlanKind::kSessionConnection);
  EXPECT_TRUE(lock.connectionBound);
  EXPECT_FALSE(lock.anyShard);
  EXPECT_EQ(lock.role, Role::kPrimary);

  const Plan& into = plan("SELECT name INTO @n FROM customers WHERE id = " + str(lo1_));
  ASSERT_EQ(into.kind, PlanKind::kSingle) << into.error.message;
  EXPECT_TRUE(into.connectionBound);
  EXPECT_EQ(into.role, Role::kPrimary);
  EXPECT_NOT_SUPPORTED(plan("SELECT name INTO @n FROM customers"));
}

TEST_F(PlannerTest, ExplainOfAnInListReadShowsOneShardsStatement) {
  const Plan& p =
      plan("EXPLAIN SELECT * FROM customers WHERE id IN (" + str(lo1_) + ", " + str(hi1_) + ")");
  ASSERT_EQ(p.kind, PlanKind::kSingle) << p.error.message;
  ASSERT_EQ(p.targets.size(), 1u);
  EXPECT_EQ(p.sqlFor(0), "EXPLAIN SELECT * FROM customers WHERE id IN (" + str(lo1_) + ")");
  EXPECT_EQ(p.role, Role::kReplica);
}

TEST_F(PlannerTest, DeferredInListIsNotRewritten) {
  const Plan& p =
      plan("SELECT * FROM customers WHERE id IN (" + str(lo1_) + ", ?, " + str(hi1_) + ")");
  ASSERT_EQ(p.kind, PlanKind::kConcatenate) << p.error.message;
  EXPECT_TRUE(p.deferred);
  EXPECT_FALSE(p.rewritten(0));
  EXPECT_FALSE(p.rewritten(1));
}

TEST_F(PlannerTest, KeyspaceIdOfValues) {
  sql::Parser parser;
  auto valueOf = [&](std::string sql, std::span<const BoundValue> params,
                     std::string_view hash) -> std::optional<std::uint64_t> {
    text_ = "SELECT * FROM t WHERE k = " + sql;
    sql::ParseResult r = parser.parse(text_);
    EXPECT_TRUE(r.ok()) << text_;
    if (!r.ok()) return std::nullopt;
    const auto* block = r.statement().as<sql::SelectStatement>()->query->as<sql::SelectBlock>();
    return keyspaceIdOf(*block->where->as<sql::Binary>()->right, params, hash);
  };
  EXPECT_EQ(valueOf("42", {}, "xxh3"), keyspaceIdOfInt(42));
  EXPECT_EQ(valueOf("-42", {}, "xxh3"), keyspaceIdOfInt(-42));
  EXPECT_EQ(valueOf("'42'", {}, "xxh3"), keyspaceIdOfInt(42));
  EXPECT_EQ(valueOf("42.00", {}, "xxh3"), keyspaceIdOfInt(42));
  EXPECT_EQ(valueOf("-42.0", {}, "xxh3"), keyspaceIdOfInt(-42));
  EXPECT_EQ(valueOf("TRUE", {}, "xxh3"), keyspaceIdOfInt(1));
  EXPECT_EQ(valueOf("18446744073709551615", {}, "xxh3"), keyspaceIdOfInt(-1));
  EXPECT_EQ(valueOf("NULL", {}, "xxh3"), std::nullopt);
  EXPECT_EQ(valueOf("'abc'", {}, "xxh3"), std::nullopt);
  EXPECT_EQ(valueOf("42", {}, "xxh3_ci"), std::nullopt);
  EXPECT_EQ(valueOf("'ABC'", {}, "xxh3_ci"),
            keyspaceIdOfString("abc", StringCollation::kCaseInsensitive));
  EXPECT_EQ(valueOf("'ABC'", {}, "xxh3_bin"), keyspaceIdOfString("ABC", StringCollation::kBinary));
  EXPECT_EQ(valueOf("_binary'ABC'", {}, "xxh3_ci"), std::nullopt);
  std::vector<BoundValue> params{intValue(-7)};
  EXPECT_EQ(valueOf("?", params, "xxh3"), keyspaceIdOfInt(-7));
  EXPECT_EQ(valueOf("?", params, "xxh3_ci"), std::nullopt);
  EXPECT_EQ(valueOf("?", {}, "xxh3"), std::nullopt);
}

TEST_F(PlannerTest, KeyspaceWithoutFullCoverageIsRefused) {
  snap_.keyspaces[1].uncovered.push_back(KeyRange{kHalf, std::nullopt});
  snap_.shards[kHigh].serving = false;
  EXPECT_REFUSED(plan("SELECT * FROM customers WHERE id = " + str(lo1_)), ErrorCode::kNoRoute);
  // Transactions and SET need no shard.
  EXPECT_EQ(plan("BEGIN").kind, PlanKind::kBegin);
  // The unsharded keyspace is unaffected.
  EXPECT_EQ(plan("SELECT * FROM t", input("main")).kind, PlanKind::kSingle);
}

TEST_F(PlannerTest, NonServingShardsAreSkipped) {
  // Resharding 80- into 80-c0 and c0-: the new shards exist but do not serve yet.
  snap_.shards.push_back(
      Shard{"shop", "80-c0", KeyRange{kHalf, 0xc000000000000000u}, false, {}, {}});
  snap_.shards.push_back(
      Shard{"shop", "c0-", KeyRange{0xc000000000000000u, std::nullopt}, false, {}, {}});
  snap_.keyspaces[1].shards = {kLow, kHigh, 3, 4};
  const Plan& all = plan("SELECT * FROM customers");
  ASSERT_EQ(all.kind, PlanKind::kConcatenate);
  EXPECT_EQ(shards(all), kBoth);
  for (auto v : {hi1_, hi2_}) {
    const Plan& p = plan("SELECT * FROM customers WHERE id = " + str(v));
    ASSERT_EQ(p.kind, PlanKind::kSingle);
    EXPECT_EQ(shards(p), kHighOnly);
  }
  const Plan& in = plan("SELECT * FROM customers WHERE id IN (" + str(lo1_) + ", " + str(hi1_) +
                        ", " + str(hi2_) + ")");
  ASSERT_EQ(shards(in), kBoth);
  EXPECT_EQ(in.sqlFor(1),
            "SELECT * FROM customers WHERE id IN (" + str(hi1_) + ", " + str(hi2_) + ")");
  EXPECT_EQ(shards(plan("DELETE FROM countries")), kBoth);
  EXPECT_EQ(shards(plan("CREATE TABLE x (a INT)")), kBoth);
  const Plan& ins =
      plan("INSERT INTO customers (id) VALUES (" + str(hi1_) + "), (" + str(lo1_) + ")");
  EXPECT_EQ(shards(ins), kBoth);
}

// ------------------------------------------------------------------ misc

TEST_F(PlannerTest, PlannerIsReusable) {
  const std::string in =
      "SELECT * FROM customers WHERE id IN (" + str(lo1_) + ", " + str(hi1_) + ")";
  EXPECT_EQ(plan(in).kind, PlanKind::kConcatenate);
  EXPECT_EQ(plan("SELECT * FROM customers ORDER BY id").kind, PlanKind::kMerge);
  EXPECT_NOT_SUPPORTED(plan("SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM customers"));
  const Plan& p = plan("SELECT * FROM customers WHERE id = " + str(lo1_));
  ASSERT_EQ(p.kind, PlanKind::kSingle);
  EXPECT_TRUE(p.buffer.empty());
  EXPECT_TRUE(p.error.message.empty());
  EXPECT_FALSE(p.rewritten(0));
  const Plan& again = plan(in);
  ASSERT_EQ(again.kind, PlanKind::kConcatenate);
  EXPECT_EQ(again.sqlFor(1), "SELECT * FROM customers WHERE id IN (" + str(hi1_) + ")");
}

TEST_F(PlannerTest, KindNames) {
  EXPECT_EQ(toString(PlanKind::kConcatenate), "concatenate");
  EXPECT_EQ(toString(PlanKind::kSessionConnection), "session connection");
  EXPECT_EQ(toString(PlanKind::kError), "error");
}

// _ci keyspace IDs are ICU sort keys: a rule records the collator version it was created under,
// and a build with another ICU must not place rows by it (reads still find them on every shard).
TEST_F(PlannerTest, CiRuleFromAnotherIcuVersionIsNotHashed) {
  for (auto& t : snap_.tables) {
    if (t.table == "accounts") t.hashFunction = "xxh3_ci@0.0.0.1";
  }
  const Plan& insert = plan("INSERT INTO accounts (email, name) VALUES ('a@example.com', 'a')");
  EXPECT_REFUSED(insert, ErrorCode::kNoRoute);
  EXPECT_NE(insert.error.message.find("ICU collator"), std::string::npos) << insert.error.message;
  const Plan& read = plan("SELECT * FROM accounts WHERE email = 'a@example.com'");
  ASSERT_EQ(read.kind, PlanKind::kConcatenate) << read.error.message;
  EXPECT_EQ(shards(read), kBoth);

  for (auto& t : snap_.tables) {
    if (t.table == "accounts") t.hashFunction = "xxh3_ci@" + collatorVersion();
  }
  const Plan& same = plan("SELECT * FROM accounts WHERE email = 'a@example.com'");
  ASSERT_EQ(same.kind, PlanKind::kSingle) << same.error.message;
}

}  // namespace
}  // namespace shardproxy::router
