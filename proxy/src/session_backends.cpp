// A client session's backend connections: which backend serves a shard for a role (health,
// read-your-writes, stickiness), connecting and bringing a connection to the session's state and
// transaction, causal-read GTIDs, releasing. Same class as client_session.cpp (docs/routing.md).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "session_util.h"
#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/merge_relay.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/result_set.h"
#include "shardproxy/proxy/server.h"
#include "shardproxy/router/backend_choice.h"
#include "shardproxy/router/sql/analysis.h"

namespace shardproxy::proxy {

// --- state ------------------------------------------------------------------------------------

bool ClientSession::inTransaction() const {
  if (txOpen_) return true;
  for (const auto& c : conns_)
    if (c.inTx) return true;
  return false;
}

void ClientSession::refreshSnapshot() {
  if (const SchemaTracker* t = ctx_.shared.schemaTracker.get();
      t != nullptr && (!tracked_ || tracked_->version != t->version())) [[unlikely]] {
    tracked_ = t->schema();
  }
  std::uint64_t v = ctx_.shared.snapshotVersion();
  if (snapshot_ && snapshot_->version == v) return;
  snapshot_ = ctx_.shared.snapshot();
  activeKeyspace_ = nullptr;  // it pointed into the old snapshot
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
  in.transactionMode = txModeOverride_;
  in.forcePrimary = temporaryTables_ || lockedTables_;
  in.params = params;
  in.executing = executing;
  in.sequences = ctx_.shared.sequences.get();
  in.noAutoValueOnZero = noAutoValueOnZero_;
  in.collationConnection = collation_;
  in.tracked = tracked_.get();
  in.parseOptions = &parser_.options();
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
      (c->inTx || !needsBegin(*c))) {
    return c;
  }
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
    // The pool resets it (its prepared statements are gone): should this session get the same
    // connection back, its statements are prepared there again.
    if (!statements_.empty()) [[unlikely]] {
      const std::uint64_t serial = conn.conn->serial();
      auto forget = [serial](PreparedStatement& st) {
        std::erase_if(st.backendIds, [serial](const auto& b) { return b.serial == serial; });
        if (st.cursorSerial == serial) st.cursorSerial = 0;
      };
      for (auto& [id, st] : statements_) {
        forget(st);
        for (auto& v : st.variants)
          forget(v);
      }
    }
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
    const catalog::Backend* b = snapshot_->findBackend(c.address, c.keyspace);
    // DRAINING: the session may finish its work there (chooseBackend keeps it as `current`).
    bool keep = b != nullptr && b->state != catalog::BackendState::kOffline;
    // A server that changed role (a switchover or failover) was fenced and its connections
    // killed: none is used again. Sessions pick the new primary from the snapshot.
    if (b == nullptr || b->keyspace != c.keyspace || b->shard != c.shard ||
        (b->role == catalog::BackendRole::kPrimary) != c.primary) {
      keep = false;
    }
    if (!keep) {
      // Its transaction is gone with it: the client learns at its next statement.
      if (c.inTx) txLost_ = c.address.toString();
      releaseConn(c, c.inTx);
    }
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
        if (const auto* b = snapshot_->findBackend(c.address, c.keyspace)) return b;
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

BackendLogin ClientSession::backendLogin() const {
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
  return login;
}

asio::awaitable<Result<ClientSession::SessionConn*>> ClientSession::connectionTo(
    const catalog::Backend& backend, const catalog::Shard& shard) {
  SessionConn* c = findConn(backend.address);
  if (c == nullptr) {
    const BackendLogin login = backendLogin();
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
  if (!c->inTx && needsBegin(*c)) {
    const catalog::Endpoint address = c->address;
    Status begun = co_await beginOn(*c);
    if (!begun) co_return begun.takeError();
    c = findConn(address);
    if (c == nullptr) {
      co_return Error::make(ErrorCode::kBackendLost,
                            fmt::format("Lost connection to backend '{}'", address.toString()));
    }
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
  // The current schema is another keyspace's database (a lookup table's keyspace, a statement
  // naming another keyspace's tables): this server may not have it, and what is sent here names
  // its database.
  bool elsewhere = !state_.schema.empty() && c.keyspace != state_.schema && snapshot_ &&
                   snapshot_->findKeyspace(state_.schema) != nullptr;
  if (elsewhere) {
    // A server shared by keyspaces holds the schema's database too when it serves that keyspace.
    for (const auto& b : snapshot_->backends)
      if (b.address == c.address && b.keyspace == state_.schema) elsewhere = false;
  }
  if (!state_.schema.empty() && conn.schema != state_.schema && !elsewhere) {
    Status st = co_await conn.command(Command::kInitDb, state_.schema);
    if (!st) co_return st;
    conn.schema = state_.schema;
  } else if (!conn.schema.empty() && conn.schema != state_.schema) [[unlikely]] {
    // A pooled connection keeps the schema of its last borrower (COM_RESET_CONNECTION keeps
    // it); a session without one (or whose schema lives on another server) must not see it:
    // COM_CHANGE_USER clears it.
    Status st = co_await conn.resetSession(true);
    if (!st) co_return st;
    conn.schema.clear();
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
void ClientSession::applyClientCharset(sql::MultibyteCharset charset) {
  sql::ParseOptions options = parser_.options();
  if (options.lex.charset == charset) return;
  options.lex.charset = charset;
  parser_.setOptions(options);
}

namespace {

// The character set a SET NAMES / CHARACTER SET / character_set_client item names, or nullopt
// (DEFAULT, or not a character set item).
std::optional<std::string> charsetOfChange(const router::SessionChange& ch) {
  const bool names = ch.name == "names";
  if (!names && !iequals(ch.name, "character_set_client")) return std::nullopt;
  std::vector<std::string_view> words;
  std::string_view v = ch.value;
  std::size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (std::isspace(static_cast<unsigned char>(v[i])) || v[i] == '='))
      ++i;
    std::size_t start = i;
    while (i < v.size() && !std::isspace(static_cast<unsigned char>(v[i])) && v[i] != '=')
      ++i;
    if (i > start) words.push_back(v.substr(start, i - start));
  }
  std::string_view word;
  if (names) {
    // NAMES x [COLLATE y] | CHARSET x | CHARACTER SET x
    std::size_t at = !words.empty() && iequals(words[0], "CHARACTER") ? 2 : 1;
    if (at < words.size()) word = words[at];
  } else if (!words.empty()) {
    word = words.back();  // character_set_client = x, @@character_set_client = x
  }
  if (word.size() >= 2 && (word.front() == '\'' || word.front() == '"' || word.front() == '`')) {
    word = word.substr(1, word.size() - 2);
  }
  if (word.empty()) return std::nullopt;
  return std::string(word);
}

}  // namespace

void ClientSession::applySessionChanges(const catalog::Endpoint& address) {
  if (changes_.empty()) return;
  bool sqlMode = false;
  for (const auto& ch : changes_) {
    state_.apply(ch);
    sqlMode = sqlMode || ch.name == "sql_mode";
    if (auto cs = charsetOfChange(ch)) {
      applyClientCharset(iequals(*cs, "DEFAULT") ? sql::multibyteCharsetOfCollation(state_.charset)
                                                 : sql::multibyteCharsetNamed(*cs));
    }
  }
  collation_ = state_.collationConnection();
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
    noAutoValueOnZero_ = has("NO_AUTO_VALUE_ON_ZERO");
  }
}

}  // namespace shardproxy::proxy
