// shardproxy entry point: flags and config file → Config → Server::run().
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "shardproxy/common/errors.h"
#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/config.h"
#include "shardproxy/proxy/server.h"

using shardproxy::proxy::Config;

int main(int argc, char** argv) {
  CLI::App app{"shardproxy — a MySQL sharding proxy. Applications connect to it as to MySQL."};
  app.set_version_flag("--version", std::string("shardproxy ") + SHARDPROXY_VERSION);
  std::string configFile, listen, logLevel, logFormat, backendUser, serverVersion, authPlugin,
      tlsCert, tlsKey;
  std::vector<std::string> backends, users, adminUsers;
  std::string adminListen, httpListen, catalogPath, healthUser, dbaUser, replicationUser;
  int healthFall = -1, healthRise = -1;
  std::int64_t bufferMaxStatements = -1, bufferMaxBytes = -1;
  std::int64_t holdTimeout = -1;
  std::int64_t twopcInterval = -1;
  std::int64_t twopcAbandon = -1;
  bool dumpCatalog = false;
  unsigned threads = 0;
  std::size_t maxPacket = 0, poolMax = 0, poolMinIdle = 0, maxClients = 0;
  long long idleTimeout = -1, acquireTimeout = -1, connectTimeout = -1, pingAfterIdle = -1,
            grace = -1, readYourWrites = -1, causalTimeout = -1, healthInterval = -1,
            schemaRefresh = -1;
  bool backendTls = false, errorReference = false;

  app.add_option("--config", configFile, "JSON configuration file (flags override its keys)");
  app.add_option("--listen", listen,
                 "Address for applications, host:port (default 127.0.0.1:6033)");
  app.add_option("--backend", backends,
                 "Bootstrap: backend host:port of the unsharded keyspace 'default' (repeatable; "
                 "the first is the primary)");
  app.add_option("--user", users, "Bootstrap: application user name:password (repeatable)");
  app.add_option("--catalog", catalogPath, "Catalog file (SQLite; default shardproxy.db)");
  bool resetCatalog = false;
  app.add_flag("--reset-catalog", resetCatalog,
               "Delete the catalog file first and bootstrap it from this command line / config "
               "(needed when the file holds another topology than the one named here)");
  app.add_option("--admin-listen", adminListen,
                 "Admin port host:port (default 127.0.0.1:6032; 'off' disables it)");
  app.add_option("--http-listen", httpListen,
                 "HTTP endpoint host:port for /metrics, /healthz, /readyz (default "
                 "127.0.0.1:9090; 'off' disables it)");
  std::size_t slowQueryMs = 0;
  app.add_option(
      "--slow-query-ms", slowQueryMs,
      "Log statements that take at least this many ms (logger \"slow\"; default 0: off)");
  std::string statementErrors;
  app.add_option("--log-statement-errors", statementErrors,
                 "off | proxy | all: log statements that end in an error (proxy: the errors the "
                 "proxy answers itself; all: also the servers' errors; default proxy)");
  std::string queryDigests;
  std::size_t queryDigestsMax = 0;
  app.add_option("--query-digests", queryDigests,
                 "on | off: count statements by fingerprint for SHOW QUERY DIGEST (default on)");
  app.add_option("--query-digests-max", queryDigestsMax,
                 "Digests each thread keeps (default 2000; the least used are evicted)");
  app.add_option("--admin-user", adminUsers, "Admin account name:password (repeatable)");
  app.add_flag("--dump-catalog", dumpCatalog, "Print the catalog as bootstrap JSON and exit");
  app.add_option("--backend-user", backendUser,
                 "Log in to backends as name:password instead of the client's own login");
  app.add_option("--threads", threads, "Event-loop threads (default: one per core)");
  app.add_option("--log-level", logLevel,
                 "trace|debug|info|warn|error|critical|off (default info)");
  app.add_option("--log-format", logFormat, "text|json (default text)");
  app.add_option("--max-allowed-packet", maxPacket,
                 "Largest client packet in bytes (default 64 MiB)");
  app.add_option("--server-version", serverVersion,
                 "Version string shown to clients (default: the first backend's)");
  app.add_option("--auth-plugin", authPlugin,
                 "mysql_native_password (default) or caching_sha2_password");
  app.add_option("--tls-cert", tlsCert, "PEM certificate for client TLS (default: self-signed)");
  app.add_option("--tls-key", tlsKey, "PEM private key for --tls-cert");
  app.add_flag("--backend-tls", backendTls, "Use TLS to backends that offer it");
  app.add_option("--pool-max", poolMax, "Max connections per backend (default 200)");
  app.add_option("--pool-min-idle", poolMinIdle, "Idle connections kept per backend and login");
  app.add_option("--pool-idle-timeout-ms", idleTimeout,
                 "Close idle connections after (default 60000)");
  app.add_option("--pool-acquire-timeout-ms", acquireTimeout,
                 "Wait this long for a free connection at the pool limit (default 5000)");
  app.add_option("--connect-timeout-ms", connectTimeout,
                 "Backend connect+login timeout (default 5000)");
  app.add_option("--ping-after-idle-ms", pingAfterIdle,
                 "Ping a pooled connection idle this long before reuse (default 2000)");
  app.add_option("--shutdown-grace-ms", grace,
                 "On SIGTERM, wait this long for running statements (default 10000)");
  app.add_option("--max-client-connections", maxClients, "Client connection limit (default 10000)");
  app.add_option("--read-your-writes-ms", readYourWrites,
                 "After a write, read that shard from its primary for this long (default 0: off)");
  app.add_option("--causal-read-timeout-ms", causalTimeout,
                 "Causal reads: how long to wait for a replica to reach the write (default 1000)");
  app.add_option("--health-user", healthUser,
                 "name:password the health probe logs in with (default: --backend-user)");
  app.add_option("--dba-user", dbaUser,
                 "name:password for resharding workers and fencing (replication + READ ONLY "
                 "ADMIN); never an application's login");
  app.add_option("--twopc-recovery-interval-ms", twopcInterval,
                 "How often prepared XA transactions are recovered (default 5000)");
  app.add_option("--twopc-abandon-ms", twopcAbandon,
                 "Prepared, undecided multi-shard transactions older than this are rolled back "
                 "(default 10000)");
  app.add_option("--hold-timeout-ms", holdTimeout,
                 "How long statements wait while a cutover, switchover or failover holds them "
                 "(default 10000)");
  app.add_option("--buffer-max-statements", bufferMaxStatements,
                 "Statements one held shard may buffer (default 10000)");
  app.add_option("--buffer-max-bytes", bufferMaxBytes,
                 "Bytes of statements one held shard may buffer (default 67108864)");
  app.add_option("--replication-user", replicationUser,
                 "NAME:PASSWORD of the replication account a switchover gives the old primary");
  app.add_option("--health-fall", healthFall,
                 "Failed probes in a row before a backend is down / a primary fails over "
                 "(default 3)");
  app.add_option("--health-rise", healthRise,
                 "Successful probes in a row before a backend is up again (default 2)");
  app.add_option("--health-interval-ms", healthInterval,
                 "Backend health probe interval (default 1000)");
  app.add_option("--schema-refresh-interval-ms", schemaRefresh,
                 "Schema tracking: read the sharded keyspaces' columns again this often "
                 "(default 60000; 0 = only at start and after DDL)");
  app.add_flag("--error-reference", errorReference,
               "Print the error reference (markdown) and exit");
  CLI11_PARSE(app, argc, argv);

  if (errorReference) {
    std::cout << shardproxy::errorReferenceMarkdown();
    return 0;
  }
  auto fail = [](const std::string& msg) {
    std::cerr << "shardproxy: " << msg << "\n";
    return 2;
  };
  Config config;
  if (!configFile.empty()) {
    std::ifstream in(configFile);
    if (!in) return fail("cannot read config file '" + configFile + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    if (auto st = shardproxy::proxy::applyJsonConfig(ss.str(), config); !st) {
      return fail(configFile + ": " + st.error().message);
    }
  }
  if (!listen.empty()) {
    auto hp = shardproxy::proxy::parseHostPort(listen, "--listen");
    if (!hp) return fail(hp.error().message);
    config.listenHost = hp->first;
    config.listenPort = hp->second;
  }
  if (!backends.empty()) {
    config.backends.clear();
    bool first = true;
    for (const auto& b : backends) {
      auto hp = shardproxy::proxy::parseHostPort(b, "--backend");
      if (!hp) return fail(hp.error().message);
      config.backends.push_back({{hp->first, hp->second},
                                 first ? shardproxy::catalog::BackendRole::kPrimary
                                       : shardproxy::catalog::BackendRole::kReplica});
      first = false;
    }
  }
  if (!users.empty()) {
    config.users.clear();
    for (const auto& u : users) {
      auto user = shardproxy::proxy::parseUserSpec(u, "--user");
      if (!user) return fail(user.error().message);
      config.users.push_back(*user);
    }
  }
  if (!adminUsers.empty()) {
    config.adminUsers.clear();
    for (const auto& u : adminUsers) {
      auto user = shardproxy::proxy::parseUserSpec(u, "--admin-user");
      if (!user) return fail(user.error().message);
      config.adminUsers.push_back(*user);
    }
  }
  if (!adminListen.empty()) {
    if (adminListen == "off") {
      config.adminEnabled = false;
    } else {
      auto hp = shardproxy::proxy::parseHostPort(adminListen, "--admin-listen");
      if (!hp) return fail(hp.error().message);
      config.adminListenHost = hp->first;
      config.adminListenPort = hp->second;
    }
  }
  if (!queryDigests.empty()) {
    if (queryDigests != "on" && queryDigests != "off")
      return fail("--query-digests takes on or off");
    config.queryDigests = queryDigests == "on";
  }
  if (queryDigestsMax != 0) config.queryDigestsMax = queryDigestsMax;
  if (!statementErrors.empty()) {
    auto mode = shardproxy::proxy::parseErrorLog(statementErrors);
    if (!mode) return fail("--log-statement-errors takes off, proxy or all");
    config.statementErrors = *mode;
  }
  if (slowQueryMs != 0) config.slowQuery = std::chrono::milliseconds(slowQueryMs);
  if (!httpListen.empty()) {
    if (httpListen == "off") {
      config.httpEnabled = false;
    } else {
      auto hp = shardproxy::proxy::parseHostPort(httpListen, "--http-listen");
      if (!hp) return fail(hp.error().message);
      config.httpListenHost = hp->first;
      config.httpListenPort = hp->second;
    }
  }
  if (!catalogPath.empty()) config.catalogPath = catalogPath;
  config.resetCatalog = resetCatalog;
  if (!backendUser.empty()) {
    auto user = shardproxy::proxy::parseUserSpec(backendUser, "--backend-user");
    if (!user) return fail(user.error().message);
    config.backendUser = *user;
  }
  if (threads != 0) config.threads = threads;
  if (!logLevel.empty()) config.logLevel = logLevel;
  if (!logFormat.empty()) {
    if (logFormat != "text" && logFormat != "json")
      return fail("--log-format must be text or json");
    config.logJson = logFormat == "json";
  }
  if (maxPacket != 0) config.maxAllowedPacket = maxPacket;
  if (!serverVersion.empty()) config.serverVersion = serverVersion;
  if (!authPlugin.empty()) config.authPlugin = authPlugin;
  if (!tlsCert.empty()) config.tlsCert = tlsCert;
  if (!tlsKey.empty()) config.tlsKey = tlsKey;
  if (backendTls) config.backendTls = true;
  if (poolMax != 0) config.pool.maxConnections = poolMax;
  if (poolMinIdle != 0) config.pool.minIdle = poolMinIdle;
  if (idleTimeout >= 0) config.pool.idleTimeout = std::chrono::milliseconds(idleTimeout);
  if (acquireTimeout >= 0) config.pool.acquireTimeout = std::chrono::milliseconds(acquireTimeout);
  if (connectTimeout >= 0) config.pool.connectTimeout = std::chrono::milliseconds(connectTimeout);
  if (pingAfterIdle >= 0) config.pool.pingAfterIdle = std::chrono::milliseconds(pingAfterIdle);
  if (grace >= 0) config.shutdownGrace = std::chrono::milliseconds(grace);
  if (maxClients != 0) config.maxClientConnections = maxClients;
  if (readYourWrites >= 0) config.readYourWritesMs = static_cast<std::uint32_t>(readYourWrites);
  if (causalTimeout >= 0) config.causalReadTimeoutMs = static_cast<std::uint32_t>(causalTimeout);
  if (!dbaUser.empty()) {
    auto u = shardproxy::proxy::parseUserSpec(dbaUser, "--dba-user");
    if (!u) return fail(u.error().message);
    config.dbaUser = *u;
  }
  if (holdTimeout >= 0) config.holdTimeout = std::chrono::milliseconds(holdTimeout);
  if (bufferMaxStatements >= 0) config.bufferMaxStatements = bufferMaxStatements;
  if (bufferMaxBytes >= 0) config.bufferMaxBytes = bufferMaxBytes;
  if (healthFall >= 1) config.healthFall = healthFall;
  if (healthRise >= 1) config.healthRise = healthRise;
  if (!replicationUser.empty()) {
    auto u = shardproxy::proxy::parseUserSpec(replicationUser, "--replication-user");
    if (!u) return fail(u.error().message);
    config.replicationUser = *u;
  }
  if (twopcInterval > 0) config.twopcRecoveryInterval = std::chrono::milliseconds(twopcInterval);
  if (twopcAbandon > 0) config.twopcAbandon = std::chrono::milliseconds(twopcAbandon);
  if (!healthUser.empty()) {
    auto u = shardproxy::proxy::parseUserSpec(healthUser, "--health-user");
    if (!u) return fail(u.error().message);
    config.healthUser = *u;
  }
  if (healthInterval > 0) config.healthInterval = std::chrono::milliseconds(healthInterval);
  if (schemaRefresh >= 0) config.schemaRefreshInterval = std::chrono::milliseconds(schemaRefresh);

  if (auto st = shardproxy::proxy::validate(config); !st) return fail(st.error().message);
  if (!shardproxy::configureLogging(config.logLevel, config.logJson)) {
    return fail("unknown log level '" + config.logLevel + "'");
  }
  if (dumpCatalog) return shardproxy::proxy::Server::dumpCatalog(config);
  shardproxy::proxy::Server server(std::move(config));
  int rc = server.run();
  spdlog::shutdown();
  std::fflush(nullptr);
  // Skip destructors of detached coroutines still parked on the stopped loops.
  std::_Exit(rc);
}
