// Backends: exactly one primary per shard, unique addresses, state changes.
#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

class Backends : public CatalogTest {};

TEST_F(Backends, AddReplicaWithWeightAndLag) {
  makeShop();
  ok(cat().addBackend(ep(13309), "shop", "80-", BackendRole::kReplica, 5, 12, ctx()));
  auto s = snap();
  const Backend* b = s->findBackend(ep(13309));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->keyspace, "shop");
  EXPECT_EQ(b->shard, "80-");
  EXPECT_EQ(b->role, BackendRole::kReplica);
  EXPECT_EQ(b->weight, 5u);
  EXPECT_EQ(b->maxLagSeconds, 12u);
  EXPECT_EQ(b->state, BackendState::kOnline);
  EXPECT_GT(b->id, 0);
  const Shard& high = s->shards[s->findKeyspace("shop")->shards[1]];
  EXPECT_EQ(high.backends.size(), 2u);
  EXPECT_EQ(s->backends[*high.primary].address, ep(13308));
}

TEST_F(Backends, DefaultsAreWeightOneAndThirtySecondsOfLag) {
  makeShop();
  auto s = snap();
  const Backend* replica = s->findBackend(ep(13307));
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(replica->weight, 1u);
  EXPECT_EQ(replica->maxLagSeconds, 30u);
}

TEST_F(Backends, SecondPrimaryIsRejectedNamingTheFirst) {
  makeShop();
  expectRejected(
      [&] {
        return cat().addBackend(ep(13309), "shop", "-80", BackendRole::kPrimary, {}, {}, ctx());
      },
      kInvariant, "shard shop.-80 already has a primary (127.0.0.1:13306)");
}

TEST_F(Backends, AddressesAreUniqueWithinAKeyspace) {
  makeShop();
  expectRejected(
      [&] {
        return cat().addBackend(ep(13306), "shop", "80-", BackendRole::kReplica, {}, {}, ctx());
      },
      kExists, "backend 127.0.0.1:13306 already exists (shard shop.-80)");
  // Same port on another host is another backend.
  ok(cat().addBackend(ep(13306, "10.0.0.7"), "shop", "80-", BackendRole::kReplica, {}, {}, ctx()));
}

// Servers shared by keyspaces: one server holds shards of several keyspaces, in one role.
TEST_F(Backends, ServersAreSharedByKeyspacesInOneRole) {
  makeShop();  // -80: primary :13306, replica :13307; 80-: primary :13308
  ok(cat().createKeyspace("crm", true, ctx()));
  ok(cat().createShard("crm", "-", ep(13306), {ep(13307)}, true, ctx()));
  auto s = snap();
  std::size_t uses = 0;
  for (const auto& b : s->backends)
    uses += b.address == ep(13306) ? 1 : 0;
  EXPECT_EQ(uses, 2u);
  ok(cat().createKeyspace("mail", false, ctx()));
  expectRejected(
      [&] { return cat().createShard("mail", "0", ep(13307), {}, true, ctx()); }, kInvariant,
      "server 127.0.0.1:13307 is a replica of shard shop.-80: a server shared by keyspaces has "
      "one role");
  // Leaving one keyspace is DROP SHARD; DROP BACKEND would take it out of every keyspace.
  expectRejected([&] { return cat().dropBackend(ep(13307), ctx()); }, kInvariant,
                 "server 127.0.0.1:13307 holds shards of several keyspaces (crm.-, shop.-80)");
  ok(cat().setBackendState(ep(13307), BackendState::kOffline, ctx()));
  auto after = snap();
  for (const auto& b : after->backends) {
    if (b.address == ep(13307)) EXPECT_EQ(b.state, BackendState::kOffline);
  }
  ok(cat().dropShard("crm", "-", ctx()));
  ok(cat().dropBackend(ep(13307), ctx()));
}

TEST_F(Backends, ShardMustExist) {
  makeShop();
  expectRejected(
      [&] { return cat().addBackend(ep(1), "shop", "-40", BackendRole::kReplica, {}, {}, ctx()); },
      kNotFound, "shard shop.-40 does not exist");
  expectRejected(
      [&] { return cat().addBackend(ep(1), "nope", "-80", BackendRole::kReplica, {}, {}, ctx()); },
      kNotFound, "keyspace 'nope' does not exist");
}

