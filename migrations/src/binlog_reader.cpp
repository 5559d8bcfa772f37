#include "binlog_reader.h"

#include <fmt/format.h>
#include <mysql.h>
// mariadb_rpl.h needs the types of mysql.h first.
#include <mariadb_rpl.h>

#include <charconv>

#include "row_image.h"

namespace shardproxy::migrations {

// --- GtidPosition ----------------------------------------------------------------------------

GtidPosition GtidPosition::parse(std::string_view text) {
  GtidPosition out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view one = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!one.empty() && (one.front() == ' ' || one.front() == '\n'))
      one.remove_prefix(1);
    std::uint32_t domain = 0, server = 0;
    std::uint64_t seq = 0;
    auto d1 = one.find('-');
    auto d2 = one.find('-', d1 == std::string_view::npos ? d1 : d1 + 1);
    if (d1 == std::string_view::npos || d2 == std::string_view::npos) continue;
    std::from_chars(one.data(), one.data() + d1, domain);
    std::from_chars(one.data() + d1 + 1, one.data() + d2, server);
    std::from_chars(one.data() + d2 + 1, one.data() + one.size(), seq);
    out.domains_[domain] = Entry{server, seq};
  }
  return out;
}

std::string GtidPosition::toString() const {
  std::string out;
  for (const auto& [domain, e] : domains_) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}-{}-{}", domain, e.server, e.sequence);
  }
  return out;
}

void GtidPosition::advance(std::uint32_t domain, std::uint32_t server, std::uint64_t sequence) {
  domains_[domain] = Entry{server, sequence};
}

bool GtidPosition::reached(const GtidPosition& other) const {
  return behind(other) == 0;
}

std::uint64_t GtidPosition::behind(const GtidPosition& other) const {
  std::uint64_t total = 0;
  for (const auto& [domain, e] : other.domains_) {
    auto it = domains_.find(domain);
    const std::uint64_t have = it == domains_.end() ? 0 : it->second.sequence;
    if (e.sequence > have) total += e.sequence - have;
  }
  return total;
}

// --- BinlogReader ----------------------------------------------------------------------------

namespace {

std::string followKey(std::string_view db, std::string_view table) {
  std::string k(db);
  k += '\0';
  k += table;
  return k;
}

}  // namespace

BinlogReader::~BinlogReader() {
  close();
}

void BinlogReader::close() {
  for (auto& [id, ev] : tableMaps_)
    mariadb_free_rpl_event(ev);
  tableMaps_.clear();
  if (rpl_ != nullptr) {
    mariadb_rpl_close(rpl_);
    rpl_ = nullptr;
  }
}

void BinlogReader::follow(const std::string& database, const std::string& table, KeyColumns key) {
  follow_[followKey(database, table)] = std::move(key);
}

Status BinlogReader::open(const Endpoint& login, const GtidPosition& from, std::uint32_t serverId,
                          std::uint32_t heartbeatMs) {
  close();
  position_ = from;
  inTransaction_ = false;
  // The read timeout must outlast the heartbeat period.
  if (Status s = client_.connect(login, 30); !s) return s;
  const std::string setup = fmt::format(
      "SET @master_binlog_checksum = @@global.binlog_checksum, @mariadb_slave_capability = 4, "
      "@slave_connect_state = '{}', @master_heartbeat_period = {}",
      from.toString(), static_cast<std::uint64_t>(heartbeatMs) * 1000000ULL);
  if (Status s = client_.execute(setup); !s) return s;
  rpl_ = mariadb_rpl_init(client_.handle());
  if (rpl_ == nullptr) return Error::make(ErrorCode::kInternal, "mariadb_rpl_init failed");
  unsigned int sid = serverId;
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_SERVER_ID, sid);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_FILENAME, "", 0);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_START, 4UL);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_FLAGS, 0U);
  if (mariadb_rpl_open(rpl_) != 0) {
    std::string msg = mysql_errno(client_.handle()) != 0 ? mysql_error(client_.handle())
                                                         : mariadb_rpl_error(rpl_);
    close();
    return Error::make(
        ErrorCode::kBackendUnreachable,
        fmt::format("binlog stream from {} at '{}': {}", login.label(), from.toString(), msg));
  }
  return {};
}

Result<BinlogEvent> BinlogReader::next() {
  if (rpl_ == nullptr) return Error::make(ErrorCode::kInternal, "binlog stream is not open");
  for (;;) {
    MARIADB_RPL_EVENT* ev = mariadb_rpl_fetch(rpl_, nullptr);
    if (ev == nullptr) {
      std::string msg = mysql_errno(client_.handle()) != 0 ? mysql_error(client_.handle())
                                                           : mariadb_rpl_error(rpl_);
      return Error::make(ErrorCode::kBackendLost,
                         fmt::format("binlog stream from {}: {}", client_.endpoint().label(),
                                     msg.empty() ? "connection lost" : msg));
    }
    BinlogEvent out;
    auto got = handle(ev, out);
    if (!got) return got.takeError();
    if (*got) return out;
  }
}

