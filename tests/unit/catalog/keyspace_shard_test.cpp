// Keyspaces and shards: each mutator's effect on the snapshot, and each rule it must keep.
#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

class Keyspaces : public CatalogTest {};
class Shards : public CatalogTest {};

std::vector<std::string> shardNames(const Snapshot& s, const Keyspace& ks) {
  std::vector<std::string> names;
  for (std::size_t i : ks.shards) {
    names.push_back(s.shards[i].name);
  }
  return names;
}

std::vector<std::string> gaps(const Keyspace& ks) {
  std::vector<std::string> out;
  for (const KeyRange& r : ks.uncovered) {
    out.push_back(r.toString());
  }
  return out;
}

using ::testing::ElementsAre;

TEST_F(Keyspaces, CreateShowsUpInTheSnapshot) {
  ok(cat().createKeyspace("shop", true, ctx()));
  ok(cat().createKeyspace("main", false, ctx()));
  auto s = snap();
  ASSERT_EQ(s->keyspaces.size(), 2u);
  EXPECT_EQ(s->keyspaces[0].name, "main");  // sorted by name
  EXPECT_FALSE(s->keyspaces[0].sharded);
  ASSERT_NE(s->findKeyspace("shop"), nullptr);
  EXPECT_TRUE(s->findKeyspace("shop")->sharded);
  EXPECT_EQ(s->findKeyspace("nope"), nullptr);
  EXPECT_EQ(s->version, 2u);
}

TEST_F(Keyspaces, NamesAreUnique) {
  ok(cat().createKeyspace("shop", true, ctx()));
  expectRejected([&] { return cat().createKeyspace("shop", false, ctx()); }, kExists,
                 "keyspace 'shop' already exists");
}

TEST_F(Keyspaces, NamesAreOneTo64Characters) {
  expectRejected([&] { return cat().createKeyspace("", true, ctx()); }, kInvariant,
                 "keyspace name '' must be 1 to 64 characters");
  expectRejected([&] { return cat().createKeyspace(std::string(65, 'k'), true, ctx()); },
                 kInvariant, "must be 1 to 64 characters");
  ok(cat().createKeyspace(std::string(64, 'k'), true, ctx()));
}

TEST_F(Keyspaces, DropRemovesItAndItsTableRules) {
  ok(cat().createKeyspace("shop", true, ctx()));
  ok(cat().createTableRule("shop", "orders", TableKind::kSharded, "customer_id", ctx()));
  ok(cat().dropKeyspace("shop", ctx()));
  auto s = snap();
  EXPECT_TRUE(s->keyspaces.empty());
  EXPECT_TRUE(s->tables.empty());
}

TEST_F(Keyspaces, DropOfAMissingKeyspaceIsNotFound) {
  expectRejected([&] { return cat().dropKeyspace("shop", ctx()); }, kNotFound,
                 "keyspace 'shop' does not exist");
}

TEST_F(Keyspaces, DropRefusesWhileShardsExistAndNamesThem) {
  makeShop();
  expectRejected([&] { return cat().dropKeyspace("shop", ctx()); }, kInvariant,
                 "keyspace 'shop' still has shards (-80, 80-)");
}

TEST_F(Keyspaces, DropRefusesWhileAUserIsGrantedIt) {
  ok(cat().createKeyspace("shop", true, ctx()));
  ok(cat().createUser("app", "pw", {"shop"}, ctx()));
  expectRejected([&] { return cat().dropKeyspace("shop", ctx()); }, kInvariant,
                 "keyspace 'shop' is still granted to users (app)");
}

TEST_F(Keyspaces, ScatterWritesDefaultsToAllow) {
  ok(cat().createKeyspace("shop", true, ctx()));
  ok(cat().createKeyspace("main", false, ctx()));
  EXPECT_EQ(snap()->findKeyspace("shop")->scatterWrites, ScatterWrites::kAllow);
  EXPECT_EQ(snap()->findKeyspace("main")->scatterWrites, ScatterWrites::kAllow);
  EXPECT_EQ(query(path(), "SELECT scatter_writes FROM keyspaces WHERE name = 'shop'"), "allow");
}

