// The schema tracker (proxy/schema_tracker.h) without a server: its rounds, tickets and what it
// publishes when a keyspace cannot be read. Reading real servers is covered by
// tests/integration/dump_restore_test.sh; building snapshots by planner_schema_test.cpp.
#include "shardproxy/proxy/schema_tracker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace shardproxy::proxy {
namespace {

using namespace std::chrono_literals;

// Keyspace "shop" (sharded, its primary on a port nothing listens on) and "main" (unsharded).
catalog::SnapshotPtr snapshot() {
  auto s = std::make_shared<catalog::Snapshot>();
  s->version = 1;
  s->keyspaces.push_back(catalog::Keyspace{"main", false, {0}, {}});
  s->keyspaces.push_back(catalog::Keyspace{"shop", true, {1}, {}});
  s->shards.push_back(
      catalog::Shard{"main", "-", catalog::KeyRange{0, std::nullopt}, true, {0}, 0});
  s->shards.push_back(
      catalog::Shard{"shop", "-", catalog::KeyRange{0, std::nullopt}, true, {1}, 1});
  for (std::int64_t i = 0; i < 2; ++i) {
    catalog::Backend b;
    b.id = i;
    b.address = {"127.0.0.1", 1};  // refused at once
    b.keyspace = i == 0 ? "main" : "shop";
    b.shard = "-";
    b.role = catalog::BackendRole::kPrimary;
    s->backends.push_back(b);
  }
  return s;
}

bool waitFor(const SchemaTracker& t, std::uint64_t ticket) {
  for (int i = 0; i < 500 && t.completed() < ticket; ++i)
    std::this_thread::sleep_for(10ms);
  return t.completed() >= ticket;
}

TEST(SchemaTracker, UnreadableKeyspaceKeepsAnEmptySnapshotAndCompletesTickets) {
  std::atomic<int> rounds{0};
  auto snap = snapshot();
  SchemaTrackerOptions o;
  o.user = "nobody";
  o.interval = 0ms;  // only at start and on request
  o.timeout = 1s;
  SchemaTracker t(
      [&] {
        ++rounds;
        return snap;
      },
      o);
  ASSERT_NE(t.schema(), nullptr);  // never null, even before the first round
  t.start();
  ASSERT_TRUE(t.waitFirstRound(10s));
  EXPECT_EQ(rounds.load(), 1);
  EXPECT_TRUE(t.schema()->keyspaces.empty());
  EXPECT_EQ(t.version(), 0u);
  const std::uint64_t first = t.requestRefresh("shop");
  const std::uint64_t second = t.requestRefresh("shop");
  EXPECT_GT(second, first);
  ASSERT_TRUE(waitFor(t, second));
  EXPECT_GE(rounds.load(), 2);
  EXPECT_TRUE(t.schema()->keyspaces.empty());  // the failed read published nothing
  // Without a timer no round runs unasked.
  const int now = rounds.load();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(rounds.load(), now);
  t.stop();
  t.stop();  // idempotent
}

TEST(SchemaTracker, TimerStartsRounds) {
  std::atomic<int> rounds{0};
  auto snap = snapshot();
  SchemaTrackerOptions o;
  o.interval = 50ms;
  o.timeout = 1s;
  SchemaTracker t(
      [&] {
        ++rounds;
        return snap;
      },
      o);
  t.start();
  for (int i = 0; i < 300 && rounds.load() < 3; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_GE(rounds.load(), 3);
}

}  // namespace
}  // namespace shardproxy::proxy
