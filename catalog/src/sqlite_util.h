// Small RAII wrappers over SQLite's C API, private to the catalog: a prepared statement that
// finalizes itself, and an IMMEDIATE/deferred transaction that rolls back unless committed.
// Values always travel as bound parameters; SQL text is never built from data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shardproxy/common/errors.h"

struct sqlite3;
struct sqlite3_stmt;

namespace shardproxy::catalog::detail {

// An error for a failed SQLite call: the operation, SQLite's message and extended code.
Error sqliteError(sqlite3* db, std::string_view what);

// Runs SQL without parameters or results (DDL, PRAGMA, BEGIN/COMMIT).
Status exec(sqlite3* db, const char* sql);

class Statement {
 public:
  // Prepares `sql`; a prepare or bind failure is remembered and reported by step().
  Statement(sqlite3* db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite. Chainable: st.bind(1, a).bind(2, b).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bindBlob(int index, std::string_view bytes);
  Statement& bindReal(int index, double value);
  Statement& bindNull(int index);
  Statement& bindOptional(int index, const std::optional<std::string>& text);  // NULL if none

  // true: a row is available; false: done. Errors (constraint, busy, I/O) become Error.
  Result<bool> step();
  // Steps to completion, for statements without results.
  Status run();
  // Rewinds for another execution with new bindings.
  void reset();

  std::int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::string blob(int column) const;
  bool isNull(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  const char* sql_;             // must outlive the Statement: a string literal at every call site
  std::optional<Error> error_;  // from prepare or a bind, reported by step()

  void checkBind(int rc, int index);
};

// One transaction. Immediate transactions take the write lock at BEGIN, so a change never fails
// half way with SQLITE_BUSY on lock upgrade; read transactions (deferred) fix one WAL snapshot.
class Transaction {
 public:
  enum class Kind { kRead, kWrite };
  static Result<Transaction> begin(sqlite3* db, Kind kind);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();  // rolls back unless committed

  Status commit();
  void rollback();

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace shardproxy::catalog::detail
