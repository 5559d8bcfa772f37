// The HA manager's private parts, shared by ha_manager.cpp (the thread, the monitor's
// reports, fencing returned primaries) and ha_promotion.cpp (switchover and failover).
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "binlog_reader.h"
#include "migration_log.h"
#include "shardproxy/migrations/blocking_client.h"
#include "shardproxy/migrations/ha.h"

namespace shardproxy::migrations {

using Clock = std::chrono::steady_clock;
using catalog::BackendRole;
using catalog::BackendState;
using ShardRef = TrafficGate::ShardRef;

namespace ha_detail {

inline std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::uint32_t secondsLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count();
  return static_cast<std::uint32_t>(std::max<std::int64_t>(1, left + 1));
}

inline double secondsLeftExact(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<double>(std::max<std::int64_t>(ms, 1)) / 1000.0;
}

inline std::string quoted(std::string_view s) {
  std::string out;
  appendQuoted(out, s);
  return out;
}

// What the catalog says about one server that leads shards: the shards, and their other
// members (by server).
struct Group {
  catalog::Endpoint primary;
  std::vector<ShardRef> shards;
  std::vector<std::string> labels;          // "ks/shard"
  std::vector<catalog::Endpoint> replicas;  // servers that are replicas in every one of them
  std::vector<catalog::Endpoint> partial;   // replicas of some of them only (left alone)
  bool autoFailover = true;                 // every keyspace has it on
};

// The fields of an HA line about `shards`: the shard's keyspace and name for one shard, the
// keyspace alone for several of one keyspace (the message names them all).
inline LogFields haFields(const std::vector<ShardRef>& shards) {
  LogFields f;
  if (shards.empty()) return f;
  f.keyspace = shards.front().keyspace;
  if (shards.size() == 1) f.shard = shards.front().shard;
  for (const auto& s : shards) {
    if (s.keyspace != f.keyspace) return LogFields{};
  }
  return f;
}

inline Group groupOf(const catalog::Snapshot& snap, const catalog::Endpoint& primary) {
  Group g;
  g.primary = primary;
  std::map<std::string, std::pair<catalog::Endpoint, std::size_t>> replicaCount;
  for (const auto& sh : snap.shards) {
    if (!sh.primary || snap.backends[*sh.primary].address != primary) continue;
    g.shards.push_back(ShardRef{sh.keyspace, sh.name});
    g.labels.push_back(sh.keyspace + "/" + sh.name);
    if (const auto* ks = snap.findKeyspace(sh.keyspace); ks == nullptr || !ks->autoFailover) {
      g.autoFailover = false;
    }
    for (std::size_t idx : sh.backends) {
      const auto& b = snap.backends[idx];
      if (b.role != BackendRole::kReplica) continue;
      auto& entry = replicaCount[b.address.toString()];
      entry.first = b.address;
      ++entry.second;
    }
  }
  for (const auto& [key, entry] : replicaCount) {
    (entry.second == g.shards.size() ? g.replicas : g.partial).push_back(entry.first);
  }
  return g;
}

// One server's replication as SHOW SLAVE STATUS reports it.
struct ReplicaView {
  catalog::Endpoint address;
  bool reachable = false;
  std::string problem;
  catalog::Endpoint source;  // Master_Host:Master_Port
  bool ioRunning = false;
  bool sqlRunning = false;
  std::string ioPos;  // Gtid_IO_Pos: what it received
  std::string currentPos;
  std::optional<std::uint64_t> lag;
};

}  // namespace ha_detail

using namespace ha_detail;

struct HaManager::Impl {
  HaOptions options;
  TrafficGate& gate;

  mutable std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;
  // Servers the monitor reported failing, with how often and the threshold; held shards per
  // server (held from the first failure until the failover ended or the server came back).
  struct Suspect {
    int failures = 0;
    int threshold = 3;
    std::string problem;
    std::vector<ShardRef> held;
    bool holding = false;
    bool failedOver = false;  // done or given up: no second attempt until it recovers
  };
  std::map<std::string, Suspect> suspects;  // by host:port
  std::map<std::string, catalog::Endpoint> addresses;
  bool running = false;    // a failover in progress (it releases the suspect's hold itself)
  std::mutex operationMu;  // one switchover or failover at a time

  Impl(HaOptions o, TrafficGate& g) : options(std::move(o)), gate(g) {}

  Endpoint login(const catalog::Endpoint& a) const {
    return Endpoint{a.host, a.port, options.dbaUser, options.dbaPassword, ""};
  }

  Result<std::unique_ptr<catalog::Catalog>> openCatalog() const {
    return catalog::Catalog::open(options.catalogPath);
  }

