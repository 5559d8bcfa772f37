#include "shardproxy/proxy/health_checker.h"

#include <errmsg.h>
#include <mysql.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "shardproxy/common/logging.h"

namespace shardproxy::proxy {

HealthObservation replicaHealth(std::string_view ioRunning, std::string_view sqlRunning,
                                std::optional<std::string_view> secondsBehindMaster) {
  HealthObservation o;
  o.health.up = false;
  if (ioRunning != "Yes" || sqlRunning != "Yes") {
    o.problem = "replication is not running (Slave_IO_Running: " + std::string(ioRunning) +
                ", Slave_SQL_Running: " + std::string(sqlRunning) + ")";
    return o;
  }
  if (!secondsBehindMaster) {
    o.problem = "Seconds_Behind_Master is NULL";
    return o;
  }
  std::uint64_t lag = 0;
  const char* end = secondsBehindMaster->data() + secondsBehindMaster->size();
  auto [ptr, ec] = std::from_chars(secondsBehindMaster->data(), end, lag);
  if (ec != std::errc() || ptr != end) {
    o.problem = "Seconds_Behind_Master is '" + std::string(*secondsBehindMaster) + "'";
    return o;
  }
  o.health.up = true;
  o.health.lagKnown = true;
  o.health.lagSeconds = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(lag, std::numeric_limits<std::uint32_t>::max()));
  return o;
}

// One libmariadb connection to one backend, kept between rounds and re-made after a failure.
class BackendProbe {
 public:
  explicit BackendProbe(catalog::Endpoint address) : address_(std::move(address)) {}
  ~BackendProbe() { disconnect(); }
  BackendProbe(const BackendProbe&) = delete;
  BackendProbe& operator=(const BackendProbe&) = delete;

  const catalog::Endpoint& address() const { return address_; }

  HealthObservation check(catalog::BackendRole role, const HealthCheckOptions& options) {
    const bool reused = mysql_ != nullptr;
    const auto started = std::chrono::steady_clock::now();
    HealthObservation o = checkOnce(role, options);
    // A kept connection may have died since the last round (a backend restart, wait_timeout):
    // that says nothing about the backend now, so one fresh connection gets to answer. Not after
    // a timeout, which would only double the wait.
    if (!o.health.up && reused && mysql_ == nullptr && lostQuickly_ &&
        std::chrono::steady_clock::now() - started < options.timeout) {
      o = checkOnce(role, options);
    }
    return o;
  }

 private:
  HealthObservation checkOnce(catalog::BackendRole role, const HealthCheckOptions& options) {
    HealthObservation o;
    if (mysql_ == nullptr && !connect(options, o.problem)) {
      o.health.up = false;
      return o;
    }
    if (role == catalog::BackendRole::kPrimary) {
      o = selectOne();
    } else {
      o = slaveStatus();
    }
    return o;
  }

  bool connect(const HealthCheckOptions& options, std::string& problem) {
    mysql_ = mysql_init(nullptr);
    if (mysql_ == nullptr) {
      problem = "mysql_init failed (out of memory)";
      return false;
    }
    auto ms = std::max<std::int64_t>(options.timeout.count(), 1);
    auto seconds = static_cast<unsigned int>((ms + 999) / 1000);
    unsigned int protocol = MYSQL_PROTOCOL_TCP;  // 'localhost' would mean the Unix socket
    mysql_options(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &seconds);
    mysql_options(mysql_, MYSQL_OPT_READ_TIMEOUT, &seconds);
    mysql_options(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &seconds);
    mysql_options(mysql_, MYSQL_OPT_PROTOCOL, &protocol);
    if (mysql_real_connect(mysql_, address_.host.c_str(), options.user.c_str(),
                           options.password.c_str(), nullptr, address_.port, nullptr,
                           0) == nullptr) {
      problem = "cannot log in: " + std::string(mysql_error(mysql_));
      disconnect();
      return false;
    }
    return true;
  }

  void disconnect() {
    if (mysql_ != nullptr) mysql_close(mysql_);
    mysql_ = nullptr;
  }

  // Runs a query and stores its result; on failure the connection is dropped and problem set.
  MYSQL_RES* query(std::string_view sql, std::string& problem) {
    lostQuickly_ = false;
    if (mysql_real_query(mysql_, sql.data(), sql.size()) == 0) {
      if (MYSQL_RES* res = mysql_store_result(mysql_)) return res;
    }
    unsigned int err = mysql_errno(mysql_);
    lostQuickly_ = err == CR_SERVER_GONE_ERROR || err == CR_SERVER_LOST;
    problem = std::string(sql) + " failed: " + mysql_error(mysql_);
    disconnect();
    return nullptr;
  }

  HealthObservation selectOne() {
    HealthObservation o;
    MYSQL_RES* res = query("SELECT 1", o.problem);
    if (res == nullptr) {
      o.health.up = false;
      return o;
    }
    mysql_free_result(res);
    o.health = {.up = true, .lagSeconds = 0, .lagKnown = true};  // a primary is its own source
    return o;
  }

