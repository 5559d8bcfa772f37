// EXPLAIN ROUTE on the admin port: how the application port would route a statement, for a
// given schema, without a session (no transaction, no read-your-writes). docs/admin-sql.md.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "session_util.h"
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

// The catalog as it will be once an unsharded keyspace with sharded table rules has been
// resharded onto its NOT SERVING range shards (RESHARD ... FROM (`0`) TO (...)): those serve, the
// keyspace is sharded. nullptr when `name` has no such planned shards.
std::shared_ptr<catalog::Snapshot> plannedResharding(const catalog::Snapshot& current,
                                                     std::string_view name) {
  const catalog::Keyspace* ks = current.findKeyspace(name);
  if (ks == nullptr || ks->sharded) return nullptr;
  bool planned = false, rules = false;
  for (std::size_t idx : ks->shards) {
    const catalog::Shard& sh = current.shards[idx];
    planned = planned || (!sh.serving && catalog::KeyRange::parse(sh.name));
  }
  for (const auto& t : current.tables)
    rules = rules || (t.keyspace == ks->name && t.kind == catalog::TableKind::kSharded);
  if (!planned || !rules) return nullptr;
  auto next = std::make_shared<catalog::Snapshot>(current);
  catalog::Keyspace& k = next->keyspaces[static_cast<std::size_t>(ks - current.keyspaces.data())];
  k.sharded = true;
  std::vector<catalog::KeyRange> serving;
  for (std::size_t idx : k.shards) {
    catalog::Shard& sh = next->shards[idx];
    sh.serving = !sh.serving && catalog::KeyRange::parse(sh.name).has_value();
    if (sh.serving) serving.push_back(sh.range);
  }
  // Gaps among the planned shards (k.shards is ordered by range start).
  k.uncovered.clear();
  std::uint64_t at = 0;
  bool end = false;
  for (const auto& r : serving) {
    if (r.start > at) k.uncovered.push_back(catalog::KeyRange{at, r.start});
    if (!r.end) {
      end = true;
      break;
    }
    at = std::max(at, *r.end);
  }
  if (!end) k.uncovered.push_back(catalog::KeyRange{at, std::nullopt});
  return next;
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
  std::string text(skipSpace(rest));
  router::sql::Parser parser;
  auto parsed = parser.parse(text);
  if (!parsed) return parsed.error().toError();
  catalog::SnapshotPtr snap = snapshot();
  router::Planner planner;
  router::PlanInput in;
  in.snapshot = snap.get();
  in.schema = schema;
  router::SchemaSnapshotPtr tracked = schemaTracker ? schemaTracker->schema() : nullptr;
  in.tracked = tracked.get();
  const router::Plan& plan = planner.plan(parsed.statement(), in);
  TextResultSet rs;
  rs.columns = {"plan", "shard", "role", "backend", "sql", "reason"};
  if (plan.lookup != nullptr) {
    // The route depends on the lookup table's rows: an application session reads it first (the
    // app port's EXPLAIN ROUTE shows the shards it found).
    const catalog::LookupKey& key = *plan.lookup;
    rs.rows.push_back(
        {std::string("lookup"), key.lookupKeyspace + "/-", std::string("primary"), std::string("-"),
         plan.lookupSql,
         fmt::format("lookup key {}.{} ({}): then the shards owning the keyspace IDs found",
                     key.keyspace, key.table, key.column)});
    return rs;
  }
  if (plan.join) {
    rs.rows = detail::explainJoinRows(plan);
    return rs;
  }
  if (plan.kind == router::PlanKind::kError) return plan.error;
  auto healthTable = health();
  auto addRows = [&](const router::Plan& p, const catalog::Snapshot& on, std::string_view prefix) {
    std::string reason(p.reason);
    if (p.kind == router::PlanKind::kMerge) reason += "; " + router::describe(p.merge);
    auto row = [&](std::string shard, std::string role, std::string backend, std::string_view s) {
      rs.rows.push_back({std::string(prefix) + std::string(router::toString(p.kind)),
                         std::move(shard), std::move(role), std::move(backend), std::string(s),
                         reason});
    };
    if (p.targets.empty()) {
      bool session = p.kind == router::PlanKind::kSessionConnection;
      row("-", session ? "session" : "proxy", "-", p.text);
    }
    for (std::size_t i = 0; i < p.targets.size(); ++i) {
      const catalog::Shard& shard = on.shards[p.targets[i].shard];
      auto choice = router::chooseBackend(on, shard, p.role, healthTable.get(), i, nullptr);
      std::string role = "unavailable", address;
      if (choice) {
        role = std::string(catalog::toString(choice->backend->role));
        if (choice->fellBackToPrimary) role += " (no fit replica)";
        address = choice->backend->address.toString();
      } else {
        address = choice.error().message;
      }
      row(shard.keyspace + "/" + shard.name, role, address, p.sqlFor(i));
    }
  };
  addRows(plan, *snap, "");
  // Sharding an unsharded keyspace: also how the statement will route once it is resharded onto
  // its planned shards, so a DBA sees the effect of the shard keys before moving any data.
  if (plan.keyspace != nullptr) {
    if (auto planned = plannedResharding(*snap, plan.keyspace->name)) {
      router::Planner after;
      in.snapshot = planned.get();
      const router::Plan& p = after.plan(parsed.statement(), in);
      if (p.kind == router::PlanKind::kError) {
        rs.rows.push_back({std::string("after resharding: refused"), std::string("-"),
                           std::string("-"), std::string("-"), text, p.error.message});
      } else {
        addRows(p, *planned, "after resharding: ");
      }
    }
  }
  return rs;
}

}  // namespace shardproxy::proxy
