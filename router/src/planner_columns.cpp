// The planner's use of tracked schemas (table_schema.h, docs/routing.md "Schema tracking"): the
// columns an INSERT without a column list fills, in value order, and the columns a `*` stands for
// when a multi-shard merge needs their positions.
#include <fmt/format.h>

#include "planner_internal.h"

namespace shardproxy::router::planning {
namespace {

void appendQuoted(std::string& out, std::string_view name) {
  out.push_back('`');
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  out.push_back('`');
}

// The base tables of a FROM clause in the order `*` lists their columns; false for what the
// tracked columns cannot describe (derived tables, NATURAL / USING joins, which put the joined
// columns first).
bool fromTables(const TableRef* ref, std::vector<const TableName*>& out) {
  if (const auto* t = ref->as<BaseTable>()) {
    out.push_back(t->table);
    return true;
  }
  const auto* j = ref->as<Join>();
  if (j == nullptr || !j->usingColumns.empty() || j->join == JoinKind::kNatural ||
      j->join == JoinKind::kNaturalLeft || j->join == JoinKind::kNaturalRight) {
    return false;
  }
  return fromTables(j->left, out) && fromTables(j->right, out);
}

bool hasStar(const SelectBlock& b) {
  for (const SelectItem* item : b.items)
    if (item->expr->kind == ExprKind::kStar) return true;
  return false;
}

// Whether a merge of `b` needs the positions of the columns its `*` stands for. A plain
// `SELECT * ... ORDER BY col LIMIT n` does not (its keys are hidden columns after the `*`), and
// keeps the `*`: it stays right even when the tracked columns are behind the shards'.
bool needsPositions(const SelectBlock& b) {
  if (b.hasAggregate || !b.groupBy.empty() || b.distinct) return true;
  for (const SelectItem* item : b.items)
    if (item->expr->kind != ExprKind::kStar) return true;  // an alias or a column to match
  for (const OrderItem* o : b.orderBy) {
    const auto* lit = o->expr->as<Literal>();
    if (lit != nullptr && lit->type == LiteralType::kInteger) return true;
  }
  return false;
}

}  // namespace

bool Run::starColumns(const SelectBlock& b, const Star& star, std::string& out) {
  std::vector<const TableName*> tables;
  for (const TableRef* ref : b.from)
    if (!fromTables(ref, tables)) return false;
  bool any = false;
  for (const TableName* t : tables) {
    if (t->cte) return false;
    std::string_view db = t->db.empty() ? in_.schema : t->db.name;
    if (keyspaceForDb(db) != ks_ || isSystemSchema(db)) return false;
    std::string_view qualifier = t->alias.empty() ? t->name.name : t->alias.name;
    if (!star.table.empty()) {
      if (!iequals(star.table.name, qualifier)) continue;
      if (!star.db.empty() && (!t->alias.empty() || !iequals(star.db.name, db))) continue;
    }
    const TrackedTable* tracked = in_.tracked->table(ks_->name, t->name.name);
    if (tracked == nullptr || tracked->columns.empty()) return false;
    for (const TrackedColumn& c : tracked->columns) {
      if (any) out.append(", ");
      appendQuoted(out, qualifier);
      out.push_back('.');
      appendQuoted(out, c.name);
      any = true;
    }
  }
  return any;
}

// LOCK TABLES on a sharded keyspace: every shard's primary takes the locks (a restored dump locks
// each table while it inserts; its rows go to every shard), and the session's statements go to
// the primaries until UNLOCK TABLES (the proxy's session forces them there).
// (An open transaction was committed by the session first, as the server would.)
void Run::planLockTables(const LockTablesStatement& st) {
  for (const LockedTable* l : st.locks) {
    std::string_view db = l->table->db.empty() ? in_.schema : l->table->db.name;
    if (isSystemSchema(db) || l->table->cte) continue;
    if (snap_.findTable(ks_->name, l->table->name.name) == nullptr) {
      fail(ErrorCode::kNoTableRule,
           fmt::format("Table '{}' has no table rule in sharded keyspace '{}', so the proxy "
                       "cannot tell where its rows are (CREATE SHARDED TABLE or CREATE "
                       "REFERENCE TABLE on the admin port)",
                       l->table->name.name, ks_->name));
      return;
    }
  }
  plan_.role = Role::kPrimary;
  plan_.reason = "LOCK TABLES: every shard's primary";
  targetAll(PlanKind::kScatter);
}

const Query* Run::expandedStars(const Query& q) {
  if (in_.tracked == nullptr) return nullptr;
  std::vector<const SelectBlock*> blocks;
  if (const auto* b = q.as<SelectBlock>()) {
    if (!hasStar(*b) || !needsPositions(*b)) return nullptr;
    blocks.push_back(b);
  } else {
    for (const SetOperand* o : q.as<SetOperation>()->operands) {
      const auto* b = o->query->as<SelectBlock>();
      if (b != nullptr && hasStar(*b)) blocks.push_back(b);
    }
    if (blocks.empty()) return nullptr;
  }
  // Only the statement's own query: the re-read text must give it back as the top query.
  const std::string_view text = plan_.text;
  if (q.text.data() < text.data() || q.text.data() + q.text.size() > text.data() + text.size()) {
    return nullptr;
  }
  std::string next;
  std::size_t copied = 0;
  for (const SelectBlock* b : blocks) {
    for (const SelectItem* item : b->items) {
      const auto* star = item->expr->as<Star>();
      if (star == nullptr) continue;
      const auto at = static_cast<std::size_t>(star->text.data() - text.data());
      next.append(text.substr(copied, at - copied));
      if (!starColumns(*b, *star, next)) return nullptr;
      copied = at + star->text.size();
    }
  }
  next.append(text.substr(copied));
  if (!s_.reparser) s_.reparser = std::make_unique<sql::Parser>();
  s_.reparser->setOptions(in_.parseOptions != nullptr ? *in_.parseOptions : sql::ParseOptions{});
  s_.expandedText = std::move(next);
  sql::ParseResult r = s_.reparser->parse(s_.expandedText);
  if (!r) return nullptr;
  const auto* st = r.statement().as<SelectStatement>();
  if (st == nullptr || st->query == nullptr || st->query->kind != q.kind) return nullptr;
  plan_.text = s_.expandedText;
  return st->query;
}

bool Run::insertColumns(const InsertStatement& st, const catalog::TableRule& rule) {
  std::vector<std::string_view>& out = s_.insertColumns;
  out.clear();
  const std::string_view table = st.table->name.name;
  const bool ownList = !st.columns.empty();
  if (ownList) {
    for (const Column* c : st.columns)
      out.push_back(c->column.name);
  } else if (!st.rows.empty() && !st.rows[0]->values.empty()) {
    if (in_.tracked == nullptr) {
      return fail(ErrorCode::kShardKeyRequired,
                  fmt::format("INSERT into sharded table '{}' without a column list: the proxy "
                              "does not track table schemas (it needs --dba-user to read them), "
                              "so it cannot find shard key '{}'; name the columns",
                              table, rule.shardKey));
    }
    const TrackedTable* tracked = in_.tracked->table(ks_->name, table);
    if (tracked == nullptr) {
      const bool loaded = in_.tracked->keyspace(ks_->name) != nullptr;
      return fail(
          ErrorCode::kShardKeyRequired,
          fmt::format(
              "INSERT into sharded table '{}' without a column list: the proxy does not "
              "know the table's columns {}, so it cannot find shard key '{}'. The proxy "
              "reads them after each DDL statement it runs and on a timer "
              "(schema_refresh_interval_ms); name the columns, or retry after the table "
              "was created through the proxy",
              table,
              loaded ? fmt::format("(keyspace '{}' had no such table when last read)", ks_->name)
                     : fmt::format("(keyspace '{}' was not read yet)", ks_->name),
              rule.shardKey));
    }
    for (const TrackedColumn& c : tracked->columns)
      out.push_back(c.name);
  }
  // As the server checks it: every row gives one value per column (`VALUES ()` fills none, as
  // the first row decides when the statement names no columns).
  for (std::size_t i = 0; i < st.rows.size(); ++i) {
    if (st.rows[i]->values.size() == out.size()) continue;
    plan_.kind = PlanKind::kError;
    plan_.error = Error::fromServer(
        1136, "21S01", fmt::format("Column count doesn't match value count at row {}", i + 1));
    failed_ = true;
    return false;
  }
  return true;
}

}  // namespace shardproxy::router::planning
