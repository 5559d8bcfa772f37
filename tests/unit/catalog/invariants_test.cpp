// The whole-catalog check that runs before every COMMIT. The mutators never get this far with a
// broken rule, so these tests break the file by hand (as a DBA with the sqlite3 shell could) and
// show that no further change commits on top of it, and that the message names the rule.
#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

class Invariants : public CatalogTest {
 protected:
  void expectNextChangeRejected(const std::string& messagePart) {
    expectRejected([&] { return cat().createKeyspace("unrelated", false, ctx()); }, kInvariant,
                   messagePart);
  }
};

TEST_F(Invariants, TwoPrimariesInAShard) {
  makeShop();
  query(path(), "UPDATE backends SET role = 'primary' WHERE port = 13307");
  expectNextChangeRejected("shard shop.-80 has 2 primaries; a shard with backends has exactly one");
}

TEST_F(Invariants, ReplicasWithoutAPrimary) {
  makeShop();
  query(path(), "UPDATE backends SET role = 'replica' WHERE port = 13306");
  expectNextChangeRejected("shard shop.-80 has 0 primaries");
}

TEST_F(Invariants, OverlappingServingShards) {
  makeShop();
  query(path(), "INSERT INTO shards VALUES ('shop', '40-', '4000000000000000', NULL, 1)");
  expectNextChangeRejected("serving shards shop.-80 and shop.40- overlap");
}

TEST_F(Invariants, ShardNameThatIsNotItsRange) {
  makeShop();
  query(path(), "UPDATE shards SET range_end = '4000000000000000' WHERE name = '-80'");
  expectNextChangeRejected(
      "shard shop.-80: its name is not the canonical form of its key range -40");
}

TEST_F(Invariants, UnshardedKeyspaceWithTwoShards) {
  ok(cat().createKeyspace("main", false, ctx()));
  ok(cat().createShard("main", "0", ep(1), {}, true, ctx()));
  query(path(), "INSERT INTO shards VALUES ('main', '1', '0000000000000000', NULL, 0)");
  expectNextChangeRejected(
      "unsharded keyspace 'main' has 2 shards (main.0, main.1); it may have "
      "only one");
}

TEST_F(Invariants, ServingRangeShardInAnUnshardedKeyspace) {
  ok(cat().createKeyspace("main", false, ctx()));
  ok(cat().createShard("main", "-80", ep(2), {}, false, ctx()));  // a resharding target
  query(path(), "UPDATE shards SET serving = 1 WHERE name = '-80'");
  expectNextChangeRejected("shard main.-80 of unsharded keyspace 'main' must own the whole key");
}

TEST_F(Invariants, ServingShardWithoutARangeNameInAShardedKeyspace) {
  // The old shard of a keyspace that was unsharded may stay, but never serve.
  ok(cat().createKeyspace("shop", true, ctx()));
  query(path(), "INSERT INTO shards VALUES ('shop', '0', '0000000000000000', NULL, 1)");
  expectNextChangeRejected("shard shop.0: its name is not the canonical form of its key range -");
}

TEST_F(Invariants, ShardedTableRuleWithoutAShardKey) {
  ok(cat().createKeyspace("shop", true, ctx()));
  ok(cat().createTableRule("shop", "orders", TableKind::kSharded, "id", ctx()));
  query(path(), "UPDATE table_rules SET shard_key = '' WHERE table_name = 'orders'");
  expectNextChangeRejected("sharded table rule shop.orders needs a shard key column");
}

TEST_F(Invariants, DanglingForeignKey) {
  makeShop();
  // The hand-edit connection has foreign keys off, as the sqlite3 shell does by default.
  query(path(), "DELETE FROM shards WHERE name = '80-'");
  expectNextChangeRejected("a row of table backends refers to a missing shards");
}

TEST_F(Invariants, MalformedStoredRangeIsReportedNotGuessed) {
  makeShop();
  query(path(), "UPDATE shards SET range_start = 'zzzzzzzzzzzzzzzz' WHERE name = '80-'");
  auto s = cat().snapshot();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message,
              ::testing::HasSubstr("shard shop.80- has a malformed stored key range"));
}

}  // namespace
}  // namespace shardproxy::catalog::test
