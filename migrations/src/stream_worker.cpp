#include "stream_worker.h"

#include <fmt/format.h>
#include <mysql.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "migration_log.h"
#include "shardproxy/catalog/catalog.h"
#include "shardproxy/router/keyspace_id.h"
#include "target_writer.h"

namespace shardproxy::migrations {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

Status connectWorker(BlockingClient& client, const Endpoint& endpoint) {
  if (Status s = client.connect(endpoint, 60); !s) return s;
  return client.execute(kWorkerSessionSql);
}

namespace {

constexpr std::size_t kMaxStatementBytes = 2 * 1024 * 1024;
constexpr std::size_t kFlushKeys = 2000;
constexpr auto kFlushAge = 30ms;
constexpr auto kSaveEvery = 1s;
constexpr std::uint32_t kHeartbeatMs = 100;

// The key of a row read in a text result, as literals (strings arrive in utf8mb4).
std::string textKeyLiteral(const ColumnMeta& col, const char* data, unsigned long length) {
  if (data == nullptr) return "NULL";
  if (col.numeric()) return std::string(data, length);
  return hexLiteral(std::string_view(data, length), col.binary() ? "" : "utf8mb4");
}

// Test failpoint: with SHARDPROXY_FAILPOINT_DIR set, the number in <dir>/apply_delay_ms (read at
// most every 100 ms) delays each applied batch — a slow catch-up on demand, for the test of the
// cutover's automatic abort. Without the variable this costs one branch.
long failpointApplyDelayMs() {
  static const char* dir = std::getenv("SHARDPROXY_FAILPOINT_DIR");
  if (dir == nullptr) return 0;
  static std::mutex mu;
  static Clock::time_point readAt;
  static long value = 0;
  std::lock_guard lock(mu);
  if (Clock::now() - readAt > 100ms) {
    readAt = Clock::now();
    value = 0;
    if (FILE* f = std::fopen((std::string(dir) + "/apply_delay_ms").c_str(), "r")) {
      if (std::fscanf(f, "%ld", &value) != 1) value = 0;
      std::fclose(f);
    }
  }
  return value;
}

class Worker {
 public:
  Worker(RunContext& ctx, std::size_t index)
      : ctx_(ctx), index_(index), side_(ctx.from[index]), prog_(*ctx.progress[index]) {}

  void run() {
    while (!ctx_.stop) {
      Status s = session();
      if (ctx_.stop) break;
      if (!s) {
        logWith(*log::migrations(), spdlog::level::warn,
                log::migrationFields(ctx_.id, ctx_.keyspace),
                "migration {}: stream from {} ({}): {}; retrying", ctx_.id, side_.name,
                side_.primary.label(), s.error().message);
        {
          std::lock_guard lock(prog_.mu);
          prog_.error = s.error().message;
          prog_.healthy = false;
        }
        for (int i = 0; i < 10 && !ctx_.stop; ++i)
          std::this_thread::sleep_for(100ms);
      }
    }
    (void)saveProgress(true);
  }

 private:
  struct TableState {
    const TableMeta* meta = nullptr;
    catalog::MigrationTable row;  // what the catalog has (cursor after the last written chunk)
    bool follow = false;          // this stream applies its changes
  };

  // One connected life of the worker: setup, copy, then stream until stopped or an error.
  Status session() {
    if (Status s = setup(); !s) return s;
    if (Status s = copyAll(); !s) return s;
    {
      std::lock_guard lock(prog_.mu);
      prog_.copying = false;
    }
    while (!ctx_.stop) {
      if (ctx_.paused) {
        if (Status s = pauseHere(); !s) return s;
        continue;
      }
      auto ev = reader_.next();
      if (!ev) return ev.takeError();
      if (Status s = handle(*ev); !s) return s;
    }
    return flush();
  }

