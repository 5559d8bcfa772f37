// The SQL AST: expressions, table references and query expressions.
// Place in the request flow: the Parser builds these in its ParseArena; the planner reads them
// (see analysis.h for the questions it asks). Every node keeps `text`, its slice of the statement
// buffer, so a plan can rebuild per-shard SQL by splicing the original text. Names and literals
// are views into the buffer too, except when they had escapes to decode (then the decoded copy
// lives in the arena). Nothing here owns memory: a tree is valid while its Parser has not parsed
// another statement and the statement buffer lives.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace shardproxy::router::sql {

template <typename T>
using List = std::span<const T* const>;

// A name as written: plain, `back quoted` (or "double quoted" under ANSI_QUOTES), or, where the
// grammar allows it (aliases), a 'string'.
struct Ident {
  std::string_view name;  // decoded
  std::string_view text;  // as written, quotes included; empty when absent
  bool quoted = false;
  bool empty() const { return text.empty(); }
};

enum class ExprKind : std::uint8_t {
  kLiteral,
  kColumn,
  kStar,
  kPlaceholder,
  kVariable,
  kUnary,
  kBinary,
  kLogical,
  kIs,
  kLike,
  kIn,
  kBetween,
  kFunction,
  kCase,
  kCast,
  kInterval,
  kExists,
  kSubquery,
  kRow,
  kCollate,
  kWord,
  kMatch,
};

struct Expr {
  ExprKind kind;
  std::uint16_t height = 1;  // 1 for a leaf; see ParseOptions::maxHeight
  std::string_view text;

  template <typename T>
  const T* as() const {
    return kind == T::kKind ? static_cast<const T*>(this) : nullptr;
  }

 protected:
  explicit Expr(ExprKind k) : kind(k) {}
};
using ExprList = List<Expr>;

struct Query;

enum class LiteralType : std::uint8_t {
  kNull,
  kTrue,
  kFalse,
  kInteger,   // fits 64 bits: `negative` and `magnitude`
  kDecimal,   // exact decimal, or an integer too large for 64 bits; `value` holds the digits
  kFloat,     // with an exponent
  kString,    // `value` is decoded; adjacent literals ('a' 'b') are joined
  kHex,       // X'..' or 0x..: `value` holds the hex digits
  kBits,      // B'..' or 0b..: `value` holds the binary digits
  kTemporal,  // DATE '...', TIME '...', TIMESTAMP '...': `value` is the string, `temporal` the type
};

struct Literal : Expr {
  static constexpr ExprKind kKind = ExprKind::kLiteral;
  Literal() : Expr(kKind) {}
  LiteralType type = LiteralType::kNull;
  bool negative = false;        // a unary minus folded into the number
  bool national = false;        // N'...'
  std::uint64_t magnitude = 0;  // kInteger
  std::string_view value;
  std::string_view charset;   // introducer without its underscore: _utf8mb4'x' -> "utf8mb4"
  std::string_view temporal;  // DATE / TIME / TIMESTAMP as written

  // kInteger values that fit a signed 64-bit integer.
  std::optional<std::int64_t> asInt64() const;
  // kInteger values that are not negative.
  std::optional<std::uint64_t> asUint64() const;
};

// `col`, `tbl.col`, `db.tbl.col`.
struct Column : Expr {
  static constexpr ExprKind kKind = ExprKind::kColumn;
  Column() : Expr(kKind) {}
  Ident db;
  Ident table;
  Ident column;
};

// `*`, `tbl.*`, `db.tbl.*` (select lists, COUNT(*) is a Function flag instead).
struct Star : Expr {
  static constexpr ExprKind kKind = ExprKind::kStar;
  Star() : Expr(kKind) {}
  Ident db;
  Ident table;
};

struct Placeholder : Expr {
  static constexpr ExprKind kKind = ExprKind::kPlaceholder;
  Placeholder() : Expr(kKind) {}
  std::uint32_t index = 0;  // 0-based, in text order: the COM_STMT_EXECUTE parameter number
};

enum class VarScope : std::uint8_t { kNone, kGlobal, kSession, kLocal, kPersist, kPersistOnly };

