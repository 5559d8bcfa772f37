#include "shardproxy/proxy/admin_executor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "shardproxy/router/keyspace_id.h"

namespace shardproxy::proxy {
namespace {

class AdminExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("admin_exec_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
    auto c = catalog::Catalog::open(path_.string());
    ASSERT_TRUE(c) << c.error().message;
    catalog_ = std::move(*c);
    exec_ = std::make_unique<AdminExecutor>(*catalog_);
  }
  void TearDown() override {
    exec_.reset();
    catalog_.reset();
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_.string() + suffix);
  }
  AdminResult run(std::string_view sql, bool* changedOut = nullptr) {
    bool changed = false;
    AdminResult r = exec_->execute(sql, "admin@test", changed);
    if (changedOut != nullptr) *changedOut = changed;
    return r;
  }
  void ok(std::string_view sql) {
    AdminResult r = run(sql);
    ASSERT_TRUE(std::holds_alternative<AdminOk>(r))
        << sql << ": " << (std::holds_alternative<Error>(r) ? std::get<Error>(r).message : "rows");
  }
  TextResultSet rows(std::string_view sql) {
    AdminResult r = run(sql);
    EXPECT_TRUE(std::holds_alternative<TextResultSet>(r)) << sql;
    return std::holds_alternative<TextResultSet>(r) ? std::get<TextResultSet>(r) : TextResultSet{};
  }
  Error error(std::string_view sql) {
    AdminResult r = run(sql);
    EXPECT_TRUE(std::holds_alternative<Error>(r)) << sql;
    return std::holds_alternative<Error>(r) ? std::get<Error>(r) : Error{};
  }

  std::filesystem::path path_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<AdminExecutor> exec_;
};

TEST_F(AdminExecutorTest, BuildsAShardedKeyspaceShardByShard) {
  bool changed = false;
  run("CREATE KEYSPACE shop SHARDED", &changed);
  EXPECT_TRUE(changed);
  ok("CREATE SHARD shop.`-80` PRIMARY '127.0.0.1:13306' REPLICAS ('127.0.0.1:13307')");
  TextResultSet ks = rows("SHOW KEYSPACES");
  ASSERT_EQ(ks.rows.size(), 1u);
  EXPECT_EQ(ks.rows[0][0], "shop");
  EXPECT_EQ(ks.rows[0][3], "no");   // complete
  EXPECT_EQ(ks.rows[0][4], "80-");  // the uncovered range is named
  ok("CREATE SHARD shop.`80-` PRIMARY '127.0.0.1:13316'");
  ks = rows("show keyspaces");
  EXPECT_EQ(ks.rows[0][3], "yes");
  EXPECT_EQ(ks.rows[0][4], "");
  TextResultSet shards = rows("SHOW SHARDS FROM shop");
  ASSERT_EQ(shards.rows.size(), 2u);
  EXPECT_EQ(shards.rows[0][1], "-80");
  EXPECT_EQ(shards.rows[0][5], "127.0.0.1:13306");
  EXPECT_EQ(shards.rows[0][6], "127.0.0.1:13307");
}

