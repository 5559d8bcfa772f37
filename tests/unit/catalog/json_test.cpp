// The bootstrap/dump JSON: import in one transaction, strict parsing with key paths, and an
// export that round-trips exactly.
#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

class CatalogJson : public CatalogTest {};

constexpr const char* kExample = R"json({"keyspaces": [{"name": "shop", "sharded": true,
   "shards": [{"name": "-80", "serving": true, "backends": [
       {"host": "127.0.0.1", "port": 13306, "role": "primary", "weight": 1, "state": "online", "max_lag": 30},
       {"host": "127.0.0.1", "port": 13307, "role": "replica"}]},
     {"name": "80-", "backends": [
       {"host": "127.0.0.1", "port": 13309, "role": "replica", "weight": 3, "state": "draining", "max_lag": 5},
       {"host": "127.0.0.1", "port": 13308, "role": "primary"}]}],
   "tables": [{"name": "orders", "kind": "sharded", "shard_key": "customer_id"}, {"name": "countries", "kind": "reference"}]},
  {"name": "main", "shards": [{"name": "0", "backends": [{"host": "db1", "port": 3306, "role": "primary"}]}]}],
 "users": [{"name": "app", "password": "secret", "keyspaces": ["shop"]},
           {"name": "ro", "native_hash": "14e65567abdb5135d0cfd9a70b3032c179a49ee7", "sha2_hash": "3881219d087dd9c634373fd33dfa33a2cb6bfc6c520b64b8bb60ef2ceb534ae7"},
           {"name": "guest", "password": ""}]})json";

// What exportJson writes for kExample: sorted by name (shards by range), primaries first,
// every backend field spelled out, users as hashes.
constexpr const char* kExampleExport = R"json({
  "keyspaces": [
    {
      "name": "main",
      "sharded": false,
      "shards": [
        {
          "name": "0",
          "serving": true,
          "backends": [
            {
              "host": "db1",
              "port": 3306,
              "role": "primary",
              "weight": 1,
              "state": "online",
              "max_lag": 30
            }
          ]
        }
      ],
      "tables": []
    },
    {
      "name": "shop",
      "sharded": true,
      "shards": [
        {
          "name": "-80",
          "serving": true,
          "backends": [
            {
              "host": "127.0.0.1",
              "port": 13306,
              "role": "primary",
              "weight": 1,
              "state": "online",
              "max_lag": 30
            },
            {
              "host": "127.0.0.1",
              "port": 13307,
              "role": "replica",
              "weight": 1,
              "state": "online",
              "max_lag": 30
            }
          ]
        },
        {
          "name": "80-",
          "serving": true,
          "backends": [
            {
              "host": "127.0.0.1",
              "port": 13308,
              "role": "primary",
              "weight": 1,
              "state": "online",
              "max_lag": 30
            },
            {
              "host": "127.0.0.1",
              "port": 13309,
              "role": "replica",
              "weight": 3,
              "state": "draining",
              "max_lag": 5
            }
          ]
        }
      ],
      "tables": [
        {
          "name": "countries",
          "kind": "reference"
        },
        {
          "name": "orders",
          "kind": "sharded",
          "shard_key": "customer_id",
          "hash_function": "xxh3"
        }
      ]
    }
  ],
  "users": [
    {
      "name": "app",
      "native_hash": "14e65567abdb5135d0cfd9a70b3032c179a49ee7",
      "sha2_hash": "3881219d087dd9c634373fd33dfa33a2cb6bfc6c520b64b8bb60ef2ceb534ae7",
      "keyspaces": [
        "shop"
      ]
    },
    {
      "name": "guest",
      "native_hash": "",
      "sha2_hash": ""
    },
    {
      "name": "ro",
      "native_hash": "14e65567abdb5135d0cfd9a70b3032c179a49ee7",
      "sha2_hash": "3881219d087dd9c634373fd33dfa33a2cb6bfc6c520b64b8bb60ef2ceb534ae7"
    }
  ]
}
)json";

TEST_F(CatalogJson, ImportsTheDocumentedExample) {
  ok(cat().importJson(kExample, ChangeContext{"bootstrap", "import config.json"}));
  EXPECT_EQ(cat().version(), 1u);  // one change
  auto s = snap();
  ASSERT_EQ(s->keyspaces.size(), 2u);
  const Keyspace& shop = *s->findKeyspace("shop");
  EXPECT_TRUE(shop.sharded);
  EXPECT_TRUE(shop.complete());
  const Backend* replica = s->findBackend(ep(13309));
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(replica->weight, 3u);
  EXPECT_EQ(replica->state, BackendState::kDraining);
  EXPECT_EQ(replica->maxLagSeconds, 5u);
  EXPECT_EQ(s->backends[*s->shards[shop.shards[1]].primary].address, ep(13308));
  EXPECT_EQ(s->findTable("shop", "orders")->shardKey, "customer_id");
  EXPECT_EQ(s->findTable("shop", "countries")->kind, TableKind::kReference);
  EXPECT_FALSE(s->findKeyspace("main")->sharded);
  EXPECT_EQ(s->findUser("app")->nativeHash, s->findUser("ro")->nativeHash);  // same password
  EXPECT_EQ(s->findUser("app")->sha2Hash, s->findUser("ro")->sha2Hash);
  EXPECT_TRUE(s->findUser("guest")->nativeHash.empty());
  auto log = cat().changes(std::nullopt);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ(log->front().who, "bootstrap");
  EXPECT_EQ(log->front().statement, "import config.json");
}

