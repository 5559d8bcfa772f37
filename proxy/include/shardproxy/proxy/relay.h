// Streams one backend response to a client as it arrives.
// Place in the request flow: after the session forwarded a command, relayResponse() moves the
// answer from the backend's read buffer to the client socket: each read from the backend is
// scanned for packet boundaries (ResponseScanner) and written to the client in one write before
// the next read — so memory is bounded by the buffer, rows are never copied or decoded, and a
// slow client slows the backend read (backpressure).
#pragma once

#include <cstdint>

#include "shardproxy/proxy/backend_connection.h"
#include "shardproxy/proxy/channel.h"
#include "shardproxy/proxy/protocol/response_scanner.h"
#include "shardproxy/router/planner.h"

namespace shardproxy::proxy {

struct RelayOptions {
  protocol::ResponseKind kind = protocol::ResponseKind::kQuery;
  // COM_STMT_PREPARE: write this id over the backend's statement id in PREPARE_OK.
  bool rewritePrepareId = false;
  std::uint32_t clientStatementId = 0;
  // An INSERT given generated keys: the OK tells the client this insert id (the first of them).
  std::uint64_t insertId = 0;
  // The one-row INSERT an INSERT ... SELECT became: its OK gets the "Records: 1  Duplicates: D
  // Warnings: W" the client's statement answers (insertPartInfo(), merge_relay.h).
  router::Plan::InsertKind insertInfo = router::Plan::InsertKind::kNone;
};

struct RelayResult {
  enum class Outcome : std::uint8_t { kDone, kClientGone, kBackendLost, kBackendProtocol };
  Outcome outcome = Outcome::kDone;
  bool sawError = false;        // the response was (or ended with) an ERR packet
  std::uint16_t errorCode = 0;  // its error number
  bool sawStatus = false;       // a final OK/EOF carried status flags
  std::uint16_t statusFlags = 0;
  std::uint32_t warnings = 0;  // the final OK / EOF's (summed over the results of a multi-result)
  std::uint8_t nextSeq = 1;    // sequence id for a packet the proxy appends (an ERR)
  bool clientStreamBroken = false;  // part of a packet reached the client: it cannot resync
  std::uint32_t backendStatementId = 0;
  std::uint16_t prepareParams = 0;
  std::uint16_t prepareColumns = 0;
  std::uint64_t bytes = 0;
  std::uint64_t rows = 0;      // result-set rows relayed
  std::uint64_t insertId = 0;  // the backend's OK said it generated this AUTO_INCREMENT value
};

asio::awaitable<RelayResult> relayResponse(BackendConnection& backend, Channel& client,
                                           const RelayOptions& options);

}  // namespace shardproxy::proxy
