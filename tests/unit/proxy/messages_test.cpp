#include "shardproxy/proxy/protocol/messages.h"

#include <gtest/gtest.h>

namespace shardproxy::proxy::protocol {
namespace {

ByteView payloadOf(const Bytes& framed) {
  return ByteView(framed).subspan(kHeaderSize);
}

Bytes framed(auto&& encodeFn) {
  Bytes out;
  std::uint8_t seq = 0;
  std::size_t start = beginPacket(out);
  encodeFn(out);
  endPacket(out, start, seq);
  return out;
}

HandshakeV10 sampleHandshake() {
  HandshakeV10 h;
  h.serverVersion = "10.11.6-MariaDB";
  h.connectionId = 0x01020304;
  h.authPluginData = "abcdefghijklmnopqrst";
  h.capabilities = cap::kProtocol41 | cap::kSecureConnection | cap::kPluginAuth |
                   cap::kDeprecateEof | cap::kLongPassword;
  h.charset = 45;
  h.statusFlags = status::kAutocommit;
  h.authPluginName = kNativePasswordPlugin;
  return h;
}

TEST(HandshakeCodec, RoundTrips) {
  HandshakeV10 h = sampleHandshake();
  Bytes out;
  encode(h, out);
  auto d = decodeHandshakeV10(out);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->serverVersion, h.serverVersion);
  EXPECT_EQ(d->connectionId, h.connectionId);
  EXPECT_EQ(d->authPluginData, h.authPluginData);
  EXPECT_EQ(d->capabilities, h.capabilities);
  EXPECT_EQ(d->charset, h.charset);
  EXPECT_EQ(d->statusFlags, h.statusFlags);
  EXPECT_EQ(d->authPluginName, h.authPluginName);
}

TEST(HandshakeCodec, RejectsTruncatedAfterEveryField) {
  Bytes out;
  encode(sampleHandshake(), out);
  // Everything up to the capability flags is mandatory.
  for (std::size_t cut = 0; cut < 1 + 16 + 4 + 8 + 1 + 2; ++cut) {
    EXPECT_FALSE(decodeHandshakeV10(ByteView(out.data(), cut)).has_value()) << cut;
  }
}

TEST(HandshakeCodec, DecodesMariaDbGreetingBytes) {
  // A greeting captured from MariaDB 10.11 (scramble replaced by fixed bytes).
  HandshakeV10 h = sampleHandshake();
  h.serverVersion = "5.5.5-10.11.6-MariaDB-0+deb12u1-log";
  h.authPluginName = "mysql_native_password";
  Bytes out;
  encode(h, out);
  auto d = decodeHandshakeV10(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->serverVersion, h.serverVersion);
  EXPECT_EQ(d->authPluginData.size(), 20u);
}

HandshakeResponse41 sampleResponse(std::uint32_t extra) {
  HandshakeResponse41 r;
  r.capabilities = cap::kProtocol41 | cap::kSecureConnection | cap::kPluginAuth | extra;
  r.maxPacketSize = 16777216;
  r.charset = 33;
  r.username = "app";
  r.authResponse = std::string("\x01\x02\x00\xff", 4) + std::string(16, 'z');
  r.database = "shop";
  r.authPluginName = kCachingSha2Plugin;
  r.attributes = {{"_client_name", "libmariadb"}, {"_pid", "42"}};
  return r;
}

TEST(HandshakeResponseCodec, RoundTripsWithEveryOptionalField) {
  for (std::uint32_t extra :
       {0U, cap::kConnectWithDb, cap::kConnectWithDb | cap::kConnectAttrs,
        cap::kConnectWithDb | cap::kConnectAttrs | cap::kPluginAuthLenencData}) {
    HandshakeResponse41 r = sampleResponse(extra);
    Bytes out;
    encode(r, out);
    auto d = decodeHandshakeResponse41(out);
    ASSERT_TRUE(d.has_value()) << extra;
    EXPECT_EQ(d->username, "app");
    EXPECT_EQ(d->authResponse, r.authResponse);
    EXPECT_EQ(d->charset, 33);
    EXPECT_EQ(d->authPluginName, kCachingSha2Plugin);
    if (extra & cap::kConnectWithDb) EXPECT_EQ(d->database, "shop");
    if (extra & cap::kConnectAttrs) EXPECT_EQ(d->attributes, r.attributes);
  }
}

TEST(HandshakeResponseCodec, RejectsTruncatedBeforeTheAuthResponseEnds) {
  HandshakeResponse41 r = sampleResponse(cap::kPluginAuthLenencData);
  Bytes out;
  encode(r, out);
  std::size_t authEnd = 32 + r.username.size() + 1 + 1 + r.authResponse.size();
  for (std::size_t cut = 0; cut < authEnd; ++cut) {
    EXPECT_FALSE(decodeHandshakeResponse41(ByteView(out.data(), cut)).has_value()) << cut;
  }
}

TEST(HandshakeResponseCodec, RejectsAttributesLongerThanThePacket) {
  HandshakeResponse41 r = sampleResponse(cap::kConnectAttrs);
  Bytes out;
  encode(r, out);
  out.resize(out.size() - 3);
  EXPECT_FALSE(decodeHandshakeResponse41(out).has_value());
}

TEST(SslRequestCodec, IsRecognisedOnlyAtExactly32Bytes) {
  Bytes out;
  encodeSslRequest(cap::kProtocol41, 1 << 24, 45, out);
  EXPECT_EQ(out.size(), 32u);
  EXPECT_TRUE(isSslRequest(out));
  out.push_back(0);
  EXPECT_FALSE(isSslRequest(out));
}

TEST(OkCodec, RoundTripsWithAndWithoutSessionTrack) {
  OkPacket ok;
  ok.affectedRows = 300;
  ok.lastInsertId = 1ULL << 33;
  ok.statusFlags = status::kAutocommit | status::kSessionStateChanged;
  ok.warnings = 2;
  ok.info = "Rows matched: 1";
  ok.sessionStateChanges = std::string_view("\x01\x05\x04shop", 7);
  for (std::uint32_t caps : {cap::kProtocol41, cap::kProtocol41 | cap::kSessionTrack}) {
    Bytes out;
    encode(ok, caps, out);
    auto d = decodeOk(out, caps);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->affectedRows, 300u);
    EXPECT_EQ(d->lastInsertId, 1ULL << 33);
    EXPECT_EQ(d->statusFlags, ok.statusFlags);
    EXPECT_EQ(d->warnings, 2);
    EXPECT_EQ(d->info, ok.info);
    if (caps & cap::kSessionTrack) EXPECT_EQ(d->sessionStateChanges, ok.sessionStateChanges);
    for (std::size_t cut = 0; cut < 1 + 3 + 9 + 2 + 2; ++cut) {
      EXPECT_FALSE(decodeOk(ByteView(out.data(), cut), caps).has_value()) << cut;
    }
  }
}

