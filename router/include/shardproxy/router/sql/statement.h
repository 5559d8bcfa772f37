// Statements: what a COM_QUERY / COM_STMT_PREPARE text is, once parsed.
// Place in the request flow: Parser::parse() returns one of these; the planner switches on `kind`
// to route it (SELECT / INSERT / UPDATE / DELETE by shard key, transactions and SET through the
// session, DDL to every shard, `Other` passed through to an unsharded keyspace only).
// Like the rest of the AST, a statement lives in its Parser's arena and views the statement text.
#pragma once

#include <cstdint>
#include <string_view>

#include "shardproxy/router/sql/ast.h"

namespace shardproxy::router::sql {

enum class StatementKind : std::uint8_t {
  kSelect,
  kInsert,  // INSERT and REPLACE
  kUpdate,
  kDelete,
  kTransaction,  // BEGIN, START TRANSACTION, COMMIT, ROLLBACK, SAVEPOINT, RELEASE SAVEPOINT
  kSet,
  kUse,
  kShow,
  kDdl,  // CREATE/ALTER/DROP/TRUNCATE/RENAME TABLE, CREATE/DROP INDEX: the header only
  kLockTables,
  kUnlockTables,
  kExplain,  // EXPLAIN / DESCRIBE / DESC of a statement or a table, and EXPLAIN ROUTE
  kOther,    // anything else: lexed to its end, not modelled (firstKeyword says what it is)
};

// An optimizer hint comment, /*+ ... */, anywhere in the statement.
struct Hint {
  std::string_view text;  // between "/*+" and "*/"
};

struct Statement {
  StatementKind kind;
  std::string_view source;        // the whole buffer given to parse(); offsets are relative to it
  std::string_view text;          // this statement, from its first token to its last (no ';')
  std::string_view firstKeyword;  // the first word as written ("select", "FLUSH")
  List<Hint> hints;
  // Every base table the statement names, in text order: FROM items of every query block
  // (subqueries and derived tables included), INSERT/UPDATE/DELETE targets, DDL tables, the
  // table of SHOW COLUMNS / INDEX / CREATE TABLE, LOCK TABLES. WITH query names are included
  // with `cte` set. DELETE t1, t2 FROM ... lists t1 and t2 in DeleteStatement::targets only.
  List<TableName> tables;
  std::uint32_t placeholderCount = 0;

  template <typename T>
  const T* as() const {
    return kind == T::kKind ? static_cast<const T*>(this) : nullptr;
  }
  // Byte offset of a view into this statement's buffer (a node's text).
  std::size_t offsetOf(std::string_view part) const {
    return static_cast<std::size_t>(part.data() - source.data());
  }

 protected:
  explicit Statement(StatementKind k) : kind(k) {}
};

struct SelectStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kSelect;
  SelectStatement() : Statement(kKind) {}
  const Query* query = nullptr;
};

struct Assignment {
  const Column* column = nullptr;
  const Expr* value = nullptr;  // a Word "DEFAULT" for = DEFAULT
  std::string_view text;
};

struct InsertRow {
  ExprList values;
  std::string_view text;  // "(1, 'a', ?)" with its parentheses
};

enum class InsertSource : std::uint8_t { kValues, kSet, kSelect };

struct InsertStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kInsert;
  InsertStatement() : Statement(kKind) {}
  bool replace = false;
  bool ignore = false;
  std::string_view priority;  // LOW_PRIORITY / DELAYED / HIGH_PRIORITY as written
  const TableName* table = nullptr;
  List<Column> columns;  // the column list; empty when absent or "()"
  InsertSource source = InsertSource::kValues;
  List<InsertRow> rows;
  // From the first row's "(" to the last row's ")": the statement is
  // source[text.begin, rowsText.begin) + rows + source[rowsText.end, text.end).
  std::string_view rowsText;
  Ident rowAlias;  // VALUES (...) AS new
  List<Ident> rowAliasColumns;
  List<Assignment> set;  // INSERT ... SET a = 1
  const Query* select = nullptr;
  List<Assignment> onDuplicate;
};

struct UpdateStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kUpdate;
  UpdateStatement() : Statement(kKind) {}
  bool ignore = false;
  bool lowPriority = false;
  List<TableRef> tableRefs;  // one BaseTable for a single-table UPDATE
  List<Assignment> set;
  const Expr* where = nullptr;
  OrderList orderBy;
  const Limit* limit = nullptr;
  bool multiTable() const {
    return tableRefs.size() != 1 || tableRefs[0]->kind != TableRefKind::kTable;
  }
};

struct DeleteStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kDelete;
  DeleteStatement() : Statement(kKind) {}
  bool ignore = false;
  bool quick = false;
  bool lowPriority = false;
  bool multiTable = false;
  // The tables rows are deleted from. Single-table: the FROM table. Multi-table: the names
  // before FROM (or after FROM with USING), which refer to tables or aliases of `from`.
  List<TableName> targets;
  List<TableRef> from;  // multi-table: the table references; single-table: one BaseTable
  const Expr* where = nullptr;
  OrderList orderBy;             // single-table only
  const Limit* limit = nullptr;  // single-table only
};

enum class TransactionAction : std::uint8_t {
  kBegin,  // BEGIN [WORK]
  kStart,  // START TRANSACTION [characteristics]
  kCommit,
  kRollback,
  kRollbackToSavepoint,  // ROLLBACK [WORK] TO [SAVEPOINT] name
  kSavepoint,
  kReleaseSavepoint,
};