TEST_F(AdminExecutorTest, AlterKeyspaceSetsScatterWritesShownBySHOWKEYSPACES) {
  ok("CREATE KEYSPACE shop SHARDED");
  TextResultSet ks = rows("SHOW KEYSPACES");
  ASSERT_EQ(ks.columns.size(), 8u);
  EXPECT_EQ(ks.columns[5], "scatter_writes");
  EXPECT_EQ(ks.rows[0][5], "allow");
  EXPECT_EQ(ks.columns[6], "transaction_mode");
  EXPECT_EQ(ks.rows[0][6], "multi");
  bool changed = false;
  AdminResult r = run("ALTER KEYSPACE shop SET scatter_writes = 'deny'", &changed);
  ASSERT_TRUE(std::holds_alternative<AdminOk>(r));
  EXPECT_TRUE(changed);  // a new snapshot is published: sessions see it at their next statement
  EXPECT_EQ(std::get<AdminOk>(r).info, "catalog version 2");
  EXPECT_EQ(rows("SHOW KEYSPACES").rows[0][5], "deny");
  EXPECT_EQ(catalog_->snapshot().value()->findKeyspace("shop")->scatterWrites,
            catalog::ScatterWrites::kDeny);
  ok("alter keyspace shop set SCATTER_WRITES = ALLOW");
  EXPECT_EQ(rows("SHOW KEYSPACES").rows[0][5], "allow");
  Error missing = error("ALTER KEYSPACE nosuch SET scatter_writes = deny");
  EXPECT_EQ(missing.mysqlErrno, 1146);
  EXPECT_EQ(missing.message, "keyspace 'nosuch' does not exist");
  EXPECT_EQ(error("ALTER KEYSPACE shop SET scatter_writes = never").mysqlErrno, 1064);
  // Both settings in one statement; each is a change of its own.
  ok("ALTER KEYSPACE shop SET transaction_mode = TwoPC, scatter_writes = deny");
  TextResultSet both = rows("SHOW KEYSPACES");
  EXPECT_EQ(both.rows[0][5], "deny");
  EXPECT_EQ(both.rows[0][6], "twopc");
  ok("ALTER KEYSPACE shop SET transaction_mode = 'single'");
  EXPECT_EQ(catalog_->snapshot().value()->findKeyspace("shop")->transactionMode,
            catalog::TransactionMode::kSingle);
  EXPECT_EQ(error("ALTER KEYSPACE shop SET transaction_mode = xa").mysqlErrno, 1064);
  EXPECT_EQ(error("ALTER KEYSPACE nosuch SET transaction_mode = multi").mysqlErrno, 1146);
  EXPECT_EQ(error("ALTER TABLE shop.orders ADD c INT").mysqlErrno, 1235);
}

TEST_F(AdminExecutorTest, AutoFailoverIsAKeyspaceSettingShownBySHOWKEYSPACES) {
  ok("CREATE KEYSPACE shop SHARDED");
  EXPECT_EQ(rows("SHOW KEYSPACES").columns[7], "auto_failover");
  EXPECT_EQ(rows("SHOW KEYSPACES").rows[0][7], "off");
  ok("SET KEYSPACE shop AUTO FAILOVER ON");
  EXPECT_EQ(rows("SHOW KEYSPACES").rows[0][7], "on");
  EXPECT_TRUE(catalog_->snapshot().value()->findKeyspace("shop")->autoFailover);
  ok("ALTER KEYSPACE shop SET auto_failover = off, transaction_mode = twopc");
  EXPECT_FALSE(catalog_->snapshot().value()->findKeyspace("shop")->autoFailover);
  EXPECT_EQ(catalog_->snapshot().value()->findKeyspace("shop")->transactionMode,
            catalog::TransactionMode::kTwoPc);
  // Unknown keyspace: the catalog's not-found error; nothing changed.
  AdminResult r = run("SET KEYSPACE nope AUTO FAILOVER ON");
  ASSERT_TRUE(std::holds_alternative<Error>(r));
  // Without the DBA account there is no HA manager: SWITCHOVER is refused, clearly.
  r = run("SWITCHOVER SHARD shop.`-80` TO '127.0.0.1:3307'");
  ASSERT_TRUE(std::holds_alternative<Error>(r));
  EXPECT_NE(std::get<Error>(r).message.find("--dba-user"), std::string::npos);
  // SHOW FAILOVERS reads the (empty) record; SHOW BUFFERS shows nothing held.
  EXPECT_EQ(rows("SHOW FAILOVERS").rows.size(), 0u);
  EXPECT_EQ(rows("SHOW BUFFERS").rows.size(), 0u);
}

TEST_F(AdminExecutorTest, SchemaDriftNeedsTheMigrationManager) {
  ok("CREATE KEYSPACE shop SHARDED");
  Error e = error("SHOW SCHEMA DRIFT IN shop");
  EXPECT_EQ(e.code, ErrorCode::kConfigInvalid);
  EXPECT_EQ(e.message, "SHOW SCHEMA DRIFT is not available on this port");
}

