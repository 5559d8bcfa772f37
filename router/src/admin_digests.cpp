// The admin grammar of query digests (docs/admin-sql.md, "Query digests"):
//   SHOW QUERY DIGEST [ORDER BY total_time | count | scatter] [LIMIT n]
//   RESET QUERY DIGEST
//   SHOW SHARD KEY ADVICE [FOR keyspace]
#include "admin_grammar.h"

namespace shardproxy::router::admin {

// After SHOW QUERY.
std::optional<AdminStatement> parseShowQueryDigest(AdminCursor& c) {
  ShowQueryDigest s;
  if (!c.expect("DIGEST", "expected DIGEST after SHOW QUERY")) return std::nullopt;
  c.setTrailingHint("ORDER BY, LIMIT or end of statement");
  if (c.accept("ORDER")) {
    c.setTrailingHint({});
    if (!c.expect("BY", "expected BY after ORDER")) return std::nullopt;
    if (c.accept("TOTAL_TIME")) {
      s.order = DigestOrder::kTotalTime;
    } else if (c.accept("COUNT")) {
      s.order = DigestOrder::kCount;
    } else if (c.accept("SCATTER")) {
      s.order = DigestOrder::kScatter;
    } else {
      c.fail("expected total_time, count or scatter after ORDER BY");
      return std::nullopt;
    }
    c.setTrailingHint("LIMIT or end of statement");
  }
  if (c.accept("LIMIT")) {
    c.setTrailingHint({});
    if (!c.number(s.limit.emplace(), "row count")) return std::nullopt;
  }
  return s;
}

// After RESET QUERY.
std::optional<AdminStatement> parseResetQueryDigest(AdminCursor& c) {
  if (!c.expect("DIGEST", "expected DIGEST after RESET QUERY")) return std::nullopt;
  return ResetQueryDigest{};
}

// At SHOW SHARD (the next words KEY ADVICE).
std::optional<AdminStatement> parseShowShardKeyAdvice(AdminCursor& c) {
  ShowShardKeyAdvice s;
  if (!c.expect("SHARD") || !c.expect("KEY", "expected KEY ADVICE after SHOW SHARD") ||
      !c.expect("ADVICE", "expected ADVICE after SHOW SHARD KEY")) {
    return std::nullopt;
  }
  c.setTrailingHint("FOR keyspace or end of statement");
  if (c.accept("FOR")) {
    c.setTrailingHint({});
    if (!c.name(s.keyspace.emplace(), "keyspace name")) return std::nullopt;
  }
  return s;
}

}  // namespace shardproxy::router::admin
