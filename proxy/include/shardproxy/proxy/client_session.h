// One client connection: handshake → authentication → command loop, as one coroutine.
// Place in the request flow: reads each command packet, parses and plans it (router/planner.h),
// picks a backend per target shard (router/backend_choice.h), makes sure the session's connection
// to it carries the session's state and transaction, forwards the command and relays the answer
// (relay.h for one target, merge_relay.h for several). Holds one connection per backend it uses.
// Tracks schema, SET variables, transactions and prepared statements so any backend connection
// can be brought to the same state. Split over client_session.cpp (commands), session_routing.cpp,
// session_backends.cpp, session_statements.cpp and session_prepared.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/backend_connection.h"
#include "shardproxy/proxy/batch_send.h"
#include "shardproxy/proxy/channel.h"
#include "shardproxy/proxy/digests.h"
#include "shardproxy/proxy/keyspace_gate.h"
#include "shardproxy/proxy/metrics.h"
#include "shardproxy/proxy/protocol/auth.h"
#include "shardproxy/proxy/relay.h"
#include "shardproxy/router/planner.h"
#include "shardproxy/router/session_state.h"
#include "shardproxy/router/sql/parser.h"

namespace shardproxy::proxy {

namespace sql = router::sql;
struct ThreadContext;

class ClientSession {
 public:
  ClientSession(ThreadContext& ctx, tcp::socket socket);
  ~ClientSession();

  // The session's whole life; owns itself.
  static asio::awaitable<void> run(std::unique_ptr<ClientSession> self);

  std::uint32_t id() const { return id_; }
  // Shutdown: close now if waiting for a command, else after the running one.
  void requestClose();
  // The thread's watchdog asks each second (on this session's thread): when one statement has
  // run since the previous ask and the client closed its socket meanwhile (a dirty close), the
  // session's backend connections are killed, as a server stops a statement whose client left
  // (ER_CONNECTION_KILLED there: its locks and its transaction go away).
  void checkClientGone();
  // Running a statement on `keyspace`, or holding a transaction open on it (on `shard` of it
  // when one is named); the keyspace gate asks, on this session's thread, before a cutover or
  // a primary switchover.
  bool busyOn(std::string_view keyspace, std::string_view shard = {}) const;

 private:
  // One backend connection the session holds (at most one per backend).
  struct SessionConn {
    std::unique_ptr<BackendConnection> conn;
    catalog::Endpoint address;
    std::string keyspace;
    std::string shard;
    bool primary = true;
    bool inTx = false;   // a transaction is open on it (begun by the proxy, or status flags)
    bool wrote = false;  // the open transaction sent a write here
    bool xa = false;     // the open transaction is an XA branch here (mode twopc)
    // The session's generated insert id it was given (DO LAST_INSERT_ID(n)); see insertIdVersion_.
    std::uint64_t insertIdVersion = 0;
    // This backend's /metrics counters on the session's thread (looked up at first use).
    metrics::BackendCounters* counters = nullptr;
  };

  struct PreparedStatement {
    std::string sql;
    std::uint16_t params = 0;
    std::uint16_t columns = 0;
    std::uint64_t digest = 0;  // its query digest's hash, once executed
    // The backend statement on each connection it was prepared on (by connection serial), and
    // the generation of parameter types it last received: a client sends types only when they
    // change, so a backend statement that missed them gets them added to its execute.
    struct OnBackend {
      std::uint64_t serial = 0;
      std::uint32_t id = 0;
      std::uint32_t typesSeen = 0;
    };
    std::vector<OnBackend> backendIds;
    std::uint32_t typesGeneration = 0;  // bumped when an execute carries new types
    std::uint64_t cursorSerial = 0;     // the connection holding its open cursor (COM_STMT_FETCH)
    protocol::Bytes paramTypes;         // from the last execute that sent them
    // COM_STMT_SEND_LONG_DATA chunks, kept until the execute decides the connections.
    std::vector<std::pair<std::uint16_t, std::string>> longData;
    // SET of shardproxy_* variables: prepared and executed by the proxy, never by a backend.
    bool proxyOnly = false;
    // The shards' own statements for multi-shard merges (router::PlanKind::kMerge), by SQL: the
    // hidden columns and the pushed-down LIMIT make them differ from what the client prepared.
    std::vector<PreparedStatement> variants;
    PreparedStatement& variant(std::string_view rewritten, std::uint16_t paramCount) {
      for (auto& v : variants)
        if (v.sql == rewritten) return v;
      PreparedStatement v;
      v.sql = std::string(rewritten);
      v.params = paramCount;
      variants.push_back(std::move(v));
      return variants.back();
    }
    OnBackend* on(std::uint64_t serial) {
      for (auto& b : backendIds)
        if (b.serial == serial) return &b;
      return nullptr;
    }
  };

