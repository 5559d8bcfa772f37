// describeWriteOutcome(): what the client's error says after a write on several shards did not
// succeed everywhere — the shards that applied it, those that failed (with their errno, or an
// unknown outcome when the connection was lost), each list capped.
#include "shardproxy/proxy/merge_relay.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::proxy {
namespace {

MergeResult outcome(std::size_t n) {
  MergeResult r;
  r.ok.assign(n, false);
  r.errors.resize(n);
  return r;
}

protocol::ErrPacket err(std::uint16_t code) {
  return protocol::ErrPacket{code, "42S21", "Duplicate column name 'note'"};
}

TEST(DescribeWriteOutcome, NamesAppliedAndFailedShardsInOrder) {
  std::vector<std::string_view> shards{"-55", "55-aa", "aa-"};
  MergeResult r = outcome(3);
  r.ok[0] = true;
  r.errors[1] = err(1060);
  r.ok[2] = true;
  EXPECT_EQ(describeWriteOutcome("shop", shards, r),
            " (keyspace 'shop': applied on -55, aa-; failed on 55-aa (1060); a statement on "
            "several shards is not atomic)");
}

TEST(DescribeWriteOutcome, SaysNoShardWhenNoneApplied) {
  std::vector<std::string_view> shards{"-80", "80-"};
  MergeResult r = outcome(2);
  r.errors[0] = err(1050);
  r.errors[1] = err(1146);
  EXPECT_EQ(describeWriteOutcome("shop", shards, r),
            " (keyspace 'shop': applied on no shard; failed on -80 (1050), 80- (1146); a "
            "statement on several shards is not atomic)");
}

TEST(DescribeWriteOutcome, ALostBackendHasAnUnknownOutcome) {
  std::vector<std::string_view> shards{"-80", "80-"};
  MergeResult r = outcome(2);
  r.ok[0] = true;
  EXPECT_EQ(describeWriteOutcome("shop", shards, r),
            " (keyspace 'shop': applied on -80; failed on 80- (connection lost, outcome "
            "unknown); a statement on several shards is not atomic)");
}

TEST(DescribeWriteOutcome, EmptyOutcomesCountAsUnknown) {
  std::vector<std::string_view> shards{"-80", "80-"};
  EXPECT_EQ(describeWriteOutcome("shop", shards, MergeResult{}),
            " (keyspace 'shop': applied on no shard; failed on -80 (connection lost, outcome "
            "unknown), 80- (connection lost, outcome unknown); a statement on several shards is "
            "not atomic)");
}

TEST(DescribeWriteOutcome, CapsEachListAtEightNames) {
  std::vector<std::string> names;
  for (int i = 0; i < 21; ++i)
    names.push_back("s" + std::to_string(i));
  std::vector<std::string_view> shards(names.begin(), names.end());
  MergeResult r = outcome(21);
  for (std::size_t i = 0; i < 21; ++i) {
    if (i % 2 == 0) {
      r.ok[i] = true;  // 11 applied: s0, s2, ... s20
    } else {
      r.errors[i] = err(1060);  // 10 failed: s1, s3, ... s19
    }
  }
  EXPECT_EQ(describeWriteOutcome("big", shards, r),
            " (keyspace 'big': applied on s0, s2, s4, s6, s8, s10, s12, s14 and 3 more; failed on "
            "s1 (1060), s3 (1060), s5 (1060), s7 (1060), s9 (1060), s11 (1060), s13 (1060), s15 "
            "(1060) and 2 more; a statement on several shards is not atomic)");
}

TEST(DescribeWriteOutcome, ExactlyEightNamesNeedNoMore) {
  std::vector<std::string> names;
  for (int i = 0; i < 8; ++i)
    names.push_back("s" + std::to_string(i));
  std::vector<std::string_view> shards(names.begin(), names.end());
  MergeResult r = outcome(8);
  for (std::size_t i = 0; i < 8; ++i)
    r.errors[i] = err(1060);
  std::string got = describeWriteOutcome("ks", shards, r);
  EXPECT_NE(got.find("s7 (1060); a statement"), std::string::npos) << got;
  EXPECT_EQ(got.find("more"), std::string::npos) << got;
}

}  // namespace
}  // namespace shardproxy::proxy

namespace shardproxy::proxy {
namespace {

TEST(SumOkInfo, AddsTheNumbersOfTheSameWords) {
  const std::vector<std::string> update = {"Rows matched: 3  Changed: 2  Warnings: 0",
                                           "Rows matched: 10  Changed: 0  Warnings: 1"};
  EXPECT_EQ(sumOkInfo(update), "Rows matched: 13  Changed: 2  Warnings: 1");
  const std::vector<std::string> insert = {"Records: 4  Duplicates: 1  Warnings: 0",
                                           "Records: 2  Duplicates: 0  Warnings: 0"};
  EXPECT_EQ(sumOkInfo(insert), "Records: 6  Duplicates: 1  Warnings: 0");
  EXPECT_EQ(sumOkInfo(std::vector<std::string>{"", ""}), "");
  const std::vector<std::string> mixed = {"Rows matched: 1  Changed: 1  Warnings: 0", ""};
  EXPECT_EQ(sumOkInfo(mixed), "");
  EXPECT_EQ(sumOkInfo(std::vector<std::string>{}), "");
}

TEST(InsertPartInfo, CountsDuplicatesAsTheServerDoesForTheStatement) {
  // Checked on MariaDB 10.11 with the statement's rows in one multi-row INSERT: a one-row part
  // answers no info, so the session writes the part's share of the client's one.
  using Kind = router::Plan::InsertKind;
  EXPECT_EQ(insertPartInfo(Kind::kInsert, 1, 0), "Records: 1  Duplicates: 0  Warnings: 0");
  EXPECT_EQ(insertPartInfo(Kind::kIgnore, 0, 1), "Records: 1  Duplicates: 1  Warnings: 1");
  EXPECT_EQ(insertPartInfo(Kind::kIgnore, 1, 1), "Records: 1  Duplicates: 0  Warnings: 1");
  EXPECT_EQ(insertPartInfo(Kind::kUpsert, 2, 0), "Records: 1  Duplicates: 1  Warnings: 0");
  EXPECT_EQ(insertPartInfo(Kind::kUpsert, 0, 0), "Records: 1  Duplicates: 0  Warnings: 0");
  EXPECT_EQ(insertPartInfo(Kind::kReplace, 3, 0), "Records: 1  Duplicates: 2  Warnings: 0");
  // With a multi-row part's own info: "INSERT IGNORE ... (1), (2), (3)" as 1 + 2 rows.
  const std::vector<std::string> parts = {insertPartInfo(Kind::kIgnore, 0, 1),
                                          "Records: 2  Duplicates: 0  Warnings: 0"};
  EXPECT_EQ(sumOkInfo(parts), "Records: 3  Duplicates: 1  Warnings: 1");
}

}  // namespace
}  // namespace shardproxy::proxy
