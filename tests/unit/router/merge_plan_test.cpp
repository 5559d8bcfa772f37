// Golden plan files for multi-shard reads (router/merge_spec.h): each case in
// testdata/merge_plans.txt is a query and the plan it must get — the kind, the SQL every shard is
// sent, the merge steps — so a change to the planner shows as a diff of plans. A failing run
// writes the whole file as it would be now to <build>/merge_plans.actual; with
// SHARDPROXY_UPDATE_GOLDEN=1 it rewrites the file in the source tree instead (review the diff).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "shardproxy/router/planner.h"
#include "shardproxy/router/session_state.h"
#include "shardproxy/router/sql/parser.h"
#include "shardproxy/router/table_schema.h"

#ifndef SHARDPROXY_TESTDATA_DIR
#error "SHARDPROXY_TESTDATA_DIR must name tests/unit/router/testdata"
#endif

namespace shardproxy::router {
namespace {

using catalog::Backend;
using catalog::BackendRole;
using catalog::KeyRange;
using catalog::Keyspace;
using catalog::Shard;
using catalog::Snapshot;
using catalog::TableKind;
using catalog::TableRule;

// Keyspace "shop" in four shards (-40, 40-80, 80-c0, c0-), one primary each.
Snapshot fourShards() {
  Snapshot s;
  s.version = 1;
  s.keyspaces.push_back(Keyspace{"shop", true, {0, 1, 2, 3}, {}});
  const std::uint64_t q = std::uint64_t{1} << 62;
  const char* names[] = {"-40", "40-80", "80-c0", "c0-"};
  for (std::uint32_t i = 0; i < 4; ++i) {
    std::optional<std::uint64_t> end;
    if (i < 3) end = q * (i + 1);
    s.shards.push_back(Shard{"shop", names[i], KeyRange{q * i, end}, true, {i}, i});
    Backend b;
    b.id = i;
    b.address = {"10.0.0." + std::to_string(i + 1), 3306};
    b.keyspace = "shop";
    b.shard = names[i];
    b.role = BackendRole::kPrimary;
    s.backends.push_back(b);
  }
  s.tables.push_back(TableRule{"shop", "countries", TableKind::kReference, "", ""});
  s.tables.push_back(TableRule{"shop", "customers", TableKind::kSharded, "id", "xxh3"});
  s.tables.push_back(TableRule{"shop", "orders", TableKind::kSharded, "customer_id", "xxh3"});
  return s;
}

std::string render(const Plan& p) {
  std::ostringstream out;
  if (p.kind == PlanKind::kError) {
    out << "error " << p.error.mysqlErrno << ": " << p.error.message << "\n";
    return out.str();
  }
  out << toString(p.kind) << " on " << p.targets.size() << " shards\n";
  if (!p.targets.empty() && p.rewritten(0)) out << "sql: " << p.sqlFor(0) << "\n";
  if (p.kind == PlanKind::kMerge) out << "merge: " << describe(p.merge) << "\n";
  if (p.firstAskLength != 0) out << "first ask: " << p.firstAskSql() << "\n";
  return out.str();
}

struct Case {
  std::vector<std::string> comments;  // lines before the query
  std::string query;
  std::string expected;
};

std::vector<Case> readCases(const std::string& path) {
  std::ifstream in(path);
  std::vector<Case> cases;
  std::string line;
  Case cur;
  bool inCase = false;
  while (std::getline(in, line)) {
    if (line.rfind("> ", 0) == 0) {
      if (inCase) cases.push_back(cur), cur = Case{};
      cur.query = line.substr(2);
      inCase = true;
    } else if (line.empty()) {
      if (inCase) cases.push_back(cur), cur = Case{};
      inCase = false;
    } else if (inCase) {
      cur.expected += line + "\n";
    } else {
      cur.comments.push_back(line);
    }
  }
  if (inCase) cases.push_back(cur);
  return cases;
}

TEST(MergePlans, MatchGoldenFile) {
  const std::string path = std::string(SHARDPROXY_TESTDATA_DIR) + "/merge_plans.txt";
  std::vector<Case> cases = readCases(path);
  ASSERT_GT(cases.size(), 20u) << "no cases read from " << path;
  Snapshot snap = fourShards();
  Planner planner;
  std::ostringstream actual;
  int failures = 0;
  for (const Case& c : cases) {
    for (const auto& l : c.comments)
      actual << l << "\n";
    sql::Parser parser;
    auto parsed = parser.parse(c.query);
    std::string got;
    if (!parsed) {
      got = "parse error: " + parsed.error().message + "\n";
    } else {
      PlanInput in;
      in.snapshot = &snap;
      in.schema = "shop";
      got = render(planner.plan(parsed.statement(), in));
    }
    actual << "> " << c.query << "\n" << got << "\n";
    if (got != c.expected) {
      ++failures;
      ADD_FAILURE() << "> " << c.query << "\nexpected:\n" << c.expected << "got:\n" << got;
    }
  }
  if (failures > 0) {
    const char* update = std::getenv("SHARDPROXY_UPDATE_GOLDEN");
    std::ofstream(update != nullptr && *update == '1' ? path : "merge_plans.actual")
        << actual.str();
  }
}

// The first ask's LIMIT: a shard's share plus five standard deviations, and none where it would
// not save much.
TEST(FirstAskLimit, IsTheShareOfOneShardWithRoom) {
  EXPECT_EQ(firstAskLimit(100, 4), 47u);    // 25 + 5 * 4.33
  EXPECT_EQ(firstAskLimit(1000, 4), 319u);  // 250 + 5 * 13.7
  EXPECT_EQ(firstAskLimit(100, 64), 8u);
  EXPECT_EQ(firstAskLimit(10000, 16), 747u);
  for (std::uint64_t n : {32u, 50u, 100u, 777u, 10000u}) {
    for (std::size_t k : {3u, 4u, 8u, 16u, 64u, 256u}) {
      const std::uint64_t m = firstAskLimit(n, k);
      if (m == 0) continue;
      EXPECT_GE(m * k, n) << n << " rows over " << k;  // the asks together cover the LIMIT
      EXPECT_LE(m * 3, n * 2) << n << " rows over " << k;
    }
  }
}

TEST(FirstAskLimit, NoneWhereItWouldNotSaveMuch) {
  EXPECT_EQ(firstAskLimit(100, 2), 0u);  // two shards: 50 + 25 is most of 100
  EXPECT_EQ(firstAskLimit(100, 1), 0u);
  EXPECT_EQ(firstAskLimit(31, 4), 0u);  // small LIMITs
  EXPECT_EQ(firstAskLimit(0, 4), 0u);
  EXPECT_EQ(firstAskLimit(10001, 4), 0u);  // the answer is held until it is known
  EXPECT_EQ(firstAskLimit(40, 3), 0u);     // 13.3 + 14.9 > 2/3 of 40
}

// GROUP BY, then ORDER BY another key: the shards are sent the client's ORDER BY after the group
// keys (one server sorts the groups again in a temporary table, and its column flags show it)
// unless the WHERE fixes the group keys for MariaDB's planner, which depends on the column's
// type and, for strings, on the session's collation_connection.
// The SQL shard 0 is sent for `query` over customers (id, country utf8mb4_general_ci, city
// utf8mb4_bin, balance, since DATE) in a session whose collation_connection is `collation`.
class TrackedShop {
 public:
  TrackedShop() {
    auto col = [](std::string c, std::uint32_t at, std::string type, std::string coll) {
      return ColumnRow{"customers", std::move(c), at, type, type, "YES", "", std::move(coll)};
    };
    std::vector<ColumnRow> rows = {col("id", 1, "bigint", ""),
                                   col("country", 2, "varchar", "utf8mb4_general_ci"),
                                   col("city", 3, "varchar", "utf8mb4_bin"),
                                   col("balance", 4, "decimal", ""),
                                   col("since", 5, "date", ""),
                                   col("status", 6, "enum", "utf8mb4_general_ci")};
    auto ks = buildKeyspaceSchema("shop", rows);
    EXPECT_TRUE(ks.ok());
    tracked_ = SchemaSnapshot{}.with(std::move(*ks));
  }
  std::string shardSql(std::string_view query, std::string_view collation) {
    sql::Parser parser;
    auto parsed = parser.parse(query);
    EXPECT_TRUE(parsed) << query;
    PlanInput in;
    in.snapshot = &snap_;
    in.schema = "shop";
    in.tracked = tracked_.get();
    in.collationConnection = collation;
    Plan p = planner_.plan(parsed.statement(), in);
    if (p.targets.empty()) return "no targets";
    return p.rewritten(0) ? std::string(p.sqlFor(0)) : std::string("no rewrite");
  }

