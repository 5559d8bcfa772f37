// High availability: the row operations behind a primary switchover or failover (the role swap)
// and the HA record (SHOW FAILOVERS). docs/high-availability.md.
#include <fmt/format.h>

#include "catalog_errors.h"
#include "model.h"
#include "sqlite_util.h"
#include "store.h"

namespace shardproxy::catalog::detail {

Result<std::vector<std::string>> promoteBackendRows(sqlite3* db, const Endpoint& newPrimary,
                                                    const Endpoint& oldPrimary,
                                                    BackendState oldPrimaryState) {
  if (newPrimary == oldPrimary) {
    return invariantError(
        fmt::format("{} is already the primary: name one of its replicas", newPrimary.toString()));
  }
  // Every shard the old primary leads, and whether the candidate is a replica there.
  Statement led(db,
                "SELECT p.keyspace, p.shard, c.role FROM backends p "
                "LEFT JOIN backends c ON c.keyspace = p.keyspace AND c.shard = p.shard "
                "AND c.host = ? AND c.port = ? "
                "WHERE p.host = ? AND p.port = ? AND p.role = 'primary' ORDER BY 1, 2");
  led.bind(1, newPrimary.host)
      .bind(2, std::int64_t{newPrimary.port})
      .bind(3, oldPrimary.host)
      .bind(4, std::int64_t{oldPrimary.port});
  std::vector<std::pair<std::string, std::string>> shards;
  std::string missing;
  for (;;) {
    auto row = led.step();
    if (!row) return row.takeError();
    if (!*row) break;
    std::string label = led.text(0) + "/" + led.text(1);
    if (led.isNull(2) || led.text(2) != "replica") {
      missing += (missing.empty() ? "" : ", ") + label;
    }
    shards.emplace_back(led.text(0), led.text(1));
  }
  if (shards.empty()) {
    return invariantError(fmt::format("{} is not the primary of any shard", oldPrimary.toString()));
  }
  if (!missing.empty()) {
    return invariantError(fmt::format(
        "{} is not a replica of {} in every shard {} leads (missing: {}); a server has one role "
        "in every keyspace it serves",
        newPrimary.toString(), oldPrimary.toString(), oldPrimary.toString(), missing));
  }
  Statement demote(db,
                   "UPDATE backends SET role = 'replica', state = ? "
                   "WHERE keyspace = ? AND shard = ? AND host = ? AND port = ?");
  Statement promote(db,
                    "UPDATE backends SET role = 'primary', state = 'online' "
                    "WHERE keyspace = ? AND shard = ? AND host = ? AND port = ?");
  std::vector<std::string> out;
  for (const auto& [keyspace, shard] : shards) {
    demote.reset();
    demote.bind(1, toString(oldPrimaryState))
        .bind(2, keyspace)
        .bind(3, shard)
        .bind(4, oldPrimary.host)
        .bind(5, std::int64_t{oldPrimary.port});
    if (Status s = demote.run(); !s) return s.takeError();
    promote.reset();
    promote.bind(1, keyspace)
        .bind(2, shard)
        .bind(3, newPrimary.host)
        .bind(4, std::int64_t{newPrimary.port});
    if (Status s = promote.run(); !s) return s.takeError();
    out.push_back(keyspace + "/" + shard);
  }
  return out;
}

namespace {

void bindOptionalInt(Statement& st, int index, const std::optional<std::int64_t>& v) {
  if (v) {
    st.bind(index, *v);
  } else {
    st.bindNull(index);
  }
}

std::optional<std::int64_t> optionalInt(const Statement& st, int column) {
  if (st.isNull(column)) return std::nullopt;
  return st.int64(column);
}

}  // namespace

Result<std::int64_t> insertHaEvent(sqlite3* db, const HaEvent& e) {
  Statement st(db,
               "INSERT INTO ha_events (kind, shards, old_primary, new_primary, state, started_ms, "
               "old_gtid, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, e.kind)
      .bind(2, e.shards)
      .bind(3, e.oldPrimary)
      .bind(4, e.newPrimary)
      .bind(5, e.state)
      .bind(6, e.startedMs)
      .bind(7, e.oldGtid)
      .bind(8, e.detail);
  if (Status s = st.run(); !s) return s.takeError();
  Statement id(db, "SELECT last_insert_rowid()");
  auto row = id.step();
  if (!row) return row.takeError();
  return id.int64(0);
}

Status updateHaEventRow(sqlite3* db, const HaEvent& e) {
  Statement st(db,
               "UPDATE ha_events SET shards = ?, new_primary = ?, state = ?, finished_ms = ?, "
               "pause_ms = ?, old_gtid = ?, new_gtid = ?, lost_transactions = ?, "
               "old_primary_state = ?, detail = ? WHERE id = ?");
  st.bind(1, e.shards).bind(2, e.newPrimary).bind(3, e.state);
  bindOptionalInt(st, 4, e.finishedMs);
  bindOptionalInt(st, 5, e.pauseMs);
  st.bind(6, e.oldGtid).bind(7, e.newGtid);
  bindOptionalInt(st, 8, e.lostTransactions);
  st.bind(9, e.oldPrimaryState).bind(10, e.detail).bind(11, e.id);
  return st.run();
}

Result<std::vector<HaEvent>> selectHaEvents(sqlite3* db, std::optional<std::uint32_t> limit) {
  Statement st(db,
               "SELECT id, kind, shards, old_primary, new_primary, state, started_ms, "
               "finished_ms, pause_ms, old_gtid, new_gtid, lost_transactions, "
               "old_primary_state, detail FROM ha_events ORDER BY id DESC LIMIT ?");
  st.bind(1, limit ? std::int64_t{*limit} : std::int64_t{-1});
  std::vector<HaEvent> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) break;
    HaEvent& e = out.emplace_back();
    e.id = st.int64(0);
    e.kind = st.text(1);
    e.shards = st.text(2);
    e.oldPrimary = st.text(3);
    e.newPrimary = st.text(4);
    e.state = st.text(5);
    e.startedMs = st.int64(6);
    e.finishedMs = optionalInt(st, 7);
    e.pauseMs = optionalInt(st, 8);
    e.oldGtid = st.text(9);
    e.newGtid = st.text(10);
    e.lostTransactions = optionalInt(st, 11);
    e.oldPrimaryState = st.text(12);
    e.detail = st.text(13);
  }
  return out;
}

}  // namespace shardproxy::catalog::detail
