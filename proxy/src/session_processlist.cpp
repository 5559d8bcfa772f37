// What a client means by the server's connections is the proxy's: information_schema.PROCESSLIST
// and SHOW [FULL] PROCESSLIST list the proxy's sessions (their ids are the ones the handshake,
// CONNECTION_ID() and KILL use), each joined with its backend thread's row for what it is doing;
// SHOW STATUS reports Threads_connected as the proxy's client connections (the backends count
// pooled connections, which come and go with no client). docs/routing.md, "Sessions as the
// client sees them". SHOW WARNINGS / SHOW ERRORS after a statement on several shards list every
// shard's (docs/routing.md, "Warnings"). Same class as client_session.cpp.
#include <fmt/format.h>

#include <cctype>
#include <charconv>

#include "session_util.h"
#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/merge_relay.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/server.h"
#include "shardproxy/router/sql/analysis.h"

namespace shardproxy::proxy {

std::string ClientSession::processlistTable() {
  // One row per session. A session's backend thread is on one server: the join is kept to the
  // server the query runs on (its port) so that an unrelated thread with the same id elsewhere
  // never shows. Other users' sessions only for an account with PROCESS on that server (as the
  // server shows them), which USER_PRIVILEGES tells for the account itself.
  std::string rows;
  ctx_.shared.forEachSession([&](std::uint32_t id, const SharedState::SessionEntry& e) {
    if (!rows.empty()) rows += " UNION ALL ";
    rows += fmt::format("SELECT {} AS ID, {} AS USER, {} AS HOST, {} AS BT, {} AS BP", id,
                        quoteString(e.user), quoteString(e.host), e.backendThread,
                        e.backendThread != 0 ? e.backend.port : 0);
  });
  return fmt::format(
      "SELECT v.ID AS ID, v.USER AS USER, v.HOST AS HOST, p.DB AS DB, "
      "IFNULL(p.COMMAND, 'Sleep') AS COMMAND, IFNULL(p.TIME, 0) AS TIME, "
      "IFNULL(p.STATE, '') AS STATE, p.INFO AS INFO, IFNULL(p.TIME_MS, 0) AS TIME_MS, "
      "IFNULL(p.STAGE, 0) AS STAGE, IFNULL(p.MAX_STAGE, 0) AS MAX_STAGE, "
      "IFNULL(p.PROGRESS, 0) AS PROGRESS, IFNULL(p.MEMORY_USED, 0) AS MEMORY_USED, "
      "IFNULL(p.MAX_MEMORY_USED, 0) AS MAX_MEMORY_USED, "
      "IFNULL(p.EXAMINED_ROWS, 0) AS EXAMINED_ROWS, IFNULL(p.QUERY_ID, 0) AS QUERY_ID, "
      "p.INFO_BINARY AS INFO_BINARY, IFNULL(p.TID, 0) AS TID "
      "FROM ({}) AS v LEFT JOIN information_schema.PROCESSLIST AS p "
      "ON p.ID = v.BT AND v.BP = @@port "
      "WHERE v.USER = {} OR EXISTS (SELECT 1 FROM information_schema.USER_PRIVILEGES "
      "WHERE PRIVILEGE_TYPE = 'PROCESS' AND GRANTEE = CONCAT('''', "
      "SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
      "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), ''''))",
      rows, quoteString(user_));
}

asio::awaitable<bool> ClientSession::onProcesslist(const Packet& pkt, std::string_view sql,
                                                   std::uint8_t seq) {
  std::string text;
  if (!sql::withProcesslist(sql, processlistTable(), parser_.options().lex, text)) {
    rewritingProcesslist_ = true;  // not found after all: run it as it is
  }
  protocol::Bytes payload;
  const std::string_view body = rewritingProcesslist_ ? sql : std::string_view(text);
  const Packet rewritten = rewrittenPacket(Command::kQuery, body, pkt, payload);
  rewritingProcesslist_ = true;  // the rewritten text reads the backend's PROCESSLIST itself
  const bool keep =
      co_await onQueryText(rewritten, protocol::asString(rewritten.payload.subspan(1)), seq);
  rewritingProcesslist_ = false;
  co_return keep;
}

asio::awaitable<bool> ClientSession::onShowStatus(std::string_view sql, std::uint8_t seq) {
  router::Plan plan;
  plan.kind = router::PlanKind::kSessionConnection;
  plan.role = router::Role::kPrimary;
  plan.keyspace = schemaKeyspace();
  auto conn = co_await sessionConnection(plan);
  if (!conn) co_return co_await sendError(conn.error(), seq);
  BackendConnection::CommandOutput::Capture rows;
  rows.limit = 100000;
  BackendConnection::CommandOutput out;
  out.capture = &rows;
  const catalog::Endpoint address = (*conn)->address;
  Status st = co_await (*conn)->conn->command(Command::kQuery, sql, &out);
  if (!st) {
    if (SessionConn* still = findConn(address); still && still->conn && still->conn->broken) {
      releaseConn(*still, true);
    }
    co_return co_await sendError(st.error(), seq);
  }
  const std::size_t width = rows.columns.size();
  if (width >= 2) {
    const std::string connected = std::to_string(ctx_.shared.sessionCount());
    for (std::size_t r = 0; r * width < rows.values.size(); ++r) {
      auto& name = rows.values[r * width];
      if (name && iequals(*name, "Threads_connected")) rows.values[r * width + 1] = connected;
    }
  }
  co_return co_await sendCaptured(rows, 0, width > 0 ? rows.values.size() / width : 0, seq);
}

asio::awaitable<bool> ClientSession::sendCaptured(
    const BackendConnection::CommandOutput::Capture& rows, std::size_t first, std::size_t count,
    std::uint8_t seq) {
  const std::size_t width = rows.columns.size();
  auto& o = client_.out();
  std::size_t start = protocol::beginPacket(o);
  protocol::ByteWriter(o).lenenc(width);
  protocol::endPacket(o, start, seq);
  for (const std::string& def : rows.definitions) {
    start = protocol::beginPacket(o);
    protocol::ByteWriter(o).str(def);
    protocol::endPacket(o, start, seq);
  }
  if ((caps_ & protocol::cap::kDeprecateEof) == 0) {
    start = protocol::beginPacket(o);
    protocol::encode(protocol::EofPacket{0, static_cast<std::uint16_t>(statusFlags())}, o);
    protocol::endPacket(o, start, seq);
  }
  const std::size_t total = width > 0 ? rows.values.size() / width : 0;
  for (std::size_t r = first; r < total && r - first < count; ++r) {
    start = protocol::beginPacket(o);
    protocol::ByteWriter w(o);
    for (std::size_t c = 0; c < width; ++c) {
      const auto& v = rows.values[r * width + c];
      if (v) {
        w.lenencStr(*v);
      } else {
        w.u8(0xfb);
      }
    }
    protocol::endPacket(o, start, seq);
  }
  appendResultSetEnd(o, caps_, 0, static_cast<std::uint16_t>(statusFlags()), seq);
  co_return !(co_await client_.flush());
}

namespace detail {

// SHOW COUNT(*) WARNINGS / ERRORS, or a SELECT of nothing but @@[session.]warning_count /
// @@error_count: per column, whether it counts warnings; nullopt for any other statement.
std::optional<std::vector<bool>> diagnosticsCounts(const sql::Statement& statement) {
  if (const auto* show = statement.as<sql::ShowStatement>()) {
    if (show->show != sql::ShowKind::kOther || !show->rest.empty()) return std::nullopt;
    std::string words;
    for (char c : show->kindText)
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        words.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (words == "COUNT(*)WARNINGS") return std::vector<bool>{true};
    if (words == "COUNT(*)ERRORS") return std::vector<bool>{false};
    return std::nullopt;
  }
  const auto* select = statement.as<sql::SelectStatement>();
  if (select == nullptr || select->query == nullptr) return std::nullopt;
  const sql::Query& q = *select->query;
  const auto* b = q.as<sql::SelectBlock>();
  if (b == nullptr || !b->from.empty() || b->where != nullptr || !b->groupBy.empty() ||
      b->having != nullptr || !q.orderBy.empty() || q.limit != nullptr || b->items.empty()) {
    return std::nullopt;
  }
  std::vector<bool> warnings;
  for (const sql::SelectItem* item : b->items) {
    const auto* v = item->expr->as<sql::Variable>();
    if (v == nullptr || !v->system ||
        (v->scope != sql::VarScope::kNone && v->scope != sql::VarScope::kSession)) {
      return std::nullopt;
    }
    if (iequals(v->name.name, "warning_count")) {
      warnings.push_back(true);
    } else if (iequals(v->name.name, "error_count")) {
      warnings.push_back(false);
    } else {
      return std::nullopt;
    }
  }
  return warnings;
}

}  // namespace detail

namespace {

// SHOW WARNINGS' "LIMIT [offset,] count" (the statement's unparsed rest); nullopt for anything
// else. Whitespace and case as the server takes them.
std::optional<std::pair<std::uint64_t, std::uint64_t>> warningsLimit(std::string_view rest) {
  auto skip = [&] {
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front())))
      rest.remove_prefix(1);
  };
  auto number = [&]() -> std::optional<std::uint64_t> {
    skip();
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc() || end == rest.data()) return std::nullopt;
    rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
    return v;
  };
  skip();
  while (!rest.empty() &&
         (rest.back() == ';' || std::isspace(static_cast<unsigned char>(rest.back()))))
    rest.remove_suffix(1);
  if (rest.empty()) return std::pair<std::uint64_t, std::uint64_t>{0, ~std::uint64_t{0}};
  if (rest.size() < 5 || !iequals(rest.substr(0, 5), "LIMIT")) return std::nullopt;
  rest.remove_prefix(5);
  auto a = number();
  if (!a) return std::nullopt;
  skip();
  if (rest.empty()) return std::pair<std::uint64_t, std::uint64_t>{0, *a};
  if (rest.front() != ',') return std::nullopt;
  rest.remove_prefix(1);
  auto b = number();
  skip();
  if (!b || !rest.empty()) return std::nullopt;
  return std::pair<std::uint64_t, std::uint64_t>{*a, *b};
}

}  // namespace