// Returns true when `out` is an event for the caller; takes ownership of `ev`.
Result<bool> BinlogReader::handle(MARIADB_RPL_EVENT* ev, BinlogEvent& out) {
  out.timestamp = ev->timestamp;
  switch (ev->event_type) {
    case GTID_EVENT:
      // FL_STANDALONE (1): a statement with no BEGIN/COMMIT around it (DDL).
      inTransaction_ = (ev->event.gtid.flags & 1) == 0;
      pendingDomain_ = ev->event.gtid.domain_id;
      pendingServer_ = ev->server_id;
      pendingSeq_ = ev->event.gtid.sequence_nr;
      mariadb_free_rpl_event(ev);
      return false;
    case XID_EVENT:
      position_.advance(pendingDomain_, pendingServer_, pendingSeq_);
      inTransaction_ = false;
      out.kind = BinlogEvent::Kind::kCommit;
      mariadb_free_rpl_event(ev);
      return true;
    case QUERY_EVENT: {
      std::string stmt(ev->event.query.statement.str, ev->event.query.statement.length);
      std::string db(ev->event.query.database.str, ev->event.query.database.length);
      mariadb_free_rpl_event(ev);
      if (stmt == "BEGIN") return false;
      if (stmt == "COMMIT" || stmt == "ROLLBACK" || !inTransaction_) {
        position_.advance(pendingDomain_, pendingServer_, pendingSeq_);
        const bool ddl = !inTransaction_ && stmt != "COMMIT" && stmt != "ROLLBACK";
        inTransaction_ = false;
        out.kind = ddl ? BinlogEvent::Kind::kDdl : BinlogEvent::Kind::kCommit;
        out.database = std::move(db);
        out.statement = std::move(stmt);
        return true;
      }
      return false;
    }
    case TABLE_MAP_EVENT: {
      auto& slot = tableMaps_[ev->event.table_map.table_id];
      if (slot != nullptr) mariadb_free_rpl_event(slot);
      slot = ev;
      return false;
    }
    case WRITE_ROWS_EVENT_V1:
    case UPDATE_ROWS_EVENT_V1:
    case DELETE_ROWS_EVENT_V1:
    case WRITE_ROWS_EVENT:
    case UPDATE_ROWS_EVENT:
    case DELETE_ROWS_EVENT:
    case WRITE_ROWS_COMPRESSED_EVENT_V1:
    case UPDATE_ROWS_COMPRESSED_EVENT_V1:
    case DELETE_ROWS_COMPRESSED_EVENT_V1:
    case WRITE_ROWS_COMPRESSED_EVENT:
    case UPDATE_ROWS_COMPRESSED_EVENT:
    case DELETE_ROWS_COMPRESSED_EVENT: {
      auto tm = tableMaps_.find(ev->event.rows.table_id);
      if (tm == tableMaps_.end()) {
        mariadb_free_rpl_event(ev);
        return Error::make(ErrorCode::kBackendProtocol,
                           "binlog row event without its table map event");
      }
      const auto& map = tm->second->event.table_map;
      std::string db(map.database.str, map.database.length);
      std::string table(map.table.str, map.table.length);
      auto f = follow_.find(followKey(db, table));
      if (f == follow_.end()) {
        mariadb_free_rpl_event(ev);
        return false;
      }
      // Connector/C's mariadb_rpl_extract_rows returns nothing for a table with a CHAR value
      // (row_image.h): the key columns are decoded here.
      const auto& rowsEv = ev->event.rows;
      const std::size_t bitmapBytes = (rowsEv.column_count + 7) / 8;
      const bool update = ev->event_type == UPDATE_ROWS_EVENT_V1 ||
                          ev->event_type == UPDATE_ROWS_EVENT ||
                          ev->event_type == UPDATE_ROWS_COMPRESSED_EVENT_V1 ||
                          ev->event_type == UPDATE_ROWS_COMPRESSED_EVENT;
      if (rowsEv.compressed != 0) {
        mariadb_free_rpl_event(ev);
        return Error::make(ErrorCode::kNotSupportedYet,
                           "compressed binlog row events (log_bin_compress) are not supported: "
                           "turn log_bin_compress off on the source");
      }
      TableMapView view{std::string_view(map.column_types.str, map.column_types.length),
                        std::string_view(map.metadata.str, map.metadata.length)};
      RowsView rv;
      rv.columnCount = rowsEv.column_count;
      rv.presentBitmap = std::string_view(reinterpret_cast<const char*>(rowsEv.column_bitmap),
                                          rowsEv.column_bitmap != nullptr ? bitmapBytes : 0);
      if (update && rowsEv.column_update_bitmap != nullptr) {
        rv.updateBitmap = std::string_view(
            reinterpret_cast<const char*>(rowsEv.column_update_bitmap), bitmapBytes);
      }
      rv.rowData =
          std::string_view(static_cast<const char*>(rowsEv.row_data), rowsEv.row_data_size);
      out.kind = BinlogEvent::Kind::kRows;
      out.database = std::move(db);
      out.table = std::move(table);
      if (Status s = decodeRowKeys(view, rv, f->second, out.keys); !s) {
        mariadb_free_rpl_event(ev);
        return Error::make(s.error().code,
                           fmt::format("{}.{}: {}", out.database, out.table, s.error().message));
      }
      // The rows live in the event's memory root: freed with it.
      mariadb_free_rpl_event(ev);
      return true;
    }
    case HEARTBEAT_LOG_EVENT:
      out.kind = BinlogEvent::Kind::kHeartbeat;
      mariadb_free_rpl_event(ev);
      return true;
    default:
      mariadb_free_rpl_event(ev);
      return false;
  }
}

}  // namespace shardproxy::migrations
