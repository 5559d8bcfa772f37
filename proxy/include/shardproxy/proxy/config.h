// Start-up configuration: a JSON file (--config) and flags that mirror every key.
// Place in the request flow: read once in main(); the Server and its pools copy what they need.
// Unknown keys and wrong types are errors that name the key.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/common/errors.h"

namespace shardproxy::proxy {

struct PoolConfig {
  std::size_t maxConnections = 200;  // per backend, across all threads
  std::size_t minIdle = 0;           // per backend and login, kept warm once used
  std::chrono::milliseconds idleTimeout{60000};
  std::chrono::milliseconds acquireTimeout{5000};
  std::chrono::milliseconds connectTimeout{5000};
  std::chrono::milliseconds pingAfterIdle{2000};
};

struct ConfigUser {
  std::string name;
  std::string password;
  std::vector<std::string> keyspaces;  // empty = all
  // A dumped catalog lists hashes instead of passwords (hex), so a dump can bootstrap a catalog.
  std::string nativeHashHex;
  std::string sha2HashHex;
};

struct ConfigBackend {
  catalog::Endpoint address;
  catalog::BackendRole role = catalog::BackendRole::kPrimary;
};

struct Config {
  std::string listenHost = "127.0.0.1";
  std::uint16_t listenPort = 6033;
  unsigned threads = 0;  // 0: one per core
  std::string logLevel = "info";
  bool logJson = false;
  // Bootstrap topology, imported into an empty catalog (docs/catalog.md): `keyspaces` as raw
  // JSON, plus the shorthand `backends` (one unsharded keyspace named "default") and `users`.
  std::string keyspacesJson;
  std::vector<ConfigBackend> backends;
  std::vector<ConfigUser> users;
  std::optional<ConfigUser> backendUser;
  std::optional<ConfigUser> healthUser;  // health probes (default: backendUser)
  // The DBA account for everything the proxy does to backends as an operator: resharding
  // workers (copy, binlog streaming), the cutover's fence. Never an application's login.
  std::optional<ConfigUser> dbaUser;
  // The replication account a switchover gives the old primary to follow the new one
  // (docs/high-availability.md); none: the old primary is left fenced and offline.
  std::optional<ConfigUser> replicationUser;
  // How long a statement waits while its keyspace is held (a cutover) before it fails with the
  // retryable error (1213, SQLSTATE 40001).
  std::chrono::milliseconds holdTimeout{10000};
  // Bounds of the buffer of one held shard or keyspace: statements waiting, and their bytes.
  // Past either, a statement fails at once with the same retryable error.
  std::size_t bufferMaxStatements = 10000;
  std::size_t bufferMaxBytes = 64u << 20;
  // Two-phase commit recovery (docs/transactions.md): how often the pass runs, and how long a
  // transaction may stay between its first XA PREPARE and its decision before recovery rolls it
  // back (its proxy died or hangs).
  std::chrono::milliseconds twopcRecoveryInterval{5000};
  std::chrono::milliseconds twopcAbandon{10000};
  // Rows a multi-shard merge may keep in memory for the query's own sets (DISTINCT, groups
  // sorted by an aggregate); past it the query fails with 1038 (merge_buffer_rows).
  std::size_t mergeBufferRows = 100000;
  std::string catalogPath = "shardproxy.db";
  // --reset-catalog: delete the catalog file first (the configuration bootstraps a new one).
  bool resetCatalog = false;
  std::string adminListenHost = "127.0.0.1";
  std::uint16_t adminListenPort = 6032;
  bool adminEnabled = true;
  // The HTTP endpoint: /metrics, /healthz, /readyz (docs/observability.md). A port already taken
  // is logged and the proxy serves without it.
  // Statement fingerprints counted per digest (SHOW QUERY DIGEST); the digests each thread
  // keeps at most (the least used evicted past it).
  // Statements that take at least this long (command read to answer sent) are logged by the
  // "slow" logger with their fingerprint, shards, rows and error code; 0: off.
  std::chrono::milliseconds slowQuery{0};
  // Statements that end in an error, logged (info, logger "proxy", 20 lines a second a thread at
  // most) with the session's fields: off; proxy: the errors the proxy itself answers (refusals,
  // lost backends, limits); all: also the errors a server returned.
  enum class ErrorLog { kOff, kProxy, kAll };
  ErrorLog statementErrors = ErrorLog::kProxy;
  bool queryDigests = true;
  std::size_t queryDigestsMax = 2000;
  std::string httpListenHost = "127.0.0.1";
  std::uint16_t httpListenPort = 9090;
  bool httpEnabled = true;
  std::vector<ConfigUser> adminUsers;
  std::size_t maxAllowedPacket = 64 * 1024 * 1024;
  std::string serverVersion;  // empty: the first backend's own version
  std::string authPlugin = "mysql_native_password";
  std::string tlsCert;  // PEM files; empty: a self-signed certificate is generated at start
  std::string tlsKey;
  bool backendTls = false;
  PoolConfig pool;
  std::chrono::milliseconds shutdownGrace{10000};
  std::size_t maxClientConnections = 10000;
  // Routing (docs/routing.md): after a write, the session's reads of that shard go to the
  // primary for this long (0 = off; sessions change it with SET shardproxy_read_your_writes_ms).
  std::uint32_t readYourWritesMs = 0;
  // Causal reads (SET shardproxy_causal_reads = ON): how long a replica may take to reach the
  // session's last write (MASTER_GTID_WAIT) before the read goes to the primary.
  std::uint32_t causalReadTimeoutMs = 1000;
  // The health probe of every backend (replica lag, reachability).
  std::chrono::milliseconds healthInterval{1000};
  // Damping: failed probes in a row before a backend is down (and, for a primary with
  // AUTO FAILOVER ON, failed over), successes in a row before it is up again.
  int healthFall = 3;
  int healthRise = 2;
  // Schema tracking (docs/routing.md): every sharded keyspace's columns are read again this often
  // (besides at start and after DDL through the proxy); 0 = never on a timer. Needs dbaUser.
  std::chrono::milliseconds schemaRefreshInterval{60000};
};

// Applies a JSON document on top of `config`.
Status applyJsonConfig(const std::string& json, Config& config);
// "host:port" → (host, port); the error names `what`.
Result<std::pair<std::string, std::uint16_t>> parseHostPort(const std::string& text,
                                                            const std::string& what);
// "off" | "proxy" | "all" (log_statement_errors); nullopt for anything else.
std::optional<Config::ErrorLog> parseErrorLog(std::string_view text);
// "name:password" → user.
Result<ConfigUser> parseUserSpec(const std::string& text, const std::string& what);
// The bootstrap document for Catalog::importJson built from the config's topology keys.
std::string bootstrapJson(const Config& config);
Status validate(const Config& config);

}  // namespace shardproxy::proxy