TEST(ErrCodec, RoundTripsAndToleratesMissingSqlState) {
  Bytes out;
  encode(ErrPacket{1062, "23000", "Duplicate entry '1' for key 'PRIMARY'"}, out);
  auto d = decodeErr(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->errorCode, 1062);
  EXPECT_EQ(d->sqlState, "23000");
  EXPECT_EQ(d->message, "Duplicate entry '1' for key 'PRIMARY'");
  Bytes old{0xff, 0x15, 0x04, 'n', 'o'};
  auto o = decodeErr(old);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->errorCode, 1045);
  EXPECT_EQ(o->message, "no");
  EXPECT_FALSE(decodeErr(ByteView(out.data(), 2)).has_value());
}

TEST(EofCodec, RoundTripsAndReportsTerminatorStatus) {
  Bytes out;
  encode(EofPacket{3, status::kMoreResultsExist}, out);
  auto d = decodeEof(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->warnings, 3);
  EXPECT_EQ(d->statusFlags, status::kMoreResultsExist);
  EXPECT_TRUE(isEofOrOkTerminator(out, 0));
  EXPECT_EQ(terminatorStatus(out, 0), status::kMoreResultsExist);
}

TEST(TerminatorDetection, RowStartingWith0xFeIsNotATerminator) {
  Bytes row(20, 'a');
  row[0] = 0xfe;  // an 8-byte length prefix
  EXPECT_FALSE(isEofOrOkTerminator(row, 0));
  EXPECT_TRUE(isEofOrOkTerminator(row, cap::kDeprecateEof));  // < 16 MiB: an OK under DEPRECATE_EOF
}

