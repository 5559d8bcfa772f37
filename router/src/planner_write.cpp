// The planner's writes: INSERT (rows placed and split per shard), UPDATE and DELETE (by key or on
// every primary), reference-table writes, the one-shard rule inside transactions
// (docs/routing.md).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "planner_internal.h"
#include "shardproxy/router/keyspace_id.h"
#include "shardproxy/router/sql/analysis.h"

namespace shardproxy::router::planning {

namespace {

// The keyspace's scatter_writes setting (docs/routing.md, "Multi-shard writes"): under 'deny' an
// UPDATE / DELETE of sharded rows must reach one shard. Reference-table copies and INSERT rows
// split by their keys never ask: each of those writes goes where its rows are.
std::optional<std::string> scatterWriteRefusal(const catalog::Keyspace& ks, std::size_t shards,
                                               bool constrained, std::string_view what) {
  if (shards < 2 || ks.scatterWrites != catalog::ScatterWrites::kDeny) return std::nullopt;
  return fmt::format(
      "This {} would run on {} shards of keyspace '{}' ({}), and the keyspace's scatter_writes "
      "setting is 'deny': narrow it to one shard by the shard key, or have a DBA run ALTER "
      "KEYSPACE {} SET scatter_writes = allow on the admin port",
      what, shards, ks.name,
      constrained ? "the shard key values are on several shards" : "no shard key in WHERE",
      ks.name);
}

// Which counting of duplicates the statement's OK follows (Plan::InsertKind).
Plan::InsertKind insertKind(const InsertStatement& st) {
  return st.replace                ? Plan::InsertKind::kReplace
         : !st.onDuplicate.empty() ? Plan::InsertKind::kUpsert
         : st.ignore               ? Plan::InsertKind::kIgnore
                                   : Plan::InsertKind::kInsert;
}

}  // namespace

bool Run::multiShardWriteCheck() {
  const auto mode = in_.transactionMode.value_or(ks_->transactionMode);
  if (plan_.targets.size() > 1 && in_.inTransaction && mode == catalog::TransactionMode::kSingle) {
    return fail(ErrorCode::kCrossShardTransaction,
                fmt::format("This write touches {} shards of keyspace '{}' inside a transaction, "
                            "and the transaction mode is 'single' (one shard per transaction): "
                            "SET shardproxy_transaction_mode = 'multi' or 'twopc', run it outside "
                            "the transaction, or narrow it by the shard key",
                            plan_.targets.size(), ks_->name));
  }
  return true;
}

void Run::planInsert(const InsertStatement& st) {
  plan_.write = true;
  plan_.dml = true;
  plan_.role = Role::kPrimary;
  const TableName* t = st.table;
  std::string_view db = t->db.empty() ? in_.schema : t->db.name;
  if (isSystemSchema(db)) {
    notSupported(fmt::format("INSERT into system table '{}.{}' through sharded keyspace '{}'", db,
                             t->name.name, ks_->name));
    return;
  }
  const catalog::TableRule* rule = snap_.findTable(ks_->name, t->name.name);
  if (rule == nullptr) {
    fail(ErrorCode::kNoTableRule,
         fmt::format("Table '{}' has no table rule in sharded keyspace '{}', so the proxy cannot "
                     "tell where its rows go (CREATE SHARDED TABLE or CREATE REFERENCE TABLE on "
                     "the admin port)",
                     t->name.name, ks_->name));
    return;
  }
  if (rule->kind == catalog::TableKind::kSharded && st.source != InsertSource::kSelect) {
    // Generated keys (planner_sequence.cpp): planned as the rewritten INSERT.
    if (const catalog::Sequence* seq = snap_.findSequence(ks_->name, t->name.name)) {
      if (const InsertStatement* rewritten = withSequenceValues(st, *seq)) {
        planInsert(*rewritten);
        finishGeneratedPlan();
        return;
      }
      if (failed_ || sequenceDeferred_) return;
    }
  }
  if (!walkInsertValues(st)) return;
  plan_.connectionBound = connectionBound_;
  if (rule->kind == catalog::TableKind::kReference) {
    if (st.select != nullptr) {
      BlockResult r;
      if (!analyzeQuery(*st.select, 1, r)) return;
      if (r.sharded) {
        notSupported("INSERT ... SELECT from a sharded table into a reference table");
        return;
      }
    }
    targetReferenceCopies();
    return;
  }
  if (st.source == InsertSource::kSelect) {
    planInsertSelect(st);
    return;
  }
  for (const Assignment* a : st.onDuplicate) {
    if (iequals(a->column->column.name, rule->shardKey)) {
      fail(ErrorCode::kShardKeyChange,
           fmt::format("ON DUPLICATE KEY UPDATE changes shard key '{}' of table '{}', which would "
                       "move the row to another shard; DELETE it and INSERT the new row instead",
                       rule->shardKey, t->name.name));
      return;
    }
  }
  plan_.reason = "shard key";
  auto placeOne = [&](const Expr* v, std::size_t row) -> std::optional<std::size_t> {
    if (v->kind == ExprKind::kPlaceholder && !in_.executing) {
      deferred_ = true;
      return std::nullopt;
    }
    auto id = keyspaceIdOf(*v, insertParams_, rule->hashFunction);
    if (!id && ciKey(rule->hashFunction) && !ciVersionMatches(rule->hashFunction)) {
      fail(ErrorCode::kNoRoute,
           fmt::format("Table '{}' is sharded by {} with hash function {}, but this build's ICU "
                       "collator is version {}: its keyspace IDs would differ from the ones the "
                       "rows were placed by, so the proxy refuses to insert by them (reads scan "
                       "every shard). Run the shardproxy built with the rule's ICU version",
                       t->name.name, rule->shardKey, rule->hashFunction, collatorVersion()));
      return std::nullopt;
    }
    if (!id) {
      fail(ErrorCode::kShardKeyRequired,
           fmt::format("Row {} of the INSERT into '{}' has shard key {} = {}, which cannot be "
                       "hashed ({} needs {}); rows need an explicit shard key value",
                       row + 1, t->name.name, rule->shardKey, v->text, rule->hashFunction,
                       integerKey(rule->hashFunction) ? "an integer" : "a string"));
      return std::nullopt;
    }
    auto pos = positionOf(*id);
    if (!pos) {
      fail(ErrorCode::kNoRoute,
           fmt::format("No serving shard of keyspace '{}' owns keyspace ID {:016x}", ks_->name,
                       *id));
    }
    s_.rowKeyspaceId.push_back(*id);
    return pos;
  };
  s_.rowKeyspaceId.clear();
  if (st.source == InsertSource::kSet) {
    for (const Assignment* a : st.set) {
      if (!iequals(a->column->column.name, rule->shardKey)) continue;
      auto pos = placeOne(a->value, 0);
      if (failed_) return;
      if (deferred_) {
        plan_.deferred = true;
        targetAll(PlanKind::kScatter);
        return;
      }
      if (!planLookupWrites(st, *rule)) return;
      targetShard(*pos);
      plan_.kind = PlanKind::kSingle;
      subqueryShardCheck("INSERT");
      return;
    }
    fail(ErrorCode::kShardKeyRequired,
         fmt::format("The INSERT into sharded table '{}' does not set shard key '{}' (a "
                     "generated key needs a sequence: CREATE SEQUENCE FOR {}.{} ({}) on the "
                     "admin port)",
                     t->name.name, rule->shardKey, ks_->name, t->name.name, rule->shardKey));
    return;
  }
  if (!insertColumns(st, *rule)) return;
  std::optional<std::size_t> keyIndex;
  for (std::size_t i = 0; i < s_.insertColumns.size(); ++i) {
    if (iequals(s_.insertColumns[i], rule->shardKey)) keyIndex = i;
  }
  if (!keyIndex) {
    fail(ErrorCode::kShardKeyRequired,
         fmt::format("The INSERT into sharded table '{}' does not set shard key '{}' (a "
                     "generated key needs a sequence: CREATE SEQUENCE FOR {}.{} ({}) on the "
                     "admin port)",
                     t->name.name, rule->shardKey, ks_->name, t->name.name, rule->shardKey));
    return;
  }
  s_.rowShard.clear();
  for (std::size_t i = 0; i < st.rows.size(); ++i) {
    const InsertRow& row = *st.rows[i];
    if (*keyIndex >= row.values.size()) {
      plan_.kind = PlanKind::kError;
      plan_.error = Error::fromServer(
          1136, "21S01", fmt::format("Column count doesn't match value count at row {}", i + 1));
      failed_ = true;
      return;
    }
    auto pos = placeOne(row.values[*keyIndex], i);
    if (failed_) return;
    if (deferred_) {
      plan_.deferred = true;
      targetAll(PlanKind::kScatter);
      return;
    }
    s_.rowShard.push_back(static_cast<std::uint32_t>(*pos));
  }
  if (!planLookupWrites(st, *rule)) return;
  bool one = std::all_of(s_.rowShard.begin(), s_.rowShard.end(),
                         [&](std::uint32_t p) { return p == s_.rowShard.front(); });
  if (one) {
    targetShard(s_.rowShard.front());
    plan_.kind = PlanKind::kSingle;
    subqueryShardCheck("INSERT");
    return;
  }
  if (!subqueryShardCheck("INSERT")) return;
  if (in_.executing) {
    notSupported(fmt::format(
        "This prepared multi-row INSERT into '{}' has rows for several shards; send it as a text "
        "query or prepare one INSERT per shard",
        t->name.name));
    return;
  }
  // One INSERT per shard carrying only its rows, in shard order.
  std::string_view text = plan_.text;
  std::size_t rowsStart = static_cast<std::size_t>(st.rowsText.data() - text.data());
  std::size_t rowsEnd = rowsStart + st.rowsText.size();
  for (std::size_t pos = 0; pos < ks_->shards.size(); ++pos) {
    bool any = false;
    std::size_t start = plan_.buffer.size();
    for (std::size_t i = 0; i < st.rows.size(); ++i) {
      if (s_.rowShard[i] != pos) continue;
      if (!any) {
        plan_.buffer.append(text.substr(0, rowsStart));
      } else {
        plan_.buffer.append(", ");
      }
      plan_.buffer.append(st.rows[i]->text);
      any = true;
    }
    if (!any) continue;
    plan_.buffer.append(text.substr(rowsEnd));
    plan_.targets.push_back(PlanTarget{static_cast<std::uint32_t>(ks_->shards[pos]),
                                       static_cast<std::uint32_t>(start),
                                       static_cast<std::uint32_t>(plan_.buffer.size() - start)});
  }
  plan_.kind = PlanKind::kScatter;
  plan_.reason = "shard key: rows split per shard";
  plan_.splitInsert = insertKind(st);
  multiShardWriteCheck();
}

// INSERT ... SELECT into a sharded table: the session reads the rows and sends them as VALUES
// (Plan::insertSelect). The statement's text is cut around the SELECT (and its parentheses).
void Run::planInsertSelect(const InsertStatement& st) {
  if (in_.prepared || in_.executing) {
    notSupported(fmt::format(
        "A prepared INSERT ... SELECT into sharded table '{}': send it as a text query (the "
        "proxy reads the selected rows and inserts them by shard key)",
        st.table->name.name));
    return;
  }
  const std::string_view text = plan_.text;
  const std::string_view select = st.select->text;
  if (select.data() < text.data() || select.data() + select.size() > text.data() + text.size()) {
    notSupported("INSERT ... SELECT whose SELECT the proxy cannot cut out of the statement");
    return;
  }
  std::string_view prefix = text.substr(0, static_cast<std::size_t>(select.data() - text.data()));
  std::string_view suffix = text.substr(prefix.size() + select.size());
  auto trimBack = [](std::string_view& v) {
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back())))
      v.remove_suffix(1);
  };
  auto trimFront = [](std::string_view& v) {
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front())))
      v.remove_prefix(1);
  };
  // (SELECT ...): as many ')' after it as '(' before it.
  for (;;) {
    trimBack(prefix);
    trimFront(suffix);
    if (prefix.empty() || prefix.back() != '(' || suffix.empty() || suffix.front() != ')') break;
    prefix.remove_suffix(1);
    suffix.remove_prefix(1);
  }
  plan_.insertSelect = Plan::InsertSelect{prefix, select, suffix, insertKind(st)};
  fail(ErrorCode::kInternal,
       fmt::format("INSERT ... SELECT into sharded table '{}' runs its SELECT first, then inserts "
                   "the rows by shard key",
                   st.table->name.name));
}

