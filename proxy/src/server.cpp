#include "shardproxy/proxy/server.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <random>

#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/admin_session.h"
#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/http_server.h"
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
    cap::kPluginAuthLenencData | cap::kSessionTrack | cap::kDeprecateEof |
    cap::kMariadbExtendedMetadata;

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

// Once a second, on the thread's own loop: sessions whose client left during a long statement
// (ClientSession::checkClientGone).
asio::awaitable<void> watchClients(ThreadContext& ctx) {
  asio::steady_timer timer(ctx.io);
  while (!ctx.shuttingDown) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(kAwait);
    if (ec || ctx.shuttingDown) break;
    for (ClientSession* s : ctx.sessions)
      s->checkClientGone();
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
    : digests(s.config.queryDigests ? s.config.queryDigestsMax : 0),
      shared(s),
      pool(io.get_executor(), s.config.pool,
           BackendOptions{s.config.pool.connectTimeout, 1ULL << 30,
                          s.config.backendTls && s.tls ? &s.tls->clientContext() : nullptr},
           threads) {}

void SharedState::retireConnectionsTo(const std::string& address) {
  const std::uint64_t serial = BackendConnection::nextSerial();
  for (ThreadContext* t : threads)
    asio::post(t->io, [t, address, serial] { t->pool.retireOlder(address, serial); });
}

void SharedState::publish(catalog::SnapshotPtr next) {
  // The admin thread and the migration workers both publish: never go back to an older version.
  catalog::SnapshotPtr previous = snapshot_.load(std::memory_order_acquire);
  do {
    if (previous && previous->version >= next->version) return;
  } while (!snapshot_.compare_exchange_weak(previous, next, std::memory_order_acq_rel));
  std::uint64_t seen = snapshotVersion_.load(std::memory_order_acquire);
  while (seen < next->version &&
         !snapshotVersion_.compare_exchange_weak(seen, next->version, std::memory_order_acq_rel)) {
  }
  // A sharded keyspace (or a table rule) the tracker has not read yet: read it now, not at the
  // next round (merges, INSERTs without column lists and lookups need its columns).
  if (schemaTracker) {
    router::SchemaSnapshotPtr tracked = schemaTracker->schema();
    for (const catalog::Keyspace& ks : next->keyspaces) {
      if (!ks.sharded || ks.shards.empty()) continue;
      const router::KeyspaceSchema* known = tracked->keyspace(ks.name);
      bool missing = known == nullptr;
      for (const catalog::TableRule& t : next->tables) {
        if (missing) break;
        if (t.keyspace == ks.name && known->find(t.table) == nullptr) missing = true;
      }
      if (missing) schemaTracker->requestRefresh(ks.name);
    }
  }
  // Idle pooled connections to backends that stopped serving close now; sessions that hold one
  // move away at their next statement (OFFLINE) or when they end (DRAINING).
  std::vector<std::string> retired;
  if (previous) {
    for (const auto& b : previous->backends) {
      const catalog::Backend* now = next->findBackend(b.address);
      if (now == nullptr || now->state != catalog::BackendState::kOnline) {
        retired.push_back(b.address.toString());
      }
    }
  }
  if (retired.empty()) return;
  for (ThreadContext* t : threads) {
    asio::post(t->io, [t, retired] { t->pool.retire(retired); });
  }
}

std::pair<std::vector<Digest>, std::uint64_t> SharedState::collectDigests() {
  auto copies = onEveryThread(*this, [](ThreadContext& t) {
    return std::make_pair(t.digests.copy(), t.digests.evicted());
  });
  std::vector<std::vector<Digest>> perThread;
  std::uint64_t evicted = 0;
  for (auto& [digests, n] : copies) {
    perThread.push_back(std::move(digests));
    evicted += n;
  }
  return {mergeDigests(perThread), evicted};
}

void SharedState::resetDigests() {
  onEveryThread(*this, [](ThreadContext& t) {
    t.digests.reset();
    return true;
  });
}

std::vector<catalog::Migration> SharedState::migrationsNow() {
  std::lock_guard lock(adminMutex_);
  if (!catalog_) return {};
  auto all = catalog_->migrations();
  if (!all) return {};
  return std::move(*all);
}

AdminResult SharedState::runAdmin(std::string_view sql, const std::string& who, bool& changed) {
  if (isAdminExplainRoute(sql)) {
    changed = false;
    return explainRoute(sql);
  }
  std::lock_guard lock(adminMutex_);
  AdminServices services{migrations.get(), ha.get(), healthChecker.get(), &gate};
  services.digests = [this] { return collectDigests(); };
  services.resetDigests = [this] { resetDigests(); };
  AdminExecutor executor(*catalog_, std::move(services));
  AdminResult result = executor.execute(sql, who, changed);
  if (changed) {
    auto snap = catalog_->snapshot();
    if (snap) {
      publish(*snap);
      moduleLogger("catalog")->info("catalog version {} by {}", (*snap)->version, who);
    } else {
      moduleLogger("catalog")->error("catalog changed but its snapshot failed: {}",
                                     snap.error().message);
    }
  }
  return result;
}

Server::Server(Config config) {
  shared_.config = std::move(config);
}
Server::~Server() = default;

namespace {
// Names what a config's bootstrap topology has that the catalog does not, and the reverse.
// What the configuration's topology (command line or config file) says that the existing catalog
// contradicts: a keyspace it lacks, a backend it lacks or has elsewhere (another keyspace, shard or
// role). Starting then would serve other backends than the ones the command line names.
std::vector<std::string> contradictions(const catalog::Snapshot& catalogSnap,
                                        const catalog::Snapshot& configSnap) {
  std::vector<std::string> out;
  for (const auto& k : configSnap.keyspaces) {
    if (catalogSnap.findKeyspace(k.name) == nullptr) {
      out.push_back(fmt::format("keyspace '{}' is not in it", k.name));
    }
  }
  for (const auto& b : configSnap.backends) {
    const catalog::Backend* has = catalogSnap.findBackend(b.address);
    if (has == nullptr) {
      out.push_back(fmt::format("backend {} is not in it", b.address.toString()));
    } else if (has->keyspace != b.keyspace || has->shard != b.shard || has->role != b.role) {
      out.push_back(fmt::format("backend {} is there as {} of {}/{}, not {} of {}/{}",
                                b.address.toString(), catalog::toString(has->role), has->keyspace,
                                has->shard, catalog::toString(b.role), b.keyspace, b.shard));
    }
  }
  return out;
}

void warnAboutDifferences(const catalog::Snapshot& catalogSnap, const catalog::Snapshot& configSnap,
                          const std::string& path) {
  auto log = moduleLogger("catalog");
  for (const auto& u : configSnap.users) {
    if (catalogSnap.findUser(u.name) == nullptr) {
      log->warn("config user '{}' is not in catalog {} (the catalog wins)", u.name, path);
    }
  }
  for (const auto& b : catalogSnap.backends) {
    if (configSnap.findBackend(b.address) == nullptr && !configSnap.backends.empty()) {
      log->warn("catalog backend {} is not in the config's bootstrap topology",
                b.address.toString());
    }
  }
}
}  // namespace

Status Server::openCatalog() {
  auto log = moduleLogger("catalog");
  const Config& c = shared_.config;
  if (c.resetCatalog && c.catalogPath != ":memory:") {
    // --reset-catalog: the file and its WAL go; the configuration bootstraps a new one.
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ec;
      std::filesystem::remove(c.catalogPath + suffix, ec);
    }
    log->warn("catalog {} removed (--reset-catalog): bootstrapping it from the configuration",
              c.catalogPath);
  }
  auto opened = catalog::Catalog::open(c.catalogPath);
  if (!opened) return opened.takeError();
  auto cat = std::move(*opened);
  auto empty = cat->empty();
  if (!empty) return empty.takeError();
  const std::string bootstrap = bootstrapJson(c);
  const bool configHasTopology =
      !c.backends.empty() || !c.keyspacesJson.empty() || !c.users.empty();
  if (*empty && configHasTopology) {
    Status st = cat->importJson(bootstrap, {"bootstrap", "import of the configuration"});
    if (!st) return st;
    log->info("catalog {} bootstrapped from the configuration (version {})", c.catalogPath,
              cat->version());
  } else if (!*empty && configHasTopology) {
    auto scratch = catalog::Catalog::open(":memory:");
    Status imported = scratch ? (*scratch)->importJson(bootstrap, {"compare", "config"})
                              : Status(scratch.error());
    if (!imported) {
      log->warn(
          "the configuration's topology does not form a valid catalog ({}); catalog {} is "
          "used as it is",
          imported.error().message, c.catalogPath);
    } else {
      auto a = cat->snapshot();
      auto b = (*scratch)->snapshot();
      if (a && b) {
        auto differ = contradictions(**a, **b);
        if (!differ.empty()) {
          std::string list;
          for (const auto& d : differ)
            list += (list.empty() ? "" : "; ") + d;
          return Error::make(
              ErrorCode::kConfigInvalid,
              fmt::format("catalog {} holds another topology than the command line / config "
                          "names ({}). shardproxy never serves other backends than the ones it "
                          "is started with: change the topology on the admin port (and start "
                          "without --backend), start with another --catalog file, or add "
                          "--reset-catalog to replace this catalog with the command line's",
                          c.catalogPath, list));
        }
        warnAboutDifferences(**a, **b, c.catalogPath);
      }
    }
  }
  shared_.setCatalog(std::move(cat));
  // The two-phase commit decision log: its own connection to the same file (sessions write it
  // from the blocking pool, the recovery pass from its thread).
  auto decisions = catalog::DecisionLog::open(c.catalogPath);
  if (!decisions) return decisions.takeError();
  shared_.decisions = std::move(*decisions);
  std::random_device random;
  shared_.xidPrefix = fmt::format("sp-{}-{:08x}-", shared_.decisions->catalogId(), random());
  return {};
}

