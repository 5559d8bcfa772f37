#include "shardproxy/common/errors.h"

#include <fmt/format.h>

#include <array>

namespace shardproxy {
namespace {

constexpr std::array<ErrorInfo, static_cast<std::size_t>(ErrorCode::kCount)> kRegistry{{
    {ErrorCode::kInternal, "internal", 1105, "HY000", "An invariant broke inside the proxy."},
    {ErrorCode::kAccessDenied, "access_denied", 1045, "28000",
     "Unknown user or wrong password (the message never says which)."},
    {ErrorCode::kUnknownCommand, "unknown_command", 1047, "08S01",
     "The client sent a command byte the proxy does not implement."},
    {ErrorCode::kMalformedPacket, "malformed_packet", 1835, "HY000",
     "A packet was truncated or its fields did not parse."},
    {ErrorCode::kPacketsOutOfOrder, "packets_out_of_order", 1156, "08S01",
     "A packet arrived with an unexpected sequence id; the connection is closed."},
    {ErrorCode::kPacketTooLarge, "packet_too_large", 1153, "08S01",
     "A packet exceeded max_allowed_packet; the connection is closed, as MySQL does."},
    {ErrorCode::kHandshakeFailed, "handshake_failed", 1043, "08S01",
     "The client's handshake response was malformed."},
    // Server-range codes: libmariadb reads an error packet carrying a client-side code (2003,
    // 2013) as a malformed packet (2027), so the client would never see the reason.
    {ErrorCode::kBackendUnreachable, "backend_unreachable", 1429, "HY000",
     "The proxy could not open a connection to the named backend "
     "(ER_CONNECT_TO_FOREIGN_DATA_SOURCE)."},
    {ErrorCode::kBackendLost, "backend_lost", 1158, "08S01",
     "The named backend closed the connection or failed during a statement (ER_NET_READ_ERROR); "
     "the statement may or may not have run."},
    {ErrorCode::kBackendLoginRefused, "backend_login_refused", 1045, "28000",
     "The named backend refused the proxy's login (its own errno is kept when it sent one)."},
    {ErrorCode::kBackendProtocol, "backend_protocol", 1156, "08S01",
     "The named backend sent a packet the proxy could not parse."},
    {ErrorCode::kPoolExhausted, "pool_exhausted", 1040, "08004",
     "No backend connection became free within the pool's acquire timeout."},
    {ErrorCode::kUnknownStatement, "unknown_statement", 1243, "HY000",
     "A prepared-statement id the session does not know."},
    {ErrorCode::kTooManyConnections, "too_many_connections", 1040, "08004",
     "The proxy's max_client_connections is reached."},
    {ErrorCode::kShuttingDown, "shutting_down", 1053, "08S01",
     "The proxy is shutting down and refuses new statements."},
    {ErrorCode::kNotSupportedYet, "not_supported_yet", 1235, "42000",
     "The statement or command is valid MySQL the proxy does not support yet."},
    {ErrorCode::kConfigInvalid, "config_invalid", 1105, "HY000",
     "The configuration file or a flag is invalid (message names the key)."},
    {ErrorCode::kAuthPluginUnsupported, "auth_plugin_unsupported", 1251, "08004",
     "The peer asked for an authentication plugin the proxy does not implement."},
    {ErrorCode::kSslRequired, "ssl_required", 3159, "HY000",
     "The operation needs a TLS connection (e.g. caching_sha2 full authentication)."},
    {ErrorCode::kCatalogInvariant, "catalog_invariant", 3100, "HY000",
     "An admin change would break a catalog rule (the message names it); nothing changed."},
    {ErrorCode::kCatalogNotFound, "catalog_not_found", 1146, "42S02",
     "An admin statement names a keyspace, shard, backend, table rule or user that does not "
     "exist."},
    {ErrorCode::kCatalogExists, "catalog_exists", 1050, "42S01",
     "An admin statement creates something whose name is already taken."},
    {ErrorCode::kCatalogIo, "catalog_io", 1030, "HY000",
     "The catalog file could not be read or written (SQLite's message is included)."},
    {ErrorCode::kParseError, "parse_error", 1064, "42000",
     "A statement did not parse; the message shows where."},
    {ErrorCode::kNoRoute, "no_route", 1105, "HY000",
     "No online backend can serve the statement (a gap in a keyspace, or no online primary)."},
    {ErrorCode::kNoTableRule, "no_table_rule", 1105, "HY000",
     "A statement on a sharded keyspace names a table without a table rule: the proxy cannot "
     "tell where its rows live."},
    {ErrorCode::kShardKeyRequired, "shard_key_required", 1105, "HY000",
     "An INSERT into a sharded table gives no usable shard key value (missing, NULL, or not "
     "hashable under the table's hash function)."},
    {ErrorCode::kShardKeyChange, "shard_key_change", 1105, "HY000",
     "An UPDATE (or ON DUPLICATE KEY UPDATE) would change a row's shard key, moving it to "
     "another shard."},
    {ErrorCode::kCrossShardTransaction, "cross_shard_transaction", 1105, "HY000",
     "A transaction would write to a second shard while its transaction mode is 'single' "
     "(keyspace setting transaction_mode, or SET shardproxy_transaction_mode). The transaction "
     "stays open on the first shard."},
    {ErrorCode::kKeyspaceHeld, "keyspace_held", 1213, "40001",
     "The statement waited longer than hold_timeout_ms while its keyspace was held (a resharding "
     "cutover) and was not run. Retryable: SQLSTATE 40001 is what drivers and ORMs retry (as "
     "after a deadlock); no transaction of the session was open on that keyspace."},
    {ErrorCode::kMigration, "migration", 1105, "HY000",
     "A resharding request cannot be carried out in the migration's state, or a worker failed "
     "(the message says which and why)."},
    {ErrorCode::kScatterWriteDenied, "scatter_write_denied", 1290, "HY000",
     "An UPDATE or DELETE would run on several shards of a keyspace whose scatter_writes setting "
     "is deny (the message names the keyspace and how to narrow the statement or lift the "
     "setting). Nothing was run."},
    {ErrorCode::kPartialCommit, "partial_commit", 1180, "HY000",
     "COMMIT of a transaction that wrote to several shards in mode 'multi' failed on a shard after "
     "others had committed: the message names the shards that committed, the one that failed and "
     "those rolled back (use 'twopc' for atomic commit)."},
    {ErrorCode::kTransactionRolledBack, "transaction_rolled_back", 1402, "XA100",
     "A multi-shard transaction in mode 'twopc' could not be prepared on every shard (or its "
     "commit decision could not be recorded) and was rolled back on all of them. Nothing of it "
     "was committed; it can be retried."},
}};

}  // namespace

const ErrorInfo& errorInfo(ErrorCode code) {
  return kRegistry.at(static_cast<std::size_t>(code));
}

Error Error::make(ErrorCode code, std::string message) {
  const ErrorInfo& info = errorInfo(code);
  return Error{code, info.mysqlErrno, std::string(info.sqlState), std::move(message)};
}

Error Error::fromServer(std::uint16_t mysqlErrno, std::string_view sqlState, std::string message) {
  return Error{ErrorCode::kBackendLoginRefused, mysqlErrno, std::string(sqlState),
               std::move(message)};
}

std::string errorReferenceMarkdown() {
  std::string out =
      "# Error reference\n\nGenerated by `shardproxy --error-reference` from "
      "`common/src/errors.cpp`.\n\n| name | errno | SQLSTATE | meaning |\n| --- | --- | --- | --- "
      "|\n";
  for (const auto& e : kRegistry) {
    out += fmt::format("| `{}` | {} | {} | {} |\n", e.name, e.mysqlErrno, e.sqlState, e.summary);
  }
  return out;
}

}  // namespace shardproxy
