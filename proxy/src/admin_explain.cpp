// EXPLAIN ROUTE on the admin port: how the application port would route a statement, for a
// given schema, without a session (no transaction, no read-your-writes). docs/admin-sql.md.
#include <fmt/format.h>

#include <cctype>

#include "shardproxy/proxy/server.h"
#include "shardproxy/router/backend_choice.h"
#include "shardproxy/router/planner.h"
#include "shardproxy/router/sql/parser.h"

namespace shardproxy::proxy {

namespace {

std::string_view skipSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  return s;
}

bool takeWord(std::string_view& s, std::string_view word) {
  s = skipSpace(s);
  if (s.size() < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(s[i])) != word[i]) return false;
  }
  if (s.size() > word.size() &&
      (std::isalnum(static_cast<unsigned char>(s[word.size()])) || s[word.size()] == '_')) {
    return false;
  }
  s.remove_prefix(word.size());
  return true;
}

}  // namespace

bool isAdminExplainRoute(std::string_view sql) {
  return takeWord(sql, "EXPLAIN") && takeWord(sql, "ROUTE");
}

// EXPLAIN ROUTE [IN schema] <statement>
AdminResult SharedState::explainRoute(std::string_view sql) {
  std::string_view rest = sql;
  takeWord(rest, "EXPLAIN");
  takeWord(rest, "ROUTE");
  std::string schema;
  if (takeWord(rest, "IN")) {
    rest = skipSpace(rest);
    std::size_t n = 0;
    if (!rest.empty() && rest.front() == '`') {
      std::size_t end = rest.find('`', 1);
      if (end == std::string_view::npos) {
        return Error::make(ErrorCode::kParseError, "EXPLAIN ROUTE IN: unterminated `name`");
      }
      schema.assign(rest.substr(1, end - 1));
      n = end + 1;
    } else {
      while (n < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[n])) ||
                                 rest[n] == '_' || rest[n] == '$')) {
        ++n;
      }
      schema.assign(rest.substr(0, n));
    }
    if (schema.empty()) {
      return Error::make(ErrorCode::kParseError, "EXPLAIN ROUTE IN needs a schema name");
    }
    rest.remove_prefix(n);
  }
  std::string text(rest);
  router::sql::Parser parser;
  auto parsed = parser.parse(text);
  if (!parsed) return parsed.error().toError();
  catalog::SnapshotPtr snap = snapshot();
  router::Planner planner;
  router::PlanInput in;
  in.snapshot = snap.get();
  in.schema = schema;
  const router::Plan& plan = planner.plan(parsed.statement(), in);
  if (plan.kind == router::PlanKind::kError) return plan.error;
  TextResultSet rs;
  rs.columns = {"plan", "shard", "role", "backend", "sql", "reason"};
  auto healthTable = health();
  auto row = [&](std::string shard, std::string role, std::string backend, std::string_view s) {
    rs.rows.push_back({std::string(router::toString(plan.kind)), std::move(shard), std::move(role),
                       std::move(backend), std::string(s), std::string(plan.reason)});
  };
  if (plan.targets.empty()) {
    bool session = plan.kind == router::PlanKind::kSessionConnection;
    row("-", session ? "session" : "proxy", "-", plan.text);
  }
  for (std::size_t i = 0; i < plan.targets.size(); ++i) {
    const catalog::Shard& shard = snap->shards[plan.targets[i].shard];
    auto choice = router::chooseBackend(*snap, shard, plan.role, healthTable.get(), i, nullptr);
    std::string role = "unavailable", address;
    if (choice) {
      role = std::string(catalog::toString(choice->backend->role));
      if (choice->fellBackToPrimary) role += " (no fit replica)";
      address = choice->backend->address.toString();
    } else {
      address = choice.error().message;
    }
    row(shard.keyspace + "/" + shard.name, role, address, plan.sqlFor(i));
  }
  return rs;
}

}  // namespace shardproxy::proxy
