// The grammar of lookup keys on the admin port (docs/admin-sql.md, "Lookup keys"):
//   CREATE LOOKUP KEY ks.t (column) [UNIQUE] [IN keyspace]
//   DROP LOOKUP KEY ks.t (column)
//   SHOW LOOKUP KEYS [FROM | IN ks]
#include "admin_grammar.h"
#include "admin_terms.h"

namespace shardproxy::router::admin {
namespace {

using Statement = std::optional<AdminStatement>;

// KEY ks.t (column): the words after LOOKUP common to CREATE and DROP.
bool keyOf(AdminCursor& c, std::string& keyspace, std::string& table, std::string& column) {
  return c.expect("KEY", "expected KEY keyspace.table (column)") &&
         c.qualified(keyspace, table, "table name") &&
         c.expectSymbol('(', "expected '(' and the column the lookup key maps") &&
         c.name(column, "column name") &&
         c.expectSymbol(')', "expected ')' (a lookup key maps one column)");
}

}  // namespace

Statement parseCreateLookupKey(AdminCursor& c) {
  CreateLookupKey s;
  if (!keyOf(c, s.keyspace, s.table, s.column)) return std::nullopt;
  for (;;) {
    c.setTrailingHint("UNIQUE, IN keyspace or end of statement");
    const std::size_t at = c.token().begin;
    if (c.accept("UNIQUE")) {
      if (s.unique) {
        c.failAt(at, "duplicate UNIQUE");
        return std::nullopt;
      }
      s.unique = true;
    } else if (c.accept("IN")) {
      if (!s.lookupKeyspace.empty()) {
        c.failAt(at, "duplicate IN clause");
        return std::nullopt;
      }
      if (!c.name(s.lookupKeyspace, "keyspace name")) return std::nullopt;
    } else {
      return s;
    }
  }
}

Statement parseDropLookupKey(AdminCursor& c) {
  DropLookupKey s;
  if (!keyOf(c, s.keyspace, s.table, s.column)) return std::nullopt;
  return s;
}

Statement parseShowLookupKeys(AdminCursor& c) {
  ShowLookupKeys s;
  if (!c.expect("KEYS", "expected KEYS after SHOW LOOKUP") || !c.optionalFrom(s.keyspace)) {
    return std::nullopt;
  }
  return s;
}

}  // namespace shardproxy::router::admin
