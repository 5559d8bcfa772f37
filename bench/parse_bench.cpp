// SQL parser micro-benchmarks: the per-statement parse the router does before planning, for
// sysbench's point select, a 100-row multi-row INSERT and an ORM-style join with an IN list.
// Reports heap allocations per statement, which must be 0 once the Parser is warm.
// Run (Release build):
//   build-sql-rel/bench/parse_bench --benchmark_repetitions=10 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "alloc_counter.h"
#include "shardproxy/router/sql/analysis.h"
#include "shardproxy/router/sql/digest.h"
#include "shardproxy/router/sql/parser.h"
#include "statements.h"

using namespace shardproxy::router::sql;

namespace {

void runParse(benchmark::State& state, const std::string& sql) {
  Parser parser;
  if (!parser.parse(sql).ok()) {
    state.SkipWithError("statement does not parse");
    return;
  }
  std::uint64_t allocsBefore = bench::allocationCount();
  for (auto _ : state) {
    ParseResult r = parser.parse(sql);
    benchmark::DoNotOptimize(&r.statement());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * sql.size()));
  state.counters["allocs_per_stmt"] =
      benchmark::Counter(static_cast<double>(bench::allocationCount() - allocsBefore) /
                         static_cast<double>(state.iterations()));
}

void BM_ParsePointSelect(benchmark::State& state) {
  runParse(state, "SELECT c FROM sbtest1 WHERE id=?");
}
BENCHMARK(BM_ParsePointSelect);

// Parse plus the planner's first question (the shard key conjuncts), as routing will do it.
void BM_ParsePointSelectAndConjuncts(benchmark::State& state) {
  const std::string sql = "SELECT c FROM sbtest1 WHERE id=?";
  Parser parser;
  std::vector<KeyConjunct> conjuncts;
  conjuncts.reserve(8);
  std::uint64_t allocsBefore = bench::allocationCount();
  for (auto _ : state) {
    ParseResult r = parser.parse(sql);
    const auto* q = r.statement().as<SelectStatement>()->query->as<SelectBlock>();
    keyConjuncts(q->where, conjuncts);
    benchmark::DoNotOptimize(conjuncts.data());
  }
  state.counters["allocs_per_stmt"] =
      benchmark::Counter(static_cast<double>(bench::allocationCount() - allocsBefore) /
                         static_cast<double>(state.iterations()));
}
BENCHMARK(BM_ParsePointSelectAndConjuncts);

void BM_ParseInsert100Rows(benchmark::State& state) {
  runParse(state, bench::multiRowInsert(100));
}
BENCHMARK(BM_ParseInsert100Rows);

void BM_ParseOrmJoin(benchmark::State& state) {
  runParse(state,
           "SELECT `orders`.`id` AS `orders_id`, `orders`.`total` AS `orders_total`, "
           "`customers`.`name` AS `customers_name` FROM `orders` INNER JOIN `customers` ON "
           "`customers`.`id` = `orders`.`customer_id` WHERE `orders`.`customer_id` IN "
           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) AND `orders`.`status` = 'open' ORDER BY "
           "`orders`.`created_at` DESC LIMIT 20 OFFSET 40");
}
BENCHMARK(BM_ParseOrmJoin);

// The query-digest work on top of the parse (docs/observability.md): the fingerprint from the
// tokens the parser recorded (what the session does), against lexing the text again (before).
void runDigest(benchmark::State& state, const std::string& sql, bool fromTokens) {
  Parser parser;
  std::vector<Token> tokens;
  std::string text;
  std::uint64_t allocsBefore = 0;
  for (int warm = 0; warm < 2; ++warm) {
    (void)parser.parse(sql, 0, &tokens);
    (void)fingerprint(tokens, sql, text);
    allocsBefore = bench::allocationCount();
  }
  for (auto _ : state) {
    ParseResult r = parser.parse(sql, 0, fromTokens ? &tokens : nullptr);
    const std::uint64_t h = fromTokens
                                ? fingerprint(tokens, sql, text)
                                : fingerprint(r.statement().text, parser.options().lex, text);
    benchmark::DoNotOptimize(h);
  }
  state.counters["allocs_per_stmt"] =
      benchmark::Counter(static_cast<double>(bench::allocationCount() - allocsBefore) /
                         static_cast<double>(state.iterations()));
}
void BM_ParseAndDigestPointSelect_Tokens(benchmark::State& state) {
  runDigest(state, "SELECT c FROM sbtest1 WHERE id=5", true);
}
BENCHMARK(BM_ParseAndDigestPointSelect_Tokens);
void BM_ParseAndDigestPointSelect_Relex(benchmark::State& state) {
  runDigest(state, "SELECT c FROM sbtest1 WHERE id=5", false);
}
BENCHMARK(BM_ParseAndDigestPointSelect_Relex);
void BM_ParsePointSelectLiteral(benchmark::State& state) {
  runParse(state, "SELECT c FROM sbtest1 WHERE id=5");
}
BENCHMARK(BM_ParsePointSelectLiteral);

}  // namespace

BENCHMARK_MAIN();
