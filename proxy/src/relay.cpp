#include "shardproxy/proxy/relay.h"

#include <algorithm>

#include "shardproxy/proxy/merge_relay.h"
#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/messages.h"

namespace shardproxy::proxy {

namespace {
using protocol::ResponseScanner;
// Packets larger than this are streamed through in pieces instead of being buffered whole.
constexpr std::size_t kStreamThreshold = Channel::kInitialBuffer / 2;

// LOCAL INFILE: the client sends the file as packets ending with an empty one; pass them on.
asio::awaitable<bool> relayLocalInfile(BackendConnection& backend, Channel& client) {
  while (true) {
    auto pkt = co_await client.readPacket();
    if (!pkt) co_return false;
    if (!pkt->raw.empty()) {
      auto [ec, n] = co_await backend.channel().write(pkt->raw);
      if (ec) co_return false;
    } else {
      auto& out = backend.channel().out();
      std::uint8_t seq = pkt->seq;
      std::size_t start = protocol::beginPacket(out);
      protocol::ByteWriter(out).bytes(pkt->payload);
      protocol::endPacket(out, start, seq);
      if (co_await backend.channel().flush()) co_return false;
    }
    if (pkt->payload.empty()) co_return true;
  }
}
}  // namespace

asio::awaitable<RelayResult> relayResponse(BackendConnection& backend, Channel& client,
                                           const RelayOptions& options) {
  RelayResult result;
  ResponseScanner scanner;
  scanner.start(options.kind, backend.capabilities());
  Channel& bc = backend.channel();
  std::size_t skip = 0;  // bytes of a streamed packet still to pass through
  bool clientGone = false;
  bool forwardedPartial = false;

  while (true) {
    std::uint8_t* data = bc.data();
    std::size_t pos = bc.head();
    const std::size_t tail = bc.tail();
    bool done = false;
    bool localInfile = false;
    bool malformed = false;
    while (!done && !localInfile) {
      std::size_t avail = tail - pos;
      if (skip > 0) {
        std::size_t n = std::min(skip, avail);
        pos += n;
        skip -= n;
        if (skip > 0) break;
        continue;
      }
      if (avail < protocol::kHeaderSize) break;
      auto hdr = protocol::parseHeader(data + pos);
      std::size_t total = protocol::kHeaderSize + hdr.length;
      result.nextSeq = static_cast<std::uint8_t>(hdr.seq + 1);
      ResponseScanner::Step step;
      if (avail >= total) {
        std::uint8_t* payload = data + pos + protocol::kHeaderSize;
        if (options.rewritePrepareId && scanner.packets() == 0 && hdr.length >= 5 &&
            payload[0] == protocol::kOkHeader) {
          result.backendStatementId =
              static_cast<std::uint32_t>(payload[1] | (payload[2] << 8) | (payload[3] << 16) |
                                         (static_cast<std::uint32_t>(payload[4]) << 24));
          protocol::writeU32(payload + 1, options.clientStatementId);
        }
        step = scanner.onPacket(protocol::ByteView(payload, hdr.length), hdr.length);
        bool replaced = false;
        if (scanner.packets() == 1 && hdr.length > 0 && payload[0] == protocol::kOkHeader) {
          auto ok =
              protocol::decodeOk(protocol::ByteView(payload, hdr.length), backend.capabilities());
          if (ok) result.insertId = ok->lastInsertId;
          const bool addInfo =
              ok && ok->info.empty() && options.insertInfo != router::Plan::InsertKind::kNone;
          if (ok && (options.insertId != 0 || addInfo) && pos == bc.head() &&
              step == ResponseScanner::Step::kDone) {
            // Generated keys: the insert id is the proxy's, not the backend's; an INSERT ...
            // SELECT's one row: the statement's info line. The OK is the whole response:
            // re-encoded into the client's buffer instead of relayed.
            if (options.insertId != 0) ok->lastInsertId = options.insertId;
            std::string info;
            if (addInfo) {
              info = insertPartInfo(options.insertInfo, ok->affectedRows, ok->warnings);
              ok->info = info;
            }
            auto& out = client.out();
            std::uint8_t s = hdr.seq;
            std::size_t start = protocol::beginPacket(out);
            protocol::encode(*ok, backend.capabilities(), out);
            protocol::endPacket(out, start, s);
            bc.consume(total);
            pos = bc.head();
            result.bytes += total;
            replaced = true;
            bool lost = static_cast<bool>(co_await client.flush());
            if (lost) clientGone = true;
          }
        }
        if (!replaced) pos += total;
      } else if (total > kStreamThreshold) {
        std::size_t peek = std::min<std::size_t>(hdr.length, ResponseScanner::kPeekBytes);
        if (avail < protocol::kHeaderSize + peek) break;
        step = scanner.onPacket(
            protocol::ByteView(data + pos + protocol::kHeaderSize, avail - protocol::kHeaderSize),
            hdr.length);
        skip = total - avail;
        pos = tail;
      } else {
        break;  // a small packet not yet complete: read more
      }
      switch (step) {
        case ResponseScanner::Step::kDone:
          done = true;
          break;
        case ResponseScanner::Step::kLocalInfile:
          localInfile = true;
          break;
        case ResponseScanner::Step::kMalformed:
          malformed = true;
          done = true;
          break;
        case ResponseScanner::Step::kMore:
          break;
      }
    }
    std::size_t n = pos - bc.head();
    if (n > 0 && !clientGone) {
      auto [ec, written] = co_await client.write(protocol::ByteView(data + bc.head(), n));
      if (ec) clientGone = true;
      result.bytes += n;
    }
    bc.consume(n);
    forwardedPartial = skip > 0;
    if (malformed) {
      backend.broken = true;
      result.outcome = RelayResult::Outcome::kBackendProtocol;
      result.clientStreamBroken = true;
      co_return result;
    }
    if (clientGone) {
      // Abandon the rest of the result: the backend connection cannot be reused.
      backend.broken = true;
      result.outcome = RelayResult::Outcome::kClientGone;
      co_return result;
    }
    if (done) break;
    if (localInfile) {
      if (!co_await relayLocalInfile(backend, client)) {
        backend.broken = true;
        result.outcome = RelayResult::Outcome::kBackendLost;
        result.clientStreamBroken = true;
        co_return result;
      }
      continue;
    }
    std::size_t want = 0;
    if (skip == 0 && bc.buffered() >= protocol::kHeaderSize) {
      auto hdr = protocol::parseHeader(bc.data() + bc.head());
      std::size_t total = protocol::kHeaderSize + hdr.length;
      want = total > kStreamThreshold ? protocol::kHeaderSize + ResponseScanner::kPeekBytes : total;
    }
    if (co_await bc.fill(want)) {
      backend.broken = true;
      result.outcome = RelayResult::Outcome::kBackendLost;
      result.clientStreamBroken = forwardedPartial;
      co_return result;
    }
  }
  if (bc.buffered() > 0) {
    // The server sent more than one response: the connection is out of step.
    backend.broken = true;
  }
  result.sawError = scanner.sawError();
  result.rows = scanner.rows();
  result.errorCode = scanner.errorCode();
  result.sawStatus = scanner.sawStatus();
  result.statusFlags = scanner.lastStatus();
  result.warnings = scanner.warnings();
  result.prepareParams = scanner.prepareParams();
  result.prepareColumns = scanner.prepareColumns();
  co_return result;
}

}  // namespace shardproxy::proxy