  Status setup() {
    reader_.close();
    pending_.clear();
    pendingKeys_ = 0;
    if (!catalog_) {
      auto c = catalog::Catalog::open(ctx_.catalogPath);
      if (!c) return c.takeError();
      catalog_ = std::move(*c);
    }
    source_ = std::make_unique<BlockingClient>();
    if (Status s = connectWorker(*source_, ctx_.login(side_.primary)); !s) return s;
    writers_.clear();  // before the connections they write to
    targets_.clear();
    for (const ShardSide& t : ctx_.to) {
      targets_.push_back(std::make_unique<BlockingClient>());
      if (Status s = connectWorker(*targets_.back(), ctx_.login(t.primary)); !s) return s;
      writers_.push_back(std::make_unique<TargetWriter>(*targets_.back()));
    }
    auto all = catalog_->migrations(ctx_.id);
    if (!all) return all.takeError();
    if (all->empty()) return Error::make(ErrorCode::kCatalogNotFound, "migration vanished");
    const catalog::Migration& m = all->front();
    tables_.clear();
    for (const TableMeta& meta : ctx_.tables) {
      TableState t;
      t.meta = &meta;
      t.row.source = side_.name;
      t.row.table = meta.name;
      t.row.kind = meta.reference ? "reference" : "sharded";
      t.row.done = ctx_.direction == "reverse";
      bool copies = false;
      if (ctx_.direction == "forward") {
        for (const auto& row : m.tables)
          if (row.source == side_.name && row.table == meta.name) {
            t.row = row;
            copies = true;
          }
      }
      // Reference tables change identically on every serving shard: one stream follows them.
      t.follow = !meta.reference || index_ == 0;
      if (ctx_.direction == "forward" && !copies && !meta.reference) t.row.done = true;
      if (ctx_.direction == "forward" && meta.reference && index_ != 0) t.row.done = true;
      tables_.push_back(t);
    }
    GtidPosition start;
    for (const auto& st : m.streams)
      if (st.direction == ctx_.direction && st.shard == side_.name) {
        start = GtidPosition::parse(st.gtidPosition);
        stream_ = st;
      }
    stream_.direction = ctx_.direction;
    stream_.shard = side_.name;
    if (start.empty()) {
      // First start: everything from now on is streamed; the copy reads what came before.
      auto pos = source_->scalar("SELECT @@gtid_binlog_pos");
      if (!pos) return pos.takeError();
      start = GtidPosition::parse(pos->value_or(""));
      stream_.gtidPosition = start.toString();
      if (Status s = catalog_->saveStreamProgress(ctx_.id, stream_); !s) return s;
    }
    for (const TableState& t : tables_)
      if (t.follow) reader_.follow(ctx_.keyspace, t.meta->name, t.meta->keyColumns());
    const std::uint32_t serverId = ctx_.serverIdBase + static_cast<std::uint32_t>(index_);
    if (Status s = reader_.open(ctx_.login(side_.primary), start, serverId, kHeartbeatMs); !s)
      return s;
    {
      std::lock_guard lock(prog_.mu);
      prog_.applied = start;
      prog_.healthy = true;
      prog_.error.clear();
    }
    lastSave_ = Clock::now();
    throttleStart_ = Clock::now();
    copiedSinceThrottle_ = 0;
    return {};
  }

  Status pauseHere() {
    if (Status s = flush(); !s) return s;
    if (Status s = saveProgress(true); !s) return s;
    reader_.close();
    while (ctx_.paused && !ctx_.stop)
      std::this_thread::sleep_for(100ms);
    // The rows/s budget does not accumulate while paused.
    throttleStart_ = Clock::now();
    copiedSinceThrottle_ = 0;
    GtidPosition from;
    {
      std::lock_guard lock(prog_.mu);
      from = prog_.applied;
    }
    return reader_.open(ctx_.login(side_.primary), from,
                        ctx_.serverIdBase + static_cast<std::uint32_t>(index_), kHeartbeatMs);
  }

  // --- copy ------------------------------------------------------------------------------------

