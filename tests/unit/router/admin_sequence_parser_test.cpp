// The admin grammar of global sequences (CREATE / DROP SEQUENCE FOR ks.t, SHOW SEQUENCES) and of
// lookup keys (CREATE / DROP LOOKUP KEY ks.t (col), SHOW LOOKUP KEYS).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shardproxy/router/admin_statement.h"

namespace shardproxy::router::admin {
namespace {

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

std::string syntax(std::string_view hint, std::string_view near) {
  return "You have an error in your SQL syntax; " + std::string(hint) + " near '" +
         std::string(near) + "' at line 1";
}

TEST(AdminSequenceParser, CreateWithDefaultsLeavesStartAndCacheOpen) {
  auto s = parseAs<CreateSequence>("CREATE SEQUENCE FOR shop.orders (id)");
  EXPECT_EQ(s.keyspace, "shop");
  EXPECT_EQ(s.table, "orders");
  EXPECT_EQ(s.column, "id");
  EXPECT_FALSE(s.start);
  EXPECT_FALSE(s.cache);
}

TEST(AdminSequenceParser, CreateWithOptionsInAnyOrder) {
  auto s = parseAs<CreateSequence>(
      "create sequence for `shop`.`order items` (`item id`) start with 1000 cache 50;");
  EXPECT_EQ(s.table, "order items");
  EXPECT_EQ(s.column, "item id");
  EXPECT_EQ(s.start, 1000);
  EXPECT_EQ(s.cache, 50u);
  s = parseAs<CreateSequence>(
      "CREATE SEQUENCE FOR shop.orders (id) CACHE = 1 START = 9223372036854775807");
  EXPECT_EQ(s.start, INT64_MAX);
  EXPECT_EQ(s.cache, 1u);
  s = parseAs<CreateSequence>("CREATE SEQUENCE FOR shop.orders (id) START 5");
  EXPECT_EQ(s.start, 5);
}

TEST(AdminSequenceParser, DropAndShow) {
  auto d = parseAs<DropSequence>("DROP SEQUENCE FOR shop.orders");
  EXPECT_EQ(d.keyspace, "shop");
  EXPECT_EQ(d.table, "orders");
  EXPECT_FALSE(parseAs<ShowSequences>("SHOW SEQUENCES").keyspace);
  EXPECT_EQ(parseAs<ShowSequences>("show sequences in shop").keyspace, "shop");
  EXPECT_EQ(parseAs<ShowSequences>("SHOW SEQUENCES FROM shop;").keyspace, "shop");
}

TEST(AdminSequenceParser, BadInputIsASyntaxErrorSayingWhatWasExpected) {
  struct Case {
    std::string sql;
    std::string hint;
    std::string near;
  };
  for (const Case& c : std::vector<Case>{
           {"CREATE SEQUENCE s1 START WITH 1",
            "expected FOR keyspace.table (a shardproxy sequence generates a column of a sharded "
            "table: CREATE SEQUENCE FOR ks.t (column))",
            "s1 START WITH 1"},
           {"CREATE SEQUENCE FOR orders (id)", "expected '.' and table name (write keyspace.name)",
            "(id)"},
           {"CREATE SEQUENCE FOR shop.orders", "expected '(' and the column the sequence generates",
            ""},
           {"CREATE SEQUENCE FOR shop.orders (id, b)",
            "expected ')' (a sequence generates one column)", ", b)"},
           {"CREATE SEQUENCE FOR shop.orders (id) START WITH 0",
            "START WITH must be between 1 and 9223372036854775807", "0"},
           {"CREATE SEQUENCE FOR shop.orders (id) START WITH 9223372036854775808",
            "START WITH must be between 1 and 9223372036854775807", "9223372036854775808"},
           {"CREATE SEQUENCE FOR shop.orders (id) START WITH -5",
            "expected the START WITH value (a number)", "-5"},
           {"CREATE SEQUENCE FOR shop.orders (id) CACHE 0", "CACHE must be between 1 and 1000000",
            "0"},
           {"CREATE SEQUENCE FOR shop.orders (id) CACHE 1000001",
            "CACHE must be between 1 and 1000000", "1000001"},
           {"CREATE SEQUENCE FOR shop.orders (id) CACHE 5 CACHE 6", "duplicate CACHE clause",
            "CACHE 6"},
           {"CREATE SEQUENCE FOR shop.orders (id) START WITH 5 START WITH 6",
            "duplicate START WITH clause", "START WITH 6"},
           {"CREATE SEQUENCE FOR shop.orders (id) INCREMENT BY 2",
            "expected START WITH n, CACHE n or end of statement", "INCREMENT BY 2"},
           {"DROP SEQUENCE shop.orders",
            "expected FOR keyspace.table (a shardproxy sequence generates a column of a sharded "
            "table: CREATE SEQUENCE FOR ks.t (column))",
            "shop.orders"},
           {"SHOW SEQUENCES shop", "expected FROM keyspace or end of statement", "shop"},
       }) {
    auto e = errorOf(c.sql);
    EXPECT_EQ(e.kind, AdminParseError::Kind::kSyntax) << c.sql;
    EXPECT_EQ(e.message, syntax(c.hint, c.near)) << c.sql;
  }
}

TEST(AdminLookupKeyParser, CreateWithOptions) {
  auto plain = parseAs<CreateLookupKey>("CREATE LOOKUP KEY shop.orders (id)");
  EXPECT_EQ(plain.keyspace, "shop");
  EXPECT_EQ(plain.table, "orders");
  EXPECT_EQ(plain.column, "id");
  EXPECT_FALSE(plain.unique);
  EXPECT_EQ(plain.lookupKeyspace, "");
  auto full = parseAs<CreateLookupKey>("create lookup key `shop`.`orders` (`code`) in lk unique;");
  EXPECT_TRUE(full.unique);
  EXPECT_EQ(full.lookupKeyspace, "lk");
  EXPECT_EQ(full.column, "code");
}

TEST(AdminLookupKeyParser, DropAndShow) {
  auto d = parseAs<DropLookupKey>("DROP LOOKUP KEY shop.orders (id)");
  EXPECT_EQ(d.table, "orders");
  EXPECT_EQ(d.column, "id");
  EXPECT_FALSE(parseAs<ShowLookupKeys>("SHOW LOOKUP KEYS").keyspace);
  EXPECT_EQ(parseAs<ShowLookupKeys>("SHOW LOOKUP KEYS IN shop").keyspace, "shop");
}

TEST(AdminLookupKeyParser, RefusalsSayWhatWasExpected) {
  EXPECT_EQ(errorOf("CREATE LOOKUP shop.orders (id)").message,
            syntax("expected KEY keyspace.table (column)", "shop.orders (id)"));
  EXPECT_EQ(errorOf("CREATE LOOKUP KEY shop.orders (id, code)").message,
            syntax("expected ')' (a lookup key maps one column)", ", code)"));
  EXPECT_EQ(errorOf("CREATE LOOKUP KEY shop.orders (id) UNIQUE UNIQUE").message,
            syntax("duplicate UNIQUE", "UNIQUE"));
  EXPECT_EQ(errorOf("SHOW LOOKUP shop").message, syntax("expected KEYS after SHOW LOOKUP", "shop"));
}

}  // namespace
}  // namespace shardproxy::router::admin
