#include "shardproxy/proxy/protocol/wire.h"

#include <gtest/gtest.h>

namespace shardproxy::proxy::protocol {
namespace {

TEST(LenencInt, RoundTripsAtEveryWidthBoundary) {
  const std::uint64_t values[] = {0,          1,         250,      251,       252,
                                  0xffff,     0x10000,   0xffffff, 0x1000000, 0xffffffffULL,
                                  1ULL << 40, UINT64_MAX};
  const std::size_t sizes[] = {1, 1, 1, 3, 3, 3, 4, 4, 9, 9, 9, 9};
  for (std::size_t i = 0; i < std::size(values); ++i) {
    Bytes buf;
    ByteWriter(buf).lenenc(values[i]);
    EXPECT_EQ(buf.size(), sizes[i]) << values[i];
    EXPECT_EQ(lenencSize(values[i]), sizes[i]);
    ByteReader r(buf);
    auto v = r.lenenc();
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, values[i]);
    EXPECT_TRUE(r.atEnd());
  }
}

TEST(LenencInt, RejectsTruncatedEncodings) {
  for (std::uint64_t v : {251ULL, 0x10000ULL, 0x1000000ULL}) {
    Bytes buf;
    ByteWriter(buf).lenenc(v);
    for (std::size_t cut = 0; cut < buf.size(); ++cut) {
      ByteReader r(ByteView(buf.data(), cut));
      EXPECT_FALSE(r.lenenc().has_value());
      EXPECT_TRUE(r.failed());
    }
  }
}

TEST(LenencInt, NullMarkerOnlyWhenAllowed) {
  Bytes buf{0xfb};
  ByteReader strict(buf);
  EXPECT_FALSE(strict.lenenc().has_value());
  EXPECT_TRUE(strict.failed());
  ByteReader lenient(buf);
  EXPECT_FALSE(lenient.lenenc(true).has_value());
  EXPECT_FALSE(lenient.failed());
  Bytes bad{0xff};
  ByteReader r(bad);
  EXPECT_FALSE(r.lenenc().has_value());
  EXPECT_TRUE(r.failed());
}

TEST(LenencString, RoundTripsEmptyAndLong) {
  std::string longStr(70000, 'x');
  Bytes buf;
  ByteWriter w(buf);
  w.lenencStr("");
  w.lenencStr(longStr);
  ByteReader r(buf);
  EXPECT_EQ(r.lenencStr(), "");
  EXPECT_EQ(r.lenencStr(), longStr);
  EXPECT_TRUE(r.atEnd());
  EXPECT_FALSE(r.failed());
}

TEST(LenencString, FailsWhenLengthExceedsPayload) {
  Bytes buf{5, 'a', 'b'};
  ByteReader r(buf);
  EXPECT_EQ(r.lenencStr(), "");
  EXPECT_TRUE(r.failed());
}

TEST(ByteReader, FixedIntegersAreLittleEndian) {
  Bytes buf{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  ByteReader r(buf);
  EXPECT_EQ(r.u16(), 0x0201);
  EXPECT_EQ(r.u24(), 0x050403u);
  EXPECT_EQ(r.u24(), 0x080706u);
  EXPECT_TRUE(r.atEnd());
  EXPECT_EQ(r.u8(), 0);
  EXPECT_TRUE(r.failed());
}

TEST(ByteReader, NulTerminatedNeedsTerminatorUnlessAtEof) {
  Bytes buf{'a', 'b'};
  ByteReader strict(buf);
  EXPECT_EQ(strict.nulTerminated(), "");
  EXPECT_TRUE(strict.failed());
  ByteReader lenient(buf);
  EXPECT_EQ(lenient.nulTerminatedOrEof(), "ab");
  EXPECT_FALSE(lenient.failed());
}

}  // namespace
}  // namespace shardproxy::proxy::protocol
