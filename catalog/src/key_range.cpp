// Key ranges in Vitess notation: "-80" is [0, 0x8000000000000000), "80-c0", "c0-" runs to 2^64,
// "-" is the whole space. A bound is a hex prefix left-aligned to 64 bits, so "8" == "80".
#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shardproxy/catalog/snapshot.h"

namespace shardproxy::catalog {
namespace {

constexpr std::size_t kMaxHexDigits = 16;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A non-empty hex prefix of at most 16 digits, left-aligned: "8" and "80" are 0x80 << 56.
std::optional<std::uint64_t> parseBound(std::string_view text) {
  if (text.empty() || text.size() > kMaxHexDigits) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    const int digit = hexValue(c);
    if (digit < 0) return std::nullopt;
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  return value << (4 * (kMaxHexDigits - text.size()));
}

// The shortest even-length prefix, as Vitess prints key range bounds (whole bytes).
std::string formatBound(std::uint64_t value) {
  std::string hex = fmt::format("{:016x}", value);
  while (hex.size() >= 2 && hex.ends_with("00")) {
    hex.resize(hex.size() - 2);
  }
  return hex;
}

}  // namespace

bool KeyRange::overlaps(const KeyRange& other) const {
  const bool startsBeforeOtherEnds = !other.end || start < *other.end;
  const bool otherStartsBeforeThisEnds = !end || other.start < *end;
  return startsBeforeOtherEnds && otherStartsBeforeThisEnds;
}

std::optional<KeyRange> KeyRange::parse(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos || text.find('-', dash + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view startText = text.substr(0, dash);
  const std::string_view endText = text.substr(dash + 1);
  KeyRange range;
  if (!startText.empty()) {
    auto start = parseBound(startText);
    if (!start) return std::nullopt;
    range.start = *start;
  }
  if (!endText.empty()) {
    range.end = parseBound(endText);
    if (!range.end || *range.end <= range.start) return std::nullopt;
  }
  return range;
}

std::string KeyRange::toString() const {
  return (start == 0 ? std::string() : formatBound(start)) + "-" +
         (end ? formatBound(*end) : std::string());
}

}  // namespace shardproxy::catalog
