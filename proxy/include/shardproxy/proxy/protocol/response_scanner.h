// Tracks where a server's response to one command ends, packet by packet, without decoding
// rows (MySQL protocol: "Text Resultset", "Binary Protocol Resultset", "COM_STMT_PREPARE
// Response", "COM_STMT_FETCH Response", "Multi-Resultset", "LOCAL INFILE Request").
// Place in the request flow: the relay feeds it each packet it forwards from a backend to a
// client, so a result is streamed chunk by chunk and the proxy knows when the backend is idle
// again and in which transaction state (status flags of the final OK/EOF).
// Pure: no I/O, no allocation. For a packet larger than the relay's buffer it needs only the
// first kPeekBytes of the payload.
#pragma once

#include <cstdint>

#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy::protocol {

enum class ResponseKind : std::uint8_t {
  kQuery,          // COM_QUERY: OK | ERR | LOCAL INFILE | text result set(s), multi-results
  kExecute,        // COM_STMT_EXECUTE: OK | ERR | binary result set(s)
  kExecuteCursor,  // COM_STMT_EXECUTE asking for a cursor: also metadata only, rows by FETCH
  kFetch,          // COM_STMT_FETCH: rows then a terminator, or ERR
  kFieldList,      // COM_FIELD_LIST: column definitions then a terminator, or ERR
  kPrepare,        // COM_STMT_PREPARE: PREPARE_OK + params + columns, or ERR
  kSinglePacket    // COM_PING, COM_INIT_DB, COM_STATISTICS, COM_RESET_CONNECTION, ...
};

class ResponseScanner {
 public:
  static constexpr std::size_t kPeekBytes = 16;

  enum class Step : std::uint8_t {
    kMore,         // the response continues
    kDone,         // this packet ended the response
    kLocalInfile,  // the client must now send the file's packets (then kMore)
    kMalformed     // the packet does not fit the protocol
  };

  void start(ResponseKind kind, std::uint32_t capabilities);
  // payload: the whole payload, or at least its first kPeekBytes when length is larger.
  Step onPacket(ByteView payload, std::uint32_t length);

  bool done() const { return state_ == State::kDone; }
  bool sawError() const { return sawError_; }
  // The ERR packet's error number (0 when it was not seen whole enough to read).
  std::uint16_t errorCode() const { return errorCode_; }
  std::uint16_t lastStatus() const { return lastStatus_; }
  bool sawStatus() const { return sawStatus_; }
  // The warnings the response's OK / EOF terminators counted (every result of a multi-result).
  std::uint32_t warnings() const { return warnings_; }
  std::uint32_t packets() const { return packets_; }
  std::uint64_t rows() const { return rows_; }  // row packets of result sets so far
  // Valid after the first packet of a kPrepare response.
  std::uint16_t prepareParams() const { return params_; }
  std::uint16_t prepareColumns() const { return columns_; }

 private:
  enum class State : std::uint8_t {
    kFirst,
    kColumns,
    kColumnsEof,
    kRows,
    kPrepareParams,
    kPrepareParamsEof,
    kPrepareColumns,
    kPrepareColumnsEof,
    kDone
  };
  Step onFirst(ByteView payload, std::uint32_t length);
  Step onTerminator(ByteView payload);
  Step finishPrepareSection();

  ResponseKind kind_ = ResponseKind::kSinglePacket;
  State state_ = State::kDone;
  std::uint32_t caps_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint16_t params_ = 0;
  std::uint16_t columns_ = 0;
  std::uint16_t lastStatus_ = 0;
  std::uint32_t warnings_ = 0;
  std::uint32_t packets_ = 0;
  std::uint64_t rows_ = 0;
  bool sawStatus_ = false;
  bool sawError_ = false;
  std::uint16_t errorCode_ = 0;
  void noteError(ByteView payload) {
    if (payload.size() >= 3)
      errorCode_ = static_cast<std::uint16_t>(payload[1] | (payload[2] << 8));
  }
  bool continuation_ = false;
};

}  // namespace shardproxy::proxy::protocol