int Server::dumpCatalog(const Config& config) {
  Server server(config);
  if (Status st = server.openCatalog(); !st) {
    std::fprintf(stderr, "shardproxy: %s\n", st.error().message.c_str());
    return 1;
  }
  auto json = server.shared_.catalogPtr()->exportJson();
  if (!json) {
    std::fprintf(stderr, "shardproxy: %s\n", json.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", json->c_str());
  return 0;
}

Status Server::prepare() {
  auto log = moduleLogger("proxy");
  Config& c = shared_.config;
  auto tls = TlsMaterial::create(c.tlsCert, c.tlsKey);
  if (!tls) return tls.takeError();
  shared_.tls = std::move(*tls);
  if (shared_.tls->generated()) log->info("TLS: using a generated self-signed certificate");

  if (Status st = openCatalog(); !st) return st;
  shared_.sequences = std::make_unique<SequenceCache>(c.catalogPath);
  auto snap = shared_.catalogPtr()->snapshot();
  if (!snap) return snap.takeError();
  shared_.publish(*snap);

  // Present the backend's own version and capabilities, so clients enable what it supports.
  const catalog::Backend* probeTarget = nullptr;
  for (const auto& b : (*snap)->backends) {
    if (b.role == catalog::BackendRole::kPrimary && b.state == catalog::BackendState::kOnline) {
      probeTarget = &b;
      break;
    }
  }
  std::uint32_t backendCaps = 0xffffffff;
  auto& identity = shared_.identity;
  identity.version = "8.0.36";
  if (probeTarget != nullptr) {
    asio::io_context probeIo;
    Result<ServerGreeting> greeting = Error::make(ErrorCode::kInternal, "not probed");
    asio::co_spawn(
        probeIo,
        [&]() -> asio::awaitable<void> {
          greeting = co_await probeBackend(probeIo.get_executor(), probeTarget->address,
                                           c.pool.connectTimeout);
        },
        asio::detached);
    probeIo.run();
    if (greeting) {
      identity.version = greeting->version;
      backendCaps = greeting->capabilities;
      log->info("backend '{}' is {}", probeTarget->address.toString(), greeting->version);
    } else {
      log->warn("could not probe backend '{}' ({}); presenting version {}",
                probeTarget->address.toString(), greeting.error().message, identity.version);
    }
  } else {
    log->warn("the catalog has no online primary yet; add shards on the admin port");
  }
  if (!c.serverVersion.empty()) identity.version = c.serverVersion;
  identity.capabilities = kAdvertisedCaps & ~(kSessionCapabilities & ~backendCaps);
  identity.authPlugin = c.authPlugin;
  identity.tls = shared_.tls.get();
  identity.cache = &shared_.fastAuth;

  auto& admin = shared_.adminIdentity;
  admin.version = "8.0.36-shardproxy-admin";
  // (Not MariaDB's extended metadata: the admin port presents itself as MySQL.)
  admin.capabilities =
      kAdvertisedCaps & ~cap::kSessionTrack & ~cap::kLocalFiles & ~cap::kMariadbExtendedMetadata;
  admin.authPlugin = protocol::kNativePasswordPlugin;
  admin.tls = shared_.tls.get();
  admin.cache = &shared_.adminFastAuth;

  auto adminAccounts = std::make_shared<std::map<std::string, AccountHashes>>();
  for (const auto& u : c.adminUsers)
    (*adminAccounts)[u.name] = AccountHashes::fromPassword(u.password);
  if (adminAccounts->empty() && c.adminEnabled) {
    if (c.adminListenHost == "127.0.0.1" || c.adminListenHost == "::1" ||
        c.adminListenHost == "localhost") {
      (*adminAccounts)["admin"] = AccountHashes::fromPassword("admin");
      log->warn("no --admin-user given: admin:admin may log in on {}:{} (loopback only)",
                c.adminListenHost, c.adminListenPort);
    } else {
      return Error::make(
          ErrorCode::kConfigInvalid,
          "an admin port on a non-loopback address needs --admin-user name:password");
    }
  }
  SharedState* shared = &shared_;
  shared_.setAccountLookups(
      [shared](const std::string& user) -> std::optional<AccountHashes> {
        auto snapNow = shared->snapshot();
        const catalog::User* u = snapNow ? snapNow->findUser(user) : nullptr;
        if (u == nullptr) return std::nullopt;
        return AccountHashes{u->nativeHash, u->sha2Hash};
      },
      [adminAccounts](const std::string& user) -> std::optional<AccountHashes> {
        auto it = adminAccounts->find(user);
        if (it == adminAccounts->end()) return std::nullopt;
        return it->second;
      });
  return {};
}

namespace {
asio::awaitable<void> adminAcceptLoop(SharedState& shared, tcp::acceptor& acceptor) {
  auto log = moduleLogger("proxy");
  while (!shared.shuttingDown.load()) {
    auto [ec, socket] = co_await acceptor.async_accept(kAwait);
    if (ec) {
      if (shared.shuttingDown.load() || ec == asio::error::operation_aborted) break;
      log->warn("admin accept failed: {}", ec.message());
      continue;
    }
    auto session = std::make_unique<AdminSession>(shared, std::move(socket));
    asio::co_spawn(acceptor.get_executor(), AdminSession::run(std::move(session)), asio::detached);
  }
}

Status listenOn(tcp::acceptor& acceptor, const std::string& host, std::uint16_t port,
                bool reusePort) {
  error_code ec;
  tcp::endpoint ep(asio::ip::make_address(host, ec), port);
  if (ec)
    return Error::make(ErrorCode::kConfigInvalid, fmt::format("invalid listen address '{}'", host));
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && reusePort) acceptor.set_option(ReusePort(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::make(ErrorCode::kConfigInvalid,
                       fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  }
  return {};
}
}  // namespace

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
    if (Status st = listenOn(*acceptor, c.listenHost, c.listenPort, true); !st) {
      log->critical("{}", st.error().message);
      return 1;
    }
    asio::co_spawn(ctx.io, acceptLoop(ctx, *acceptor), asio::detached);
    asio::co_spawn(ctx.io, watchClients(ctx), asio::detached);
    ctx.pool.startMaintenance();
    acceptors.push_back(std::move(acceptor));
  }
  for (auto& t : threads_)
    shared_.threads.push_back(t.get());
  asio::io_context adminIo(1);
  tcp::acceptor adminAcceptor(adminIo);
  if (c.adminEnabled) {
    if (Status st = listenOn(adminAcceptor, c.adminListenHost, c.adminListenPort, false); !st) {
      log->critical("admin port: {}", st.error().message);
      return 1;
    }
    asio::co_spawn(adminIo, adminAcceptLoop(shared_, adminAcceptor), asio::detached);
  }
  // /metrics, /healthz, /readyz on their own thread. A port already taken does not stop the
  // proxy: it serves, and says so.
  HttpServer http(shared_);
  if (c.httpEnabled) {
    if (Status st = http.listen(c.httpListenHost, c.httpListenPort); !st) {
      log->error("{}: serving without /metrics, /healthz and /readyz", st.error().message);
    } else {
      http.start();
      log->info("HTTP endpoint on {}:{} (/metrics, /healthz, /readyz)", c.httpListenHost,
                http.port());
    }
  }
  log->info("shardproxy listening on {}:{} ({} threads), admin on {}, catalog {} version {}",
            c.listenHost, c.listenPort, n,
            c.adminEnabled ? fmt::format("{}:{}", c.adminListenHost, c.adminListenPort)
                           : std::string("off"),
            c.catalogPath, shared_.snapshot()->version);

  // Replica health and lag, probed on its own thread with the backend user's (or the health
  // user's) credentials.
  const ConfigUser* probeUser = c.healthUser    ? &*c.healthUser
                                : c.backendUser ? &*c.backendUser
                                                : nullptr;
  if (probeUser != nullptr) {
    HealthCheckOptions ho;
    ho.user = probeUser->name;
    ho.password = probeUser->password;
    ho.interval = c.healthInterval;
    ho.fall = c.healthFall;
    ho.rise = c.healthRise;
    shared_.healthChecker =
        std::make_unique<HealthChecker>([this] { return shared_.snapshot(); }, ho);
  } else {
    log->warn(
        "no health_user or backend_user: replicas are not probed (lag is not checked); "
        "set --health-user name:password");
  }

  // Schema tracking: the sharded keyspaces' columns, read as the DBA before the first session.
  if (c.dbaUser) {
    SchemaTrackerOptions so;
    so.user = c.dbaUser->name;
    so.password = c.dbaUser->password;
    so.interval = c.schemaRefreshInterval;
    shared_.schemaTracker =
        std::make_unique<SchemaTracker>([this] { return shared_.snapshot(); }, so);
    shared_.schemaTracker->start();
    if (!shared_.schemaTracker->waitFirstRound(std::chrono::seconds(10))) {
      log->warn("schema tracking: the first read of the sharded keyspaces is still running");
    }
  } else {
    log->info(
        "no dba_user: schema tracking is off (an INSERT without a column list into a sharded "
        "table is refused)");
  }

  // Resharding: the manager resumes every unfinished migration of the catalog (docs/resharding.md).
  migrations::ManagerOptions mo;
  mo.catalogPath = c.catalogPath;
  if (c.dbaUser) {
    mo.dbaUser = c.dbaUser->name;
    mo.dbaPassword = c.dbaUser->password;
  }
  shared_.migrations = std::make_unique<migrations::MigrationManager>(mo, shared_.gate);
  if (c.dbaUser) {
    shared_.migrations->start();
  } else {
    log->info("no dba_user: resharding is off (set --dba-user name:password to enable it)");
  }

  // High availability (docs/high-availability.md): switchover on the admin port, automatic
  // failover from the health probes, both as the DBA.
  if (c.dbaUser) {
    migrations::HaOptions hao;
    hao.catalogPath = c.catalogPath;
    hao.dbaUser = c.dbaUser->name;
    hao.dbaPassword = c.dbaUser->password;
    if (c.replicationUser) {
      hao.replicationUser = c.replicationUser->name;
      hao.replicationPassword = c.replicationUser->password;
    }
    shared_.ha = std::make_unique<migrations::HaManager>(hao, shared_.gate);
    shared_.ha->start();
  } else {
    log->info("no dba_user: switchover and automatic failover are off");
  }
  if (shared_.healthChecker) {
    if (shared_.ha) {
      migrations::HaManager* ha = shared_.ha.get();
      shared_.healthChecker->setPrimaryListener([ha](const catalog::Endpoint& primary, int failures,
                                                     int fall, const std::string& problem) {
        if (failures == 0) {
          ha->primaryRecovered(primary);
        } else {
          ha->primaryFailing(primary, failures, fall, problem);
        }
      });
    }
    shared_.healthChecker->start();
  }

  // Two-phase commit recovery (docs/transactions.md): as the DBA, on every primary.
  if (c.dbaUser) {
    TwoPcRecoveryOptions to;
    to.dbaUser = c.dbaUser->name;
    to.dbaPassword = c.dbaUser->password;
    to.xidPrefix = "sp-" + shared_.decisions->catalogId() + "-";
    to.interval = c.twopcRecoveryInterval;
    to.abandonAfter = c.twopcAbandon;
    shared_.twopcRecovery = std::make_unique<TwoPcRecovery>([this] { return shared_.snapshot(); },
                                                            *shared_.decisions, to);
    shared_.twopcRecovery->start();
  } else {
    log->warn(
        "no dba_user: prepared XA transactions left by a crash are not recovered "
        "(transaction_mode 'twopc' needs --dba-user name:password)");
  }

  std::vector<std::thread> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& t : threads_) {
    guards.emplace_back(t->io.get_executor());
    workers.emplace_back([&io = t->io] { io.run(); });
  }
  guards.emplace_back(adminIo.get_executor());
  workers.emplace_back([&adminIo] { adminIo.run(); });

  asio::io_context mainIo(1);
  asio::signal_set signals(mainIo, SIGTERM, SIGINT);
  signals.async_wait([&](error_code ec, int sig) {
    if (ec) return;
    log->info("signal {}: stop accepting, finishing running statements (grace {} ms)", sig,
              c.shutdownGrace.count());
    shared_.shuttingDown.store(true);
    // Migration workers save their progress and stop first (a cutover in flight finishes or
    // aborts within its budget): the next start resumes them.
    shared_.migrations->stop();
    asio::post(adminIo, [&adminAcceptor] {
      error_code ignored;
      adminAcceptor.close(ignored);
    });
    for (std::size_t i = 0; i < threads_.size(); ++i) {
      auto& ctx = *threads_[i];
      auto* acceptor = acceptors[i].get();
      asio::post(ctx.io, [&ctx, acceptor] {
        ctx.shuttingDown = true;
        error_code ignored;
        acceptor->close(ignored);
        for (ClientSession* s :
             std::vector<ClientSession*>(ctx.sessions.begin(), ctx.sessions.end())) {
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
    for (auto& t : threads_)
      t->io.stop();
    adminIo.stop();
  });
  mainIo.run();
  http.stop();
  for (auto& w : workers)
    w.join();
  if (shared_.healthChecker) shared_.healthChecker->stop();
  if (shared_.ha) shared_.ha->stop();
  if (shared_.twopcRecovery) shared_.twopcRecovery->stop();
  if (shared_.schemaTracker) shared_.schemaTracker->stop();
  log->info("shardproxy stopped");
  return 0;
}

}  // namespace shardproxy::proxy
