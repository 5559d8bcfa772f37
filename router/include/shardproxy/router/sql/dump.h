// A compact S-expression rendering of the AST, for tests, logs and EXPLAIN ROUTE output.
// Place in the request flow: off the hot path (it allocates a std::string). Precedence shows as
// nesting: `a + b * c` dumps as "(+ a (* b c))", placeholders as "?0", "?1" in text order.
#pragma once

#include <string>

#include "shardproxy/router/sql/statement.h"

namespace shardproxy::router::sql {

std::string dump(const Expr* expr);
std::string dump(const Query* query);
std::string dump(const TableRef* table);
std::string dump(const Statement& statement);

}  // namespace shardproxy::router::sql
