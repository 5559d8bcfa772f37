// Statements a client session answers itself or spreads over its connections: SET (proxy
// variables, autocommit), EXPLAIN ROUTE. Transactions are in session_transactions.cpp. Same class
// as client_session.cpp (docs/routing.md).
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

// --- SET ---------------------------------------------------------------------------------------

// The number of shardproxy_* variables a SET assigns (the proxy's own, never sent to backends).
std::size_t ClientSession::proxyVariables(const sql::SetStatement& set) {
  std::size_t n = 0;
  for (const sql::SetItem* item : set.items) {
    if (item->kind == sql::SetItemKind::kVariable && !item->userVariable &&
        startsWithCi(item->name.name, "shardproxy_")) {
      ++n;
    }
  }
  return n;
}

// Applies a SET of proxy variables only (checked by the caller with proxyVariables()).
std::optional<Error> ClientSession::applyProxyVariables(const sql::SetStatement& set) {
  if (proxyVariables(set) != set.items.size()) {
    return Error::make(ErrorCode::kNotSupportedYet,
                       "Set shardproxy_* variables in a SET statement of their own");
  }
  for (const sql::SetItem* item : set.items) {
    std::string_view v = item->valueText;
    if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"')) v = v.substr(1, v.size() - 2);
    bool on = iequals(v, "on") || v == "1" || iequals(v, "true");
    bool off = iequals(v, "off") || v == "0" || iequals(v, "false");
    if (iequals(item->name.name, "shardproxy_transaction_mode")) {
      std::string lower(v);
      for (auto& ch : lower)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto mode = catalog::parseTransactionMode(lower);
      if (!mode && !iequals(v, "default")) {
        return Error::fromServer(1231, "42000",
                                 fmt::format("Variable 'shardproxy_transaction_mode' can't be set "
                                             "to the value of '{}' (single, multi, twopc or "
                                             "DEFAULT)",
                                             item->valueText));
      }
      if (inTransaction() && mode != txModeOverride_) {
        return Error::fromServer(1568, "25001",
                                 "Transaction characteristics can't be changed while a "
                                 "transaction is in progress");
      }
      txModeOverride_ = mode;
    } else if (iequals(item->name.name, "shardproxy_causal_reads")) {
      if (!on && !off) {
        return Error::fromServer(1231, "42000",
                                 fmt::format("Variable 'shardproxy_causal_reads' can't be set to "
                                             "the value of '{}'",
                                             item->valueText));
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
        return Error::fromServer(1232, "42000",
                                 "Incorrect argument type to variable "
                                 "'shardproxy_read_your_writes_ms'");
      }
      readYourWritesMs_ = static_cast<std::uint32_t>(ms);
    } else {
      return Error::fromServer(1193, "HY000",
                               fmt::format("Unknown system variable '{}'", item->name.name));
    }
  }
  return std::nullopt;
}

