// Helpers shared by the catalog's store, snapshot reader and JSON code: the names enums have in
// SQLite and JSON, the stored form of range bounds, gap computation and password hashing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/catalog/snapshot.h"

namespace shardproxy::catalog::detail {

std::optional<BackendRole> parseRole(std::string_view text);
std::optional<BackendState> parseState(std::string_view text);
std::optional<TableKind> parseKind(std::string_view text);
std::optional<ScatterWrites> parseScatterWrites(std::string_view text);

// Bounds are stored as 16 lowercase hex digits so that SQL text ordering is numeric ordering
// and the file stays readable in the sqlite3 shell; the open end of the space is NULL.
std::string boundToText(std::uint64_t value);
std::optional<std::uint64_t> boundFromText(std::string_view text);

// The parts of the 64-bit space no range covers; `ranges` sorted by start.
std::vector<KeyRange> uncoveredRanges(const std::vector<KeyRange>& ranges);

// "shop.-80": how messages name a shard.
std::string shardLabel(std::string_view keyspace, std::string_view shard);

// mysql_native_password's SHA1(SHA1(pw)) and caching_sha2_password's SHA256(SHA256(pw)), raw
// bytes; both empty for an empty password.
std::string nativePasswordHash(std::string_view password);
std::string sha2PasswordHash(std::string_view password);

std::string toHex(std::string_view bytes);
std::optional<std::string> fromHex(std::string_view hex);

inline constexpr std::string_view kHashFunction = "xxh3";  // the default: integer keys
inline bool isHashFunction(std::string_view f) {
  // xxh3_ci records the ICU collator version it was created under: "xxh3_ci@153.120".
  return f == "xxh3" || f == "xxh3_ci" || f == "xxh3_bin" || f.starts_with("xxh3_ci@");
}
inline constexpr std::size_t kMaxNameLength = 64;  // MySQL's limit for database/table names
inline constexpr std::uint32_t kDefaultWeight = 1;
inline constexpr std::uint32_t kDefaultMaxLagSeconds = 30;

}  // namespace shardproxy::catalog::detail
