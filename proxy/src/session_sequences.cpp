// A client session's generated keys (docs/routing.md, "Generated keys"): refilling a sequence's
// cached values when a plan ran short, and LAST_INSERT_ID() as MySQL reports it after an INSERT
// the proxy gave values. Same class as client_session.cpp.
#include <fmt/format.h>

#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/server.h"

namespace shardproxy::proxy {

namespace {
// A plan is made again after each refill; other sessions may take the new values first, so a
// few rounds are allowed before giving up.
constexpr int kRefillRounds = 4;
}  // namespace

asio::awaitable<Result<const router::Plan*>> ClientSession::planAfterRefill(
    const sql::Statement& statement, const router::Plan& shortPlan, router::PlanInput input) {
  const catalog::Sequence* sequence = shortPlan.sequenceShortfall;
  std::uint32_t need = shortPlan.sequenceNeed;
  for (int round = 0; round < kRefillRounds; ++round) {
    // On the cache's worker thread (SQLite); this coroutine resumes on the session's thread.
    Status reserved = co_await ctx_.shared.sequences->refill(*sequence, need);
    if (!reserved) {
      Error e = reserved.takeError();
      e.message = fmt::format("Cannot reserve values of the sequence of {}.{}: {}",
                              sequence->keyspace, sequence->table, e.message);
      co_return e;
    }
    const router::Plan& plan = planner_.plan(statement, input);
    if (plan.sequenceShortfall == nullptr) co_return &plan;
    sequence = plan.sequenceShortfall;
    need = plan.sequenceNeed;
  }
  co_return Error::make(ErrorCode::kInternal,
                        fmt::format("The sequence of {}.{} ran short {} times in a row while "
                                    "other sessions took its values; retry the statement",
                                    sequence->keyspace, sequence->table, kRefillRounds));
}

asio::awaitable<Status> ClientSession::syncInsertId(SessionConn& conn) {
  const catalog::Endpoint address = conn.address;
  const std::uint64_t version = insertIdVersion_;
  Status st = co_await conn.conn->command(protocol::Command::kQuery,
                                          fmt::format("DO LAST_INSERT_ID({})", lastInsertId_));
  SessionConn* still = findConn(address);
  if (!st) {
    if (still != nullptr && still->conn && still->conn->broken) releaseConn(*still, true);
    co_return st;
  }
  if (still != nullptr) still->insertIdVersion = version;
  co_return Status{};
}

void ClientSession::noteInsertId(const router::Plan& plan, std::uint64_t backendInsertId) {
  if (plan.generatedId != 0) [[unlikely]] {
    lastInsertId_ = static_cast<std::uint64_t>(plan.generatedId);
    ++insertIdVersion_;
  } else if (backendInsertId != 0 && plan.write && plan.keyspace != nullptr &&
             !plan.keyspace->sharded) {
    // An unsharded keyspace's server generates its AUTO_INCREMENT values: the session's
    // LAST_INSERT_ID() is that server's now. (The OK also carries an explicit value inserted into
    // an AUTO_INCREMENT column, which MySQL's LAST_INSERT_ID() ignores: on sharded keyspaces,
    // where explicit keys are the rule, the sequence's last value stays.)
    lastInsertId_ = 0;
  }
}

}  // namespace shardproxy::proxy
