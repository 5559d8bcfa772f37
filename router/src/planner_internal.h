// The planner's internals, shared by planner.cpp (entry, keyspaces, targets, hints),
// planner_query.cpp (query blocks, joins, subqueries, SELECT / SHOW / EXPLAIN) and
// planner_write.cpp (INSERT / UPDATE / DELETE). Not a public header: router/src only.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/router/planner.h"
#include "shardproxy/router/sql/analysis.h"
#include "shardproxy/router/sql/parser.h"

namespace shardproxy::router {
namespace planning {

using namespace sql;
struct MergeBuild;

bool iequals(std::string_view a, std::string_view b);
// The conjuncts of `e` through AND (none for nullptr), appended to `out`.
void conjuncts(const Expr* e, std::vector<const Expr*>& out);
bool isSystemSchema(std::string_view db);
// "xxh3_ci" or "xxh3_ci@<ICU collator version the rule was created with>".
bool ciKey(std::string_view hashFunction);
// _ci keyspace IDs are ICU sort keys: a rule recorded under another collator version cannot be
// hashed by this build.
bool ciVersionMatches(std::string_view hashFunction);
bool integerKey(std::string_view hashFunction);

// --- a small dynamic bitset over a keyspace's shard positions ------------------------------

struct ShardSet {
  std::vector<std::uint64_t> words;
  std::size_t n = 0;
  void reset(std::size_t size, bool all) {
    n = size;
    words.assign((size + 63) / 64, all ? ~std::uint64_t{0} : 0);
    if (all && size % 64 != 0) words.back() = (std::uint64_t{1} << (size % 64)) - 1;
  }
  void add(std::size_t i) { words[i / 64] |= std::uint64_t{1} << (i % 64); }
  bool has(std::size_t i) const { return (words[i / 64] >> (i % 64)) & 1; }
  void intersect(const ShardSet& o) {
    for (std::size_t i = 0; i < words.size(); ++i)
      words[i] &= o.words[i];
  }
  void unite(const ShardSet& o) {
    for (std::size_t i = 0; i < words.size(); ++i)
      words[i] |= o.words[i];
  }
  std::size_t count() const {
    std::size_t c = 0;
    for (auto w : words)
      c += static_cast<std::size_t>(__builtin_popcountll(w));
    return c;
  }
  std::optional<std::size_t> single() const {
    if (count() != 1) return std::nullopt;
    for (std::size_t i = 0; i < n; ++i)
      if (has(i)) return i;
    return std::nullopt;
  }
};

enum class TableClass : std::uint8_t { kSystem, kCte, kReference, kSharded };

struct TableInfo {
  const TableName* name = nullptr;
  const catalog::TableRule* rule = nullptr;
  TableClass cls = TableClass::kSystem;
  std::uint32_t group = 0;  // union-find parent among sharded tables
};

// One query block's (or UPDATE's / DELETE's) view: its tables, conjuncts and shard set.
struct BlockScratch {
  std::vector<const TableName*> tables;
  std::vector<TableInfo> infos;
  std::vector<KeyConjunct> conj;
  std::vector<KeyConjunct> part;
  ShardSet set;     // the block's own shard set
  ShardSet result;  // analyzeQuery's answer at this depth (a set operation's union)
  ShardSet tmp;
};

}  // namespace planning

struct Planner::Scratch {
  std::deque<planning::BlockScratch> blocks;  // by nesting depth; a deque keeps references stable
  std::vector<std::uint32_t> rowShard;
  std::vector<std::uint64_t> rowKeyspaceId;         // an INSERT's rows' keyspace IDs, by row
  std::vector<const sql::TableName*> weightTables;  // needsWeight()'s scratch
  std::vector<const sql::Expr*> extra;
  std::vector<const planning::BlockScratch*> scopes;  // the blocks enclosing the one being analyzed
  std::vector<std::string_view> insertColumns;        // an INSERT's columns in value order
  // A SELECT whose `*` was expanded from the tracked columns, and the parser that read it (the
  // plan views both until the next plan()).
  std::string expandedText;
  std::unique_ptr<sql::Parser> reparser;
  planning::ShardSet final;
  planning::ShardSet values;
  // Generated keys (planner_sequence.cpp): the values taken, the rewritten INSERT and its
  // parser (made on first use), and the edits that rewrite it.
  std::vector<std::int64_t> sequenceValues;
  std::string sequenceText;
  std::vector<BoundValue> sequenceParams;  // a prepared INSERT's parameters after the rewrite
  std::unique_ptr<sql::Parser> sequenceParser;
  // Replaces [begin, end) of the statement's source (empty: inserts) with `before`, the column
  // name quoted (if any), `between`, the value (if `hasValue`) and `after`.
  struct TextEdit {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::string_view before;
    std::string_view column;
    std::string_view between;
    bool hasValue = false;
    std::int64_t value = 0;
    std::string_view after;
  };
  std::vector<TextEdit> edits;
};

namespace planning {

inline constexpr std::string_view kReferenceFromSharded =
    "A write to a reference table with a subquery on a sharded table: each shard would compute "
    "it from its own rows, and the reference table's copies would diverge";

// --- AST walking ------------------------------------------------------------------------------

template <typename F>
void forEachChildExpr(const Expr* e, F&& f) {
  switch (e->kind) {
    case ExprKind::kUnary:
      f(e->as<Unary>()->operand);
      break;
    case ExprKind::kBinary:
      f(e->as<Binary>()->left);
      f(e->as<Binary>()->right);
      break;
    case ExprKind::kLogical:
      for (const Expr* x : e->as<Logical>()->operands)
        f(x);
      break;
    case ExprKind::kIs:
      f(e->as<IsTest>()->operand);
      break;
    case ExprKind::kLike: {
      const auto* l = e->as<Like>();
      f(l->operand);
      f(l->pattern);
      if (l->escape) f(l->escape);
      break;
    }
    case ExprKind::kIn: {
      const auto* in = e->as<In>();
      f(in->operand);
      for (const Expr* x : in->list)
        f(x);
      break;
    }
    case ExprKind::kBetween: {
      const auto* b = e->as<Between>();
      f(b->operand);
      f(b->low);
      f(b->high);
      break;
    }
    case ExprKind::kFunction: {
      const auto* fn = e->as<Function>();
      for (const Expr* x : fn->args)
        f(x);
      for (const OrderItem* o : fn->orderBy)
        f(o->expr);
      if (fn->separator) f(fn->separator);
      break;
    }
    case ExprKind::kCase: {
      const auto* c = e->as<Case>();
      if (c->operand) f(c->operand);
      for (const WhenClause* w : c->whens) {
        f(w->when);
        f(w->then);
      }
      if (c->elseExpr) f(c->elseExpr);
      break;
    }
    case ExprKind::kCast:
      f(e->as<Cast>()->operand);
      break;
    case ExprKind::kInterval:
      f(e->as<Interval>()->operand);
      break;
    case ExprKind::kRow:
      for (const Expr* x : e->as<Row>()->items)
        f(x);
      break;
    case ExprKind::kCollate:
      f(e->as<Collate>()->operand);
      break;
    case ExprKind::kMatch: {
      const auto* m = e->as<Match>();
      for (const Expr* x : m->columns)
        f(x);
      f(m->against);
      break;
    }
    default:
      break;
  }
}

// The query nested directly in an expression node (subquery, EXISTS, IN (subquery)).
const sql::Query* nestedQuery(const sql::Expr* e);
bool isConnectionBoundFunction(std::string_view name);
// Names of information_schema columns that hold per-server row statistics.
bool isRowStatisticColumn(std::string_view name);
bool mentionsRowStatistic(const sql::Expr* e);

// --- the planning of one statement -------------------------------------------------------------

// A statement a replica may answer (SELECT without locking or INTO, SHOW, EXPLAIN); sets
// `connectionBound` for SELECT ... INTO.
bool isRead(const Statement& st, bool& connectionBound);

class Run {
 public:
  Run(Plan& plan, Planner::Scratch& scratch, const PlanInput& in)
      : plan_(plan), s_(scratch), in_(in), snap_(*in.snapshot) {}