 private:
  Snapshot snap_ = fourShards();
  std::shared_ptr<const SchemaSnapshot> tracked_;
  Planner planner_;
};

// One query of a planner table test: the session's collation_connection, the client's query,
// and what the SQL sent to a shard must end with (or be).
struct ShardSqlCase {
  const char* why;
  const char* collation;
  const char* query;
  const char* shardSql;
};

// Each case's query is sent to shard 0 as exactly its shardSql.
template <std::size_t N>
void expectShardSql(const ShardSqlCase (&cases)[N]) {
  TrackedShop shop;
  for (const ShardSqlCase& c : cases)
    EXPECT_EQ(shop.shardSql(c.query, c.collation), c.shardSql) << c.why;
}

TEST(MergePlans, GroupsSortedAgainUnlessTheWhereFixesTheKeys) {
  const char* general = "utf8mb4_general_ci";
  const char* unicode = "utf8mb4_unicode_ci";
  const char* fixedCountry =
      "SELECT country, COUNT(DISTINCT city) FROM customers WHERE country = 'DE' GROUP BY "
      "country ORDER BY COUNT(*) DESC";
  const char* fixedLeft =
      "SELECT country, since, COUNT(*) FROM customers WHERE country = 'DE' GROUP BY country, "
      "since ORDER BY since";
  const char* fixedCity =
      "SELECT city, COUNT(*) FROM customers WHERE city = 'x' GROUP BY city ORDER BY COUNT(*)";
  const ShardSqlCase ends[] = {
      {"The literal in the column's collation fixes it: no sort after grouping, none sent", general,
       fixedCountry, "ORDER BY country, city"},
      {"In another collation it does not (MariaDB 10.11, measured): the order is sent", unicode,
       fixedCountry, "ORDER BY country, city, COUNT(*) DESC"},
      {"... nor in an unknown one", "", fixedCountry, "ORDER BY country, city, COUNT(*) DESC"},
      {"A number fixes a number column", unicode,
       "SELECT balance, COUNT(*) FROM customers WHERE balance = 5 GROUP BY balance ORDER BY "
       "COUNT(*)",
       "ORDER BY balance"},
      {"... a string does not", general,
       "SELECT balance, COUNT(*) FROM customers WHERE balance = '5' GROUP BY balance ORDER BY "
       "COUNT(*)",
       "ORDER BY balance, COUNT(*)"},
      {"A string fixes a DATE", unicode,
       "SELECT since, COUNT(*) FROM customers WHERE '2026-01-01' = since GROUP BY 1 ORDER BY "
       "COUNT(*)",
       "ORDER BY 1"},
      {"A fixed key left of the others: the rest of the ORDER BY is a prefix of the rest of "
       "GROUP BY",
       general, fixedLeft, "ORDER BY country, since"},
      {"... unless it is not fixed", unicode, fixedLeft, "ORDER BY country, since, since"},
      {"A utf8mb4_bin column is not fixed by a literal in utf8mb4_general_ci", general, fixedCity,
       "ORDER BY city, COUNT(*)"},
      {"... but is in utf8mb4_bin", "utf8mb4_bin", fixedCity, "ORDER BY city"},
  };
  TrackedShop shop;
  for (const ShardSqlCase& c : ends) {
    const std::string sql = shop.shardSql(c.query, c.collation);
    const std::string_view tail = c.shardSql;
    EXPECT_TRUE(sql.size() >= tail.size() &&
                sql.compare(sql.size() - tail.size(), tail.size(), tail) == 0)
        << c.why << ": " << sql;
  }
}

TEST(MergePlans, DistinctGoesAsTheGroupByOneServerMakesOfIt) {
  const char* unicode = "utf8mb4_unicode_ci";
  const ShardSqlCase cases[] = {
      {"A date needs no weight, a column the WHERE fixes no comparison at all: the client's "
       "select list, so a shard may answer from an index as one server does",
       "utf8mb4_general_ci",
       "SELECT DISTINCT country, since FROM customers WHERE country = 'DE' LIMIT 5",
       "SELECT DISTINCT country, since FROM customers WHERE country = 'DE'  LIMIT 5"},
      {"... the string is compared where the literal is in another collation", unicode,
       "SELECT DISTINCT country, since FROM customers WHERE country = 'DE' LIMIT 5",
       "SELECT DISTINCT country, since, WEIGHT_STRING(RTRIM(country)), COLLATION(country) FROM "
       "customers WHERE country = 'DE'  LIMIT 5"},
      {"Without a LIMIT one server groups by the select list (and may read the groups from an "
       "index): so do the shards, the weights beside the groups, ordered as they group (no sort "
       "of their own) so that the merge meets duplicates next to each other and keeps no set",
       unicode, "SELECT DISTINCT SQL_NO_CACHE country, since FROM customers WHERE id > 5",
       "SELECT SQL_NO_CACHE country, since, WEIGHT_STRING(RTRIM(country)), COLLATION(country) "
       "FROM customers WHERE id > 5 GROUP BY country, since ORDER BY country, since"},
      {"A LIMIT and an ORDER BY naming every column: grouped in the ORDER BY's order", unicode,
       "SELECT DISTINCT since, country FROM customers ORDER BY country DESC, since LIMIT 3",
       "SELECT since, country, WEIGHT_STRING(RTRIM(country)), COLLATION(country) FROM customers  "
       "GROUP BY country, since ORDER BY country DESC, since LIMIT 3"},
      {"An ORDER BY key the WHERE fixes is dropped first: none left, as without ORDER BY",
       "utf8mb4_general_ci",
       "SELECT DISTINCT country FROM customers WHERE country = 'DE' ORDER BY country DESC LIMIT 6",
       "SELECT DISTINCT country, WEIGHT_STRING(RTRIM(country)), COLLATION(country) FROM "
       "customers WHERE country = 'DE'  ORDER BY country DESC LIMIT 6"},
      {"... but only in the column's collation", unicode,
       "SELECT DISTINCT country FROM customers WHERE country = 'DE' ORDER BY country DESC LIMIT 6",
       "SELECT country, WEIGHT_STRING(RTRIM(country)), COLLATION(country) FROM customers "
       "WHERE country = 'DE'  GROUP BY country ORDER BY country DESC LIMIT 6"},
      {"A HAVING (or more than one table) keeps the DISTINCT on one server", unicode,
       "SELECT DISTINCT country FROM customers HAVING country > 'A'",
       "SELECT DISTINCT country, WEIGHT_STRING(RTRIM(country)), COLLATION(country) FROM "
       "customers  HAVING country > 'A'"},
      {"A LIMIT without ORDER BY keeps the DISTINCT (a temporary table that stops at 3 rows)",
       unicode, "SELECT DISTINCT country FROM customers LIMIT 3",
       "SELECT DISTINCT country, WEIGHT_STRING(RTRIM(country)), COLLATION(country) FROM customers  "
       "LIMIT 3"},
      {"PAD SPACE weights are of the value without trailing spaces ('DE' = 'DE '): a shard's "
       "DISTINCT over them keeps no more rows than the merge, and its LIMIT can be pushed",
       unicode, "SELECT DISTINCT city, country FROM customers ORDER BY city LIMIT 4",
       "SELECT DISTINCT city, country, WEIGHT_STRING(RTRIM(city)), COLLATION(city), "
       "WEIGHT_STRING(RTRIM(country)), COLLATION(country) FROM customers  ORDER BY city LIMIT 4"},
      {"An expression's weight names a column the GROUP BY would not: DISTINCT as written, and "
       "without the LIMIT where its padding is not known",
       unicode, "SELECT DISTINCT UPPER(country) FROM customers LIMIT 2",
       "SELECT DISTINCT UPPER(country), WEIGHT_STRING(UPPER(country)), "
       "COLLATION(UPPER(country)) FROM customers "},
      {"... with or without a LIMIT", unicode, "SELECT DISTINCT UPPER(country) FROM customers",
       "SELECT DISTINCT UPPER(country), WEIGHT_STRING(UPPER(country)), "
       "COLLATION(UPPER(country)) FROM customers"},
  };
  expectShardSql(cases);
}

TEST(MergePlans, UnionBranchesWeighTheirStringsUnderTheUnionsCollation) {
  const char* general = "utf8mb4_general_ci";
  const ShardSqlCase cases[] = {
      {"country (utf8mb4_general_ci) and city (utf8mb4_bin): the UNION's column is "
       "utf8mb4_bin, and so are both branches' weights",
       general, "SELECT country FROM customers UNION SELECT city FROM customers ORDER BY 1",
       "SELECT country, WEIGHT_STRING(country COLLATE utf8mb4_bin), COLLATION(country COLLATE "
       "utf8mb4_bin) FROM customers UNION SELECT city, WEIGHT_STRING(city COLLATE utf8mb4_bin), "
       "COLLATION(city COLLATE utf8mb4_bin) FROM customers ORDER BY 1"},
      {"One collation: the weights as the columns have them", general,
       "SELECT country FROM customers UNION SELECT country FROM customers WHERE id > 3",
       "SELECT country, WEIGHT_STRING(country), COLLATION(country) FROM customers UNION SELECT "
       "country, WEIGHT_STRING(country), COLLATION(country) FROM customers WHERE id > 3"},
      {"An expression's collation is not tracked: as written (the merge refuses rows under two "
       "collations)",
       general, "SELECT UPPER(country) FROM customers UNION SELECT city FROM customers",
       "SELECT UPPER(country), WEIGHT_STRING(UPPER(country)), COLLATION(UPPER(country)) FROM "
       "customers UNION SELECT city, WEIGHT_STRING(city), COLLATION(city) FROM customers"},
  };
  expectShardSql(cases);
}

TEST(MergePlans, GroupByANameOfAColumnAndOfAnAliasGroupsByTheColumn) {
  const char* general = "utf8mb4_general_ci";
  const ShardSqlCase cases[] = {
      {"country is a column of customers: MariaDB groups by it (with a warning), not by city, so "
       "the merge's group key is the column, selected as a hidden column of a name of its own (a "
       "second item named country would make the GROUP BY ambiguous), and the shards' ORDER BY "
       "names it qualified (there a bare name is the alias)",
       general, "SELECT city AS country, COUNT(*) FROM customers GROUP BY country",
       "SELECT city AS country, COUNT(*), `customers`.`country` AS `shardproxy_group_0`, "
       "WEIGHT_STRING(RTRIM(country)), COLLATION(country) FROM customers GROUP BY country ORDER "
       "BY `customers`.`country`"},
      {"c is not: the alias", general, "SELECT city AS c, COUNT(*) FROM customers GROUP BY c",
       "SELECT city AS c, COUNT(*), WEIGHT_STRING(RTRIM(city)), COLLATION(city) FROM customers "
       "GROUP BY c ORDER BY c"},
      {"HAVING names the alias GROUP BY grouped by: spelled as its expression where the proxy "
       "evaluates it",
       general,
       "SELECT city AS c, COUNT(*) FROM customers GROUP BY c HAVING c <> 'x' OR COUNT(*) > 2",
       "SELECT city AS c, COUNT(*), WEIGHT_STRING(RTRIM(city)), COLLATION(city), (city) <> 'x' "
       "FROM customers GROUP BY c  ORDER BY c"},
      {"... and the column where GROUP BY took the column", general,
       "SELECT city AS country, COUNT(*) FROM customers GROUP BY country HAVING country <> 'x' OR "
       "COUNT(*) > 2",
       "SELECT city AS country, COUNT(*), `customers`.`country` AS `shardproxy_group_0`, "
       "WEIGHT_STRING(RTRIM(country)), COLLATION(country), country <> 'x' FROM customers GROUP BY "
       "country  ORDER BY `customers`.`country`"},
      {"ORDER BY takes the alias", general,
       "SELECT city AS country FROM customers ORDER BY country LIMIT 2",
       "SELECT city AS country, WEIGHT_STRING(RTRIM(city)), COLLATION(city) FROM customers  "
       "ORDER BY country LIMIT 2"},
  };
  expectShardSql(cases);
}

TEST(MergePlans, EnumsAreOrderedByTheirMembersNumbers) {
  const char* general = "utf8mb4_general_ci";
  const ShardSqlCase cases[] = {
      {"GROUP BY an ENUM: the shards sort by its number, and so does the merge", general,
       "SELECT status, COUNT(*) FROM customers GROUP BY status",
       "SELECT status, COUNT(*), (status) + 0 FROM customers GROUP BY status ORDER BY status"},
      {"ORDER BY it, by alias too", general,
       "SELECT id, status AS s FROM customers ORDER BY s DESC LIMIT 3",
       "SELECT id, status AS s, (status) + 0 FROM customers  ORDER BY s DESC LIMIT 3"},
      {"MIN / MAX compare its strings (by weight), COUNT(DISTINCT) its numbers", general,
       "SELECT MAX(status), COUNT(DISTINCT status) FROM customers",
       "SELECT MAX(status), COUNT(DISTINCT status), WEIGHT_STRING(MAX(status)), "
       "COLLATION(MAX(status)), (status) + 0 FROM customers GROUP BY status ORDER BY status"},
      {"DISTINCT with a LIMIT: members are never equal under the collation, so the LIMIT goes "
       "to the shards",
       general, "SELECT DISTINCT status FROM customers LIMIT 2",
       "SELECT DISTINCT status, WEIGHT_STRING(status), COLLATION(status) FROM customers  LIMIT 2"},
  };
  expectShardSql(cases);
}

TEST(SessionCollation, HandshakeThenSetNames) {
  SessionState s;
  s.charset = 224;
  EXPECT_EQ(s.collationConnection(), "utf8mb4_unicode_ci");
  s.apply({SessionChange::Type::kSetNames, "names", "NAMES utf8mb4"});
  EXPECT_EQ(s.collationConnection(), "utf8mb4_general_ci");
  s.apply({SessionChange::Type::kSetNames, "names", "NAMES 'utf8' COLLATE 'utf8_bin'"});
  EXPECT_EQ(s.collationConnection(), "utf8mb3_bin");
  s.apply({SessionChange::Type::kSetSession, "collation_connection",
           "@@session.collation_connection = utf8mb4_unicode_ci"});
  EXPECT_EQ(s.collationConnection(), "utf8mb4_unicode_ci");
  SessionState database;  // SET CHARACTER SET: the database's collation, which the proxy
  database.apply({SessionChange::Type::kSetNames, "names", "CHARACTER SET latin1"});  // lacks
  EXPECT_EQ(database.collationConnection(), "");
  SessionState unknown;
  unknown.charset = 255;
  EXPECT_EQ(unknown.collationConnection(), "");
}

}  // namespace
}  // namespace shardproxy::router
