// Global sequences: their rules as catalog changes, and block reservation (SequenceStore), also
// by two stores on one file at once.
#include <algorithm>
#include <limits>
#include <thread>
#include <vector>

#include "catalog_fixture.h"
#include "shardproxy/catalog/sequence_store.h"

namespace shardproxy::catalog::test {
namespace {

class Sequences : public CatalogTest {
 protected:
  void makeOrders() {
    makeShop();
    ok(cat().createTableRule("shop", "orders", TableKind::kSharded, "id", ctx()));
  }
  SequenceSpec spec(std::int64_t start = 1, std::uint32_t cache = 1000) {
    return SequenceSpec{"shop", "orders", "id", start, cache};
  }
  std::unique_ptr<SequenceStore> store() {
    auto s = SequenceStore::open(path());
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::int64_t idOf(std::string_view table = "orders") {
    const SnapshotPtr current = snap();
    const Sequence* s = current->findSequence("shop", table);
    EXPECT_NE(s, nullptr);
    return s != nullptr ? s->id : 0;
  }
};

TEST_F(Sequences, CreatedSequenceIsInTheSnapshotAndShown) {
  makeOrders();
  const std::uint64_t before = cat().version();
  ok(cat().createSequence(spec(100, 50), ctx("CREATE SEQUENCE FOR shop.orders (id)")));
  EXPECT_EQ(cat().version(), before + 1);
  auto s = snap();
  const Sequence* seq = s->findSequence("shop", "orders");
  ASSERT_NE(seq, nullptr);
  EXPECT_EQ(seq->column, "id");
  EXPECT_EQ(seq->start, 100);
  EXPECT_EQ(seq->cache, 50u);
  EXPECT_EQ(s->findSequence("shop", "other"), nullptr);
  auto states = cat().sequences();
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ(states->front().nextValue, 100);
}

TEST_F(Sequences, BadDefinitionsAreRefusedWithTheirReason) {
  makeOrders();
  ok(cat().createTableRule("shop", "countries", TableKind::kReference, "", ctx()));
  ok(cat().createKeyspace("main", false, ctx()));
  ok(cat().createTableRule("main", "t", TableKind::kSharded, "id", ctx()));
  expectRejected(
      [&] {
        return cat().createSequence({"nope", "orders", "id", 1, 10}, ctx());
      },
      kNotFound, "keyspace 'nope' does not exist");
  expectRejected(
      [&] {
        return cat().createSequence({"shop", "missing", "id", 1, 10}, ctx());
      },
      kNotFound, "table rule shop.missing does not exist");
  expectRejected(
      [&] {
        return cat().createSequence({"shop", "countries", "id", 1, 10}, ctx());
      },
      kInvariant, "shop.countries is a reference table");
  expectRejected(
      [&] {
        return cat().createSequence({"main", "t", "id", 1, 10}, ctx());
      },
      kInvariant, "keyspace 'main' is unsharded");
  expectRejected([&] { return cat().createSequence(spec(0), ctx()); }, kInvariant,
                 "START WITH must be at least 1");
  expectRejected([&] { return cat().createSequence(spec(1, 0), ctx()); }, kInvariant,
                 "CACHE must be between 1 and 1000000");
  expectRejected([&] { return cat().createSequence(spec(1, 1000001), ctx()); }, kInvariant,
                 "CACHE must be between 1 and 1000000");
  ok(cat().createSequence(spec(), ctx()));
  expectRejected([&] { return cat().createSequence(spec(), ctx()); }, kExists,
                 "table shop.orders already has a sequence (for column id)");
}

TEST_F(Sequences, DropRemovesItAndTheRuleCannotGoFirst) {
  makeOrders();
  ok(cat().createSequence(spec(), ctx()));
  expectRejected([&] { return cat().dropTableRule("shop", "orders", ctx()); }, kInvariant,
                 "table rule shop.orders has a sequence; DROP SEQUENCE FOR shop.orders first");
  ok(cat().dropSequence("shop", "orders", ctx()));
  EXPECT_EQ(snap()->findSequence("shop", "orders"), nullptr);
  expectRejected([&] { return cat().dropSequence("shop", "orders", ctx()); }, kNotFound,
                 "table shop.orders has no sequence");
  ok(cat().dropTableRule("shop", "orders", ctx()));
}

TEST_F(Sequences, ReservationsMoveForwardAndSurviveReopening) {
  makeOrders();
  ok(cat().createSequence(spec(7, 10), ctx()));
  const std::int64_t id = idOf();
  {
    auto s = store();
    auto a = s->reserve(id, 10);
    ASSERT_TRUE(a.ok()) << a.error().message;
    EXPECT_EQ(a->first, 7);
    EXPECT_EQ(a->count, 10);
    auto b = s->reserve(id, 3);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->first, 17);
  }
  // A restarted proxy (a new store) continues after everything reserved before.
  auto again = store()->reserve(id, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->first, 20);
  auto states = cat().sequences();
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(states->front().nextValue, 21);
  // Reservations are not catalog changes: no version bump.
  EXPECT_EQ(snap()->version, cat().version());
}

TEST_F(Sequences, DroppedOrExhaustedSequencesAreErrors) {
  makeOrders();
  ok(cat().createSequence(spec(std::numeric_limits<std::int64_t>::max() - 5, 10), ctx()));
  const std::int64_t id = idOf();
  auto s = store();
  auto tooMany = s->reserve(id, 10);
  ASSERT_FALSE(tooMany.ok());
  EXPECT_THAT(tooMany.error().message,
              ::testing::HasSubstr("sequence for shop.orders is exhausted"));
  EXPECT_TRUE(s->reserve(id, 5).ok());
  ok(cat().dropSequence("shop", "orders", ctx()));
  auto dropped = s->reserve(id, 1);
  ASSERT_FALSE(dropped.ok());
  EXPECT_EQ(static_cast<int>(dropped.error().code), static_cast<int>(kNotFound));
  EXPECT_THAT(dropped.error().message, ::testing::HasSubstr("was dropped"));
}

TEST_F(Sequences, TwoStoresOnOneFileNeverOverlap) {
  makeOrders();
  ok(cat().createSequence(spec(1, 100), ctx()));
  const std::int64_t id = idOf();
  constexpr int kRounds = 200;
  std::vector<SequenceBlock> blocks[2];
  auto run = [&](int who) {
    auto s = store();
    ASSERT_NE(s, nullptr);
    for (int i = 0; i < kRounds; ++i) {
      auto b = s->reserve(id, 1 + (i % 7));
      ASSERT_TRUE(b.ok()) << b.error().message;
      blocks[who].push_back(*b);
    }
  };
  std::thread a(run, 0);
  std::thread b(run, 1);
  a.join();
  b.join();
  std::vector<SequenceBlock> all(blocks[0]);
  all.insert(all.end(), blocks[1].begin(), blocks[1].end());
  ASSERT_EQ(all.size(), 2u * kRounds);
  std::sort(all.begin(), all.end(),
            [](const SequenceBlock& x, const SequenceBlock& y) { return x.first < y.first; });
  std::int64_t expected = 1;
  for (const SequenceBlock& blk : all) {
    EXPECT_EQ(blk.first, expected) << "a gap or an overlap";
    expected = blk.first + blk.count;
  }
  auto states = cat().sequences();
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(states->front().nextValue, expected);
}

TEST_F(Sequences, DroppingTheKeyspaceTakesItsSequences) {
  ok(cat().createKeyspace("shop", true, ctx()));
  ok(cat().createTableRule("shop", "orders", TableKind::kSharded, "id", ctx()));
  ok(cat().createSequence(spec(), ctx()));
  ok(cat().dropKeyspace("shop", ctx()));
  auto states = cat().sequences();
  ASSERT_TRUE(states.ok());
  EXPECT_TRUE(states->empty());
}

}  // namespace
}  // namespace shardproxy::catalog::test
