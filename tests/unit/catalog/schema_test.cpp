// The catalog file's own schema: creation, upgrade of an older file, refusal of a newer one.
#include <fstream>

#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

class CatalogSchema : public CatalogTest {};

TEST_F(CatalogSchema, NewFileGetsTheCurrentSchemaInWalMode) {
  EXPECT_EQ(query(path(), "PRAGMA user_version"), std::to_string(Catalog::kSchemaVersion));
  EXPECT_EQ(query(path(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query(path(), "SELECT catalog_version FROM meta"), "0");
  for (const char* table :
       {"keyspaces", "shards", "backends", "table_rules", "users", "user_keyspaces", "change_log",
        "meta", "migrations", "migration_tables", "migration_streams"}) {
    EXPECT_EQ(query(path(),
                    std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") + table + "'"),
              "1")
        << table;
  }
  EXPECT_EQ(cat().version(), 0u);
  auto empty = cat().empty();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(*empty);
}

TEST_F(CatalogSchema, UpgradesAHandMadeVersionZeroFile) {
  const std::string file = path("old.db");
  std::ofstream(file).close();  // a zero-length file is an empty SQLite database, user_version 0
  auto catalog = openCatalog(file);
  ASSERT_TRUE(catalog);
  EXPECT_EQ(query(file, "PRAGMA user_version"), std::to_string(Catalog::kSchemaVersion));
  ASSERT_TRUE(catalog->createKeyspace("shop", true, ctx()).ok());
  EXPECT_EQ(catalog->version(), 1u);
}

TEST_F(CatalogSchema, UpgradeKeepsUnrelatedTablesOfAVersionZeroFile) {
  const std::string file = path("old.db");
  query(file, "CREATE TABLE notes (text TEXT)");
  query(file, "INSERT INTO notes VALUES ('kept')");
  ASSERT_EQ(query(file, "PRAGMA user_version"), "0");
  auto catalog = openCatalog(file);
  ASSERT_TRUE(catalog);
  EXPECT_EQ(query(file, "SELECT text FROM notes"), "kept");
  EXPECT_EQ(query(file, "PRAGMA user_version"), std::to_string(Catalog::kSchemaVersion));
}

TEST_F(CatalogSchema, FailedUpgradeLeavesTheFileAtItsOldVersion) {
  const std::string file = path("clash.db");
  query(file, "CREATE TABLE keyspaces (x)");  // step 1 cannot create its own `keyspaces`
  auto opened = Catalog::open(file);
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.error().message, ::testing::HasSubstr("from version 0 to 1 failed"));
  EXPECT_EQ(query(file, "PRAGMA user_version"), "0");
  EXPECT_EQ(query(file, "SELECT count(*) FROM sqlite_schema WHERE name = 'shards'"), "0");
}

TEST_F(CatalogSchema, UpgradesAVersionTwoFileWithScatterWritesAllowed) {
  // A version-2 file: everything but steps 3 and 4 (the test drops what they added).
  const std::string file = path("v2.db");
  {
    auto v2 = openCatalog(file);
    ASSERT_TRUE(v2);
    ASSERT_TRUE(v2->createKeyspace("shop", true, ctx()).ok());
    ASSERT_TRUE(v2->createShard("shop", "-80", ep(1), {}, true, ctx()).ok());
  }
  query(file, "ALTER TABLE keyspaces DROP COLUMN scatter_writes");
  query(file, "ALTER TABLE keyspaces DROP COLUMN auto_failover");  // step 8's
  query(file, "DROP TABLE ha_events");
  query(file, "ALTER TABLE keyspaces DROP COLUMN transaction_mode");
  query(file, "DROP TABLE twopc_decisions");
  query(file, "DROP TABLE catalog_identity");
  query(file, "DROP TABLE lookup_keys");  // step 6's
  query(file, "DROP TABLE sequences");    // step 5's
  query(file, "PRAGMA user_version = 2");
  ASSERT_EQ(query(file,
                  "SELECT count(*) FROM pragma_table_info('keyspaces') WHERE name = "
                  "'scatter_writes'"),
            "0");

  auto upgraded = openCatalog(file);
  ASSERT_TRUE(upgraded);
  EXPECT_EQ(query(file, "PRAGMA user_version"), std::to_string(Catalog::kSchemaVersion));
  EXPECT_EQ(upgraded->version(), 2u);  // content and version kept
  EXPECT_EQ(query(file, "SELECT transaction_mode FROM keyspaces"), "multi");
  EXPECT_EQ(query(file, "SELECT length(id) FROM catalog_identity"), "8");
  auto snap = upgraded->snapshot();
  ASSERT_TRUE(snap.ok());
  ASSERT_NE((*snap)->findKeyspace("shop"), nullptr);
  EXPECT_EQ((*snap)->findKeyspace("shop")->scatterWrites, ScatterWrites::kAllow);
  EXPECT_EQ((*snap)->shards.size(), 1u);
  ASSERT_TRUE(upgraded->setScatterWrites("shop", ScatterWrites::kDeny, ctx()).ok());
  EXPECT_EQ(query(file, "SELECT scatter_writes FROM keyspaces"), "deny");
  ASSERT_TRUE(upgraded->setTransactionMode("shop", TransactionMode::kTwoPc, ctx()).ok());
  EXPECT_EQ(query(file, "SELECT transaction_mode FROM keyspaces"), "twopc");
  EXPECT_EQ((*upgraded->snapshot())->findKeyspace("shop")->transactionMode,
            TransactionMode::kTwoPc);
}

TEST_F(CatalogSchema, RefusesAFileFromANewerShardproxy) {
  const std::string file = path("new.db");
  query(file, "PRAGMA user_version = " + std::to_string(Catalog::kSchemaVersion + 1));
  auto opened = Catalog::open(file);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().message, "catalog file " + file + " has schema version " +
                                        std::to_string(Catalog::kSchemaVersion + 1) +
                                        ", newer than this shardproxy supports (" +
                                        std::to_string(Catalog::kSchemaVersion) +
                                        "); upgrade shardproxy");
  EXPECT_EQ(query(file, "PRAGMA user_version"), std::to_string(Catalog::kSchemaVersion + 1));
}

TEST_F(CatalogSchema, RefusesAFileThatIsNotSqlite) {
  const std::string file = path("garbage.db");
  std::ofstream(file) << "this is not a database, it is a text file of some length........";
  auto opened = Catalog::open(file);
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.error().message, ::testing::HasSubstr(file));
}

TEST_F(CatalogSchema, RefusesAnUnopenablePath) {
  auto opened = Catalog::open(path("no/such/dir/catalog.db"));
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.error().message, ::testing::HasSubstr("cannot be opened"));
}

TEST_F(CatalogSchema, ReopeningKeepsContentAndVersion) {
  makeShop();
  const std::string before = dump();
  const auto version = cat().version();
  catalog_.reset();
  catalog_ = openCatalog(path());
  ASSERT_TRUE(catalog_);
  EXPECT_EQ(cat().version(), version);
  EXPECT_EQ(dump(), before);
}

TEST_F(CatalogSchema, ForeignKeysAreEnforcedOnTheCatalogsConnection) {
  // The store checks existence itself; this shows the schema's own net is switched on too:
  // dropping a shard cascades to its backends only when foreign keys are on.
  makeShop();
  ok(cat().dropShard("shop", "-80", ctx()));
  EXPECT_EQ(query(path(), "SELECT count(*) FROM backends WHERE shard = '-80'"), "0");
}

}  // namespace
}  // namespace shardproxy::catalog::test