TEST(ColumnDefinitionCodec, RoundTrips) {
  ColumnDefinition c;
  c.schema = "shop";
  c.table = "o";
  c.orgTable = "orders";
  c.name = "id";
  c.orgName = "id";
  c.charset = 63;
  c.columnLength = 20;
  c.type = 8;
  c.flags = 0x4203;
  c.decimals = 0;
  Bytes out;
  encode(c, out);
  auto d = decodeColumnDefinition(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->orgTable, "orders");
  EXPECT_EQ(d->type, 8);
  EXPECT_EQ(d->flags, 0x4203);
  for (std::size_t cut = 0; cut + 2 < out.size(); ++cut) {
    EXPECT_FALSE(decodeColumnDefinition(ByteView(out.data(), cut)).has_value()) << cut;
  }
}

// MariaDB's extended metadata capability travels in the handshakes' filler (bit 3 of the
// extended capabilities), read only with CLIENT_MYSQL (bit 0) clear; inside the proxy it is bit 31.
TEST(ExtendedMetadata, TravelsInTheGreetingsFillerWithClientMysqlClear) {
  HandshakeV10 h = sampleHandshake();
  h.capabilities |= cap::kMariadbExtendedMetadata;
  Bytes out;
  encode(h, out);
  // 10, version NUL, id, scramble part 1, 0, caps low, charset, status, caps high, length, filler
  const std::size_t caps = 1 + h.serverVersion.size() + 1 + 4 + 8 + 1;
  EXPECT_EQ(out[caps] & 1, 0) << "CLIENT_MYSQL must be clear for a peer to read the extension";
  EXPECT_EQ(out[caps + 6] & 0x80, 0) << "bit 31 is internal";
  const std::size_t extended = caps + 2 + 1 + 2 + 2 + 1 + 6;
  EXPECT_EQ(out[extended], cap::kWireExtendedMetadata);
  auto d = decodeHandshakeV10(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->capabilities, h.capabilities & ~cap::kLongPassword);
  EXPECT_EQ(d->authPluginData, h.authPluginData);
  EXPECT_EQ(d->authPluginName, h.authPluginName);
}

TEST(ExtendedMetadata, IsReadFromAResponseOnlyWithoutClientMysql) {
  HandshakeResponse41 r = sampleResponse(cap::kConnectWithDb | cap::kMariadbExtendedMetadata);
  Bytes out;
  encode(r, out);
  EXPECT_EQ(out[0] & 1, 0);
  EXPECT_EQ(out[3] & 0x80, 0);
  EXPECT_EQ(out[4 + 4 + 1 + 19], cap::kWireExtendedMetadata);
  auto d = decodeHandshakeResponse41(out);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->capabilities & cap::kMariadbExtendedMetadata);
  EXPECT_EQ(d->database, "shop");
  // A MySQL client sets CLIENT_MYSQL: its filler is not MariaDB's extension, whatever it holds.
  out[0] |= 1;
  d = decodeHandshakeResponse41(out);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->capabilities & cap::kMariadbExtendedMetadata);
  // Bit 31 on the wire (CLIENT_REMEMBER_OPTIONS) is not the extension either.
  out[0] &= ~1;
  out[4 + 4 + 1 + 19] = 0;
  out[3] |= 0x80;
  d = decodeHandshakeResponse41(out);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->capabilities & cap::kMariadbExtendedMetadata);
  // The SSL request carries the same 32 bytes.
  Bytes ssl;
  encodeSslRequest(r.capabilities, r.maxPacketSize, r.charset, ssl);
  ASSERT_EQ(ssl.size(), 32u);
  EXPECT_TRUE(isSslRequest(ssl));
  EXPECT_EQ(ssl[28], cap::kWireExtendedMetadata);
  EXPECT_EQ(ssl[0] & 1, 0);
}

