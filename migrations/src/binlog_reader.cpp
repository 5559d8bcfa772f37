#include "binlog_reader.h"

#include <fmt/format.h>
#include <mysql.h>
// mariadb_rpl.h needs the types of mysql.h first.
#include <mariadb_rpl.h>

#include <charconv>

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

unsigned intWidthBits(enum_field_types t) {
  switch (t) {
    case MYSQL_TYPE_TINY:
      return 8;
    case MYSQL_TYPE_SHORT:
      return 16;
    case MYSQL_TYPE_INT24:
      return 24;
    case MYSQL_TYPE_LONG:
      return 32;
    default:
      return 64;
  }
}

// One column value of a row image as a SQL literal the key lookup can use.
std::string keyLiteral(const MARIADB_RPL_VALUE& v, const KeyColumns::Column& col) {
  if (v.is_null) return "NULL";
  if (col.isString || v.field_type == MYSQL_TYPE_VARCHAR || v.field_type == MYSQL_TYPE_STRING ||
      v.field_type == MYSQL_TYPE_VAR_STRING || v.field_type == MYSQL_TYPE_BLOB) {
    return hexLiteral(std::string_view(v.val.str.str, v.val.str.length), col.charset);
  }
  const unsigned bits = intWidthBits(v.field_type);
  std::uint64_t raw = v.val.ull;
  if (bits < 64) raw &= (std::uint64_t{1} << bits) - 1;
  if (col.isUnsigned) return std::to_string(raw);
  std::int64_t s = static_cast<std::int64_t>(raw);
  if (bits < 64 && (raw >> (bits - 1)) != 0)
    s = static_cast<std::int64_t>(raw | (~std::uint64_t{0} << bits));
  return std::to_string(s);
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
      MARIADB_RPL_ROW* rows = mariadb_rpl_extract_rows(rpl_, tm->second, ev);
      if (rows == nullptr && ev->event.rows.row_count != 0) {
        std::string msg = mariadb_rpl_error(rpl_);
        mariadb_free_rpl_event(ev);
        return Error::make(ErrorCode::kBackendProtocol,
                           fmt::format("cannot decode binlog rows of {}.{}: {}", db, table, msg));
      }
      out.kind = BinlogEvent::Kind::kRows;
      out.database = std::move(db);
      out.table = std::move(table);
      for (MARIADB_RPL_ROW* r = rows; r != nullptr; r = r->next) {
        std::vector<std::string> key;
        key.reserve(f->second.columns.size());
        for (const auto& col : f->second.columns) {
          if (col.position >= r->column_count) {
            mariadb_free_rpl_event(ev);
            return Error::make(
                ErrorCode::kBackendProtocol,
                fmt::format("binlog row of {}.{} has {} columns; the primary key "
                            "needs column {} (schema changed?)",
                            out.database, out.table, r->column_count, col.position + 1));
          }
          key.push_back(keyLiteral(r->columns[col.position], col));
        }
        out.keys.push_back(std::move(key));
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
