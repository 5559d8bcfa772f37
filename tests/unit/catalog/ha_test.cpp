// The catalog's side of a switchover or failover: the role swap (promoteBackend), the keyspace's
// AUTO FAILOVER switch and the HA record (docs/high-availability.md).
#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

class HaCatalogTest : public CatalogTest {};

const Backend* backendAt(const Snapshot& s, std::uint16_t port) {
  for (const auto& b : s.backends)
    if (b.address.port == port) return &b;
  return nullptr;
}

TEST_F(HaCatalogTest, PromoteSwapsRolesInOneChange) {
  makeShop();
  const auto before = cat().version();
  auto switched =
      cat().promoteBackend(ep(13307), ep(13306), BackendState::kOnline, ctx("SWITCHOVER"));
  ASSERT_TRUE(switched.ok()) << switched.error().message;
  EXPECT_EQ(*switched, std::vector<std::string>{"shop/-80"});
  EXPECT_EQ(cat().version(), before + 1);
  auto s = snap();
  EXPECT_EQ(backendAt(*s, 13307)->role, BackendRole::kPrimary);
  EXPECT_EQ(backendAt(*s, 13306)->role, BackendRole::kReplica);
  EXPECT_EQ(backendAt(*s, 13306)->state, BackendState::kOnline);
  const Shard* shard = nullptr;
  for (const auto& sh : s->shards)
    if (sh.keyspace == "shop" && sh.name == "-80") shard = &sh;
  ASSERT_NE(shard, nullptr);
  ASSERT_TRUE(shard->primary);
  EXPECT_EQ(s->backends[*shard->primary].address.port, 13307);
  // And back, leaving the old primary offline (a failover).
  ASSERT_TRUE(cat().promoteBackend(ep(13306), ep(13307), BackendState::kOffline, ctx()).ok());
  EXPECT_EQ(backendAt(*snap(), 13307)->state, BackendState::kOffline);
  EXPECT_EQ(backendAt(*snap(), 13306)->role, BackendRole::kPrimary);
}

TEST_F(HaCatalogTest, PromoteRefusesWhatIsNotAReplicaOfThatPrimary) {
  makeShop();
  auto refused = [&](const Endpoint& to, const Endpoint& from, const std::string& part) {
    const std::string before = dump();
    auto r = cat().promoteBackend(to, from, BackendState::kOnline, ctx());
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, ::testing::HasSubstr(part));
    EXPECT_EQ(dump(), before);
  };
  refused(ep(13308), ep(13306), "not a replica of");     // the primary of another shard
  refused(ep(13306), ep(13306), "already the primary");  // itself
  refused(ep(13307), ep(13307), "already the primary");
  refused(ep(13306), ep(13307), "not the primary of any shard");
  refused(ep(19999), ep(13306), "not a replica of");
}

TEST_F(HaCatalogTest, ASharedServerSwitchesInEveryKeyspaceOrNotAtAll) {
  makeShop();
  ok(cat().createKeyspace("users", false, ctx()));
  ok(cat().createShard("users", "main", ep(13306), {ep(13307)}, true, ctx()));
  auto r = cat().promoteBackend(ep(13307), ep(13306), BackendState::kOnline, ctx());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"shop/-80", "users/main"}));
  // A server that is a replica in one keyspace only cannot take over both.
  ok(cat().addBackend(ep(13309), "shop", "-80", BackendRole::kReplica, std::nullopt, std::nullopt,
                      ctx()));
  auto partial = cat().promoteBackend(ep(13309), ep(13307), BackendState::kOnline, ctx());
  ASSERT_FALSE(partial.ok());
  EXPECT_THAT(partial.error().message, ::testing::HasSubstr("users/main"));
}

TEST_F(HaCatalogTest, AutoFailoverAndTheEventRecord) {
  makeShop();
  EXPECT_FALSE(snap()->findKeyspace("shop")->autoFailover);
  ok(cat().setAutoFailover("shop", true, ctx()));
  EXPECT_TRUE(snap()->findKeyspace("shop")->autoFailover);
  EXPECT_NE(dump().find("\"auto_failover\""), std::string::npos);
  EXPECT_FALSE(cat().setAutoFailover("nope", true, ctx()).ok());

  HaEvent e;
  e.kind = "failover";
  e.shards = "shop/-80";
  e.oldPrimary = "127.0.0.1:13306";
  e.state = "running";
  e.startedMs = 1000;
  auto id = cat().recordHaEvent(e);
  ASSERT_TRUE(id.ok()) << id.error().message;
  e.id = *id;
  e.newPrimary = "127.0.0.1:13307";
  e.state = "done";
  e.finishedMs = 1800;
  e.pauseMs = 800;
  e.newGtid = "0-1-10";
  ASSERT_TRUE(cat().updateHaEvent(e).ok());
  auto events = cat().haEvents();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().state, "done");
  EXPECT_EQ(events->front().pauseMs, 800);
  EXPECT_FALSE(events->front().lostTransactions.has_value());
  EXPECT_EQ(events->front().newGtid, "0-1-10");
}

}  // namespace
}  // namespace shardproxy::catalog::test