TEST_F(CatalogJson, ExportIsStableAndRoundTripsExactly) {
  ok(cat().importJson(kExample, ctx()));
  const std::string first = dump();
  EXPECT_EQ(first, kExampleExport);
  auto fresh = openCatalog(path("second.db"));
  ASSERT_TRUE(fresh);
  ASSERT_TRUE(fresh->importJson(first, ctx()).ok());
  auto second = fresh->exportJson();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, first);
}

TEST_F(CatalogJson, ScatterWritesIsExportedWhenDeniedAndRoundTrips) {
  ok(cat().importJson(
      R"({"keyspaces": [{"name": "shop", "sharded": true, "scatter_writes": "deny"},
                        {"name": "main", "scatter_writes": "allow"}]})",
      ctx()));
  EXPECT_EQ(cat().version(), 1u);  // one change, setting included
  EXPECT_EQ(snap()->findKeyspace("shop")->scatterWrites, ScatterWrites::kDeny);
  EXPECT_EQ(snap()->findKeyspace("main")->scatterWrites, ScatterWrites::kAllow);
  const std::string first = dump();
  // The default is left out, so a dump of a catalog that never set it reads as before.
  EXPECT_EQ(first,
            "{\n  \"keyspaces\": [\n    {\n      \"name\": \"main\",\n      \"sharded\": "
            "false,\n      \"shards\": [],\n      \"tables\": []\n    },\n    {\n      "
            "\"name\": \"shop\",\n      \"sharded\": true,\n      \"scatter_writes\": "
            "\"deny\",\n      \"shards\": [],\n      \"tables\": []\n    }\n  ],\n  "
            "\"users\": []\n}\n");
  auto fresh = openCatalog(path("second.db"));
  ASSERT_TRUE(fresh);
  ASSERT_TRUE(fresh->importJson(first, ctx()).ok());
  EXPECT_EQ(*fresh->exportJson(), first);
}

TEST_F(CatalogJson, EmptyCatalogExportsEmptyLists) {
  EXPECT_EQ(dump(), "{\n  \"keyspaces\": [],\n  \"users\": []\n}\n");
  ok(cat().importJson(dump(), ctx()));  // and imports as a no-op change
  EXPECT_EQ(cat().version(), 1u);
}

TEST_F(CatalogJson, ImportIsAllOrNothing) {
  makeShop();
  // Everything is fine until the last user names a missing keyspace.
  expectRejected(
      [&] {
        return cat().importJson(R"({"keyspaces": [{"name": "main", "shards": [{"name": "0",
            "backends": [{"host": "db", "port": 1, "role": "primary"}]}]}],
            "users": [{"name": "a", "password": "x"}, {"name": "b", "password": "y", "keyspaces": ["nope"]}]})",
                                ctx());
      },
      kNotFound, "catalog JSON: users[1]: user 'b': keyspace 'nope' does not exist");
}

TEST_F(CatalogJson, ImportRunsTheInvariantChecksWithThePath) {
  makeShop();
  expectRejected([&] { return cat().importJson(R"({"keyspaces": [{"name": "shop"}]})", ctx()); },
                 kExists, "catalog JSON: keyspaces[0]: keyspace 'shop' already exists");
  expectRejected(
      [&] {
        return cat().importJson(R"({"keyspaces": [{"name": "k", "sharded": true, "shards": [
            {"name": "-80", "backends": [{"host": "h", "port": 1, "role": "primary"}]},
            {"name": "40-", "backends": [{"host": "h", "port": 2, "role": "primary"}]}]}]})",
                                ctx());
      },
      kInvariant,
      "catalog JSON: keyspaces[0].shards[1]: shard k.40- would overlap serving shard k.-80");
  expectRejected(
      [&] {
        return cat().importJson(R"({"keyspaces": [{"name": "k", "sharded": true, "shards": [
            {"name": "-", "backends": [{"host": "h", "port": 1, "role": "primary"},
                                       {"host": "h", "port": 2, "role": "primary"}]}]}]})",
                                ctx());
      },
      kInvariant,
      "catalog JSON: keyspaces[0].shards[0].backends[1]: shard k.- already has a primary (h:1)");
  expectRejected(
      [&] {
        return cat().importJson(R"({"keyspaces": [{"name": "k", "shards": [
            {"name": "0", "backends": [{"host": "h", "port": 1, "role": "replica"}]}]}]})",
                                ctx());
      },
      kInvariant, "catalog JSON: keyspaces[0].shards[0].backends[0]: shard k.0 has no primary");
  expectRejected(
      [&] {
        return cat().importJson(R"({"keyspaces": [{"name": "k", "tables": [
            {"name": "t", "kind": "sharded"}]}]})",
                                ctx());
      },
      kInvariant,
      "catalog JSON: keyspaces[0].tables[0]: sharded table rule k.t needs a shard key column");
}

