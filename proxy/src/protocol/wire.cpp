#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy::protocol {

std::uint64_t ByteReader::fixed(std::size_t n) {
  if (failed_ || data_.size() - pos_ < n) {
    failed_ = true;
    return 0;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= static_cast<std::uint64_t>(data_[pos_ + i]) << (8 * i);
  pos_ += n;
  return v;
}

std::optional<std::uint64_t> ByteReader::lenenc(bool allowNull) {
  std::uint8_t first = u8();
  if (failed_) return std::nullopt;
  if (first < 0xfb) return first;
  switch (first) {
    case 0xfb:
      if (!allowNull) failed_ = true;
      return std::nullopt;
    case 0xfc: {
      auto v = u16();
      return failed_ ? std::nullopt : std::optional<std::uint64_t>(v);
    }
    case 0xfd: {
      auto v = u24();
      return failed_ ? std::nullopt : std::optional<std::uint64_t>(v);
    }
    case 0xfe: {
      auto v = u64();
      return failed_ ? std::nullopt : std::optional<std::uint64_t>(v);
    }
    default:
      failed_ = true;
      return std::nullopt;
  }
}

ByteView ByteReader::bytes(std::size_t n) {
  if (failed_ || data_.size() - pos_ < n) {
    failed_ = true;
    return {};
  }
  ByteView v = data_.subspan(pos_, n);
  pos_ += n;
  return v;
}

std::string_view ByteReader::nulTerminated() {
  if (failed_) return {};
  const void* nul = std::memchr(data_.data() + pos_, 0, data_.size() - pos_);
  if (nul == nullptr) {
    failed_ = true;
    return {};
  }
  std::size_t len = static_cast<const std::uint8_t*>(nul) - (data_.data() + pos_);
  std::string_view s = asString(data_.subspan(pos_, len));
  pos_ += len + 1;
  return s;
}

std::string_view ByteReader::nulTerminatedOrEof() {
  if (failed_) return {};
  const void* nul = std::memchr(data_.data() + pos_, 0, data_.size() - pos_);
  if (nul == nullptr) return rest();
  return nulTerminated();
}

std::string_view ByteReader::lenencStr() {
  auto len = lenenc();
  if (!len) {
    failed_ = true;
    return {};
  }
  return str(*len);
}

std::string_view ByteReader::rest() {
  if (failed_) return {};
  std::string_view s = asString(data_.subspan(pos_));
  pos_ = data_.size();
  return s;
}

void ByteWriter::lenenc(std::uint64_t v) {
  if (v < 0xfb) {
    u8(static_cast<std::uint8_t>(v));
  } else if (v <= 0xffff) {
    u8(0xfc);
    u16(static_cast<std::uint16_t>(v));
  } else if (v <= 0xffffff) {
    u8(0xfd);
    u24(static_cast<std::uint32_t>(v));
  } else {
    u8(0xfe);
    u64(v);
  }
}

std::size_t lenencSize(std::uint64_t v) {
  if (v < 0xfb) return 1;
  if (v <= 0xffff) return 3;
  if (v <= 0xffffff) return 4;
  return 9;
}

}  // namespace shardproxy::proxy::protocol
