#include "shardproxy/proxy/server.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/protocol/constants.h"

namespace shardproxy::proxy {

namespace cap = protocol::cap;
namespace {
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

constexpr std::uint32_t kAdvertisedCaps =
    cap::kLongPassword | cap::kFoundRows | cap::kLongFlag | cap::kConnectWithDb | cap::kNoSchema |
    cap::kLocalFiles | cap::kIgnoreSpace | cap::kProtocol41 | cap::kInteractive | cap::kSsl |
    cap::kIgnoreSigpipe | cap::kTransactions | cap::kSecureConnection | cap::kMultiStatements |
    cap::kMultiResults | cap::kPsMultiResults | cap::kPluginAuth | cap::kConnectAttrs |
    cap::kPluginAuthLenencData | cap::kSessionTrack | cap::kDeprecateEof;

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

asio::awaitable<void> acceptLoop(ThreadContext& ctx, tcp::acceptor& acceptor) {
  auto log = moduleLogger("proxy");
  while (!ctx.shuttingDown) {
    auto [ec, socket] = co_await acceptor.async_accept(kAwait);
    if (ec) {
      if (ctx.shuttingDown || ec == asio::error::operation_aborted) break;
      log->warn("accept failed: {}", ec.message());
      continue;
    }
    auto session = std::make_unique<ClientSession>(ctx, std::move(socket));
    asio::co_spawn(ctx.io, ClientSession::run(std::move(session)), asio::detached);
  }
}
}  // namespace

void SharedState::registerSession(std::uint32_t id, SessionEntry entry) {
  std::lock_guard lock(registryMutex_);
  registry_[id] = std::move(entry);
}

void SharedState::unregisterSession(std::uint32_t id) {
  std::lock_guard lock(registryMutex_);
  registry_.erase(id);
}

ThreadContext::ThreadContext(SharedState& s, std::size_t threads)
    : shared(s),
      pool(io.get_executor(), s.topology, s.config.pool,
           BackendOptions{s.config.pool.connectTimeout, 1ULL << 30,
                          s.config.backendTls && s.tls ? &s.tls->clientContext() : nullptr},
           threads) {}

Server::Server(Config config) { shared_.config = std::move(config); }
Server::~Server() = default;

Status Server::prepare() {
  auto log = moduleLogger("proxy");
  Config& c = shared_.config;
  auto topology = std::make_shared<catalog::Topology>();
  topology->backends = c.backends;
  topology->users = c.users;
  topology->backendUser = c.backendUser;
  shared_.topology = topology;

  auto tls = TlsMaterial::create(c.tlsCert, c.tlsKey);
  if (!tls) return tls.takeError();
  shared_.tls = std::move(*tls);
  if (shared_.tls->generated()) log->info("TLS: using a generated self-signed certificate");

  // Present the backend's own version and capabilities, so clients enable what it supports.
  asio::io_context probeIo;
  Result<ServerGreeting> greeting = Error::make(ErrorCode::kInternal, "not probed");
  asio::co_spawn(
      probeIo,
      [&]() -> asio::awaitable<void> {
        greeting = co_await probeBackend(probeIo.get_executor(), c.backends.front(),
                                         c.pool.connectTimeout);
      },
      asio::detached);
  probeIo.run();
  std::uint32_t backendCaps = 0xffffffff;
  auto& identity = shared_.identity;
  if (greeting) {
    identity.version = greeting->version;
    backendCaps = greeting->capabilities;
    log->info("backend '{}' is {}", c.backends.front().address(), greeting->version);
  } else {
    identity.version = "8.0.36";
    log->warn("could not probe backend '{}' ({}); presenting version {}",
              c.backends.front().address(), greeting.error().message, identity.version);
  }
  if (!c.serverVersion.empty()) identity.version = c.serverVersion;
  identity.capabilities = kAdvertisedCaps & ~(kSessionCapabilities & ~backendCaps);
  identity.authPlugin = c.authPlugin;
  identity.tls = shared_.tls.get();
  identity.cache = &shared_.fastAuth;
  auto accounts = std::make_shared<std::map<std::string, AccountHashes>>();
  for (const auto& u : c.users) (*accounts)[u.name] = AccountHashes::fromPassword(u.password);
  shared_.setAppAccounts([accounts](const std::string& user) -> std::optional<AccountHashes> {
    auto it = accounts->find(user);
    if (it == accounts->end()) return std::nullopt;
    return it->second;
  });
  return {};
}

int Server::run() {
  auto log = moduleLogger("proxy");
  if (Status st = prepare(); !st) {
    log->critical("{}", st.error().message);
    return 1;
  }
  const Config& c = shared_.config;
  std::size_t n = c.threads == 0 ? std::max(1U, std::thread::hardware_concurrency()) : c.threads;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  for (std::size_t i = 0; i < n; ++i) {
    threads_.push_back(std::make_unique<ThreadContext>(shared_, n));
    auto& ctx = *threads_.back();
    auto acceptor = std::make_unique<tcp::acceptor>(ctx.io);
    error_code ec;
    tcp::endpoint ep(asio::ip::make_address(c.listenHost, ec), c.listenPort);
    if (ec) {
      log->critical("invalid listen address '{}': {}", c.listenHost, ec.message());
      return 1;
    }
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->set_option(ReusePort(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      log->critical("cannot listen on {}:{}: {}", c.listenHost, c.listenPort, ec.message());
      return 1;
    }
    asio::co_spawn(ctx.io, acceptLoop(ctx, *acceptor), asio::detached);
    ctx.pool.startMaintenance();
    acceptors.push_back(std::move(acceptor));
  }
  log->info("shardproxy listening on {}:{} ({} threads, {} backend(s))", c.listenHost,
            c.listenPort, n, c.backends.size());

  std::vector<std::thread> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& t : threads_) {
    guards.emplace_back(t->io.get_executor());
    workers.emplace_back([&io = t->io] { io.run(); });
  }

  asio::io_context mainIo(1);
  asio::signal_set signals(mainIo, SIGTERM, SIGINT);
  signals.async_wait([&](error_code ec, int sig) {
    if (ec) return;
    log->info("signal {}: stop accepting, finishing running statements (grace {} ms)", sig,
              c.shutdownGrace.count());
    for (std::size_t i = 0; i < threads_.size(); ++i) {
      auto& ctx = *threads_[i];
      auto* acceptor = acceptors[i].get();
      asio::post(ctx.io, [&ctx, acceptor] {
        ctx.shuttingDown = true;
        error_code ignored;
        acceptor->close(ignored);
        for (ClientSession* s : std::vector<ClientSession*>(ctx.sessions.begin(), ctx.sessions.end())) {
          s->requestClose();
        }
      });
    }
    auto deadline = std::chrono::steady_clock::now() + c.shutdownGrace;
    while (shared_.clientConnections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (shared_.clientConnections.load() > 0) {
      log->warn("{} session(s) still busy after the grace period; closing them",
                shared_.clientConnections.load());
    }
    for (auto& t : threads_) {
      asio::post(t->io, [&ctx = *t] { ctx.pool.closeAll(); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (auto& t : threads_) t->io.stop();
  });
  mainIo.run();
  for (auto& w : workers) w.join();
  log->info("shardproxy stopped");
  return 0;
}

}  // namespace shardproxy::proxy
