// S-expression rendering of statements (see dump.h).
#include <array>

#include "printer.h"

namespace shardproxy::router::sql::detail {
namespace {

constexpr std::array<std::string_view, 7> kTransactionNames = {
    "BEGIN", "START", "COMMIT", "ROLLBACK", "ROLLBACK_TO", "SAVEPOINT", "RELEASE"};
constexpr std::array<std::string_view, 5> kDdlNames = {"CREATE", "ALTER", "DROP", "TRUNCATE",
                                                       "RENAME"};
constexpr std::array<std::string_view, 6> kScopeNames = {"",       "GLOBAL ",  "SESSION ",
                                                         "LOCAL ", "PERSIST ", "PERSIST_ONLY "};
constexpr std::array<std::string_view, 3> kAccessNames = {"", " READ_ONLY", " READ_WRITE"};

}  // namespace

void Printer::statement(const Statement& st) {
  switch (st.kind) {
    case StatementKind::kSelect:
      return query(st.as<SelectStatement>()->query);
    case StatementKind::kInsert:
      return insert(*st.as<InsertStatement>());
    case StatementKind::kUpdate:
      return update(*st.as<UpdateStatement>());
    case StatementKind::kDelete:
      return remove(*st.as<DeleteStatement>());
    case StatementKind::kTransaction:
      return transaction(*st.as<TransactionStatement>());
    case StatementKind::kSet:
      return set(*st.as<SetStatement>());
    case StatementKind::kUse:
      return use(*st.as<UseStatement>());
    case StatementKind::kShow:
      return show(*st.as<ShowStatement>());
    case StatementKind::kDdl:
      return ddl(*st.as<DdlStatement>());
    case StatementKind::kLockTables:
      return lockTables(*st.as<LockTablesStatement>());
    case StatementKind::kUnlockTables:
      out += "(UNLOCK_TABLES)";
      return;
    case StatementKind::kExplain:
      return explain(*st.as<ExplainStatement>());
    case StatementKind::kOther:
      return other(st);
  }
}

void Printer::insert(const InsertStatement& s) {
  out += s.replace ? "(REPLACE " : "(INSERT ";
  if (s.ignore) out += "IGNORE ";
  tableName(*s.table);
  if (!s.columns.empty()) out += " (COLUMNS";
  for (const Column* c : s.columns) {
    out += ' ';
    expr(c);
  }
  if (!s.columns.empty()) out += ')';
  if (s.source == InsertSource::kValues) {
    out += " (VALUES";
    for (const InsertRow* r : s.rows) {
      out += " (";
      list(r->values);
      out += ')';
    }
    out += ')';
  } else if (s.source == InsertSource::kSet) {
    assignments("SET", s.set);
  } else {
    out += ' ';
    query(s.select);
  }
  if (!s.onDuplicate.empty()) assignments("ON_DUPLICATE", s.onDuplicate);
  out += ')';
}

void Printer::assignments(std::string_view head, List<Assignment> items) {
  out += " (";
  out += head;
  for (const Assignment* a : items) {
    out += " (= ";
    expr(a->column);
    out += ' ';
    expr(a->value);
    out += ')';
  }
  out += ')';
}

void Printer::update(const UpdateStatement& u) {
  out += "(UPDATE ";
  tables(u.tableRefs);
  assignments("SET", u.set);
  where(u.where);
  if (!u.orderBy.empty()) {
    out += ' ';
    orderBy(u.orderBy);
  }
  if (u.limit != nullptr) limit(u.limit);
  out += ')';
}

void Printer::remove(const DeleteStatement& d) {
  out += "(DELETE";
  for (const TableName* t : d.targets) {
    if (!d.multiTable) break;
    out += ' ';
    tableName(*t);
  }
  out += " (FROM ";
  tables(d.from);
  out += ')';
  where(d.where);
  if (!d.orderBy.empty()) {
    out += ' ';
    orderBy(d.orderBy);
  }
  if (d.limit != nullptr) limit(d.limit);
  out += ')';
}

void Printer::transaction(const TransactionStatement& t) {
  out += '(';
  out += kTransactionNames[static_cast<std::size_t>(t.action)];
  if (t.consistentSnapshot) out += " CONSISTENT_SNAPSHOT";
  out += kAccessNames[static_cast<std::size_t>(t.access)];
  if (!t.savepoint.empty()) {
    out += ' ';
    name(t.savepoint);
  }
  if (t.chain != Toggle::kDefault) out += t.chain == Toggle::kYes ? " CHAIN" : " NO_CHAIN";
  if (t.release != Toggle::kDefault) out += t.release == Toggle::kYes ? " RELEASE" : " NO_RELEASE";
  out += ')';
}

void Printer::set(const SetStatement& s) {
  out += "(SET";
  for (const SetItem* i : s.items)
    setItem(*i);
  out += ')';
}

void Printer::setItem(const SetItem& i) {
  out += " (";
  switch (i.kind) {
    case SetItemKind::kVariable:
      out += kScopeNames[static_cast<std::size_t>(i.scope)];
      if (i.userVariable) out += '@';
      name(i.name);
      out += ' ';
      expr(i.value);
      break;
    case SetItemKind::kNames:
    case SetItemKind::kCharset:
      out += i.kind == SetItemKind::kNames ? "NAMES " : "CHARSET ";
      name(i.charset);
      if (!i.collation.empty()) out += " COLLATE ";
      name(i.collation);
      break;
    case SetItemKind::kTransaction:
      out += kScopeNames[static_cast<std::size_t>(i.scope)];
      out += "TRANSACTION";
      if (!i.isolation.empty()) {
        out += " ISOLATION ";
        out += i.isolation;
      }
      out += kAccessNames[static_cast<std::size_t>(i.access)];
      break;
  }
  out += ')';
}

void Printer::use(const UseStatement& u) {
  out += "(USE ";
  name(u.database);
  out += ')';
}

void Printer::show(const ShowStatement& s) {
  out += s.full ? "(SHOW FULL " : "(SHOW ";
  out += s.kindText;
  if (s.table != nullptr) {
    out += ' ';
    tableName(*s.table);
  }
  if (!s.object.empty()) {
    out += ' ';
    name(s.object);
  }
  if (!s.database.empty()) {
    out += " (FROM ";
    name(s.database);
    out += ')';
  }
  if (s.like != nullptr) {
    out += " (LIKE ";
    expr(s.like);
    out += ')';
  }
  where(s.where);
  out += ')';
}

void Printer::ddl(const DdlStatement& d) {
  out += '(';
  out += kDdlNames[static_cast<std::size_t>(d.action)];
  out += d.object == DdlObject::kTable ? " TABLE" : " INDEX ";
  name(d.index);
  for (const TableName* t : d.targets) {
    out += ' ';
    tableName(*t);
  }
  out += ')';
}

void Printer::lockTables(const LockTablesStatement& l) {
  out += "(LOCK_TABLES";
  for (const LockedTable* t : l.locks) {
    out += " (";
    tableName(*t->table);
    out += t->write ? " WRITE)" : " READ)";
  }
  out += ')';
}

void Printer::explain(const ExplainStatement& e) {
  out += e.route ? "(EXPLAIN_ROUTE " : "(EXPLAIN ";
  if (e.explained != nullptr) {
    statement(*e.explained);
  } else if (e.table != nullptr) {
    tableName(*e.table);
  } else {
    out += e.rest;
  }
  out += ')';
}

void Printer::other(const Statement& st) {
  out += "(OTHER ";
  out += st.firstKeyword;
  out += ')';
}

}  // namespace shardproxy::router::sql::detail