  Status copyAll() {
    for (TableState& t : tables_) {
      while (!t.row.done && !ctx_.stop) {
        if (ctx_.paused) {
          if (Status s = pauseHere(); !s) return s;
          continue;
        }
        if (Status s = throttle(); !s) return s;
        if (Status s = copyChunk(t); !s) return s;
      }
      if (ctx_.stop) return {};
    }
    return {};
  }

  // The connection the copy reads from: a source replica when one is reachable, else the primary.
  BlockingClient* copySource() {
    if (copy_ && copy_->connected()) return copy_.get();
    copy_.reset();
    for (const Endpoint& r : side_.replicas) {
      auto c = std::make_unique<BlockingClient>();
      if (connectWorker(*c, ctx_.login(r))) {
        copy_ = std::move(c);
        return copy_.get();
      }
    }
    return source_.get();
  }

  // Opens a consistent snapshot on `c` whose binlog position covers everything applied so far.
  Status snapshotAtOrAfterApplied(BlockingClient*& c) {
    for (int attempt = 0;; ++attempt) {
      // Worker sessions run READ COMMITTED; the snapshot must be REPEATABLE READ to be one.
      if (Status s = c->execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; START "
                                "TRANSACTION WITH CONSISTENT SNAPSHOT");
          !s) {
        return s;
      }
      auto pos = c->rows(
          "SELECT BINLOG_GTID_POS((SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
          "WHERE VARIABLE_NAME = 'BINLOG_SNAPSHOT_FILE'), (SELECT VARIABLE_VALUE FROM "
          "information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'BINLOG_SNAPSHOT_POSITION'))");
      if (!pos) return pos.takeError();
      GtidPosition snap = GtidPosition::parse(pos->empty() ? "" : pos->front()[0].value_or(""));
      GtidPosition applied;
      {
        std::lock_guard lock(prog_.mu);
        applied = prog_.applied;
      }
      if (snap.reached(applied)) return {};
      (void)c->execute("COMMIT");
      if (c != source_.get()) {
        // A lagging replica: wait for it, and after a few tries read the primary instead.
        if (attempt >= 3) {
          c = source_.get();
          continue;
        }
        (void)c->scalar(fmt::format("SELECT MASTER_GTID_WAIT('{}', 2)", applied.toString()));
      } else {
        // The primary: a transaction already in the binlog is committing in the engine.
        if (attempt > 200) {
          return Error::make(ErrorCode::kInternal,
                             "the source's snapshot never reached the applied binlog position");
        }
        std::this_thread::sleep_for(2ms);
      }
    }
  }

