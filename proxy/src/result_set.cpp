#include "shardproxy/proxy/result_set.h"

#include <cstdlib>

#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/messages.h"

namespace shardproxy::proxy {

void encodeResultSet(const TextResultSet& rs, std::uint32_t caps, std::uint16_t status,
                     std::uint8_t& seq, protocol::Bytes& out, bool binaryRows) {
  const bool deprecateEof = (caps & protocol::cap::kDeprecateEof) != 0;
  std::size_t start = protocol::beginPacket(out);
  protocol::ByteWriter(out).lenenc(rs.columns.size());
  protocol::endPacket(out, start, seq);
  for (std::size_t c = 0; c < rs.columns.size(); ++c) {
    const std::string& name = rs.columns[c];
    start = protocol::beginPacket(out);
    protocol::ColumnDefinition def;
    def.name = name;
    def.orgName = name;
    def.charset = protocol::kCharsetUtf8mb4GeneralCi;
    def.columnLength = 1024;
    def.type = 0xfd;  // MYSQL_TYPE_VAR_STRING
    if (c < rs.integer.size() && rs.integer[c]) {
      def.charset = 63;  // binary
      def.columnLength = 21;
      def.type = 0x08;   // MYSQL_TYPE_LONGLONG
      def.flags = 0x81;  // NOT_NULL | BINARY
    }
    protocol::encode(def, out, (caps & protocol::cap::kMariadbExtendedMetadata) != 0);
    protocol::endPacket(out, start, seq);
  }
  if (!deprecateEof) {
    start = protocol::beginPacket(out);
    protocol::encode(protocol::EofPacket{0, status}, out);
    protocol::endPacket(out, start, seq);
  }
  auto isInteger = [&](std::size_t c) { return c < rs.integer.size() && rs.integer[c]; };
  for (const auto& row : rs.rows) {
    start = protocol::beginPacket(out);
    protocol::ByteWriter w(out);
    if (binaryRows) {
      // Protocol::BinaryResultsetRow: 0x00, the NULL bitmap (offset 2), then the non-NULL values.
      w.u8(0x00);
      std::vector<std::uint8_t> nulls((row.size() + 7 + 2) / 8, 0);
      for (std::size_t c = 0; c < row.size(); ++c)
        if (!row[c]) nulls[(c + 2) / 8] |= static_cast<std::uint8_t>(1U << ((c + 2) % 8));
      for (std::uint8_t b : nulls)
        w.u8(b);
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (!row[c]) continue;
        if (isInteger(c)) {
          w.u64(std::strtoull(row[c]->c_str(), nullptr, 10));
        } else {
          w.lenencStr(*row[c]);
        }
      }
      protocol::endPacket(out, start, seq);
      continue;
    }
    for (const auto& cell : row) {
      if (cell) {
        w.lenencStr(*cell);
      } else {
        w.u8(0xfb);  // NULL
      }
    }
    protocol::endPacket(out, start, seq);
  }
  start = protocol::beginPacket(out);
  if (deprecateEof) {
    protocol::OkPacket ok;
    ok.eofHeader = true;
    ok.statusFlags = status;
    protocol::encode(ok, caps & ~protocol::cap::kSessionTrack, out);
    if (caps & protocol::cap::kSessionTrack) protocol::ByteWriter(out).u8(0);
  } else {
    protocol::encode(protocol::EofPacket{0, status}, out);
  }
  protocol::endPacket(out, start, seq);
}

}  // namespace shardproxy::proxy
