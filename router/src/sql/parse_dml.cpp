// Data-changing statements (reference manual 15.2.7 INSERT, 15.2.12 REPLACE, 15.2.17 UPDATE,
// 15.2.2 DELETE). INSERT rows keep their text so the planner can send each shard only its rows.
#include <algorithm>

#include "grammar.h"

namespace shardproxy::router::sql::detail {
namespace {

// A column reference where the grammar wants one (INSERT column lists, SET targets).
const Column* asColumn(const Expr* e) {
  return e != nullptr ? e->as<Column>() : nullptr;
}

}  // namespace

Statement* Grammar::insertStatement() {
  auto* s = make<InsertStatement>();
  s->replace = tok_.is(Kw::kReplace);
  advance();
  if (tok_.is(Kw::kLowPriority) || tok_.is(Kw::kDelayed) || tok_.is(Kw::kHighPriority)) {
    s->priority = textOf(tok_);
    advance();
  }
  s->ignore = accept(Kw::kIgnore);
  accept(Kw::kInto);
  s->table = tableName(false);
  if (s->table == nullptr) return nullptr;
  if (tok_.is(TokenKind::kLParen) && !queryAhead()) {
    advance();
    std::size_t mark = listMark();
    if (!tok_.is(TokenKind::kRParen)) {
      do {
        if (!atName()) return failUnexpected("a column name");
        const Column* c = asColumn(columnOrFunction());
        if (c == nullptr) return failed_ ? nullptr : fail("expected a column name");
        listPush(c);
      } while (accept(TokenKind::kComma));
    }
    if (!expect(TokenKind::kRParen, "')'")) return nullptr;
    s->columns = listFinish<Column>(mark);
  }
  if (tok_.is(Kw::kValues) || tok_.is(Kw::kValue)) {
    advance();
    s->source = InsertSource::kValues;
    if (!insertRows(s)) return nullptr;
    if (accept(Kw::kAs)) {
      if (!name(s->rowAlias, "a row alias")) return nullptr;
      if (tok_.is(TokenKind::kLParen) && !nameList(s->rowAliasColumns, "a column name")) {
        return nullptr;
      }
    }
  } else if (tok_.is(Kw::kSet)) {
    advance();
    s->source = InsertSource::kSet;
    if (!assignments(s->set)) return nullptr;
  } else if (startsQuery(tok_) || tok_.is(TokenKind::kLParen)) {
    s->source = InsertSource::kSelect;
    s->select = query();
    if (s->select == nullptr) return nullptr;
  } else {
    return failUnexpected("VALUES, SET or SELECT");
  }
  if (accept(Kw::kOn)) {
    if (!expect(Kw::kDuplicate) || !expect(Kw::kKey) || !expect(Kw::kUpdate)) return nullptr;
    if (!assignments(s->onDuplicate)) return nullptr;
  }
  return s;
}

// (v, ...), (v, ...) — also ROW(v, ...) — with DEFAULT allowed as a value; "()" is a row too.
bool Grammar::insertRows(InsertStatement* s) {
  const std::uint32_t rowsBegin = tok_.begin;
  std::size_t mark = listMark();
  do {
    const std::uint32_t begin = tok_.begin;
    if (tok_.is(Kw::kRow) && peek().is(TokenKind::kLParen)) advance();
    if (!expect(TokenKind::kLParen, "'('")) return false;
    std::size_t values = listMark();
    if (!tok_.is(TokenKind::kRParen)) {
      do {
        const Expr* v = valueOrDefault();
        if (v == nullptr) return false;
        listPush(v);
      } while (accept(TokenKind::kComma));
    }
    if (!expect(TokenKind::kRParen, "')'")) return false;
    auto* row = make<InsertRow>();
    row->values = listFinish<Expr>(values);
    row->text = since(begin);
    listPush(row);
  } while (accept(TokenKind::kComma));
  s->rows = listFinish<InsertRow>(mark);
  s->rowsText = since(rowsBegin);
  return true;
}

// col = value, ... (INSERT ... SET, ON DUPLICATE KEY UPDATE, UPDATE ... SET)
bool Grammar::assignments(List<Assignment>& out) {
  std::size_t mark = listMark();
  do {
    const std::uint32_t begin = tok_.begin;
    auto* a = make<Assignment>();
    if (!atName()) {
      failUnexpected("a column name");
      return false;
    }
    a->column = asColumn(columnOrFunction());
    if (a->column == nullptr) {
      if (!failed_) failAt(begin, "expected a column name");
      return false;
    }
    if (!accept(TokenKind::kEq) && !expect(TokenKind::kAssign, "'='")) return false;
    a->value = valueOrDefault();
    if (a->value == nullptr) return false;
    a->text = since(begin);
    listPush(a);
  } while (accept(TokenKind::kComma));
  out = listFinish<Assignment>(mark);
  return true;
}

// UPDATE [LOW_PRIORITY] [IGNORE] table_references SET ... [WHERE] [ORDER BY] [LIMIT n]
Statement* Grammar::updateStatement() {
  auto* s = make<UpdateStatement>();
  advance();  // UPDATE
  s->lowPriority = accept(Kw::kLowPriority);
  s->ignore = accept(Kw::kIgnore);
  if (!tableRefs(s->tableRefs) || !expect(Kw::kSet) || !assignments(s->set)) return nullptr;
  if (accept(Kw::kWhere)) {
    s->where = expr();
    if (s->where == nullptr) return nullptr;
  }
  if (tok_.is(Kw::kOrder) && !orderBy(s->orderBy)) return nullptr;
  if (tok_.is(Kw::kLimit)) {
    s->limit = limit();
    if (s->limit == nullptr) return nullptr;
  }
  return s;
}

// DELETE [LOW_PRIORITY] [QUICK] [IGNORE]
//   FROM tbl [[AS] alias] [PARTITION (...)] [WHERE] [ORDER BY] [LIMIT]   single-table
//   t1[.*], ... FROM table_references [WHERE]                           multi-table
//   FROM t1[.*], ... USING table_references [WHERE]                     multi-table
Statement* Grammar::deleteStatement() {
  auto* s = make<DeleteStatement>();
  advance();  // DELETE
  for (;;) {
    if (accept(Kw::kLowPriority)) {
      s->lowPriority = true;
    } else if (accept(Kw::kQuick)) {
      s->quick = true;
    } else if (accept(Kw::kIgnore)) {
      s->ignore = true;
    } else {
      break;
    }
  }
  const bool fromFirst = accept(Kw::kFrom);
  // The targets: names with an optional .* (multi-table) — or the single table.
  std::size_t mark = listMark();
  bool starred = false;
  do {
    const std::uint32_t begin = tok_.begin;
    auto* t = make<TableName>();
    if (!name(t->name, "a table name")) return nullptr;
    if (accept(TokenKind::kDot)) {
      if (accept(TokenKind::kStar)) {
        starred = true;
      } else {
        t->db = t->name;
        if (!tok_.is(TokenKind::kWord) && !tok_.is(TokenKind::kQuotedIdent)) {
          return failUnexpected("a table name");
        }
        t->name = nameFromToken(tok_);
        advance();
        if (accept(TokenKind::kDot)) {
          if (!expect(TokenKind::kStar, "'*'")) return nullptr;
          starred = true;
        }
      }
    }
    t->text = since(begin);
    listPush(t);
  } while (accept(TokenKind::kComma));
  s->targets = listFinish<TableName>(mark);
  s->multiTable = !fromFirst || starred || s->targets.size() > 1 || tok_.is(Kw::kUsing);
  if (s->multiTable) {
    if (fromFirst ? !expect(Kw::kUsing) : !expect(Kw::kFrom)) return nullptr;
    if (!tableRefs(s->from)) return nullptr;
  } else {
    // Single-table: finish the table reference the target started.
    auto* t = const_cast<TableName*>(s->targets[0]);
    const auto begin = static_cast<std::uint32_t>(t->text.data() - sql_.data());
    if (tok_.is(Kw::kPartition)) {
      const std::uint32_t p = tok_.begin;
      advance();
      if (skipParenthesized().empty()) return nullptr;
      t->partitions = since(p);
    }
    if (!optionalAlias(t->alias, false)) return nullptr;
    t->text = since(begin);
    for (const Ident* cte : scratch_.ctes)
      t->cte = t->cte || cte->name == t->name.name;
    scratch_.tables.push_back(t);
    auto* ref = make<BaseTable>();
    ref->table = t;
    std::size_t fromMark = listMark();
    listPush(done(ref, begin));
    s->from = listFinish<TableRef>(fromMark);
  }
  if (accept(Kw::kWhere)) {
    s->where = expr();
    if (s->where == nullptr) return nullptr;
  }
  if (!s->multiTable) {
    if (tok_.is(Kw::kOrder) && !orderBy(s->orderBy)) return nullptr;
    if (tok_.is(Kw::kLimit)) {
      s->limit = limit();
      if (s->limit == nullptr) return nullptr;
    }
  }
  return s;
}

}  // namespace shardproxy::router::sql::detail
