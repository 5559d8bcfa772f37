// Lookup keys as catalog changes: CREATE / DROP LOOKUP KEY's rules, the snapshot's copy, the
// backfill's mark, and what a lookup key holds back (DROP KEYSPACE of its lookup keyspace).
#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

class LookupKeys : public CatalogTest {
 protected:
  void makeTables() {
    makeShop();
    ok(cat().createTableRule("shop", "orders", TableKind::kSharded, "customer_id", ctx()));
    ok(cat().createTableRule("shop", "countries", TableKind::kReference, "", ctx()));
  }
  Status create(LookupKeySpec spec) {
    auto made = cat().createLookupKey(spec, ctx("CREATE LOOKUP KEY"));
    if (!made) return made.takeError();
    return {};
  }
};

TEST_F(LookupKeys, CreatedKeyIsInTheSnapshotNotReady) {
  makeTables();
  ok(cat().createKeyspace("lookups", false, ctx()));
  auto key = cat().createLookupKey({"shop", "orders", "id", true, ""}, ctx());
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->lookupKeyspace, "lookups");
  EXPECT_EQ(key->lookupTable, "lookup_shop_orders_id");
  auto s = snap();
  auto keys = s->lookupKeysOf("shop", "orders");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_TRUE(keys[0].unique);
  EXPECT_FALSE(keys[0].ready);
  EXPECT_TRUE(s->lookupKeysOf("shop", "countries").empty());
  ok(cat().markLookupKey(key->id, true, "", ctx()));
  EXPECT_TRUE(snap()->lookupKeysOf("shop", "orders")[0].ready);
  ok(cat().markLookupKey(key->id, false, "boom", ctx()));
  EXPECT_EQ(snap()->lookupKeysOf("shop", "orders")[0].error, "boom");
}

TEST_F(LookupKeys, BadDefinitionsAreRefusedWithTheirReason) {
  makeTables();
  expectRejected(
      [&] {
        return create({"shop", "orders", "id", false, ""});
      },
      kInvariant, "there is none");
  ok(cat().createKeyspace("lookups", false, ctx()));
  ok(cat().createKeyspace("other", false, ctx()));
  expectRejected(
      [&] {
        return create({"shop", "orders", "id", false, ""});
      },
      kInvariant, "several unsharded keyspaces (lookups, other)");
  expectRejected(
      [&] {
        return create({"shop", "orders", "id", false, "shop"});
      },
      kInvariant, "keyspace 'shop' is sharded");
  expectRejected(
      [&] {
        return create({"shop", "orders", "id", false, "nope"});
      },
      kNotFound, "keyspace 'nope' does not exist");
  expectRejected(
      [&] {
        return create({"shop", "missing", "id", false, "lookups"});
      },
      kNotFound, "table rule shop.missing does not exist");
  expectRejected(
      [&] {
        return create({"shop", "countries", "id", false, "lookups"});
      },
      kInvariant, "is a reference table");
  expectRejected(
      [&] {
        return create({"shop", "orders", "CUSTOMER_ID", false, "lookups"});
      },
      kInvariant, "is the shard key");
  ok(create({"shop", "orders", "id", false, "lookups"}));
  expectRejected(
      [&] {
        return create({"shop", "orders", "ID", true, "other"});
      },
      kExists, "already has a lookup key on ID");
}

TEST_F(LookupKeys, DropRemovesItAndFreesTheLookupKeyspace) {
  makeTables();
  ok(cat().createKeyspace("lookups", false, ctx()));
  ok(create({"shop", "orders", "id", false, ""}));
  expectRejected([&] { return cat().dropKeyspace("lookups", ctx()); }, kInvariant,
                 "holds the lookup tables of shop.orders (id)");
  expectRejected([&] { return cat().dropLookupKey("shop", "orders", "code", ctx()); }, kNotFound,
                 "has no lookup key on code");
  ok(cat().dropLookupKey("shop", "orders", "id", ctx()));
  EXPECT_TRUE(snap()->lookupKeys.empty());
  ok(cat().dropKeyspace("lookups", ctx()));
}

TEST_F(LookupKeys, DroppingTheTableRuleDropsItsKeys) {
  makeTables();
  ok(cat().createKeyspace("lookups", false, ctx()));
  ok(create({"shop", "orders", "id", false, ""}));
  ok(cat().dropTableRule("shop", "orders", ctx()));
  EXPECT_TRUE(snap()->lookupKeys.empty());
}

}  // namespace
}  // namespace shardproxy::catalog::test
