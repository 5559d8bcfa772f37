#include "shardproxy/proxy/health_checker.h"

#include <errmsg.h>
#include <mysql.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "shardproxy/common/logging.h"

namespace shardproxy::proxy {

// Transactions `ahead` has that `behind` lacks, by domain (MariaDB GTID lists "d-s-n,...").
std::uint64_t gtidTransactionsMissing(std::string_view ahead, std::string_view behind) {
  auto parse = [](std::string_view text) {
    std::map<std::uint64_t, std::uint64_t> seq;
    while (!text.empty()) {
      std::size_t comma = text.find(',');
      std::string_view item = text.substr(0, comma);
      text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\n'))
        item.remove_prefix(1);
      std::size_t d1 = item.find('-');
      std::size_t d2 = item.rfind('-');
      if (d1 == std::string_view::npos || d2 == d1) continue;
      std::uint64_t domain = 0, n = 0;
      std::from_chars(item.data(), item.data() + d1, domain);
      std::from_chars(item.data() + d2 + 1, item.data() + item.size(), n);
      seq[domain] = std::max(seq[domain], n);
    }
    return seq;
  };
  auto a = parse(ahead);
  auto b = parse(behind);
  std::uint64_t missing = 0;
  for (const auto& [domain, n] : a) {
    auto it = b.find(domain);
    const std::uint64_t have = it == b.end() ? 0 : it->second;
    if (n > have) missing += n - have;
  }
  return missing;
}

bool dampedUp(bool wasUp, int failures, int successes, int fall, int rise) {
  if (wasUp) return failures < std::max(fall, 1);
  return successes >= std::max(rise, 1);
}

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
    MYSQL_RES* res = query("SELECT @@read_only, @@gtid_binlog_pos", o.problem);
    if (res == nullptr) {
      o.health.up = false;
      return o;
    }
    readFlags(res, o);
    o.health = {.up = true, .lagSeconds = 0, .lagKnown = true};  // a primary is its own source
    return o;
  }

  // read_only and the GTID position from a one-row result (consumed and freed).
  static void readFlags(MYSQL_RES* res, HealthObservation& o) {
    if (MYSQL_ROW row = mysql_fetch_row(res); row != nullptr && mysql_num_fields(res) >= 2) {
      if (row[0] != nullptr) o.readOnly = std::string_view(row[0]) != "0";
      if (row[1] != nullptr) o.gtid = row[1];
    }
    mysql_free_result(res);
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
    std::string ignored;
    if (MYSQL_RES* flags = query("SELECT @@read_only, @@gtid_current_pos", ignored)) {
      readFlags(flags, o);
    }
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
  // A server shared by keyspaces is one backend row per keyspace: probed once (in the role of its
  // first row; a server has one role), its health set on every row.
  std::map<std::string, std::vector<const catalog::Backend*>> servers;
  for (const auto& b : snap->backends) {
    // OFFLINE backends take no traffic; they are checked again once they come back.
    if (b.state == catalog::BackendState::kOffline) continue;
    servers[b.address.toString()].push_back(&b);
  }
  std::erase_if(probes_, [&](const auto& p) { return !servers.contains(p.first); });
  {
    std::lock_guard lock(statusMu_);
    std::erase_if(status_, [&](const auto& p) { return !servers.contains(p.first); });
  }
  // One thread per server: each change is recorded as soon as its probe ends, so a host that
  // times out holds back nothing learnt about the others.
  std::vector<std::thread> probes;
  probes.reserve(servers.size());
  for (const auto& [server, rows] : servers) {
    auto& probe = probes_[server];
    if (!probe || probe->address() != rows.front()->address) {
      probe = std::make_unique<BackendProbe>(rows.front()->address);
    }
    BackendProbe* p = probe.get();
    const catalog::BackendRole role = rows.front()->role;
    probes.emplace_back([this, p, role, server = server, rows = rows] {
      mysql_thread_init();
      HealthObservation o = p->check(role, options_);
      record(server, rows, o);
      mysql_thread_end();
    });
  }
  for (auto& t : probes)
    t.join();

  // Replicas: how many transactions their primary has that they lack (for SHOW BACKENDS).
  {
    std::lock_guard lock(statusMu_);
    for (auto& [server, st] : status_)
      st.gtidBehind.reset();
    for (const auto& sh : snap->shards) {
      if (!sh.primary) continue;
      auto primary = status_.find(snap->backends[*sh.primary].address.toString());
      if (primary == status_.end() || primary->second.gtid.empty()) continue;
      for (std::size_t idx : sh.backends) {
        const auto& b = snap->backends[idx];
        if (b.role != catalog::BackendRole::kReplica) continue;
        auto replica = status_.find(b.address.toString());
        if (replica == status_.end() || replica->second.gtid.empty()) continue;
        replica->second.gtidBehind =
            gtidTransactionsMissing(primary->second.gtid, replica->second.gtid);
      }
    }
  }

  std::unordered_set<std::int64_t> checked;
  for (const auto& [server, rows] : servers)
    for (const catalog::Backend* b : rows)
      checked.insert(b->id);
  std::lock_guard lock(statusMu_);
  auto current = table_.load(std::memory_order_acquire);
  auto next = std::make_shared<router::HealthTable>();
  for (const auto& [id, health] : current->entries()) {
    if (checked.contains(id)) next->set(id, health);
  }
  if (next->entries().size() != current->entries().size()) publish(std::move(next));
  rounds_.fetch_add(1, std::memory_order_acq_rel);
}

