#include "sqlite_util.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include "catalog_errors.h"

namespace shardproxy::catalog::detail {

Error sqliteError(sqlite3* db, std::string_view what) {
  const int code = db != nullptr ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  return ioError(fmt::format("catalog: {} failed: {} (SQLite error {})", what, msg, code));
}

Status exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return sqliteError(db, sql);
  return {};
}

Statement::Statement(sqlite3* db, const char* sql) : db_(db), sql_(sql) {
  if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
    error_ = sqliteError(db, fmt::format("preparing \"{}\"", sql_));
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

// A bind failure (bad index, OOM) is remembered and reported by step(), so call sites can chain.
void Statement::checkBind(int rc, int index) {
  if (rc != SQLITE_OK && !error_) {
    error_ = sqliteError(db_, fmt::format("binding parameter {} of \"{}\"", index, sql_));
  }
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (stmt_ != nullptr) checkBind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  if (stmt_ != nullptr) {
    checkBind(
        sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
        index);
  }
  return *this;
}

Statement& Statement::bindBlob(int index, std::string_view bytes) {
  // A zero-length blob, not NULL, for an empty password hash (data() may be null when empty).
  static const char kEmpty = 0;
  const char* data = bytes.empty() ? &kEmpty : bytes.data();
  if (stmt_ != nullptr) {
    checkBind(sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT), index);
  }
  return *this;
}

Statement& Statement::bindReal(int index, double value) {
  if (stmt_ != nullptr) checkBind(sqlite3_bind_double(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bindNull(int index) {
  if (stmt_ != nullptr) checkBind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Statement& Statement::bindOptional(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bindNull(index);
}

Result<bool> Statement::step() {
  if (error_) return *error_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqliteError(db_, fmt::format("\"{}\"", sql_));
}

Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.takeError();
    if (!*row) return {};
  }
}

void Statement::reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (stmt_ != nullptr) error_.reset();
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p != nullptr ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::string Statement::blob(int column) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p != nullptr ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

bool Statement::isNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<Transaction> Transaction::begin(sqlite3* db, Kind kind) {
  Status s = exec(db, kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!s) return s.takeError();
  return Transaction(db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(other.db_) {
  other.db_ = nullptr;
}

Transaction::~Transaction() {
  rollback();
}

Status Transaction::commit() {
  if (db_ == nullptr) {
    return Error::make(ErrorCode::kInternal, "catalog: commit without a transaction");
  }
  Status s = exec(db_, "COMMIT");
  if (!s) {
    rollback();
    return s;
  }
  db_ = nullptr;
  return {};
}

void Transaction::rollback() {
  if (db_ == nullptr) return;
  // Fails harmlessly when SQLite already rolled back on its own (e.g. after SQLITE_FULL).
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  db_ = nullptr;
}

}  // namespace shardproxy::catalog::detail
