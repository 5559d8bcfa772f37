// Connection-phase and generic response packets (MySQL protocol: "Connection Phase Packets",
// "Generic Response Packets", "Text Protocol: Column Definition", "COM_STMT_PREPARE Response").
// Place in the request flow: the session's handshake/auth and the backend client's login use the
// connection-phase messages; every command path uses OK/ERR/EOF.
// Pure: decode returns std::nullopt on a truncated or malformed payload; encode appends a payload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy::protocol {

// --- framing helpers ------------------------------------------------------------------------
// beginPacket reserves a 4-byte header; endPacket writes it, splitting a payload of 16 MiB or
// more into continuation packets as the protocol requires. seq is advanced per packet written.
std::size_t beginPacket(Bytes& out);
void endPacket(Bytes& out, std::size_t start, std::uint8_t& seq);
// Appends `payload` as one framed packet: beginPacket, the copy and endPacket in one step, inline
// for the usual payload under 16 MiB (the streaming merge frames every row it sends this way).
inline void appendPacket(Bytes& out, ByteView payload, std::uint8_t& seq) {
  const std::size_t n = payload.size();
  if (n >= kMaxPayload) {
    const std::size_t start = beginPacket(out);
    out.insert(out.end(), payload.begin(), payload.end());
    endPacket(out, start, seq);
    return;
  }
  const std::uint8_t header[kHeaderSize] = {static_cast<std::uint8_t>(n),
                                            static_cast<std::uint8_t>(n >> 8),
                                            static_cast<std::uint8_t>(n >> 16), seq++};
  out.insert(out.end(), header, header + kHeaderSize);
  out.insert(out.end(), payload.begin(), payload.end());
}

struct PacketHeader {
  std::uint32_t length;
  std::uint8_t seq;
};
inline PacketHeader parseHeader(const std::uint8_t* p) {
  return {static_cast<std::uint32_t>(p[0] | (p[1] << 8) | (p[2] << 16)), p[3]};
}

// --- Initial Handshake Packet (Protocol::HandshakeV10) --------------------------------------
struct HandshakeV10 {
  std::string serverVersion;
  std::uint32_t connectionId = 0;
  std::string authPluginData;  // the full scramble (20 bytes for both supported plugins)
  std::uint32_t capabilities = 0;
  std::uint8_t charset = 45;
  std::uint16_t statusFlags = 0;
  std::string authPluginName;
};
void encode(const HandshakeV10& m, Bytes& out);
std::optional<HandshakeV10> decodeHandshakeV10(ByteView payload);

// --- Protocol::HandshakeResponse41 and Protocol::SSLRequest --------------------------------
struct HandshakeResponse41 {
  std::uint32_t capabilities = 0;
  std::uint32_t maxPacketSize = 0;
  std::uint8_t charset = 0;
  std::string username;
  std::string authResponse;
  std::string database;
  std::string authPluginName;
  std::vector<std::pair<std::string, std::string>> attributes;
};
void encode(const HandshakeResponse41& m, Bytes& out);
// The SSLRequest is the first 32 bytes of a response; isSslRequest tells them apart.
std::optional<HandshakeResponse41> decodeHandshakeResponse41(ByteView payload);
bool isSslRequest(ByteView payload);
void encodeSslRequest(std::uint32_t capabilities, std::uint32_t maxPacket, std::uint8_t charset,
                      Bytes& out);

// --- Protocol::AuthSwitchRequest / AuthMoreData -----------------------------------------------
struct AuthSwitchRequest {
  std::string pluginName;
  std::string pluginData;  // scramble, without the trailing NUL
};
void encode(const AuthSwitchRequest& m, Bytes& out);
std::optional<AuthSwitchRequest> decodeAuthSwitchRequest(ByteView payload);

// --- OK / EOF / ERR ---------------------------------------------------------------------------
struct OkPacket {
  std::uint64_t affectedRows = 0;
  std::uint64_t lastInsertId = 0;
  std::uint16_t statusFlags = 0;
  std::uint16_t warnings = 0;
  std::string_view info;
  std::string_view sessionStateChanges;
  bool eofHeader = false;  // encoded with 0xfe (end of a result set under DEPRECATE_EOF)
};
void encode(const OkPacket& m, std::uint32_t capabilities, Bytes& out);
std::optional<OkPacket> decodeOk(ByteView payload, std::uint32_t capabilities);

struct EofPacket {
  std::uint16_t warnings = 0;
  std::uint16_t statusFlags = 0;
};
void encode(const EofPacket& m, Bytes& out);
std::optional<EofPacket> decodeEof(ByteView payload);

struct ErrPacket {
  std::uint16_t errorCode = 0;
  std::string sqlState = "HY000";
  std::string message;
};
void encode(const ErrPacket& m, Bytes& out);
std::optional<ErrPacket> decodeErr(ByteView payload);

// A payload is an end-of-rows marker: 0xfe with a payload shorter than a row that starts with a
// 0xfe length prefix could be (EOF: < 9 bytes; OK under DEPRECATE_EOF: < 16 MiB).
inline bool isEofOrOkTerminator(ByteView payload, std::uint32_t caps) {
  if (payload.empty() || payload[0] != kEofHeader) return false;
  return (caps & cap::kDeprecateEof) ? payload.size() < kMaxPayload : payload.size() < 9;
}
// Status flags of an EOF or 0xfe-OK terminator, or of an OK packet.
struct Terminator {
  std::uint16_t statusFlags = 0;
  std::uint16_t warnings = 0;  // 0 when the packet is too short to say
};
std::optional<Terminator> decodeTerminator(ByteView payload, std::uint32_t caps);
inline std::optional<std::uint16_t> terminatorStatus(ByteView payload, std::uint32_t caps) {
  auto t = decodeTerminator(payload, caps);
  return t ? std::optional<std::uint16_t>(t->statusFlags) : std::nullopt;
}

// --- Column Definition (Protocol::ColumnDefinition41) ----------------------------------------
struct ColumnDefinition {
  std::string_view catalog = "def";
  std::string_view schema;
  std::string_view table;
  std::string_view orgTable;
  std::string_view name;
  std::string_view orgName;
  std::uint16_t charset = 45;
  std::uint32_t columnLength = 0;
  std::uint8_t type = 0xfd;  // MYSQL_TYPE_VAR_STRING
  std::uint16_t flags = 0;
  std::uint8_t decimals = 0;
  // MariaDB's extended type information (cap::kMariadbExtendedMetadata): pairs of a kind byte
  // (0: data type name, 1: format name) and a length-encoded string, e.g. 01 04 'json'.
  std::string_view extendedMetadata;
};
// `extended`: the connection negotiated cap::kMariadbExtendedMetadata, and every definition
// carries the block (empty for most columns).
void encode(const ColumnDefinition& m, Bytes& out, bool extended = false);
std::optional<ColumnDefinition> decodeColumnDefinition(ByteView payload, bool extended = false);

// --- COM_STMT_PREPARE_OK -----------------------------------------------------------------------
struct StmtPrepareOk {
  std::uint32_t statementId = 0;
  std::uint16_t numColumns = 0;
  std::uint16_t numParams = 0;
  std::uint16_t warnings = 0;
};
void encode(const StmtPrepareOk& m, Bytes& out);
std::optional<StmtPrepareOk> decodeStmtPrepareOk(ByteView payload);

}  // namespace shardproxy::proxy::protocol