// Subqueries and connection-bound functions among an INSERT's values (VALUES rows, SET, ON
// DUPLICATE KEY UPDATE). A subquery on a sharded table leaves its shard in required_.
bool Run::walkInsertValues(const InsertStatement& st) {
  for (const InsertRow* row : st.rows) {
    for (const Expr* v : row->values)
      if (!walkExpr(v, 0)) return false;
  }
  for (const Assignment* a : st.set)
    if (!walkExpr(a->value, 0)) return false;
  for (const Assignment* a : st.onDuplicate)
    if (!walkExpr(a->value, 0)) return false;
  return true;
}

// A write whose subquery reads one shard (required_) must run on that shard only.
bool Run::subqueryShardCheck(std::string_view what) {
  if (!required_ || deferred_) return true;
  if (plan_.targets.size() == 1 && plan_.targets[0].shard == ks_->shards[*required_]) return true;
  return notSupported(fmt::format(
      "This {} has a subquery that reads a sharded table on another shard than the one it "
      "writes: each shard would see only its own rows",
      what));
}

void Run::planUpdate(const UpdateStatement& st) {
  plan_.write = true;
  plan_.dml = true;
  plan_.role = Role::kPrimary;
  s_.extra.clear();
  for (const Assignment* a : st.set)
    s_.extra.push_back(a->value);
  BlockResult r;
  lookupBlock_ = true;
  if (!analyzeBlock(st.tableRefs, st.where, 0, r, nullptr, s_.extra)) return;
  BlockScratch& b = block(0);
  bool modifiesReference = false;
  if (!snap_.lookupKeys.empty()) {
    for (const TableInfo& info : b.infos)
      if (!lookupWriteCheck(info, st.set, "This UPDATE")) return;
  }
  for (const Assignment* a : st.set) {
    TableInfo* t = infoFor(b, *a->column);
    if (t == nullptr && b.infos.size() == 1) t = &b.infos[0];
    if (t != nullptr && keyOf(*t, *a->column)) {
      fail(ErrorCode::kShardKeyChange,
           fmt::format("This UPDATE changes shard key '{}' of table '{}', which would move rows to "
                       "another shard; DELETE them and INSERT the new rows instead",
                       t->rule->shardKey, t->name->name.name));
      return;
    }
    if (t == nullptr) {
      // An unqualified column in a multi-table UPDATE: it may be any table's shard key.
      for (const TableInfo& info : b.infos) {
        if (info.cls == TableClass::kSharded &&
            iequals(a->column->column.name, info.rule->shardKey)) {
          fail(ErrorCode::kShardKeyChange,
               fmt::format("This UPDATE may change shard key '{}' (qualify the column with its "
                           "table)",
                           info.rule->shardKey));
          return;
        }
      }
      // ... or a reference table's column.
      for (const TableInfo& info : b.infos)
        if (info.cls == TableClass::kReference) modifiesReference = true;
    }
    if (t != nullptr && t->cls == TableClass::kReference) modifiesReference = true;
  }
  finishWrite(b, r, modifiesReference, !st.orderBy.empty() || st.limit != nullptr, "UPDATE");
}