  ReplicaView readReplica(const catalog::Endpoint& a, unsigned timeoutSeconds) const {
    ReplicaView v;
    v.address = a;
    BlockingClient c;
    if (Status s = c.connect(login(a), timeoutSeconds); !s) {
      v.problem = s.error().message;
      return v;
    }
    v.reachable = true;
    std::vector<FieldInfo> fields;
    std::map<std::string, std::optional<std::string>> row;
    Status s = c.stream(
        "SHOW SLAVE STATUS",
        [&](char** values, unsigned long* lengths, unsigned n) {
          for (unsigned i = 0; i < n && i < fields.size(); ++i) {
            row[fields[i].name] =
                values[i] == nullptr
                    ? std::nullopt
                    : std::optional<std::string>(std::string(values[i], lengths[i]));
          }
        },
        &fields);
    if (!s) {
      v.problem = s.error().message;
      return v;
    }
    auto field = [&](const char* name) { return row.count(name) ? row[name].value_or("") : ""; };
    v.source.host = field("Master_Host");
    v.source.port = static_cast<std::uint16_t>(std::atoi(field("Master_Port").c_str()));
    v.ioRunning = field("Slave_IO_Running") == "Yes";
    v.sqlRunning = field("Slave_SQL_Running") == "Yes";
    v.ioPos = field("Gtid_IO_Pos");
    if (row.count("Seconds_Behind_Master") && row["Seconds_Behind_Master"]) {
      v.lag = std::strtoull(row["Seconds_Behind_Master"]->c_str(), nullptr, 10);
    }
    auto cur = c.scalar("SELECT @@gtid_current_pos");
    if (cur) v.currentPos = cur->value_or("");
    if (row.empty()) v.problem = "not a replica (SHOW SLAVE STATUS is empty)";
    return v;
  }

  static bool sameServer(const catalog::Endpoint& a, const catalog::Endpoint& b) {
    auto local = [](const std::string& h) {
      return h == "127.0.0.1" || h == "localhost" || h == "::1";
    };
    return a.port == b.port && (a.host == b.host || (local(a.host) && local(b.host)));
  }

  // Kills every connection on the server but the DBA's own, replication's and the server's.
  Status killApplicationConnections(BlockingClient& c) const {
    auto ids = c.rows(fmt::format(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND "
        "USER NOT IN ({}, 'system user', 'event_scheduler', 'unauthenticated user') AND "
        "COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')",
        quoted(options.dbaUser)));
    if (!ids) return ids.takeError();
    for (const Row& r : *ids) {
      if (!r.empty() && r[0]) (void)c.execute("KILL CONNECTION " + *r[0]);
    }
    return {};
  }

  // Points `replica` at `source` by GTID, keeping its replication account unless one is given.
  // A former primary (`demote`) also stops acting as a semi-synchronous source.
  Status repoint(const catalog::Endpoint& replica, const catalog::Endpoint& source,
                 bool withAccount, const std::string& slavePos, bool demote) const {
    BlockingClient c;
    if (Status s = c.connect(login(replica), 30); !s) return s;
    std::string sql = "STOP SLAVE; ";
    if (demote) {
      sql +=
          "SET GLOBAL rpl_semi_sync_master_enabled = OFF; "
          "SET GLOBAL rpl_semi_sync_slave_enabled = ON; ";
    }
    if (!slavePos.empty()) sql += "SET GLOBAL gtid_slave_pos = " + quoted(slavePos) + "; ";
    sql += fmt::format("CHANGE MASTER TO MASTER_HOST = {}, MASTER_PORT = {}, ", quoted(source.host),
                       source.port);
    if (withAccount) {
      sql += fmt::format("MASTER_USER = {}, MASTER_PASSWORD = {}, MASTER_CONNECT_RETRY = 1, ",
                         quoted(options.replicationUser), quoted(options.replicationPassword));
    }
    sql += "MASTER_USE_GTID = slave_pos; START SLAVE";
    return c.execute(sql);
  }

  // The candidate stops replicating and becomes writable (a semi-synchronous source when the
  // shard used semi-synchronous replication); returns its position then.
  Result<std::string> promote(const catalog::Endpoint& candidate, unsigned timeoutSeconds,
                              bool semiSync) const {
    BlockingClient c;
    if (Status s = c.connect(login(candidate), timeoutSeconds); !s) return s.takeError();
    std::string sql = "STOP SLAVE; RESET SLAVE ALL; ";
    if (semiSync) sql += "SET GLOBAL rpl_semi_sync_master_enabled = ON; ";
    sql += "SET GLOBAL read_only = OFF";
    if (Status s = c.execute(sql); !s) return s.takeError();
    auto pos = c.scalar("SELECT @@gtid_current_pos");
    if (!pos) return pos.takeError();
    return pos->value_or("");
  }

  void finish(catalog::Catalog& cat, catalog::HaEvent& e, const std::string& state,
              std::optional<std::int64_t> pauseMs) {
    e.state = state;
    e.finishedMs = nowMs();
    e.pauseMs = pauseMs;
    if (Status s = cat.updateHaEvent(e); !s) {
      log::migrations()->warn("ha: recording event {} failed: {}", e.id, s.error().message);
    }
  }

  Result<catalog::HaEvent> switchover(const SwitchoverRequest& req);
  void failover(const catalog::Endpoint& primary);
  void fenceReturnedPrimaries();
  void run();
};

}  // namespace shardproxy::migrations
