// Parse + plan micro-benchmarks: what the router does for every statement on a sharded keyspace
// (a 2-shard keyspace "sb", sbtest1 sharded by id). The point select is planned with its literal
// key (COM_QUERY) and with a bound `?` (COM_STMT_EXECUTE); the 100-row INSERT is split into one
// INSERT per shard. Reports heap allocations per statement: 0 is the target once warm.
// Run (Release build):
//   build-release/bench/plan_bench --benchmark_repetitions=10 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <string>

#include "alloc_counter.h"
#include "shardproxy/router/planner.h"
#include "shardproxy/router/sql/parser.h"
#include "statements.h"

using namespace shardproxy;
using namespace shardproxy::router;

namespace {

catalog::Snapshot twoShards() {
  catalog::Snapshot s;
  s.version = 1;
  catalog::Keyspace ks;
  ks.name = "sb";
  ks.sharded = true;
  const char* names[] = {"-80", "80-"};
  for (int i = 0; i < 2; ++i) {
    catalog::Shard shard;
    shard.keyspace = "sb";
    shard.name = names[i];
    shard.range = *catalog::KeyRange::parse(names[i]);
    for (int r = 0; r < 2; ++r) {
      catalog::Backend b;
      b.id = i * 2 + r + 1;
      b.address = {"127.0.0.1", static_cast<std::uint16_t>(3306 + i * 2 + r)};
      b.keyspace = "sb";
      b.shard = names[i];
      b.role = r == 0 ? catalog::BackendRole::kPrimary : catalog::BackendRole::kReplica;
      shard.backends.push_back(s.backends.size());
      if (r == 0) shard.primary = s.backends.size();
      s.backends.push_back(b);
    }
    ks.shards.push_back(s.shards.size());
    s.shards.push_back(shard);
  }
  s.keyspaces.push_back(ks);
  s.tables.push_back({"sb", "sbtest1", catalog::TableKind::kSharded, "id", "xxh3"});
  return s;
}

void run(benchmark::State& state, const std::string& sql, std::span<const BoundValue> params,
         std::size_t expectTargets) {
  catalog::Snapshot snap = twoShards();
  sql::Parser parser;
  Planner planner;
  PlanInput in;
  in.snapshot = &snap;
  in.schema = "sb";
  in.params = params;
  in.executing = !params.empty();
  {
    auto r = parser.parse(sql);
    if (!r.ok()) {
      state.SkipWithError("statement does not parse");
      return;
    }
    const Plan& p = planner.plan(r.statement(), in);
    if (p.kind == PlanKind::kError || p.targets.size() != expectTargets) {
      state.SkipWithError(("unexpected plan: " + p.error.message).c_str());
      return;
    }
  }
  std::uint64_t allocsBefore = bench::allocationCount();
  for (auto _ : state) {
    sql::ParseResult r = parser.parse(sql);
    const Plan& p = planner.plan(r.statement(), in);
    benchmark::DoNotOptimize(p.targets.data());
  }
  state.counters["allocs_per_stmt"] =
      benchmark::Counter(static_cast<double>(bench::allocationCount() - allocsBefore) /
                         static_cast<double>(state.iterations()));
}

void BM_PlanPointSelectLiteral(benchmark::State& state) {
  run(state, "SELECT c FROM sbtest1 WHERE id=4242", {}, 1);
}
BENCHMARK(BM_PlanPointSelectLiteral);

void BM_PlanPointSelectBound(benchmark::State& state) {
  BoundValue v;
  v.type = BoundValue::Type::kInt;
  v.i = 4242;
  run(state, "SELECT c FROM sbtest1 WHERE id=?", std::span<const BoundValue>(&v, 1), 1);
}
BENCHMARK(BM_PlanPointSelectBound);

void BM_PlanInsert100RowsSplit(benchmark::State& state) {
  run(state, bench::multiRowInsert(100), {}, 2);
}
BENCHMARK(BM_PlanInsert100RowsSplit);

}  // namespace

BENCHMARK_MAIN();
