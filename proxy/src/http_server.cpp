// HttpServer (http_server.h): Boost.Beast on its own thread; /metrics, /healthz, /readyz.
#include "shardproxy/proxy/http_server.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>

#include "admin_migrations.h"
#include "http_dashboard.h"
#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/metrics.h"
#include "shardproxy/proxy/server.h"

namespace shardproxy::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

struct ThreadCopy {
  metrics::Counters counters;
  std::map<std::string, Pool::BackendUse> pool;
  PoolStats poolStats;
};

void renderPools(const std::vector<ThreadCopy>& copies, metrics::PromWriter& w) {
  std::map<std::string, Pool::BackendUse> pool;
  PoolStats stats;
  for (const ThreadCopy& c : copies) {
    for (const auto& [address, u] : c.pool) {
      Pool::BackendUse& t = pool[address];
      t.open += u.open;
      t.idle += u.idle;
      t.waiting += u.waiting;
    }
    stats.created += c.poolStats.created;
    stats.reused += c.poolStats.reused;
    stats.closed += c.poolStats.closed;
    stats.waits += c.poolStats.waits;
    stats.timeouts += c.poolStats.timeouts;
  }
  w.family("shardproxy_pool_connections", "gauge",
           "Backend connections of the pools: open (idle, borrowed or being made) and idle.");
  for (const auto& [address, u] : pool) {
    w.sample("shardproxy_pool_connections", {{"backend", address}, {"state", "open"}},
             static_cast<std::uint64_t>(u.open));
    w.sample("shardproxy_pool_connections", {{"backend", address}, {"state", "idle"}},
             static_cast<std::uint64_t>(u.idle));
    w.sample("shardproxy_pool_connections", {{"backend", address}, {"state", "in_use"}},
             static_cast<std::uint64_t>(u.open >= u.idle ? u.open - u.idle : 0));
  }
  w.family("shardproxy_pool_waiting", "gauge",
           "Sessions waiting for a backend connection (the pool is at its limit).");
  for (const auto& [address, u] : pool)
    w.sample("shardproxy_pool_waiting", {{"backend", address}},
             static_cast<std::uint64_t>(u.waiting));
  w.single("shardproxy_pool_waits_total", "counter",
           "Borrows that had to wait for a connection to be given back.", stats.waits);
  w.single("shardproxy_pool_wait_timeouts_total", "counter",
           "Borrows that waited longer than the pool's timeout.", stats.timeouts);
  w.single("shardproxy_pool_connections_created_total", "counter",
           "Backend connections opened by the pools.", stats.created);
  w.single("shardproxy_pool_borrows_reused_total", "counter",
           "Borrows served by an idle pooled connection.", stats.reused);
}

void renderBackends(const SharedState& shared, const catalog::Snapshot& snap,
                    metrics::PromWriter& w) {
  w.family("shardproxy_backend_info", "gauge",
           "Every backend of the catalog with its keyspace, shard, role and state (value 1).");
  for (const auto& b : snap.backends) {
    const std::string address = b.address.toString();
    w.sample("shardproxy_backend_info",
             {{"backend", address},
              {"keyspace", b.keyspace},
              {"shard", b.shard},
              {"role", catalog::toString(b.role)},
              {"state", catalog::toString(b.state)}},
             std::uint64_t{1});
  }
  if (!shared.healthChecker) return;
  auto status = shared.healthChecker->status();
  w.family("shardproxy_backend_up", "gauge",
           "1 when the health checks reach the backend (damped by health_fall / health_rise).");
  w.family("shardproxy_backend_lag_seconds", "gauge", "A replica's Seconds_Behind_Master.");
  w.family("shardproxy_backend_gtid_behind", "gauge",
           "Transactions a replica's primary has and it has not applied yet.");
  std::map<std::string, const BackendStatus*> sorted;
  for (const auto& [address, st] : status)
    sorted.emplace(address, &st);
  for (const auto& [address, st] : sorted) {
    w.sample("shardproxy_backend_up", {{"backend", address}}, std::uint64_t{st->up ? 1u : 0u});
    if (st->lagKnown) {
      w.sample("shardproxy_backend_lag_seconds", {{"backend", address}},
               static_cast<std::uint64_t>(st->lagSeconds));
    }
    if (st->gtidBehind)
      w.sample("shardproxy_backend_gtid_behind", {{"backend", address}}, *st->gtidBehind);
  }
}

