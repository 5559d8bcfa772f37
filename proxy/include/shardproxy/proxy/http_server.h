// The HTTP endpoint (--http-listen, docs/observability.md): /metrics in Prometheus' text format,
// /healthz (the process answers) and /readyz (the catalog is loaded and every keyspace has a
// serving primary the health checks reach) for load balancers and orchestrators, and the web
// dashboard at / with its JSON API under /api/ (http_dashboard.h).
// Place in the request flow: beside it, never in it. Its own thread and io_context (Boost.Beast);
// a scrape asks each application thread for a copy of its counters by posting to it, so the
// sessions never lock or share a counter.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "shardproxy/common/errors.h"

namespace shardproxy::proxy {

struct SharedState;
class TrafficHistory;

// What /metrics answers: every application thread's counters added up (each copied on its own
// thread; a thread that does not answer within a second is left out and counted in
// shardproxy_scrape_threads_missing), the pools, the health checks, held statements and the
// migrations. Blocks the caller for the copies: call it off the application threads.
std::string renderMetrics(SharedState& shared);

// /readyz: ready, and a line per finding ("keyspace shop: no reachable serving primary").
struct Readiness {
  bool ready = false;
  std::string detail;
};
Readiness readiness(const SharedState& shared);

class HttpServer {
 public:
  explicit HttpServer(SharedState& shared);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0: any free one, see port()).
  Status listen(const std::string& host, std::uint16_t port);
  std::uint16_t port() const { return port_; }
  // Serves on its own thread until stop().
  void start();
  void stop();

 private:
  SharedState& shared_;
  std::unique_ptr<TrafficHistory> traffic_;  // the dashboard's chart
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace shardproxy::proxy
