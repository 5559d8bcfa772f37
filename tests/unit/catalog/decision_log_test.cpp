// The two-phase commit decision log: compare-and-set decisions, recovery's abandon rule, and two
// logs on one file agreeing (a session's and the recovery pass's connections).
#include "shardproxy/catalog/decision_log.h"

#include <gtest/gtest.h>

#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

class DecisionLogTest : public CatalogTest {
 protected:
  std::unique_ptr<DecisionLog> open(const std::string& file) {
    auto log = DecisionLog::open(file);
    EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
    return log.ok() ? std::move(*log) : nullptr;
  }
};

TEST_F(DecisionLogTest, DecidesOnceAndTheFirstDecisionWins) {
  const std::string file = path("d.db");
  auto log = open(file);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->catalogId().size(), 8u);
  ASSERT_TRUE(log->recordPrepare("sp-x-1", "shop/-80@h:1, shop/80-@h:2", 1000).ok());
  EXPECT_FALSE(log->recordPrepare("sp-x-1", "again", 1001).ok());  // ids are unique
  auto d = log->decide("sp-x-1", Decision::kCommit, 1002);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, Decision::kCommit);
  // A later rollback (recovery) does not overturn it.
  EXPECT_EQ(*log->decide("sp-x-1", Decision::kRollback, 1003), Decision::kCommit);
  EXPECT_EQ(*log->resolve("sp-x-1", 999999), std::optional(Decision::kCommit));
  EXPECT_EQ(*log->createdMs("sp-x-1"), std::optional<std::int64_t>(1000));
  EXPECT_EQ(*log->createdMs("sp-x-2"), std::nullopt);
  // No row: rolled back and forgotten.
  EXPECT_EQ(*log->decide("sp-x-404", Decision::kCommit, 1004), Decision::kRollback);
  EXPECT_EQ(*log->resolve("sp-x-404", 999999), std::nullopt);
  ASSERT_TRUE(log->forget("sp-x-1").ok());
  EXPECT_TRUE(log->list()->empty());
}

TEST_F(DecisionLogTest, RecoveryAbandonsOnlyOldUndecidedRowsAndTheOwnerSeesIt) {
  const std::string file = path("d.db");
  auto owner = open(file);
  auto recovery = open(file);
  ASSERT_TRUE(owner && recovery);
  EXPECT_EQ(owner->catalogId(), recovery->catalogId());
  ASSERT_TRUE(owner->recordPrepare("sp-x-young", "b", 5000).ok());
  ASSERT_TRUE(owner->recordPrepare("sp-x-old", "b", 1000).ok());
  // Abandon before 2000: only the old one.
  EXPECT_EQ(*recovery->resolve("sp-x-young", 2000), std::optional(Decision::kPrepare));
  EXPECT_EQ(*recovery->resolve("sp-x-old", 2000), std::optional(Decision::kRollback));
  // The stalled owner's commit comes too late: the rollback stands.
  EXPECT_EQ(*owner->decide("sp-x-old", Decision::kCommit, 6000), Decision::kRollback);
  EXPECT_EQ(*owner->decide("sp-x-young", Decision::kCommit, 6000), Decision::kCommit);
  auto all = recovery->list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].gtrid, "sp-x-old");
  EXPECT_EQ((*all)[0].state, Decision::kRollback);
  EXPECT_EQ((*all)[1].state, Decision::kCommit);
}

TEST_F(DecisionLogTest, TheCatalogListsTheLogForShowTransactions) {
  const std::string file = path("d.db");
  auto catalog = openCatalog(file);
  auto log = open(file);
  ASSERT_TRUE(catalog && log);
  EXPECT_TRUE(catalog->twopcTransactions()->empty());
  ASSERT_TRUE(log->recordPrepare("sp-x-7", "shop/-80@h:1, shop/80-@h:2", 1000).ok());
  ASSERT_TRUE(log->decide("sp-x-7", Decision::kCommit, 1001).ok());
  auto rows = catalog->twopcTransactions();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].gtrid, "sp-x-7");
  EXPECT_EQ((*rows)[0].state, Decision::kCommit);
  EXPECT_EQ((*rows)[0].branches, "shop/-80@h:1, shop/80-@h:2");
}

TEST_F(DecisionLogTest, TheCatalogIdentityIsKeptAcrossOpens) {
  const std::string file = path("d.db");
  std::string id;
  {
    auto a = open(file);
    ASSERT_TRUE(a);
    id = a->catalogId();
  }
  auto b = open(file);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->catalogId(), id);
  auto other = open(path("other.db"));
  ASSERT_TRUE(other);
  EXPECT_NE(other->catalogId(), id);
}

}  // namespace
}  // namespace shardproxy::catalog::test
