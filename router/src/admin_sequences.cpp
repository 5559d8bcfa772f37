// The grammar of global sequences on the admin port (docs/admin-sql.md, "Sequences"):
//   CREATE SEQUENCE FOR ks.t (column) [START [WITH | =] n] [CACHE [=] n]
//   DROP SEQUENCE FOR ks.t
//   SHOW SEQUENCES [FROM | IN ks]
#include <cstdint>

#include "admin_grammar.h"
#include "admin_terms.h"

namespace shardproxy::router::admin {
namespace {

using Kind = Token::Kind;
using Statement = std::optional<AdminStatement>;

constexpr std::uint32_t kMaxCache = 1000000;

// MariaDB's own CREATE SEQUENCE names a free-standing object; ours belongs to a table.
bool forTable(AdminCursor& c, std::string& keyspace, std::string& table) {
  if (!c.expect("FOR",
                "expected FOR keyspace.table (a shardproxy sequence generates a column of a "
                "sharded table: CREATE SEQUENCE FOR ks.t (column))")) {
    return false;
  }
  return c.qualified(keyspace, table, "table name");
}

// START [WITH | =] n: 1 to 9223372036854775807.
bool startValue(AdminCursor& c, std::int64_t& out) {
  if (!c.accept("WITH") && c.token().isSymbol('=')) c.advance();
  const Token& t = c.token();
  if (t.kind != Kind::kNumber) return c.fail("expected the START WITH value (a number)");
  if (!parsePositiveInt64(t.raw, out)) {
    return c.fail("START WITH must be between 1 and 9223372036854775807");
  }
  c.advance();
  return true;
}

// CACHE [=] n: values reserved per block, 1 to kMaxCache.
bool cacheSize(AdminCursor& c, std::uint32_t& out) {
  if (c.token().isSymbol('=')) c.advance();
  const Token& t = c.token();
  if (t.kind != Kind::kNumber) return c.fail("expected the CACHE size (a number)");
  if (!parseUint32(t.raw, out) || out < 1 || out > kMaxCache) {
    return c.fail("CACHE must be between 1 and " + std::to_string(kMaxCache));
  }
  c.advance();
  return true;
}

}  // namespace

Statement parseCreateSequence(AdminCursor& c) {
  CreateSequence s;
  if (!forTable(c, s.keyspace, s.table) ||
      !c.expectSymbol('(', "expected '(' and the column the sequence generates") ||
      !c.name(s.column, "column name") ||
      !c.expectSymbol(')', "expected ')' (a sequence generates one column)")) {
    return std::nullopt;
  }
  for (;;) {
    c.setTrailingHint("START WITH n, CACHE n or end of statement");
    const std::size_t at = c.token().begin;
    if (c.accept("START")) {
      if (s.start) {
        c.failAt(at, "duplicate START WITH clause");
        return std::nullopt;
      }
      if (!startValue(c, s.start.emplace())) return std::nullopt;
    } else if (c.accept("CACHE")) {
      if (s.cache) {
        c.failAt(at, "duplicate CACHE clause");
        return std::nullopt;
      }
      if (!cacheSize(c, s.cache.emplace())) return std::nullopt;
    } else {
      return s;
    }
  }
}

Statement parseDropSequence(AdminCursor& c) {
  DropSequence s;
  if (!forTable(c, s.keyspace, s.table)) return std::nullopt;
  return s;
}

Statement parseShowSequences(AdminCursor& c) {
  ShowSequences s;
  if (!c.optionalFrom(s.keyspace)) return std::nullopt;
  return s;
}

}  // namespace shardproxy::router::admin
