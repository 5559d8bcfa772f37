#include "shardproxy/proxy/config.h"

#include <gtest/gtest.h>

#include "shardproxy/proxy/protocol/auth.h"
#include "shardproxy/proxy/tls.h"

namespace shardproxy::proxy {
namespace {

TEST(JsonConfig, ReadsEveryKey) {
  Config c;
  Status st = applyJsonConfig(R"({
    "listen": "0.0.0.0:7000", "threads": 3, "log_level": "debug", "log_format": "json",
    "backends": [{"host": "db1", "port": 3307}, "db2:3308"],
    "users": [{"name": "app", "password": "secret"}, "ro:pw"],
    "backend_user": {"name": "proxy", "password": "x"},
    "max_allowed_packet": 1048576, "server_version": "8.0.36", "auth_plugin": "caching_sha2_password",
    "tls": {"backend": true},
    "pool": {"max_connections": 10, "min_idle": 2, "idle_timeout_ms": 1000,
             "acquire_timeout_ms": 200, "connect_timeout_ms": 300, "ping_after_idle_ms": 400},
    "shutdown_grace_ms": 500, "max_client_connections": 50})",
                              c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.listenHost, "0.0.0.0");
  EXPECT_EQ(c.listenPort, 7000);
  EXPECT_EQ(c.threads, 3u);
  EXPECT_TRUE(c.logJson);
  ASSERT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends[1].address.host, "db2");
  EXPECT_EQ(c.backends[1].address.port, 3308);
  ASSERT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.users[1].password, "pw");
  ASSERT_TRUE(c.backendUser);
  EXPECT_EQ(c.pool.minIdle, 2u);
  EXPECT_EQ(c.pool.acquireTimeout.count(), 200);
  EXPECT_TRUE(c.backendTls);
  EXPECT_TRUE(validate(c).ok());
}

TEST(JsonConfig, SchemaRefreshInterval) {
  Config c;
  EXPECT_EQ(c.schemaRefreshInterval.count(), 60000);
  ASSERT_TRUE(applyJsonConfig(R"({"schema_refresh_interval_ms": 0})", c).ok());
  EXPECT_EQ(c.schemaRefreshInterval.count(), 0);
  Status bad = applyJsonConfig(R"({"schema_refresh_interval_ms": "often"})", c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("schema_refresh_interval_ms"), std::string::npos);
}

TEST(JsonConfig, LogStatementErrors) {
  Config c;
  EXPECT_EQ(c.statementErrors, Config::ErrorLog::kProxy);
  ASSERT_TRUE(applyJsonConfig(R"({"log_statement_errors": "all"})", c).ok());
  EXPECT_EQ(c.statementErrors, Config::ErrorLog::kAll);
  ASSERT_TRUE(applyJsonConfig(R"({"log_statement_errors": "off"})", c).ok());
  EXPECT_EQ(c.statementErrors, Config::ErrorLog::kOff);
  Status bad = applyJsonConfig(R"({"log_statement_errors": "some"})", c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("log_statement_errors"), std::string::npos);
  EXPECT_EQ(c.statementErrors, Config::ErrorLog::kOff);
}

TEST(JsonConfig, UnknownKeyIsAnErrorThatNamesIt) {
  Config c;
  Status st = applyJsonConfig(R"({"pool": {"max_conections": 3}})", c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("pool.max_conections"), std::string::npos);
  Status top = applyJsonConfig(R"({"lisen": "x:1"})", c);
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.error().message.find("'lisen'"), std::string::npos);
}

TEST(JsonConfig, WrongTypeIsAnErrorThatNamesTheKey) {
  Config c;
  Status st = applyJsonConfig(R"({"backends": [{"host": "a", "port": "3306"}]})", c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("backends[0].port"), std::string::npos);
  Status t = applyJsonConfig(R"({"threads": -1})", c);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("threads"), std::string::npos);
}

TEST(JsonConfig, SyntaxErrorGivesTheOffset) {
  Config c;
  Status st = applyJsonConfig(R"({"threads": 2,})", c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("offset"), std::string::npos);
}

TEST(ConfigFlags, HostPortAndUserSpecs) {
  auto hp = parseHostPort("127.0.0.1:13306", "--backend");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->second, 13306);
  EXPECT_FALSE(parseHostPort("127.0.0.1", "--backend"));
  EXPECT_FALSE(parseHostPort("h:0", "--backend"));
  EXPECT_FALSE(parseHostPort("h:70000", "--backend"));
  EXPECT_FALSE(parseHostPort("h:12ab", "--backend"));
  auto u = parseUserSpec("app:se:cret", "--user");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->password, "se:cret");
  EXPECT_FALSE(parseUserSpec(":x", "--user"));
}

TEST(ConfigValidation, RejectsBadValues) {
  Config c;
  EXPECT_TRUE(validate(c).ok());  // the topology may come from the catalog alone
  c.authPlugin = "sha256_password";
  EXPECT_FALSE(validate(c).ok());
  c.authPlugin = "mysql_native_password";
  c.tlsCert = "cert.pem";
  EXPECT_FALSE(validate(c).ok());  // a certificate without its key
}

TEST(JsonConfig, CatalogAndAdminKeys) {
  Config c;
  Status st = applyJsonConfig(R"({"catalog": "/tmp/x.db", "admin_listen": "127.0.0.1:7032",
    "admin_users": ["root:pw"], "keyspaces": [{"name": "shop", "sharded": true}]})",
                              c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.catalogPath, "/tmp/x.db");
  EXPECT_EQ(c.adminListenPort, 7032);
  ASSERT_EQ(c.adminUsers.size(), 1u);
  EXPECT_EQ(c.adminUsers[0].password, "pw");
  EXPECT_NE(c.keyspacesJson.find("shop"), std::string::npos);
  Config off;
  ASSERT_TRUE(applyJsonConfig(R"({"admin_listen": "off"})", off).ok());
  EXPECT_FALSE(off.adminEnabled);
}

TEST(BootstrapJson, ShorthandBackendsBecomeTheDefaultKeyspace) {
  Config c;
  c.backends.push_back({{"10.0.0.1", 3306}, catalog::BackendRole::kPrimary});
  c.backends.push_back({{"10.0.0.2", 3306}, catalog::BackendRole::kReplica});
  c.users.push_back({"app", "secret", {}});
  std::string json = bootstrapJson(c);
  EXPECT_NE(json.find(R"("name":"default","sharded":false)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("host":"10.0.0.2","port":3306,"role":"replica")"), std::string::npos);
  EXPECT_NE(json.find(R"("name":"app","password":"secret")"), std::string::npos);
}

TEST(TlsMaterial, GeneratedKeyDecryptsCachingSha2Password) {
  auto tls = TlsMaterial::create("", "");
  ASSERT_TRUE(tls) << tls.error().message;
  std::string nonce = protocol::makeScramble();
  auto cipher = protocol::cachingSha2RsaEncrypt((*tls)->publicKeyPem(), "s3cret", nonce);
  ASSERT_TRUE(cipher);
  auto plain = (*tls)->decrypt(*cipher);
  ASSERT_TRUE(plain);
  for (std::size_t i = 0; i < plain->size(); ++i) {
    (*plain)[i] = static_cast<char>((*plain)[i] ^ nonce[i % nonce.size()]);
  }
  EXPECT_EQ(*plain, std::string("s3cret") + '\0');
}

}  // namespace
}  // namespace shardproxy::proxy