TEST(ExtendedMetadata, ColumnDefinitionsCarryTheBlockWhenNegotiated) {
  ColumnDefinition c;
  c.schema = "shop";
  c.table = "o";
  c.orgTable = "orders";
  c.name = "doc";
  c.orgName = "doc";
  c.type = 0xfc;  // a JSON column is a LONGTEXT with format 'json'
  c.extendedMetadata = std::string_view("\x01\x04json", 6);
  Bytes out;
  encode(c, out, true);
  auto d = decodeColumnDefinition(out, true);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->extendedMetadata, c.extendedMetadata);
  EXPECT_EQ(d->type, 0xfc);
  EXPECT_EQ(d->orgName, "doc");
  // Not negotiated: no block, and a block-less definition read as one with a block fails.
  Bytes plain;
  encode(c, plain, false);
  EXPECT_EQ(out.size(), plain.size() + 7);
  d = decodeColumnDefinition(plain, false);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->extendedMetadata.empty());
  EXPECT_FALSE(decodeColumnDefinition(plain, true).has_value());
  // Negotiated, a column without extended information carries an empty block.
  c.extendedMetadata = {};
  Bytes empty;
  encode(c, empty, true);
  EXPECT_EQ(empty.size(), plain.size() + 1);
}

TEST(StmtPrepareOkCodec, RoundTrips) {
  Bytes out;
  encode(StmtPrepareOk{77, 3, 2, 1}, out);
  auto d = decodeStmtPrepareOk(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->statementId, 77u);
  EXPECT_EQ(d->numColumns, 3);
  EXPECT_EQ(d->numParams, 2);
  EXPECT_EQ(d->warnings, 1);
  EXPECT_FALSE(decodeStmtPrepareOk(ByteView(out.data(), 6)).has_value());
}

TEST(AuthSwitchCodec, RoundTrips) {
  Bytes out;
  encode(AuthSwitchRequest{kCachingSha2Plugin, "01234567890123456789"}, out);
  auto d = decodeAuthSwitchRequest(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->pluginName, kCachingSha2Plugin);
  EXPECT_EQ(d->pluginData, "01234567890123456789");
}

TEST(Framing, SmallPacketGetsHeaderAndSequence) {
  Bytes out;
  std::uint8_t seq = 7;
  std::size_t start = beginPacket(out);
  ByteWriter(out).str("hello");
  endPacket(out, start, seq);
  ASSERT_EQ(out.size(), 9u);
  auto hdr = parseHeader(out.data());
  EXPECT_EQ(hdr.length, 5u);
  EXPECT_EQ(hdr.seq, 7);
  EXPECT_EQ(seq, 8);
}

TEST(Framing, SplitsPayloadsOf16MiBAndMore) {
  for (std::size_t size :
       {std::size_t{kMaxPayload}, std::size_t{kMaxPayload} + 10, 2 * std::size_t{kMaxPayload}}) {
    Bytes out;
    std::uint8_t seq = 0;
    std::size_t start = beginPacket(out);
    out.resize(out.size() + size, 0x5a);
    endPacket(out, start, seq);
    std::size_t pos = 0, total = 0, packets = 0;
    std::uint32_t last = 0;
    while (pos < out.size()) {
      auto hdr = parseHeader(out.data() + pos);
      EXPECT_EQ(hdr.seq, packets);
      total += hdr.length;
      last = hdr.length;
      pos += kHeaderSize + hdr.length;
      ++packets;
    }
    EXPECT_EQ(total, size);
    EXPECT_LT(last, kMaxPayload);  // always ends with a short (maybe empty) packet
    EXPECT_EQ(seq, packets);
  }
}

}  // namespace
}  // namespace shardproxy::proxy::protocol