asio::awaitable<bool> ClientSession::onSet(const Plan& plan, const Packet& pkt, std::uint8_t seq) {
  sql::ParseResult again = parser_.parse(plan.text);
  const auto* set = again ? again.statement().as<sql::SetStatement>() : nullptr;
  if (set != nullptr && proxyVariables(*set) > 0) {
    changes_.clear();  // proxy variables are never replayed on backends
    if (auto err = applyProxyVariables(*set)) {
      warnedOn_.clear();
      co_return co_await sendError(*err, seq);
    }
    co_return co_await sendOk(seq);
  }
  // Validated by the backend the session last used; replayed on the others when next used.
  auto conn = co_await sessionConnection(plan);
  if (!conn) {
    warnedOn_.clear();
    co_return co_await sendError(conn.error(), seq);
  }
  SessionConn* c = *conn;
  const catalog::Endpoint address = c->address;
  current_ = static_cast<int>(c - conns_.data());
  RelayResult r;
  bool keep = co_await relay(*c, pkt, RelayOptions{ResponseKind::kQuery}, &r);
  // A SET keeps the last statement's messages unless it has its own (as one server).
  if (r.outcome != RelayResult::Outcome::kDone || r.sawError || r.warnings > 0) warnedOn_.clear();
  if (r.outcome == RelayResult::Outcome::kDone && !r.sawError) {
    applySessionChanges(address);
    // SET GLOBAL: pooled connections to that server copied the old values when they logged in;
    // later sessions must get ones that did not.
    bool global = false;
    if (set != nullptr) {
      for (const sql::SetItem* item : set->items)
        global = global || item->scope == sql::VarScope::kGlobal;
    }
    if (global) ctx_.shared.retireConnectionsTo(address.toString());
  }
  bool setsAutocommit = false;
  for (const auto& ch : changes_)
    setsAutocommit = setsAutocommit || ch.name == "autocommit";
  if (keep && setsAutocommit && r.outcome == RelayResult::Outcome::kDone && !r.sawError &&
      r.sawStatus && (r.statusFlags & protocol::status::kAutocommit) &&
      (txOpen_ || inTransaction())) {
    // SET autocommit = 1 commits the open transaction (MySQL): on every connection it touched.
    Status st = co_await endTransaction("COMMIT", true);
    txOpen_ = false;
    txWriteShard_.clear();
    if (!st)
      logWith(*moduleLogger("proxy"), spdlog::level::warn, logFields(st.error().mysqlErrno),
              "commit after autocommit=1: {}", st.error().message);
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
  const Plan* planned = &planner_.plan(*explain->explained, planInput({}, false));
  if (planned->sequenceShortfall != nullptr) {
    auto refilled = co_await planAfterRefill(*explain->explained, *planned, planInput({}, false));
    if (!refilled) co_return co_await sendError(refilled.error(), seq);
    planned = *refilled;
  }
  if (planned->lookup != nullptr) {
    auto looked = co_await planAfterLookup(*explain->explained, *planned, planInput({}, false));
    if (!looked) co_return co_await sendError(looked.error(), seq);
    planned = *looked;
  }
  const Plan& plan = *planned;
  TextResultSet rs;
  rs.columns = {"plan", "shard", "role", "backend", "sql", "reason"};
  if (plan.join) {
    // A nested loop: the outer side's query, then the inner side's per batch of keys (each
    // planned when it runs; EXPLAIN ROUTE of either shows its route).
    rs.rows = detail::explainJoinRows(plan);
    encodeResultSet(rs, caps_, statusFlags(), seq, client_.out());
    co_return !(co_await client_.flush());
  }
  if (plan.kind == PlanKind::kError) co_return co_await sendError(plan.error, seq);
  // A merge's steps follow the reason: "every shard ...; aggregate: v0=count (hidden 0)".
  std::string reason(plan.reason);
  if (plan.kind == PlanKind::kMerge) reason += "; " + router::describe(plan.merge);
  auto row = [&](std::string shard, std::string role, std::string backend, std::string_view sql) {
    rs.rows.push_back({std::string(router::toString(plan.kind)), std::move(shard), std::move(role),
                       std::move(backend), std::string(sql), reason});
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

namespace detail {

std::optional<CountQuery> countQuery(const sql::Statement& st) {
  const auto* sel = st.as<sql::SelectStatement>();
  if (sel == nullptr) return std::nullopt;
  const auto* b = sel->query->as<sql::SelectBlock>();
  if (b == nullptr || !b->from.empty() || b->items.size() != 1 || b->where != nullptr) {
    return std::nullopt;
  }
  const auto* f = b->items[0]->expr->as<sql::Function>();
  if (f == nullptr || !f->args.empty()) return std::nullopt;
  const bool rowCount = iequals(f->name.name, "row_count");
  if (!rowCount && !iequals(f->name.name, "found_rows")) return std::nullopt;
  return CountQuery{b->items[0]->alias.empty() ? f->text : b->items[0]->alias.name, rowCount};
}

}  // namespace detail

}  // namespace shardproxy::proxy
