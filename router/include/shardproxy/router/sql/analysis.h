// Questions the planner asks of a parsed statement: pure functions over the AST.
// Place in the request flow: after Parser::parse(), the planner looks for the shard key in WHERE
// (keyConjuncts), resolves column qualifiers to tables (resolveTable), checks whether a
// multi-shard read can be a plain concatenation (shapeOf), and reads routing hints
// (routingHints). None of them allocates, except keyConjuncts() growing its output vector the
// first time (pass the same vector every time).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/router/sql/lexer.h"
#include "shardproxy/router/sql/statement.h"

namespace shardproxy::router::sql {

// What makes a multi-shard read more than the concatenation of each shard's rows.
struct QueryShape {
  bool aggregate = false;  // an aggregate call (COUNT, SUM, ...) in a top-level block
  bool groupBy = false;
  bool having = false;
  bool orderBy = false;
  bool limit = false;
  bool distinct = false;               // SELECT DISTINCT, or a set operation without ALL
  bool setOperation = false;           // UNION / EXCEPT / INTERSECT
  bool window = false;                 // a window function call
  bool subquery = false;               // a subquery in an expression of a top-level block
  bool derivedTable = false;           // a subquery in FROM
  bool calcFoundRows = false;          // SQL_CALC_FOUND_ROWS
  LockMode locking = LockMode::kNone;  // the strongest locking clause

  // True when the answer over several shards is the plain union of the shards' rows.
  bool concatenable() const {
    return !aggregate && !groupBy && !having && !orderBy && !limit && !distinct && !window &&
           !calcFoundRows && !(setOperation && distinct);
  }
};

// The shape of a query expression's top level (the blocks of a set operation included; blocks
// nested in subqueries and derived tables count only through `subquery` / `derivedTable`).
QueryShape shapeOf(const Query& query);
// SELECT: its query; INSERT ... SELECT: the SELECT; UPDATE / DELETE: ORDER BY and LIMIT;
// EXPLAIN: the explained statement; anything else: an empty shape.
QueryShape shapeOf(const Statement& statement);

// A literal the planner can hash (anything but NULL, folded negative numbers included) or a
// placeholder (bound at COM_STMT_EXECUTE).
bool isRoutableValue(const Expr* e);

enum class KeyMatch : std::uint8_t {
  kEquals,   // column = value, value = column, column <=> value, (a, b) = (1, 2) per column
  kIn,       // column IN (value, ...)
  kColumns,  // column = column (joins on the shard key)
};

struct KeyConjunct {
  KeyMatch match = KeyMatch::kEquals;
  const Column* column = nullptr;
  ExprList values;                // kEquals: one value; kIn: the list; each isRoutableValue()
  const Column* other = nullptr;  // kColumns
  const Expr* source = nullptr;   // the comparison / IN node (text to rewrite an IN list)
};

// Appends to `out` (after clearing it) the conjuncts of `where` reachable through AND only that
// compare a column with routable values or with another column. Conjuncts under OR or NOT, with
// computed values, NOT IN, or IN (subquery) are left out: the planner must not narrow shards by
// them. `where` may be null.
void keyConjuncts(const Expr* where, std::vector<KeyConjunct>& out);

// Appends the base tables of `refs` (a block's FROM, an UPDATE's tables, a DELETE's FROM),
// walking joins but not into derived tables: the tables a column of that block can refer to.
void tablesIn(List<TableRef> refs, std::vector<const TableName*>& out);

// The table a column belongs to among `tables` (Statement::tables, or a block's own from tablesIn):
// a qualified column matches an alias, else a table name (and its db when the column has one);
// an unqualified column is resolved only when exactly one non-CTE table is listed. nullptr when
// it cannot be decided from the text alone.
const TableName* resolveTable(List<TableName> tables, const Column& column);

// The proxy's own optimizer hints: /*+ SHARD(name) */ and /*+ PRIMARY */ (in any /*+ */ comment
// of the statement, alongside MySQL's own hints, case-insensitive).
struct RoutingHints {
  std::string_view shard;  // the text inside SHARD(...), trimmed; empty if absent
  bool primary = false;
};
RoutingHints routingHints(const Statement& statement);

// `sql` with every CONNECTION_ID() written as `id` into `out` (false, `out` untouched, when there
// is none): the client's connection id is the proxy's, not a backend thread's. A select-list item
// that is the call alone, without an alias, keeps its column name (`12 AS `CONNECTION_ID()``).
bool withConnectionId(std::string_view sql, std::uint32_t id, const LexOptions& options,
                      std::string& out);

// `bytes` as a quoted string literal the server reads back as the same bytes under `options`
// (the session's character set and sql_mode): a multibyte character's trailing byte is never
// taken for a backslash or a quote. Appended to `out`.
// The statement reads information_schema.PROCESSLIST (any case, backquoted or not), or is
// SHOW [FULL] PROCESSLIST.
bool readsProcesslist(const Statement& statement);
// `sql` with every information_schema.PROCESSLIST replaced by `(derived)` (named PROCESSLIST
// unless the statement gives it an alias), and SHOW [FULL] PROCESSLIST by a SELECT of the same
// columns from it (INFO cut to 100 characters without FULL). False when there is none.
bool withProcesslist(std::string_view sql, std::string_view derived, const LexOptions& options,
                     std::string& out);

void appendStringLiteral(std::string_view bytes, const LexOptions& options, std::string& out);

}  // namespace shardproxy::router::sql
