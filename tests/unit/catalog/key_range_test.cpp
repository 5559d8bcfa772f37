#include <gtest/gtest.h>

#include "shardproxy/catalog/snapshot.h"

namespace shardproxy::catalog {
namespace {

constexpr std::uint64_t kHalf = 0x8000000000000000ULL;

KeyRange range(std::uint64_t start, std::optional<std::uint64_t> end) {
  return KeyRange{start, end};
}

TEST(KeyRange, ParsesVitessNotation) {
  EXPECT_EQ(KeyRange::parse("-80"), range(0, kHalf));
  EXPECT_EQ(KeyRange::parse("80-"), range(kHalf, std::nullopt));
  EXPECT_EQ(KeyRange::parse("80-c0"), range(kHalf, 0xc000000000000000ULL));
  EXPECT_EQ(KeyRange::parse("-"), range(0, std::nullopt));
  EXPECT_EQ(KeyRange::parse("40-4080"), range(0x4000000000000000ULL, 0x4080000000000000ULL));
  EXPECT_EQ(KeyRange::parse("0123456789abcdef-fedcba9876543210"),
            range(0x0123456789abcdefULL, 0xfedcba9876543210ULL));
}

TEST(KeyRange, HexDigitsAreALeftAlignedPrefix) {
  EXPECT_EQ(KeyRange::parse("8-"), KeyRange::parse("80-"));
  EXPECT_EQ(KeyRange::parse("-8"), KeyRange::parse("-8000"));
  EXPECT_EQ(KeyRange::parse("-C0"), KeyRange::parse("-c0"));  // either case
  EXPECT_EQ(KeyRange::parse("00-80"), KeyRange::parse("-80"));
}

TEST(KeyRange, RejectsMalformedText) {
  for (const char* text : {"", "80", "--", "-80-", "x-80", "-8g", "80-80", "c0-80", "-00",
                           "-00000000000000000", "11111111111111111-", " -80", "-80 "}) {
    EXPECT_EQ(KeyRange::parse(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(KeyRange, PrintsTheShortestEvenLengthForm) {
  EXPECT_EQ(range(0, kHalf).toString(), "-80");
  EXPECT_EQ(range(kHalf, std::nullopt).toString(), "80-");
  EXPECT_EQ(range(kHalf, 0xc000000000000000ULL).toString(), "80-c0");
  EXPECT_EQ(range(0, std::nullopt).toString(), "-");
  EXPECT_EQ(range(0x4000000000000000ULL, 0x4080000000000000ULL).toString(), "40-4080");
  EXPECT_EQ(range(0x0800000000000000ULL, 0x1000000000000000ULL).toString(), "08-10");
  EXPECT_EQ(range(0xffffffffffffffffULL, std::nullopt).toString(), "ffffffffffffffff-");
  EXPECT_EQ(KeyRange::parse("8-c")->toString(), "80-c0");
}

TEST(KeyRange, FormatThenParseRoundTrips) {
  for (const char* text : {"-80", "80-", "-", "40-80", "0102-0103", "ff-", "-01"}) {
    auto parsed = KeyRange::parse(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(parsed->toString(), text);
  }
}

TEST(KeyRange, OverlapIsHalfOpen) {
  const auto low = *KeyRange::parse("-80");
  const auto high = *KeyRange::parse("80-");
  const auto whole = *KeyRange::parse("-");
  const auto mid = *KeyRange::parse("40-c0");
  EXPECT_FALSE(low.overlaps(high));
  EXPECT_FALSE(high.overlaps(low));
  EXPECT_TRUE(whole.overlaps(low));
  EXPECT_TRUE(high.overlaps(whole));
  EXPECT_TRUE(mid.overlaps(low));
  EXPECT_TRUE(mid.overlaps(high));
  EXPECT_TRUE(low.overlaps(low));
  EXPECT_FALSE(KeyRange::parse("-40")->overlaps(*KeyRange::parse("40-80")));
  EXPECT_TRUE(KeyRange::parse("c0-")->overlaps(*KeyRange::parse("ff-")));
}

TEST(KeyRange, ContainsIsHalfOpen) {
  const auto low = *KeyRange::parse("-80");
  EXPECT_TRUE(low.contains(0));
  EXPECT_TRUE(low.contains(kHalf - 1));
  EXPECT_FALSE(low.contains(kHalf));
  EXPECT_TRUE(KeyRange::parse("80-")->contains(0xffffffffffffffffULL));
}

TEST(EnumNames, MatchTheCatalogAndJsonSpelling) {
  EXPECT_EQ(toString(BackendRole::kPrimary), "primary");
  EXPECT_EQ(toString(BackendRole::kReplica), "replica");
  EXPECT_EQ(toString(BackendState::kOnline), "online");
  EXPECT_EQ(toString(BackendState::kDraining), "draining");
  EXPECT_EQ(toString(BackendState::kOffline), "offline");
  EXPECT_EQ(toString(TableKind::kSharded), "sharded");
  EXPECT_EQ(toString(TableKind::kReference), "reference");
}

}  // namespace
}  // namespace shardproxy::catalog
