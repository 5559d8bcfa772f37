// A client session's INSERT ... SELECT into a sharded table (docs/routing.md, "INSERT ...
// SELECT"): the SELECT is planned and run by the proxy (one shard, or the shards' rows
// concatenated), its rows become the VALUES of the same INSERT, which is then planned like any
// multi-row INSERT (split per shard, generated keys, lookup entries) and answered as one. The rows
// are held in the proxy for the moment, bounded by merge_buffer_rows. Same class as
// client_session.cpp.
#include <fmt/format.h>

#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/merge/cells.h"
#include "shardproxy/proxy/server.h"
#include "shardproxy/router/sql/analysis.h"

namespace shardproxy::proxy {

namespace {

using protocol::Command;

// Numbers are written back as the digits the server sent.
bool numericType(std::uint8_t type) {
  const merge::ColumnType t{type};
  return t.isInteger() || t.isDecimal() || t.isFloating();
}

constexpr std::uint16_t kBinaryCharset = 63;

void appendHex(std::string_view bytes, std::string& out) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  out += "X'";
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  out.push_back('\'');
}

}  // namespace

asio::awaitable<Result<ClientSession::ReadTargets>> ClientSession::planRead(const std::string& sql,
                                                                            std::string_view what) {
  sql::ParseResult parsed = parser_.parse(sql);
  if (!parsed) co_return parsed.error().toError();
  const router::Plan* planned = &planner_.plan(parsed.statement(), planInput({}, false));
  if (planned->lookup != nullptr) {
    auto looked = co_await planAfterLookup(parsed.statement(), *planned, planInput({}, false));
    if (!looked) co_return looked.takeError();
    planned = *looked;
  }
  const router::Plan& plan = *planned;
  switch (plan.kind) {
    case router::PlanKind::kError:
      co_return plan.error;
    case router::PlanKind::kSingle:
    case router::PlanKind::kConcatenate:
    case router::PlanKind::kSessionConnection:
      break;
    default:
      co_return Error::make(
          ErrorCode::kNotSupportedYet,
          fmt::format("{} whose SELECT reads several shards and needs their rows "
                      "merged ({}: ORDER BY, LIMIT, aggregates, DISTINCT or UNION "
                      "across shards)",
                      what, router::toString(plan.kind)));
  }
  if (heldAtGate(plan.keyspace, &plan)) {
    co_return Error::fromServer(1213, "40001",
                                "The keyspace or a shard it reads is held (a cutover or a primary "
                                "switchover); retry");
  }
  ReadTargets out;
  // Causal reads wait for the session's writes only on connections acquired for a statement:
  // these reads go to the primaries then.
  out.role = causalReads_ ? router::Role::kPrimary : plan.role;
  out.sessionConnection = plan.kind == router::PlanKind::kSessionConnection;
  for (std::size_t i = 0; i < plan.targets.size(); ++i) {
    out.reads.emplace_back(&snapshot_->shards[plan.targets[i].shard], std::string(plan.sqlFor(i)));
  }
  co_return out;
}

asio::awaitable<Status> ClientSession::readRows(const std::string& sql,
                                                BackendConnection::CommandOutput::Capture& rows,
                                                std::string_view what, bool primary) {
  auto targets = co_await planRead(sql, what);
  if (!targets) co_return targets.takeError();
  if (primary) targets->role = router::Role::kPrimary;
  if (targets->sessionConnection) {
    auto conn = co_await schemaConnection();
    if (!conn) co_return conn.takeError();
    BackendConnection::CommandOutput out;
    out.capture = &rows;
    Status st = co_await (*conn)->conn->command(Command::kQuery, sql, &out);
    if (!st) co_return st;
  }
  for (const auto& [shard, text] : targets->reads) {
    // Inside a transaction the planner sent reads to the primaries already.
    auto backend = chooseFor(*shard, targets->role);
    if (!backend) co_return backend.takeError();
    auto conn = co_await connectionTo(**backend, *shard);
    if (!conn) co_return conn.takeError();
    BackendConnection::CommandOutput out;
    out.capture = &rows;
    const catalog::Endpoint address = (*conn)->address;
    Status st = co_await (*conn)->conn->command(Command::kQuery, text, &out);
    if (!st) {
      SessionConn* still = findConn(address);
      if (still != nullptr && still->conn && still->conn->broken) releaseConn(*still, true);
      Error e = st.takeError();
      e.message += fmt::format(" (shard {}/{})", shard->keyspace, shard->name);
      co_return e;
    }
    if (rows.overflow) break;
  }
  co_return Status{};
}

asio::awaitable<bool> ClientSession::onInsertSelect(const router::Plan::InsertSelect& parts,
                                                    std::uint8_t seq) {
  // The plan's views point into the statement text, which outlives this call (the packet).
  const std::string prefix(parts.prefix), select(parts.select), suffix(parts.suffix);
  BackendConnection::CommandOutput::Capture rows;
  rows.limit = ctx_.shared.config.mergeBufferRows;
  // The rows an INSERT copies are read where it writes: on the primaries (as one server reads
  // the current rows, not a replica's).
  Status read = co_await readRows(select, rows, "INSERT ... SELECT", true);
  if (!read) co_return co_await sendError(read.error(), seq);
  if (rows.overflow) {
    co_return co_await sendError(
        Error::fromServer(1038, "HY001",
                          fmt::format("INSERT ... SELECT selects more than merge_buffer_rows ({}) "
                                      "rows, which the proxy holds before inserting them: insert "
                                      "in smaller ranges, or raise merge_buffer_rows",
                                      rows.limit)),
        seq);
  }
  const std::size_t width = rows.columns.size();
  if (width == 0 || rows.values.empty()) {
    // The server's answer to an INSERT ... SELECT that selected nothing.
    co_return co_await sendOk(seq, 0, 0, "Records: 0  Duplicates: 0  Warnings: 0");
  }
  // The values as literals the session's own statements read back unchanged.
  std::string text = prefix;
  text += " VALUES ";
  const sql::LexOptions& lex = parser_.options().lex;
  for (std::size_t r = 0; r * width < rows.values.size(); ++r) {
    text += r == 0 ? "(" : ", (";
    for (std::size_t c = 0; c < width; ++c) {
      if (c > 0) text += ", ";
      const auto& v = rows.values[r * width + c];
      const auto [type, charset] = rows.columns[c];
      if (!v) {
        text += "NULL";
      } else if (numericType(type)) {
        text += *v;
      } else if (charset == kBinaryCharset) {
        appendHex(*v, text);
      } else {
        sql::appendStringLiteral(*v, lex, text);
      }
    }
    text += ')';
  }
  if (!suffix.empty()) {
    text += ' ';
    text += suffix;
  }
  rows = {};
  protocol::Bytes payload;
  payload.reserve(text.size() + 1);
  payload.push_back(static_cast<std::uint8_t>(Command::kQuery));
  payload.insert(payload.end(), text.begin(), text.end());
  Packet rewritten;
  rewritten.payload = protocol::ByteView(payload);
  rewritten.seq = 0;
  rewritten.lastSeq = 0;
  // One row becomes a one-row INSERT, whose OK has no "Records: ..." line where the client's
  // statement has one: the relay writes it (several rows answer with theirs, summed when split).
  insertSelectInfo_ = parts.kind;
  const bool keep =
      co_await onQueryText(rewritten, protocol::asString(rewritten.payload.subspan(1)), seq);
  insertSelectInfo_ = router::Plan::InsertKind::kNone;
  co_return keep;
}

}  // namespace shardproxy::proxy
