// Global sequences: the row operations behind CREATE / DROP SEQUENCE and SHOW SEQUENCES, and the
// snapshot's copy of their definitions. Values are reserved by SequenceStore
// (sequence_store.cpp), outside changes.
#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "catalog_errors.h"
#include "model.h"
#include "sqlite_util.h"
#include "store.h"

namespace shardproxy::catalog::detail {
namespace {

constexpr std::uint32_t kMaxCache = 1000000;

std::string label(std::string_view keyspace, std::string_view table) {
  return fmt::format("{}.{}", keyspace, table);
}

Sequence sequenceAt(const Statement& st) {
  Sequence s;
  s.id = st.int64(0);
  s.keyspace = st.text(1);
  s.table = st.text(2);
  s.column = st.text(3);
  s.start = st.int64(4);
  s.cache = static_cast<std::uint32_t>(st.int64(5));
  return s;
}

}  // namespace

Status insertSequence(sqlite3* db, const SequenceSpec& spec) {
  auto sharded = requireKeyspace(db, spec.keyspace);
  if (!sharded) return sharded.takeError();
  const std::string what = label(spec.keyspace, spec.table);
  if (!*sharded) {
    return invariantError(fmt::format(
        "keyspace '{}' is unsharded: its shard's own AUTO_INCREMENT generates keys; a sequence "
        "is for a table of a sharded keyspace",
        spec.keyspace));
  }
  if (Status s = validateName("sequence column", spec.column); !s) return s;
  auto rule = shardedRuleKey(db, spec.keyspace, spec.table, "a sequence is for a sharded table");
  if (!rule) return rule.takeError();
  if (spec.start < 1) {
    return invariantError(fmt::format("sequence for {}: START WITH must be at least 1", what));
  }
  if (spec.cache < 1 || spec.cache > kMaxCache) {
    return invariantError(
        fmt::format("sequence for {}: CACHE must be between 1 and {}", what, kMaxCache));
  }
  Statement exists(db, "SELECT column_name FROM sequences WHERE keyspace = ? AND table_name = ?");
  exists.bind(1, spec.keyspace).bind(2, spec.table);
  auto found = exists.step();
  if (!found) return found.takeError();
  if (*found) {
    return existsError(
        fmt::format("table {} already has a sequence (for column {}); DROP "
                    "SEQUENCE FOR {} first",
                    what, exists.text(0), what));
  }
  Statement st(db,
               "INSERT INTO sequences (keyspace, table_name, column_name, start_value, "
               "next_value, cache) VALUES (?, ?, ?, ?, ?, ?)");
  st.bind(1, spec.keyspace).bind(2, spec.table).bind(3, spec.column).bind(4, spec.start);
  st.bind(5, spec.start).bind(6, std::int64_t{spec.cache});
  return st.run();
}

Status deleteSequence(sqlite3* db, std::string_view keyspace, std::string_view table) {
  if (auto sharded = requireKeyspace(db, keyspace); !sharded) return sharded.takeError();
  Statement st(db, "DELETE FROM sequences WHERE keyspace = ? AND table_name = ? RETURNING 1");
  st.bind(1, keyspace).bind(2, table);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) {
    return notFoundError(fmt::format("table {} has no sequence", label(keyspace, table)));
  }
  return st.run();
}

Status checkNoSequence(sqlite3* db, std::string_view keyspace, std::string_view table) {
  Statement st(db, "SELECT 1 FROM sequences WHERE keyspace = ? AND table_name = ?");
  st.bind(1, keyspace).bind(2, table);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return {};
  return invariantError(fmt::format("table rule {} has a sequence; DROP SEQUENCE FOR {} first",
                                    label(keyspace, table), label(keyspace, table)));
}

Result<std::vector<SequenceState>> readSequenceStates(sqlite3* db) {
  Statement st(db,
               "SELECT id, keyspace, table_name, column_name, start_value, cache, next_value "
               "FROM sequences ORDER BY keyspace, table_name");
  std::vector<SequenceState> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) return out;
    out.push_back(SequenceState{sequenceAt(st), st.int64(6)});
  }
}

Status readSequences(sqlite3* db, Snapshot& snap) {
  Statement st(db,
               "SELECT id, keyspace, table_name, column_name, start_value, cache FROM sequences");
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) break;
    snap.sequences.push_back(sequenceAt(st));
  }
  std::sort(snap.sequences.begin(), snap.sequences.end(), [](const Sequence& a, const Sequence& b) {
    return std::tie(a.keyspace, a.table) < std::tie(b.keyspace, b.table);
  });
  return {};
}

}  // namespace shardproxy::catalog::detail