enum class AccessMode : std::uint8_t { kDefault, kReadOnly, kReadWrite };
enum class Toggle : std::uint8_t { kDefault, kYes, kNo };  // AND [NO] CHAIN, [NO] RELEASE

struct TransactionStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kTransaction;
  TransactionStatement() : Statement(kKind) {}
  TransactionAction action = TransactionAction::kBegin;
  AccessMode access = AccessMode::kDefault;
  bool consistentSnapshot = false;
  Ident savepoint;
  Toggle chain = Toggle::kDefault;
  Toggle release = Toggle::kDefault;
};

enum class SetItemKind : std::uint8_t {
  kVariable,     // [GLOBAL|SESSION|...] name = value, @@[scope.]name = value, @user = value
  kNames,        // SET NAMES cs [COLLATE c] | SET NAMES DEFAULT
  kCharset,      // SET CHARACTER SET cs | SET CHARSET cs
  kTransaction,  // SET [GLOBAL|SESSION] TRANSACTION ISOLATION LEVEL ... | READ ONLY | READ WRITE
};

struct SetItem {
  SetItemKind kind = SetItemKind::kVariable;
  VarScope scope = VarScope::kNone;  // from a leading GLOBAL/SESSION/... or @@scope.
  bool userVariable = false;         // @name
  bool systemSyntax = false;         // written @@name
  Ident name;                        // the variable ("sql_mode", "x" for @x); empty otherwise
  const Expr* value = nullptr;       // kVariable; a Word for ON / DEFAULT / ALL / ...
  std::string_view valueText;        // the value as written
  Ident charset;                     // kNames / kCharset ("DEFAULT" is kept as written)
  Ident collation;                   // kNames
  std::string_view isolation;        // kTransaction: "REPEATABLE READ" as written
  AccessMode access = AccessMode::kDefault;  // kTransaction
  std::string_view text;                     // the whole item
};

struct SetStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kSet;
  SetStatement() : Statement(kKind) {}
  List<SetItem> items;
};

struct UseStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kUse;
  UseStatement() : Statement(kKind) {}
  Ident database;
};

enum class ShowKind : std::uint8_t {
  kTables,
  kTableStatus,
  kColumns,
  kIndex,
  kCreateTable,
  kCreateView,
  kCreateDatabase,
  kCreateOther,  // SHOW CREATE PROCEDURE / FUNCTION / TRIGGER / EVENT / USER ...
  kDatabases,
  kVariables,
  kStatus,
  kWarnings,
  kErrors,
  kProcesslist,
  kGrants,
  kCharset,
  kCollation,
  kEngines,
  kOpenTables,
  kTriggers,
  kOther,
};

struct ShowStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kShow;
  ShowStatement() : Statement(kKind) {}
  ShowKind show = ShowKind::kOther;
  std::string_view kindText;  // the words naming what is shown: "TABLES", "CREATE TABLE", ...
  VarScope scope = VarScope::kNone;  // SHOW GLOBAL / SESSION VARIABLES / STATUS
  bool full = false;
  const TableName* table = nullptr;  // SHOW COLUMNS / INDEX FROM t, SHOW CREATE TABLE / VIEW t
  Ident object;                      // SHOW CREATE DATABASE db / PROCEDURE p ...: the name
  Ident database;                    // FROM / IN db
  const Literal* like = nullptr;
  const Expr* where = nullptr;
  std::string_view rest;  // anything after that the grammar does not model (LIMIT, FOR user ...)
};

enum class DdlAction : std::uint8_t { kCreate, kAlter, kDrop, kTruncate, kRename };
enum class DdlObject : std::uint8_t { kTable, kIndex };

struct DdlStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kDdl;
  DdlStatement() : Statement(kKind) {}
  DdlAction action = DdlAction::kCreate;
  DdlObject object = DdlObject::kTable;
  bool temporary = false;
  bool ifExists = false;       // DROP ... IF EXISTS
  bool ifNotExists = false;    // CREATE ... IF NOT EXISTS
  bool orReplace = false;      // MariaDB CREATE OR REPLACE
  std::string_view indexKind;  // UNIQUE / FULLTEXT / SPATIAL as written
  Ident index;                 // CREATE / DROP INDEX name
  // The tables named, in order (also in Statement::tables): for RENAME the old and new names
  // alternate; CREATE TABLE t LIKE s names t then s.
  List<TableName> targets;
  std::string_view body;  // the rest of the statement as written (not modelled)
};

struct LockedTable {
  const TableName* table = nullptr;
  bool write = false;
  std::string_view mode;  // READ / READ LOCAL / WRITE / LOW_PRIORITY WRITE as written
};

struct LockTablesStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kLockTables;
  LockTablesStatement() : Statement(kKind) {}
  List<LockedTable> locks;
};

struct UnlockTablesStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kUnlockTables;
  UnlockTablesStatement() : Statement(kKind) {}
};

struct ExplainStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kExplain;
  ExplainStatement() : Statement(kKind) {}
  bool route = false;       // EXPLAIN ROUTE <statement>: the proxy's own plan, not the server's
  bool analyze = false;     // EXPLAIN ANALYZE
  std::string_view format;  // FORMAT=JSON -> "JSON"
  const Statement* explained = nullptr;  // EXPLAIN <statement>
  const TableName* table = nullptr;      // EXPLAIN / DESCRIBE <table> [column]
  std::string_view column;
  std::string_view rest;  // EXPLAIN FOR CONNECTION n ...
};

struct OtherStatement : Statement {
  static constexpr StatementKind kKind = StatementKind::kOther;
  OtherStatement() : Statement(kKind) {}
};

}  // namespace shardproxy::router::sql