  // Read-your-writes: the last write of this session on a shard.
  struct RecentWrite {
    std::string keyspace;
    std::string shard;
    std::chrono::steady_clock::time_point at;
    std::string gtid;  // @@last_gtid after it, when causal reads are on
  };

  asio::awaitable<bool> handshake();
  void onAuthenticated(const std::string& user, protocol::Credentials credentials);
  asio::awaitable<void> commandLoop();
  asio::awaitable<bool> dispatch(const Packet& pkt);

  asio::awaitable<bool> onQuery(const Packet& pkt);
  // A statement the proxy answers itself (SET shardproxy_*, KILL): prepared without a backend.
  asio::awaitable<bool> prepareProxyOnly(std::string_view sql, std::uint8_t seq);
  asio::awaitable<bool> onKill(const router::KillRequest& kill, std::uint8_t seq);
  asio::awaitable<bool> onInitDb(const Packet& pkt);
  asio::awaitable<bool> onSimpleForward(const Packet& pkt, protocol::ResponseKind kind);
  asio::awaitable<bool> onSetOption(const Packet& pkt);
  asio::awaitable<bool> onResetConnection(const Packet& pkt);
  asio::awaitable<bool> onChangeUser(const Packet& pkt);
  asio::awaitable<bool> onStmtPrepare(const Packet& pkt);
  asio::awaitable<bool> onStmtExecute(const Packet& pkt);
  asio::awaitable<bool> onStmtWithId(const Packet& pkt);  // FETCH, RESET, SEND_LONG_DATA, CLOSE

  asio::awaitable<std::optional<Error>> checkSchema();
  void resetRouting();  // COM_RESET_CONNECTION / COM_CHANGE_USER: back to a fresh session

