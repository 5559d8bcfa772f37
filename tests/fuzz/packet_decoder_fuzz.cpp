// libFuzzer target: every packet decoder and the response scanner on arbitrary bytes.
// Crashes found here become regression tests in tests/unit/proxy/.
#include <cstddef>
#include <cstdint>

#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/protocol/response_scanner.h"

using namespace shardproxy::proxy::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks capabilities, so both EOF styles and every optional field get covered.
  std::uint32_t caps = cap::kProtocol41;
  if (data[0] & 1) caps |= cap::kDeprecateEof;
  if (data[0] & 2) caps |= cap::kSessionTrack;
  ByteView in(data + 1, size - 1);

  (void)decodeHandshakeV10(in);
  if (auto r = decodeHandshakeResponse41(in)) {
    Bytes out;
    encode(*r, out);  // re-encoding what was decoded must not crash
  }
  (void)isSslRequest(in);
  (void)decodeAuthSwitchRequest(in);
  (void)decodeOk(in, caps);
  (void)decodeEof(in);
  (void)decodeErr(in);
  (void)decodeColumnDefinition(in);
  (void)decodeStmtPrepareOk(in);
  (void)terminatorStatus(in, caps);

  // Treat the rest as a stream of framed packets for each response kind.
  for (auto kind :
       {ResponseKind::kQuery, ResponseKind::kExecute, ResponseKind::kFetch,
        ResponseKind::kFieldList, ResponseKind::kPrepare, ResponseKind::kSinglePacket}) {
    ResponseScanner scanner;
    scanner.start(kind, caps);
    std::size_t pos = 0;
    while (pos + kHeaderSize <= in.size() && !scanner.done()) {
      auto hdr = parseHeader(in.data() + pos);
      std::size_t avail = in.size() - pos - kHeaderSize;
      std::size_t len = hdr.length < avail ? hdr.length : avail;
      auto step = scanner.onPacket(in.subspan(pos + kHeaderSize, len), hdr.length);
      if (step == ResponseScanner::Step::kMalformed) break;
      pos += kHeaderSize + len;
    }
  }
  return 0;
}