  Status copyChunk(TableState& t) {
    const TableMeta& meta = *t.meta;
    BlockingClient* c = copySource();
    if (Status s = snapshotAtOrAfterApplied(c); !s) {
      if (c != source_.get()) copy_.reset();
      return s;
    }
    std::string sql = "SELECT " + meta.selectList() + " FROM " + meta.qualified();
    std::vector<std::string> cursor = splitKey(t.row.cursor);
    if (!cursor.empty()) sql += " WHERE " + meta.pkGreaterThan(cursor);
    sql += " ORDER BY " + meta.pkList() + " LIMIT " + std::to_string(chunkRows_);
    const std::vector<std::size_t> written = meta.written();
    // Where each primary key column sits in the SELECT list.
    std::vector<std::size_t> pkAt;
    for (std::size_t p : meta.pk)
      pkAt.push_back(
          static_cast<std::size_t>(std::find(written.begin(), written.end(), p) - written.begin()));
    std::size_t shardKeyAt = 0;
    if (meta.shardKey)
      shardKeyAt = static_cast<std::size_t>(
          std::find(written.begin(), written.end(), *meta.shardKey) - written.begin());
    const std::string prefix =
        "REPLACE INTO " + meta.qualified() + " (" + meta.selectList() + ") VALUES ";
    buffers_.assign(ctx_.to.size(), std::string());
    std::size_t rows = 0, skipped = 0;
    std::uint64_t bytes = 0;
    std::vector<std::string> last;
    const auto started = Clock::now();
    Status read = c->stream(sql, [&](char** row, unsigned long* len, unsigned n) {
      ++rows;
      last.clear();
      for (std::size_t i = 0; i < pkAt.size(); ++i)
        last.push_back(textKeyLiteral(meta.columns[meta.pk[i]], row[pkAt[i]], len[pkAt[i]]));
      int target = -1;
      if (!meta.reference) {
        auto id = row[shardKeyAt] == nullptr
                      ? std::nullopt
                      : router::keyspaceIdOfValue(
                            std::string_view(row[shardKeyAt], len[shardKeyAt]), meta.hashFunction);
        target = id ? ctx_.targetFor(*id) : -1;
        if (target < 0) {
          ++skipped;  // not in this migration's key range (an orphan): stays behind
          return;
        }
      }
      for (std::size_t ti = 0; ti < ctx_.to.size(); ++ti) {
        if (target >= 0 && static_cast<int>(ti) != target) continue;
        std::string& buf = buffers_[ti];
        buf += buf.empty() ? prefix + "(" : ", (";
        for (unsigned i = 0; i < n; ++i) {
          if (i > 0) buf += ", ";
          appendValueLiteral(buf, meta.columns[written[i]], row[i], len[i]);
          bytes += len[i];
        }
        buf += ')';
        if (buf.size() >= kMaxStatementBytes) {
          writers_[ti]->submit(std::move(buf));
          buf.clear();
        }
      }
    });
    (void)c->execute("COMMIT");
    if (!read && c != source_.get()) copy_.reset();
    for (std::size_t ti = 0; ti < buffers_.size(); ++ti) {
      if (!buffers_[ti].empty()) writers_[ti]->submit(std::move(buffers_[ti]));
    }
    Status stored;
    for (auto& w : writers_) {
      if (Status s = w->wait(); !s && stored) stored = std::move(s);
    }
    if (!read) return read;
    if (!stored) return stored;
    // The chunk is on the targets: the cursor may move past it.
    if (rows < chunkRows_) {
      t.row.done = true;
    }
    if (!last.empty()) t.row.cursor = joinKey(last);
    t.row.rowsCopied += rows - skipped;
    t.row.bytesCopied += bytes;
    prog_.rowsCopied += rows - skipped;
    copiedSinceThrottle_ += rows;
    // Adaptive chunks: aim at about half a second each.
    const auto took = Clock::now() - started;
    if (took < 250ms && chunkRows_ < 100000 && ctx_.throttleRowsPerSecond == 0) chunkRows_ *= 2;
    if (took > 1s && chunkRows_ > 500) chunkRows_ /= 2;
    // Keep the applier close behind the copy, so the binlog is not replayed all at the end.
    if (Status s = drainAvailable(); !s) return s;
    return saveProgress(t.row.done);
  }

  // Applies what the binlog holds now: up to the source's current position (or the first
  // heartbeat, when nothing more comes), so a steady write load cannot keep it reading for ever.
  Status drainAvailable() {
    auto now = source_->scalar("SELECT @@gtid_binlog_pos");
    if (!now) return now.takeError();
    const GtidPosition until = GtidPosition::parse(now->value_or(""));
    while (!reader_.position().reached(until)) {
      auto ev = reader_.next();
      if (!ev) return ev.takeError();
      if (ev->kind == BinlogEvent::Kind::kHeartbeat) break;
      if (Status s = handle(*ev); !s) return s;
    }
    return flush();
  }