  void planStatement(const Statement& st);

 private:
  bool fail(ErrorCode code, std::string message) {
    if (plan_.kind != PlanKind::kError || plan_.error.message.empty()) {
      plan_.kind = PlanKind::kError;
      plan_.error = Error::make(code, std::move(message));
    }
    failed_ = true;
    return false;
  }
  // An error one server would answer the statement with (its errno and SQLSTATE).
  bool serverError(std::uint16_t mysqlErrno, std::string_view sqlState, std::string message) {
    plan_.kind = PlanKind::kError;
    plan_.error = Error::fromServer(mysqlErrno, sqlState, std::move(message));
    failed_ = true;
    return false;
  }
  bool notSupported(std::string message) {
    return fail(ErrorCode::kNotSupportedYet, std::move(message));
  }

  bool resolveKeyspace(const Statement& st);
  const catalog::Keyspace* keyspaceForDb(std::string_view db) const;
  const catalog::Keyspace* defaultKeyspace() const;
  bool checkAccess(const catalog::Keyspace& ks);

  void planUnsharded(const Statement& st);
  void planSharded(const Statement& st);
  void planSelect(const SelectStatement& st);
  void planInsert(const InsertStatement& st);
  // planner_columns.cpp: the INSERT's columns in value order (its own list, else the tracked
  // table's) into Scratch::insertColumns; false (plan_ has the error) when they cannot be known
  // or a row's value count differs.
  bool insertColumns(const InsertStatement& st, const catalog::TableRule& rule);
  // The statement again with the `*` items of `q`'s blocks spelled out from the tracked columns,
  // when a merge needs column positions (aggregates, DISTINCT, positions, aliases, UNION) and
  // every table is known; plan_.text becomes the new text. nullptr: nothing to do, or unknown.
  const Query* expandedStars(const Query& q);
  bool starColumns(const SelectBlock& b, const Star& star, std::string& out);
  void planUpdate(const UpdateStatement& st);
  void planDelete(const DeleteStatement& st);
  void planShow(const ShowStatement& st);
  void planLockTables(const LockTablesStatement& st);  // planner_columns.cpp
  void planExplain(const ExplainStatement& st);
  // planner_merge.cpp: a read on several shards that needs merging (PlanKind::kMerge).
  bool planMerge(const Query& q);
  bool planUnionMerge(const SetOperation& op);
  void finishMergeSql(std::size_t start, std::optional<std::uint64_t> pushedLimit,
                      std::size_t resume, std::uint64_t firstLimit = 0);
  bool distinctColumn(MergeBuild& m, const Function& f, MergeAgg agg, MergeColumn& c);
  bool concatColumn(MergeBuild& m, const Function& f, const SelectItem& item, MergeColumn& c);
  SortKey extraGroupKey(MergeBuild& m, const Expr* x, bool desc);
  bool limitValue(const Expr* e, std::uint64_t& out);
  bool aggregateColumn(MergeBuild& m, const Function& f, ColumnRef& out, ColumnRef& count);
  bool compileMerged(MergeBuild& m, const Expr* e, Program& p);
  bool sortKey(MergeBuild& m, const Expr* e, bool desc, bool aliases, SortKey& key);
  bool cannotMerge(const Expr* e);
  // Whether comparing `e` across shards needs its WEIGHT_STRING / COLLATION: false for a plain
  // column whose tracked type the merge compares by value (numbers, dates, times).
  bool needsWeight(const MergeBuild& m, const Expr* e);
  // The tracked column `e` names (a plain column of a tracked table the block reads), or nullptr.
  const TrackedColumn* trackedColumn(const MergeBuild& m, const Expr* e);
  // What the shards select WEIGHT_STRING of to compare `e`: a string column whose collation pads
  // with spaces (PAD SPACE: 'a' = 'a ') without its trailing spaces, so that values the collation
  // calls equal have one weight (a shard's DISTINCT over the weights then keeps no more rows than
  // the merge does). `exact`: false where that cannot be known (an expression, an untracked
  // column): the shards' DISTINCT may then keep more rows than the merge.
  std::string weightArg(const MergeBuild& m, const Expr* e, bool& exact);
  // The one table a merged SELECT reads, as tracked; nullptr when unknown or several.
  const TrackedTable* trackedTable(const MergeBuild& m);
  // Whether `e` is a tracked ENUM / SET column: ordered by its members' numbers (e + 0).
  bool ordersByIndex(const MergeBuild& m, const Expr* e);
  // The table of the block's FROM that has a column `name`, as tracked (nullptr: none has);
  // std::nullopt when one is not tracked (or is a derived table).
  std::optional<const TableName*> tableWithColumn(const MergeBuild& m, std::string_view name);
  // The GROUP BY key `g` when it is a bare name of both a select-list alias and a table's column
  // (MariaDB groups by the column): that column, qualified (`t`.`c`), in `column`; empty where
  // it is what it looks like. False (refused) where that depends on columns the proxy does not
  // know.
  bool groupByColumn(const MergeBuild& m, const Expr* g, std::string& column);
  // planner_merge_rollup.cpp, GROUP BY ... WITH ROLLUP: marks the select-list items whose
  // super-aggregate value is the last group's (MergeColumn::fromLastGroup), after the group keys;
  // then, with HAVING compiled, refuses what the merge cannot sum up over groups.
  bool rollupAllowed(const Query& q, const SelectBlock& b);  // 1221, or what is refused
  bool rollupColumns(MergeBuild& m);
  bool rollupMergeable(MergeBuild& m);

