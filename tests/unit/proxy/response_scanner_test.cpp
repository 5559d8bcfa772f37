#include "shardproxy/proxy/protocol/response_scanner.h"

#include <gtest/gtest.h>

#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/messages.h"

namespace shardproxy::proxy::protocol {
namespace {

using Step = ResponseScanner::Step;

Bytes ok(std::uint16_t status, bool eofHeader = false) {
  Bytes b;
  OkPacket p;
  p.statusFlags = status;
  p.eofHeader = eofHeader;
  encode(p, cap::kProtocol41, b);
  return b;
}
Bytes eof(std::uint16_t status) {
  Bytes b;
  encode(EofPacket{0, status}, b);
  return b;
}
Bytes err() {
  Bytes b;
  encode(ErrPacket{1064, "42000", "syntax"}, b);
  return b;
}
Bytes count(std::uint64_t n) {
  Bytes b;
  ByteWriter(b).lenenc(n);
  return b;
}
Bytes column() {
  Bytes b;
  ColumnDefinition c;
  c.name = "a";
  encode(c, b);
  return b;
}
Bytes row(std::string_view v) {
  Bytes b;
  ByteWriter(b).lenencStr(v);
  return b;
}

Step feed(ResponseScanner& s, const Bytes& p) {
  return s.onPacket(p, static_cast<std::uint32_t>(p.size()));
}

TEST(ResponseScanner, OkEndsAQuery) {
  ResponseScanner s;
  s.start(ResponseKind::kQuery, cap::kProtocol41);
  EXPECT_EQ(feed(s, ok(status::kAutocommit | status::kInTrans)), Step::kDone);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(s.lastStatus() & status::kInTrans, status::kInTrans);
}

TEST(ResponseScanner, ErrEndsAQueryAndIsReported) {
  ResponseScanner s;
  s.start(ResponseKind::kQuery, cap::kProtocol41);
  EXPECT_EQ(feed(s, err()), Step::kDone);
  EXPECT_TRUE(s.sawError());
}

TEST(ResponseScanner, TextResultSetWithEofPackets) {
  ResponseScanner s;
  s.start(ResponseKind::kQuery, cap::kProtocol41);
  EXPECT_EQ(feed(s, count(2)), Step::kMore);
  EXPECT_EQ(feed(s, column()), Step::kMore);
  EXPECT_EQ(feed(s, column()), Step::kMore);
  EXPECT_EQ(feed(s, eof(status::kAutocommit)), Step::kMore);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(feed(s, row("x")), Step::kMore);
  EXPECT_EQ(feed(s, eof(status::kAutocommit)), Step::kDone);
}

TEST(ResponseScanner, TextResultSetWithDeprecateEof) {
  const std::uint32_t caps = cap::kProtocol41 | cap::kDeprecateEof;
  ResponseScanner s;
  s.start(ResponseKind::kQuery, caps);
  EXPECT_EQ(feed(s, count(1)), Step::kMore);
  EXPECT_EQ(feed(s, column()), Step::kMore);
  EXPECT_EQ(feed(s, row("x")), Step::kMore);
  EXPECT_EQ(feed(s, ok(status::kAutocommit, true)), Step::kDone);
}

TEST(ResponseScanner, MultiResultsContinueUntilTheLastStatus) {
  ResponseScanner s;
  s.start(ResponseKind::kQuery, cap::kProtocol41);
  EXPECT_EQ(feed(s, ok(status::kMoreResultsExist)), Step::kMore);
  EXPECT_EQ(feed(s, count(1)), Step::kMore);
  EXPECT_EQ(feed(s, column()), Step::kMore);
  EXPECT_EQ(feed(s, eof(0)), Step::kMore);
  EXPECT_EQ(feed(s, row("1")), Step::kMore);
  EXPECT_EQ(feed(s, eof(status::kMoreResultsExist)), Step::kMore);
  EXPECT_EQ(feed(s, ok(0)), Step::kDone);
}

TEST(ResponseScanner, ErrorInsideRowsEndsTheResponse) {
  ResponseScanner s;
  s.start(ResponseKind::kQuery, cap::kProtocol41);
  feed(s, count(1));
  feed(s, column());
  feed(s, eof(0));
  feed(s, row("1"));
  EXPECT_EQ(feed(s, err()), Step::kDone);
  EXPECT_TRUE(s.sawError());
}

TEST(ResponseScanner, LargeRowStartingWith0xFeIsARow) {
  ResponseScanner s;
  s.start(ResponseKind::kQuery, cap::kProtocol41);
  feed(s, count(1));
  feed(s, column());
  feed(s, eof(0));
  Bytes peek(ResponseScanner::kPeekBytes, 'x');
  peek[0] = 0xfe;
  EXPECT_EQ(s.onPacket(peek, kMaxPayload), Step::kMore);  // a 16 MiB row, peeked
  // Its continuation starts with 0xfe too, but is never interpreted.
  Bytes cont{0xfe, 0, 0, 0};
  EXPECT_EQ(s.onPacket(cont, 4), Step::kMore);
  EXPECT_EQ(feed(s, eof(0)), Step::kDone);
}

TEST(ResponseScanner, LocalInfileRequestThenOk) {
  ResponseScanner s;
  s.start(ResponseKind::kQuery, cap::kProtocol41);
  Bytes req{kLocalInfileHeader, '/', 't'};
  EXPECT_EQ(feed(s, req), Step::kLocalInfile);
  EXPECT_EQ(feed(s, ok(0)), Step::kDone);
}

TEST(ResponseScanner, ExecuteWithCursorEndsAfterMetadata) {
  ResponseScanner s;
  s.start(ResponseKind::kExecuteCursor, cap::kProtocol41);
  feed(s, count(1));
  feed(s, column());
  EXPECT_EQ(feed(s, eof(status::kCursorExists)), Step::kDone);
}

TEST(ResponseScanner, CursorFlagOfAProcedureDoesNotEndACallsResultSets) {
  // CALL of a procedure that loops over a cursor, executed without asking for one: MariaDB sets
  // CURSOR_EXISTS in the result sets' status (with MORE_RESULTS), and the rows follow.
  for (ResponseKind kind : {ResponseKind::kExecute, ResponseKind::kExecuteCursor}) {
    ResponseScanner s;
    s.start(kind, cap::kProtocol41);
    feed(s, count(1));
    feed(s, column());
    const std::uint16_t leaked = status::kCursorExists | status::kMoreResultsExist;
    EXPECT_EQ(feed(s, eof(leaked)), Step::kMore);
    Bytes binRow{0x00, 0x00, 0x07};
    EXPECT_EQ(feed(s, binRow), Step::kMore);
    EXPECT_EQ(feed(s, eof(leaked)), Step::kMore);  // another result set follows
    EXPECT_EQ(feed(s, ok(0)), Step::kDone);
  }
  // Asked for and not in a multi-result: metadata only.
  ResponseScanner s;
  s.start(ResponseKind::kExecute, cap::kProtocol41);
  feed(s, count(1));
  feed(s, column());
  EXPECT_EQ(feed(s, eof(status::kCursorExists)), Step::kMore);
}

TEST(ResponseScanner, FetchReadsRowsUntilTerminator) {
  ResponseScanner s;
  s.start(ResponseKind::kFetch, cap::kProtocol41);
  Bytes binRow{0x00, 0x00, 0x01};
  EXPECT_EQ(feed(s, binRow), Step::kMore);
  EXPECT_EQ(feed(s, eof(status::kLastRowSent)), Step::kDone);
}

TEST(ResponseScanner, PrepareCountsParamsAndColumns) {
  for (std::uint32_t caps : {cap::kProtocol41, cap::kProtocol41 | cap::kDeprecateEof}) {
    ResponseScanner s;
    s.start(ResponseKind::kPrepare, caps);
    Bytes first;
    encode(StmtPrepareOk{1, 2, 3, 0}, first);
    EXPECT_EQ(feed(s, first), Step::kMore);
    EXPECT_EQ(s.prepareParams(), 3);
    EXPECT_EQ(s.prepareColumns(), 2);
    const bool withEof = (caps & cap::kDeprecateEof) == 0;
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(feed(s, column()), Step::kMore) << i;
    if (withEof) EXPECT_EQ(feed(s, eof(0)), Step::kMore);
    EXPECT_EQ(feed(s, column()), Step::kMore);
    if (withEof) {
      EXPECT_EQ(feed(s, column()), Step::kMore);
      EXPECT_EQ(feed(s, eof(0)), Step::kDone);
    } else {
      EXPECT_EQ(feed(s, column()), Step::kDone);
    }
  }
}

TEST(ResponseScanner, PrepareWithoutParamsOrColumnsIsOnePacket) {
  ResponseScanner s;
  s.start(ResponseKind::kPrepare, cap::kProtocol41);
  Bytes first;
  encode(StmtPrepareOk{1, 0, 0, 0}, first);
  EXPECT_EQ(feed(s, first), Step::kDone);
}

TEST(ResponseScanner, FieldListEndsAtTerminator) {
  ResponseScanner s;
  s.start(ResponseKind::kFieldList, cap::kProtocol41);
  EXPECT_EQ(feed(s, column()), Step::kMore);
  EXPECT_EQ(feed(s, eof(0)), Step::kDone);
}

TEST(ResponseScanner, MalformedFirstPacketIsReported) {
  ResponseScanner s;
  s.start(ResponseKind::kQuery, cap::kProtocol41);
  Bytes empty;
  EXPECT_EQ(feed(s, empty), Step::kMalformed);
  ResponseScanner t;
  t.start(ResponseKind::kQuery, cap::kProtocol41);
  Bytes zeroColumns{0xfc, 0x00, 0x00};
  EXPECT_EQ(feed(t, zeroColumns), Step::kMalformed);
}

}  // namespace
}  // namespace shardproxy::proxy::protocol
