// Keyspace IDs: the 64-bit value a row's shard key maps to; each shard of a sharded keyspace owns
// a half-open range of them (catalog::KeyRange).
// Place in the request flow: the planner computes the keyspace ID of every shard key value it
// can see (WHERE key = v, key IN (...), INSERT rows) and asks the catalog Snapshot which shard
// owns it; the resharding copy and binlog applier use the same functions to filter rows by target
// range. The values are persisted implicitly, by where rows live: any change to these functions
// moves data, which is why tests/unit/router/keyspace_id_test.cpp pins them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shardproxy::router {

// xxh3_64 (seed 0) of the 8-byte big-endian two's complement encoding. A negative value hashes
// as its two's complement bit pattern, so keyspaceIdOfInt(v) == keyspaceIdOfUint(v) for v >= 0
// and keyspaceIdOfInt(-1) == keyspaceIdOfUint(UINT64_MAX).
std::uint64_t keyspaceIdOfInt(std::int64_t value);
std::uint64_t keyspaceIdOfUint(std::uint64_t value);

enum class StringCollation : std::uint8_t {
  // The bytes as they are: VARBINARY/BLOB columns and NO PAD binary collations
  // (utf8mb4_0900_bin). Not the PAD SPACE utf8mb4_bin, under which 'a ' = 'a'.
  kBinary,
  // MySQL's utf8mb4_general_ci / utf8mb4_unicode_ci family at primary strength: case- and
  // accent-insensitive ('ABC' = 'abc', 'é' = 'e'), trailing spaces ignored (PAD SPACE).
  kCaseInsensitive,
};

// kBinary: xxh3_64 of the bytes. kCaseInsensitive: xxh3_64 of the ICU root-locale PRIMARY-strength
// sort key of the UTF-8 text without its trailing U+0020 spaces (malformed UTF-8 becomes U+FFFD).
// ICU's root collation is close to, not identical with, MySQL's: utf8mb4_general_ci has 'ß' = 's'
// where ICU has 'ß' = 'ss' (docs/admin-sql.md, "Keyspace IDs").
std::uint64_t keyspaceIdOfString(std::string_view utf8, StringCollation collation);

// The keyspace ID of a shard key value as a server returns it in a text result or a binlog
// decodes it (integers as decimal text), under a table rule's hash function ("xxh3", "xxh3_ci",
// "xxh3_ci@<version>", "xxh3_bin"): the same function the planner applies to literals, so the
// resharding copy places rows where the router will look for them. nullopt: the value cannot
// be hashed (not an integer under "xxh3", or a _ci rule of another collator version).
std::optional<std::uint64_t> keyspaceIdOfValue(std::string_view text,
                                               std::string_view hashFunction);

// The ICU root collator's version ("153.120" with ICU 72). _ci keyspace IDs are only stable while
// it is unchanged: the catalog should record it and refuse to route _ci keys when it differs.
std::string collatorVersion();

}  // namespace shardproxy::router
