#include "shardproxy/router/backend_choice.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace shardproxy::router {
namespace {

using catalog::BackendRole;
using catalog::BackendState;

// One shard "ks/-" with a primary (id 1, port 3301) and the replicas added by the test (ids 2…,
// ports 3302…).
class BackendChoiceTest : public ::testing::Test {
 protected:
  BackendChoiceTest() {
    snap_.shards.push_back(catalog::Shard{"ks", "-", {}, true, {}, std::nullopt});
    add(BackendRole::kPrimary);
    snap_.shards[0].primary = 0;
  }

  catalog::Backend& add(BackendRole role, std::uint32_t weight = 1,
                        BackendState state = BackendState::kOnline) {
    catalog::Backend b;
    b.id = static_cast<std::int64_t>(snap_.backends.size()) + 1;
    b.address = {"127.0.0.1", static_cast<std::uint16_t>(3300 + b.id)};
    b.keyspace = "ks";
    b.shard = "-";
    b.role = role;
    b.weight = weight;
    b.state = state;
    snap_.backends.push_back(b);
    snap_.shards[0].backends.push_back(snap_.backends.size() - 1);
    return snap_.backends.back();
  }

  catalog::Backend& backend(std::int64_t id) { return snap_.backends[id - 1]; }

  Result<BackendChoice> choose(Role role, const HealthTable* health = nullptr,
                               std::uint64_t random = 0,
                               const catalog::Endpoint* current = nullptr) {
    return chooseBackend(snap_, snap_.shards[0], role, health, random, current);
  }

  // The id chosen for a replica read, or -1 on error.
  std::int64_t replicaId(const HealthTable* health = nullptr, std::uint64_t random = 0,
                         const catalog::Endpoint* current = nullptr) {
    auto c = choose(Role::kReplica, health, random, current);
    return c ? c->backend->id : -1;
  }

  catalog::Snapshot snap_;
};

TEST_F(BackendChoiceTest, PrimaryRoleTakesTheOnlinePrimary) {
  add(BackendRole::kReplica);
  auto c = choose(Role::kPrimary);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->backend->id, 1);
  EXPECT_FALSE(c->fellBackToPrimary);
}

TEST_F(BackendChoiceTest, PrimaryIgnoresHealth) {
  HealthTable health;
  health.set(1, {.up = false});
  auto c = choose(Role::kPrimary, &health);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->backend->id, 1);
}

TEST_F(BackendChoiceTest, OfflinePrimaryIsANamedError) {
  backend(1).state = BackendState::kOffline;
  auto c = choose(Role::kPrimary);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kNoRoute);
  EXPECT_EQ(c.error().message, "Shard ks/- has no online primary (127.0.0.1:3301 is offline)");
}

TEST_F(BackendChoiceTest, DrainingPrimaryServesOnlyItsCurrentSessions) {
  backend(1).state = BackendState::kDraining;
  EXPECT_FALSE(choose(Role::kPrimary));
  catalog::Endpoint other{"127.0.0.1", 9999};
  EXPECT_FALSE(choose(Role::kPrimary, nullptr, 0, &other));
  auto c = choose(Role::kPrimary, nullptr, 0, &backend(1).address);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->backend->id, 1);
}

TEST_F(BackendChoiceTest, ShardWithoutPrimaryIsAnError) {
  snap_.shards[0].primary.reset();
  auto c = choose(Role::kPrimary);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kNoRoute);
  EXPECT_EQ(c.error().message, "Shard ks/- has no primary");
}

TEST_F(BackendChoiceTest, ReplicaReadTakesAReplica) {
  add(BackendRole::kReplica);
  auto c = choose(Role::kReplica);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->backend->id, 2);
  EXPECT_FALSE(c->fellBackToPrimary);
}

TEST_F(BackendChoiceTest, WeightsAreRespected) {
  add(BackendRole::kReplica, 3);
  add(BackendRole::kReplica, 1);
  add(BackendRole::kReplica, 0);  // out of rotation
  std::mt19937_64 rng(42);
  int picks[5] = {};
  constexpr int kPicks = 10000;
  for (int i = 0; i < kPicks; ++i) {
    std::int64_t id = replicaId(nullptr, rng());
    ASSERT_GE(id, 1);
    ASSERT_LE(id, 4);
    ++picks[id];
  }
  EXPECT_EQ(picks[1], 0);
  EXPECT_EQ(picks[4], 0);
  EXPECT_NEAR(picks[2], kPicks * 3 / 4, kPicks * 5 / 100);
  EXPECT_NEAR(picks[3], kPicks / 4, kPicks * 5 / 100);
}

TEST_F(BackendChoiceTest, EveryRandomValueMapsToAWeightedSlot) {
  add(BackendRole::kReplica, 2);
  add(BackendRole::kReplica, 1);
  EXPECT_EQ(replicaId(nullptr, 0), 2);
  EXPECT_EQ(replicaId(nullptr, 1), 2);
  EXPECT_EQ(replicaId(nullptr, 2), 3);
  EXPECT_EQ(replicaId(nullptr, 3), 2);
  EXPECT_EQ(replicaId(nullptr, UINT64_MAX), 2);  // 2^64-1 = 0 mod 3
}

