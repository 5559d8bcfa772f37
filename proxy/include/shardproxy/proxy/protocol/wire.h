// Primitive field codecs: fixed-length and length-encoded integers and strings
// (MySQL protocol "Basic Data Types": Integer Types, String Types).
// Place in the request flow: everything that reads or writes a packet payload goes through here.
// Pure: no sockets, no logging, no allocation in ByteReader.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::proxy::protocol {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline std::string_view asString(ByteView v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}
inline ByteView asBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Reads fields from a payload; any read past the end sets failed() and returns an empty value,
// so a decoder checks once at the end instead of after every field.
class ByteReader {
 public:
  explicit ByteReader(ByteView data) : data_(data) {}

  bool failed() const { return failed_; }
  std::size_t remaining() const { return failed_ ? 0 : data_.size() - pos_; }
  bool atEnd() const { return remaining() == 0; }
  std::size_t position() const { return pos_; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(fixed(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(fixed(2)); }
  std::uint32_t u24() { return static_cast<std::uint32_t>(fixed(3)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
  std::uint64_t u64() { return fixed(8); }
  std::uint64_t fixed(std::size_t n);

  // Length-encoded integer. 0xfb (NULL) and 0xff are not integers: they fail the reader
  // unless allowNull, in which case 0xfb yields std::nullopt.
  std::optional<std::uint64_t> lenenc(bool allowNull = false);

  ByteView bytes(std::size_t n);
  std::string_view str(std::size_t n) { return asString(bytes(n)); }
  std::string_view nulTerminated();
  // A NUL-terminated string that may also run to the end of the payload (some clients omit
  // the terminator of the last field).
  std::string_view nulTerminatedOrEof();
  std::string_view lenencStr();
  std::string_view rest();
  void skip(std::size_t n) { (void)bytes(n); }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

// Appends fields to a byte buffer that the caller reuses across packets.
class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { fixed(v, 2); }
  void u24(std::uint32_t v) { fixed(v, 3); }
  void u32(std::uint32_t v) { fixed(v, 4); }
  void u64(std::uint64_t v) { fixed(v, 8); }
  void fixed(std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void lenenc(std::uint64_t v);
  void bytes(ByteView v) { out_.insert(out_.end(), v.begin(), v.end()); }
  void str(std::string_view s) { bytes(asBytes(s)); }
  void nulStr(std::string_view s) {
    str(s);
    u8(0);
  }
  void lenencStr(std::string_view s) {
    lenenc(s.size());
    str(s);
  }
  void zeros(std::size_t n) { out_.insert(out_.end(), n, 0); }
  std::size_t size() const { return out_.size(); }

 private:
  Bytes& out_;
};

std::size_t lenencSize(std::uint64_t v);

// Little-endian 4-byte fields patched in place (statement ids in COM_STMT_* packets).
inline std::uint32_t readU32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0] | (p[1] << 8) | (p[2] << 16)) |
         (static_cast<std::uint32_t>(p[3]) << 24);
}
inline void writeU32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace shardproxy::proxy::protocol