asio::awaitable<Status> ClientSession::askWarnedOn(
    std::string_view sql, std::size_t limit,
    std::vector<BackendConnection::CommandOutput::Capture>& each) {
  for (const catalog::Endpoint& address : warnedOn_) {
    SessionConn* c = findConn(address);
    if (c == nullptr || !c->conn || c->conn->broken) continue;  // lost with its warnings
    BackendConnection::CommandOutput::Capture& one = each.emplace_back();
    one.limit = limit;
    BackendConnection::CommandOutput out;
    out.capture = &one;
    Status st = co_await c->conn->command(Command::kQuery, sql, &out);
    if (!st) {
      if (SessionConn* still = findConn(address); still && still->conn && still->conn->broken) {
        releaseConn(*still, true);
      }
      co_return st;
    }
  }
  co_return Status{};
}

asio::awaitable<bool> ClientSession::onShowWarnings(const sql::ShowStatement& show,
                                                    std::uint8_t seq) {
  const auto limit = warningsLimit(show.rest);
  if (!limit) {
    co_return co_await sendError(
        Error::fromServer(1064, "42000",
                          "You have an error in your SQL syntax near '" + std::string(show.rest) +
                              "': SHOW WARNINGS / SHOW ERRORS take LIMIT [offset,] row_count"),
        seq);
  }
  const bool errors = show.show == sql::ShowKind::kErrors;
  std::vector<BackendConnection::CommandOutput::Capture> each;
  Status asked = co_await askWarnedOn(errors ? "SHOW ERRORS" : "SHOW WARNINGS", 1 << 20, each);
  if (!asked) co_return co_await sendError(asked.error(), seq);
  BackendConnection::CommandOutput::Capture rows;
  for (auto& one : each) {
    if (rows.columns.empty()) {
      rows = std::move(one);
    } else {
      rows.values.insert(rows.values.end(), std::make_move_iterator(one.values.begin()),
                         std::make_move_iterator(one.values.end()));
    }
  }
  if (rows.columns.empty()) {
    // Every connection of the statement is gone: what any of them would answer, empty (the
    // definitions the merge's own warnings go under).
    auto conn = co_await schemaConnection();
    if (!conn) co_return co_await sendError(conn.error(), seq);
    BackendConnection::CommandOutput out;
    out.capture = &rows;
    Status st = co_await (*conn)->conn->command(
        Command::kQuery, errors ? "SHOW ERRORS LIMIT 0" : "SHOW WARNINGS LIMIT 0", &out);
    if (!st) co_return co_await sendError(st.error(), seq);
  }
  if (!errors && rows.columns.size() == 3 && !mergeCuts_.empty()) {
    // The merge cut a GROUP_CONCAT whose values the shards sent grouped by value: their own 1260s
    // are about those sub-groups (a value repeated past group_concat_max_len), not the client's
    // groups; the merge's own say what one server says.
    std::vector<std::optional<std::string>> kept;
    for (std::size_t r = 0; r + 3 <= rows.values.size(); r += 3) {
      if (rows.values[r + 1] && *rows.values[r + 1] == "1260") continue;
      kept.insert(kept.end(), rows.values.begin() + static_cast<std::ptrdiff_t>(r),
                  rows.values.begin() + static_cast<std::ptrdiff_t>(r + 3));
    }
    rows.values = std::move(kept);
    for (std::uint64_t row : mergeCuts_) {
      rows.values.emplace_back("Warning");
      rows.values.emplace_back("1260");
      rows.values.emplace_back(fmt::format("Row {} was cut by GROUP_CONCAT()", row));
    }
  }
  // One server keeps the first max_error_count messages of a statement (the count goes on): the
  // value the statement ran under, which a connection of it other than the session's last one
  // still has (a SET since went to that one only; the others take it when next used).
  SessionConn* other = nullptr;
  for (const catalog::Endpoint& address : warnedOn_) {
    SessionConn* c = findConn(address);
    if (c != nullptr && c->conn && !c->conn->broken && c - conns_.data() != current_) other = c;
  }
  if (rows.columns.size() == 3 && other != nullptr) {
    if (SessionConn* c = other; c != nullptr) {
      BackendConnection::CommandOutput::Capture max;
      max.limit = 4;
      BackendConnection::CommandOutput out;
      out.capture = &max;
      std::uint64_t keep = 0;
      // (No co_await inside the condition: GCC 12 miscompiles one in a short circuit.)
      const Status asked =
          co_await c->conn->command(Command::kQuery, "SELECT @@max_error_count", &out);
      if (asked && max.values.size() == 1 && max.values[0] &&
          std::from_chars(max.values[0]->data(), max.values[0]->data() + max.values[0]->size(),
                          keep)
                  .ec == std::errc{} &&
          keep * 3 < rows.values.size()) {
        rows.values.resize(static_cast<std::size_t>(keep * 3));
      }
    }
  }
  co_return co_await sendCaptured(
      rows, static_cast<std::size_t>(std::min<std::uint64_t>(limit->first, rows.values.size())),
      static_cast<std::size_t>(std::min<std::uint64_t>(limit->second, rows.values.size())), seq);
}

