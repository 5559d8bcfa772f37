// The two-phase commit decision log (docs/transactions.md): one row per multi-shard transaction in
// mode 'twopc', in the catalog file's twopc_decisions table, on a SQLite connection of its own.
// Place in the request flow: a session's COMMIT records 'prepare' before its first XA PREPARE,
// swaps it to 'commit' before its first XA COMMIT and forgets it when every branch committed; the
// recovery pass (proxy/twopc_recovery.h) finishes the prepared XA branches a crashed proxy left
// by it. Every call blocks on SQLite (synchronous=FULL): never call it on an event loop. Calls are
// serialised by a mutex, so any thread may use one log.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/common/errors.h"

struct sqlite3;

namespace shardproxy::catalog {

enum class Decision : std::uint8_t { kPrepare, kCommit, kRollback };

// The clock of the log's times: milliseconds since the Unix epoch (shared by proxies on one host).
inline std::int64_t unixTimeMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
std::string_view toString(Decision d);

struct DecisionRecord {
  std::string gtrid;
  Decision state = Decision::kPrepare;
  std::string branches;  // "keyspace/shard@host:port, ..." for people reading it
  std::int64_t createdMs = 0;
};

class DecisionLog {
 public:
  // Opens its own connection to the catalog file (upgrading the schema if it is older).
  static Result<std::unique_ptr<DecisionLog>> open(const std::string& path);
  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // Eight hex digits naming this catalog in the XA ids its proxies create.
  const std::string& catalogId() const { return catalogId_; }

  // A new transaction about to prepare its branches (kCatalogExists if the id is taken).
  Status recordPrepare(std::string_view gtrid, std::string_view branches, std::int64_t nowMs);
  // Compare-and-set from 'prepare' to `to`; returns the decision now on record: `to` when the
  // swap happened, else what was decided first. A missing row counts as kRollback (recovery
  // rolled the transaction back and forgot it).
  Result<Decision> decide(std::string_view gtrid, Decision to, std::int64_t nowMs);
  // Recovery: the decision for `gtrid`, or nullopt when there is no row. A row still in
  // 'prepare' created before `abandonBeforeMs` is swapped to 'rollback' first (its owner is
  // gone or stuck; the owner's own decide() then sees the rollback).
  Result<std::optional<Decision>> resolve(std::string_view gtrid, std::int64_t abandonBeforeMs);
  Status forget(std::string_view gtrid);
  // When the row was recorded (ms since the epoch), or nullopt when there is none.
  Result<std::optional<std::int64_t>> createdMs(std::string_view gtrid);
  Result<std::vector<DecisionRecord>> list();

 private:
  explicit DecisionLog(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::mutex mutex_;
  std::string catalogId_;
};

}  // namespace shardproxy::catalog
