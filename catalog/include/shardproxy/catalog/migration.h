// Resharding migrations as the catalog records them (docs/resharding.md).
// Place in the request flow: the admin port creates a migration and records DBA requests (pause,
// cutover, ...); the migration workers (migrations/) read them, save their progress (copy cursor
// per table, GTID position per binlog stream, counters) often, and switch the serving shards in
// one catalog transaction at cutover. Progress writes do not bump the catalog version: only
// changes that alter routing (the switch) or that a DBA made do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardproxy::catalog {

enum class MigrationPhase : std::uint8_t {
  kCopying,      // schema, copy of every table, binlog catch-up between chunks
  kReplicating,  // everything copied; streaming the serving side's binlog to the other side
  kCuttingOver,  // a cutover (or reverse) is in progress: writes held, source fenced
  kCompleted,    // COMPLETE: the old shards left the catalog
  kCancelled,    // CANCEL before cutover: the targets stay, not serving, data not deleted
};
std::string_view toString(MigrationPhase phase);
std::optional<MigrationPhase> migrationPhaseFromString(std::string_view text);

// What a DBA asked for on the admin port; the workers act on it and clear it.
enum class MigrationRequest : std::uint8_t {
  kPause,
  kResume,
  kCancel,
  kVerify,
  kCutover,   // switch to the targets (switched must be false)
  kReverse,   // switch back to the sources (switched must be true)
  kComplete,  // drop the sources (switched must be true)
};
// "pause", "cutover", ...: the catalog's stored form and the admin port's display.
std::string_view toString(MigrationRequest request);

// One table of one copy stream: its rows of `source` go to the targets (reference tables: only
// the first source copies, to every target).
struct MigrationTable {
  std::string source;  // shard name the rows are read from
  std::string table;
  std::string kind;  // "sharded" | "reference"
  // The primary key of the last row copied, as SQL literals separated by ',' (empty: not started).
  std::string cursor;
  bool done = false;
  std::uint64_t rowsCopied = 0;
  std::uint64_t bytesCopied = 0;
  std::uint64_t rowsEstimated = 0;
};

// One binlog stream: `shard`'s binlog applied to the other side. Direction "forward" streams
// read the sources (before cutover), "reverse" streams the targets (after it).
struct MigrationStream {
  std::string direction;  // "forward" | "reverse"
  std::string shard;
  std::string gtidPosition;  // MariaDB GTID list; where to resume reading
  std::uint64_t eventsApplied = 0;
  std::uint64_t rowsApplied = 0;
  std::int64_t lagEvents = -1;  // -1: unknown
  double lagSeconds = -1;
};

struct Migration {
  std::int64_t id = 0;
  std::string keyspace;
  std::vector<std::string> sources;  // shard names, serving when the migration was created
  std::vector<std::string> targets;  // shard names, not serving then
  MigrationPhase phase = MigrationPhase::kCopying;
  bool switched = false;  // the targets serve (after a cutover, until a reverse)
  bool paused = false;
  bool autoCutover = false;
  std::uint64_t throttleRowsPerSecond = 0;  // 0: unlimited
  bool keyspaceWasUnsharded = false;        // the cutover makes the keyspace sharded
  // A pending DBA request the workers have not handled yet (cutover, reverse, verify, complete),
  // with the cutover's write-pause budget.
  std::optional<MigrationRequest> request;
  std::uint32_t cutoverTimeoutMs = 2000;
  std::string verifyState = "pending";  // pending | running | ok | differs
  std::string verifyDetail;             // the table and key range that differ, or counts
  std::string lastError;
  std::uint32_t cutoverAttempts = 0;
  std::int64_t lastPauseMs = -1;  // the write pause of the last cutover attempt
  std::string created;            // UTC, ISO 8601
  std::string updated;
  std::vector<MigrationTable> tables;
  std::vector<MigrationStream> streams;
};

// RESHARD KEYSPACE ks FROM (...) TO (...): what createMigration needs; the tables come from the
// source backends (checked by the caller: every table has a primary key and a rule).
struct MigrationSpec {
  std::string keyspace;
  std::vector<std::string> sources;
  std::vector<std::string> targets;
  bool autoCutover = false;
  std::uint64_t throttleRowsPerSecond = 0;
  struct Table {
    std::string name;
    std::string kind;  // "sharded" | "reference"
    std::uint64_t rowsEstimated = 0;
  };
  std::vector<Table> tables;
};

// What a worker changes in the migration row (no version bump); unset fields stay.
struct MigrationUpdate {
  std::optional<MigrationPhase> phase;
  std::optional<std::string> verifyState;
  std::optional<std::string> verifyDetail;
  std::optional<std::string> lastError;
  std::optional<std::int64_t> lastPauseMs;
  bool clearRequest = false;
  bool countCutoverAttempt = false;
  std::optional<bool> paused;
};

}  // namespace shardproxy::catalog