asio::awaitable<bool> ClientSession::onCountWarnings(std::string_view sql,
                                                     std::vector<bool> warnings, std::uint8_t seq) {
  BackendConnection::CommandOutput::Capture rows;
  std::vector<std::uint64_t> sums(warnings.size(), 0);
  std::size_t counted = 0;
  std::vector<BackendConnection::CommandOutput::Capture> each;
  Status asked = co_await askWarnedOn(sql, 16, each);
  if (!asked) co_return co_await sendError(asked.error(), seq);
  for (auto& one : each) {
    if (one.columns.size() != warnings.size() || one.values.size() != warnings.size()) continue;
    for (std::size_t i = 0; i < warnings.size(); ++i) {
      std::uint64_t v = 0;
      if (const auto& cell = one.values[i])
        std::from_chars(cell->data(), cell->data() + cell->size(), v);
      sums[i] += v;
    }
    if (counted++ == 0) rows = std::move(one);
  }
  if (counted == 0) {
    // Every connection of the statement is gone (and its messages with it): one that is not
    // answers.
    auto conn = co_await schemaConnection();
    if (!conn) co_return co_await sendError(conn.error(), seq);
    BackendConnection::CommandOutput out;
    out.capture = &rows;
    rows.limit = 16;
    Status st = co_await (*conn)->conn->command(Command::kQuery, sql, &out);
    if (!st) co_return co_await sendError(st.error(), seq);
    co_return co_await sendCaptured(rows, 0, rows.values.size(), seq);
  }
  for (std::size_t i = 0; i < warnings.size(); ++i) {
    if (warnings[i]) sums[i] += mergeCuts_.size();
    rows.values[i] = std::to_string(sums[i]);
  }
  co_return co_await sendCaptured(rows, 0, rows.values.size(), seq);
}

}  // namespace shardproxy::proxy