  // Block analysis. Returns false on error (plan_ has it).
  struct BlockResult {
    bool sharded = false;      // a sharded table in the block's own FROM
    bool constrained = false;  // the shard key narrowed the set
    bool colocated = false;    // correlated on the shard key with an outer block
    bool allSharded = true;    // every block of a set operation reads a sharded table
  };
  // Leaves the shard set in block(depth).result.
  bool analyzeQuery(const Query& q, std::size_t depth, BlockResult& out);
  // Leaves the shard set in block(depth).set; `extra` expressions (UPDATE's SET values) are
  // walked for subqueries in the block's scope.
  bool analyzeBlock(List<TableRef> from, const Expr* where, std::size_t depth, BlockResult& out,
                    const SelectBlock* select, std::span<const Expr* const> extra = {});
  bool walkTableRef(const TableRef* r, std::size_t depth);
  bool multiShardWriteCheck();
  void targetReferenceCopies();
  void planReferenceWrite(const BlockScratch& b, std::string_view what);
  void finishWrite(BlockScratch& b, const BlockResult& r, bool changesReference, bool orderOrLimit,
                   std::string_view what);
  void planShardedWrite(ShardSet& set, const BlockResult& r, bool orderedOrLimited,
                        std::string_view what);
  bool walkInsertValues(const InsertStatement& st);
  void planInsertSelect(const InsertStatement& st);
  // planner_join.cpp: a join of two sharded tables that are not co-located, on a column
  // equality: Plan::join, or a refusal naming what the nested loop cannot do. False: not such a
  // join (planned as usual).
  bool tryJoinPlan(const SelectBlock& b);
  // planner_sequence.cpp: an INSERT into a table with a sequence that leaves it the column
  // (omitted, NULL, 0, DEFAULT) is rewritten with its values and planned as rewritten. Returns
  // the rewritten statement, or nullptr: nothing to generate (failed_ unset) or refused.
  const InsertStatement* withSequenceValues(const InsertStatement& st,
                                            const catalog::Sequence& seq);
  bool needsGeneratedValue(const Expr* v, const catalog::Sequence& seq);
  bool takeSequenceValues(const catalog::Sequence& seq, std::size_t count);
  const InsertStatement* applySequenceEdits(const InsertStatement& st);
  // The rewrite of a prepared INSERT at EXECUTE: a `?` where each value goes, the parameters in
  // Plan::executeParams and insertParams_.
  const InsertStatement* applyPreparedSequenceEdits(const InsertStatement& st);
  const InsertStatement* parseSequenceText();
  // After planning the rewritten INSERT: every target carries its SQL (none is "as received").
  void finishGeneratedPlan();
  bool subqueryShardCheck(std::string_view what);
  // planner_lookup.cpp: lookup keys. A top-level block that its shard key did not narrow, with
  // `col = v` / `col IN (...)` on a ready lookup key's column, is narrowed by the answer in
  // PlanInput::lookupAnswer, or asks for it (Plan::lookup); false when refused.
  bool narrowByLookup(BlockScratch& b, BlockResult& out);
  const catalog::LookupKey* lookupKeyFor(const TableInfo& t, std::string_view column) const;
  // The lookup entries of an INSERT's rows (Plan::lookupWrites), once each row's keyspace ID is
  // in Scratch::rowKeyspaceId; false when the statement is refused.
  bool planLookupWrites(const InsertStatement& st, const catalog::TableRule& rule);
  // Writes that would leave a lookup key behind its rows (changing its column, REPLACE) are
  // refused; true when `what` may go on.
  bool lookupWriteCheck(const TableInfo& t, const List<Assignment>& set, std::string_view what);
  // `v` as an SQL literal the lookup statements can carry (the literal's own text, or a bound
  // parameter quoted for the session's character set); `null` for NULL. False: not a value.
  bool lookupLiteral(const Expr* v, std::string& out, bool& null) const;
  void rewriteInList();
  bool analyzeNested(const Query& q, std::size_t depth);
  bool walkUnshardedQuery(const Query& q, std::size_t depth);
  bool walkExpr(const Expr* e, std::size_t depth);
  bool classifyTables(BlockScratch& b);
  TableInfo* infoFor(BlockScratch& b, const Column& c);
  bool keyOf(const TableInfo& t, const Column& c) const;
  std::uint32_t findGroup(BlockScratch& b, std::uint32_t i);
  bool valuesToSet(const KeyConjunct& k, const catalog::TableRule& rule, ShardSet& out);
  std::optional<std::size_t> positionOf(std::uint64_t keyspaceId) const;
  void collectOnConjuncts(const TableRef* r, BlockScratch& b, bool filtering);