// UPDATE / DELETE once their tables are known: reference copies on every primary, or the shards
// the key narrows to.
void Run::finishWrite(BlockScratch& b, const BlockResult& r, bool changesReference,
                      bool orderOrLimit, std::string_view what) {
  plan_.connectionBound = connectionBound_;
  plan_.deferred = deferred_;
  if (!r.sharded) {
    planReferenceWrite(b, what);
    return;
  }
  if (changesReference) {
    notSupported(fmt::format(
        "{} changes a reference table while reading a sharded table: each shard's copy would "
        "be changed differently",
        what == "UPDATE" ? "An UPDATE" : "A DELETE"));
    return;
  }
  planShardedWrite(b.set, r, orderOrLimit, what);
}

// A write that reads no sharded table: a reference table's copies, on every primary.
void Run::planReferenceWrite(const BlockScratch& b, std::string_view what) {
  bool reference = std::any_of(b.infos.begin(), b.infos.end(),
                               [](const TableInfo& t) { return t.cls == TableClass::kReference; });
  if (!reference) {
    notSupported(fmt::format("{} of system tables through sharded keyspace '{}'", what, ks_->name));
    return;
  }
  targetReferenceCopies();
}

// Every primary holds a copy: all of them, unless a subquery reads one shard's rows (each copy
// would be computed from different rows).
void Run::targetReferenceCopies() {
  if (required_) {
    notSupported(std::string(kReferenceFromSharded));
    return;
  }
  plan_.reason = "reference table: every primary";
  plan_.copies = true;
  targetAll(PlanKind::kScatter);
  multiShardWriteCheck();
}

