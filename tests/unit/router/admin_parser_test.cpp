#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "shardproxy/router/admin_statement.h"

namespace shardproxy::router::admin {
namespace {

using catalog::BackendRole;
using catalog::BackendState;
using catalog::Endpoint;
using catalog::TableKind;
using ErrKind = AdminParseError::Kind;

template <typename T>
T parseAs(std::string_view sql) {
  auto r = parseAdmin(sql);
  if (const auto* e = std::get_if<AdminParseError>(&r)) {
    ADD_FAILURE() << "'" << sql << "' failed: " << e->message;
    return T{};
  }
  const auto* t = std::get_if<T>(&std::get<AdminStatement>(r));
  if (!t) {
    ADD_FAILURE() << "'" << sql << "' parsed as statement #" << std::get<AdminStatement>(r).index();
    return T{};
  }
  return *t;
}

AdminParseError errorOf(std::string_view sql) {
  auto r = parseAdmin(sql);
  if (const auto* e = std::get_if<AdminParseError>(&r)) return *e;
  ADD_FAILURE() << "'" << sql << "' parsed, expected an error";
  return {};
}

constexpr std::string_view kStatementHint =
    "expected SHOW, CREATE, ALTER, DROP, ADD, SET, RESHARD, SWITCHOVER or a migration verb (PAUSE, "
    "RESUME, "
    "CANCEL, VERIFY, CUTOVER, REVERSE, COMPLETE)";

std::string syntax(std::string_view hint, std::string_view near, int line = 1) {
  return "You have an error in your SQL syntax; " + std::string(hint) + " near '" +
         std::string(near) + "' at line " + std::to_string(line);
}

// ---------------------------------------------------------------- SHOW

TEST(AdminParser, ShowKeyspacesAndUsersAndCatalogVersion) {
  parseAs<ShowKeyspaces>("SHOW KEYSPACES");
  parseAs<ShowKeyspaces>("show keyspaces;");
  parseAs<ShowKeyspaces>("  ShOw\n\tKeYsPaCeS  ;  ");
  parseAs<ShowUsers>("SHOW USERS;");
  parseAs<ShowCatalogVersion>("show catalog version");
  parseAs<ShowTransactions>("SHOW TRANSACTIONS");
}

TEST(AdminParser, ShowWithOptionalFrom) {
  EXPECT_FALSE(parseAs<ShowShards>("SHOW SHARDS").keyspace);
  EXPECT_EQ(parseAs<ShowShards>("SHOW SHARDS FROM shop").keyspace, "shop");
  EXPECT_EQ(parseAs<ShowShards>("show shards in `my shop`;").keyspace, "my shop");
  EXPECT_FALSE(parseAs<ShowBackends>("SHOW BACKENDS;").keyspace);
  EXPECT_EQ(parseAs<ShowBackends>("SHOW BACKENDS FROM Shop").keyspace, "Shop");
  EXPECT_FALSE(parseAs<ShowTableRules>("SHOW TABLE RULES").keyspace);
  EXPECT_EQ(parseAs<ShowTableRules>("show table rules from shop;").keyspace, "shop");
}

TEST(AdminParser, ShowCatalogChangesWithLimit) {
  EXPECT_FALSE(parseAs<ShowCatalogChanges>("SHOW CATALOG CHANGES").limit);
  EXPECT_EQ(parseAs<ShowCatalogChanges>("SHOW CATALOG CHANGES LIMIT 10;").limit, 10u);
  EXPECT_EQ(parseAs<ShowCatalogChanges>("SHOW CATALOG CHANGES LIMIT 0").limit, 0u);
  EXPECT_EQ(parseAs<ShowCatalogChanges>("SHOW CATALOG CHANGES LIMIT 4294967295").limit,
            4294967295u);
  EXPECT_EQ(parseAs<ShowCatalogChanges>("SHOW CATALOG CHANGES LIMIT 000042").limit, 42u);
}

// ---------------------------------------------------------------- keyspaces

TEST(AdminParser, CreateAndDropKeyspace) {
  auto a = parseAs<CreateKeyspace>("CREATE KEYSPACE shop");
  EXPECT_EQ(a.name, "shop");
  EXPECT_FALSE(a.sharded);
  auto b = parseAs<CreateKeyspace>("create keyspace `shop` sharded;");
  EXPECT_EQ(b.name, "shop");
  EXPECT_TRUE(b.sharded);
  EXPECT_EQ(parseAs<DropKeyspace>("DROP KEYSPACE shop;").name, "shop");
  // Keywords are fine as names: every name has a fixed place in the grammar.
  EXPECT_EQ(parseAs<CreateKeyspace>("CREATE KEYSPACE sharded SHARDED").name, "sharded");
  EXPECT_EQ(parseAs<DropKeyspace>("DROP KEYSPACE keyspace").name, "keyspace");
  // Identifiers may start with digits, may hold $ and non-ASCII letters.
  EXPECT_EQ(parseAs<DropKeyspace>("DROP KEYSPACE 1shop$").name, "1shop$");
  EXPECT_EQ(parseAs<DropKeyspace>("DROP KEYSPACE boutique_\xC3\xA9t\xC3\xA9").name,
            "boutique_\xC3\xA9t\xC3\xA9");
}

// ---------------------------------------------------------------- shards

TEST(AdminParser, CreateShardMinimal) {
  auto s = parseAs<CreateShard>("CREATE SHARD shop.`-80` PRIMARY '127.0.0.1:13306'");
  EXPECT_EQ(s.keyspace, "shop");
  EXPECT_EQ(s.shard, "-80");
  EXPECT_EQ(s.primary, (Endpoint{"127.0.0.1", 13306}));
  EXPECT_TRUE(s.replicas.empty());
  EXPECT_TRUE(s.serving);
}

TEST(AdminParser, CreateShardWithEveryOption) {
  auto s = parseAs<CreateShard>(
      "create shard `shop`.`80-c0` primary \"db1.example.com:3306\" "
      "replicas ('10.0.0.2:3306', '[::1]:3307', '[2001:db8::7]:13306') not serving;");
  EXPECT_EQ(s.keyspace, "shop");
  EXPECT_EQ(s.shard, "80-c0");
  EXPECT_EQ(s.primary, (Endpoint{"db1.example.com", 3306}));
  ASSERT_EQ(s.replicas.size(), 3u);
  EXPECT_EQ(s.replicas[0], (Endpoint{"10.0.0.2", 3306}));
  EXPECT_EQ(s.replicas[1], (Endpoint{"::1", 3307}));
  EXPECT_EQ(s.replicas[2], (Endpoint{"2001:db8::7", 13306}));
  EXPECT_FALSE(s.serving);
}

TEST(AdminParser, CreateShardOptionsInAnyOrder) {
  auto s =
      parseAs<CreateShard>("CREATE SHARD shop.`c0-` PRIMARY 'h:1' NOT SERVING REPLICAS ('h:2')");
  EXPECT_FALSE(s.serving);
  ASSERT_EQ(s.replicas.size(), 1u);
  EXPECT_EQ(s.replicas[0], (Endpoint{"h", 2}));
}

TEST(AdminParser, ShardNamesMayBeNumbersOrPlainIdentifiers) {
  EXPECT_EQ(parseAs<CreateShard>("CREATE SHARD commerce.0 PRIMARY 'h:3306'").shard, "0");
  EXPECT_EQ(parseAs<DropShard>("DROP SHARD commerce.main").shard, "main");
  auto d = parseAs<DropShard>("DROP SHARD shop.`-80`;");
  EXPECT_EQ(d.keyspace, "shop");
  EXPECT_EQ(d.shard, "-80");
  // Whitespace and comments may sit around the dot, as in MySQL.
  EXPECT_EQ(parseAs<DropShard>("DROP SHARD shop . /* x */ `-`").shard, "-");
}

// ---------------------------------------------------------------- backends

TEST(AdminParser, AddBackendWithEveryOption) {
  auto b = parseAs<AddBackend>(
      "ADD BACKEND '127.0.0.1:13308' TO SHARD shop.`-80` AS REPLICA WEIGHT 5 MAX LAG 10;");
  EXPECT_EQ(b.address, (Endpoint{"127.0.0.1", 13308}));
  EXPECT_EQ(b.keyspace, "shop");
  EXPECT_EQ(b.shard, "-80");
  EXPECT_EQ(b.role, BackendRole::kReplica);
  EXPECT_EQ(b.weight, 5u);
  EXPECT_EQ(b.maxLagSeconds, 10u);
}

TEST(AdminParser, AddBackendDefaultsAndPrimaryAndAnyOrder) {
  auto a = parseAs<AddBackend>("add backend 'h:3306' to shard shop.`-80`");
  EXPECT_EQ(a.role, BackendRole::kReplica);
  EXPECT_FALSE(a.weight);
  EXPECT_FALSE(a.maxLagSeconds);
  auto p = parseAs<AddBackend>("ADD BACKEND 'h:3306' TO SHARD shop.`-80` AS PRIMARY");
  EXPECT_EQ(p.role, BackendRole::kPrimary);
  auto o = parseAs<AddBackend>("ADD BACKEND 'h:3306' TO SHARD s.x MAX LAG 0 WEIGHT 0 AS replica");
  EXPECT_EQ(o.weight, 0u);
  EXPECT_EQ(o.maxLagSeconds, 0u);
}

TEST(AdminParser, DropAndSetBackend) {
  EXPECT_EQ(parseAs<DropBackend>("DROP BACKEND '127.0.0.1:13308';").address,
            (Endpoint{"127.0.0.1", 13308}));
  auto off = parseAs<SetBackendState>("SET BACKEND '127.0.0.1:13307' OFFLINE");
  EXPECT_EQ(off.address, (Endpoint{"127.0.0.1", 13307}));
  EXPECT_EQ(off.state, BackendState::kOffline);
  EXPECT_EQ(parseAs<SetBackendState>("set backend 'h:1' online;").state, BackendState::kOnline);
  EXPECT_EQ(parseAs<SetBackendState>("SET BACKEND 'h:1' Draining").state, BackendState::kDraining);
}

// ---------------------------------------------------------------- table rules

TEST(AdminParser, TableRules) {
  auto s = parseAs<CreateTableRule>("CREATE SHARDED TABLE shop.orders SHARD KEY (customer_id);");
  EXPECT_EQ(s.keyspace, "shop");
  EXPECT_EQ(s.table, "orders");
  EXPECT_EQ(s.kind, TableKind::kSharded);
  EXPECT_EQ(s.shardKey, "customer_id");
  auto r = parseAs<CreateTableRule>("create reference table `shop`.`countries`");
  EXPECT_EQ(r.kind, TableKind::kReference);
  EXPECT_EQ(r.table, "countries");
  EXPECT_TRUE(r.shardKey.empty());
  auto d = parseAs<DropTableRule>("DROP TABLE RULE shop.orders");
  EXPECT_EQ(d.keyspace, "shop");
  EXPECT_EQ(d.table, "orders");
}

// ---------------------------------------------------------------- users

TEST(AdminParser, CreateUserForms) {
  auto a = parseAs<CreateUser>("CREATE USER 'app' IDENTIFIED BY 'secret'");
  EXPECT_EQ(a.name, "app");
  EXPECT_EQ(a.password, "secret");
  EXPECT_TRUE(a.keyspaces.empty());
  EXPECT_EQ(parseAs<CreateUser>("create user app identified by 'x'").name, "app");
  EXPECT_EQ(parseAs<CreateUser>("CREATE USER `app` IDENTIFIED BY 'x'").name, "app");
  EXPECT_EQ(parseAs<CreateUser>("CREATE USER \"app\" IDENTIFIED BY \"x\"").name, "app");
  EXPECT_EQ(parseAs<CreateUser>("CREATE USER 'app'@'%' IDENTIFIED BY 'x'").name, "app");
  EXPECT_EQ(parseAs<CreateUser>("CREATE USER app @ `%` IDENTIFIED BY 'x'").name, "app");
  EXPECT_EQ(parseAs<CreateUser>("CREATE USER 'app' IDENTIFIED BY ''").password, "");
  auto k = parseAs<CreateUser>(
      "CREATE USER 'app' IDENTIFIED BY 'secret' KEYSPACES (shop, `billing`, customers);");
  EXPECT_EQ(k.keyspaces, (std::vector<std::string>{"shop", "billing", "customers"}));
}

TEST(AdminParser, DropUserForms) {
  EXPECT_EQ(parseAs<DropUser>("DROP USER 'app';").name, "app");
  EXPECT_EQ(parseAs<DropUser>("drop user app").name, "app");
  EXPECT_EQ(parseAs<DropUser>("DROP USER 'app'@'%'").name, "app");
}

TEST(AdminParser, HostBoundUsersAreNotSupported) {
  std::string sql = "CREATE USER 'app'@'localhost' IDENTIFIED BY 'x'";
  auto e = errorOf(sql);
  EXPECT_EQ(e.kind, ErrKind::kNotSupported);
  EXPECT_EQ(e.position, sql.find("'localhost'"));
  EXPECT_NE(e.message.find("'name'@'%'"), std::string::npos) << e.message;
  EXPECT_EQ(errorOf("DROP USER app@localhost").kind, ErrKind::kNotSupported);
  EXPECT_EQ(errorOf("CREATE USER 'app' IDENTIFIED WITH mysql_native_password BY 'x'").kind,
            ErrKind::kNotSupported);
}

TEST(AdminParser, PasswordIsRedactedForTheChangeLog) {
  std::string sql = "CREATE USER 'app' IDENTIFIED BY 'it''s \\'secret\\'' KEYSPACES (shop)";
  auto r = parseAdmin(sql);
  ASSERT_TRUE(std::holds_alternative<AdminStatement>(r));
  const auto& st = std::get<AdminStatement>(r);
  EXPECT_EQ(std::get<CreateUser>(st).password, "it's 'secret'");
  EXPECT_EQ(redactPassword(sql, st),
            "CREATE USER 'app' IDENTIFIED BY '<redacted>' KEYSPACES (shop)");
  std::string other = "DROP USER app";
  EXPECT_EQ(redactPassword(other, std::get<AdminStatement>(parseAdmin(other))), other);
}

// ---------------------------------------------------------------- lexical rules

TEST(AdminLexer, StringEscapesAndDoubledQuotes) {
  auto u = parseAs<CreateUser>(R"(CREATE USER 'a' IDENTIFIED BY 'x\0\b\n\r\t\Z\\\%\_\q''"y')");
  const char kExpected[] = "x\0\b\n\r\t\x1a\\\\%\\_q'\"y";
  EXPECT_EQ(u.password, std::string(kExpected, sizeof kExpected - 1));
  EXPECT_EQ(parseAs<CreateUser>(R"(CREATE USER 'a' IDENTIFIED BY "say ""hi"" \"x\"")").password,
            "say \"hi\" \"x\"");
}

TEST(AdminLexer, BackquotedIdentifiers) {
  EXPECT_EQ(parseAs<DropKeyspace>("DROP KEYSPACE `we``ird`").name, "we`ird");
  EXPECT_EQ(parseAs<DropKeyspace>("DROP KEYSPACE `with space`").name, "with space");
  // No backslash escapes inside backquotes.
  EXPECT_EQ(parseAs<DropKeyspace>("DROP KEYSPACE `a\\b`").name, "a\\b");
  EXPECT_EQ(parseAs<DropKeyspace>("DROP KEYSPACE `a'b\"c`").name, "a'b\"c");
}

TEST(AdminLexer, Comments) {
  EXPECT_EQ(
      parseAs<CreateKeyspace>("/* lead */ CREATE /* a */ KEYSPACE -- name next\n shop # x\n").name,
      "shop");
  EXPECT_TRUE(parseAs<CreateKeyspace>("CREATE KEYSPACE shop /*!SHARDED */").sharded);
  EXPECT_TRUE(parseAs<CreateKeyspace>("CREATE KEYSPACE shop /*!50700 SHARDED*/;").sharded);
  EXPECT_TRUE(parseAs<CreateKeyspace>("CREATE KEYSPACE shop /*M!100100 SHARDED */").sharded);
  EXPECT_FALSE(parseAs<CreateKeyspace>("CREATE KEYSPACE shop /* SHARDED */").sharded);
  parseAs<ShowUsers>("SHOW USERS; -- done");
  parseAs<ShowUsers>("SHOW USERS;#");
  parseAs<ShowUsers>("SHOW USERS --");
  parseAs<ShowUsers>("SHOW USERS --\tx");
  // "--" needs a space after it to start a comment.
  auto e = errorOf("SHOW USERS --x");
  EXPECT_EQ(e.position, 11u);
}

// ---------------------------------------------------------------- syntax errors

TEST(AdminParserErrors, ExactPositionsAndMessages) {
  auto e = errorOf("SHOW KEYSPACE");
  EXPECT_EQ(e.kind, ErrKind::kSyntax);
  EXPECT_EQ(e.position, 5u);
  EXPECT_EQ(
      e.message,
      syntax("expected KEYSPACES, SHARDS, BACKENDS, TABLE RULES, USERS, MIGRATIONS, MIGRATION n, "
             "SEQUENCES, TRANSACTIONS, SCHEMA DRIFT, FAILOVERS, BUFFERS, QUERY DIGEST, SHARD KEY "
             "ADVICE or CATALOG after SHOW",
             "KEYSPACE"));

  e = errorOf("CREATE SHARDED TABLE shop.orders (customer_id)");
  EXPECT_EQ(e.position, 33u);
  EXPECT_EQ(e.message, syntax("expected SHARD KEY (column)", "(customer_id)"));

  e = errorOf("CREATE SHARDED TABLE shop.orders SHARD KEY (a, b)");
  EXPECT_EQ(e.position, 45u);
  EXPECT_EQ(e.message, syntax("expected ')' (a shard key is one column)", ", b)"));

  e = errorOf("CREATE SHARD shop.-80 PRIMARY 'h:1'");
  EXPECT_EQ(e.position, 18u);
  EXPECT_EQ(e.message, syntax("expected shard name (backquote names like `-80` or `80-c0`)",
                              "-80 PRIMARY 'h:1'"));

  e = errorOf("DROP SHARD shop");
  EXPECT_EQ(e.position, 15u);
  EXPECT_EQ(e.message, syntax("expected '.' and shard name (write keyspace.name)", ""));

  e = errorOf("CREATE KEYSPACE shop SHARDD");
  EXPECT_EQ(e.position, 21u);
  EXPECT_EQ(e.message, syntax("expected SHARDED or end of statement", "SHARDD"));

  e = errorOf("SET BACKEND 'h:1' ENABLED");
  EXPECT_EQ(e.position, 18u);
  EXPECT_EQ(e.message, syntax("expected ONLINE, OFFLINE or DRAINING", "ENABLED"));

  e = errorOf("ADD BACKEND 'h:1' TO SHARD s.x AS LEADER");
  EXPECT_EQ(e.position, 34u);
  EXPECT_EQ(e.message, syntax("expected PRIMARY or REPLICA after AS", "LEADER"));

  e = errorOf("ADD BACKEND 'h:1' TO SHARD s.x WEIGHT 1 WEIGHT 2");
  EXPECT_EQ(e.position, 40u);
  EXPECT_EQ(e.message, syntax("duplicate WEIGHT clause", "WEIGHT 2"));

  e = errorOf("CREATE SHARD s.x PRIMARY 'h:1' NOT SERVING NOT SERVING");
  EXPECT_EQ(e.position, 43u);

  e = errorOf("CREATE USER 'app' IDENTIFIED BY secret");
  EXPECT_EQ(e.position, 32u);
  EXPECT_EQ(e.message, syntax("expected the password as a quoted string", "secret"));

  e = errorOf("CREATE USER 'app'");
  EXPECT_EQ(e.position, 17u);
  EXPECT_EQ(e.message, syntax("expected IDENTIFIED BY 'password'", ""));
}

TEST(AdminParserErrors, LineNumberIsTheOffendingTokensLine) {
  std::string sql = "CREATE KEYSPACE shop\n  SHARDED\n  extra";
  auto e = errorOf(sql);
  EXPECT_EQ(e.position, sql.find("extra"));
  EXPECT_EQ(e.message, syntax("expected end of statement", "extra", 3));
}

TEST(AdminParserErrors, NearTextIsCutAt80BytesOnACharacterBoundary) {
  std::string tail(79, 'x');
  std::string sql = "SHOW USERS " + tail + "\xC3\xA9" + "yyyy";
  auto e = errorOf(sql);
  EXPECT_EQ(e.position, 11u);
  EXPECT_EQ(e.message, syntax("expected end of statement", tail));
  std::string ascii = "SHOW USERS " + std::string(100, 'z');
  EXPECT_EQ(errorOf(ascii).message, syntax("expected end of statement", std::string(80, 'z')));
}

TEST(AdminParserErrors, NumbersMustFitUint32) {
  auto e = errorOf("SHOW CATALOG CHANGES LIMIT 4294967296");
  EXPECT_EQ(e.position, 27u);
  EXPECT_EQ(e.message, syntax("row count must be between 0 and 4294967295", "4294967296"));
  EXPECT_EQ(errorOf("SHOW CATALOG CHANGES LIMIT -1").position, 27u);
  EXPECT_EQ(errorOf("SHOW CATALOG CHANGES LIMIT 1.5").position, 28u);
  EXPECT_EQ(errorOf("SHOW CATALOG CHANGES LIMIT 0x10").position, 27u);
  EXPECT_EQ(errorOf("ADD BACKEND 'h:1' TO SHARD s.x WEIGHT 99999999999999999999999").position, 38u);
  EXPECT_EQ(errorOf("ADD BACKEND 'h:1' TO SHARD s.x MAX LAG many").message,
            syntax("expected lag in seconds (a number)", "many"));
}

TEST(AdminParserErrors, Addresses) {
  struct Case {
    const char* address;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{
           {"127.0.0.1", "expected 'host:port'"},
           {"127.0.0.1:", "expected 'host:port'"},
           {":3306", "missing host"},
           {"", "missing host"},
           {"h:0", "port must be a number from 1 to 65535"},
           {"h:65536", "port must be a number from 1 to 65535"},
           {"h:99999999999", "port must be a number from 1 to 65535"},
           {"h:33a", "port must be a number from 1 to 65535"},
           {"h: 3306", "port must be a number from 1 to 65535"},
           {"::1:3306", "write IPv6 addresses in brackets, as '[::1]:3306'"},
           {"[::1:3306", "an IPv6 address needs its closing ']'"},
           {"[]:3306", "invalid IPv6 address"},
           {"[abc]:3306", "invalid IPv6 address"},
           {"[::1]3306", "expected 'host:port'"},
           {"my host:3306", "invalid host name"},
           {"h\xC3\xA9:3306", "invalid host name"},
       }) {
    std::string sql = std::string("DROP BACKEND '") + c.address + "'";
    auto e = errorOf(sql);
    EXPECT_EQ(e.kind, ErrKind::kSyntax) << c.address;
    EXPECT_EQ(e.position, 13u) << c.address;
    EXPECT_EQ(e.message, syntax(std::string("invalid address: ") + c.why, sql.substr(13)))
        << c.address;
  }
  EXPECT_EQ(parseAs<DropBackend>("DROP BACKEND 'h:65535'").address.port, 65535);
  EXPECT_EQ(parseAs<DropBackend>("DROP BACKEND 'h:1'").address.port, 1);
  EXPECT_EQ(errorOf("DROP BACKEND h:3306").message,
            syntax("expected a quoted 'host:port' address", "h:3306"));
  EXPECT_EQ(errorOf("DROP BACKEND `h:3306`").position, 13u);
}

TEST(AdminParserErrors, Names) {
  EXPECT_EQ(errorOf("DROP KEYSPACE ``").message, syntax("invalid keyspace name: empty name", "``"));
  EXPECT_EQ(errorOf("DROP KEYSPACE `a `").message,
            syntax("invalid keyspace name: a name cannot end with a space", "`a `"));
  EXPECT_EQ(errorOf("DROP USER ''").message, syntax("invalid user name: empty name", "''"));
  std::string nul = std::string("DROP KEYSPACE `a") + '\0' + "b`";
  EXPECT_NE(errorOf(nul).message.find("NUL"), std::string::npos);
  EXPECT_NE(errorOf("DROP KEYSPACE `\xC3`").message.find("UTF-8"), std::string::npos);
  EXPECT_NE(errorOf("DROP KEYSPACE `\xED\xA0\x80`").message.find("UTF-8"), std::string::npos);
  EXPECT_NE(errorOf("DROP KEYSPACE `\xC0\xAF`").message.find("UTF-8"), std::string::npos);
  EXPECT_NE(errorOf("DROP KEYSPACE \xFF").message.find("UTF-8"), std::string::npos);
  // 64 characters is MySQL's identifier limit, counted in characters, not bytes.
  std::string e64;
  for (int i = 0; i < 64; ++i)
    e64 += "\xC3\xA9";
  EXPECT_EQ(parseAs<DropKeyspace>("DROP KEYSPACE `" + e64 + "`").name, e64);
  EXPECT_EQ(errorOf("DROP KEYSPACE " + std::string(65, 'k')).message,
            syntax("invalid keyspace name: name longer than 64 characters",
                   std::string(65, 'k').substr(0, 80)));
  EXPECT_EQ(parseAs<DropUser>("DROP USER '" + std::string(80, 'u') + "'").name.size(), 80u);
  EXPECT_EQ(errorOf("DROP USER '" + std::string(81, 'u') + "'").position, 10u);
  EXPECT_EQ(errorOf("DROP KEYSPACE 'shop'").message, syntax("expected keyspace name", "'shop'"));
}

TEST(AdminParserErrors, LexicalErrorsNameThemselves) {
  auto e = errorOf("CREATE USER 'app' IDENTIFIED BY 'x");
  EXPECT_EQ(e.position, 32u);
  EXPECT_EQ(e.message, syntax("unterminated string", "'x"));
  // A forgotten closing quote swallows the text up to the next quote: that name is then invalid.
  e = errorOf("CREATE USER 'app IDENTIFIED BY 'x'");
  EXPECT_EQ(e.position, 12u);
  EXPECT_EQ(e.message,
            syntax("invalid user name: a name cannot end with a space", "'app IDENTIFIED BY 'x'"));
  e = errorOf("DROP KEYSPACE `shop");
  EXPECT_EQ(e.position, 14u);
  EXPECT_EQ(e.message, syntax("unterminated quoted identifier", "`shop"));
  e = errorOf("SHOW USERS /* never closed");
  EXPECT_EQ(e.position, 11u);
  EXPECT_EQ(e.message, syntax("unterminated comment", "/* never closed"));
  e = errorOf("CREATE KEYSPACE shop /*! SHARDED");
  EXPECT_EQ(e.position, 21u);
  EXPECT_EQ(e.message, syntax("unterminated comment", "/*! SHARDED"));
  e = errorOf("CREATE USER 'a' IDENTIFIED BY 'x\\");
  EXPECT_EQ(e.position, 30u);
  EXPECT_EQ(e.message, syntax("unterminated string", "'x\\"));
  e = errorOf(std::string("SHOW USERS \x01"));
  EXPECT_EQ(e.position, 11u);
  EXPECT_EQ(e.message, syntax("unexpected control character", "\x01"));
}

TEST(AdminParserErrors, EmptyAndMultipleStatements) {
  EXPECT_EQ(errorOf("").message, syntax("empty statement", ""));
  EXPECT_EQ(errorOf("   -- nothing\n").position, 14u);
  EXPECT_EQ(errorOf(";").message, syntax(kStatementHint, ";"));
  auto e = errorOf("SHOW USERS; SHOW KEYSPACES");
  EXPECT_EQ(e.position, 12u);
  EXPECT_EQ(e.message,
            syntax("expected end of statement (one statement at a time)", "SHOW KEYSPACES"));
  EXPECT_EQ(errorOf("SHOW USERS;;").position, 11u);
  EXPECT_EQ(errorOf("FROB KEYSPACES").message, syntax(kStatementHint, "FROB KEYSPACES"));
  EXPECT_EQ(errorOf("ADD USER app").message, syntax("expected BACKEND after ADD", "USER app"));
}

// ---------------------------------------------------------------- not supported

TEST(AdminParserErrors, MysqlStatementsOutsideTheSurfaceAreNotSupported) {
  struct Case {
    const char* sql;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"SELECT 1", "'SELECT' is not an admin statement; see docs/admin-sql.md"},
           {"select @@version_comment limit 1",
            "'SELECT' is not an admin statement; see docs/admin-sql.md"},
           {"insert into t values (1)",
            "'INSERT' is not an admin statement; see docs/admin-sql.md"},
           {"UPDATE t SET a = 1", "'UPDATE' is not an admin statement; see docs/admin-sql.md"},
           {"DELETE FROM t", "'DELETE' is not an admin statement; see docs/admin-sql.md"},
           {"ALTER TABLE t ADD c INT",
            "'ALTER' is not an admin statement (the admin port has ALTER KEYSPACE only); see "
            "docs/admin-sql.md"},
           {"GRANT ALL ON *.* TO x", "'GRANT' is not an admin statement; see docs/admin-sql.md"},
           {"use shop", "'USE' is not an admin statement; see docs/admin-sql.md"},
           {"SHOW DATABASES", "'SHOW DATABASES' is not an admin statement; see docs/admin-sql.md"},
           {"show variables like 'x'",
            "'SHOW VARIABLES' is not an admin statement; see docs/admin-sql.md"},
           {"SHOW TABLE STATUS",
            "'SHOW TABLE STATUS' is not an admin statement; see docs/admin-sql.md"},
           {"CREATE DATABASE shop",
            "'CREATE DATABASE' is not an admin statement; see docs/admin-sql.md"},
           {"CREATE TABLE t (a INT)",
            "'CREATE TABLE' is not an admin statement (table rules are CREATE SHARDED TABLE and "
            "CREATE REFERENCE TABLE); see docs/admin-sql.md"},
           {"DROP TABLE orders",
            "'DROP TABLE' is not an admin statement (a table rule is dropped with DROP TABLE RULE "
            "ks.table); see docs/admin-sql.md"},
           {"DROP INDEX i ON t", "'DROP INDEX' is not an admin statement; see docs/admin-sql.md"},
           {"SET NAMES utf8mb4",
            "'SET' is not an admin statement (the admin port has SET BACKEND and SET KEYSPACE ... "
            "AUTO FAILOVER only); see "
            "docs/admin-sql.md"},
           {"set autocommit=1",
            "'SET' is not an admin statement (the admin port has SET BACKEND and SET KEYSPACE ... "
            "AUTO FAILOVER only); see "
            "docs/admin-sql.md"},
       }) {
    auto e = errorOf(c.sql);
    EXPECT_EQ(e.kind, ErrKind::kNotSupported) << c.sql;
    EXPECT_EQ(e.position, 0u) << c.sql;
    EXPECT_EQ(e.message, c.message) << c.sql;
  }
  auto e = errorOf("  /* x */ SELECT 1");
  EXPECT_EQ(e.position, 10u);
}

// ---------------------------------------------------------------- caps

TEST(AdminParserCaps, StatementLongerThanOneMebibyteIsRejectedUpFront) {
  std::string ok = "SHOW USERS " + std::string((1u << 20) - 11, ' ');
  ASSERT_EQ(ok.size(), 1u << 20);
  parseAs<ShowUsers>(ok);
  std::string big = ok + " ";
  auto e = errorOf(big);
  EXPECT_EQ(e.kind, ErrKind::kSyntax);
  EXPECT_EQ(e.position, 0u);
  EXPECT_EQ(e.message, syntax("statement longer than 1048576 bytes", big.substr(0, 80)));
  // A huge unterminated string inside the cap is one linear scan, then an error.
  std::string str = "CREATE USER 'a' IDENTIFIED BY '" + std::string(1000000, 'p');
  EXPECT_EQ(errorOf(str).position, 30u);
}

TEST(AdminParserCaps, ListsHoldAtMost1024Items) {
  auto listOf = [](std::size_t n, auto item) {
    std::string s = "(";
    for (std::size_t i = 0; i < n; ++i)
      s += (i ? ", " : "") + item(i);
    return s + ")";
  };
  auto addr = [](std::size_t i) { return "'h" + std::to_string(i) + ":3306'"; };
  auto ks = [](std::size_t i) { return "k" + std::to_string(i); };
  std::string shard = "CREATE SHARD s.x PRIMARY 'h:1' REPLICAS ";
  EXPECT_EQ(parseAs<CreateShard>(shard + listOf(1024, addr)).replicas.size(), 1024u);
  std::string tooMany = shard + listOf(1025, addr);
  auto e = errorOf(tooMany);
  EXPECT_EQ(e.position, tooMany.find("'h1024:3306'"));
  EXPECT_TRUE(e.message.starts_with(
      "You have an error in your SQL syntax; too many replica addresses (at most 1024) near "))
      << e.message;
  std::string user = "CREATE USER u IDENTIFIED BY 'p' KEYSPACES ";
  EXPECT_EQ(parseAs<CreateUser>(user + listOf(1024, ks)).keyspaces.size(), 1024u);
  std::string tooManyKs = user + listOf(1025, ks);
  EXPECT_EQ(errorOf(tooManyKs).position, tooManyKs.find("k1024"));
  EXPECT_EQ(errorOf("CREATE SHARD s.x PRIMARY 'h:1' REPLICAS ()").message,
            syntax("expected a quoted 'host:port' address", ")"));
  EXPECT_EQ(errorOf("CREATE SHARD s.x PRIMARY 'h:1' REPLICAS ('h:2',)").message,
            syntax("expected a quoted 'host:port' address", ")"));
  EXPECT_EQ(errorOf("CREATE SHARD s.x PRIMARY 'h:1' REPLICAS ('h:2' 'h:3')").message,
            syntax("expected ',' or ')'", "'h:3')"));
}

// ---------------------------------------------------------------- truncation

// Every statement form with every option; each one cut after every byte must give a statement
// or an error inside the text, never a crash, and cut at a token boundary in the middle of a
// required part must give an error at the end of the text.
const std::vector<std::string>& everyForm() {
  static const std::vector<std::string> forms = {
      "SHOW KEYSPACES;",
      "SHOW SHARDS FROM shop;",
      "SHOW BACKENDS FROM `shop`;",
      "SHOW TABLE RULES FROM shop;",
      "SHOW USERS;",
      "SHOW CATALOG VERSION;",
      "SHOW CATALOG CHANGES LIMIT 20;",
      "CREATE KEYSPACE shop SHARDED;",
      "DROP KEYSPACE shop;",
      "CREATE SHARD shop.`-80` PRIMARY '127.0.0.1:13306' REPLICAS ('127.0.0.1:13307', "
      "'[::1]:13308') NOT SERVING;",
      "DROP SHARD shop.`-80`;",
      "ADD BACKEND '127.0.0.1:13308' TO SHARD shop.`-80` AS REPLICA WEIGHT 2 MAX LAG 5;",
      "DROP BACKEND '127.0.0.1:13308';",
      "SET BACKEND '127.0.0.1:13307' DRAINING;",
      "CREATE SHARDED TABLE shop.orders SHARD KEY (customer_id);",
      "CREATE REFERENCE TABLE shop.countries;",
      "DROP TABLE RULE shop.orders;",
      "CREATE USER 'app'@'%' IDENTIFIED BY 'se\\'cret' KEYSPACES (shop, billing);",
      "DROP USER 'app';",
      "RESHARD KEYSPACE shop FROM (`-80`, `80-`) TO (`-40`, `40-80`, 0) WITH AUTO CUTOVER "
      "THROTTLE 50000 ROWS;",
      "SHOW MIGRATIONS FROM shop;",
      "SHOW MIGRATION 7;",
      "PAUSE MIGRATION 7;",
      "CUTOVER MIGRATION 7 TIMEOUT 1.25;",
      "ALTER KEYSPACE shop SET scatter_writes = 'deny';",
      "SHOW SCHEMA DRIFT IN shop;",
  };
  return forms;
}

TEST(AdminParserTruncation, EveryFormParsesWhole) {
  for (const auto& sql : everyForm()) {
    auto r = parseAdmin(sql);
    EXPECT_TRUE(std::holds_alternative<AdminStatement>(r))
        << sql << ": " << std::get<AdminParseError>(r).message;
  }
}

TEST(AdminParserTruncation, EveryPrefixGivesAStatementOrAnErrorInsideTheText) {
  for (const auto& sql : everyForm()) {
    for (std::size_t n = 0; n < sql.size(); ++n) {
      std::string_view cut(sql.data(), n);
      auto r = parseAdmin(cut);
      if (const auto* e = std::get_if<AdminParseError>(&r)) {
        EXPECT_LE(e->position, n) << cut;
        // "SET BACK" or "DROP TABLE RUL" read as MySQL's own SET and DROP TABLE.
        EXPECT_TRUE(e->kind == ErrKind::kNotSupported ||
                    e->message.starts_with("You have an error in your SQL syntax; "))
            << cut;
        EXPECT_FALSE(e->message.empty()) << cut;
      }
    }
  }
}

TEST(AdminParserTruncation, CutAtATokenBoundaryInsideARequiredPartIsAnErrorAtTheEnd) {
  // Prefixes that end right after a token and still miss a required part.
  const std::vector<std::string> cuts = {
      "SHOW",
      "SHOW TABLE",
      "SHOW CATALOG",
      "SHOW SHARDS FROM",
      "SHOW CATALOG CHANGES LIMIT",
      "CREATE",
      "CREATE KEYSPACE",
      "DROP",
      "DROP KEYSPACE",
      "CREATE SHARD",
      "CREATE SHARD shop",
      "CREATE SHARD shop.",
      "CREATE SHARD shop.`-80`",
      "CREATE SHARD shop.`-80` PRIMARY",
      "CREATE SHARD shop.`-80` PRIMARY 'h:1' REPLICAS",
      "CREATE SHARD shop.`-80` PRIMARY 'h:1' REPLICAS (",
      "CREATE SHARD shop.`-80` PRIMARY 'h:1' REPLICAS ('h:2'",
      "CREATE SHARD shop.`-80` PRIMARY 'h:1' REPLICAS ('h:2',",
      "CREATE SHARD shop.`-80` PRIMARY 'h:1' NOT",
      "DROP SHARD",
      "DROP SHARD shop.",
      "ADD",
      "ADD BACKEND",
      "ADD BACKEND 'h:1'",
      "ADD BACKEND 'h:1' TO",
      "ADD BACKEND 'h:1' TO SHARD",
      "ADD BACKEND 'h:1' TO SHARD s.x AS",
      "ADD BACKEND 'h:1' TO SHARD s.x WEIGHT",
      "ADD BACKEND 'h:1' TO SHARD s.x MAX",
      "ADD BACKEND 'h:1' TO SHARD s.x MAX LAG",
      "DROP BACKEND",
      "SET BACKEND",
      "SET BACKEND 'h:1'",
      "CREATE SHARDED",
      "CREATE SHARDED TABLE",
      "CREATE SHARDED TABLE shop.orders",
      "CREATE SHARDED TABLE shop.orders SHARD",
      "CREATE SHARDED TABLE shop.orders SHARD KEY",
      "CREATE SHARDED TABLE shop.orders SHARD KEY (",
      "CREATE SHARDED TABLE shop.orders SHARD KEY (id",
      "CREATE REFERENCE",
      "CREATE REFERENCE TABLE shop",
      "DROP TABLE RULE",
      "DROP TABLE RULE shop.",
      "SET",
      "DROP TABLE",
      "SHOW TABLE",
      "CREATE USER",
      "CREATE USER 'app'@",
      "CREATE USER 'app' IDENTIFIED",
      "CREATE USER 'app' IDENTIFIED BY",
      "CREATE USER 'app' IDENTIFIED BY 'x' KEYSPACES",
      "CREATE USER 'app' IDENTIFIED BY 'x' KEYSPACES (shop",
      "DROP USER",
      "RESHARD",
      "RESHARD KEYSPACE",
      "RESHARD KEYSPACE shop",
      "RESHARD KEYSPACE shop FROM",
      "RESHARD KEYSPACE shop FROM (",
      "RESHARD KEYSPACE shop FROM (`-80`",
      "RESHARD KEYSPACE shop FROM (`-80`,",
      "RESHARD KEYSPACE shop FROM (`-80`)",
      "RESHARD KEYSPACE shop FROM (`-80`) TO",
      "RESHARD KEYSPACE shop FROM (`-80`) TO (",
      "RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`",
      "RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`) WITH",
      "RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`) WITH AUTO",
      "RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`) THROTTLE",
      "RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`) THROTTLE 5",
      "SHOW MIGRATION",
      "SHOW MIGRATIONS IN",
      "PAUSE",
      "PAUSE MIGRATION",
      "CUTOVER MIGRATION 7 TIMEOUT",
      "CUTOVER MIGRATION 7 TIMEOUT 1.",
      "ALTER",
      "ALTER KEYSPACE",
      "ALTER KEYSPACE shop",
      "ALTER KEYSPACE shop SET",
      "ALTER KEYSPACE shop SET scatter_writes",
      "ALTER KEYSPACE shop SET scatter_writes =",
      "ALTER KEYSPACE shop SET scatter_writes = deny,",
      "SHOW SCHEMA",
      "SHOW SCHEMA DRIFT FROM",
  };
  for (const auto& sql : cuts) {
    auto e = errorOf(sql);
    EXPECT_EQ(e.kind, ErrKind::kSyntax) << sql;
    EXPECT_EQ(e.position, sql.size()) << sql;
    EXPECT_TRUE(e.message.ends_with(" near '' at line 1")) << sql << ": " << e.message;
  }
}

// ---------------------------------------------------------------- resharding

TEST(AdminParserReshard, ReshardSplitsAKeyspace) {
  auto r = parseAs<Reshard>("RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`, `40-80`)");
  EXPECT_EQ(r.keyspace, "shop");
  EXPECT_EQ(r.from, (std::vector<std::string>{"-80"}));
  EXPECT_EQ(r.to, (std::vector<std::string>{"-40", "40-80"}));
  EXPECT_FALSE(r.autoCutover);
  EXPECT_FALSE(r.throttleRowsPerSecond);
  // Merges take several sources.
  r = parseAs<Reshard>("RESHARD KEYSPACE shop FROM (`-40`, `40-80`, `80-c0`, `c0-`) TO (`-`);");
  EXPECT_EQ(r.from, (std::vector<std::string>{"-40", "40-80", "80-c0", "c0-"}));
  EXPECT_EQ(r.to, (std::vector<std::string>{"-"}));
}

TEST(AdminParserReshard, ReshardShardsAnUnshardedKeyspace) {
  auto r = parseAs<Reshard>("RESHARD KEYSPACE main FROM (`0`) TO (`-80`, `80-`)");
  EXPECT_EQ(r.keyspace, "main");
  EXPECT_EQ(r.from, (std::vector<std::string>{"0"}));
  EXPECT_EQ(r.to, (std::vector<std::string>{"-80", "80-"}));
  // A bare number and a plain name are shard names too, as in CREATE SHARD.
  EXPECT_EQ(parseAs<Reshard>("RESHARD KEYSPACE main FROM (0) TO (`-80`, `80-`)").from,
            (std::vector<std::string>{"0"}));
  EXPECT_EQ(parseAs<Reshard>("RESHARD KEYSPACE `main` FROM (primary0) TO (`-`)").from,
            (std::vector<std::string>{"primary0"}));
}

TEST(AdminParserReshard, ReshardOptionsInEitherOrderAndAnyCase) {
  const std::string base = "RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`, `40-80`)";
  for (const char* options :
       {" WITH AUTO CUTOVER THROTTLE 50000 ROWS", " THROTTLE 50000 ROWS WITH AUTO CUTOVER",
        " with auto cutover throttle 50000 rows;",
        " Throttle 50000 Rows /* c */ With Auto Cutover ;"}) {
    auto r = parseAs<Reshard>(base + options);
    EXPECT_TRUE(r.autoCutover) << options;
    EXPECT_EQ(r.throttleRowsPerSecond, 50000U) << options;
    EXPECT_EQ(r.from, (std::vector<std::string>{"-80"})) << options;
  }
  auto a = parseAs<Reshard>(base + " WITH AUTO CUTOVER");
  EXPECT_TRUE(a.autoCutover);
  EXPECT_FALSE(a.throttleRowsPerSecond);
  auto t = parseAs<Reshard>(base + " THROTTLE 1 ROWS;");
  EXPECT_FALSE(t.autoCutover);
  EXPECT_EQ(t.throttleRowsPerSecond, 1U);
  EXPECT_EQ(parseAs<Reshard>(base + " THROTTLE 4294967295 ROWS").throttleRowsPerSecond,
            4294967295U);
  auto lower = parseAs<Reshard>("reshard keyspace shop from (`-80`) to (`-40`, `40-80`)");
  EXPECT_EQ(lower.to, (std::vector<std::string>{"-40", "40-80"}));
}

TEST(AdminParserReshard, ReshardListsNeedParenthesesAndAtLeastOneShard) {
  struct Case {
    std::string sql;
    std::string hint;
    std::string at;  // the text the error points at
  };
  for (const Case& c : std::vector<Case>{
           {"RESHARD KEYSPACE shop FROM `-80` TO (`-40`)", "expected '(' and a list of shard names",
            "`-80` TO"},
           {"RESHARD KEYSPACE shop FROM (`-80`) TO `-40`", "expected '(' and a list of shard names",
            "`-40`"},
           {"RESHARD KEYSPACE shop FROM (`-80` TO (`-40`)", "expected ',' or ')'", "TO ("},
           {"RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`, `40-80`", "expected ',' or ')'", ""},
           {"RESHARD KEYSPACE shop FROM () TO (`-40`)", "empty FROM list: name at least one shard",
            ") TO"},
           {"RESHARD KEYSPACE shop FROM (`-80`) TO ()", "empty TO list: name at least one shard",
            ")"},
           {"RESHARD KEYSPACE shop FROM (`-80`,) TO (`-40`)",
            "expected shard name (backquote names like `-80` or `80-c0`)", ") TO"},
           {"RESHARD KEYSPACE shop FROM (`-80` `80-`) TO (`-40`)", "expected ',' or ')'", "`80-`)"},
           {"RESHARD KEYSPACE shop FROM (`-80`)", "expected TO (target shards)", ""},
           {"RESHARD KEYSPACE shop TO (`-40`)", "expected FROM (source shards)", "TO"},
           {"RESHARD shop FROM (`-80`) TO (`-40`)", "expected KEYSPACE after RESHARD", "shop"},
           {"RESHARD KEYSPACE FROM (`-80`) TO (`-40`)", "expected FROM (source shards)", "(`-80`)"},
           {"RESHARD KEYSPACE shop FROM ('-80') TO (`-40`)", "expected shard name", "'-80')"},
           {"RESHARD KEYSPACE shop FROM (``) TO (`-40`)", "invalid shard name: empty name", "``)"},
       }) {
    auto e = errorOf(c.sql);
    EXPECT_EQ(e.kind, ErrKind::kSyntax) << c.sql;
    const std::size_t at = c.at.empty() ? c.sql.size() : c.sql.rfind(c.at);
    EXPECT_EQ(e.position, at) << c.sql;
    EXPECT_EQ(e.message, syntax(c.hint, std::string_view(c.sql).substr(at))) << c.sql;
  }
}

TEST(AdminParserReshard, ReshardRefusesAShardNamedTwiceOrOnBothSides) {
  std::string sql = "RESHARD KEYSPACE shop FROM (`-80`, `-80`) TO (`-40`)";
  auto e = errorOf(sql);
  EXPECT_EQ(e.kind, ErrKind::kSyntax);
  EXPECT_EQ(e.position, sql.find("`-80`) TO"));
  EXPECT_EQ(e.message, syntax("shard `-80` is named twice in the FROM list", "`-80`) TO (`-40`)"));

  sql = "RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`, `40-80`, `-40`)";
  e = errorOf(sql);
  EXPECT_EQ(e.position, sql.rfind("`-40`"));
  EXPECT_EQ(e.message, syntax("shard `-40` is named twice in the TO list", "`-40`)"));

  // The error points at the name in the TO list that is a source already.
  sql = "RESHARD KEYSPACE shop FROM (`-80`, `80-`) TO (`-40`, `80-`)";
  e = errorOf(sql);
  EXPECT_EQ(e.position, sql.rfind("`80-`"));
  EXPECT_EQ(e.message, syntax("shard `80-` is both a source and a target", "`80-`)"));

  // The same name however it is written.
  EXPECT_EQ(errorOf("RESHARD KEYSPACE main FROM (0) TO (`0`)").message,
            syntax("shard `0` is both a source and a target", "`0`)"));
  EXPECT_EQ(errorOf("RESHARD KEYSPACE main FROM (`x`, x) TO (`-`)").message,
            syntax("shard `x` is named twice in the FROM list", "x) TO (`-`)"));
}

TEST(AdminParserReshard, ShardNamesWithADashNeedBackquotes) {
  const std::string hint = "expected shard name (backquote names like `-80` or `80-c0`)";
  EXPECT_EQ(errorOf("RESHARD KEYSPACE shop FROM (-80) TO (`-40`)").message,
            syntax(hint, "-80) TO (`-40`)"));
  std::string sql = "RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`, 40-80)";
  auto e = errorOf(sql);
  EXPECT_EQ(e.position, sql.find("40-80)"));
  EXPECT_EQ(e.message, syntax(hint, "40-80)"));
  EXPECT_EQ(errorOf("RESHARD KEYSPACE shop FROM (c0-) TO (`-`)").message,
            syntax(hint, "c0-) TO (`-`)"));
  EXPECT_EQ(errorOf("DROP SHARD shop.80-c0").message, syntax(hint, "80-c0"));
  // A name longer than MySQL's identifier limit, even one made of digits.
  EXPECT_EQ(errorOf("RESHARD KEYSPACE shop FROM (" + std::string(65, '1') + ") TO (`-`)").message,
            syntax("invalid shard name: name longer than 64 characters",
                   std::string(65, '1') + ") TO (`-`)"));
}

TEST(AdminParserReshard, ReshardThrottleIsAPositiveRowsPerSecond) {
  const std::string base = "RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`) ";
  const std::string range = "THROTTLE must be between 1 and 4294967295 rows per second";
  struct Case {
    std::string options;
    std::string hint;
    std::string at;
  };
  for (const Case& c : std::vector<Case>{
           {"THROTTLE 0 ROWS", range, "0 ROWS"},
           {"THROTTLE 4294967296 ROWS", range, "4294967296 ROWS"},
           {"THROTTLE 99999999999999999999999999 ROWS", range, "99999999999999999999999999 ROWS"},
           {"THROTTLE -5 ROWS", "expected THROTTLE n ROWS (n rows per second, a number)", "-5"},
           {"THROTTLE fast ROWS", "expected THROTTLE n ROWS (n rows per second, a number)", "fast"},
           {"THROTTLE ROWS", "expected THROTTLE n ROWS (n rows per second, a number)", "ROWS"},
           {"THROTTLE 5", "expected ROWS after the throttle (rows per second)", ""},
           {"THROTTLE 1.5 ROWS", "expected ROWS after the throttle (rows per second)", ".5"},
           {"THROTTLE 5 ROW", "expected ROWS after the throttle (rows per second)", "ROW"},
           {"THROTTLE 5 ROWS THROTTLE 6 ROWS", "duplicate THROTTLE clause", "THROTTLE 6"},
           {"WITH AUTO CUTOVER THROTTLE 5 ROWS WITH AUTO CUTOVER",
            "duplicate WITH AUTO CUTOVER clause", "WITH AUTO CUTOVER"},
           {"WITH CUTOVER", "expected AUTO CUTOVER after WITH", "CUTOVER"},
           {"WITH AUTO", "expected CUTOVER after WITH AUTO", ""},
       }) {
    const std::string sql = base + c.options;
    auto e = errorOf(sql);
    EXPECT_EQ(e.kind, ErrKind::kSyntax) << sql;
    // rfind: the duplicate is the last occurrence of its clause.
    const std::size_t at = c.at.empty() ? sql.size() : sql.rfind(c.at);
    EXPECT_EQ(e.position, at) << sql;
    EXPECT_EQ(e.message, syntax(c.hint, std::string_view(sql).substr(at))) << sql;
  }
}

TEST(AdminParserReshard, ReshardRefusesTrailingText) {
  const std::string hint = "expected WITH AUTO CUTOVER, THROTTLE n ROWS or end of statement";
  EXPECT_EQ(errorOf("RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`) NOW").message,
            syntax(hint, "NOW"));
  EXPECT_EQ(errorOf("RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`) THROTTLE 5 ROWS, 6").message,
            syntax(hint, ", 6"));
  EXPECT_EQ(errorOf("RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`); SHOW MIGRATIONS").message,
            syntax("expected end of statement (one statement at a time)", "SHOW MIGRATIONS"));
}

TEST(AdminParserReshard, ShowMigrations) {
  EXPECT_FALSE(parseAs<ShowMigrations>("SHOW MIGRATIONS").keyspace);
  EXPECT_FALSE(parseAs<ShowMigrations>("show migrations;").keyspace);
  EXPECT_EQ(parseAs<ShowMigrations>("show migrations from shop;").keyspace, "shop");
  EXPECT_EQ(parseAs<ShowMigrations>("SHOW MIGRATIONS IN `shop`").keyspace, "shop");
  EXPECT_EQ(errorOf("SHOW MIGRATIONS FROM").message, syntax("expected keyspace name", ""));
  EXPECT_EQ(errorOf("SHOW MIGRATIONS shop").message,
            syntax("expected FROM keyspace or end of statement", "shop"));
  EXPECT_EQ(errorOf("SHOW MIGRATIONS FROM shop, main").message,
            syntax("expected end of statement", ", main"));
}

TEST(AdminParserReshard, ShowMigrationTakesAPositiveInt64Id) {
  EXPECT_EQ(parseAs<ShowMigration>("SHOW MIGRATION 7").id, 7);
  EXPECT_EQ(parseAs<ShowMigration>("show migration 007;").id, 7);
  EXPECT_EQ(parseAs<ShowMigration>("SHOW MIGRATION 9223372036854775807").id, INT64_MAX);
  const std::string range = "migration id must be between 1 and 9223372036854775807";
  EXPECT_EQ(errorOf("SHOW MIGRATION 0").message, syntax(range, "0"));
  EXPECT_EQ(errorOf("SHOW MIGRATION 9223372036854775808").message,
            syntax(range, "9223372036854775808"));
  EXPECT_EQ(errorOf("SHOW MIGRATION 99999999999999999999").message,
            syntax(range, "99999999999999999999"));
  const std::string expected = "expected the migration id (a number)";
  EXPECT_EQ(errorOf("SHOW MIGRATION").message, syntax(expected, ""));
  EXPECT_EQ(errorOf("SHOW MIGRATION -1").message, syntax(expected, "-1"));
  EXPECT_EQ(errorOf("SHOW MIGRATION seven").message, syntax(expected, "seven"));
  EXPECT_EQ(errorOf("SHOW MIGRATION '7'").message, syntax(expected, "'7'"));
  EXPECT_EQ(errorOf("SHOW MIGRATION 7.5").message, syntax("expected end of statement", ".5"));
  EXPECT_EQ(errorOf("SHOW MIGRATION 7 8").message, syntax("expected end of statement", "8"));
}

TEST(AdminParserReshard, MigrationVerbs) {
  using R = catalog::MigrationRequest;
  const std::pair<const char*, R> verbs[] = {{"PAUSE", R::kPause},      {"resume", R::kResume},
                                             {"Cancel", R::kCancel},    {"VERIFY", R::kVerify},
                                             {"CUTOVER", R::kCutover},  {"REVERSE", R::kReverse},
                                             {"complete", R::kComplete}};
  for (const auto& [verb, action] : verbs) {
    for (const char* tail : {" MIGRATION 3;", " migration 3", " MiGrAtIoN  3 ; "}) {
      const std::string sql = std::string(verb) + tail;
      auto c = parseAs<MigrationCommand>(sql);
      EXPECT_EQ(c.action, action) << sql;
      EXPECT_EQ(c.id, 3) << sql;
      EXPECT_FALSE(c.timeoutMs) << sql;
    }
  }
  EXPECT_EQ(parseAs<MigrationCommand>("COMPLETE MIGRATION 9223372036854775807").id, INT64_MAX);
}

TEST(AdminParserReshard, CutoverAndReverseTakeATimeoutInSeconds) {
  auto ms = [](std::string_view sql) { return parseAs<MigrationCommand>(sql).timeoutMs; };
  EXPECT_EQ(ms("CUTOVER MIGRATION 7 TIMEOUT 2"), 2000U);
  EXPECT_EQ(ms("REVERSE MIGRATION 7 TIMEOUT 0.5"), 500U);
  EXPECT_EQ(ms("cutover migration 7 timeout 1.25;"), 1250U);
  EXPECT_EQ(ms("REVERSE MIGRATION 7 TIMEOUT .5"), 500U);
  EXPECT_EQ(ms("CUTOVER MIGRATION 7 TIMEOUT 0.001"), 1U);
  EXPECT_EQ(ms("CUTOVER MIGRATION 7 TIMEOUT 3600"), 3600000U);
  EXPECT_EQ(ms("CUTOVER MIGRATION 7 TIMEOUT 3600.000"), 3600000U);
  EXPECT_EQ(ms("CUTOVER MIGRATION 7 TIMEOUT 0002.50"), 2500U);
  // Rounded to the millisecond, half up.
  EXPECT_EQ(ms("CUTOVER MIGRATION 7 TIMEOUT 0.0015"), 2U);
  EXPECT_EQ(ms("CUTOVER MIGRATION 7 TIMEOUT 0.00149999"), 1U);
  EXPECT_EQ(ms("CUTOVER MIGRATION 7 TIMEOUT 0.0005"), 1U);
  EXPECT_EQ(ms("CUTOVER MIGRATION 7 TIMEOUT 1.2345"), 1235U);
  EXPECT_EQ(ms("CUTOVER MIGRATION 7 TIMEOUT 3600.0004999999999999999999"), 3600000U);
  EXPECT_FALSE(ms("CUTOVER MIGRATION 7"));
  EXPECT_FALSE(ms("REVERSE MIGRATION 7;"));
}

TEST(AdminParserReshard, TimeoutRefusals) {
  const std::string range = "TIMEOUT must be between 0.001 and 3600 seconds";
  const std::string expected = "expected the TIMEOUT in seconds (e.g. 2 or 0.5)";
  struct Case {
    std::string timeout;
    std::string hint;
    std::string at;
  };
  for (const Case& c : std::vector<Case>{
           {"0", range, "0"},
           {"0.0", range, "0.0"},
           {"0.0004", range, "0.0004"},
           {"3600.001", range, "3600.001"},
           {"3600.0005", range, "3600.0005"},
           {"3601", range, "3601"},
           {"99999999999999999999", range, "99999999999999999999"},
           {"", expected, ""},
           {"-1", expected, "-1"},
           {"'2'", expected, "'2'"},
           {"2s", expected, "2s"},
           {"1.", "expected digits after the decimal point", ""},
           {"1.;", "expected digits after the decimal point", ";"},
           {"1.5s", "expected digits after the decimal point", "5s"},
           {"1e3", expected, "1e3"},
           {"1. 5", "expected digits after the decimal point", "5"},
           {"2 .5", "expected end of statement", ".5"},
           {"2 TIMEOUT 3", "expected end of statement", "TIMEOUT 3"},
           {"2.5.1", "expected end of statement", ".1"},
       }) {
    const std::string sql = "CUTOVER MIGRATION 7 TIMEOUT " + c.timeout;
    auto e = errorOf(sql);
    EXPECT_EQ(e.kind, ErrKind::kSyntax) << sql;
    const std::size_t at = c.at.empty() ? sql.size() : sql.rfind(c.at);
    EXPECT_EQ(e.position, at) << sql;
    EXPECT_EQ(e.message, syntax(c.hint, std::string_view(sql).substr(at))) << sql;
  }
}

TEST(AdminParserReshard, OnlyCutoverAndReverseTakeATimeout) {
  for (const char* verb : {"PAUSE", "RESUME", "CANCEL", "VERIFY", "COMPLETE"}) {
    const std::string sql = std::string(verb) + " MIGRATION 3 TIMEOUT 2";
    EXPECT_EQ(errorOf(sql).message, syntax("expected end of statement", "TIMEOUT 2")) << sql;
  }
  EXPECT_EQ(errorOf("CUTOVER MIGRATION 3 WAIT 2").message,
            syntax("expected TIMEOUT seconds or end of statement", "WAIT 2"));
}

TEST(AdminParserReshard, MigrationVerbRefusals) {
  const std::string range = "migration id must be between 1 and 9223372036854775807";
  const std::string id = "expected the migration id (a number)";
  EXPECT_EQ(errorOf("PAUSE 3").message, syntax("expected MIGRATION and its id", "3"));
  EXPECT_EQ(errorOf("PAUSE MIGRATIONS 3").message,
            syntax("expected MIGRATION and its id", "MIGRATIONS 3"));
  EXPECT_EQ(errorOf("CANCEL MIGRATION").message, syntax(id, ""));
  EXPECT_EQ(errorOf("CUTOVER MIGRATION x").message, syntax(id, "x"));
  EXPECT_EQ(errorOf("RESUME MIGRATION -3").message, syntax(id, "-3"));
  EXPECT_EQ(errorOf("VERIFY MIGRATION 0").message, syntax(range, "0"));
  EXPECT_EQ(errorOf("COMPLETE MIGRATION 9223372036854775808").message,
            syntax(range, "9223372036854775808"));
  EXPECT_EQ(errorOf("VERIFY MIGRATION 3 4").message, syntax("expected end of statement", "4"));
  EXPECT_EQ(errorOf("PAUSE MIGRATION 3; PAUSE MIGRATION 4").message,
            syntax("expected end of statement (one statement at a time)", "PAUSE MIGRATION 4"));
}

TEST(AdminParserReshard, UnknownMigrationVerbs) {
  // STOP and START are MySQL verbs (STOP SLAVE): not supported, naming the migration verbs.
  for (const auto& [sql, verb] : std::vector<std::pair<std::string, std::string>>{
           {"STOP MIGRATION 1", "STOP"}, {"start migration 1;", "START"}}) {
    auto e = errorOf(sql);
    EXPECT_EQ(e.kind, ErrKind::kNotSupported) << sql;
    EXPECT_EQ(e.position, 0u) << sql;
    EXPECT_EQ(e.message, "'" + verb +
                             " MIGRATION' is not an admin statement (a migration takes PAUSE, "
                             "RESUME, CANCEL, VERIFY, CUTOVER, REVERSE or COMPLETE); see "
                             "docs/admin-sql.md")
        << sql;
  }
  EXPECT_EQ(errorOf("STOP SLAVE").message,
            "'STOP' is not an admin statement; see docs/admin-sql.md");
  // Words that are no MySQL verb are syntax errors listing what may start a statement.
  for (const char* sql : {"HALT MIGRATION 1", "ABORT MIGRATION 1", "MIGRATION 1"}) {
    auto e = errorOf(sql);
    EXPECT_EQ(e.kind, ErrKind::kSyntax) << sql;
    EXPECT_EQ(e.message, syntax(kStatementHint, sql)) << sql;
  }
}

TEST(AdminParserReshard, RedactionLeavesThemUnchanged) {
  for (std::string_view sql : {
           "RESHARD KEYSPACE shop FROM (`-80`) TO (`-40`, `40-80`) WITH AUTO CUTOVER THROTTLE "
           "50000 ROWS",
           "RESHARD KEYSPACE main FROM (`0`) TO (`-80`, `80-`)",
           "SHOW MIGRATIONS IN shop",
           "SHOW MIGRATION 7",
           "PAUSE MIGRATION 7;",
           "CUTOVER MIGRATION 7 TIMEOUT 2",
           "REVERSE MIGRATION 7 TIMEOUT 0.5",
           "COMPLETE MIGRATION 7",
       }) {
    auto parsed = parseAdmin(sql);
    ASSERT_TRUE(std::holds_alternative<AdminStatement>(parsed)) << sql;
    EXPECT_EQ(redactPassword(sql, std::get<AdminStatement>(parsed)), sql);
  }
}

// ---------------------------------------------------------------- keyspace settings, drift

TEST(AdminParserKeyspaceSettings, AlterKeyspaceSetsScatterWrites) {
  AlterKeyspace a = parseAs<AlterKeyspace>("ALTER KEYSPACE shop SET scatter_writes = deny");
  EXPECT_EQ(a.keyspace, "shop");
  EXPECT_EQ(a.scatterWrites, catalog::ScatterWrites::kDeny);
  a = parseAs<AlterKeyspace>("alter keyspace `my shop` set SCATTER_WRITES='DENY';");
  EXPECT_EQ(a.keyspace, "my shop");
  EXPECT_EQ(a.scatterWrites, catalog::ScatterWrites::kDeny);
  a = parseAs<AlterKeyspace>("ALTER KEYSPACE shop SET Scatter_Writes = \"allow\"");
  EXPECT_EQ(a.scatterWrites, catalog::ScatterWrites::kAllow);
  a = parseAs<AlterKeyspace>("ALTER KEYSPACE shop SET scatter_writes=Allow");
  EXPECT_EQ(a.scatterWrites, catalog::ScatterWrites::kAllow);
}

TEST(AdminParserKeyspaceSettings, AlterKeyspaceRefusals) {
  struct Case {
    std::string sql;
    std::string_view hint;
    std::string near;
  };
  for (const Case& c : std::vector<Case>{
           {"ALTER KEYSPACE shop scatter_writes = deny",
            "expected SET and a setting (scatter_writes = allow | deny, transaction_mode = single "
            "| "
            "multi | twopc)",
            "scatter_writes = deny"},
           {"ALTER KEYSPACE shop SET sharded = yes",
            "expected a keyspace setting (scatter_writes, transaction_mode, auto_failover)",
            "sharded = yes"},
           {"ALTER KEYSPACE shop SET transaction_mode = xa",
            "expected single, multi or twopc (transaction_mode = ...)", "xa"},
           {"ALTER KEYSPACE shop SET transaction_mode = twopc, transaction_mode = multi",
            "transaction_mode is set twice", "transaction_mode = multi"},
           {"ALTER KEYSPACE shop SET scatter_writes deny", "expected '=' after scatter_writes",
            "deny"},
           {"ALTER KEYSPACE shop SET scatter_writes = sometimes",
            "expected allow or deny (scatter_writes = allow | deny)", "sometimes"},
           {"ALTER KEYSPACE shop SET scatter_writes = 1",
            "expected allow or deny (scatter_writes = allow | deny)", "1"},
           {"ALTER KEYSPACE shop SET scatter_writes = `deny`",
            "expected allow or deny (scatter_writes = allow | deny)", "`deny`"},
           {"ALTER KEYSPACE shop SET scatter_writes = deny, scatter_writes = allow",
            "scatter_writes is set twice", "scatter_writes = allow"},
           {"ALTER KEYSPACE shop SET scatter_writes = deny now",
            "expected ',' and another setting, or end of statement", "now"},
           {"ALTER KEYSPACE shop.orders SET scatter_writes = deny",
            "expected SET and a setting (scatter_writes = allow | deny, transaction_mode = "
            "single | multi | twopc)",
            ".orders SET scatter_writes = deny"},
       }) {
    auto e = errorOf(c.sql);
    EXPECT_EQ(e.kind, ErrKind::kSyntax) << c.sql;
    EXPECT_EQ(e.position, c.sql.rfind(c.near)) << c.sql;
    EXPECT_EQ(e.message, syntax(c.hint, c.near)) << c.sql;
  }
  auto e = errorOf("ALTER USER app IDENTIFIED BY 'x'");
  EXPECT_EQ(e.kind, ErrKind::kNotSupported);
  EXPECT_EQ(e.message,
            "'ALTER' is not an admin statement (the admin port has ALTER KEYSPACE only); see "
            "docs/admin-sql.md");
}

TEST(AdminParserKeyspaceSettings, ShowSchemaDrift) {
  EXPECT_FALSE(parseAs<ShowSchemaDrift>("SHOW SCHEMA DRIFT").keyspace);
  EXPECT_EQ(parseAs<ShowSchemaDrift>("show schema drift in shop;").keyspace, "shop");
  EXPECT_EQ(parseAs<ShowSchemaDrift>("SHOW SCHEMA DRIFT FROM `shop`").keyspace, "shop");
  auto e = errorOf("SHOW SCHEMA DRIFTS");
  EXPECT_EQ(e.position, 12u);
  EXPECT_EQ(e.message, syntax("expected DRIFT after SHOW SCHEMA", "DRIFTS"));
  e = errorOf("SHOW SCHEMA DRIFT shop");
  EXPECT_EQ(e.position, 18u);
  EXPECT_EQ(e.message, syntax("expected FROM keyspace or end of statement", "shop"));
  // MySQL's own SHOW SCHEMAS stays outside the admin surface.
  EXPECT_EQ(errorOf("SHOW SCHEMAS").kind, ErrKind::kNotSupported);
}

TEST(AdminParserKeyspaceSettings, RedactionLeavesThemUnchanged) {
  for (std::string_view sql :
       {"ALTER KEYSPACE shop SET scatter_writes = 'deny'", "SHOW SCHEMA DRIFT IN shop"}) {
    auto parsed = parseAdmin(sql);
    ASSERT_TRUE(std::holds_alternative<AdminStatement>(parsed)) << sql;
    EXPECT_EQ(redactPassword(sql, std::get<AdminStatement>(parsed)), sql);
  }
}

}  // namespace
}  // namespace shardproxy::router::admin