TEST_F(Keyspaces, ScatterWritesIsAChangeOfItsOwn) {
  makeShop();
  const auto version = cat().version();
  ok(cat().setScatterWrites("shop", ScatterWrites::kDeny,
                            ctx("ALTER KEYSPACE shop SET scatter_writes = deny")));
  EXPECT_EQ(cat().version(), version + 1);
  auto s = snap();
  EXPECT_EQ(s->version, version + 1);
  EXPECT_EQ(s->findKeyspace("shop")->scatterWrites, ScatterWrites::kDeny);
  EXPECT_EQ(s->findKeyspace("shop")->shards.size(), 2u);  // nothing else moved
  auto log = cat().changes(1);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->front().statement, "ALTER KEYSPACE shop SET scatter_writes = deny");
  // Setting it again is a change too (the log records that the DBA said so), and back to allow.
  ok(cat().setScatterWrites("shop", ScatterWrites::kDeny, ctx()));
  ok(cat().setScatterWrites("shop", ScatterWrites::kAllow, ctx()));
  EXPECT_EQ(snap()->findKeyspace("shop")->scatterWrites, ScatterWrites::kAllow);
  EXPECT_EQ(cat().version(), version + 3);
}

TEST_F(Keyspaces, ScatterWritesOfAMissingKeyspaceIsNotFound) {
  expectRejected([&] { return cat().setScatterWrites("shop", ScatterWrites::kDeny, ctx()); },
                 kNotFound, "keyspace 'shop' does not exist");
}

TEST_F(Keyspaces, ScatterWritesSurvivesReopening) {
  ok(cat().createKeyspace("shop", true, ctx()));
  ok(cat().setScatterWrites("shop", ScatterWrites::kDeny, ctx()));
  catalog_.reset();
  catalog_ = openCatalog(path());
  ASSERT_TRUE(catalog_);
  EXPECT_EQ(snap()->findKeyspace("shop")->scatterWrites, ScatterWrites::kDeny);
}

