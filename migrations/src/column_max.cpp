// MAX(column) over a keyspace's serving shards, read in parallel (one thread per shard).
#include "shardproxy/migrations/column_max.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <thread>
#include <vector>

#include "shardproxy/migrations/blocking_client.h"

namespace shardproxy::migrations {
namespace {

struct ShardRead {
  const catalog::Shard* shard = nullptr;
  const catalog::Backend* primary = nullptr;
  std::optional<std::int64_t> max;
  std::optional<Error> error;
};

Status readMax(ShardRead& job, const std::string& sql, const ColumnMaxOptions& options) {
  BlockingClient c;
  const Endpoint e{job.primary->address.host, job.primary->address.port, options.user,
                   options.password, ""};
  const auto timeout = static_cast<unsigned>(std::max<std::int64_t>(1, options.timeout.count()));
  if (Status s = c.connect(e, timeout); !s) return s;
  auto value = c.scalar(sql);
  if (!value) return value.takeError();
  if (!*value) return {};  // an empty table
  const std::string& text = **value;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Error::make(ErrorCode::kConfigInvalid,
                       fmt::format("its largest value '{}' is not an integer below 2^63 (give "
                                   "START WITH n)",
                                   text));
  }
  job.max = v;
  return {};
}

}  // namespace

Result<std::optional<std::int64_t>> findColumnMax(const catalog::Snapshot& snapshot,
                                                  const std::string& keyspace,
                                                  const std::string& table,
                                                  const std::string& column,
                                                  const ColumnMaxOptions& options) {
  const catalog::Keyspace* ks = snapshot.findKeyspace(keyspace);
  if (ks == nullptr) {
    return Error::make(ErrorCode::kCatalogNotFound,
                       fmt::format("keyspace '{}' does not exist", keyspace));
  }
  std::vector<ShardRead> jobs;
  for (std::size_t idx : ks->shards) {
    const catalog::Shard& sh = snapshot.shards[idx];
    if (!sh.serving) continue;
    if (!sh.primary) {
      return Error::make(ErrorCode::kNoRoute,
                         fmt::format("shard {}.{} has no primary to read MAX({}) from", keyspace,
                                     sh.name, column));
    }
    jobs.push_back(ShardRead{&sh, &snapshot.backends[*sh.primary], std::nullopt, std::nullopt});
  }
  const std::string sql = fmt::format("SELECT MAX({}) FROM {}.{}", quoteIdent(column),
                                      quoteIdent(keyspace), quoteIdent(table));
  std::vector<std::thread> threads;
  threads.reserve(jobs.size());
  for (ShardRead& job : jobs) {
    threads.emplace_back([&job, &sql, &options] {
      if (Status s = readMax(job, sql, options); !s) job.error = s.takeError();
    });
  }
  for (auto& t : threads)
    t.join();
  std::optional<std::int64_t> out;
  for (ShardRead& job : jobs) {
    if (job.error) {
      Error e = std::move(*job.error);
      e.message = fmt::format("cannot read MAX({}) of {}.{} on shard {}.{}: {}", column, keyspace,
                              table, keyspace, job.shard->name, e.message);
      return e;
    }
    if (job.max && (!out || *job.max > *out)) out = job.max;
  }
  return out;
}

}  // namespace shardproxy::migrations
