// Schema tracking (schema_tracker.h): the tracker's thread reads information_schema.COLUMNS of each
// sharded keyspace's database on a serving primary and publishes router::SchemaSnapshot.
#include "shardproxy/proxy/schema_tracker.h"

#include <fmt/format.h>
#include <mysql.h>

#include <algorithm>
#include <charconv>

#include "shardproxy/common/logging.h"
#include "shardproxy/migrations/blocking_client.h"

namespace shardproxy::proxy {

SchemaTracker::SchemaTracker(SnapshotSource catalog, SchemaTrackerOptions options)
    : catalog_(std::move(catalog)), options_(std::move(options)) {
  // libmariadb's global set-up is not safe to race; do it here, on the owner's thread.
  mysql_library_init(0, nullptr, nullptr);
  schema_.store(std::make_shared<const router::SchemaSnapshot>(), std::memory_order_release);
}

SchemaTracker::~SchemaTracker() {
  stop();
}

void SchemaTracker::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

bool SchemaTracker::waitFirstRound(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return wake_.wait_for(lock, limit, [this] { return firstDone_ || stopping_; }) && firstDone_;
}

void SchemaTracker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t SchemaTracker::requestRefresh(std::string keyspace) {
  std::uint64_t ticket;
  {
    std::lock_guard lock(mutex_);
    pending_.insert(std::move(keyspace));
    ticket = ++requested_;
  }
  wake_.notify_all();
  return ticket;
}

void SchemaTracker::run() {
  mysql_thread_init();
  using Clock = std::chrono::steady_clock;
  const bool periodic = options_.interval.count() > 0;
  auto nextFull = Clock::now();  // the first round reads everything at once
  while (true) {
    std::set<std::string> only;
    std::uint64_t ticket = 0;
    bool full = false;
    {
      std::unique_lock lock(mutex_);
      auto ready = [&] { return stopping_ || !pending_.empty(); };
      if (periodic || !firstDone_) {
        wake_.wait_until(lock, nextFull, ready);
      } else {
        wake_.wait(lock, ready);
      }
      if (stopping_) break;
      full = !firstDone_ || (periodic && Clock::now() >= nextFull);
      only.swap(pending_);
      ticket = requested_;
    }
    if (full) {
      nextFull = Clock::now() + options_.interval;
      only.clear();  // every keyspace
    }
    refresh(only);
    completed_.store(ticket, std::memory_order_release);
    if (!firstDone_) {
      std::size_t tables = 0;
      auto now = schema();
      for (const auto& k : now->keyspaces)
        tables += k.tables.size();
      moduleLogger("proxy")->info("schema tracking: {} tables in {} sharded keyspaces", tables,
                                  now->keyspaces.size());
      {
        std::lock_guard lock(mutex_);
        firstDone_ = true;
      }
      wake_.notify_all();
    }
  }
  clients_.clear();
  mysql_thread_end();
}

void SchemaTracker::refresh(const std::set<std::string>& keyspaces) {
  catalog::SnapshotPtr snap = catalog_();
  if (!snap) return;
  auto log = moduleLogger("proxy");
  for (const catalog::Keyspace& ks : snap->keyspaces) {
    if (!ks.sharded || (!keyspaces.empty() && !keyspaces.contains(ks.name))) continue;
    auto read = this->read(*snap, ks);
    if (!read) {
      std::string& last = problems_[ks.name];
      if (last != read.error().message) {
        log->warn(
            "schema tracking: cannot read the tables of keyspace '{}' (keeping what was "
            "known): {}",
            ks.name, read.error().message);
        last = read.error().message;
      }
      continue;
    }
    if (problems_.erase(ks.name) > 0) {
      log->info("schema tracking: keyspace '{}' read again from {}", ks.name, read->source);
    }
    const router::KeyspaceSchema* known = schema()->keyspace(ks.name);
    if (known != nullptr && known->tables == read->tables) continue;  // nothing changed
    publish(schema()->with(std::move(*read)));
  }
  if (keyspaces.empty()) {
    // A full round: connections to backends that left the catalog close.
    std::erase_if(clients_, [&](const auto& c) {
      return std::none_of(
          snap->backends.begin(), snap->backends.end(),
          [&](const catalog::Backend& b) { return b.address.toString() == c.first; });
    });
  }
  // Keyspaces dropped (or no longer sharded) leave the snapshot.
  auto kept = schema()->retain([&](std::string_view name) {
    const catalog::Keyspace* k = snap->findKeyspace(name);
    return k != nullptr && k->sharded;
  });
  if (kept) publish(std::move(kept));
}

// Any serving shard's primary will do (every shard holds the same definitions); the first that
// answers is read.
Result<router::KeyspaceSchema> SchemaTracker::read(const catalog::Snapshot& snap,
                                                   const catalog::Keyspace& ks) {
  std::string problems;
  for (std::size_t idx : ks.shards) {
    const catalog::Shard& sh = snap.shards[idx];
    if (!sh.serving || !sh.primary) continue;
    auto r = readFrom(snap.backends[*sh.primary], ks);
    if (r) return r;
    problems +=
        fmt::format("{}shard {}: {}", problems.empty() ? "" : "; ", sh.name, r.error().message);
  }
  if (problems.empty()) problems = "no serving shard has a primary";
  return Error::make(ErrorCode::kBackendUnreachable, problems);
}

Result<router::KeyspaceSchema> SchemaTracker::readFrom(const catalog::Backend& backend,
                                                       const catalog::Keyspace& ks) {
  const std::string label = backend.address.toString();
  auto& client = clients_[label];
  Result<std::vector<migrations::Row>> rows = Error::make(ErrorCode::kInternal, "not read");
  // A cached connection the server closed fails once: connect again and retry.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!client || !client->connected()) {
      client = std::make_unique<migrations::BlockingClient>();
      const migrations::Endpoint e{backend.address.host, backend.address.port, options_.user,
                                   options_.password, ""};
      const auto timeout =
          static_cast<unsigned>(std::max<std::int64_t>(1, options_.timeout.count()));
      if (Status s = client->connect(e, timeout); !s) {
        client.reset();
        return s.takeError();
      }
    }
    rows = client->rows(router::columnRowsQuery(ks.name));
    if (rows) break;
    client.reset();
  }
  if (!rows) return rows.takeError();
  std::vector<router::ColumnRow> columns;
  columns.reserve(rows->size());
  for (const migrations::Row& r : *rows) {
    if (r.size() < 8) continue;
    router::ColumnRow c;
    c.table = r[0].value_or("");
    c.column = r[1].value_or("");
    const std::string ordinal = r[2].value_or("0");
    std::from_chars(ordinal.data(), ordinal.data() + ordinal.size(), c.ordinal);
    c.dataType = r[3].value_or("");
    c.columnType = r[4].value_or("");
    c.nullable = r[5].value_or("");
    c.extra = r[6].value_or("");
    c.collation = r[7].value_or("");
    columns.push_back(std::move(c));
  }
  auto built = router::buildKeyspaceSchema(ks.name, columns);
  if (built) built->source = label;
  return built;
}

// Only the tracker thread publishes, so load-change-store needs no lock.
void SchemaTracker::publish(router::SchemaSnapshotPtr next) {
  const std::uint64_t v = next->version;
  schema_.store(std::move(next), std::memory_order_release);
  version_.store(v, std::memory_order_release);
}

}  // namespace shardproxy::proxy
