#include "shardproxy/catalog/sequence_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <limits>

#include "catalog_errors.h"
#include "schema.h"
#include "sqlite_util.h"

namespace shardproxy::catalog {

Result<std::unique_ptr<SequenceStore>> SequenceStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  Status opened = detail::openCatalogFile(path, false, false, db, " for sequences");
  std::unique_ptr<SequenceStore> store(new SequenceStore(db, path));  // closes `db` on any path
  if (!opened) return opened.takeError();
  return store;
}

SequenceStore::~SequenceStore() {
  sqlite3_close_v2(db_);
}

Result<SequenceBlock> SequenceStore::reserve(std::int64_t id, std::int64_t count) {
  if (count < 1) {
    return Error::make(ErrorCode::kInternal, "sequence reservation of fewer than one value");
  }
  // IMMEDIATE: the write lock from the start, so two stores serialise here instead of both
  // reading the same next_value.
  auto tx = detail::Transaction::begin(db_, detail::Transaction::Kind::kWrite);
  if (!tx) return tx.takeError();
  detail::Statement read(db_,
                         "SELECT next_value, keyspace || '.' || table_name FROM sequences "
                         "WHERE id = ?");
  read.bind(1, id);
  auto row = read.step();
  if (!row) return row.takeError();
  if (!*row) {
    return detail::notFoundError(
        fmt::format("the sequence (id {}) was dropped while this statement ran", id));
  }
  const std::int64_t next = read.int64(0);
  const std::string name = read.text(1);
  read.reset();
  if (next > std::numeric_limits<std::int64_t>::max() - count) {
    return detail::invariantError(fmt::format(
        "sequence for {} is exhausted: fewer than {} values are left below 2^63", name, count));
  }
  detail::Statement write(db_, "UPDATE sequences SET next_value = ? WHERE id = ?");
  write.bind(1, next + count).bind(2, id);
  if (Status s = write.run(); !s) return s.takeError();
  if (Status s = tx->commit(); !s) return s.takeError();
  return SequenceBlock{next, count};
}

}  // namespace shardproxy::catalog
