// SHOW SCHEMA DRIFT: read every serving shard's tables (threads of our own, blocking libmariadb),
// then group each table's definitions and describe how the odd ones differ.
#include "shardproxy/migrations/schema_drift.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <set>
#include <thread>

#include "shardproxy/migrations/blocking_client.h"

namespace shardproxy::migrations {
namespace {

constexpr std::size_t kMaxLineBytes = 120;
constexpr std::uint16_t kNoSuchTable = 1146;  // ER_NO_SUCH_TABLE

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

// A line for the detail column: without its indentation, cut on a character boundary.
std::string shortLine(std::string_view line) {
  line.remove_prefix(std::min(line.find_first_not_of(' '), line.size()));
  if (line.size() <= kMaxLineBytes) return "\"" + std::string(line) + "\"";
  std::size_t cut = kMaxLineBytes;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80)
    --cut;
  return "\"" + std::string(line.substr(0, cut)) + "...\"";
}

// One definition of a table and the shards that hold it (null: the shards that lack the table).
struct Group {
  const std::string* definition = nullptr;
  std::vector<std::size_t> shards;  // positions in key order
};

std::string shardList(const std::vector<ShardTables>& shards, const std::vector<std::size_t>& at) {
  std::string out;
  for (std::size_t i : at)
    out += (out.empty() ? "" : ", ") + shards[i].shard;
  return out;
}

// How `g` differs from `base`: the first line where the definitions part, or which side lacks the
// table.
std::string describe(const std::vector<ShardTables>& shards, const Group& g, const Group& base) {
  const std::string who = shardList(shards, g.shards);
  const std::string others = shardList(shards, base.shards);
  if (g.definition == nullptr) return fmt::format("missing on {}", who);
  if (base.definition == nullptr) return fmt::format("only on {} (missing on {})", who, others);
  const auto mine = splitLines(*g.definition);
  const auto theirs = splitLines(*base.definition);
  std::size_t i = 0;
  while (i < mine.size() && i < theirs.size() && mine[i] == theirs[i])
    ++i;
  return fmt::format("{}: line {} is {} where {} {} {}", who, i + 1,
                     i < mine.size() ? shortLine(mine[i]) : std::string("the end"), others,
                     base.shards.size() == 1 ? "has" : "have",
                     i < theirs.size() ? shortLine(theirs[i]) : std::string("the end"));
}

std::optional<TableDrift> compareTable(
    std::string_view keyspace, const std::string& table, const std::vector<ShardTables>& shards,
    const std::vector<std::map<std::string, std::string>>& defs) {
  std::vector<Group> groups;  // in the order of their first shard
  for (std::size_t i = 0; i < shards.size(); ++i) {
    auto it = defs[i].find(table);
    const std::string* d = it == defs[i].end() ? nullptr : &it->second;
    auto same = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
      return (g.definition == nullptr) == (d == nullptr) && (d == nullptr || *g.definition == *d);
    });
    if (same == groups.end()) same = groups.insert(groups.end(), Group{d, {}});
    same->shards.push_back(i);
  }
  if (groups.size() < 2) return std::nullopt;
  std::size_t most = 0;
  for (const Group& g : groups)
    most = std::max(most, g.shards.size());
  const auto base = std::find_if(groups.begin(), groups.end(),
                                 [&](const Group& g) { return g.shards.size() == most; });
  const bool tie = std::count_if(groups.begin(), groups.end(),
                                 [&](const Group& g) { return g.shards.size() == most; }) > 1;
  TableDrift drift{std::string(keyspace), table, {}, tie ? "no majority; " : ""};
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const bool inBase =
        std::find(base->shards.begin(), base->shards.end(), i) != base->shards.end();
    if (tie || !inBase) drift.shardsDiffering.push_back(shards[i].shard);
  }
  bool first = true;
  for (auto g = groups.begin(); g != groups.end(); ++g) {
    if (g == base) continue;
    drift.detail += (first ? "" : "; ") + describe(shards, *g, *base);
    first = false;
  }
  return drift;
}

// --- reading the shards ----------------------------------------------------------------------

struct ShardJob {
  const catalog::Keyspace* keyspace = nullptr;
  const catalog::Shard* shard = nullptr;
  const catalog::Backend* primary = nullptr;
  ShardTables tables;
  std::optional<Error> error;
};