struct BadDocument {
  const char* json;
  const char* message;
};

TEST_F(CatalogJson, StructuralErrorsNameTheKeyPath) {
  const BadDocument cases[] = {
      {R"({"keyspaces": [{"name": "k", "shards": [{"name": "0", "backends": [{"host": "h", "port": 70000, "role": "primary"}]}]}]})",
       "catalog JSON: keyspaces[0].shards[0].backends[0].port: must be an integer from 1 to 65535"},
      {R"({"keyspaces": [{"name": "k", "shards": [{"name": "0"}, {"name": "1", "backends": [{"host": "h", "port": "1", "role": "primary"}]}]}]})",
       "catalog JSON: keyspaces[0].shards[1].backends[0].port: must be an integer"},
      {R"({"keyspaces": [{"name": "k", "shards": [{"name": "0", "backends": [{"host": "h", "port": 1, "role": "boss"}]}]}]})",
       "catalog JSON: keyspaces[0].shards[0].backends[0].role: must be one of \"primary\", "
       "\"replica\""},
      {R"({"keyspaces": [{"name": "k", "shards": [{"name": "0", "backends": [{"host": "h", "port": 1}]}]}]})",
       "catalog JSON: keyspaces[0].shards[0].backends[0].role: is required"},
      {R"({"keyspaces": [{"name": "k", "shards": [{"name": "0", "backends": [{"host": "h", "port": 1, "role": "primary", "wieght": 2}]}]}]})",
       "catalog JSON: keyspaces[0].shards[0].backends[0].wieght: unknown key"},
      {R"({"keyspaces": [{"name": "k", "sharded": "yes"}]})",
       "catalog JSON: keyspaces[0].sharded: must be true or false"},
      {R"({"keyspaces": [{"name": "k", "scatter_writes": "never"}]})",
       "catalog JSON: keyspaces[0].scatter_writes: must be one of \"allow\", \"deny\""},
      {R"({"keyspaces": [{"name": "k", "name": "j"}]})",
       "catalog JSON: keyspaces[0].name: duplicate key"},
      {R"({"keyspaces": {"name": "k"}})", "catalog JSON: keyspaces: must be an array"},
      {R"({"keyspaces": [7]})", "catalog JSON: keyspaces[0]: must be an object"},
      {R"({"keyspaces": [{"sharded": true}]})", "catalog JSON: keyspaces[0].name: is required"},
      {R"({"keyspace": []})", "catalog JSON: keyspace: unknown key"},
      {R"([])", "catalog JSON: top level: must be an object"},
      {R"({"keyspaces": [{"name": "k", "tables": [{"name": "t", "kind": "hashed"}]}]})",
       "catalog JSON: keyspaces[0].tables[0].kind: must be one of \"sharded\", \"reference\""},
      {R"({"users": [{"name": "u"}]})",
       "catalog JSON: users[0]: needs \"password\", or both \"native_hash\" and \"sha2_hash\""},
      {R"({"users": [{"name": "u", "password": "p", "native_hash": ""}]})",
       "catalog JSON: users[0]: give either \"password\" or \"native_hash\" and \"sha2_hash\""},
      {R"({"users": [{"name": "u", "native_hash": "abc", "sha2_hash": ""}]})",
       "catalog JSON: users[0].native_hash: must be 40 hex digits"},
      {R"({"users": [{"name": "u", "password": "p", "keyspaces": ["k", 3]}]})",
       "catalog JSON: users[0].keyspaces[1]: must be a string"},
      {R"({"keyspaces": [}])", "catalog JSON: parse error at offset"},
      {R"({} {})", "catalog JSON: parse error at offset 3"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    expectRejected([&] { return cat().importJson(c.json, ctx()); }, ErrorCode::kConfigInvalid,
                   c.message);
  }
}

TEST_F(CatalogJson, HashesMustBeConsistent) {
  // One hash empty and the other not is not a password MySQL could have.
  expectRejected(
      [&] {
        return cat().importJson(R"({"users": [{"name": "u", "native_hash": "", "sha2_hash":
            "3881219d087dd9c634373fd33dfa33a2cb6bfc6c520b64b8bb60ef2ceb534ae7"}]})",
                                ctx());
      },
      kInvariant, "catalog JSON: users[0]: user 'u': native_hash must be 20 bytes");
}

TEST_F(CatalogJson, CommentsAreAllowed) {
  ok(cat().importJson("{ // bootstrap\n \"keyspaces\": [{\"name\": \"k\"}] /* one */ }", ctx()));
  EXPECT_NE(snap()->findKeyspace("k"), nullptr);
}

}  // namespace
}  // namespace shardproxy::catalog::test
