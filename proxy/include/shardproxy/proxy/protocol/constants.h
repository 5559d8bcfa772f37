// MySQL client/server protocol constants (MySQL "Client/Server Protocol" reference:
// Capabilities Flags, Status Flags, Text Protocol commands, Binary Protocol commands).
// Place in the request flow: shared by the codec, the client sessions and the backend client.
#pragma once

#include <cstdint>

namespace shardproxy::proxy::protocol {

namespace cap {
inline constexpr std::uint32_t kLongPassword = 1U << 0;
inline constexpr std::uint32_t kFoundRows = 1U << 1;
inline constexpr std::uint32_t kLongFlag = 1U << 2;
inline constexpr std::uint32_t kConnectWithDb = 1U << 3;
inline constexpr std::uint32_t kNoSchema = 1U << 4;
inline constexpr std::uint32_t kCompress = 1U << 5;
inline constexpr std::uint32_t kOdbc = 1U << 6;
inline constexpr std::uint32_t kLocalFiles = 1U << 7;
inline constexpr std::uint32_t kIgnoreSpace = 1U << 8;
inline constexpr std::uint32_t kProtocol41 = 1U << 9;
inline constexpr std::uint32_t kInteractive = 1U << 10;
inline constexpr std::uint32_t kSsl = 1U << 11;
inline constexpr std::uint32_t kIgnoreSigpipe = 1U << 12;
inline constexpr std::uint32_t kTransactions = 1U << 13;
inline constexpr std::uint32_t kReserved = 1U << 14;
inline constexpr std::uint32_t kSecureConnection = 1U << 15;
inline constexpr std::uint32_t kMultiStatements = 1U << 16;
inline constexpr std::uint32_t kMultiResults = 1U << 17;
inline constexpr std::uint32_t kPsMultiResults = 1U << 18;
inline constexpr std::uint32_t kPluginAuth = 1U << 19;
inline constexpr std::uint32_t kConnectAttrs = 1U << 20;
inline constexpr std::uint32_t kPluginAuthLenencData = 1U << 21;
inline constexpr std::uint32_t kCanHandleExpiredPasswords = 1U << 22;
inline constexpr std::uint32_t kSessionTrack = 1U << 23;
inline constexpr std::uint32_t kDeprecateEof = 1U << 24;
inline constexpr std::uint32_t kOptionalResultsetMetadata = 1U << 25;
inline constexpr std::uint32_t kQueryAttributes = 1U << 27;
// MariaDB's MARIADB_CLIENT_EXTENDED_METADATA (bit 35 of its 64-bit capabilities: bit 3 of the
// extended capabilities a MariaDB greeting and handshake response carry in their filler bytes,
// read only when CLIENT_MYSQL, bit 0, is clear). Every column definition then carries a block of
// extended type information (a JSON column's format 'json', a UUID's type name). Kept here in
// bit 31 (CLIENT_REMEMBER_OPTIONS, which never goes on the wire): the handshake codec translates
// it to and from the wire (messages.cpp), so one 32-bit word carries a connection's capabilities.
inline constexpr std::uint32_t kMariadbExtendedMetadata = 1U << 31;
// The bit in the wire's 32-bit extended (MariaDB) capabilities.
inline constexpr std::uint32_t kWireExtendedMetadata = 1U << 3;
}  // namespace cap

namespace status {
inline constexpr std::uint16_t kInTrans = 0x0001;
inline constexpr std::uint16_t kAutocommit = 0x0002;
inline constexpr std::uint16_t kMoreResultsExist = 0x0008;
inline constexpr std::uint16_t kNoGoodIndexUsed = 0x0010;
inline constexpr std::uint16_t kNoIndexUsed = 0x0020;
inline constexpr std::uint16_t kCursorExists = 0x0040;
inline constexpr std::uint16_t kLastRowSent = 0x0080;
inline constexpr std::uint16_t kDbDropped = 0x0100;
inline constexpr std::uint16_t kNoBackslashEscapes = 0x0200;
inline constexpr std::uint16_t kMetadataChanged = 0x0400;
inline constexpr std::uint16_t kQueryWasSlow = 0x0800;
inline constexpr std::uint16_t kPsOutParams = 0x1000;
inline constexpr std::uint16_t kInTransReadonly = 0x2000;
inline constexpr std::uint16_t kSessionStateChanged = 0x4000;
}  // namespace status

enum class Command : std::uint8_t {
  kSleep = 0x00,
  kQuit = 0x01,
  kInitDb = 0x02,
  kQuery = 0x03,
  kFieldList = 0x04,
  kCreateDb = 0x05,
  kDropDb = 0x06,
  kRefresh = 0x07,
  kShutdown = 0x08,
  kStatistics = 0x09,
  kProcessInfo = 0x0a,
  kConnect = 0x0b,
  kProcessKill = 0x0c,
  kDebug = 0x0d,
  kPing = 0x0e,
  kTime = 0x0f,
  kDelayedInsert = 0x10,
  kChangeUser = 0x11,
  kBinlogDump = 0x12,
  kTableDump = 0x13,
  kConnectOut = 0x14,
  kRegisterSlave = 0x15,
  kStmtPrepare = 0x16,
  kStmtExecute = 0x17,
  kStmtSendLongData = 0x18,
  kStmtClose = 0x19,
  kStmtReset = 0x1a,
  kSetOption = 0x1b,
  kStmtFetch = 0x1c,
  kDaemon = 0x1d,
  kBinlogDumpGtid = 0x1e,
  kResetConnection = 0x1f,
};

inline constexpr std::uint8_t kOkHeader = 0x00;
inline constexpr std::uint8_t kEofHeader = 0xfe;
inline constexpr std::uint8_t kErrHeader = 0xff;
inline constexpr std::uint8_t kLocalInfileHeader = 0xfb;
inline constexpr std::uint8_t kAuthMoreDataHeader = 0x01;
inline constexpr std::uint8_t kAuthSwitchHeader = 0xfe;

// A payload of exactly this length is continued by the next packet (split packets).
inline constexpr std::uint32_t kMaxPayload = 0xffffff;
inline constexpr std::size_t kHeaderSize = 4;
inline constexpr std::size_t kScrambleSize = 20;

inline constexpr std::uint8_t kCharsetUtf8mb4GeneralCi = 45;

inline constexpr const char* kNativePasswordPlugin = "mysql_native_password";
inline constexpr const char* kCachingSha2Plugin = "caching_sha2_password";
inline constexpr const char* kClearPasswordPlugin = "mysql_clear_password";

// caching_sha2_password's AuthMoreData bytes.
inline constexpr std::uint8_t kCachingSha2RequestPublicKey = 0x02;
inline constexpr std::uint8_t kCachingSha2FastAuthOk = 0x03;
inline constexpr std::uint8_t kCachingSha2FullAuth = 0x04;

}  // namespace shardproxy::proxy::protocol