  BlockScratch& block(std::size_t depth) {
    if (s_.blocks.size() <= depth) s_.blocks.resize(depth + 1);
    return s_.blocks[depth];
  }

  // Targets
  void targetAll(PlanKind kind);
  void targetSet(const ShardSet& set, PlanKind multiKind);
  void targetShard(std::size_t position);
  bool applyShardHint(std::string_view name);
  std::optional<std::size_t> firstServing() const;

  Plan& plan_;
  Planner::Scratch& s_;
  const PlanInput& in_;
  const catalog::Snapshot& snap_;
  const catalog::Keyspace* ks_ = nullptr;
  bool failed_ = false;
  bool connectionBound_ = false;
  bool deferred_ = false;
  bool sequenceDeferred_ = false;  // a prepared INSERT's generated keys wait for EXECUTE
  // The parameters an INSERT's rows are placed by: the bound ones, or after a prepared INSERT's
  // rewrite with generated values, those in the rewritten statement's order.
  std::span<const BoundValue> insertParams_ = in_.params;
  std::optional<std::size_t> required_;  // a nested block's single shard
  std::vector<const BlockScratch*>& scopes_ = s_.scopes;
  // The top block's only narrowing conjunct when it is an IN list (split per shard).
  std::optional<KeyConjunct> inList_;
  const catalog::TableRule* inRule_ = nullptr;
  int narrowings_ = 0;
  // The statement has one top-level block a lookup key may narrow (not a set operation).
  bool lookupBlock_ = false;
  bool lookedUp_ = false;  // narrowed by a lookup key's answer
};

}  // namespace planning

}  // namespace shardproxy::router
