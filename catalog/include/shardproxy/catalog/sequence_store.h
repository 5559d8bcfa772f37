// Reserving blocks of a global sequence's values (docs/routing.md, "Generated keys").
// Place in the request flow: off the event loops. The proxy's sequence cache calls reserve() on
// a worker thread of its own when a session's INSERT needs values its cached blocks lack (or,
// ahead of time, when a block is half used); the session awaits the result, then plans again.
// Each reservation is one IMMEDIATE transaction that moves `next_value` forward, on a SQLite
// connection of its own to the catalog file: two proxies (or two stores) on one file, and one
// proxy before and after a restart, never get the same value. A store is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "shardproxy/common/errors.h"

struct sqlite3;

namespace shardproxy::catalog {

// Values [first, first + count) now belong to the caller alone.
struct SequenceBlock {
  std::int64_t first = 0;
  std::int64_t count = 0;
};

class SequenceStore {
 public:
  // Opens its own connection to an existing catalog file (Catalog::open made the schema).
  static Result<std::unique_ptr<SequenceStore>> open(const std::string& path);
  ~SequenceStore();
  SequenceStore(const SequenceStore&) = delete;
  SequenceStore& operator=(const SequenceStore&) = delete;

  // Reserves `count` (>= 1) values of sequence `id`: kCatalogNotFound when it was dropped,
  // kCatalogInvariant when fewer than `count` values are left below 2^63.
  Result<SequenceBlock> reserve(std::int64_t id, std::int64_t count);

 private:
  explicit SequenceStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

}  // namespace shardproxy::catalog