  // --- routing and execution (session_routing.cpp) ---
  void refreshSnapshot();
  // session_schema.cpp: after a DDL statement on `keyspace`, the schema tracker reads it again;
  // the session's next statement waits for that (bounded), so it sees its own DDL.
  asio::awaitable<void> awaitSchemaRefresh(std::string keyspace);
  router::PlanInput planInput(std::span<const router::BoundValue> params, bool executing);
  // The keyspace the session's schema selects (for text the parser cannot read).
  const catalog::Keyspace* schemaKeyspace() const;
  asio::awaitable<bool> onQueryText(const Packet& pkt, std::string_view sql, std::uint8_t seq);
  // Generated keys (sequence_cache.h): the plan ran short of a sequence's cached values; reserve
  // more off the event loop, then plan `statement` again.
  asio::awaitable<Result<const router::Plan*>> planAfterRefill(const sql::Statement& statement,
                                                               const router::Plan& shortPlan,
                                                               router::PlanInput input);
  // --- lookup keys (session_lookups.cpp, docs/routing.md "Lookup keys") ---
  // The plan asked for a lookup (Plan::lookup): read the keyspace IDs from the lookup table on the
  // lookup keyspace's primary, then plan `statement` again with them.
  asio::awaitable<Result<const router::Plan*>> planAfterLookup(const sql::Statement& statement,
                                                               const router::Plan& asking,
                                                               router::PlanInput input);
  // An INSERT with lookup entries (Plan::lookupWrites): the entries first, then the rows; outside
  // a transaction the entries commit only if the rows went in.
  asio::awaitable<bool> executeWithLookups(const router::Plan& plan, const Packet& pkt,
                                           std::uint8_t seq, PreparedStatement* stmt);
  asio::awaitable<Result<SessionConn*>> lookupConnection(const catalog::LookupKey& key);
  // One statement on the key's lookup connection: the first value of its answer. `write`: it
  // changed the lookup table (a branch of the session's transaction that wrote).
  asio::awaitable<Result<std::optional<std::string>>> lookupQuery(const catalog::LookupKey& key,
                                                                  const std::string& sql,
                                                                  bool write = false);
  // INSERT ... SELECT into a sharded table (session_insert_select.cpp): run the SELECT, then the
  // INSERT with its rows as VALUES.
  asio::awaitable<bool> onInsertSelect(const router::Plan::InsertSelect& parts, std::uint8_t seq);
  // Plans `sql` (a read: one shard, a concatenation or the session's connection): what to send
  // where. `what` names the caller in refusals.
  struct ReadTargets {
    std::vector<std::pair<const catalog::Shard*, std::string>> reads;
    router::Role role = router::Role::kPrimary;
    bool sessionConnection = false;
  };
  asio::awaitable<Result<ReadTargets>> planRead(const std::string& sql, std::string_view what);
  // Plans `sql` (a read: one shard, a concatenation or the session's connection) and reads its
  // rows into `rows` (more than rows.limit: rows.overflow). `what` names the caller in refusals.
  asio::awaitable<Status> readRows(const std::string& sql,
                                   BackendConnection::CommandOutput::Capture& rows,
                                   std::string_view what, bool primary = false);
  // A join across shards (session_join.cpp): the outer side's rows, the inner side's per batch of
  // keys, joined in the proxy.
  asio::awaitable<bool> onJoin(const router::Plan::JoinPlan& join, std::uint8_t seq);
  // session_processlist.cpp: information_schema.PROCESSLIST and SHOW PROCESSLIST answered from
  // the proxy's own sessions (joined with their backend threads' rows), and SHOW STATUS with
  // Threads_connected counting the proxy's client connections.
  std::string processlistTable();
  asio::awaitable<bool> onProcesslist(const Packet& pkt, std::string_view sql, std::uint8_t seq);
  asio::awaitable<bool> onShowStatus(std::string_view sql, std::uint8_t seq);
  // SHOW WARNINGS / SHOW ERRORS [LIMIT [offset,] n] after a statement that ran on several shards:
  // every shard's, in the order of the statement's targets (warnedOn_).
  asio::awaitable<bool> onShowWarnings(const sql::ShowStatement& show, std::uint8_t seq);
  // `sql` on each connection of that statement still usable, one capture of at most `limit`
  // values each; a failure (a connection it broke released) ends it.
  asio::awaitable<Status> askWarnedOn(std::string_view sql, std::size_t limit,
                                      std::vector<BackendConnection::CommandOutput::Capture>& each);
  // SHOW COUNT(*) WARNINGS / ERRORS, SELECT @@warning_count, @@error_count after such a statement:
  // `sql` run on each of its connections (none of them resets the messages), each column summed;
  // `warnings`: per column, whether it counts warnings (the merge's own are added to those).
  asio::awaitable<bool> onCountWarnings(std::string_view sql, std::vector<bool> warnings,
                                        std::uint8_t seq);
  // A result set captured from a backend (its own column definitions) to the client: rows
  // [first, first + count) of it.
  asio::awaitable<bool> sendCaptured(const BackendConnection::CommandOutput::Capture& rows,
                                     std::size_t first, std::size_t count, std::uint8_t seq);
  bool rewritingProcesslist_ = false;
  // One chunk of a join's outer rows: the inner rows of its keys (per batch), the result set's
  // header first if not sent yet, the joined rows written to the client's buffer.
  asio::awaitable<Status> joinChunk(const router::Plan::JoinPlan& join,
                                    BackendConnection::CommandOutput::Capture& outer,
                                    BackendConnection::CommandOutput::Capture& inner,
                                    bool& headerSent, std::uint8_t& seq);
  // The outer side read from connections of its own, a chunk at a time (outside transactions).
  asio::awaitable<Status> streamJoin(const router::Plan::JoinPlan& join,
                                     BackendConnection::CommandOutput::Capture& outer,
                                     BackendConnection::CommandOutput::Capture& inner,
                                     bool& headerSent, std::uint8_t& seq);
  // The login a backend connection of this session uses.
  BackendLogin backendLogin() const;
  asio::awaitable<void> endLookupTransactions(const std::vector<const catalog::LookupKey*>& keys,
                                              bool commit);
  asio::awaitable<Status> writeLookupEntries(const router::Plan::LookupWrite& write);
  asio::awaitable<Status> healUniqueEntry(const catalog::LookupKey& key,
                                          const router::Plan::LookupEntry& entry);
  // Before a connection-bound statement (LAST_INSERT_ID()) on `conn`: give it the session's last
  // generated insert id, as MySQL would have it.
  asio::awaitable<Status> syncInsertId(SessionConn& conn);
  // After a statement succeeded: the insert id LAST_INSERT_ID() reports from now on.
  void noteInsertId(const router::Plan& plan, std::uint64_t backendInsertId);
  asio::awaitable<bool> onMultiStatement(const Packet& pkt, std::string_view sql, std::uint8_t seq);
  asio::awaitable<bool> passThrough(const Packet& pkt, std::uint8_t seq);
  // Runs a planned statement: COM_QUERY (`stmt` null) or COM_STMT_EXECUTE of `stmt`.
  asio::awaitable<bool> execute(const router::Plan& plan, const Packet& pkt, std::uint8_t seq,
                                PreparedStatement* stmt);
  // The statement's keyspace or shard is held (heldScope_, set by heldAtGate): wait in the
  // gate's buffer for the release, then run the command again from its packet (planned on the
  // new catalog), or fail with the retryable error (buffer full, or hold_timeout_ms passed).
  asio::awaitable<bool> waitForRelease(const Packet& pkt, std::uint8_t seq);
  // Whether the statement must wait at the gate (marks the session busy on `ks` otherwise):
  // its keyspace is held, or one of the shards it touches (the plan's targets, or `shard`; with
  // neither, any held shard of the keyspace counts).
  bool heldAtGate(const catalog::Keyspace* ks, const router::Plan* plan = nullptr,
                  const catalog::Shard* shard = nullptr);
  // After txLost_: rolls what is left back and answers the statement with 1213 (a ROLLBACK
  // with OK); returns false when the connection should close.
  asio::awaitable<bool> lostTransaction(const sql::Statement* statement, std::uint8_t seq);
  asio::awaitable<bool> executeSingle(const router::Plan& plan, const Packet& pkt, std::uint8_t seq,
                                      PreparedStatement* stmt);
  asio::awaitable<bool> executeMulti(const router::Plan& plan, const Packet& pkt, std::uint8_t seq,
                                     PreparedStatement* stmt);
  // A write on several shards outside a transaction (session_multi.cpp): in a transaction of its
  // own, committed by the keyspace's mode before the client sees the OK; an error anywhere rolls
  // it back everywhere.
  asio::awaitable<bool> executeAtomically(const router::Plan& plan, const Packet& pkt,
                                          std::uint8_t seq, PreparedStatement* stmt);
  // The hot path: the connection for a single-target plan when it is ready (no coroutine).
  SessionConn* readyFor(const router::Plan& plan);
  // The slow path: connects, checks the transaction's write shard, waits for causal reads;
  // sends the error itself (then returns nullptr; `keep` says if the client is still there).
  asio::awaitable<SessionConn*> acquireFor(const router::Plan& plan, std::uint8_t seq, bool& keep);
  const catalog::Shard* singleShard(const router::Plan& plan);
  bool txWrites() const;
  asio::awaitable<bool> relayExecute(SessionConn& c, const Packet& pkt, std::uint8_t seq,
                                     PreparedStatement& stmt, RelayResult& r,
                                     std::uint64_t insertId = 0);
  // A prepared INSERT given generated keys (Plan::executeParams): its own statement on the shard
  // (PreparedStatement::variants) executed with the values among the client's parameters.
  asio::awaitable<bool> relayGeneratedExecute(SessionConn& c, const router::Plan& plan,
                                              const Packet& pkt, std::uint8_t seq,
                                              PreparedStatement& stmt, RelayResult& r);
  asio::awaitable<bool> relayRewritten(SessionConn& c, const Packet& pkt, std::string_view sql,
                                       RelayResult& r, RelayOptions options);
  asio::awaitable<bool> onBegin(const router::Plan& plan, std::uint8_t seq);
  asio::awaitable<bool> onEndTransaction(const router::Plan& plan, const Packet& pkt,
                                         std::uint8_t seq);
  asio::awaitable<bool> onSet(const router::Plan& plan, const Packet& pkt, std::uint8_t seq);
  static std::size_t proxyVariables(const sql::SetStatement& set);
  std::optional<Error> applyProxyVariables(const sql::SetStatement& set);
  asio::awaitable<bool> onExplainRoute(const sql::Statement& statement, std::uint8_t seq);
  // --- transactions (session_transactions.cpp, docs/transactions.md) ---
  // The transaction mode for writes to `keyspace`: the session's SET, else the keyspace's.
  catalog::TransactionMode txModeFor(std::string_view keyspace) const;
  // Whether a connection of `c`'s kind must be put in a transaction before use: an explicit
  // transaction is open, or autocommit=0 on a twopc keyspace's primary (an XA branch).
  bool needsBegin(const SessionConn& c) const;
  asio::awaitable<Status> beginOn(SessionConn& c);
  // COMMIT / ROLLBACK of the session's transaction on every connection it went to: as written
  // when at most one shard was written (chained and released as the server does), else in turn
  // (multi) or with XA two-phase commit (twopc).
  asio::awaitable<Status> endTransaction(std::string_view sql, bool commit);
  asio::awaitable<Status> commitAll(std::string_view sql);
  // A branch of the session's transaction committed on `c`, a primary: its GTID (causal reads)
  // or the time (read-your-writes) noted for later reads of that shard.
  asio::awaitable<void> noteCommitted(SessionConn& c);
  asio::awaitable<Status> commitInTurn();
  asio::awaitable<Status> commitTwoPhase();
  asio::awaitable<Status> rollbackBranches();
  asio::awaitable<Status> rollbackWritten(const std::vector<catalog::Endpoint>& written,
                                          const std::string& branches, std::string why);
  // One branch: COMMIT, or XA END + XA COMMIT ONE PHASE (or the ROLLBACK forms).
  asio::awaitable<Status> finishBranch(const catalog::Endpoint& address, bool commit);
  asio::awaitable<Status> branchCommand(const catalog::Endpoint& address, std::string_view sql);
  std::string branchName(const SessionConn& c) const;
  // An error after which the server has rolled the transaction back (deadlock): the session
  // rolls back its other branches and ends the transaction (abortTransaction).
  static bool abortsTransaction(std::uint16_t mysqlErrno);
  asio::awaitable<void> abortTransaction();
  std::string xidOf(const SessionConn& c) const;
  // The backend serving `shard` for `role`, honouring health, read-your-writes and stickiness.
  Result<const catalog::Backend*> chooseFor(const catalog::Shard& shard, router::Role role,
                                            bool* fellBack = nullptr);
  // A connection to `backend` in the session's state (and in its transaction, if one is open).
  asio::awaitable<Result<SessionConn*>> connectionTo(const catalog::Backend& backend,
                                                     const catalog::Shard& shard);
  // The connection that ran the session's last statement, or a new one to the first shard.
  asio::awaitable<Result<SessionConn*>> sessionConnection(const router::Plan& plan);
  // The session's connection to the primary of its current schema's keyspace.
  asio::awaitable<Result<SessionConn*>> schemaConnection();
  SessionConn* findConn(const catalog::Endpoint& address);
  // The connection to `address` when it is already in the session's state and transaction.
  SessionConn* readyConn(const catalog::Endpoint& address);
  asio::awaitable<Status> syncState(SessionConn& conn);
  asio::awaitable<Status> waitForGtid(SessionConn& replica, const catalog::Shard& shard);
  void noteWrite(const SessionConn& conn, std::string gtid);
  void applySessionChanges(const catalog::Endpoint& address);
  // The client's character set decides how the lexer reads strings (sjis, cp932, big5 and gbk
  // have two-byte characters ending in '\\'): from the handshake's collation, SET NAMES,
  // SET CHARACTER SET and SET character_set_client.
  void applyClientCharset(sql::MultibyteCharset charset);
  asio::awaitable<void> recordGtid(SessionConn& conn);
  void releaseConn(SessionConn& conn, bool broken);
  void releaseAll();
  void sweepConnections();  // after a catalog change: let go of backends no longer serving
  void publishBackend(const SessionConn* conn);  // for KILL from other sessions
  bool inTransaction() const;
  // The backend statement id of `st` on `conn`, preparing it there first if needed (`fresh`).
  asio::awaitable<Result<std::uint32_t>> preparedOn(PreparedStatement& st, SessionConn& conn,
                                                    bool* fresh = nullptr);
  // The COM_STMT_EXECUTE payload for one backend: the id rewritten in place, or a copy in
  // cmdBuffer_ (`copy`, or parameter types added for a freshly prepared statement).
  protocol::ByteView executePacketFor(PreparedStatement& st, const Packet& pkt,
                                      std::uint64_t serial, bool copy);
  asio::awaitable<bool> forward(BackendConnection& conn, const Packet& pkt);
  asio::awaitable<bool> sendQuery(BackendConnection& conn, std::string_view sql);
  // Relays, then handles the outcome; returns false when the client connection must close.
  asio::awaitable<bool> relay(SessionConn& conn, const Packet& pkt, const RelayOptions& options,
                              RelayResult* out = nullptr);
  // When foundRows_ or rowCount_ is set: forgets both, and answers `statement` itself if it is
  // SELECT FOUND_ROWS() / SELECT ROW_COUNT() and the value is known (text or binary rows).
  // nullopt: not answered, the statement goes on; else whether the client connection stays.
  asio::awaitable<std::optional<bool>> answerMergedCount(const router::sql::Statement* statement,
                                                         std::uint8_t seq, bool binaryRows);
  // firstAsk: the shards were sent Plan::firstAskSql() (a merge asks again if it was not enough);
  // heldBack: MergeOptions::heldBack.
  asio::awaitable<bool> relayMany(std::span<SessionConn* const> conns, const router::Plan& plan,
                                  std::uint8_t seq, bool binary = false, bool firstAsk = false,
                                  bool heldBack = false);