// @user or @@[scope.]system.
struct Variable : Expr {
  static constexpr ExprKind kKind = ExprKind::kVariable;
  Variable() : Expr(kKind) {}
  bool system = false;
  VarScope scope = VarScope::kNone;
  Ident name;  // without @ / @@ and scope; a component variable keeps its dot: "comp.var"
};

enum class UnaryOp : std::uint8_t { kNeg, kPlus, kBitNot, kNot, kBinary };

struct Unary : Expr {
  static constexpr ExprKind kKind = ExprKind::kUnary;
  Unary() : Expr(kKind) {}
  UnaryOp op = UnaryOp::kNot;
  const Expr* operand = nullptr;
};

enum class BinaryOp : std::uint8_t {
  kXor,
  kEq,
  kNullSafeEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kBitOr,
  kBitAnd,
  kShl,
  kShr,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kIntDiv,              // DIV
  kMod,                 // % MOD
  kBitXor,              // ^
  kConcat,              // || under PIPES_AS_CONCAT
  kAssign,              // :=
  kJsonExtract,         // ->
  kJsonUnquoteExtract,  // ->>
  kSoundsLike,
  kMemberOf,
};

enum class Quantifier : std::uint8_t { kNone, kAny, kAll };  // x = ANY (subquery)

struct Binary : Expr {
  static constexpr ExprKind kKind = ExprKind::kBinary;
  Binary() : Expr(kKind) {}
  BinaryOp op = BinaryOp::kEq;
  Quantifier quantifier = Quantifier::kNone;
  const Expr* left = nullptr;
  const Expr* right = nullptr;  // a Subquery when quantified
};

enum class LogicalOp : std::uint8_t { kAnd, kOr };

// AND / && and OR / || chains are flat: a OR b OR c is one node with three operands.
struct Logical : Expr {
  static constexpr ExprKind kKind = ExprKind::kLogical;
  Logical() : Expr(kKind) {}
  LogicalOp op = LogicalOp::kAnd;
  ExprList operands;
};

enum class IsWhat : std::uint8_t { kNull, kTrue, kFalse, kUnknown };

struct IsTest : Expr {
  static constexpr ExprKind kKind = ExprKind::kIs;
  IsTest() : Expr(kKind) {}
  const Expr* operand = nullptr;
  IsWhat what = IsWhat::kNull;
  bool negated = false;
};

struct Like : Expr {
  static constexpr ExprKind kKind = ExprKind::kLike;
  Like() : Expr(kKind) {}
  const Expr* operand = nullptr;
  const Expr* pattern = nullptr;
  const Expr* escape = nullptr;
  bool negated = false;
  bool regexp = false;  // REGEXP / RLIKE
};

struct In : Expr {
  static constexpr ExprKind kKind = ExprKind::kIn;
  In() : Expr(kKind) {}
  const Expr* operand = nullptr;
  ExprList list;  // empty when `subquery` is set
  const Query* subquery = nullptr;
  bool negated = false;
  std::string_view listText;  // "(1, 2, ?)" with its parentheses, for rebuilding per-shard lists
};

struct Between : Expr {
  static constexpr ExprKind kKind = ExprKind::kBetween;
  Between() : Expr(kKind) {}
  const Expr* operand = nullptr;
  const Expr* low = nullptr;
  const Expr* high = nullptr;
  bool negated = false;
};

struct OrderItem {
  const Expr* expr = nullptr;
  bool desc = false;
  std::string_view text;
};
using OrderList = List<OrderItem>;

struct Limit;

struct Function : Expr {
  static constexpr ExprKind kKind = ExprKind::kFunction;
  Function() : Expr(kKind) {}
  Ident qualifier;  // db.func()
  Ident name;
  ExprList args;
  bool star = false;       // COUNT(*)
  bool distinct = false;   // COUNT(DISTINCT x), GROUP_CONCAT(DISTINCT ...)
  bool aggregate = false;  // a group aggregate (not set for window calls: they have `over`)
  bool noParens = false;   // CURRENT_TIMESTAMP without ()
  // Keyword arguments as written: TRIM(LEADING ...), CHAR(... USING cs), the unit of EXTRACT.
  std::string_view modifier;
  OrderList orderBy;                // GROUP_CONCAT(... ORDER BY ...)
  const Expr* separator = nullptr;  // GROUP_CONCAT(... SEPARATOR ',')
  const Limit* limit = nullptr;     // GROUP_CONCAT / JSON_ARRAYAGG(... LIMIT n)
  std::string_view over;            // window: "w" or "(PARTITION BY ...)" as written; empty if none
};

