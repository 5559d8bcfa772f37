// Keyspace IDs decide where rows live. These values were computed once and are pinned: if one of
// these tests fails, data placement changed, and every existing sharded keyspace would be
// misrouted. Do not "fix" a failure by updating the constants; find what changed.
#include "shardproxy/router/keyspace_id.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <thread>

namespace shardproxy::router {
namespace {

constexpr auto kCi = StringCollation::kCaseInsensitive;
constexpr auto kBin = StringCollation::kBinary;

TEST(KeyspaceId, IntegersArePinned) {
  EXPECT_EQ(keyspaceIdOfInt(0), 0xc77b3abb6f87acd9u);
  EXPECT_EQ(keyspaceIdOfInt(1), 0xf36b4a1a44f78bf3u);
  EXPECT_EQ(keyspaceIdOfInt(-1), 0x5111c7e47d784413u);
  EXPECT_EQ(keyspaceIdOfInt(42), 0x2e4fe982b68910acu);
  EXPECT_EQ(keyspaceIdOfInt(std::numeric_limits<std::int64_t>::max()), 0xf832fc1d899fe591u);
  EXPECT_EQ(keyspaceIdOfInt(std::numeric_limits<std::int64_t>::min()), 0xb7aa1c28d234f8d6u);
}

TEST(KeyspaceId, SignedAndUnsignedAgreeOnTheTwosComplementBits) {
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{42},
                         std::numeric_limits<std::int64_t>::max()}) {
    EXPECT_EQ(keyspaceIdOfInt(v), keyspaceIdOfUint(static_cast<std::uint64_t>(v))) << v;
  }
  EXPECT_EQ(keyspaceIdOfUint(std::numeric_limits<std::uint64_t>::max()), keyspaceIdOfInt(-1));
  EXPECT_EQ(keyspaceIdOfUint(std::uint64_t{1} << 63),
            keyspaceIdOfInt(std::numeric_limits<std::int64_t>::min()));
}

TEST(KeyspaceId, IntegersAreTheHashOfTheirBigEndianBytes) {
  // The encoding is the contract: 8 bytes, most significant first.
  EXPECT_EQ(keyspaceIdOfUint(0x4142434445464748u), keyspaceIdOfString("ABCDEFGH", kBin));
  EXPECT_EQ(keyspaceIdOfInt(0), keyspaceIdOfString(std::string(8, '\0'), kBin));
}

TEST(KeyspaceId, BinaryStringsArePinnedAndExact) {
  EXPECT_EQ(keyspaceIdOfString("", kBin), 0x2d06800538d394c2u);
  EXPECT_EQ(keyspaceIdOfString("ABC", kBin), 0x244da40f405c870eu);
  EXPECT_EQ(keyspaceIdOfString("abc", kBin), 0x78af5f94892f3950u);
  EXPECT_EQ(keyspaceIdOfString("Abc  ", kBin), 0xf3b53b1032d9ab97u);
  EXPECT_EQ(keyspaceIdOfString("e", kBin), 0xe5e72e5e3bec4a78u);
  EXPECT_EQ(keyspaceIdOfString("\xC3\xA9", kBin), 0xf7940a006cf10cb3u);  // é
  EXPECT_NE(keyspaceIdOfString("abc", kBin), keyspaceIdOfString("abc ", kBin));
}

TEST(KeyspaceId, CaseInsensitiveStringsArePinned) {
  EXPECT_EQ(keyspaceIdOfString("", kCi), 0x2d06800538d394c2u);
  EXPECT_EQ(keyspaceIdOfString("ABC", kCi), 0xe2df8d869275c6a2u);
  EXPECT_EQ(keyspaceIdOfString("e", kCi), 0xfb95a7322f5da314u);
  EXPECT_EQ(keyspaceIdOfString("caf\xC3\xA9", kCi), 0x60455765485a0d0au);  // café
  EXPECT_EQ(keyspaceIdOfString("Stra\xC3\x9F"
                               "e",
                               kCi),
            0xf5be483a5e2b0732u);  // Straße
}

TEST(KeyspaceId, CaseInsensitiveFoldsCaseAccentsAndTrailingSpaces) {
  auto abc = keyspaceIdOfString("abc", kCi);
  EXPECT_EQ(keyspaceIdOfString("ABC", kCi), abc);
  EXPECT_EQ(keyspaceIdOfString("Abc  ", kCi), abc);
  EXPECT_EQ(keyspaceIdOfString("aBC ", kCi), abc);
  auto e = keyspaceIdOfString("e", kCi);
  EXPECT_EQ(keyspaceIdOfString("\xC3\xA9", kCi), e);  // é
  EXPECT_EQ(keyspaceIdOfString("E", kCi), e);
  EXPECT_EQ(keyspaceIdOfString("\xC3\x89", kCi), e);   // É
  EXPECT_EQ(keyspaceIdOfString("e\xCC\x81", kCi), e);  // e + combining acute
  EXPECT_EQ(keyspaceIdOfString("cafe", kCi), keyspaceIdOfString("CAF\xC3\x89", kCi));
  EXPECT_EQ(keyspaceIdOfString("   ", kCi), keyspaceIdOfString("", kCi));
}

TEST(KeyspaceId, CaseInsensitiveStillSeparatesDifferentText) {
  EXPECT_NE(keyspaceIdOfString("abc", kCi), keyspaceIdOfString("abd", kCi));
  EXPECT_NE(keyspaceIdOfString("abc", kCi), keyspaceIdOfString("ab", kCi));
  // Leading and inner spaces count; only trailing ones are padding.
  EXPECT_NE(keyspaceIdOfString(" abc", kCi), keyspaceIdOfString("abc", kCi));
  EXPECT_NE(keyspaceIdOfString("a bc", kCi), keyspaceIdOfString("abc", kCi));
  // A trailing tab is not padding.
  EXPECT_NE(keyspaceIdOfString("abc\t", kCi), keyspaceIdOfString("abc", kCi));
}

TEST(KeyspaceId, BinaryDoesNotFold) {
  EXPECT_NE(keyspaceIdOfString("ABC", kBin), keyspaceIdOfString("abc", kBin));
  EXPECT_NE(keyspaceIdOfString("e", kBin), keyspaceIdOfString("\xC3\xA9", kBin));
}

TEST(KeyspaceId, MalformedUtf8IsHashedDeterministically) {
  std::string bad = "ab\xFF\xC3";
  EXPECT_EQ(keyspaceIdOfString(bad, kCi), keyspaceIdOfString(bad, kCi));
  EXPECT_NE(keyspaceIdOfString(bad, kCi), keyspaceIdOfString("ab", kCi));
}

TEST(KeyspaceId, LongStringsGrowTheSortKeyBuffer) {
  std::string lower(10000, 'x');
  std::string upper(10000, 'X');
  EXPECT_EQ(keyspaceIdOfString(lower, kCi), keyspaceIdOfString(upper + "   ", kCi));
  EXPECT_NE(keyspaceIdOfString(lower, kCi), keyspaceIdOfString(lower + "y", kCi));
}

TEST(KeyspaceId, EveryThreadComputesTheSameValues) {
  std::uint64_t here = keyspaceIdOfString("Caf\xC3\xA9", kCi);
  std::uint64_t there = 0;
  std::thread t([&] { there = keyspaceIdOfString("CAFE", kCi); });
  t.join();
  EXPECT_EQ(here, there);
}

TEST(KeyspaceId, CollatorVersionIsReported) {
  // Recorded by the catalog; _ci keyspace IDs are only stable while it is unchanged.
  EXPECT_FALSE(collatorVersion().empty());
}

}  // namespace
}  // namespace shardproxy::router
