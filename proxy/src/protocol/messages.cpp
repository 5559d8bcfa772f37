#include "shardproxy/proxy/protocol/messages.h"

#include <algorithm>

namespace shardproxy::proxy::protocol {

std::size_t beginPacket(Bytes& out) {
  std::size_t start = out.size();
  out.resize(start + kHeaderSize);
  return start;
}

void endPacket(Bytes& out, std::size_t start, std::uint8_t& seq) {
  std::size_t payload = out.size() - start - kHeaderSize;
  if (payload < kMaxPayload) {
    out[start] = static_cast<std::uint8_t>(payload);
    out[start + 1] = static_cast<std::uint8_t>(payload >> 8);
    out[start + 2] = static_cast<std::uint8_t>(payload >> 16);
    out[start + 3] = seq++;
    return;
  }
  // Split: copy the payload out and re-emit it as 16 MiB - 1 chunks, ending with a shorter
  // (possibly empty) packet. Rare (only proxy-generated packets this large), so a copy is fine.
  Bytes body(out.begin() + static_cast<std::ptrdiff_t>(start + kHeaderSize), out.end());
  out.resize(start);
  std::size_t pos = 0;
  while (true) {
    std::size_t chunk = std::min<std::size_t>(kMaxPayload, body.size() - pos);
    out.push_back(static_cast<std::uint8_t>(chunk));
    out.push_back(static_cast<std::uint8_t>(chunk >> 8));
    out.push_back(static_cast<std::uint8_t>(chunk >> 16));
    out.push_back(seq++);
    out.insert(out.end(), body.begin() + static_cast<std::ptrdiff_t>(pos),
               body.begin() + static_cast<std::ptrdiff_t>(pos + chunk));
    pos += chunk;
    if (chunk < kMaxPayload) break;
  }
}

namespace {

// The handshake's capabilities as the wire carries them: cap::kMariadbExtendedMetadata is bit 3
// of the extended capabilities, which a peer reads only with CLIENT_MYSQL (bit 0) clear, as a
// MariaDB server sends them.
std::uint32_t wireCapabilities(std::uint32_t caps) {
  if (caps & cap::kMariadbExtendedMetadata) caps &= ~cap::kLongPassword;
  return caps & ~cap::kMariadbExtendedMetadata;
}
std::uint32_t extendedCapabilities(std::uint32_t caps) {
  return (caps & cap::kMariadbExtendedMetadata) ? cap::kWireExtendedMetadata : 0;
}
std::uint32_t fromWire(std::uint32_t caps, std::uint32_t extended) {
  caps &= ~cap::kMariadbExtendedMetadata;
  if (!(caps & cap::kLongPassword) && (extended & cap::kWireExtendedMetadata)) {
    caps |= cap::kMariadbExtendedMetadata;
  }
  return caps;
}

}  // namespace

void encode(const HandshakeV10& m, Bytes& out) {
  ByteWriter w(out);
  w.u8(10);
  w.nulStr(m.serverVersion);
  w.u32(m.connectionId);
  std::string_view data = m.authPluginData;
  std::string_view part1 = data.substr(0, std::min<std::size_t>(8, data.size()));
  w.str(part1);
  w.zeros(8 - part1.size());
  w.u8(0);
  const std::uint32_t caps = wireCapabilities(m.capabilities);
  w.u16(static_cast<std::uint16_t>(caps & 0xffff));
  w.u8(m.charset);
  w.u16(m.statusFlags);
  w.u16(static_cast<std::uint16_t>(caps >> 16));
  w.u8((m.capabilities & cap::kPluginAuth) ? static_cast<std::uint8_t>(data.size() + 1) : 0);
  w.zeros(6);
  w.u32(extendedCapabilities(m.capabilities));
  if (m.capabilities & cap::kSecureConnection) {
    std::string_view part2 = data.size() > 8 ? data.substr(8) : std::string_view{};
    w.str(part2);
    // The second part is at least 13 bytes including its terminating NUL.
    w.zeros(part2.size() + 1 < 13 ? 13 - part2.size() : 1);
  }
  if (m.capabilities & cap::kPluginAuth) w.nulStr(m.authPluginName);
}

std::optional<HandshakeV10> decodeHandshakeV10(ByteView payload) {
  ByteReader r(payload);
  HandshakeV10 m;
  if (r.u8() != 10) return std::nullopt;
  m.serverVersion = r.nulTerminated();
  m.connectionId = r.u32();
  std::string_view part1 = r.str(8);
  r.skip(1);
  std::uint32_t capsLow = r.u16();
  if (r.failed()) return std::nullopt;
  m.authPluginData.assign(part1);
  m.capabilities = capsLow;
  if (r.atEnd()) return m;
  m.charset = r.u8();
  m.statusFlags = r.u16();
  m.capabilities |= static_cast<std::uint32_t>(r.u16()) << 16;
  std::uint8_t authLen = r.u8();
  r.skip(6);
  m.capabilities = fromWire(m.capabilities, r.u32());
  if (m.capabilities & cap::kSecureConnection) {
    std::size_t len2 = std::max<int>(13, static_cast<int>(authLen) - 8);
    std::string_view part2 = r.str(std::min(len2, r.remaining()));
    // Trailing NUL is not part of the scramble.
    if (!part2.empty() && part2.back() == '\0') part2.remove_suffix(1);
    m.authPluginData.append(part2);
  }
  if (m.capabilities & cap::kPluginAuth) m.authPluginName = r.nulTerminatedOrEof();
  if (r.failed()) return std::nullopt;
  return m;
}

void encode(const HandshakeResponse41& m, Bytes& out) {
  ByteWriter w(out);
  w.u32(wireCapabilities(m.capabilities));
  w.u32(m.maxPacketSize);
  w.u8(m.charset);
  w.zeros(19);
  w.u32(extendedCapabilities(m.capabilities));
  w.nulStr(m.username);
  if (m.capabilities & cap::kPluginAuthLenencData) {
    w.lenencStr(m.authResponse);
  } else if (m.capabilities & cap::kSecureConnection) {
    w.u8(static_cast<std::uint8_t>(m.authResponse.size()));
    w.str(m.authResponse);
  } else {
    w.nulStr(m.authResponse);
  }
  if (m.capabilities & cap::kConnectWithDb) w.nulStr(m.database);
  if (m.capabilities & cap::kPluginAuth) w.nulStr(m.authPluginName);
  if (m.capabilities & cap::kConnectAttrs) {
    std::size_t total = 0;
    for (const auto& [k, v] : m.attributes) {
      total += lenencSize(k.size()) + k.size() + lenencSize(v.size()) + v.size();
    }
    w.lenenc(total);
    for (const auto& [k, v] : m.attributes) {
      w.lenencStr(k);
      w.lenencStr(v);
    }
  }
}

bool isSslRequest(ByteView payload) {
  if (payload.size() != 32) return false;
  ByteReader r(payload);
  return (r.u32() & cap::kSsl) != 0;
}

void encodeSslRequest(std::uint32_t capabilities, std::uint32_t maxPacket, std::uint8_t charset,
                      Bytes& out) {
  ByteWriter w(out);
  w.u32(wireCapabilities(capabilities | cap::kSsl));
  w.u32(maxPacket);
  w.u8(charset);
  w.zeros(19);
  w.u32(extendedCapabilities(capabilities));
}

std::optional<HandshakeResponse41> decodeHandshakeResponse41(ByteView payload) {
  ByteReader r(payload);
  HandshakeResponse41 m;
  m.capabilities = r.u32();
  m.maxPacketSize = r.u32();
  m.charset = r.u8();
  r.skip(19);
  m.capabilities = fromWire(m.capabilities, r.u32());
  if (r.failed() || !(m.capabilities & cap::kProtocol41)) return std::nullopt;
  m.username = r.nulTerminated();
  if (m.capabilities & cap::kPluginAuthLenencData) {
    m.authResponse = r.lenencStr();
  } else if (m.capabilities & cap::kSecureConnection) {
    std::uint8_t len = r.u8();
    m.authResponse = r.str(len);
  } else {
    m.authResponse = r.nulTerminated();
  }
  if (r.failed()) return std::nullopt;
  if ((m.capabilities & cap::kConnectWithDb) && !r.atEnd()) m.database = r.nulTerminatedOrEof();
  if ((m.capabilities & cap::kPluginAuth) && !r.atEnd()) m.authPluginName = r.nulTerminatedOrEof();
  if ((m.capabilities & cap::kConnectAttrs) && !r.atEnd()) {
    auto total = r.lenenc();
    if (!total || *total > r.remaining()) return std::nullopt;
    ByteReader attrs(r.bytes(*total));
    while (!attrs.atEnd()) {
      std::string_view k = attrs.lenencStr();
      std::string_view v = attrs.lenencStr();
      if (attrs.failed()) return std::nullopt;
      m.attributes.emplace_back(k, v);
    }
  }
  if (r.failed()) return std::nullopt;
  return m;
}

void encode(const AuthSwitchRequest& m, Bytes& out) {
  ByteWriter w(out);
  w.u8(kAuthSwitchHeader);
  w.nulStr(m.pluginName);
  w.str(m.pluginData);
  w.u8(0);
}

std::optional<AuthSwitchRequest> decodeAuthSwitchRequest(ByteView payload) {
  ByteReader r(payload);
  if (r.u8() != kAuthSwitchHeader) return std::nullopt;
  AuthSwitchRequest m;
  m.pluginName = r.nulTerminatedOrEof();
  std::string_view data = r.rest();
  if (!data.empty() && data.back() == '\0') data.remove_suffix(1);
  m.pluginData = data;
  if (r.failed()) return std::nullopt;
  return m;
}

void encode(const OkPacket& m, std::uint32_t caps, Bytes& out) {
  ByteWriter w(out);
  w.u8(m.eofHeader ? kEofHeader : kOkHeader);
  w.lenenc(m.affectedRows);
  w.lenenc(m.lastInsertId);
  w.u16(m.statusFlags);
  w.u16(m.warnings);
  if (caps & cap::kSessionTrack) {
    w.lenencStr(m.info);
    if (m.statusFlags & status::kSessionStateChanged) w.lenencStr(m.sessionStateChanges);
  } else if (!m.info.empty()) {
    // The documentation says string<EOF>, but servers write (and libmysql/Connector/C read) a
    // length-encoded string here.
    w.lenencStr(m.info);
  }
}

std::optional<OkPacket> decodeOk(ByteView payload, std::uint32_t caps) {
  ByteReader r(payload);
  OkPacket m;
  std::uint8_t header = r.u8();
  if (header != kOkHeader && header != kEofHeader) return std::nullopt;
  m.eofHeader = header == kEofHeader;
  auto affected = r.lenenc();
  auto lastId = r.lenenc();
  if (!affected || !lastId) return std::nullopt;
  m.affectedRows = *affected;
  m.lastInsertId = *lastId;
  m.statusFlags = r.u16();
  m.warnings = r.u16();
  if (r.failed()) return std::nullopt;
  if (caps & cap::kSessionTrack) {
    if (!r.atEnd()) m.info = r.lenencStr();
    if ((m.statusFlags & status::kSessionStateChanged) && !r.atEnd()) {
      m.sessionStateChanges = r.lenencStr();
    }
  } else if (!r.atEnd()) {
    ByteReader lenenc(payload.subspan(r.position()));
    std::string_view info = lenenc.lenencStr();
    m.info = (!lenenc.failed() && lenenc.atEnd()) ? info : r.rest();
  }
  if (r.failed()) return std::nullopt;
  return m;
}

void encode(const EofPacket& m, Bytes& out) {
  ByteWriter w(out);
  w.u8(kEofHeader);
  w.u16(m.warnings);
  w.u16(m.statusFlags);
}

std::optional<EofPacket> decodeEof(ByteView payload) {
  ByteReader r(payload);
  if (r.u8() != kEofHeader) return std::nullopt;
  EofPacket m;
  m.warnings = r.u16();
  m.statusFlags = r.u16();
  if (r.failed()) return std::nullopt;
  return m;
}

void encode(const ErrPacket& m, Bytes& out) {
  ByteWriter w(out);
  w.u8(kErrHeader);
  w.u16(m.errorCode);
  w.u8('#');
  std::string state = m.sqlState;
  state.resize(5, '0');
  w.str(state);
  w.str(m.message);
}

std::optional<ErrPacket> decodeErr(ByteView payload) {
  ByteReader r(payload);
  if (r.u8() != kErrHeader) return std::nullopt;
  ErrPacket m;
  m.errorCode = r.u16();
  if (r.failed()) return std::nullopt;
  if (r.remaining() >= 6 && payload[r.position()] == '#') {
    r.skip(1);
    m.sqlState = r.str(5);
  }
  m.message = r.rest();
  return m;
}

std::optional<Terminator> decodeTerminator(ByteView payload, std::uint32_t caps) {
  if (payload.empty()) return std::nullopt;
  if (payload[0] == kEofHeader && !(caps & cap::kDeprecateEof)) {
    auto eof = decodeEof(payload);
    if (!eof) return std::nullopt;
    return Terminator{eof->statusFlags, eof->warnings};
  }
  // OK packets only need their leading fields here; skip the info/session-track parsing.
  ByteReader r(payload);
  r.skip(1);
  (void)r.lenenc();
  (void)r.lenenc();
  Terminator t;
  t.statusFlags = r.u16();
  if (r.failed()) return std::nullopt;
  if (r.remaining() >= 2) t.warnings = r.u16();
  return t;
}

void encode(const ColumnDefinition& m, Bytes& out, bool extended) {
  ByteWriter w(out);
  w.lenencStr(m.catalog);
  w.lenencStr(m.schema);
  w.lenencStr(m.table);
  w.lenencStr(m.orgTable);
  w.lenencStr(m.name);
  w.lenencStr(m.orgName);
  if (extended) w.lenencStr(m.extendedMetadata);
  w.lenenc(0x0c);
  w.u16(m.charset);
  w.u32(m.columnLength);
  w.u8(m.type);
  w.u16(m.flags);
  w.u8(m.decimals);
  w.zeros(2);
}

std::optional<ColumnDefinition> decodeColumnDefinition(ByteView payload, bool extended) {
  ByteReader r(payload);
  ColumnDefinition m;
  m.catalog = r.lenencStr();
  m.schema = r.lenencStr();
  m.table = r.lenencStr();
  m.orgTable = r.lenencStr();
  m.name = r.lenencStr();
  m.orgName = r.lenencStr();
  if (extended) m.extendedMetadata = r.lenencStr();
  auto fixedLen = r.lenenc();
  if (!fixedLen || *fixedLen < 0x0a) return std::nullopt;
  m.charset = r.u16();
  m.columnLength = r.u32();
  m.type = r.u8();
  m.flags = r.u16();
  m.decimals = r.u8();
  if (r.failed()) return std::nullopt;
  return m;
}

void encode(const StmtPrepareOk& m, Bytes& out) {
  ByteWriter w(out);
  w.u8(kOkHeader);
  w.u32(m.statementId);
  w.u16(m.numColumns);
  w.u16(m.numParams);
  w.u8(0);
  w.u16(m.warnings);
}

std::optional<StmtPrepareOk> decodeStmtPrepareOk(ByteView payload) {
  ByteReader r(payload);
  if (r.u8() != kOkHeader) return std::nullopt;
  StmtPrepareOk m;
  m.statementId = r.u32();
  m.numColumns = r.u16();
  m.numParams = r.u16();
  if (r.failed()) return std::nullopt;
  if (r.remaining() >= 3) {
    r.skip(1);
    m.warnings = r.u16();
  }
  return m;
}

}  // namespace shardproxy::proxy::protocol