TEST_F(BackendChoiceTest, OfflineAndDrainingReplicasAreSkipped) {
  add(BackendRole::kReplica, 1, BackendState::kOffline);
  add(BackendRole::kReplica, 1, BackendState::kDraining);
  add(BackendRole::kReplica, 1);
  for (std::uint64_t r = 0; r < 10; ++r)
    EXPECT_EQ(replicaId(nullptr, r), 4);
}

TEST_F(BackendChoiceTest, DrainingReplicaKeepsItsCurrentSession) {
  add(BackendRole::kReplica, 1, BackendState::kDraining);
  add(BackendRole::kReplica);
  EXPECT_EQ(replicaId(nullptr, 0, &backend(2).address), 2);
  EXPECT_EQ(replicaId(nullptr, 0), 3);
}

TEST_F(BackendChoiceTest, DownAndLaggingReplicasAreSkipped) {
  add(BackendRole::kReplica);                     // 2: down
  add(BackendRole::kReplica).maxLagSeconds = 10;  // 3: 11 s behind
  add(BackendRole::kReplica);                     // 4: lag unknown but up
  add(BackendRole::kReplica).maxLagSeconds = 10;  // 5: exactly at its limit
  HealthTable health;
  health.set(2, {.up = false});
  health.set(3, {.up = true, .lagSeconds = 11, .lagKnown = true});
  health.set(4, {.up = true});
  health.set(5, {.up = true, .lagSeconds = 10, .lagKnown = true});
  int picks[6] = {};
  for (std::uint64_t r = 0; r < 100; ++r) {
    std::int64_t id = replicaId(&health, r);
    ASSERT_GE(id, 1);
    ++picks[id];
  }
  EXPECT_EQ(picks[2], 0);
  EXPECT_EQ(picks[3], 0);
  EXPECT_EQ(picks[4], 50);
  EXPECT_EQ(picks[5], 50);
}

TEST_F(BackendChoiceTest, UncheckedReplicaIsNotFit) {
  add(BackendRole::kReplica);
  add(BackendRole::kReplica);
  HealthTable health;
  health.set(3, {.up = true, .lagSeconds = 0, .lagKnown = true});
  for (std::uint64_t r = 0; r < 10; ++r)
    EXPECT_EQ(replicaId(&health, r), 3);
}

TEST_F(BackendChoiceTest, NoFitReplicaFallsBackToThePrimary) {
  add(BackendRole::kReplica);
  add(BackendRole::kReplica, 1, BackendState::kOffline);
  HealthTable health;
  health.set(2, {.up = false});
  auto c = choose(Role::kReplica, &health, 7);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->backend->id, 1);
  EXPECT_TRUE(c->fellBackToPrimary);
  EXPECT_EQ(c->why, "no healthy replica");
}

TEST_F(BackendChoiceTest, ShardWithoutReplicasFallsBackToThePrimary) {
  auto c = choose(Role::kReplica);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->backend->id, 1);
  EXPECT_TRUE(c->fellBackToPrimary);
}

TEST_F(BackendChoiceTest, FallbackToAnOfflinePrimaryIsAnError) {
  add(BackendRole::kReplica, 1, BackendState::kOffline);
  backend(1).state = BackendState::kOffline;
  auto c = choose(Role::kReplica);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kNoRoute);
  EXPECT_EQ(c.error().message,
            "Shard ks/- has no healthy replica and has no online primary (127.0.0.1:3301 is "
            "offline)");
}

TEST_F(BackendChoiceTest, CurrentFitReplicaIsKept) {
  add(BackendRole::kReplica, 100);
  add(BackendRole::kReplica, 1);
  for (std::uint64_t r = 0; r < 20; ++r)
    EXPECT_EQ(replicaId(nullptr, r, &backend(3).address), 3);
  auto c = choose(Role::kReplica, nullptr, 0, &backend(3).address);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->why, "current replica");
}

TEST_F(BackendChoiceTest, CurrentUnfitReplicaIsLeft) {
  add(BackendRole::kReplica);
  add(BackendRole::kReplica);
  HealthTable health;
  health.set(2, {.up = true, .lagSeconds = 60, .lagKnown = true});
  health.set(3, {.up = true, .lagSeconds = 0, .lagKnown = true});
  EXPECT_EQ(replicaId(&health, 0, &backend(2).address), 3);
}

TEST_F(BackendChoiceTest, CurrentPrimaryIsNotKeptForAReplicaRead) {
  add(BackendRole::kReplica);
  EXPECT_EQ(replicaId(nullptr, 0, &backend(1).address), 2);
}

TEST(HealthTable, FindsWhatWasSetInAnyOrder) {
  HealthTable t;
  t.set(30, {.up = false});
  t.set(10, {.up = true, .lagSeconds = 5, .lagKnown = true});
  t.set(20, {.up = true});
  t.set(10, {.up = true, .lagSeconds = 7, .lagKnown = true});
  ASSERT_EQ(t.entries().size(), 3u);
  EXPECT_EQ(t.entries()[0].first, 10);
  EXPECT_EQ(t.entries()[2].first, 30);
  ASSERT_NE(t.find(10), nullptr);
  EXPECT_EQ(t.find(10)->lagSeconds, 7u);
  EXPECT_FALSE(t.find(30)->up);
  EXPECT_EQ(t.find(15), nullptr);
  EXPECT_EQ(t.find(40), nullptr);
}

}  // namespace
}  // namespace shardproxy::router
