// The binlog row-image decoder (row_image.h), on images built by hand in the row-based
// replication format. The real-server check of every column type is the resharding integration
// test, whose tables include CHAR, VARCHAR, BIGINT, DECIMAL-free keys.
#include "row_image.h"

#include <gtest/gtest.h>

#include <string>

namespace shardproxy::migrations {
namespace {

// Table (id BIGINT, c CHAR(2) utf8mb4, v VARCHAR(20), t TINYINT UNSIGNED).
const std::string kTypes = std::string("\x08\xfe\x0f\x01", 4);
const std::string kMeta = std::string("\xfe\x08\x14\x00", 4);  // CHAR: type, 8 bytes; VARCHAR: 20

std::string le64(std::int64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i)
    s[static_cast<std::size_t>(i)] =
        static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff);
  return s;
}

std::string image(std::int64_t id, const std::string& c, bool vNull, std::uint8_t t) {
  std::string out(1, vNull ? '\x04' : '\x00');  // null bitmap over the 4 present columns
  out += le64(id);
  out += static_cast<char>(c.size());
  out += c;
  if (!vNull) out += std::string("\x03", 1) + "abc";
  out += static_cast<char>(t);
  return out;
}

const std::string kAll("\x0f", 1);  // all four columns present

KeyColumns idKey() {
  KeyColumns k;
  k.columns.push_back({0, false, false, ""});
  return k;
}

TEST(RowImage, DecodesKeysPastCharAndVarcharColumns) {
  const std::string data = image(-5, "FI", false, 200) + image(7, "", true, 1);
  RowsView rows{4, kAll, {}, data};
  std::vector<std::vector<std::string>> keys;
  Status st = decodeRowKeys({kTypes, kMeta}, rows, idKey(), keys);
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(keys.size(), 2U);
  EXPECT_EQ(keys[0][0], "-5");
  EXPECT_EQ(keys[1][0], "7");
}

TEST(RowImage, UpdatesYieldTheBeforeAndTheAfterKey) {
  const std::string data = image(1, "AB", false, 0) + image(2, "CD", false, 0);
  RowsView rows{4, kAll, kAll, data};
  std::vector<std::vector<std::string>> keys;
  Status st = decodeRowKeys({kTypes, kMeta}, rows, idKey(), keys);
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(keys.size(), 2U);
  EXPECT_EQ(keys[0][0], "1");
  EXPECT_EQ(keys[1][0], "2");
}

TEST(RowImage, StringAndUnsignedKeysBecomeLiterals) {
  KeyColumns k;
  k.columns.push_back({1, false, true, "utf8mb4"});
  k.columns.push_back({3, true, false, ""});
  const std::string data = image(1, "FI", false, 200);
  RowsView rows{4, kAll, {}, data};
  std::vector<std::vector<std::string>> keys;
  ASSERT_TRUE(decodeRowKeys({kTypes, kMeta}, rows, k, keys));
  ASSERT_EQ(keys.size(), 1U);
  EXPECT_EQ(keys[0][0], "_utf8mb4 X'4649'");
  EXPECT_EQ(keys[0][1], "200");
}

TEST(RowImage, TruncatedImagesAndMissingKeyColumnsAreErrors) {
  std::string full = image(1, "FI", false, 0);
  for (std::size_t cut = 1; cut < full.size(); ++cut) {
    const std::string part = full.substr(0, cut);
    RowsView rows{4, kAll, {}, part};
    std::vector<std::vector<std::string>> keys;
    EXPECT_FALSE(decodeRowKeys({kTypes, kMeta}, rows, idKey(), keys)) << "cut at " << cut;
  }
  // A minimal row image without the key column (binlog_row_image=MINIMAL).
  const std::string withoutKey = std::string(1, '\0') + full.substr(9);
  const std::string present("\x0e", 1);
  RowsView rows{4, present, {}, withoutKey};
  std::vector<std::vector<std::string>> keys;
  EXPECT_FALSE(decodeRowKeys({kTypes, kMeta}, rows, idKey(), keys));
}

}  // namespace
}  // namespace shardproxy::migrations
