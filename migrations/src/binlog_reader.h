// Reads one MariaDB primary's binlog from a GTID position (Connector/C's mariadb_rpl_* API) and
// turns it into what the resharding applier needs: which primary keys of which tables changed,
// and where each transaction ends (its GTID), so progress can be saved and compared.
// Place in the request flow: a stream worker (stream_worker.h) owns one reader per source shard;
// it never runs on an event loop. The reader asks the server for heartbeats, so next() returns at
// least every heartbeat period even when nothing is written (the worker checks its controls).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/common/errors.h"
#include "shardproxy/migrations/blocking_client.h"

struct st_mariadb_rpl;
struct st_mariadb_rpl_event;

namespace shardproxy::migrations {

// A MariaDB GTID position: the last sequence number per replication domain ("0-101-57,1-5-3").
class GtidPosition {
 public:
  static GtidPosition parse(std::string_view text);
  std::string toString() const;
  void advance(std::uint32_t domain, std::uint32_t server, std::uint64_t sequence);
  // Every domain of `other` is reached here (sequence numbers at least as high).
  bool reached(const GtidPosition& other) const;
  // How many transactions `other` is ahead (sum over domains; 0 when reached).
  std::uint64_t behind(const GtidPosition& other) const;
  bool empty() const { return domains_.empty(); }

 private:
  struct Entry {
    std::uint32_t server = 0;
    std::uint64_t sequence = 0;
  };
  std::map<std::uint32_t, Entry> domains_;
};

struct BinlogEvent {
  enum class Kind : std::uint8_t {
    kRows,       // rows of `table` in `database` changed; `keys` holds their primary key values
    kCommit,     // a transaction ended; `position` is the position after it
    kHeartbeat,  // nothing written for a while (or an event the applier ignores)
    kDdl,        // a statement that is not a transaction boundary (schema change): `statement`
  };
  Kind kind = Kind::kHeartbeat;
  std::string database;
  std::string table;
  // One entry per changed row image (before and after for updates): the primary key columns'
  // values as SQL literals, in `pkColumns` order (the caller says which columns form the key).
  std::vector<std::vector<std::string>> keys;
  std::string statement;
  std::uint32_t timestamp = 0;  // the event's time on the source, seconds since the epoch
};

// Which columns (0-based positions in the table, binlog order) form a table's primary key, with
// how to write each as a literal. The applier registers every table it follows.
struct KeyColumns {
  struct Column {
    std::size_t position = 0;
    bool isUnsigned = false;
    bool isString = false;
    std::string charset;  // for strings: the column's character set (binary: none)
  };
  std::vector<Column> columns;
};

class BinlogReader {
 public:
  BinlogReader() = default;
  ~BinlogReader();
  BinlogReader(const BinlogReader&) = delete;
  BinlogReader& operator=(const BinlogReader&) = delete;

  // Tables to decode ("db.table" → key columns); row events of other tables are skipped.
  void follow(const std::string& database, const std::string& table, KeyColumns key);
  // Connects as `login` (it needs REPLICATION SLAVE) and starts reading after `from`.
  // `serverId` must differ from every replica's; heartbeats every `heartbeatMs`.
  Status open(const Endpoint& login, const GtidPosition& from, std::uint32_t serverId,
              std::uint32_t heartbeatMs);
  // The next event the applier cares about; blocks at most about one heartbeat period.
  Result<BinlogEvent> next();
  // The position after the last complete transaction read.
  const GtidPosition& position() const { return position_; }
  void close();

 private:
  Result<bool> handle(st_mariadb_rpl_event* ev, BinlogEvent& out);

  BlockingClient client_;
  st_mariadb_rpl* rpl_ = nullptr;
  GtidPosition position_;
  // The GTID of the transaction being read (the position moves to it at its end).
  std::uint32_t pendingDomain_ = 0;
  std::uint32_t pendingServer_ = 0;
  std::uint64_t pendingSeq_ = 0;
  bool inTransaction_ = false;
  std::map<std::string, KeyColumns> follow_;                  // "db\0table"
  std::map<std::uint64_t, st_mariadb_rpl_event*> tableMaps_;  // table_id → TABLE_MAP kept alive
};

}  // namespace shardproxy::migrations