void renderGate(const SharedState& shared, metrics::PromWriter& w) {
  w.family("shardproxy_held_statements", "gauge",
           "Statements waiting at the hold/release buffer (cutover, switchover, failover).");
  w.family("shardproxy_held_refused_total", "counter",
           "Statements refused because a held scope's buffer was full.");
  for (const auto& s : shared.gate.stats()) {
    const std::string_view shard = s.scope.shard.empty() ? "*" : std::string_view(s.scope.shard);
    w.sample("shardproxy_held_statements", {{"keyspace", s.scope.keyspace}, {"shard", shard}},
             static_cast<std::uint64_t>(s.waiting));
    w.sample("shardproxy_held_refused_total", {{"keyspace", s.scope.keyspace}, {"shard", shard}},
             s.refused);
  }
}

void renderMigrations(SharedState& shared, metrics::PromWriter& w) {
  const auto all = shared.migrationsNow();
  w.family("shardproxy_migration_info", "gauge",
           "Every migration of the catalog with its keyspace and phase (value 1).");
  w.family("shardproxy_migration_rows_copied", "gauge", "Rows copied to the target shards.");
  w.family("shardproxy_migration_rows_estimated", "gauge", "Rows to copy (the sources' estimate).");
  w.family("shardproxy_migration_progress_ratio", "gauge", "Share of the copy done (0 to 1).");
  w.family("shardproxy_migration_catchup_lag_seconds", "gauge",
           "How far the binlog catch-up of the serving direction is behind.");
  w.family("shardproxy_migration_catchup_lag_events", "gauge",
           "Binlog events the catch-up of the serving direction has yet to apply.");
  w.family("shardproxy_migration_eta_seconds", "gauge",
           "Seconds left of the copy at its rate so far (while copying).");
  for (const auto& m : all) {
    const std::string id = std::to_string(m.id);
    const MigrationFigures f = migrationFigures(m);
    w.sample("shardproxy_migration_info",
             {{"id", id}, {"keyspace", m.keyspace}, {"phase", catalog::toString(m.phase)}},
             std::uint64_t{1});
    w.sample("shardproxy_migration_rows_copied", {{"id", id}}, f.rowsCopied);
    w.sample("shardproxy_migration_rows_estimated", {{"id", id}}, f.rowsEstimated);
    w.sample("shardproxy_migration_progress_ratio", {{"id", id}}, f.progressPct / 100.0);
    if (f.lagSeconds >= 0)
      w.sample("shardproxy_migration_catchup_lag_seconds", {{"id", id}}, f.lagSeconds);
    if (f.lagEvents >= 0) {
      w.sample("shardproxy_migration_catchup_lag_events", {{"id", id}},
               static_cast<std::uint64_t>(f.lagEvents));
    }
    if (f.etaSeconds) w.sample("shardproxy_migration_eta_seconds", {{"id", id}}, *f.etaSeconds);
  }
}

http::response<http::string_body> respond(SharedState& shared, const TrafficHistory& traffic,
                                          const http::request<http::string_body>& req) {
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "shardproxy");
  std::string_view target(req.target().data(), req.target().size());
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  auto json = [&](std::string body) {
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.body() = std::move(body);
  };
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "only GET and HEAD\n";
  } else if (target == "/metrics") {
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = renderMetrics(shared);
  } else if (target == "/" || target == "/index.html") {
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.body() = std::string(dashboardPage());
  } else if (target == "/api/shardmap") {
    json(apiShardMap(shared));
  } else if (target == "/api/traffic") {
    json(traffic.json());
  } else if (target == "/api/digests") {
    std::size_t limit = 20;
    if (auto at = query.find("limit="); at != std::string_view::npos) {
      limit = std::strtoul(std::string(query.substr(at + 6)).c_str(), nullptr, 10);
      limit = std::clamp<std::size_t>(limit, 1, 1000);
    }
    json(apiDigests(shared, limit));
  } else if (target == "/api/migrations") {
    json(apiMigrations(shared));
  } else if (target == "/healthz") {
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "ok\n";
  } else if (target == "/readyz") {
    Readiness r = readiness(shared);
    res.result(r.ready ? http::status::ok : http::status::service_unavailable);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = (r.ready ? "ready\n" : "not ready\n") + r.detail;
  } else {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "not found: / (dashboard), /metrics, /healthz, /readyz, /api/*\n";
  }
  res.prepare_payload();
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