struct WhenClause {
  const Expr* when = nullptr;
  const Expr* then = nullptr;
};

struct Case : Expr {
  static constexpr ExprKind kKind = ExprKind::kCase;
  Case() : Expr(kKind) {}
  const Expr* operand = nullptr;  // CASE x WHEN ...; null for CASE WHEN cond ...
  List<WhenClause> whens;
  const Expr* elseExpr = nullptr;
};

// CAST(x AS type), CONVERT(x, type), CONVERT(x USING charset).
struct Cast : Expr {
  static constexpr ExprKind kKind = ExprKind::kCast;
  Cast() : Expr(kKind) {}
  const Expr* operand = nullptr;
  std::string_view type;     // "UNSIGNED", "CHAR(10) CHARACTER SET utf8mb4" as written
  std::string_view charset;  // CONVERT ... USING
  bool convert = false;
};

struct Interval : Expr {
  static constexpr ExprKind kKind = ExprKind::kInterval;
  Interval() : Expr(kKind) {}
  const Expr* operand = nullptr;
  std::string_view unit;  // DAY, HOUR_MINUTE, ... as written
};

struct Exists : Expr {
  static constexpr ExprKind kKind = ExprKind::kExists;
  Exists() : Expr(kKind) {}
  const Query* query = nullptr;
};

struct Subquery : Expr {
  static constexpr ExprKind kKind = ExprKind::kSubquery;
  Subquery() : Expr(kKind) {}
  const Query* query = nullptr;
};

// (a, b) or ROW(a, b).
struct Row : Expr {
  static constexpr ExprKind kKind = ExprKind::kRow;
  Row() : Expr(kKind) {}
  ExprList items;
};

struct Collate : Expr {
  static constexpr ExprKind kKind = ExprKind::kCollate;
  Collate() : Expr(kKind) {}
  const Expr* operand = nullptr;
  Ident collation;
};

// A keyword standing for a value: DEFAULT (INSERT rows, SET), ON / ALL / BINARY / ROW / SYSTEM
// (SET values), an EXTRACT unit.
struct Word : Expr {
  static constexpr ExprKind kKind = ExprKind::kWord;
  Word() : Expr(kKind) {}
  std::string_view word;
};

// MATCH (col, ...) AGAINST (expr [modifier]).
struct Match : Expr {
  static constexpr ExprKind kKind = ExprKind::kMatch;
  Match() : Expr(kKind) {}
  ExprList columns;
  const Expr* against = nullptr;
  std::string_view modifier;  // "IN BOOLEAN MODE" as written
};

// ------------------------------------------------------------------ tables

// A base table as a statement names it.
struct TableName {
  Ident db;  // empty when unqualified (the session's current schema)
  Ident name;
  Ident alias;
  bool cte = false;             // the name refers to a WITH query of the statement, not a table
  std::string_view text;        // "db.tbl AS t" through the alias
  std::string_view partitions;  // "PARTITION (p0, p1)" as written
  std::string_view indexHints;  // "USE INDEX (k) FORCE KEY (j)" as written
};

enum class TableRefKind : std::uint8_t { kTable, kDerived, kJoin };

struct TableRef {
  TableRefKind kind;
  std::uint16_t height = 1;
  std::string_view text;

  template <typename T>
  const T* as() const {
    return kind == T::kKind ? static_cast<const T*>(this) : nullptr;
  }

 protected:
  explicit TableRef(TableRefKind k) : kind(k) {}
};

struct BaseTable : TableRef {
  static constexpr TableRefKind kKind = TableRefKind::kTable;
  BaseTable() : TableRef(kKind) {}
  const TableName* table = nullptr;
};

struct DerivedTable : TableRef {
  static constexpr TableRefKind kKind = TableRefKind::kDerived;
  DerivedTable() : TableRef(kKind) {}
  const Query* query = nullptr;
  Ident alias;
  List<Ident> columns;  // (a, b) after the alias
  bool lateral = false;
};