  asio::awaitable<bool> sendOk(std::uint8_t seq, std::uint16_t extraStatus = 0,
                               std::uint16_t warnings = 0, std::string_view info = {});
  asio::awaitable<bool> sendError(const Error& error, std::uint8_t seq);
  std::uint16_t statusFlags() const;
  // The fields of this session's log lines (logWith): connection id, user, client host, the
  // keyspace (and the one shard) the current statement ran on, else the session's keyspace.
  LogFields logFields(std::uint16_t error = 0) const;
  // A statement ended in an error: one throttled line (--log-statement-errors).
  void logStatementError(std::uint16_t code, std::string_view message, bool fromServer);

  ThreadContext& ctx_;
  Channel client_;
  std::uint32_t id_;
  std::uint32_t caps_ = 0;
  std::string user_;
  protocol::Credentials credentials_;  // to log in to backends as this user
  std::string peerHost_;
  std::uint16_t peerPort_ = 0;
  router::SessionState state_;
  std::vector<router::SessionChange> changes_;
  std::vector<SessionConn> conns_;
  int current_ = -1;             // index in conns_ of the connection that ran the last statement
  catalog::Endpoint lastWrite_;  // the backend of the last write (port 0: none yet)
  // What no one backend knows after a statement on several shards, answered to the next
  // statement if it asks (answerMergedCount), then forgotten: after a SELECT on several shards,
  // the rows the client got for FOUND_ROWS() (with SQL_CALC_FOUND_ROWS, the sum of the shards'
  // FOUND_ROWS()); after a write on several shards, the affected rows summed, for ROW_COUNT().
  std::optional<std::uint64_t> foundRows_;
  std::optional<std::uint64_t> rowCount_;
  // The connections of the last statement if it ran on several (each holds its part of the
  // statement's warnings for SHOW WARNINGS / SHOW ERRORS); cleared by the next other statement.
  std::vector<catalog::Endpoint> warnedOn_;
  std::vector<std::uint64_t> mergeCuts_;  // and the merge's own (MergeResult::cutRows)
  // The first value of the session's last INSERT given generated keys (0: none since the backend
  // reported an AUTO_INCREMENT of its own, or ever); bumped version per new value, so each
  // connection is told once (SessionConn::insertIdVersion).
  std::uint64_t lastInsertId_ = 0;
  // Set while the INSERT an INSERT ... SELECT became runs (onInsertSelect): a one-shard OK then
  // gets the statement's "Records: ..." line (RelayOptions::insertInfo).
  router::Plan::InsertKind insertSelectInfo_ = router::Plan::InsertKind::kNone;
  // The last statement executed (execute()) ended without an error (lookup entries commit by it).
  bool statementOk_ = false;
  // executeAtomically(): the statement's own transaction is open (not reported to the client as
  // in a transaction), and the merged OK waits in the client's buffer (heldOk_) at
  // heldOkStart_ with sequence id heldOkSeq_ until the commit.
  bool implicitTx_ = false;
  bool heldOk_ = false;
  std::size_t heldOkStart_ = 0;
  std::uint8_t heldOkSeq_ = 0;
  std::vector<std::uint64_t> lookupIds_;  // planAfterLookup's answer
  std::uint64_t insertIdVersion_ = 0;
  std::string collation_;              // state_.collationConnection(), kept with state_
  bool noAutoValueOnZero_ = false;     // sql_mode NO_AUTO_VALUE_ON_ZERO: an explicit 0 is kept
  std::uint64_t publishedSerial_ = 0;  // what publishBackend() last told the registry
  std::uint32_t publishedThread_ = 0;
  catalog::SnapshotPtr snapshot_;
  router::SchemaSnapshotPtr tracked_;  // the tracked columns (schema tracking), if any
  const catalog::Keyspace* activeKeyspace_ = nullptr;  // of the running statement (in snapshot_)
  HoldScope heldScope_;                                // what heldAtGate() found held
  // The server of an open transaction left its role (a switchover or failover): the transaction
  // is lost; its next statement gets 1213 and it is rolled back (lostTransaction()).
  std::string txLost_;
  sql::Parser parser_;
  router::Planner planner_;
  std::vector<router::BoundValue> params_;
  std::vector<SessionConn*> targets_;
  std::vector<BackendConnection*> targetConns_;
  std::vector<BatchSender::Item> batch_;  // executeMulti's sends (reused)
  protocol::Bytes cmdBuffer_;             // a rewritten COM_QUERY
  protocol::Bytes mergeExecute_;          // COM_STMT_EXECUTE of a merge's own statement
  // Transactions: BEGIN is answered by the proxy and sent to each backend on first use.
  bool txOpen_ = false;
  bool txReadOnly_ = false;
  std::string txBegin_;
  std::string txWriteShard_;         // "keyspace/shard" the open transaction wrote to
  std::string txGtrid_;              // the XA transaction id of the open twopc transaction
  std::uint32_t txEndWarnings_ = 0;  // the backends' warnings at the last COMMIT / ROLLBACK
  std::optional<catalog::TransactionMode> txModeOverride_;  // SET shardproxy_transaction_mode
  std::vector<RecentWrite> recentWrites_;
  std::uint32_t readYourWritesMs_ = 0;
  bool causalReads_ = false;
  bool temporaryTables_ = false;
  bool lockedTables_ = false;  // LOCK TABLES until UNLOCK TABLES: the locks are on primaries
  std::uint64_t random_ = 0x9e3779b97f4a7c15ULL;
  std::unordered_map<std::uint32_t, PreparedStatement> statements_;
  std::uint32_t nextStatementId_ = 1;
  bool registered_ = false;
  bool idle_ = false;
  // The running COM_QUERY was counted in /metrics by kind (a statement held at the gate and
  // dispatched again, or the statements of a multi-statement, count once).
  bool statementCounted_ = false;
  // The running statement's digest (digestActive_: it has one) and what its execution did.
  bool digestActive_ = false;
  std::uint64_t digestHash_ = 0;
  Execution execution_;
  std::chrono::steady_clock::time_point commandStart_;
  std::string digestText_;  // fingerprint() output, reused
  // The tokens the parser consumed (parse(..., digestTokens()) when digests are on), reused.
  std::vector<sql::Token> digestTokens_;
  std::vector<sql::Token>* digestTokens();
  // Counts the statement under its fingerprint: from digestTokens_ when they hold it whole
  // (recorded while parsing `sql`), else by lexing `text` (the statement's own text) again.
  void noteDigest(const sql::Statement* statement, std::string_view sql, std::string_view text);
  // One line for the "slow" logger (--slow-query-ms): the statement's fingerprint and figures.
  void logSlow(const Packet& pkt);
  bool closeRequested_ = false;
  std::uint64_t commands_ = 0;        // commands read so far
  std::uint64_t watchedCommand_ = 0;  // commands_ at the watchdog's previous look
  bool clientGoneKill_ = false;       // the backends were told to kill this session's work
};

}  // namespace shardproxy::proxy