Status readShard(ShardJob& job, const DriftOptions& options) {
  const std::string& db = job.keyspace->name;
  BlockingClient c;
  const Endpoint e{job.primary->address.host, job.primary->address.port, options.user,
                   options.password, ""};
  const auto timeout = static_cast<unsigned>(std::max<std::int64_t>(1, options.timeout.count()));
  if (Status s = c.connect(e, timeout); !s) return s;
  auto names = c.rows(
      fmt::format("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND "
                  "TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
                  hexLiteral(db, "utf8mb4")));
  if (!names) return names.takeError();
  for (const Row& r : *names) {
    const std::string name = r.empty() ? std::string() : r[0].value_or("");
    auto create = c.rows("SHOW CREATE TABLE " + quoteIdent(db) + "." + quoteIdent(name));
    if (!create) {
      if (c.lastErrno() == kNoSuchTable) continue;  // dropped since the listing
      return create.takeError();
    }
    if (create->empty() || create->front().size() < 2) continue;
    job.tables.tables[name] = create->front()[1].value_or("");
  }
  return {};
}

void readAll(std::vector<ShardJob>& jobs, const DriftOptions& options) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      if (Status s = readShard(jobs[i], options); !s) jobs[i].error = s.takeError();
    }
  };
  std::vector<std::thread> threads;
  const std::size_t n = std::min(std::max<std::size_t>(options.parallel, 1), jobs.size());
  for (std::size_t i = 0; i < n; ++i)
    threads.emplace_back(work);
  for (auto& t : threads)
    t.join();
}

}  // namespace

std::string normalizeCreateTable(std::string_view createTable) {
  static constexpr std::string_view kOption = " AUTO_INCREMENT=";
  std::string out;
  out.reserve(createTable.size());
  for (std::string_view line : splitLines(createTable)) {
    if (!out.empty()) out += '\n';
    // Only the table options line (the one closing the column list) holds the counter; a column
    // is declared AUTO_INCREMENT without '='.
    if (!line.starts_with(')')) {
      out += line;
      continue;
    }
    for (std::size_t at = line.find(kOption); at != std::string_view::npos;
         at = line.find(kOption)) {
      std::size_t end = at + kOption.size();
      while (end < line.size() && line[end] >= '0' && line[end] <= '9')
        ++end;
      out += line.substr(0, at);
      line.remove_prefix(end);
    }
    out += line;
  }
  return out;
}

std::vector<TableDrift> compareShardTables(std::string_view keyspace,
                                           const std::vector<ShardTables>& shards) {
  std::set<std::string> names;
  std::vector<std::map<std::string, std::string>> defs(shards.size());
  for (std::size_t i = 0; i < shards.size(); ++i) {
    for (const auto& [name, sql] : shards[i].tables) {
      names.insert(name);
      defs[i][name] = normalizeCreateTable(sql);
    }
  }
  std::vector<TableDrift> out;
  for (const std::string& name : names) {
    if (auto d = compareTable(keyspace, name, shards, defs)) out.push_back(std::move(*d));
  }
  return out;
}

Result<std::vector<TableDrift>> findSchemaDrift(const catalog::Snapshot& snapshot,
                                                const std::optional<std::string>& keyspace,
                                                const DriftOptions& options) {
  if (keyspace && snapshot.findKeyspace(*keyspace) == nullptr) {
    return Error::make(ErrorCode::kCatalogNotFound,
                       fmt::format("keyspace '{}' does not exist", *keyspace));
  }
  std::vector<ShardJob> jobs;
  for (const catalog::Keyspace& ks : snapshot.keyspaces) {
    if (keyspace && ks.name != *keyspace) continue;
    std::vector<ShardJob> mine;
    for (std::size_t idx : ks.shards) {
      const catalog::Shard& sh = snapshot.shards[idx];
      if (!sh.serving) continue;
      if (!sh.primary) {
        return Error::make(
            ErrorCode::kNoRoute,
            fmt::format("shard {}.{} has no primary to read its schema from", ks.name, sh.name));
      }
      ShardJob job{&ks, &sh, &snapshot.backends[*sh.primary], {}, std::nullopt};
      job.tables.shard = sh.name;
      mine.push_back(std::move(job));
    }
    if (mine.size() < 2) continue;  // nothing to compare with
    for (auto& j : mine)
      jobs.push_back(std::move(j));
  }
  readAll(jobs, options);
  std::vector<TableDrift> out;
  for (std::size_t i = 0; i < jobs.size();) {
    const catalog::Keyspace* ks = jobs[i].keyspace;
    std::vector<ShardTables> shards;
    for (; i < jobs.size() && jobs[i].keyspace == ks; ++i) {
      if (jobs[i].error) {
        Error e = std::move(*jobs[i].error);
        e.message = fmt::format("cannot read the schema of shard {}.{}: {}", ks->name,
                                jobs[i].shard->name, e.message);
        return e;
      }
      shards.push_back(std::move(jobs[i].tables));
    }
    auto drift = compareShardTables(ks->name, shards);
    std::move(drift.begin(), drift.end(), std::back_inserter(out));
  }
  return out;
}

}  // namespace shardproxy::migrations
