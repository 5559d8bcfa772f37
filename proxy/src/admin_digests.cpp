#include "admin_digests.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace shardproxy::proxy {

namespace adm = router::admin;

namespace {

std::string ms(std::uint64_t ns) {
  return fmt::format("{:.3f}", static_cast<double>(ns) / 1e6);
}

AdminResult noDigests() {
  return Error::make(ErrorCode::kConfigInvalid, "query digests are not kept on this port");
}

}  // namespace

AdminResult adminShowQueryDigest(const AdminServices& services, const adm::ShowQueryDigest& s) {
  if (!services.digests) return noDigests();
  auto [digests, evicted] = services.digests();
  auto key = [&](const Digest& d) -> std::uint64_t {
    switch (s.order) {
      case adm::DigestOrder::kCount:
        return d.count;
      case adm::DigestOrder::kScatter:
        return d.scatter;
      case adm::DigestOrder::kTotalTime:
        break;
    }
    return d.totalNs;
  };
  std::erase_if(digests, [](const Digest& d) { return d.count == 0; });
  std::stable_sort(digests.begin(), digests.end(),
                   [&](const Digest& a, const Digest& b) { return key(a) > key(b); });
  if (s.limit && digests.size() > *s.limit) digests.resize(*s.limit);
  TextResultSet rs{
      {"digest", "keyspace", "digest_text", "count", "total_ms", "avg_ms", "min_ms", "max_ms",
       "p99_ms", "rows_sent", "errors", "single_shard", "scatter", "avg_shards", "evicted_digests"},
      {}};
  rs.integer = {false, false, false, true, false, false, false, false,
                false, true,  true,  true, true,  false, true};
  for (const Digest& d : digests) {
    rs.rows.push_back(
        {fmt::format("{:016x}", d.hash), d.keyspace, d.text, std::to_string(d.count), ms(d.totalNs),
         ms(d.totalNs / d.count), ms(d.minNs), ms(d.maxNs), ms(d.latency.quantileNs(0.99, d.count)),
         std::to_string(d.rows), std::to_string(d.errors), std::to_string(d.single),
         std::to_string(d.scatter),
         fmt::format("{:.2f}", static_cast<double>(d.shardsTouched) / static_cast<double>(d.count)),
         std::to_string(evicted)});
  }
  return rs;
}

AdminResult adminResetQueryDigest(const AdminServices& services) {
  if (!services.resetDigests) return noDigests();
  services.resetDigests();
  return AdminOk{};
}

TextResultSet shardKeyAdvice(const std::vector<Digest>& digests, const catalog::Snapshot& snapshot,
                             const std::optional<std::string>& keyspace) {
  struct Candidate {
    std::uint64_t scatter = 0;  // executions it would make single-shard
    std::uint64_t digests = 0;
    std::uint64_t bestScatter = 0;
    std::string example;
  };
  struct PerKeyspace {
    std::uint64_t executions = 0;
    std::uint64_t scatter = 0;
    std::map<std::pair<std::string, std::string>, Candidate> candidates;  // (table, column)
  };
  std::map<std::string, PerKeyspace> byKeyspace;
  for (const Digest& d : digests) {
    if (keyspace && d.keyspace != *keyspace) continue;
    const catalog::Keyspace* ks = snapshot.findKeyspace(d.keyspace);
    if (ks == nullptr || !ks->sharded) continue;
    PerKeyspace& k = byKeyspace[d.keyspace];
    k.executions += d.count;
    k.scatter += d.scatter;
    if (d.scatter == 0) continue;
    for (const auto& e : d.equalities) {
      const catalog::TableRule* rule = snapshot.findTable(d.keyspace, e.table);
      if (rule == nullptr || rule->kind != catalog::TableKind::kSharded) continue;
      if (rule->shardKey == e.column) continue;  // already the key: something else scatters it
      Candidate& c = k.candidates[{e.table, e.column}];
      c.scatter += d.scatter;
      ++c.digests;
      if (d.scatter > c.bestScatter) {
        c.bestScatter = d.scatter;
        c.example = d.text;
      }
    }
  }
  struct Row {
    std::string keyspace, table, column, currentKey, example;
    std::uint64_t scatter, digests;
    double ofScatter, ofAll;
  };
  std::vector<Row> rows;
  for (const auto& [name, k] : byKeyspace) {
    for (const auto& [tc, c] : k.candidates) {
      const catalog::TableRule* rule = snapshot.findTable(name, tc.first);
      rows.push_back(
          {name, tc.first, tc.second, rule != nullptr ? rule->shardKey : "", c.example, c.scatter,
           c.digests,
           k.scatter ? 100.0 * static_cast<double>(c.scatter) / static_cast<double>(k.scatter)
                     : 0.0,
           k.executions ? 100.0 * static_cast<double>(c.scatter) / static_cast<double>(k.executions)
                        : 0.0});
    }
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.scatter > b.scatter; });
  TextResultSet rs{
      {"keyspace", "table_name", "column_name", "current_shard_key", "scatter_executions_saved",
       "pct_of_scatter", "pct_of_traffic", "digests", "example"},
      {}};
  rs.integer = {false, false, false, false, true, false, false, true, false};
  for (const Row& r : rows) {
    rs.rows.push_back({r.keyspace, r.table, r.column, r.currentKey, std::to_string(r.scatter),
                       fmt::format("{:.1f}", r.ofScatter), fmt::format("{:.1f}", r.ofAll),
                       std::to_string(r.digests), r.example});
  }
  return rs;
}

AdminResult adminShowShardKeyAdvice(const AdminServices& services,
                                    const catalog::Snapshot& snapshot,
                                    const adm::ShowShardKeyAdvice& s) {
  if (!services.digests) return noDigests();
  if (s.keyspace && snapshot.findKeyspace(*s.keyspace) == nullptr) {
    return Error::make(ErrorCode::kCatalogNotFound,
                       fmt::format("keyspace {} does not exist", *s.keyspace));
  }
  auto [digests, evicted] = services.digests();
  return shardKeyAdvice(digests, snapshot, s.keyspace);
}

}  // namespace shardproxy::proxy