// An UPDATE / DELETE of sharded rows: the shards the key allows, each primary's OK merged.
void Run::planShardedWrite(ShardSet& set, const BlockResult& r, bool orderedOrLimited,
                           std::string_view what) {
  // Contradictory key conditions: no row anywhere, the subquery's shard answers as well as any.
  if (required_ && set.count() == 0) set.add(*required_);
  targetSet(set, PlanKind::kScatter);
  plan_.reason = lookedUp_       ? "lookup key"
                 : r.constrained ? "shard key"
                                 : "every shard (no shard key in WHERE)";
  if (!subqueryShardCheck(what)) return;
  // A deferred plan is tentative: EXECUTE knows the shards and checks again.
  if (deferred_) return;
  if (auto refusal = scatterWriteRefusal(*ks_, plan_.targets.size(), r.constrained, what)) {
    fail(ErrorCode::kScatterWriteDenied, std::move(*refusal));
    return;
  }
  if (plan_.targets.size() > 1 && orderedOrLimited) {
    notSupported(
        fmt::format("{} ... ORDER BY / LIMIT on several shards would change more rows "
                    "than asked; narrow it with the shard key",
                    what));
    return;
  }
  multiShardWriteCheck();
}

void Run::planDelete(const DeleteStatement& st) {
  plan_.write = true;
  plan_.dml = true;
  plan_.role = Role::kPrimary;
  lookupBlock_ = true;
  BlockResult r;
  if (!analyzeBlock(st.from, st.where, 0, r, nullptr)) return;
  BlockScratch& b = block(0);
  bool deletesReference = false;
  for (const TableName* target : st.targets) {
    for (const TableInfo& info : b.infos) {
      bool same = (!target->alias.empty() || true) &&
                  ((!info.name->alias.empty() && info.name->alias.name == target->name.name) ||
                   info.name->name.name == target->name.name);
      if (same && info.cls == TableClass::kReference) deletesReference = true;
    }
  }
  finishWrite(b, r, deletesReference, !st.orderBy.empty() || st.limit != nullptr, "DELETE");
}

}  // namespace shardproxy::router::planning