std::unordered_map<std::string, BackendStatus> HealthChecker::status() const {
  std::lock_guard lock(statusMu_);
  return status_;
}

// Under statusMu_: the table's copy-change-store has one writer at a time.
void HealthChecker::publish(std::shared_ptr<router::HealthTable> next) {
  next->version = table_.load(std::memory_order_acquire)->version + 1;
  table_.store(std::move(next), std::memory_order_release);
}

void HealthChecker::record(const std::string& server,
                           const std::vector<const catalog::Backend*>& rows,
                           const HealthObservation& o) {
  auto log = moduleLogger("proxy");
  const catalog::Backend& b = *rows.front();
  const bool primary = b.role == catalog::BackendRole::kPrimary;
  int failures = 0;
  std::string problem = o.problem;
  {
    std::lock_guard lock(statusMu_);
    auto [it, first] = status_.try_emplace(server);
    BackendStatus& st = it->second;
    if (o.health.up) {
      st.failures = 0;
      ++st.successes;
    } else {
      st.successes = 0;
      ++st.failures;
      st.lastError = o.problem;
    }
    failures = st.failures;
    // The first probe of a server is taken as it is; later ones are damped.
    const bool up = first
                        ? o.health.up
                        : dampedUp(st.up, st.failures, st.successes, options_.fall, options_.rise);
    const bool lagging =
        !primary && up && o.health.lagKnown && o.health.lagSeconds > b.maxLagSeconds;
    const bool wasLagging =
        !first && !primary && st.up && st.lagKnown && st.lagSeconds > b.maxLagSeconds;
    LogFields fields;
    fields.keyspace = b.keyspace;
    fields.shard = b.shard;
    if (first || up != st.up) {
      st.lastChange = std::chrono::system_clock::now();
      const std::string_view role = catalog::toString(b.role);
      if (!up && (!first || !o.health.up)) {
        logWith(*log, spdlog::level::warn, fields, "health: {} {} of {}/{} is down: {}", role,
                server, b.keyspace, b.shard, o.problem);
      } else if (up && !first) {
        logWith(*log, spdlog::level::info, fields, "health: {} {} of {}/{} is up again", role,
                server, b.keyspace, b.shard);
      }
    }
    if (lagging && !wasLagging) {
      logWith(*log, spdlog::level::warn, fields,
              "health: replica {} of {}/{} is {} s behind, over its limit of {} s: no reads",
              server, b.keyspace, b.shard, o.health.lagSeconds, b.maxLagSeconds);
    } else if (!lagging && wasLagging && up) {
      logWith(*log, spdlog::level::info, fields,
              "health: replica {} of {}/{} caught up ({} s behind, limit {} s)", server, b.keyspace,
              b.shard, o.health.lagSeconds, b.maxLagSeconds);
    }
    st.up = up;
    if (o.health.up) {
      st.lagKnown = o.health.lagKnown;
      st.lagSeconds = o.health.lagSeconds;
      st.readOnly = o.readOnly;
      st.gtid = o.gtid;
    } else if (!up) {
      st.lagKnown = false;
    }
    // Routing sees the damped state, with the lag of the last good probe.
    router::BackendHealth routed{.up = up, .lagSeconds = st.lagSeconds, .lagKnown = st.lagKnown};
    auto current = table_.load(std::memory_order_acquire);
    std::shared_ptr<router::HealthTable> next;
    for (const catalog::Backend* row : rows) {
      const router::BackendHealth* before = current->find(row->id);
      if (before != nullptr && *before == routed) continue;
      if (!next) next = std::make_shared<router::HealthTable>(*current);
      next->set(row->id, routed);
    }
    if (next) publish(std::move(next));
  }
  if (primary && onPrimary_) onPrimary_(b.address, failures, options_.fall, problem);
}

}  // namespace shardproxy::proxy
