// The admin grammar of high availability (docs/admin-sql.md, "High availability"):
//   SWITCHOVER SHARD ks.shard [TO 'host:port'] [TIMEOUT seconds]
//   SET KEYSPACE ks AUTO FAILOVER ON | OFF
#include "admin_grammar.h"

namespace shardproxy::router::admin {

// SWITCHOVER SHARD ks.shard [TO 'host:port'] [TIMEOUT seconds]
std::optional<AdminStatement> parseSwitchover(AdminCursor& c) {
  Switchover s;
  if (!c.expect("SHARD", "expected SHARD keyspace.shard") ||
      !c.qualified(s.keyspace, s.shard, "shard name", true)) {
    return std::nullopt;
  }
  c.setTrailingHint("TO 'host:port', TIMEOUT seconds or end of statement");
  if (c.accept("TO")) {
    c.setTrailingHint({});
    if (!c.address(s.candidate.emplace())) return std::nullopt;
    c.setTrailingHint("TIMEOUT seconds or end of statement");
  }
  if (c.accept("TIMEOUT")) {
    c.setTrailingHint({});
    if (!c.seconds(s.timeoutMs.emplace())) return std::nullopt;
  }
  return s;
}

// SET KEYSPACE ks AUTO FAILOVER ON | OFF
std::optional<AdminStatement> parseSetKeyspace(AdminCursor& c) {
  SetAutoFailover s;
  if (!c.name(s.keyspace, "keyspace name") ||
      !c.expect("AUTO", "expected AUTO FAILOVER ON | OFF") ||
      !c.expect("FAILOVER", "expected AUTO FAILOVER ON | OFF")) {
    return std::nullopt;
  }
  if (c.accept("ON")) {
    s.on = true;
  } else if (c.accept("OFF")) {
    s.on = false;
  } else {
    c.fail("expected ON or OFF");
    return std::nullopt;
  }
  return s;
}

}  // namespace shardproxy::router::admin
