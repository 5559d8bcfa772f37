// The two-phase commit decision log: see decision_log.h and docs/transactions.md.
#include "shardproxy/catalog/decision_log.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include "catalog_errors.h"
#include "schema.h"
#include "sqlite_util.h"

namespace shardproxy::catalog {

using detail::Statement;
using detail::Transaction;

namespace {

std::optional<Decision> parseDecision(std::string_view text) {
  if (text == "prepare") return Decision::kPrepare;
  if (text == "commit") return Decision::kCommit;
  if (text == "rollback") return Decision::kRollback;
  return std::nullopt;
}

// The row's state inside an open transaction, or nullopt when there is none.
Result<std::optional<Decision>> stateOf(sqlite3* db, std::string_view gtrid) {
  Statement st(db, "SELECT state FROM twopc_decisions WHERE gtrid = ?");
  st.bind(1, gtrid);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return std::optional<Decision>();
  return parseDecision(st.text(0));
}

}  // namespace

std::string_view toString(Decision d) {
  switch (d) {
    case Decision::kPrepare:
      return "prepare";
    case Decision::kCommit:
      return "commit";
    case Decision::kRollback:
      return "rollback";
  }
  return "prepare";
}

Result<std::unique_ptr<DecisionLog>> DecisionLog::open(const std::string& path) {
  sqlite3* db = nullptr;
  Status opened = detail::openCatalogFile(path, true, true, db);
  std::unique_ptr<DecisionLog> log(new DecisionLog(db));  // closes `db` on every path below
  if (!opened) return opened.takeError();
  Statement st(db, "SELECT id FROM catalog_identity");
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return detail::ioError(fmt::format("catalog file {} has no identity row", path));
  log->catalogId_ = st.text(0);
  return log;
}

DecisionLog::~DecisionLog() {
  sqlite3_close_v2(db_);
}

Status DecisionLog::recordPrepare(std::string_view gtrid, std::string_view branches,
                                  std::int64_t nowMs) {
  std::lock_guard lock(mutex_);
  Statement st(db_,
               "INSERT INTO twopc_decisions (gtrid, state, branches, created_ms) "
               "VALUES (?, 'prepare', ?, ?)");
  st.bind(1, gtrid).bind(2, branches).bind(3, nowMs);
  return st.run();
}

Result<Decision> DecisionLog::decide(std::string_view gtrid, Decision to, std::int64_t nowMs) {
  std::lock_guard lock(mutex_);
  auto tx = Transaction::begin(db_, Transaction::Kind::kWrite);
  if (!tx) return tx.takeError();
  auto now = stateOf(db_, gtrid);
  if (!now) return now.takeError();
  if (!*now) return Decision::kRollback;
  if (**now != Decision::kPrepare) return **now;
  Statement st(db_, "UPDATE twopc_decisions SET state = ?, decided_ms = ? WHERE gtrid = ?");
  st.bind(1, toString(to)).bind(2, nowMs).bind(3, gtrid);
  if (Status s = st.run(); !s) return s.takeError();
  if (Status s = tx->commit(); !s) return s.takeError();
  return to;
}

Result<std::optional<Decision>> DecisionLog::resolve(std::string_view gtrid,
                                                     std::int64_t abandonBeforeMs) {
  std::lock_guard lock(mutex_);
  auto tx = Transaction::begin(db_, Transaction::Kind::kWrite);
  if (!tx) return tx.takeError();
  auto now = stateOf(db_, gtrid);
  if (!now) return now.takeError();
  if (!*now || **now != Decision::kPrepare) return *now;
  Statement created(db_, "SELECT created_ms FROM twopc_decisions WHERE gtrid = ?");
  created.bind(1, gtrid);
  auto row = created.step();
  if (!row) return row.takeError();
  if (!*row || created.int64(0) >= abandonBeforeMs) return *now;
  Statement st(db_,
               "UPDATE twopc_decisions SET state = 'rollback', decided_ms = ? WHERE gtrid = ?");
  st.bind(1, abandonBeforeMs).bind(2, gtrid);
  if (Status s = st.run(); !s) return s.takeError();
  if (Status s = tx->commit(); !s) return s.takeError();
  return std::optional<Decision>(Decision::kRollback);
}

Status DecisionLog::forget(std::string_view gtrid) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "DELETE FROM twopc_decisions WHERE gtrid = ?");
  st.bind(1, gtrid);
  return st.run();
}

Result<std::optional<std::int64_t>> DecisionLog::createdMs(std::string_view gtrid) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT created_ms FROM twopc_decisions WHERE gtrid = ?");
  st.bind(1, gtrid);
  auto row = st.step();
  if (!row) return row.takeError();
  if (!*row) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(st.int64(0));
}

namespace detail {

Result<std::vector<DecisionRecord>> listDecisions(sqlite3* db) {
  Statement st(db,
               "SELECT gtrid, state, branches, created_ms FROM twopc_decisions ORDER BY "
               "created_ms, gtrid");
  std::vector<DecisionRecord> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.takeError();
    if (!*row) break;
    DecisionRecord r;
    r.gtrid = st.text(0);
    r.state = parseDecision(st.text(1)).value_or(Decision::kPrepare);
    r.branches = st.text(2);
    r.createdMs = st.int64(3);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace detail

Result<std::vector<DecisionRecord>> DecisionLog::list() {
  std::lock_guard lock(mutex_);
  return detail::listDecisions(db_);
}

}  // namespace shardproxy::catalog
