// An immutable, consistent view of the catalog at one version.
// Place in the request flow: built by Catalog::snapshot() after each change and published through
// an atomic std::shared_ptr<const Snapshot>; every statement reads one Snapshot from start to end.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::catalog {

enum class BackendRole : std::uint8_t { kPrimary, kReplica };
enum class BackendState : std::uint8_t { kOnline, kDraining, kOffline };
enum class TableKind : std::uint8_t { kSharded, kReference };
// Whether an UPDATE / DELETE may run on several shards of a keyspace at once (docs/routing.md).
enum class ScatterWrites : std::uint8_t { kAllow, kDeny };
// How a transaction that writes to several shards commits (docs/transactions.md): kSingle refuses
// the second shard's write, kMulti commits the shards in turn, kTwoPc commits them atomically with
// XA and a decision recorded in the catalog.
enum class TransactionMode : std::uint8_t { kSingle, kMulti, kTwoPc };

std::string_view toString(BackendRole role);
std::string_view toString(BackendState state);
std::string_view toString(TableKind kind);
std::string_view toString(ScatterWrites setting);
std::string_view toString(TransactionMode mode);
std::optional<TransactionMode> parseTransactionMode(std::string_view text);  // lower case

struct Endpoint {
  std::string host;
  std::uint16_t port = 3306;
  // IPv6 hosts are bracketed, as in the admin syntax ('[::1]:3306').
  std::string toString() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
  bool operator==(const Endpoint&) const = default;
};

// A half-open range of 64-bit keyspace IDs [start, end); end == nullopt means up to 2^64.
struct KeyRange {
  std::uint64_t start = 0;
  std::optional<std::uint64_t> end;
  bool contains(std::uint64_t id) const { return id >= start && (!end || id < *end); }
  bool overlaps(const KeyRange& other) const;
  // Vitess notation: "-80", "80-c0", "c0-", "-" (hex prefixes, left-aligned to 64 bits).
  static std::optional<KeyRange> parse(std::string_view text);
  std::string toString() const;
  bool operator==(const KeyRange&) const = default;
};

struct Backend {
  std::int64_t id = 0;
  Endpoint address;
  std::string keyspace;
  std::string shard;
  BackendRole role = BackendRole::kPrimary;
  std::uint32_t weight = 1;
  BackendState state = BackendState::kOnline;
  std::uint32_t maxLagSeconds = 30;
};

struct Shard {
  std::string keyspace;
  std::string name;
  KeyRange range;
  bool serving = true;
  std::vector<std::size_t> backends;  // indexes into Snapshot::backends
  std::optional<std::size_t> primary;
};

struct Keyspace {
  std::string name;
  bool sharded = false;
  std::vector<std::size_t> shards;  // indexes into Snapshot::shards, by range start
  std::vector<KeyRange> uncovered;  // gaps among serving shards (sharded keyspaces)
  ScatterWrites scatterWrites = ScatterWrites::kAllow;
  TransactionMode transactionMode = TransactionMode::kMulti;
  bool autoFailover = false;  // a dead primary is replaced by the proxy (high-availability.md)
  bool complete() const { return uncovered.empty() && !shards.empty(); }
};

struct TableRule {
  std::string keyspace;
  std::string table;
  TableKind kind = TableKind::kSharded;
  std::string shardKey;      // empty for reference tables
  std::string hashFunction;  // "xxh3"
};

// A global sequence (CREATE SEQUENCE FOR ks.t (col)): generates `column` for INSERTs into the
// sharded table that omit it. Only the definition is here; the next unreserved value changes
// without a catalog version (SequenceStore reserves blocks of `cache` values).
struct Sequence {
  std::int64_t id = 0;  // never reused: cached blocks of a dropped sequence are never used again
  std::string keyspace;
  std::string table;
  std::string column;
  std::int64_t start = 1;
  std::uint32_t cache = 1000;
};

// A lookup key (CREATE LOOKUP KEY ks.t (col)): a table on an unsharded keyspace that maps the
// values of a sharded table's non-key column to the keyspace IDs of the rows holding them, so a
// statement that names the column with `=` / `IN` goes to those rows' shards only. The proxy
// writes it with the rows (docs/routing.md, "Lookup keys"); it routes only once `ready` (the
// existing rows' values backfilled).
struct LookupKey {
  std::int64_t id = 0;
  std::string keyspace;
  std::string table;
  std::string column;
  bool unique = false;         // one row per value: the lookup table's primary key is the value
  std::string lookupKeyspace;  // unsharded: its database holds the lookup table
  std::string lookupTable;     // columns `value`, `keyspace_id` (BIGINT UNSIGNED)
  bool ready = false;          // backfilled: the planner routes by it
  std::string error;           // the backfill's last failure, empty when none
};

struct User {
  std::string name;
  std::string nativeHash;              // SHA1(SHA1(pw)), 20 raw bytes; empty = empty password
  std::string sha2Hash;                // SHA256(SHA256(pw)), 32 raw bytes; empty = empty password
  std::vector<std::string> keyspaces;  // empty = all
  bool mayUse(std::string_view keyspace) const;
};

struct Snapshot {
  std::uint64_t version = 0;
  std::vector<Keyspace> keyspaces;
  std::vector<Shard> shards;
  std::vector<Backend> backends;
  std::vector<TableRule> tables;
  std::vector<User> users;
  std::vector<Sequence> sequences;    // sorted by (keyspace, table)
  std::vector<LookupKey> lookupKeys;  // sorted by (keyspace, table, column)

  const Keyspace* findKeyspace(std::string_view name) const;
  const User* findUser(std::string_view name) const;
  // The first row of the server (a server shared by keyspaces has one row per keyspace).
  const Backend* findBackend(const Endpoint& address) const;
  // The server's row in `keyspace`.
  const Backend* findBackend(const Endpoint& address, std::string_view keyspace) const;
  const TableRule* findTable(std::string_view keyspace, std::string_view table) const;
  const Sequence* findSequence(std::string_view keyspace, std::string_view table) const;
  // The lookup keys of a table (empty for most tables), ordered by column.
  std::span<const LookupKey> lookupKeysOf(std::string_view keyspace, std::string_view table) const;
  // The serving shard of a sharded keyspace that owns the keyspace ID, or nullptr (a gap).
  const Shard* shardFor(const Keyspace& keyspace, std::uint64_t keyspaceId) const;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace shardproxy::catalog