TEST_F(AdminExecutorTest, HashFunctionsAndTheIcuVersionOfCiRules) {
  ok("CREATE KEYSPACE shop SHARDED");
  ok("CREATE SHARDED TABLE shop.a SHARD KEY (id)");
  ok("CREATE SHARDED TABLE shop.b SHARD KEY (email) USING xxh3_ci");
  ok("CREATE SHARDED TABLE shop.c SHARD KEY (token) USING XXH3_BIN");
  AdminResult bad = run("CREATE SHARDED TABLE shop.d SHARD KEY (x) USING md5");
  ASSERT_TRUE(std::holds_alternative<Error>(bad));
  EXPECT_NE(std::get<Error>(bad).message.find("not supported"), std::string::npos);
  TextResultSet rs = rows("SHOW TABLE RULES FROM shop");
  ASSERT_EQ(rs.rows.size(), 3u);
  std::size_t hash = 0;
  while (hash < rs.columns.size() && rs.columns[hash] != "hash")
    ++hash;
  ASSERT_LT(hash, rs.columns.size());
  EXPECT_EQ(rs.rows[0][hash].value_or(""), "xxh3");
  // The collator version this build hashes _ci keys with is recorded with the rule.
  EXPECT_EQ(rs.rows[1][hash].value_or(""), "xxh3_ci@" + router::collatorVersion());
  EXPECT_EQ(rs.rows[2][hash].value_or(""), "xxh3_bin");
}

TEST_F(AdminExecutorTest, RejectedChangesLeaveTheCatalogAlone) {
  ok("CREATE KEYSPACE shop SHARDED");
  ok("CREATE SHARD shop.`-80` PRIMARY '127.0.0.1:13306'");
  auto version = catalog_->version();
  bool changed = true;
  Error overlap =
      std::get<Error>(run("CREATE SHARD shop.`40-c0` PRIMARY '127.0.0.1:13316'", &changed));
  EXPECT_FALSE(changed);
  EXPECT_EQ(overlap.code, ErrorCode::kCatalogInvariant);
  EXPECT_NE(overlap.message.find("overlap"), std::string::npos) << overlap.message;
  EXPECT_EQ(catalog_->version(), version);
  EXPECT_EQ(error("CREATE KEYSPACE shop").mysqlErrno, 1050);
  EXPECT_EQ(error("DROP KEYSPACE nosuch").mysqlErrno, 1146);
  EXPECT_EQ(error("SHOW SHARDS FROM nosuch").mysqlErrno, 1146);
  EXPECT_EQ(catalog_->version(), version);
}

TEST_F(AdminExecutorTest, ParseErrorsAndForeignStatements) {
  Error syntax = error("CREATE SHARDD shop.x");
  EXPECT_EQ(syntax.mysqlErrno, 1064);
  EXPECT_EQ(syntax.sqlState, "42000");
  EXPECT_NE(syntax.message.find("near"), std::string::npos);
  Error select = error("SELECT * FROM t");
  EXPECT_EQ(select.mysqlErrno, 1235);
}

TEST_F(AdminExecutorTest, BackendStateAndUsers) {
  ok("CREATE KEYSPACE main");
  ok("CREATE SHARD main.`0` PRIMARY '127.0.0.1:13306'");
  ok("ADD BACKEND '127.0.0.1:13307' TO SHARD main.`0` AS REPLICA WEIGHT 3 MAX LAG 5");
  ok("SET BACKEND '127.0.0.1:13307' DRAINING");
  TextResultSet b = rows("SHOW BACKENDS FROM main");
  ASSERT_EQ(b.rows.size(), 2u);
  bool found = false;
  for (const auto& row : b.rows) {
    if (row[2] == "127.0.0.1:13307") {
      found = true;
      EXPECT_EQ(row[3], "replica");
      EXPECT_EQ(row[4], "3");
      EXPECT_EQ(row[5], "draining");
      EXPECT_EQ(row[6], "5");
    }
  }
  EXPECT_TRUE(found);
  ok("CREATE USER 'app' IDENTIFIED BY 'hunter2' KEYSPACES (main)");
  TextResultSet users = rows("SHOW USERS");
  ASSERT_EQ(users.rows.size(), 1u);
  EXPECT_EQ(users.rows[0][1], "main");
  TextResultSet log = rows("SHOW CATALOG CHANGES LIMIT 1");
  ASSERT_EQ(log.rows.size(), 1u);
  EXPECT_EQ(log.rows[0][2], "admin@test");
  EXPECT_EQ(log.rows[0][3]->find("hunter2"), std::string::npos) << *log.rows[0][3];
  TextResultSet version = rows("SHOW CATALOG VERSION");
  EXPECT_EQ(version.rows[0][0], std::to_string(catalog_->version()));
}

