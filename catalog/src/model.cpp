#include "model.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace shardproxy::catalog::detail {
namespace {

std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out, &size, md, nullptr) != 1) {
    // Only on OOM or a broken OpenSSL; there is no sensible hash to store instead.
    throw std::runtime_error("catalog: OpenSSL digest failed");
  }
  return {reinterpret_cast<const char*>(out), size};
}

}  // namespace

std::optional<BackendRole> parseRole(std::string_view text) {
  if (text == "primary") return BackendRole::kPrimary;
  if (text == "replica") return BackendRole::kReplica;
  return std::nullopt;
}

std::optional<BackendState> parseState(std::string_view text) {
  if (text == "online") return BackendState::kOnline;
  if (text == "draining") return BackendState::kDraining;
  if (text == "offline") return BackendState::kOffline;
  return std::nullopt;
}

std::optional<TableKind> parseKind(std::string_view text) {
  if (text == "sharded") return TableKind::kSharded;
  if (text == "reference") return TableKind::kReference;
  return std::nullopt;
}

std::optional<ScatterWrites> parseScatterWrites(std::string_view text) {
  if (text == "allow") return ScatterWrites::kAllow;
  if (text == "deny") return ScatterWrites::kDeny;
  return std::nullopt;
}

std::string boundToText(std::uint64_t value) {
  return fmt::format("{:016x}", value);
}

std::optional<std::uint64_t> boundFromText(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end != text.data() + text.size() || text.size() != 16) {
    return std::nullopt;
  }
  return value;
}

std::vector<KeyRange> uncoveredRanges(const std::vector<KeyRange>& ranges) {
  std::vector<KeyRange> gaps;
  std::uint64_t cursor = 0;  // everything below is covered
  for (const KeyRange& r : ranges) {
    if (r.start > cursor) gaps.push_back(KeyRange{cursor, r.start});
    if (!r.end) return gaps;  // covered up to 2^64
    cursor = std::max(cursor, *r.end);
  }
  gaps.push_back(KeyRange{cursor, std::nullopt});
  return gaps;
}

std::string shardLabel(std::string_view keyspace, std::string_view shard) {
  return fmt::format("{}.{}", keyspace, shard);
}

std::string nativePasswordHash(std::string_view password) {
  if (password.empty()) return {};
  return digest(EVP_sha1(), digest(EVP_sha1(), password));
}

std::string sha2PasswordHash(std::string_view password) {
  if (password.empty()) return {};
  return digest(EVP_sha256(), digest(EVP_sha256(), password));
}

std::string toHex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += fmt::format("{:02x}", c);
  }
  return out;
}

std::optional<std::string> fromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
    if (ec != std::errc() || end != hex.data() + i + 2) return std::nullopt;
    out.push_back(static_cast<char>(value));
  }
  return out;
}

}  // namespace shardproxy::catalog::detail
