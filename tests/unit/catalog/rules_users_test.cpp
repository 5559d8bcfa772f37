// Table rules and users.
#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

class TableRules : public CatalogTest {};
class Users : public CatalogTest {};

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

TEST_F(TableRules, ShardedAndReferenceRulesShowUp) {
  makeShop();
  ok(cat().createTableRule("shop", "orders", TableKind::kSharded, "customer_id", ctx()));
  ok(cat().createTableRule("shop", "countries", TableKind::kReference, "", ctx()));
  auto s = snap();
  const TableRule* orders = s->findTable("shop", "orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->kind, TableKind::kSharded);
  EXPECT_EQ(orders->shardKey, "customer_id");
  EXPECT_EQ(orders->hashFunction, "xxh3");
  const TableRule* countries = s->findTable("shop", "countries");
  ASSERT_NE(countries, nullptr);
  EXPECT_EQ(countries->kind, TableKind::kReference);
  EXPECT_EQ(countries->shardKey, "");
  EXPECT_EQ(s->findTable("shop", "nope"), nullptr);
  EXPECT_EQ(s->findTable("other", "orders"), nullptr);
}

TEST_F(TableRules, KeyspaceMustExist) {
  expectRejected(
      [&] { return cat().createTableRule("shop", "orders", TableKind::kSharded, "id", ctx()); },
      kNotFound, "keyspace 'shop' does not exist");
}

TEST_F(TableRules, ShardedRuleNeedsAShardKey) {
  makeShop();
  ok(cat().createKeyspace("main", false, ctx()));
  expectRejected(
      [&] { return cat().createTableRule("shop", "orders", TableKind::kSharded, "", ctx()); },
      kInvariant, "sharded table rule shop.orders needs a shard key column");
  expectRejected(
      [&] { return cat().createTableRule("main", "orders", TableKind::kSharded, "", ctx()); },
      kInvariant, "sharded table rule main.orders needs a shard key column");
}

TEST_F(TableRules, ShardedRuleInAnUnshardedKeyspaceIsAcceptedAndInert) {
  // Defined before resharding the keyspace (docs/resharding.md); the router ignores it until a
  // cutover makes the keyspace sharded.
  ok(cat().createKeyspace("main", false, ctx()));
  ok(cat().createShard("main", "0", ep(1), {}, true, ctx()));
  ok(cat().createTableRule("main", "orders", TableKind::kSharded, "customer_id", ctx()));
  auto s = snap();
  ASSERT_NE(s->findTable("main", "orders"), nullptr);
  EXPECT_EQ(s->findTable("main", "orders")->shardKey, "customer_id");
  EXPECT_FALSE(s->findKeyspace("main")->sharded);
}

TEST_F(TableRules, ReferenceRuleTakesNoShardKeyAndIsAllowedInBothKinds) {
  makeShop();
  ok(cat().createKeyspace("main", false, ctx()));
  expectRejected(
      [&] { return cat().createTableRule("shop", "plans", TableKind::kReference, "id", ctx()); },
      kInvariant, "reference table rule shop.plans takes no shard key");
  ok(cat().createTableRule("main", "plans", TableKind::kReference, "", ctx()));
  ok(cat().createTableRule("shop", "plans", TableKind::kReference, "", ctx()));
}

TEST_F(TableRules, NamesAreUniquePerKeyspace) {
  makeShop();
  ok(cat().createTableRule("shop", "orders", TableKind::kSharded, "customer_id", ctx()));
  expectRejected(
      [&] { return cat().createTableRule("shop", "orders", TableKind::kReference, "", ctx()); },
      kExists, "table rule shop.orders already exists");
  expectRejected(
      [&] { return cat().createTableRule("shop", "", TableKind::kReference, "", ctx()); },
      kInvariant, "table name '' must be 1 to 64 characters");
}

TEST_F(TableRules, Drop) {
  makeShop();
  ok(cat().createTableRule("shop", "orders", TableKind::kSharded, "customer_id", ctx()));
  ok(cat().dropTableRule("shop", "orders", ctx()));
  EXPECT_EQ(snap()->findTable("shop", "orders"), nullptr);
  expectRejected([&] { return cat().dropTableRule("shop", "orders", ctx()); }, kNotFound,
                 "table rule shop.orders does not exist");
  expectRejected([&] { return cat().dropTableRule("nope", "orders", ctx()); }, kNotFound,
                 "keyspace 'nope' does not exist");
}

TEST_F(Users, StoresOnlyTheMysqlHashes) {
  makeShop();
  ok(cat().createUser("app", "secret", {"shop"}, ctx()));
  auto s = snap();
  const User* app = s->findUser("app");
  ASSERT_NE(app, nullptr);
  // SHA1(SHA1("secret")): MySQL's PASSWORD('secret') is *14E65567ABDB5135D0CFD9A70B3032C179A49EE7.
  EXPECT_EQ(hex(app->nativeHash), "14e65567abdb5135d0cfd9a70b3032c179a49ee7");
  EXPECT_EQ(hex(app->sha2Hash), "3881219d087dd9c634373fd33dfa33a2cb6bfc6c520b64b8bb60ef2ceb534ae7");
  EXPECT_EQ(dump().find("secret"), std::string::npos);
}

TEST_F(Users, EmptyPasswordStoresEmptyHashes) {
  ok(cat().createUser("guest", "", {}, ctx()));
  const User* guest = snap()->findUser("guest");
  ASSERT_NE(guest, nullptr);
  EXPECT_TRUE(guest->nativeHash.empty());
  EXPECT_TRUE(guest->sha2Hash.empty());
}

TEST_F(Users, KeyspacesLimitWhatAUserMayUse) {
  makeShop();
  ok(cat().createKeyspace("main", false, ctx()));
  ok(cat().createUser("app", "pw", {"shop", "main", "shop"}, ctx()));
  ok(cat().createUser("admin", "pw", {}, ctx()));
  auto s = snap();
  const User* app = s->findUser("app");
  EXPECT_THAT(app->keyspaces, ::testing::ElementsAre("main", "shop"));  // sorted, unique
  EXPECT_TRUE(app->mayUse("shop"));
  EXPECT_TRUE(app->mayUse("main"));
  EXPECT_FALSE(app->mayUse("other"));
  EXPECT_TRUE(s->findUser("admin")->mayUse("anything"));  // empty list = every keyspace
}

TEST_F(Users, GrantedKeyspacesMustExist) {
  makeShop();
  expectRejected(
      [&] {
        return cat().createUser("app", "pw", {"shop", "shpo"}, ctx());
      },
      kNotFound, "user 'app': keyspace 'shpo' does not exist");
}

TEST_F(Users, NamesAreUnique) {
  ok(cat().createUser("app", "pw", {}, ctx()));
  expectRejected([&] { return cat().createUser("app", "other", {}, ctx()); }, kExists,
                 "user 'app' already exists");
  expectRejected([&] { return cat().createUser("", "pw", {}, ctx()); }, kInvariant,
                 "user name '' must be 1 to 80 characters");
}

TEST_F(Users, Drop) {
  makeShop();
  ok(cat().createUser("app", "pw", {"shop"}, ctx()));
  ok(cat().dropUser("app", ctx()));
  EXPECT_EQ(snap()->findUser("app"), nullptr);
  expectRejected([&] { return cat().dropUser("app", ctx()); }, kNotFound,
                 "user 'app' does not exist");
  // Its grant went with it: the keyspace is no longer held by the user.
  ok(cat().dropShard("shop", "-80", ctx()));
  ok(cat().dropShard("shop", "80-", ctx()));
  ok(cat().dropKeyspace("shop", ctx()));
}

TEST_F(Users, FindUserIsExactAndSorted) {
  ok(cat().createUser("b", "", {}, ctx()));
  ok(cat().createUser("a", "", {}, ctx()));
  ok(cat().createUser("B", "", {}, ctx()));
  auto s = snap();
  ASSERT_EQ(s->users.size(), 3u);
  EXPECT_EQ(s->users[0].name, "B");
  EXPECT_NE(s->findUser("a"), nullptr);
  EXPECT_EQ(s->findUser("A"), nullptr);
}

}  // namespace
}  // namespace shardproxy::catalog::test