TEST_F(Backends, AddressNeedsHostAndPortAndWeightAtLeastOne) {
  makeShop();
  expectRejected(
      [&] { return cat().addBackend(ep(0), "shop", "-80", BackendRole::kReplica, {}, {}, ctx()); },
      kInvariant, "needs a host and a port 1-65535");
  expectRejected(
      [&] {
        return cat().addBackend(ep(1, ""), "shop", "-80", BackendRole::kReplica, {}, {}, ctx());
      },
      kInvariant, "needs a host and a port 1-65535");
  expectRejected(
      [&] { return cat().addBackend(ep(1), "shop", "-80", BackendRole::kReplica, 0, {}, ctx()); },
      kInvariant, "weight must be at least 1");
}

TEST_F(Backends, DropReplica) {
  makeShop();
  ok(cat().dropBackend(ep(13307), ctx()));
  auto s = snap();
  EXPECT_EQ(s->findBackend(ep(13307)), nullptr);
  EXPECT_EQ(s->shards[s->findKeyspace("shop")->shards[0]].backends.size(), 1u);
}

TEST_F(Backends, DropOfAPrimaryIsRejectedWhileItHasReplicas) {
  makeShop();
  expectRejected([&] { return cat().dropBackend(ep(13306), ctx()); }, kInvariant,
                 "backend 127.0.0.1:13306 is the primary of shard shop.-80, which still has 1 "
                 "replica(s); a primary can only be dropped as the last backend of its shard");
}

TEST_F(Backends, LastPrimaryMayBeDroppedThenReplaced) {
  makeShop();
  ok(cat().dropBackend(ep(13308), ctx()));
  auto s = snap();
  const Shard& high = s->shards[s->findKeyspace("shop")->shards[1]];
  EXPECT_TRUE(high.backends.empty());
  EXPECT_FALSE(high.primary);
  // A shard without a primary takes no replica, only a new primary.
  expectRejected(
      [&] {
        return cat().addBackend(ep(13309), "shop", "80-", BackendRole::kReplica, {}, {}, ctx());
      },
      kInvariant, "shard shop.80- has no primary; add its primary first");
  ok(cat().addBackend(ep(13309), "shop", "80-", BackendRole::kPrimary, {}, {}, ctx()));
  s = snap();
  EXPECT_EQ(s->backends[*s->shards[s->findKeyspace("shop")->shards[1]].primary].address, ep(13309));
}

TEST_F(Backends, DropOfAMissingBackendIsNotFound) {
  expectRejected([&] { return cat().dropBackend(ep(1), ctx()); }, kNotFound,
                 "backend 127.0.0.1:1 does not exist");
}

TEST_F(Backends, SetStateChangesOnlyTheState) {
  makeShop();
  for (BackendState state :
       {BackendState::kDraining, BackendState::kOffline, BackendState::kOnline}) {
    ok(cat().setBackendState(ep(13307), state, ctx()));
    const Backend* b = snap()->findBackend(ep(13307));
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->state, state);
    EXPECT_EQ(b->role, BackendRole::kReplica);
  }
  ok(cat().setBackendState(ep(13306), BackendState::kOffline, ctx()));  // a primary too
  EXPECT_EQ(snap()->findBackend(ep(13306))->state, BackendState::kOffline);
  expectRejected([&] { return cat().setBackendState(ep(1), BackendState::kOffline, ctx()); },
                 kNotFound, "backend 127.0.0.1:1 does not exist");
}

TEST_F(Backends, FindBackendUsesHostAndPort) {
  makeShop();
  ok(cat().addBackend(ep(13306, "10.0.0.1"), "shop", "80-", BackendRole::kReplica, {}, {}, ctx()));
  auto s = snap();
  EXPECT_EQ(s->findBackend(ep(13306))->shard, "-80");
  EXPECT_EQ(s->findBackend(ep(13306, "10.0.0.1"))->shard, "80-");
  EXPECT_EQ(s->findBackend(ep(13306, "10.0.0.2")), nullptr);
  EXPECT_EQ(s->findBackend(ep(13305)), nullptr);
}

}  // namespace
}  // namespace shardproxy::catalog::test