TEST_F(Keyspaces, TheSchemaAdmitsOnlyAllowOrDeny) {
  ok(cat().createKeyspace("shop", true, ctx()));
  // A hand edit in the sqlite3 shell: the CHECK constraint refuses it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  EXPECT_NE(
      sqlite3_exec(db, "UPDATE keyspaces SET scatter_writes = 'maybe'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(query(path(), "SELECT scatter_writes FROM keyspaces"), "allow");
}

TEST_F(Shards, CreateStoresRangeServingAndBackends) {
  makeShop();
  auto s = snap();
  const Keyspace* shop = s->findKeyspace("shop");
  ASSERT_NE(shop, nullptr);
  EXPECT_THAT(shardNames(*s, *shop), ElementsAre("-80", "80-"));
  const Shard& low = s->shards[shop->shards[0]];
  EXPECT_EQ(low.keyspace, "shop");
  EXPECT_EQ(low.range, *KeyRange::parse("-80"));
  EXPECT_TRUE(low.serving);
  ASSERT_EQ(low.backends.size(), 2u);
  ASSERT_TRUE(low.primary);
  EXPECT_EQ(s->backends[*low.primary].address, ep(13306));
  EXPECT_EQ(low.backends[0], *low.primary);  // the primary first
  EXPECT_EQ(s->backends[low.backends[1]].address, ep(13307));
  EXPECT_EQ(s->backends[low.backends[1]].role, BackendRole::kReplica);
  EXPECT_TRUE(shop->complete());
  EXPECT_TRUE(shop->uncovered.empty());
}

TEST_F(Shards, ShardsAreOrderedByRangeStart) {
  ok(cat().createKeyspace("shop", true, ctx()));
  ok(cat().createShard("shop", "c0-", ep(1), {}, true, ctx()));
  ok(cat().createShard("shop", "-40", ep(2), {}, true, ctx()));
  ok(cat().createShard("shop", "80-c0", ep(3), {}, true, ctx()));
  ok(cat().createShard("shop", "40-80", ep(4), {}, false, ctx()));
  auto s = snap();
  EXPECT_THAT(shardNames(*s, *s->findKeyspace("shop")),
              ElementsAre("-40", "40-80", "80-c0", "c0-"));
}

TEST_F(Shards, NamesInAShardedKeyspaceAreStoredCanonically) {
  ok(cat().createKeyspace("shop", true, ctx()));
  ok(cat().createShard("shop", "8-C", ep(1), {}, true, ctx()));
  auto s = snap();
  EXPECT_THAT(shardNames(*s, *s->findKeyspace("shop")), ElementsAre("80-c0"));
  // ... and found by any spelling of the same range.
  ok(cat().addBackend(ep(2), "shop", "80-c000", BackendRole::kReplica, {}, {}, ctx()));
  expectRejected([&] { return cat().createShard("shop", "80-c0", ep(3), {}, false, ctx()); },
                 kExists, "shard shop.80-c0 already exists");
  ok(cat().dropShard("shop", "8-c", ctx()));
  EXPECT_TRUE(snap()->shards.empty());
}

TEST_F(Shards, ShardedKeyspaceNeedsKeyRangeNames) {
  ok(cat().createKeyspace("shop", true, ctx()));
  for (const char* bad : {"0", "main", "80-40", "-8g", ""}) {
    expectRejected([&] { return cat().createShard("shop", bad, ep(1), {}, true, ctx()); },
                   kInvariant, "is not a key range in Vitess notation");
  }
}

TEST_F(Shards, KeyspaceMustExist) {
  expectRejected([&] { return cat().createShard("shop", "-80", ep(1), {}, true, ctx()); },
                 kNotFound, "keyspace 'shop' does not exist");
}

TEST_F(Shards, ServingShardsNeverOverlap) {
  makeShop();
  expectRejected([&] { return cat().createShard("shop", "-40", ep(1), {}, true, ctx()); },
                 kInvariant, "shard shop.-40 would overlap serving shard shop.-80");
  expectRejected([&] { return cat().createShard("shop", "-", ep(1), {}, true, ctx()); }, kInvariant,
                 "shard shop.- would overlap serving shard shop.-80");
  expectRejected([&] { return cat().createShard("shop", "70-90", ep(1), {}, true, ctx()); },
                 kInvariant, "would overlap serving shard shop.-80");
}

TEST_F(Shards, NonServingShardsMayOverlapForResharding) {
  makeShop();
  ok(cat().createShard("shop", "-40", ep(1), {}, false, ctx()));
  ok(cat().createShard("shop", "40-80", ep(2), {}, false, ctx()));
  auto s = snap();
  EXPECT_EQ(s->findKeyspace("shop")->shards.size(), 4u);
  EXPECT_TRUE(s->findKeyspace("shop")->complete());
}

TEST_F(Shards, SetServingChecksOverlapAndSwitches) {
  makeShop();
  ok(cat().createShard("shop", "-40", ep(1), {}, false, ctx()));
  ok(cat().createShard("shop", "40-80", ep(2), {}, false, ctx()));
  expectRejected([&] { return cat().setShardServing("shop", "-40", true, ctx()); }, kInvariant,
                 "shard shop.-40 would overlap serving shard shop.-80");
  // A cutover, one statement at a time: the old shard stops serving, the new ones start.
  ok(cat().setShardServing("shop", "-80", false, ctx()));
  EXPECT_THAT(gaps(*snap()->findKeyspace("shop")), ElementsAre("-80"));
  ok(cat().setShardServing("shop", "-40", true, ctx()));
  ok(cat().setShardServing("shop", "40-80", true, ctx()));
  auto s = snap();
  EXPECT_TRUE(s->findKeyspace("shop")->complete());
  EXPECT_EQ(s->shardFor(*s->findKeyspace("shop"), 0x5000000000000000ULL)->name, "40-80");
  expectRejected([&] { return cat().setShardServing("shop", "-80", true, ctx()); }, kInvariant,
                 "shard shop.-80 would overlap serving shard shop.-40");
  expectRejected([&] { return cat().setShardServing("shop", "nope", true, ctx()); }, kNotFound,
                 "shard shop.nope does not exist");
}

TEST_F(Shards, GapsAreListedUntilTheKeyspaceIsComplete) {
  ok(cat().createKeyspace("shop", true, ctx()));
  EXPECT_THAT(gaps(*snap()->findKeyspace("shop")), ElementsAre("-"));
  EXPECT_FALSE(snap()->findKeyspace("shop")->complete());
  ok(cat().createShard("shop", "40-80", ep(1), {}, true, ctx()));
  EXPECT_THAT(gaps(*snap()->findKeyspace("shop")), ElementsAre("-40", "80-"));
  ok(cat().createShard("shop", "c0-", ep(2), {}, true, ctx()));
  ok(cat().createShard("shop", "80-c0", ep(3), {}, false, ctx()));  // not serving: still a gap
  EXPECT_THAT(gaps(*snap()->findKeyspace("shop")), ElementsAre("-40", "80-c0"));
  ok(cat().createShard("shop", "-40", ep(4), {}, true, ctx()));
  ok(cat().setShardServing("shop", "80-c0", true, ctx()));
  EXPECT_TRUE(snap()->findKeyspace("shop")->complete());
}

TEST_F(Shards, ShardForFindsTheServingOwnerOrAGap) {
  ok(cat().createKeyspace("shop", true, ctx()));
  ok(cat().createShard("shop", "-40", ep(1), {}, true, ctx()));
  ok(cat().createShard("shop", "80-", ep(2), {}, true, ctx()));
  ok(cat().createShard("shop", "-80", ep(3), {}, false, ctx()));
  auto s = snap();
  const Keyspace& shop = *s->findKeyspace("shop");
  EXPECT_EQ(s->shardFor(shop, 0)->name, "-40");
  EXPECT_EQ(s->shardFor(shop, 0x3fffffffffffffffULL)->name, "-40");
  EXPECT_EQ(s->shardFor(shop, 0x4000000000000000ULL), nullptr);  // gap 40-80
  EXPECT_EQ(s->shardFor(shop, 0x7fffffffffffffffULL), nullptr);
  EXPECT_EQ(s->shardFor(shop, 0x8000000000000000ULL)->name, "80-");
  EXPECT_EQ(s->shardFor(shop, 0xffffffffffffffffULL)->name, "80-");
}

TEST_F(Shards, UnshardedKeyspaceHasOneWholeRangeShardWithAnyName) {
  ok(cat().createKeyspace("main", false, ctx()));
  ok(cat().createShard("main", "0", ep(1), {ep(2)}, true, ctx()));
  auto s = snap();
  const Keyspace& main = *s->findKeyspace("main");
  ASSERT_EQ(main.shards.size(), 1u);
  EXPECT_EQ(s->shards[main.shards[0]].name, "0");
  EXPECT_EQ(s->shards[main.shards[0]].range, KeyRange{});
  EXPECT_TRUE(main.complete());
  EXPECT_EQ(s->shardFor(main, 12345)->name, "0");
  expectRejected([&] { return cat().createShard("main", "1", ep(3), {}, false, ctx()); },
                 kInvariant, "unsharded keyspace 'main' already has shard main.0");
}

TEST_F(Shards, DropRemovesItsBackendsAndLeavesAGap) {
  makeShop();
  ok(cat().dropShard("shop", "-80", ctx()));
  auto s = snap();
  EXPECT_EQ(s->findBackend(ep(13306)), nullptr);
  EXPECT_EQ(s->findBackend(ep(13307)), nullptr);
  EXPECT_NE(s->findBackend(ep(13308)), nullptr);
  EXPECT_EQ(s->backends.size(), 1u);
  EXPECT_THAT(gaps(*s->findKeyspace("shop")), ElementsAre("-80"));
  // The addresses are free again.
  ok(cat().createShard("shop", "-80", ep(13307), {ep(13306)}, true, ctx()));
}

TEST_F(Shards, DropOfAMissingShardIsNotFound) {
  makeShop();
  expectRejected([&] { return cat().dropShard("shop", "-40", ctx()); }, kNotFound,
                 "shard shop.-40 does not exist");
  expectRejected([&] { return cat().dropShard("nope", "-80", ctx()); }, kNotFound,
                 "keyspace 'nope' does not exist");
}

TEST_F(Shards, CreateIsAllOrNothingWhenAReplicaIsBad) {
  makeShop();
  // The replica's address is taken: the shard and its primary must not stay behind.
  expectRejected([&] { return cat().createShard("shop", "-40", ep(1), {ep(13308)}, false, ctx()); },
                 kExists, "backend 127.0.0.1:13308 already exists (shard shop.80-)");
  expectRejected([&] { return cat().createShard("shop", "-40", ep(1), {ep(1)}, false, ctx()); },
                 kExists, "backend 127.0.0.1:1 already exists (shard shop.-40)");
}

}  // namespace
}  // namespace shardproxy::catalog::test