  HealthObservation slaveStatus() {
    HealthObservation o;
    o.health.up = false;
    MYSQL_RES* res = query("SHOW SLAVE STATUS", o.problem);
    if (res == nullptr) return o;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row == nullptr) {
      mysql_free_result(res);
      o.problem = "not a replica (SHOW SLAVE STATUS is empty)";
      return o;
    }
    const unsigned long* lengths = mysql_fetch_lengths(res);
    const MYSQL_FIELD* fields = mysql_fetch_fields(res);
    auto column = [&](std::string_view name) -> std::optional<std::string_view> {
      for (unsigned int i = 0; i < mysql_num_fields(res); ++i) {
        if (name == fields[i].name && row[i] != nullptr)
          return std::string_view(row[i], lengths[i]);
      }
      return std::nullopt;
    };
    o = replicaHealth(column("Slave_IO_Running").value_or("NULL"),
                      column("Slave_SQL_Running").value_or("NULL"),
                      column("Seconds_Behind_Master"));
    mysql_free_result(res);
    return o;
  }

  catalog::Endpoint address_;
  MYSQL* mysql_ = nullptr;
  bool lostQuickly_ = false;  // the last query failed because the connection was gone
};

HealthChecker::HealthChecker(SnapshotSource snapshots, HealthCheckOptions options)
    : snapshots_(std::move(snapshots)), options_(std::move(options)) {
  // libmariadb's global set-up is not safe to race; do it here, on the owner's thread.
  mysql_library_init(0, nullptr, nullptr);
  table_.store(std::make_shared<const router::HealthTable>(), std::memory_order_release);
}

HealthChecker::~HealthChecker() {
  stop();
}

void HealthChecker::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void HealthChecker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool HealthChecker::stopRequested() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void HealthChecker::run() {
  mysql_thread_init();
  while (true) {
    // Rounds start every interval, however long the checks took (a late round starts at once).
    const auto started = std::chrono::steady_clock::now();
    checkRound();
    std::unique_lock lock(mutex_);
    if (wake_.wait_until(lock, started + options_.interval, [this] { return stopping_; })) break;
  }
  probes_.clear();
  mysql_thread_end();
}

void HealthChecker::checkRound() {
  catalog::SnapshotPtr snap = snapshots_();
  if (!snap) return;
  std::unordered_set<std::int64_t> checked;
  // A server shared by keyspaces is one backend row per keyspace: probed once, its health set on
  // every row.
  std::unordered_map<std::string, HealthObservation> byServer;
  for (const auto& b : snap->backends) {
    if (stopRequested()) return;
    // OFFLINE backends take no traffic; they are checked again once they come back.
    if (b.state == catalog::BackendState::kOffline) continue;
    checked.insert(b.id);
    const std::string server = b.address.toString();
    auto known = byServer.find(server);
    HealthObservation o = known != byServer.end() ? known->second : check(b);
    if (known == byServer.end()) {
      byServer.emplace(server, o);
      report(b, o);
    }
    // Each change is published at once: a slow (timing out) backend later in the round must not
    // hold back what was learnt about the others.
    auto current = table_.load(std::memory_order_acquire);
    const router::BackendHealth* before = current->find(b.id);
    if (before == nullptr || !(*before == o.health)) {
      auto next = std::make_shared<router::HealthTable>(*current);
      next->set(b.id, o.health);
      publish(std::move(next));
    }
  }
  std::erase_if(probes_, [&](const auto& p) { return !checked.contains(p.first); });
  std::erase_if(seen_, [&](const auto& s) { return !checked.contains(s.first); });
  auto current = table_.load(std::memory_order_acquire);
  auto next = std::make_shared<router::HealthTable>();
  for (const auto& [id, health] : current->entries()) {
    if (checked.contains(id)) next->set(id, health);
  }
  if (next->entries().size() != current->entries().size()) publish(std::move(next));
  rounds_.fetch_add(1, std::memory_order_acq_rel);
}

// Only the checker thread writes the table, so copy-change-store needs no lock.
void HealthChecker::publish(std::shared_ptr<router::HealthTable> next) {
  next->version = table_.load(std::memory_order_acquire)->version + 1;
  table_.store(std::move(next), std::memory_order_release);
}

HealthObservation HealthChecker::check(const catalog::Backend& backend) {
  auto& probe = probes_[backend.id];
  if (!probe || probe->address() != backend.address) {
    probe = std::make_unique<BackendProbe>(backend.address);
  }
  return probe->check(backend.role, options_);
}

void HealthChecker::report(const catalog::Backend& b, const HealthObservation& o) {
  auto log = moduleLogger("proxy");
  Seen& seen = seen_[b.id];
  const std::string_view role = catalog::toString(b.role);
  if (seen.up && !o.health.up) {
    log->warn("health: {} {} of {}/{} is down: {}", role, b.address.toString(), b.keyspace, b.shard,
              o.problem);
  } else if (!seen.up && o.health.up) {
    log->info("health: {} {} of {}/{} is up again", role, b.address.toString(), b.keyspace,
              b.shard);
  }
  const bool lagging = b.role == catalog::BackendRole::kReplica && o.health.up &&
                       o.health.lagKnown && o.health.lagSeconds > b.maxLagSeconds;
  if (lagging && !seen.lagging) {
    log->warn("health: replica {} of {}/{} is {} s behind, over its limit of {} s: no reads",
              b.address.toString(), b.keyspace, b.shard, o.health.lagSeconds, b.maxLagSeconds);
  } else if (!lagging && seen.lagging && o.health.up) {
    log->info("health: replica {} of {}/{} caught up ({} s behind, limit {} s)",
              b.address.toString(), b.keyspace, b.shard, o.health.lagSeconds, b.maxLagSeconds);
  }
  seen.up = o.health.up;
  seen.lagging = lagging;
}

}  // namespace shardproxy::proxy