asio::awaitable<void> serve(SharedState& shared, const TrafficHistory& traffic,
                            tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  while (true) {
    stream.expires_after(std::chrono::seconds(30));
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kAwait);
    if (ec) break;
    const auto& req = parser.get();
    auto res = respond(shared, traffic, req);
    res.keep_alive(req.keep_alive());
    auto [wec, wn] = co_await http::async_write(stream, res, kAwait);
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// The dashboard's traffic chart: per-shard totals every 2 s.
asio::awaitable<void> sampleTraffic(SharedState& shared, TrafficHistory& traffic) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    traffic.sample(shared);
    timer.expires_after(std::chrono::seconds(2));
    auto [ec] = co_await timer.async_wait(kAwait);
    if (ec) co_return;
  }
}

asio::awaitable<void> acceptLoop(SharedState& shared, const TrafficHistory& traffic,
                                 tcp::acceptor& acceptor) {
  while (acceptor.is_open()) {
    auto [ec, socket] = co_await acceptor.async_accept(kAwait);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve(shared, traffic, std::move(socket)),
                   asio::detached);
  }
}

}  // namespace

std::string renderMetrics(SharedState& shared) {
  std::uint64_t missing = 0;
  const std::vector<ThreadCopy> copies = onEveryThread(
      shared,
      [](ThreadContext& t) {
        return ThreadCopy{t.metrics.copy(), t.pool.perBackend(), t.pool.stats()};
      },
      &missing);
  metrics::Counters total;
  for (const ThreadCopy& c : copies)
    total.merge(c.counters);

  metrics::PromWriter w;
  metrics::renderCounters(
      total, static_cast<std::uint64_t>(shared.clientConnections.load(std::memory_order_relaxed)),
      shared.adminMetrics.copy(), w);
  renderPools(copies, w);
  auto snap = shared.snapshot();
  if (snap) {
    w.single("shardproxy_catalog_version", "gauge", "The version of the catalog in use.",
             snap->version);
    renderBackends(shared, *snap, w);
  }
  renderGate(shared, w);
  renderMigrations(shared, w);
  w.single("shardproxy_scrape_threads_missing", "gauge",
           "Application threads whose counters this scrape could not read within 1 s.", missing);
  return w.text();
}

Readiness readiness(const SharedState& shared) {
  Readiness r;
  auto snap = shared.snapshot();
  if (!snap || snap->version == 0) {
    r.detail = "the catalog is not loaded\n";
    return r;
  }
  if (snap->keyspaces.empty()) {
    r.detail = "the catalog has no keyspace\n";
    return r;
  }
  std::unordered_map<std::string, BackendStatus> status;
  if (shared.healthChecker) status = shared.healthChecker->status();
  r.ready = true;
  for (const auto& ks : snap->keyspaces) {
    bool any = false;
    for (std::size_t si : ks.shards) {
      const catalog::Shard& sh = snap->shards[si];
      if (!sh.serving || !sh.primary) continue;
      const catalog::Backend& b = snap->backends[*sh.primary];
      if (b.state == catalog::BackendState::kOffline) continue;
      if (shared.healthChecker) {
        auto it = status.find(b.address.toString());
        if (it == status.end() || !it->second.up) continue;
      }
      any = true;
      break;
    }
    if (!any) {
      r.ready = false;
      r.detail += fmt::format("keyspace {}: no serving primary the health checks reach\n", ks.name);
    }
  }
  if (!shared.healthChecker)
    r.detail += "no health checks run (--health-user): primaries not probed\n";
  return r;
}

HttpServer::HttpServer(SharedState& shared)
    : shared_(shared), traffic_(std::make_unique<TrafficHistory>()) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::listen(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec)
    return Error::make(ErrorCode::kConfigInvalid,
                       fmt::format("--http-listen: bad address '{}'", host));
  tcp::endpoint ep(address, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return Error::make(ErrorCode::kConfigInvalid,
                       fmt::format("HTTP endpoint {}:{}: {}", host, port, ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  return {};
}

void HttpServer::start() {
  if (!acceptor_.is_open()) return;
  asio::co_spawn(io_, acceptLoop(shared_, *traffic_, acceptor_), asio::detached);
  asio::co_spawn(io_, sampleTraffic(shared_, *traffic_), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  io_.stop();
  thread_.join();
}

}  // namespace shardproxy::proxy
