// A client session's routing and execution: parse → plan → choose backends → run (single relay,
// concatenation, merged writes), transactions across the connections a session holds, SET / USE
// replay, read-your-writes, EXPLAIN ROUTE. Same class as client_session.cpp (docs/routing.md).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/merge_relay.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/result_set.h"
#include "shardproxy/proxy/server.h"
#include "shardproxy/router/backend_choice.h"
#include "shardproxy/router/sql/analysis.h"

namespace shardproxy::proxy {

using protocol::Command;
using protocol::ResponseKind;
using router::Plan;
using router::PlanKind;
using router::Role;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool startsWithCi(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string quoteString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace

// --- state ------------------------------------------------------------------------------------

bool ClientSession::inTransaction() const {
  if (txOpen_) return true;
  for (const auto& c : conns_)
    if (c.inTx) return true;
  return false;
}

void ClientSession::refreshSnapshot() {
  std::uint64_t v = ctx_.shared.snapshotVersion();
  if (snapshot_ && snapshot_->version == v) return;
  snapshot_ = ctx_.shared.snapshot();
  sweepConnections();
}

const catalog::Keyspace* ClientSession::schemaKeyspace() const {
  const catalog::Keyspace* ks =
      state_.schema.empty() ? nullptr : snapshot_->findKeyspace(state_.schema);
  if (ks != nullptr) return ks;
  for (const auto& k : snapshot_->keyspaces)
    if (!k.sharded) return &k;
  return snapshot_->keyspaces.empty() ? nullptr : &snapshot_->keyspaces.front();
}

router::PlanInput ClientSession::planInput(std::span<const router::BoundValue> params,
                                           bool executing) {
  router::PlanInput in;
  in.snapshot = snapshot_.get();
  in.schema = state_.schema;
  in.user = user_;
  bool primaryTx = false;
  for (const auto& c : conns_)
    primaryTx = primaryTx || (c.inTx && c.primary);
  in.inTransaction = (txOpen_ && !txReadOnly_) || !state_.autocommit || primaryTx;
  in.readOnlyTransaction = txOpen_ && txReadOnly_;
  in.forcePrimary = temporaryTables_;
  in.params = params;
  in.executing = executing;
  if (const SessionConn* c = lastWrite_.port != 0 ? findConn(lastWrite_) : nullptr) {
    for (std::size_t i = 0; i < snapshot_->shards.size(); ++i) {
      const auto& s = snapshot_->shards[i];
      if (s.keyspace == c->keyspace && s.name == c->shard) {
        in.lastWriteShard = static_cast<std::uint32_t>(i);
        break;
      }
    }
  }
  return in;
}

ClientSession::SessionConn* ClientSession::findConn(const catalog::Endpoint& address) {
  for (auto& c : conns_)
    if (c.address == address) return &c;
  return nullptr;
}

ClientSession::SessionConn* ClientSession::readyConn(const catalog::Endpoint& address) {
  SessionConn* c = findConn(address);
  if (c != nullptr && c->conn && c->conn->syncedVersion == state_.version &&
      (!txOpen_ || c->inTx)) {
    return c;
  }
  return nullptr;
}

ClientSession::SessionConn* ClientSession::connOf(const BackendConnection* conn) {
  for (auto& c : conns_)
    if (c.conn.get() == conn) return &c;
  return nullptr;
}

void ClientSession::publishBackend(const SessionConn* conn) {
  std::uint32_t thread = conn != nullptr && conn->conn ? conn->conn->threadId() : 0;
  std::uint64_t serial = conn != nullptr && conn->conn ? conn->conn->serial() : 0;
  // The registry is shared by all threads (a mutex): only tell it about a change.
  if (serial == publishedSerial_ && thread == publishedThread_) return;
  publishedSerial_ = serial;
  publishedThread_ = thread;
  catalog::Endpoint address = conn != nullptr ? conn->address : catalog::Endpoint{};
  ctx_.shared.withSession(id_, [&](SharedState::SessionEntry* e) {
    if (e != nullptr) {
      e->backend = address;
      e->backendThread = thread;
    }
    return 0;
  });
}

void ClientSession::releaseConn(SessionConn& conn, bool broken) {
  if (conn.conn) {
    if (broken || conn.inTx) conn.conn->broken = true;  // never hand out an open transaction
    ctx_.pool.release(std::move(conn.conn));
  }
  std::size_t index = static_cast<std::size_t>(&conn - conns_.data());
  conns_.erase(conns_.begin() + static_cast<std::ptrdiff_t>(index));
  if (current_ == static_cast<int>(index)) {
    current_ = -1;
    publishBackend(nullptr);
  } else if (current_ > static_cast<int>(index)) {
    --current_;
  }
}

void ClientSession::releaseAll() {
  while (!conns_.empty())
    releaseConn(conns_.back(), false);
  current_ = -1;
}

void ClientSession::sweepConnections() {
  for (std::size_t i = conns_.size(); i-- > 0;) {
    SessionConn& c = conns_[i];
    const catalog::Backend* b = snapshot_->findBackend(c.address);
    // DRAINING: the session may finish its work there (chooseBackend keeps it as `current`).
    bool keep = b != nullptr && b->state != catalog::BackendState::kOffline;
    if (b != nullptr && b->keyspace == c.keyspace && b->shard == c.shard) {
      c.primary = b->role == catalog::BackendRole::kPrimary;
    } else {
      keep = false;
    }
    if (!keep) releaseConn(c, c.inTx);
  }
}

// --- choosing and connecting -----------------------------------------------------------------

Result<const catalog::Backend*> ClientSession::chooseFor(const catalog::Shard& shard, Role role,
                                                         bool* fellBack) {
  const catalog::Endpoint* current = nullptr;
  bool wantPrimary = role == Role::kPrimary;
  if (!wantPrimary) {
    // A read-only transaction stays on the replica it began on.
    for (const auto& c : conns_) {
      if (c.inTx && c.keyspace == shard.keyspace && c.shard == shard.name) {
        if (const auto* b = snapshot_->findBackend(c.address)) return b;
      }
    }
    // Read-your-writes: a recent write on this shard sends its reads to the primary.
    if (readYourWritesMs_ > 0) {
      auto now = std::chrono::steady_clock::now();
      for (const auto& w : recentWrites_) {
        if (w.keyspace == shard.keyspace && w.shard == shard.name &&
            now - w.at < std::chrono::milliseconds(readYourWritesMs_)) {
          wantPrimary = true;
        }
      }
    }
  }
  for (const auto& c : conns_) {
    if (c.keyspace == shard.keyspace && c.shard == shard.name && c.primary == wantPrimary) {
      current = &c.address;
      break;
    }
  }
  random_ ^= random_ << 13;
  random_ ^= random_ >> 7;
  random_ ^= random_ << 17;
  auto health = ctx_.shared.health();
  auto choice =
      router::chooseBackend(*snapshot_, shard, wantPrimary ? Role::kPrimary : Role::kReplica,
                            health.get(), random_, current);
  if (!choice) return choice.takeError();
  if (fellBack != nullptr) *fellBack = choice->fellBackToPrimary;
  return choice->backend;
}

asio::awaitable<Result<ClientSession::SessionConn*>> ClientSession::connectionTo(
    const catalog::Backend& backend, const catalog::Shard& shard) {
  SessionConn* c = findConn(backend.address);
  if (c == nullptr) {
    BackendLogin login;
    const auto& shared = ctx_.shared;
    if (shared.config.backendUser) {
      login.user = shared.config.backendUser->name;
      login.credentials = protocol::credentialsFromPassword(shared.config.backendUser->password);
    } else {
      login.user = user_;
      login.credentials = credentials_;
    }
    login.charset = state_.charset;
    login.sessionCaps = caps_ & kSessionCapabilities;
    auto conn = co_await ctx_.pool.acquire(backend.address, login);
    if (!conn) co_return conn.takeError();
    SessionConn fresh;
    fresh.conn = std::move(*conn);
    fresh.address = backend.address;
    fresh.keyspace = shard.keyspace;
    fresh.shard = shard.name;
    fresh.primary = backend.role == catalog::BackendRole::kPrimary;
    // Keep `current_` valid: it is an index.
    conns_.push_back(std::move(fresh));
    c = &conns_.back();
  }
  Status st = co_await syncState(*c);
  if (!st) {
    Error err = st.takeError();
    if (c->conn->broken) releaseConn(*c, true);
    co_return err;
  }
  if (txOpen_ && !c->inTx) {
    Status begun = co_await c->conn->command(Command::kQuery, txBegin_);
    if (!begun) {
      Error err = begun.takeError();
      if (c->conn->broken) releaseConn(*c, true);
      co_return err;
    }
    c->inTx = true;
  }
  co_return c;
}

asio::awaitable<Result<ClientSession::SessionConn*>> ClientSession::sessionConnection(
    const Plan& plan) {
  // The connection of the last statement when it is still in the session's keyspace.
  const catalog::Keyspace* ks = plan.keyspace != nullptr ? plan.keyspace : schemaKeyspace();
  if (plan.connectionBound && lastWrite_.port != 0) {
    // LAST_INSERT_ID(), ROW_COUNT(), ...: what the session's last write did, on its connection.
    if (SessionConn* c = findConn(lastWrite_)) {
      Status st = co_await syncState(*c);
      if (!st) co_return st.takeError();
      co_return c;
    }
  }
  if (current_ >= 0) {
    SessionConn& c = conns_[static_cast<std::size_t>(current_)];
    if (ks == nullptr || c.keyspace == ks->name || plan.connectionBound) {
      Status st = co_await syncState(c);
      if (!st) co_return st.takeError();
      co_return &c;
    }
  }
  if (ks == nullptr) {
    co_return Error::make(ErrorCode::kNoRoute,
                          fmt::format("No keyspace serves schema '{}', and there is no unsharded "
                                      "keyspace to take it",
                                      state_.schema));
  }
  for (std::size_t idx : ks->shards) {
    const catalog::Shard& shard = snapshot_->shards[idx];
    if (!shard.serving) continue;
    auto backend = chooseFor(shard, plan.role);
    if (!backend) co_return backend.takeError();
    co_return co_await connectionTo(**backend, shard);
  }
  co_return Error::make(ErrorCode::kNoRoute,
                        fmt::format("Keyspace '{}' has no serving shard", ks->name));
}

asio::awaitable<Status> ClientSession::syncState(SessionConn& c) {
  BackendConnection& conn = *c.conn;
  if (conn.syncedVersion == state_.version) co_return Status{};
  if (!state_.schema.empty() && conn.schema != state_.schema) {
    Status st = co_await conn.command(Command::kInitDb, state_.schema);
    if (!st) co_return st;
    conn.schema = state_.schema;
  }
  for (const std::string& sql : state_.replayStatements()) {
    Status st = co_await conn.command(Command::kQuery, sql);
    if (!st) co_return st;
  }
  conn.syncedVersion = state_.version;
  co_return Status{};
}

void ClientSession::noteWrite(const SessionConn& conn, std::string gtid) {
  if (readYourWritesMs_ == 0 && !causalReads_) return;
  auto now = std::chrono::steady_clock::now();
  for (auto& w : recentWrites_) {
    if (w.keyspace == conn.keyspace && w.shard == conn.shard) {
      w.at = now;
      if (!gtid.empty()) w.gtid = std::move(gtid);
      return;
    }
  }
  recentWrites_.push_back(RecentWrite{conn.keyspace, conn.shard, now, std::move(gtid)});
}

asio::awaitable<void> ClientSession::recordGtid(SessionConn& conn) {
  BackendConnection::CommandOutput out;
  Status st = co_await conn.conn->command(Command::kQuery, "SELECT @@last_gtid", &out);
  noteWrite(conn, st && out.firstValue ? *out.firstValue : std::string());
}

asio::awaitable<Status> ClientSession::waitForGtid(SessionConn& replica,
                                                   const catalog::Shard& shard) {
  for (const auto& w : recentWrites_) {
    if (w.keyspace != shard.keyspace || w.shard != shard.name || w.gtid.empty()) continue;
    double timeout = static_cast<double>(ctx_.shared.config.causalReadTimeoutMs) / 1000.0;
    std::string sql = fmt::format("SELECT MASTER_GTID_WAIT({}, {})", quoteString(w.gtid), timeout);
    BackendConnection::CommandOutput out;
    Status st = co_await replica.conn->command(Command::kQuery, sql, &out);
    if (!st) co_return st;
    if (!out.firstValue || *out.firstValue != "0") {
      co_return Error::make(ErrorCode::kNoRoute, "replica did not reach the session's last write");
    }
  }
  co_return Status{};
}

// After a statement that changed session state succeeded on `address`: record the changes (they
// are replayed on the session's other connections when next used) and follow sql_mode's effect
// on how statements are read (ANSI_QUOTES, NO_BACKSLASH_ESCAPES, PIPES_AS_CONCAT).
void ClientSession::applySessionChanges(const catalog::Endpoint& address) {
  if (changes_.empty()) return;
  bool sqlMode = false;
  for (const auto& ch : changes_) {
    state_.apply(ch);
    sqlMode = sqlMode || ch.name == "sql_mode";
  }
  if (SessionConn* still = findConn(address); still != nullptr && still->conn) {
    still->conn->syncedVersion = state_.version;
    still->conn->schema = state_.schema;
  }
  if (sqlMode) {
    std::string mode;
    for (const auto& [name, value] : state_.assignments) {
      if (name != "sql_mode") continue;
      mode = value;
      for (auto& ch : mode)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    auto has = [&](std::string_view word) {
      for (std::size_t at = mode.find(word); at != std::string::npos;
           at = mode.find(word, at + 1)) {
        auto boundary = [&](std::size_t i) {
          return i >= mode.size() ||
                 !(std::isalnum(static_cast<unsigned char>(mode[i])) || mode[i] == '_');
        };
        if ((at == 0 || boundary(at - 1)) && boundary(at + word.size())) return true;
      }
      return false;
    };
    sql::ParseOptions options = parser_.options();
    bool ansi = has("ANSI");  // ANSI mode implies ANSI_QUOTES and PIPES_AS_CONCAT
    options.lex.ansiQuotes = ansi || has("ANSI_QUOTES");
    options.lex.noBackslashEscapes = has("NO_BACKSLASH_ESCAPES");
    options.pipesAsConcat = ansi || has("PIPES_AS_CONCAT");
    parser_.setOptions(options);
  }
}

// --- sending ---------------------------------------------------------------------------------

asio::awaitable<bool> ClientSession::sendQuery(BackendConnection& conn, std::string_view sql) {
  auto& out = conn.channel().out();
  std::uint8_t seq = 0;
  std::size_t start = protocol::beginPacket(out);
  protocol::ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(Command::kQuery));
  w.str(sql);
  protocol::endPacket(out, start, seq);
  co_return !(co_await conn.channel().flush());
}

asio::awaitable<bool> ClientSession::relayMany(std::span<SessionConn* const> conns,
                                               const Plan& plan, std::uint8_t seq) {
  targetConns_.clear();
  for (SessionConn* c : conns)
    targetConns_.push_back(c->conn.get());
  MergeResult r = co_await relayMerged(targetConns_, client_, caps_, seq,
                                       static_cast<std::uint16_t>(statusFlags()));
  for (std::size_t i = 0; i < conns.size(); ++i) {
    if (r.status[i] != 0) conns[i]->inTx = (r.status[i] & protocol::status::kInTrans) != 0;
  }
  if (r.outcome == MergeResult::Outcome::kClientGone) {
    for (SessionConn* c : conns)
      if (c->conn && c->conn->broken) c->conn->broken = true;
    co_return false;
  }
  std::string failedAddr;
  if (r.outcome != MergeResult::Outcome::kDone) failedAddr = conns[r.failed]->address.toString();
  // Release broken connections (they are not reusable) — from the back, indexes shift.
  for (std::size_t i = conns_.size(); i-- > 0;) {
    if (conns_[i].conn && conns_[i].conn->broken) releaseConn(conns_[i], true);
  }
  if (r.finished) co_return true;
  std::string context;
  if (plan.write && r.succeeded > 0) {
    context = fmt::format(
        " ({} of {} shards had applied the statement; it is not atomic across "
        "shards)",
        r.succeeded, conns.size());
  }
  if (r.outcome != MergeResult::Outcome::kDone) {
    co_return co_await sendError(
        Error::make(
            ErrorCode::kBackendLost,
            fmt::format("Lost connection to backend '{}' during query{}", failedAddr, context)),
        r.nextSeq);
  }
  const protocol::ErrPacket& e = *r.error;
  co_return co_await sendError(Error::fromServer(e.errorCode, e.sqlState, e.message + context),
                               r.nextSeq);
}

// --- COM_QUERY -------------------------------------------------------------------------------

asio::awaitable<bool> ClientSession::onQueryText(const Packet& pkt, std::string_view sql,
                                                 std::uint8_t seq) {
  refreshSnapshot();
  sql::ParseResult parsed = parser_.parse(sql);
  if (!parsed) {
    if (parsed.error().kind == sql::ParseError::Kind::kEmpty) {
      co_return co_await sendError(Error::fromServer(1065, "42000", "Query was empty"), seq);
    }
    // The backend's own parser has the last word on an unsharded keyspace (its dialect may be
    // newer than ours); a sharded keyspace cannot route what it cannot read.
    const catalog::Keyspace* ks = schemaKeyspace();
    if (ks != nullptr && !ks->sharded) co_return co_await passThrough(pkt, seq);
    co_return co_await sendError(parsed.error().toError(), seq);
  }
  if (parsed.next() < sql.size()) co_return co_await onMultiStatement(pkt, sql, seq);
  const sql::Statement& statement = parsed.statement();
  if (statement.kind == sql::StatementKind::kExplain &&
      statement.as<sql::ExplainStatement>()->route) {
    co_return co_await onExplainRoute(statement, seq);
  }
  const Plan& plan = planner_.plan(statement, planInput({}, false));
  switch (plan.kind) {
    case PlanKind::kError:
      co_return co_await sendError(plan.error, seq);
    case PlanKind::kBegin:
      co_return co_await onBegin(plan, seq);
    case PlanKind::kCommit:
    case PlanKind::kRollback:
    case PlanKind::kSavepoint:
      co_return co_await onEndTransaction(plan, pkt, seq);
    case PlanKind::kSet:
      co_return co_await onSet(plan, pkt, seq);
    default:
      break;
  }
  if (statement.kind == sql::StatementKind::kDdl) {
    const auto* ddl = statement.as<sql::DdlStatement>();
    if (ddl->temporary && ddl->action == sql::DdlAction::kCreate) temporaryTables_ = true;
  }
  co_return co_await execute(plan, pkt, seq, nullptr);
}

asio::awaitable<bool> ClientSession::passThrough(const Packet& pkt, std::uint8_t seq) {
  const catalog::Keyspace* ks = schemaKeyspace();
  if (ks == nullptr || ks->shards.empty()) {
    co_return co_await sendError(
        Error::make(ErrorCode::kNoRoute,
                    fmt::format("No keyspace serves schema '{}', and there is no unsharded "
                                "keyspace to take it",
                                state_.schema)),
        seq);
  }
  if (ks->sharded) {
    co_return co_await sendError(
        Error::make(
            ErrorCode::kNotSupportedYet,
            fmt::format("This statement cannot be routed on sharded keyspace '{}'", ks->name)),
        seq);
  }
  const catalog::Shard* shard = nullptr;
  for (std::size_t idx : ks->shards)
    if (snapshot_->shards[idx].serving) shard = &snapshot_->shards[idx];
  if (shard == nullptr) {
    co_return co_await sendError(
        Error::make(ErrorCode::kNoRoute,
                    fmt::format("Keyspace '{}' has no serving shard", ks->name)),
        seq);
  }
  auto backend = chooseFor(*shard, Role::kPrimary);
  if (!backend) co_return co_await sendError(backend.error(), seq);
  auto conn = co_await connectionTo(**backend, *shard);
  if (!conn) co_return co_await sendError(conn.error(), seq);
  SessionConn* c = *conn;
  current_ = static_cast<int>(c - conns_.data());
  publishBackend(c);
  RelayResult r;
  bool keep = co_await relay(*c, pkt, RelayOptions{ResponseKind::kQuery}, &r);
  if (r.outcome == RelayResult::Outcome::kDone && !r.sawError) {
    applySessionChanges((*backend)->address);
  }
  co_return keep;
}

asio::awaitable<bool> ClientSession::onMultiStatement(const Packet& pkt, std::string_view sql,
                                                      std::uint8_t seq) {
  const catalog::Keyspace* ks = schemaKeyspace();
  if (ks != nullptr && !ks->sharded) co_return co_await passThrough(pkt, seq);
  // A sharded keyspace: every statement must run on the same one shard.
  std::optional<std::uint32_t> shard;     // the shard a statement needs
  std::optional<std::uint32_t> anyShard;  // where statements any shard can answer would run
  std::size_t at = 0;
  while (at < sql.size()) {
    sql::ParseResult parsed = parser_.parse(sql, at);
    if (!parsed) {
      if (parsed.error().kind == sql::ParseError::Kind::kEmpty) break;
      co_return co_await sendError(parsed.error().toError(), seq);
    }
    const Plan& plan = planner_.plan(parsed.statement(), planInput({}, false));
    if (plan.kind == PlanKind::kError) co_return co_await sendError(plan.error, seq);
    if (plan.kind == PlanKind::kSessionConnection) {
      // No table (SELECT 2, SELECT @@version): runs wherever the others do.
      if (parsed.next() <= at) break;
      at = parsed.next();
      continue;
    }
    if (plan.kind != PlanKind::kSingle || plan.rewritten(0) ||
        (!plan.anyShard && shard && *shard != plan.targets[0].shard)) {
      co_return co_await sendError(
          Error::make(ErrorCode::kNotSupportedYet,
                      "A multi-statement on a sharded keyspace must run every statement on one "
                      "shard (no transaction statements, SET, or statements on several shards); "
                      "send the statements one by one"),
          seq);
    }
    if (plan.anyShard) {
      if (!anyShard) anyShard = plan.targets[0].shard;
    } else {
      shard = plan.targets[0].shard;
    }
    if (parsed.next() <= at) break;
    at = parsed.next();
  }
  if (!shard) shard = anyShard;
  if (!shard) {
    // Only table-less statements: the session's connection.
    router::Plan session;
    session.kind = PlanKind::kSessionConnection;
    session.role = Role::kPrimary;
    auto conn = co_await sessionConnection(session);
    if (!conn) co_return co_await sendError(conn.error(), seq);
    current_ = static_cast<int>(*conn - conns_.data());
    co_return co_await relay(**conn, pkt, RelayOptions{ResponseKind::kQuery});
  }
  const catalog::Shard& s = snapshot_->shards[*shard];
  auto backend = chooseFor(s, Role::kPrimary);
  if (!backend) co_return co_await sendError(backend.error(), seq);
  auto conn = co_await connectionTo(**backend, s);
  if (!conn) co_return co_await sendError(conn.error(), seq);
  current_ = static_cast<int>(*conn - conns_.data());
  publishBackend(*conn);
  co_return co_await relay(**conn, pkt, RelayOptions{ResponseKind::kQuery});
}

// --- execution of a plan -----------------------------------------------------------------------

asio::awaitable<bool> ClientSession::execute(const Plan& plan, const Packet& pkt, std::uint8_t seq,
                                             PreparedStatement* stmt) {
  // Not a coroutine itself: each path has its own frame, so the hot one stays small enough for
  // Asio's frame recycling (frames over ~1 KiB go to malloc on every statement).
  if (plan.kind == PlanKind::kSessionConnection || plan.kind == PlanKind::kSingle ||
      plan.kind == PlanKind::kUse) {
    return executeSingle(plan, pkt, seq, stmt);
  }
  return executeMulti(plan, pkt, seq, stmt);
}

const catalog::Shard* ClientSession::singleShard(const Plan& plan) {
  const catalog::Shard* shard = &snapshot_->shards[plan.targets[0].shard];
  if (plan.anyShard && plan.role == Role::kReplica) {
    // Any shard answers the same: reuse a connection the session already has there.
    for (auto& existing : conns_) {
      if (existing.keyspace != shard->keyspace) continue;
      for (std::size_t idx : plan.keyspace->shards) {
        const auto& s = snapshot_->shards[idx];
        if (s.serving && s.name == existing.shard) shard = &s;
      }
      break;
    }
  }
  return shard;
}

bool ClientSession::txWrites() const {
  return (txOpen_ && !txReadOnly_) || !state_.autocommit || inTransaction();
}

ClientSession::SessionConn* ClientSession::readyFor(const Plan& plan) {
  if (causalReads_) return nullptr;  // may need a GTID wait: the slow path
  if (plan.kind == PlanKind::kSessionConnection) {
    if (plan.connectionBound || current_ < 0) return nullptr;
    SessionConn& c = conns_[static_cast<std::size_t>(current_)];
    const catalog::Keyspace* ks = plan.keyspace != nullptr ? plan.keyspace : schemaKeyspace();
    if (ks != nullptr && c.keyspace != ks->name) return nullptr;
    return readyConn(c.address);
  }
  if (plan.write && txWrites()) return nullptr;  // the transaction's write shard: slow path
  const catalog::Shard* shard = singleShard(plan);
  auto backend = chooseFor(*shard, plan.role);
  if (!backend) return nullptr;
  return readyConn((*backend)->address);
}

asio::awaitable<ClientSession::SessionConn*> ClientSession::acquireFor(const Plan& plan,
                                                                       std::uint8_t seq,
                                                                       bool& keep) {
  keep = true;
  if (plan.kind == PlanKind::kSessionConnection) {
    auto conn = co_await sessionConnection(plan);
    if (!conn) {
      keep = co_await sendError(conn.error(), seq);
      co_return nullptr;
    }
    co_return *conn;
  }
  const catalog::Shard* shard = singleShard(plan);
  if (plan.write && txWrites()) {
    std::string key = shard->keyspace + "/" + shard->name;
    if (!txWriteShard_.empty() && txWriteShard_ != key) {
      keep = co_await sendError(
          Error::make(ErrorCode::kCrossShardTransaction,
                      fmt::format("This transaction already wrote to shard {}; writing to "
                                  "shard {} in the same transaction needs atomic multi-shard "
                                  "commit, which is not supported yet. The transaction is "
                                  "still open: COMMIT or ROLLBACK it",
                                  txWriteShard_, key)),
          seq);
      co_return nullptr;
    }
    txWriteShard_ = key;
  }
  auto backend = chooseFor(*shard, plan.role);
  if (!backend) {
    keep = co_await sendError(backend.error(), seq);
    co_return nullptr;
  }
  auto conn = co_await connectionTo(**backend, *shard);
  if (!conn) {
    keep = co_await sendError(conn.error(), seq);
    co_return nullptr;
  }
  SessionConn* c = *conn;
  if (causalReads_ && !c->primary && !c->inTx) {
    Status caught = co_await waitForGtid(*c, *shard);
    if (!caught) {
      // The replica is behind the session's last write: read from the primary instead.
      auto primary = chooseFor(*shard, Role::kPrimary);
      if (!primary) {
        keep = co_await sendError(primary.error(), seq);
        co_return nullptr;
      }
      auto pconn = co_await connectionTo(**primary, *shard);
      if (!pconn) {
        keep = co_await sendError(pconn.error(), seq);
        co_return nullptr;
      }
      c = *pconn;
    }
  }
  co_return c;
}

asio::awaitable<bool> ClientSession::relayExecute(SessionConn& c, const Packet& pkt,
                                                  std::uint8_t seq, PreparedStatement& stmt,
                                                  RelayResult& r) {
  const catalog::Endpoint address = c.address;
  auto id = co_await preparedOn(stmt, c);
  if (!id) {
    if (SessionConn* still = findConn(address); still && still->conn && still->conn->broken) {
      releaseConn(*still, true);
    }
    co_return co_await sendError(id.error(), seq);
  }
  // Long data first (no responses), then the execute with the backend's statement id.
  for (const auto& [param, data] : stmt.longData) {
    auto& out = c.conn->channel().out();
    std::uint8_t s = 0;
    std::size_t start = protocol::beginPacket(out);
    protocol::ByteWriter w(out);
    w.u8(static_cast<std::uint8_t>(Command::kStmtSendLongData));
    w.u32(*id);
    w.u16(param);
    w.str(data);
    protocol::endPacket(out, start, s);
  }
  if (!stmt.longData.empty() && co_await c.conn->channel().flush()) {
    releaseConn(c, true);
    co_return co_await sendError(
        Error::make(ErrorCode::kBackendLost, "Lost the backend while sending long data"), seq);
  }
  stmt.longData.clear();
  std::uint8_t flags = pkt.payload.size() > 5 ? pkt.payload[5] : 0;
  if (flags != 0) stmt.cursorSerial = c.conn->serial();
  protocol::ByteView payload = executePacketFor(stmt, pkt, c.conn->serial(), false);
  if (payload.data() == pkt.payload.data()) {
    co_return co_await relay(c, pkt, RelayOptions{ResponseKind::kExecute}, &r);
  }
  Packet rebuilt;
  rebuilt.payload = payload;
  rebuilt.seq = 0;
  rebuilt.lastSeq = pkt.lastSeq;
  co_return co_await relay(c, rebuilt, RelayOptions{ResponseKind::kExecute}, &r);
}

asio::awaitable<bool> ClientSession::relayRewritten(SessionConn& c, const Packet& pkt,
                                                    std::string_view sql, RelayResult& r) {
  cmdBuffer_.clear();
  cmdBuffer_.push_back(static_cast<std::uint8_t>(Command::kQuery));
  cmdBuffer_.insert(cmdBuffer_.end(), sql.begin(), sql.end());
  Packet rewritten;
  rewritten.payload = protocol::ByteView(cmdBuffer_);
  rewritten.seq = 0;
  rewritten.lastSeq = pkt.lastSeq;
  co_return co_await relay(c, rewritten, RelayOptions{ResponseKind::kQuery}, &r);
}

asio::awaitable<bool> ClientSession::executeSingle(const Plan& plan, const Packet& pkt,
                                                   std::uint8_t seq, PreparedStatement* stmt) {
  SessionConn* c = readyFor(plan);
  if (c == nullptr) {
    bool keep = true;
    c = co_await acquireFor(plan, seq, keep);
    if (c == nullptr) co_return keep;
  }
  current_ = static_cast<int>(c - conns_.data());
  publishBackend(c);
  const catalog::Endpoint address = c->address;
  RelayResult r;
  bool keep;
  if (stmt != nullptr) {
    keep = co_await relayExecute(*c, pkt, seq, *stmt, r);
  } else if (plan.kind == PlanKind::kSingle && plan.rewritten(0)) {
    keep = co_await relayRewritten(*c, pkt, plan.sqlFor(0), r);
  } else {
    keep = co_await relay(*c, pkt, RelayOptions{ResponseKind::kQuery}, &r);
  }
  if (r.outcome == RelayResult::Outcome::kDone && !r.sawError) {
    applySessionChanges(address);
    SessionConn* still = findConn(address);
    if (plan.write && still != nullptr) lastWrite_ = address;
    if (plan.write && still != nullptr && still->primary && !still->inTx) {
      if (causalReads_) {
        co_await recordGtid(*still);
      } else {
        noteWrite(*still, {});
      }
    }
  }
  co_return keep;
}

asio::awaitable<bool> ClientSession::executeMulti(const Plan& plan, const Packet& pkt,
                                                  std::uint8_t seq, PreparedStatement* stmt) {
  if (plan.kind != PlanKind::kConcatenate && plan.kind != PlanKind::kScatter) {
    co_return co_await sendError(
        Error::make(ErrorCode::kInternal,
                    fmt::format("Unexpected plan '{}'", router::toString(plan.kind))),
        seq);
  }
  if (stmt != nullptr && pkt.payload.size() > 5 && pkt.payload[5] != 0) {
    co_return co_await sendError(
        Error::make(ErrorCode::kNotSupportedYet,
                    "A cursor over a statement that reads several shards is not supported yet; "
                    "execute it without a cursor"),
        seq);
  }
  if (stmt != nullptr && !stmt->longData.empty()) {
    co_return co_await sendError(
        Error::make(ErrorCode::kNotSupportedYet,
                    "COM_STMT_SEND_LONG_DATA for a statement that runs on several shards"),
        seq);
  }
  // Connect to every target first (connections may be added to conns_ meanwhile, so keep
  // addresses and look the connections up again afterwards).
  std::vector<catalog::Endpoint> addresses;
  addresses.reserve(plan.targets.size());
  for (const auto& t : plan.targets) {
    const catalog::Shard& shard = snapshot_->shards[t.shard];
    auto backend = chooseFor(shard, plan.role);
    if (!backend) co_return co_await sendError(backend.error(), seq);
    auto conn = co_await connectionTo(**backend, shard);
    if (!conn) co_return co_await sendError(conn.error(), seq);
    addresses.push_back((*backend)->address);
  }
  targets_.clear();
  for (const auto& a : addresses)
    targets_.push_back(findConn(a));
  if (std::find(targets_.begin(), targets_.end(), nullptr) != targets_.end()) {
    co_return co_await sendError(
        Error::make(ErrorCode::kBackendLost, "A backend connection was lost while connecting"),
        seq);
  }
  // Send to all, then read each in turn: the shards work in parallel.
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    SessionConn& c = *targets_[i];
    bool sent;
    if (stmt != nullptr) {
      auto id = co_await preparedOn(*stmt, c);
      if (!id) co_return co_await sendError(id.error(), seq);
      protocol::ByteView copy = executePacketFor(*stmt, pkt, c.conn->serial(), true);
      auto& out = c.conn->channel().out();
      std::uint8_t s = 0;
      std::size_t start = protocol::beginPacket(out);
      protocol::ByteWriter(out).bytes(copy);
      protocol::endPacket(out, start, s);
      sent = !(co_await c.conn->channel().flush());
    } else if (plan.rewritten(i)) {
      sent = co_await sendQuery(*c.conn, plan.sqlFor(i));
    } else {
      sent = co_await forward(*c.conn, pkt);
    }
    if (!sent) {
      std::string addr = c.address.toString();
      c.conn->broken = true;
      for (std::size_t j = 0; j < i; ++j)
        targets_[j]->conn->broken = true;  // their responses will never be read
      // `c` and targets_ point into conns_: nothing reads them once releasing starts.
      for (std::size_t k = conns_.size(); k-- > 0;)
        if (conns_[k].conn && conns_[k].conn->broken) releaseConn(conns_[k], true);
      co_return co_await sendError(
          Error::make(
              ErrorCode::kBackendLost,
              fmt::format("Lost connection to backend '{}' while sending the command", addr)),
          seq);
    }
  }
  current_ = static_cast<int>(targets_.front() - conns_.data());
  publishBackend(targets_.front());
  bool keep = co_await relayMany(targets_, plan, seq);
  if (plan.write) {
    for (const auto& a : addresses)
      if (SessionConn* c = findConn(a); c != nullptr && c->primary && !c->inTx) noteWrite(*c, {});
  }
  co_return keep;
}

// --- transactions ------------------------------------------------------------------------------

asio::awaitable<Status> ClientSession::commitAll(std::string_view sql) {
  Status first;
  bool wrote = !txWriteShard_.empty();
  for (std::size_t i = conns_.size(); i-- > 0;) {
    SessionConn& c = conns_[i];
    if (!c.inTx) continue;
    BackendConnection::CommandOutput out;
    Status st = co_await c.conn->command(Command::kQuery, sql, &out);
    if (out.sawStatus) {
      c.inTx = (out.status & protocol::status::kInTrans) != 0;
    } else if (st) {
      c.inTx = false;
    }
    if (!st && first) first = st;
    if (c.conn->broken) {
      c.inTx = false;
      releaseConn(c, true);
      continue;
    }
    if (st && wrote && c.primary && causalReads_ && startsWithCi(sql, "COMMIT")) {
      co_await recordGtid(c);
    } else if (st && wrote && c.primary) {
      noteWrite(c, {});
    }
  }
  co_return first;
}

asio::awaitable<bool> ClientSession::onBegin(const Plan& plan, std::uint8_t seq) {
  if (inTransaction()) {
    // MySQL: BEGIN inside a transaction commits it first.
    Status st = co_await commitAll("COMMIT");
    txOpen_ = false;
    txWriteShard_.clear();
    if (!st) co_return co_await sendError(st.error(), seq);
  }
  txOpen_ = true;
  txReadOnly_ = plan.readOnly;
  txBegin_.assign(plan.text);
  txWriteShard_.clear();
  co_return co_await sendOk(seq);
}

asio::awaitable<bool> ClientSession::onEndTransaction(const Plan& plan, const Packet& pkt,
                                                      std::uint8_t seq) {
  bool any = false;
  for (const auto& c : conns_)
    any = any || c.inTx;
  if (plan.kind == PlanKind::kSavepoint) {
    if (!any) {
      auto conn = co_await sessionConnection(plan);
      if (!conn) co_return co_await sendError(conn.error(), seq);
      co_return co_await relay(**conn, pkt, RelayOptions{ResponseKind::kQuery});
    }
    Status first;
    for (auto& c : conns_) {
      if (!c.inTx) continue;
      Status st = co_await c.conn->command(Command::kQuery, plan.text);
      if (!st && first) first = st;
    }
    for (std::size_t k = conns_.size(); k-- > 0;)
      if (conns_[k].conn && conns_[k].conn->broken) releaseConn(conns_[k], true);
    if (!first) co_return co_await sendError(first.error(), seq);
    co_return co_await sendOk(seq);
  }
  Status st = co_await commitAll(plan.text);
  bool chained = false;
  for (const auto& c : conns_)
    chained = chained || c.inTx;
  txOpen_ = chained;
  txWriteShard_.clear();
  if (!st) co_return co_await sendError(st.error(), seq);
  co_return co_await sendOk(seq);
}

// --- SET ---------------------------------------------------------------------------------------

asio::awaitable<bool> ClientSession::onSet(const Plan& plan, const Packet& pkt, std::uint8_t seq) {
  sql::ParseResult again = parser_.parse(plan.text);
  const auto* set = again ? again.statement().as<sql::SetStatement>() : nullptr;
  std::size_t proxyVars = 0;
  if (set != nullptr) {
    for (const sql::SetItem* item : set->items) {
      if (item->kind == sql::SetItemKind::kVariable && !item->userVariable &&
          startsWithCi(item->name.name, "shardproxy_")) {
        ++proxyVars;
      }
    }
  }
  if (proxyVars > 0) {
    if (proxyVars != set->items.size()) {
      co_return co_await sendError(
          Error::make(ErrorCode::kNotSupportedYet,
                      "Set shardproxy_* variables in a SET statement of their own"),
          seq);
    }
    for (const sql::SetItem* item : set->items) {
      std::string_view v = item->valueText;
      if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"')) v = v.substr(1, v.size() - 2);
      bool on = iequals(v, "on") || v == "1" || iequals(v, "true");
      bool off = iequals(v, "off") || v == "0" || iequals(v, "false");
      if (iequals(item->name.name, "shardproxy_causal_reads")) {
        if (!on && !off) {
          co_return co_await sendError(
              Error::fromServer(1231, "42000",
                                fmt::format("Variable 'shardproxy_causal_reads' can't be set to "
                                            "the value of '{}'",
                                            item->valueText)),
              seq);
        }
        causalReads_ = on;
      } else if (iequals(item->name.name, "shardproxy_read_your_writes_ms")) {
        std::uint64_t ms = 0;
        bool ok = !v.empty() && v.size() < 10;
        for (char ch : v) {
          if (ch < '0' || ch > '9') ok = false;
          ms = ms * 10 + static_cast<std::uint64_t>(ch - '0');
        }
        if (!ok) {
          co_return co_await sendError(Error::fromServer(1232, "42000",
                                                         "Incorrect argument type to variable "
                                                         "'shardproxy_read_your_writes_ms'"),
                                       seq);
        }
        readYourWritesMs_ = static_cast<std::uint32_t>(ms);
      } else {
        co_return co_await sendError(
            Error::fromServer(1193, "HY000",
                              fmt::format("Unknown system variable '{}'", item->name.name)),
            seq);
      }
    }
    co_return co_await sendOk(seq);
  }
  // Validated by the backend the session last used; replayed on the others when next used.
  auto conn = co_await sessionConnection(plan);
  if (!conn) co_return co_await sendError(conn.error(), seq);
  SessionConn* c = *conn;
  const catalog::Endpoint address = c->address;
  current_ = static_cast<int>(c - conns_.data());
  RelayResult r;
  bool keep = co_await relay(*c, pkt, RelayOptions{ResponseKind::kQuery}, &r);
  if (r.outcome == RelayResult::Outcome::kDone && !r.sawError) applySessionChanges(address);
  bool setsAutocommit = false;
  for (const auto& ch : changes_)
    setsAutocommit = setsAutocommit || ch.name == "autocommit";
  if (keep && setsAutocommit && r.outcome == RelayResult::Outcome::kDone && !r.sawError &&
      r.sawStatus && (r.statusFlags & protocol::status::kAutocommit) &&
      (txOpen_ || inTransaction())) {
    // SET autocommit = 1 commits the open transaction (MySQL): on every connection it touched.
    Status st = co_await commitAll("COMMIT");
    txOpen_ = false;
    txWriteShard_.clear();
    if (!st)
      moduleLogger("proxy")->warn("{} commit after autocommit=1: {}", peer(), st.error().message);
  }
  co_return keep;
}

// --- EXPLAIN ROUTE -----------------------------------------------------------------------------

asio::awaitable<bool> ClientSession::onExplainRoute(const sql::Statement& statement,
                                                    std::uint8_t seq) {
  const auto* explain = statement.as<sql::ExplainStatement>();
  if (explain->explained == nullptr) {
    co_return co_await sendError(
        Error::make(ErrorCode::kParseError, "EXPLAIN ROUTE needs a statement to explain"), seq);
  }
  const Plan& plan = planner_.plan(*explain->explained, planInput({}, false));
  if (plan.kind == PlanKind::kError) co_return co_await sendError(plan.error, seq);
  TextResultSet rs;
  rs.columns = {"plan", "shard", "role", "backend", "sql", "reason"};
  auto row = [&](std::string shard, std::string role, std::string backend, std::string_view sql) {
    rs.rows.push_back({std::string(router::toString(plan.kind)), std::move(shard), std::move(role),
                       std::move(backend), std::string(sql), std::string(plan.reason)});
  };
  if (plan.targets.empty()) {
    std::string shard = "-", backend = "-";
    if (current_ >= 0) {
      const SessionConn& c = conns_[static_cast<std::size_t>(current_)];
      shard = c.keyspace + "/" + c.shard;
      backend = c.address.toString();
    }
    bool proxy = plan.kind != PlanKind::kSessionConnection;
    row(proxy ? "-" : shard, proxy ? "proxy" : "session", proxy ? "-" : backend, plan.text);
  }
  for (std::size_t i = 0; i < plan.targets.size(); ++i) {
    const catalog::Shard& shard = snapshot_->shards[plan.targets[i].shard];
    bool fellBack = false;
    auto backend = chooseFor(shard, plan.role, &fellBack);
    std::string role, address;
    if (backend) {
      role = std::string(catalog::toString((*backend)->role));
      if (fellBack) role += " (no fit replica)";
      address = (*backend)->address.toString();
    } else {
      role = "unavailable";
      address = backend.error().message;
    }
    row(shard.keyspace + "/" + shard.name, role, address, plan.sqlFor(i));
  }
  auto& out = client_.out();
  encodeResultSet(rs, caps_, statusFlags(), seq, out);
  co_return !(co_await client_.flush());
}

}  // namespace shardproxy::proxy
