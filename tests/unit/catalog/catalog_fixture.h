// A fresh catalog file per test, and the check every rejected change must pass: an error with
// the expected code and message, and the catalog exactly as before (content, version, log).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>

#include "catalog_errors.h"
#include "shardproxy/catalog/catalog.h"

namespace shardproxy::catalog::test {

inline std::filesystem::path freshDir() {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("catalog_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline Endpoint ep(std::uint16_t port, std::string host = "127.0.0.1") {
  return Endpoint{std::move(host), port};
}

// Runs SQL on the file over a separate connection (as a DBA with the sqlite3 shell would);
// returns the first column of the first row as text ("" when none).
inline std::string query(const std::string& file, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  const int rc = sqlite3_step(st);
  EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sqlite3_errmsg(db);
  if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

inline const ErrorCode kInvariant = detail::invariantCode();
inline const ErrorCode kNotFound = detail::notFoundCode();
inline const ErrorCode kExists = detail::existsCode();

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = freshDir();
    catalog_ = openCatalog(path());
  }
  void TearDown() override {
    catalog_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string path(const std::string& name = "catalog.db") const { return (dir_ / name).string(); }

  static std::unique_ptr<Catalog> openCatalog(const std::string& file) {
    auto opened = Catalog::open(file);
    EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  Catalog& cat() { return *catalog_; }
  ChangeContext ctx(std::string statement = "test statement") {
    return ChangeContext{"tester@127.0.0.1", std::move(statement)};
  }

  SnapshotPtr snap() {
    auto s = catalog_->snapshot();
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? *s : nullptr;
  }

  std::string dump() {
    auto json = catalog_->exportJson();
    EXPECT_TRUE(json.ok()) << (json.ok() ? "" : json.error().message);
    return json.ok() ? *json : std::string();
  }

  // Applies a change that must succeed.
  void ok(const Status& s) { ASSERT_TRUE(s.ok()) << s.error().message; }

  // A sharded keyspace "shop" with -80 (primary :13306, replica :13307) and 80- (primary :13308).
  void makeShop() {
    ok(cat().createKeyspace("shop", true, ctx()));
    ok(cat().createShard("shop", "-80", ep(13306), {ep(13307)}, true, ctx()));
    ok(cat().createShard("shop", "80-", ep(13308), {}, true, ctx()));
  }

  void expectRejected(const std::function<Status()>& change, ErrorCode code,
                      const std::string& messagePart) {
    const std::string before = dump();
    const std::uint64_t version = cat().version();
    const Status s = change();
    ASSERT_FALSE(s.ok()) << "expected a rejection mentioning: " << messagePart;
    EXPECT_EQ(static_cast<int>(s.error().code), static_cast<int>(code)) << s.error().message;
    EXPECT_THAT(s.error().message, ::testing::HasSubstr(messagePart));
    EXPECT_EQ(cat().version(), version);
    EXPECT_EQ(dump(), before);
    EXPECT_EQ(snap()->version, version);
    auto log = cat().changes(1);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ(log->empty() ? 0 : log->front().version, version);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Catalog> catalog_;
};

}  // namespace shardproxy::catalog::test
