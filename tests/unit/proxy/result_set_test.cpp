#include "shardproxy/proxy/result_set.h"

#include <gtest/gtest.h>

#include <vector>

#include "shardproxy/proxy/merge/cells.h"
#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/messages.h"

namespace shardproxy::proxy {
namespace {

using protocol::ByteView;

// The payloads of the framed packets in `out`, checking their sequence ids run on from 1.
std::vector<ByteView> packets(const protocol::Bytes& out) {
  std::vector<ByteView> p;
  std::uint8_t seq = 1;
  for (std::size_t at = 0; at < out.size();) {
    auto h = protocol::parseHeader(out.data() + at);
    EXPECT_EQ(h.seq, seq++);
    p.push_back(ByteView(out).subspan(at + protocol::kHeaderSize, h.length));
    at += protocol::kHeaderSize + h.length;
  }
  return p;
}

TextResultSet foundRowsAndText() {
  TextResultSet rs;
  rs.columns = {"FOUND_ROWS()", "note"};
  rs.integer = {true, false};
  rs.rows.push_back({"1068", std::nullopt});
  rs.rows.push_back({"18446744073709551615", "x"});
  return rs;
}

TEST(ProxyResultSet, BinaryRowsCarryBigintsAsEightBytesAndNullsInTheBitmap) {
  protocol::Bytes out;
  std::uint8_t seq = 1;
  encodeResultSet(foundRowsAndText(), protocol::cap::kDeprecateEof, 0, seq, out,
                  /*binaryRows=*/true);
  auto p = packets(out);
  ASSERT_EQ(p.size(), 6u);  // count, 2 definitions, 2 rows, the OK terminator
  auto def = protocol::decodeColumnDefinition(p[1]);
  ASSERT_TRUE(def);
  EXPECT_EQ(def->type, 0x08);  // MYSQL_TYPE_LONGLONG, as the server types FOUND_ROWS()
  EXPECT_EQ(def->flags, 0x81);
  std::vector<merge::ColumnType> types = {
      merge::ColumnType::of(*def), merge::ColumnType::of(*protocol::decodeColumnDefinition(p[2]))};
  std::vector<merge::Cell> cells(2);
  ASSERT_TRUE(merge::decodeBinaryRow(p[3], types, cells));
  ASSERT_EQ(cells[0].size, 8u);
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | cells[0].data[i];
  EXPECT_EQ(v, 1068u);
  EXPECT_TRUE(cells[1].null);
  ASSERT_TRUE(merge::decodeBinaryRow(p[4], types, cells));
  EXPECT_FALSE(cells[1].null);
  EXPECT_EQ(cells[1].view(), "x");
  EXPECT_TRUE(protocol::isEofOrOkTerminator(p[5], protocol::cap::kDeprecateEof));
}

TEST(ProxyResultSet, TextRowsAreLengthEncodedStrings) {
  protocol::Bytes out;
  std::uint8_t seq = 1;
  encodeResultSet(foundRowsAndText(), 0, 0, seq, out);
  auto p = packets(out);
  ASSERT_EQ(p.size(), 7u);  // count, 2 definitions, EOF, 2 rows, EOF
  std::vector<merge::Cell> cells(2);
  ASSERT_TRUE(merge::decodeTextRow(p[4], cells));
  EXPECT_EQ(cells[0].view(), "1068");
  EXPECT_TRUE(cells[1].null);
}

}  // namespace
}  // namespace shardproxy::proxy