  // The DBA's rows/s limit and the targets' replicas: the copy waits while a replica lags more
  // than its limit or cannot be reached (it would fall further behind).
  Status throttle() {
    // THROTTLE n ROWS is the migration's total: each of the streams copies its share.
    if (const std::uint64_t rate =
            ctx_.throttleRowsPerSecond == 0
                ? 0
                : std::max<std::uint64_t>(1, ctx_.throttleRowsPerSecond / ctx_.from.size());
        rate > 0) {
      // About four chunks a second at the DBA's rate, and never ahead of it.
      chunkRows_ = std::clamp<std::size_t>(chunkRows_, 100, std::max<std::uint64_t>(100, rate / 4));
      for (;;) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - throttleStart_).count();
        if (static_cast<double>(copiedSinceThrottle_) <= elapsed * static_cast<double>(rate) ||
            ctx_.stop || ctx_.paused) {
          break;
        }
        std::this_thread::sleep_for(20ms);
        if (Status s = drainAvailable(); !s) return s;
      }
      if (Clock::now() - throttleStart_ > 10s) {
        throttleStart_ = Clock::now();
        copiedSinceThrottle_ = 0;
      }
    }
    if (Clock::now() - lastReplicaCheck_ < 1s) return {};
    lastReplicaCheck_ = Clock::now();
    for (;;) {
      std::string why = laggingReplica();
      {
        std::lock_guard lock(prog_.mu);
        prog_.throttled = why;
      }
      if (why.empty() || ctx_.stop || ctx_.paused) return {};
      if (Status s = drainAvailable(); !s) return s;
      std::this_thread::sleep_for(250ms);
    }
  }

  std::string laggingReplica() {
    for (const ShardSide& t : ctx_.to) {
      for (const Endpoint& r : t.replicas) {
        BlockingClient c;
        if (!c.connect(ctx_.login(r), 2)) return "target replica " + r.label() + " unreachable";
        // Seconds_Behind_Master, found by name (its position differs between versions).
        std::vector<FieldInfo> fields;
        bool replicating = false;
        std::optional<std::string> lag;
        Status st = c.stream(
            "SHOW SLAVE STATUS",
            [&](char** row, unsigned long* len, unsigned n) {
              replicating = true;
              for (unsigned i = 0; i < n && i < fields.size(); ++i)
                if (fields[i].name == "Seconds_Behind_Master" && row[i] != nullptr)
                  lag = std::string(row[i], len[i]);
            },
            &fields);
        if (!st) return "target replica " + r.label() + ": " + st.error().message;
        if (!replicating) continue;  // not a replica (yet): nothing to wait for
        if (!lag) return "target replica " + r.label() + " is not replicating";
        if (std::stoll(*lag) > 10) return "target replica " + r.label() + " lags " + *lag + " s";
      }
    }
    return {};
  }

  // --- catch-up --------------------------------------------------------------------------------

  TableState* tableOf(const std::string& db, const std::string& table) {
    if (db != ctx_.keyspace) return nullptr;
    for (TableState& t : tables_)
      if (t.meta->name == table && t.follow) return &t;
    return nullptr;
  }

  Status handle(const BinlogEvent& ev) {
    switch (ev.kind) {
      case BinlogEvent::Kind::kRows: {
        TableState* t = tableOf(ev.database, ev.table);
        if (t == nullptr || (t->row.cursor.empty() && !t->row.done)) return {};
        auto& keys = pending_[t];
        for (const auto& k : ev.keys) {
          if (keys.seen.insert(joinKey(k)).second) {
            keys.list.push_back(k);
            ++pendingKeys_;
          }
        }
        if (pendingKeys_ == ev.keys.size()) firstPending_ = Clock::now();
        lastEventTime_ = ev.timestamp;
        ++prog_.eventsApplied;
        return {};
      }
      case BinlogEvent::Kind::kCommit:
        if (pendingKeys_ >= kFlushKeys || ctx_.flushNow ||
            Clock::now() - firstPending_ > kFlushAge) {
          return flush();
        }
        if (pendingKeys_ == 0) publishApplied();
        return {};
      case BinlogEvent::Kind::kDdl:
        if (Status s = flush(); !s) return s;
        return applyDdl(ev);
      case BinlogEvent::Kind::kHeartbeat:
        lastEventTime_ = 0;
        return flush();
    }
    return {};
  }

  // Schema changes on the serving side follow to the other side (one stream applies them).
  Status applyDdl(const BinlogEvent& ev) {
    if (index_ != 0) return {};
    const std::string& s = ev.statement;
    if (s.find(ctx_.keyspace) == std::string::npos && ev.database != ctx_.keyspace) return {};
    for (auto& t : targets_) {
      std::string sql = ev.database.empty() ? s : "USE " + quoteIdent(ev.database) + "; " + s;
      if (Status st = t->execute(sql); !st) {
        logWith(*log::migrations(), spdlog::level::warn,
                log::migrationFields(ctx_.id, ctx_.keyspace),
                "migration {}: schema change not applied on {}: {}", ctx_.id, t->endpoint().label(),
                st.error().message);
      }
    }
    publishApplied();
    return {};
  }

  struct PendingKeys {
    std::vector<std::vector<std::string>> list;
    std::set<std::string> seen;
  };

  // Applies every pending key: re-read on the source primary, written where each row belongs.
  Status flush() {
    if (pendingKeys_ > 0) {
      if (const long delayMs = failpointApplyDelayMs(); delayMs > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
      }
    }
    for (auto& [t, keys] : pending_) {
      if (keys.list.empty()) continue;
      if (Status s = applyKeys(*t, keys.list); !s) return s;
      stream_.rowsApplied += keys.list.size();
    }
    pending_.clear();
    pendingKeys_ = 0;
    publishApplied();
    return saveProgress(false);
  }

  void publishApplied() {
    if (pendingKeys_ != 0) return;
    std::lock_guard lock(prog_.mu);
    prog_.applied = reader_.position();
    prog_.lagSeconds =
        lastEventTime_ == 0
            ? 0
            : std::max<double>(0, std::time(nullptr) - static_cast<double>(lastEventTime_));
  }

  Status applyKeys(const TableState& t, const std::vector<std::vector<std::string>>& keys) {
    const TableMeta& meta = *t.meta;
    for (std::size_t from = 0; from < keys.size(); from += 500) {
      std::vector<std::vector<std::string>> part(
          keys.begin() + static_cast<std::ptrdiff_t>(from),
          keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), from + 500)));
      std::string where = meta.pkIn(part);
      if (!t.row.done) where += " AND " + meta.pkAtMost(splitKey(t.row.cursor));
      std::string sql = "SELECT " + meta.selectList() + " FROM " + meta.qualified() + " WHERE " +
                        where + " LOCK IN SHARE MODE";
      const std::vector<std::size_t> written = meta.written();
      std::size_t shardKeyAt = 0;
      if (meta.shardKey)
        shardKeyAt = static_cast<std::size_t>(
            std::find(written.begin(), written.end(), *meta.shardKey) - written.begin());
      std::vector<std::string> replace(ctx_.to.size());
      std::vector<std::vector<std::vector<std::string>>> owned(ctx_.to.size());
      const std::string prefix =
          "REPLACE INTO " + meta.qualified() + " (" + meta.selectList() + ") VALUES ";
      Status read = Status{};
      for (int attempt = 0; attempt < 5; ++attempt) {
        for (auto& r : replace)
          r.clear();
        for (auto& o : owned)
          o.clear();
        read = source_->stream(sql, [&](char** row, unsigned long* len, unsigned n) {
          int target = -1;
          if (!meta.reference) {
            auto id =
                row[shardKeyAt] == nullptr
                    ? std::nullopt
                    : router::keyspaceIdOfValue(std::string_view(row[shardKeyAt], len[shardKeyAt]),
                                                meta.hashFunction);
            target = id ? ctx_.targetFor(*id) : -2;
            if (target < 0) return;
          }
          std::vector<std::string> key;
          for (std::size_t p : meta.pk) {
            std::size_t at = static_cast<std::size_t>(std::find(written.begin(), written.end(), p) -
                                                      written.begin());
            key.push_back(textKeyLiteral(meta.columns[p], row[at], len[at]));
          }
          for (std::size_t ti = 0; ti < ctx_.to.size(); ++ti) {
            if (target >= 0 && static_cast<int>(ti) != target) continue;
            std::string& buf = replace[ti];
            buf += buf.empty() ? prefix + "(" : ", (";
            for (unsigned i = 0; i < n; ++i) {
              if (i > 0) buf += ", ";
              appendValueLiteral(buf, meta.columns[written[i]], row[i], len[i]);
            }
            buf += ')';
            owned[ti].push_back(key);
          }
        });
        // A deadlock or lock wait timeout on the locking read: try again.
        if (read || (source_->lastErrno() != 1213 && source_->lastErrno() != 1205)) break;
      }
      if (!read) return read;
      for (std::size_t ti = 0; ti < ctx_.to.size(); ++ti) {
        std::string sql2 =
            "START TRANSACTION; DELETE FROM " + meta.qualified() + " WHERE " + meta.pkIn(part);
        if (!owned[ti].empty()) sql2 += " AND NOT " + meta.pkIn(owned[ti]);
        sql2 += "; ";
        if (!replace[ti].empty()) sql2 += replace[ti] + "; ";
        sql2 += "COMMIT";
        if (Status s = executeRetrying(*targets_[ti], sql2); !s) {
          (void)targets_[ti]->execute("ROLLBACK");
          return s;
        }
      }
    }
    return {};
  }

  Status saveProgress(bool force) {
    if (!catalog_) return {};
    if (!force && Clock::now() - lastSave_ < kSaveEvery) return {};
    lastSave_ = Clock::now();
    for (const TableState& t : tables_) {
      if (ctx_.direction != "forward") break;
      if (t.row.source != side_.name || (t.meta->reference && index_ != 0)) continue;
      if (Status s = catalog_->saveTableProgress(ctx_.id, t.row); !s) return s;
    }
    {
      std::lock_guard lock(prog_.mu);
      stream_.gtidPosition = prog_.applied.toString();
      stream_.lagSeconds = prog_.lagSeconds;
    }
    stream_.eventsApplied = prog_.eventsApplied;
    // The source's own position, for the lag in transactions.
    if (auto pos = source_ ? source_->scalar("SELECT @@gtid_binlog_pos")
                           : Result<std::optional<std::string>>(std::optional<std::string>{});
        pos && *pos) {
      std::lock_guard lock(prog_.mu);
      prog_.lagEvents = prog_.applied.behind(GtidPosition::parse(**pos));
      stream_.lagEvents = static_cast<std::int64_t>(prog_.lagEvents);
    }
    return catalog_->saveStreamProgress(ctx_.id, stream_);
  }

  RunContext& ctx_;
  std::size_t index_;
  const ShardSide& side_;
  StreamProgress& prog_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<BlockingClient> source_;
  std::unique_ptr<BlockingClient> copy_;
  std::vector<std::unique_ptr<BlockingClient>> targets_;
  std::vector<std::unique_ptr<TargetWriter>> writers_;  // the copy's writes, one thread each
  BinlogReader reader_;
  std::vector<TableState> tables_;
  catalog::MigrationStream stream_;
  std::map<TableState*, PendingKeys> pending_;
  std::size_t pendingKeys_ = 0;
  Clock::time_point firstPending_;
  Clock::time_point lastSave_;
  Clock::time_point lastReplicaCheck_;
  Clock::time_point throttleStart_ = Clock::now();
  std::uint64_t copiedSinceThrottle_ = 0;
  std::uint32_t lastEventTime_ = 0;
  std::size_t chunkRows_ = 2000;
  std::vector<std::string> buffers_;
};

}  // namespace

void runStreamWorker(RunContext& ctx, std::size_t index) {
  Worker(ctx, index).run();
}

}  // namespace shardproxy::migrations
