// Versions and the change log: one version per successful change, nothing for a rejected one.
#include <regex>

#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

class ChangeLog : public CatalogTest {};

TEST_F(ChangeLog, EachChangeBumpsTheVersionAndIsLoggedNewestFirst) {
  ok(cat().createKeyspace("shop", true,
                          ChangeContext{"alice@10.0.0.1", "CREATE KEYSPACE shop SHARDED"}));
  ok(cat().createShard(
      "shop", "-", ep(1), {}, true,
      ChangeContext{"bob@10.0.0.2", "CREATE SHARD shop.`-` PRIMARY '127.0.0.1:1'"}));
  ok(cat().setBackendState(ep(1), BackendState::kDraining,
                           ChangeContext{"bob@10.0.0.2", "SET BACKEND '127.0.0.1:1' DRAINING"}));
  EXPECT_EQ(cat().version(), 3u);
  EXPECT_EQ(snap()->version, 3u);
  auto log = cat().changes(std::nullopt);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[0].version, 3u);
  EXPECT_EQ((*log)[0].who, "bob@10.0.0.2");
  EXPECT_EQ((*log)[0].statement, "SET BACKEND '127.0.0.1:1' DRAINING");
  EXPECT_EQ((*log)[2].version, 1u);
  EXPECT_EQ((*log)[2].who, "alice@10.0.0.1");
  EXPECT_EQ((*log)[2].statement, "CREATE KEYSPACE shop SHARDED");
  const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  for (const ChangeRecord& r : *log) {
    EXPECT_TRUE(std::regex_match(r.time, iso)) << r.time;
  }
}

TEST_F(ChangeLog, LimitKeepsTheNewest) {
  for (int i = 0; i < 5; ++i) {
    ok(cat().createKeyspace("k" + std::to_string(i), false, ctx()));
  }
  auto log = cat().changes(2);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].version, 5u);
  EXPECT_EQ((*log)[1].version, 4u);
  auto none = cat().changes(0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(ChangeLog, RejectedChangesAreNotLogged) {
  ok(cat().createKeyspace("shop", true, ctx()));
  EXPECT_FALSE(cat().createKeyspace("shop", true, ctx()).ok());
  EXPECT_FALSE(cat().dropUser("nobody", ctx()).ok());
  EXPECT_EQ(cat().version(), 1u);
  auto log = cat().changes(std::nullopt);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 1u);
}

TEST_F(ChangeLog, EmptyUntilTheFirstKeyspaceOrUser) {
  EXPECT_TRUE(*cat().empty());
  ok(cat().createUser("app", "pw", {}, ctx()));
  EXPECT_FALSE(*cat().empty());
  ok(cat().dropUser("app", ctx()));
  EXPECT_TRUE(*cat().empty());
  EXPECT_EQ(cat().version(), 2u);  // empty is about content, not history
}

TEST_F(ChangeLog, SnapshotsAreImmutableAcrossChanges) {
  makeShop();
  auto before = snap();
  ok(cat().dropShard("shop", "80-", ctx()));
  auto after = snap();
  EXPECT_EQ(before->version + 1, after->version);
  EXPECT_TRUE(before->findKeyspace("shop")->complete());
  EXPECT_FALSE(after->findKeyspace("shop")->complete());
  EXPECT_NE(before->findBackend(ep(13308)), nullptr);
  EXPECT_EQ(after->findBackend(ep(13308)), nullptr);
}

TEST_F(ChangeLog, VersionIsSharedBetweenConnectionsToTheSameFile) {
  ok(cat().createKeyspace("shop", true, ctx()));
  auto other = openCatalog(path());
  ASSERT_TRUE(other);
  EXPECT_EQ(other->version(), 1u);
  ASSERT_TRUE(other->createKeyspace("main", false, ctx()).ok());
  EXPECT_EQ(other->version(), 2u);
  // This connection's next change builds on the file's version, not its cached one.
  ok(cat().createKeyspace("third", false, ctx()));
  EXPECT_EQ(cat().version(), 3u);
  EXPECT_EQ(snap()->keyspaces.size(), 3u);
}

}  // namespace
}  // namespace shardproxy::catalog::test