namespace shardproxy::router::admin {
namespace {

TEST(AdminParserHighAvailability, SwitchoverWithAndWithoutCandidate) {
  Switchover s = parseAs<Switchover>("SWITCHOVER SHARD shop.`-80` TO '127.0.0.1:13307'");
  EXPECT_EQ(s.keyspace, "shop");
  EXPECT_EQ(s.shard, "-80");
  ASSERT_TRUE(s.candidate.has_value());
  EXPECT_EQ(s.candidate->port, 13307);
  EXPECT_FALSE(s.timeoutMs.has_value());
  s = parseAs<Switchover>("switchover shard users.main timeout 2.5;");
  EXPECT_FALSE(s.candidate.has_value());
  EXPECT_EQ(s.timeoutMs, 2500u);
  s = parseAs<Switchover>("SWITCHOVER SHARD shop.`80-` TO '[::1]:3306' TIMEOUT 1");
  EXPECT_EQ(s.candidate->host, "::1");
  EXPECT_EQ(s.timeoutMs, 1000u);
  // Refusals: each a syntax error naming what was expected.
  EXPECT_NE(errorOf("SWITCHOVER shop.`-80`").message.find("expected SHARD"), std::string::npos);
  EXPECT_NE(errorOf("SWITCHOVER SHARD shop.`-80` TO 13307").message.find("host:port"),
            std::string::npos);
  EXPECT_NE(errorOf("SWITCHOVER SHARD shop.`-80` TO '127.0.0.1'").message.find("invalid address"),
            std::string::npos);
  EXPECT_NE(errorOf("SWITCHOVER SHARD shop.`-80` TIMEOUT 0").message.find("TIMEOUT must be"),
            std::string::npos);
  EXPECT_EQ(errorOf("SWITCHOVER SHARD shop.`-80` NOW").kind, ErrKind::kSyntax);
}

TEST(AdminParserHighAvailability, AutoFailoverAndTheShows) {
  SetAutoFailover a = parseAs<SetAutoFailover>("SET KEYSPACE shop AUTO FAILOVER ON");
  EXPECT_EQ(a.keyspace, "shop");
  EXPECT_TRUE(a.on);
  a = parseAs<SetAutoFailover>("set keyspace `my shop` auto failover off;");
  EXPECT_EQ(a.keyspace, "my shop");
  EXPECT_FALSE(a.on);
  EXPECT_NE(errorOf("SET KEYSPACE shop AUTO FAILOVER MAYBE").message.find("expected ON or OFF"),
            std::string::npos);
  EXPECT_NE(errorOf("SET KEYSPACE shop FAILOVER ON").message.find("AUTO FAILOVER"),
            std::string::npos);
  AlterKeyspace k = parseAs<AlterKeyspace>("ALTER KEYSPACE shop SET auto_failover = 'on'");
  EXPECT_EQ(k.autoFailover, true);
  EXPECT_NE(errorOf("ALTER KEYSPACE shop SET auto_failover = yes, auto_failover = off")
                .message.find("expected on or off"),
            std::string::npos);
  EXPECT_EQ(parseAs<ShowFailovers>("SHOW FAILOVERS").limit, std::nullopt);
  EXPECT_EQ(parseAs<ShowFailovers>("show failovers limit 3").limit, 3u);
  parseAs<ShowBuffers>("SHOW BUFFERS");
}

TEST(AdminParser, QueryDigestsAndShardKeyAdvice) {
  ShowQueryDigest d = parseAs<ShowQueryDigest>("SHOW QUERY DIGEST");
  EXPECT_EQ(d.order, DigestOrder::kTotalTime);
  EXPECT_EQ(d.limit, std::nullopt);
  d = parseAs<ShowQueryDigest>("show query digest order by scatter limit 10;");
  EXPECT_EQ(d.order, DigestOrder::kScatter);
  EXPECT_EQ(d.limit, 10u);
  EXPECT_EQ(parseAs<ShowQueryDigest>("SHOW QUERY DIGEST ORDER BY count").order,
            DigestOrder::kCount);
  EXPECT_EQ(parseAs<ShowQueryDigest>("SHOW QUERY DIGEST LIMIT 1").limit, 1u);
  parseAs<ResetQueryDigest>("RESET QUERY DIGEST");
  EXPECT_EQ(parseAs<ShowShardKeyAdvice>("SHOW SHARD KEY ADVICE").keyspace, std::nullopt);
  EXPECT_EQ(parseAs<ShowShardKeyAdvice>("show shard key advice for `my shop`").keyspace, "my shop");
  EXPECT_NE(errorOf("SHOW QUERY DIGEST ORDER BY rows")
                .message.find("expected total_time, count or scatter"),
            std::string::npos);
  EXPECT_NE(errorOf("SHOW QUERY").message.find("expected DIGEST"), std::string::npos);
  EXPECT_NE(errorOf("SHOW SHARD KEY").message.find("expected ADVICE"), std::string::npos);
  EXPECT_NE(errorOf("SHOW QUERY DIGEST LIMIT 1 ORDER BY count").message.find("end of statement"),
            std::string::npos);
  // MySQL's RESET statements are not admin statements.
  EXPECT_EQ(errorOf("RESET MASTER").kind, ErrKind::kNotSupported);
}

}  // namespace
}  // namespace shardproxy::router::admin
