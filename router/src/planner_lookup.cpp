// Lookup keys (docs/routing.md, "Lookup keys"): a sharded table's non-key column mapped to the
// keyspace IDs of the rows holding each value, in a table of an unsharded keyspace. A statement
// narrowed only by such a column is planned twice: first it asks for the lookup (Plan::lookup),
// then, given the keyspace IDs (PlanInput::lookupAnswer), it goes to the shards owning them. An
// INSERT carries the entries of its rows (Plan::lookupWrites), which the session writes before
// the rows. Entries are never needed for correctness the other way round: an entry naming a
// keyspace ID where no row has the value only sends the statement to one more shard, so deletes
// leave them (a UNIQUE key's session heals such an entry when the value is inserted again).
#include <fmt/format.h>

#include "planner_internal.h"

namespace shardproxy::router::planning {
namespace {

void appendIdentifier(std::string& out, std::string_view name) {
  out.push_back('`');
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  out.push_back('`');
}

void appendLookupTable(std::string& out, const catalog::LookupKey& key) {
  appendIdentifier(out, key.lookupKeyspace);
  out += '.';
  appendIdentifier(out, key.lookupTable);
}

}  // namespace

const catalog::LookupKey* Run::lookupKeyFor(const TableInfo& t, std::string_view column) const {
  if (t.cls != TableClass::kSharded || t.rule == nullptr) return nullptr;
  for (const catalog::LookupKey& key : snap_.lookupKeysOf(ks_->name, t.rule->table)) {
    if (iequals(key.column, column)) return &key;
  }
  return nullptr;
}

bool Run::lookupLiteral(const Expr* v, std::string& out, bool& null) const {
  null = false;
  if (const auto* lit = v->as<Literal>()) {
    if (lit->type == LiteralType::kNull) {
      null = true;
      return true;
    }
    out.append(v->text);
    return true;
  }
  const auto* p = v->as<Placeholder>();
  if (p == nullptr || p->index >= in_.params.size()) return false;
  const BoundValue& b = in_.params[p->index];
  switch (b.type) {
    case BoundValue::Type::kNull:
      null = true;
      return true;
    case BoundValue::Type::kInt:
      out += std::to_string(b.i);
      return true;
    case BoundValue::Type::kUint:
      out += std::to_string(b.u);
      return true;
    case BoundValue::Type::kDouble:
      out += fmt::format("{:.17g}", b.d);
      return true;
    case BoundValue::Type::kString: {
      static const LexOptions kDefaults;
      appendStringLiteral(b.s, in_.parseOptions != nullptr ? in_.parseOptions->lex : kDefaults,
                          out);
      return true;
    }
    case BoundValue::Type::kOther:
      return false;
  }
  return false;
}

bool Run::narrowByLookup(BlockScratch& b, BlockResult& out) {
  for (const KeyConjunct& k : b.conj) {
    if (k.match != KeyMatch::kEquals && k.match != KeyMatch::kIn) continue;
    TableInfo* t = infoFor(b, *k.column);
    if (t == nullptr) continue;
    const catalog::LookupKey* key = lookupKeyFor(*t, k.column->column.name);
    if (key == nullptr || !key->ready) continue;
    for (const Expr* v : k.values) {
      if (v->kind == ExprKind::kPlaceholder && !in_.executing) {
        deferred_ = true;  // looked up at EXECUTE, with the bound values
        return true;
      }
    }
    if (in_.lookupAnswer != nullptr && in_.lookupAnswer->keyId == key->id) {
      b.set.reset(ks_->shards.size(), false);
      for (std::uint64_t id : in_.lookupAnswer->keyspaceIds) {
        if (auto pos = positionOf(id)) b.set.add(*pos);
      }
      // No row holds the values: any one shard answers as all would (no rows, zero counts).
      if (b.set.count() == 0) {
        if (auto first = firstServing()) b.set.add(*first);
      }
      out.constrained = true;
      lookedUp_ = true;
      return true;
    }
    std::string values;
    bool readable = true;
    for (const Expr* v : k.values) {
      std::string literal;
      bool null = false;
      if (!lookupLiteral(v, literal, null)) {
        readable = false;  // a value the proxy cannot write back: this conjunct narrows nothing
        break;
      }
      if (null) continue;  // `col = NULL` matches nothing; no entry has NULL
      if (!values.empty()) values += ", ";
      values += literal;
    }
    if (!readable) continue;
    plan_.lookup = key;
    plan_.lookupSql = "SELECT GROUP_CONCAT(DISTINCT keyspace_id) FROM ";
    appendLookupTable(plan_.lookupSql, *key);
    plan_.lookupSql +=
        values.empty() ? " WHERE FALSE" : fmt::format(" WHERE value IN ({})", values);
    return fail(ErrorCode::kInternal,
                fmt::format("{}.{} is narrowed by its lookup key on {}: the keyspace IDs are "
                            "looked up first ({})",
                            ks_->name, key->table, key->column, plan_.lookupSql));
  }
  return true;
}

bool Run::lookupWriteCheck(const TableInfo& t, const List<Assignment>& set, std::string_view what) {
  for (const Assignment* a : set) {
    const catalog::LookupKey* key = lookupKeyFor(t, a->column->column.name);
    if (key == nullptr) continue;
    return notSupported(fmt::format(
        "{} changes column '{}' of '{}', which has a lookup key: its entries would name the old "
        "values; DELETE the rows and INSERT them with the new values instead",
        what, key->column, key->table));
  }
  return true;
}

bool Run::planLookupWrites(const InsertStatement& st, const catalog::TableRule& rule) {
  std::span<const catalog::LookupKey> keys = snap_.lookupKeysOf(ks_->name, rule.table);
  if (keys.empty()) return true;
  const std::string_view table = st.table->name.name;
  if (st.replace) {
    return notSupported(fmt::format(
        "REPLACE into '{}', which has lookup keys: the rows it deletes are not known to the "
        "proxy; use INSERT ... ON DUPLICATE KEY UPDATE (or DELETE, then INSERT)",
        table));
  }
  TableInfo info;
  info.rule = &rule;
  info.cls = TableClass::kSharded;
  if (!lookupWriteCheck(info, st.onDuplicate, "INSERT ... ON DUPLICATE KEY UPDATE")) return false;
  for (const catalog::LookupKey& key : keys) {
    if (key.unique && (st.ignore || !st.onDuplicate.empty())) {
      return notSupported(fmt::format(
          "INSERT {} into '{}', which has a UNIQUE lookup key on '{}': a row the server keeps "
          "out (or updates) could not be told from one it inserts; use a plain INSERT",
          st.ignore ? "IGNORE" : "... ON DUPLICATE KEY UPDATE", table, key.column));
    }
    Plan::LookupWrite write;
    write.key = &key;
    auto addEntry = [&](const Expr* v, std::size_t row) {
      std::string literal;
      bool null = false;
      if (!lookupLiteral(v, literal, null)) {
        return notSupported(fmt::format(
            "Row {} of the INSERT into '{}' gives lookup key column '{}' the value {}: the "
            "proxy writes the lookup entry itself, so it needs a literal (or a bound value)",
            row + 1, table, key.column, v->text));
      }
      if (!null) write.entries.push_back({std::move(literal), s_.rowKeyspaceId[row]});
      return true;
    };
    if (st.source == InsertSource::kSet) {
      const Assignment* found = nullptr;
      for (const Assignment* a : st.set)
        if (iequals(a->column->column.name, key.column)) found = a;
      if (found == nullptr) {
        return notSupported(fmt::format(
            "The INSERT into '{}' does not set lookup key column '{}': give it a value (the "
            "proxy writes its lookup entry with the row)",
            table, key.column));
      }
      if (!addEntry(found->value, 0)) return false;
    } else {
      std::optional<std::size_t> at;
      for (std::size_t i = 0; i < s_.insertColumns.size(); ++i)
        if (iequals(s_.insertColumns[i], key.column)) at = i;
      if (!at) {
        return notSupported(fmt::format(
            "The INSERT into '{}' does not give lookup key column '{}': give it a value (or "
            "let a sequence generate it: CREATE SEQUENCE FOR {}.{} ({}))",
            table, key.column, ks_->name, table, key.column));
      }
      for (std::size_t i = 0; i < st.rows.size(); ++i) {
        if (*at >= st.rows[i]->values.size()) continue;  // the column count error comes first
        if (!addEntry(st.rows[i]->values[*at], i)) return false;
      }
    }
    if (!write.entries.empty()) plan_.lookupWrites.push_back(std::move(write));
  }
  return true;
}

}  // namespace shardproxy::router::planning
