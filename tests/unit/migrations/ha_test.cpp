// The pure pieces of the HA manager (docs/high-availability.md).
#include "shardproxy/migrations/ha.h"

#include <gtest/gtest.h>

namespace shardproxy::migrations {
namespace {

TEST(TransactionsMissing, CountsWhatTheFirstPositionHasAndTheSecondLacks) {
  EXPECT_EQ(transactionsMissing("0-1-100", "0-1-100"), 0);
  EXPECT_EQ(transactionsMissing("0-1-100", "0-2-97"), 3);       // the server id does not matter
  EXPECT_EQ(transactionsMissing("0-1-97", "0-2-100"), 0);       // behind has more: nothing missing
  EXPECT_EQ(transactionsMissing("0-1-10,1-5-7", "0-1-10"), 7);  // a domain it never saw
  EXPECT_EQ(transactionsMissing("0-1-10,1-5-7", "1-5-2,0-1-4"), 11);
  EXPECT_EQ(transactionsMissing("", "0-1-4"), 0);
  EXPECT_EQ(transactionsMissing("0-1-4", ""), 4);
}

}  // namespace
}  // namespace shardproxy::migrations