TEST_F(AdminExecutorTest, SequencesAreCreatedShownAndDropped) {
  ok("CREATE KEYSPACE shop SHARDED");
  ok("CREATE SHARDED TABLE shop.orders SHARD KEY (id)");
  ok("CREATE REFERENCE TABLE shop.countries");
  bool changed = false;
  AdminResult r = run("CREATE SEQUENCE FOR shop.orders (id) START WITH 100 CACHE 10", &changed);
  ASSERT_TRUE(std::holds_alternative<AdminOk>(r));
  EXPECT_TRUE(changed);
  TextResultSet rs = rows("SHOW SEQUENCES");
  ASSERT_EQ(rs.columns, (std::vector<std::string>{"keyspace", "table", "column", "next_value",
                                                  "cache", "start"}));
  ASSERT_EQ(rs.rows.size(), 1u);
  EXPECT_EQ(rs.rows[0][0], "shop");
  EXPECT_EQ(rs.rows[0][1], "orders");
  EXPECT_EQ(rs.rows[0][2], "id");
  EXPECT_EQ(rs.rows[0][3], "100");
  EXPECT_EQ(rs.rows[0][4], "10");
  EXPECT_TRUE(rows("SHOW SEQUENCES FROM shop").rows.size() == 1);

  Error twice = error("CREATE SEQUENCE FOR shop.orders (id) START WITH 1");
  EXPECT_EQ(twice.mysqlErrno, 1050);
  EXPECT_EQ(twice.sqlState, "42S01");
  EXPECT_NE(twice.message.find("already has a sequence"), std::string::npos) << twice.message;
  Error noRule = error("CREATE SEQUENCE FOR shop.nope (id) START WITH 1");
  EXPECT_EQ(noRule.mysqlErrno, 1146);
  EXPECT_NE(noRule.message.find("table rule shop.nope does not exist"), std::string::npos);
  Error noKeyspace = error("SHOW SEQUENCES FROM nope");
  EXPECT_EQ(noKeyspace.mysqlErrno, 1146);
  Error reference = error("CREATE SEQUENCE FOR shop.countries (id) START WITH 1");
  EXPECT_EQ(reference.mysqlErrno, 3100);
  EXPECT_NE(reference.message.find("reference table"), std::string::npos);
  Error syntax = error("CREATE SEQUENCE FOR shop.orders (id) CACHE 0");
  EXPECT_EQ(syntax.mysqlErrno, 1064);
  EXPECT_EQ(syntax.sqlState, "42000");

  // Without START WITH the shards are read (as the DBA, through the migration manager): the
  // definition is checked first, and a port without the manager says what to do.
  Error unknown = error("CREATE SEQUENCE FOR shop.nope (id)");
  EXPECT_EQ(unknown.mysqlErrno, 1146);
  ok("DROP SEQUENCE FOR shop.orders");
  Error noManager = error("CREATE SEQUENCE FOR shop.orders (id)");
  EXPECT_NE(noManager.message.find("give START WITH n"), std::string::npos) << noManager.message;
  EXPECT_TRUE(rows("SHOW SEQUENCES").rows.empty());

  Error dropMissing = error("DROP SEQUENCE FOR shop.orders");
  EXPECT_EQ(dropMissing.mysqlErrno, 1146);
  EXPECT_NE(dropMissing.message.find("table shop.orders has no sequence"), std::string::npos);
}

}  // namespace
}  // namespace shardproxy::proxy