enum class JoinKind : std::uint8_t {
  kComma,  // only inside parentheses: FROM (a, b) JOIN c
  kInner,  // JOIN, INNER JOIN
  kCross,
  kStraight,
  kLeft,
  kRight,
  kNatural,
  kNaturalLeft,
  kNaturalRight,
};

struct Join : TableRef {
  static constexpr TableRefKind kKind = TableRefKind::kJoin;
  Join() : TableRef(kKind) {}
  JoinKind join = JoinKind::kInner;
  const TableRef* left = nullptr;
  const TableRef* right = nullptr;
  const Expr* on = nullptr;
  List<Ident> usingColumns;
};

// ------------------------------------------------------------------ queries

struct Limit {
  const Expr* count = nullptr;   // an integer Literal, a Placeholder, or a routine variable Column
  const Expr* offset = nullptr;  // LIMIT o, n  or  LIMIT n OFFSET o
  std::string_view text;
};

enum class LockMode : std::uint8_t { kNone, kForUpdate, kForShare, kLockInShareMode };

struct Locking {
  LockMode mode = LockMode::kNone;
  bool nowait = false;
  bool skipLocked = false;
  std::string_view text;
};

struct Cte {
  Ident name;
  List<Ident> columns;
  const Query* query = nullptr;
};

struct SelectItem {
  const Expr* expr = nullptr;  // a Star for * and t.*
  Ident alias;
  std::string_view text;
};

enum class QueryKind : std::uint8_t { kSelect, kSetOperation };

// A query expression: a SELECT block, or blocks combined with UNION / EXCEPT / INTERSECT.
// ORDER BY, LIMIT and the locking clause that follow the last block of a set operation belong to
// the SetOperation; a parenthesised block keeps its own.
struct Query {
  QueryKind kind;
  std::uint16_t height = 1;
  std::string_view text;
  List<Cte> with;
  bool recursive = false;  // WITH RECURSIVE
  OrderList orderBy;
  const Limit* limit = nullptr;
  Locking locking;
  std::string_view into;  // INTO @v / OUTFILE ... / DUMPFILE ... as written

  template <typename T>
  const T* as() const {
    return kind == T::kKind ? static_cast<const T*>(this) : nullptr;
  }

 protected:
  explicit Query(QueryKind k) : kind(k) {}
};

struct SelectBlock : Query {
  static constexpr QueryKind kKind = QueryKind::kSelect;
  SelectBlock() : Query(kKind) {}
  bool distinct = false;       // DISTINCT / DISTINCTROW
  bool calcFoundRows = false;  // SQL_CALC_FOUND_ROWS
  bool straightJoin = false;   // SELECT STRAIGHT_JOIN
  std::string_view options;    // the select options as written (HIGH_PRIORITY SQL_NO_CACHE ...)
  List<SelectItem> items;
  List<TableRef> from;  // comma-separated items; empty without FROM (or FROM DUAL)
  const Expr* where = nullptr;
  ExprList groupBy;
  std::uint64_t groupDesc = 0;   // bit i: GROUP BY key i written DESC (MariaDB orders groups so)
  bool groupDescPast64 = false;  // a key after the 64th written DESC
  bool withRollup = false;
  const Expr* having = nullptr;
  std::string_view window;  // WINDOW w AS (...) as written
  // Set by the parser for this block only (a subquery's aggregates are the subquery's):
  bool hasAggregate = false;  // an aggregate function call in the select list / HAVING / ORDER BY
  bool hasWindow = false;     // a window function call (... OVER ...)
  bool hasSubquery = false;   // a subquery anywhere in its expressions (not in FROM)
};

enum class SetOp : std::uint8_t { kUnion, kExcept, kIntersect };

struct SetOperand {
  SetOp op = SetOp::kUnion;  // the operator before this operand (unused for the first)
  bool all = false;          // UNION ALL (UNION DISTINCT and plain UNION: false)
  const Query* query = nullptr;
};

struct SetOperation : Query {
  static constexpr QueryKind kKind = QueryKind::kSetOperation;
  SetOperation() : Query(kKind) {}
  // At least one operand (a lone parenthesised block with an outer ORDER BY/LIMIT has one).
  List<SetOperand> operands;
};

}  // namespace shardproxy::router::sql
