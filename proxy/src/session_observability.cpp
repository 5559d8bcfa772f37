// A client session's part in observability (docs/observability.md): the statement's query
// digest (SHOW QUERY DIGEST) and the slow-statement log line. Same class as client_session.cpp.
#include <fmt/format.h>

#include "shardproxy/common/logging.h"
#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/protocol/wire.h"
#include "shardproxy/proxy/server.h"
#include "shardproxy/router/sql/analysis.h"
#include "shardproxy/router/sql/digest.h"

namespace shardproxy::proxy {

using protocol::Command;

void ClientSession::noteDigest(const sql::Statement* statement, std::string_view sql) {
  if (!ctx_.shared.config.queryDigests) return;
  digestHash_ = sql::fingerprint(sql, parser_.options().lex, digestText_);
  digestActive_ = true;
  if (ctx_.digests.contains(digestHash_)) return;
  const catalog::Keyspace* ks = schemaKeyspace();
  ctx_.digests.add(
      digestHash_, digestText_, ks != nullptr ? std::string_view(ks->name) : "",
      statement != nullptr ? sql::equalityColumns(*statement) : std::vector<sql::EqualityColumn>{});
}

void ClientSession::logSlow(const Packet& pkt) {
  // The statement's fingerprint, not its text: literals (customer data) stay out of the log.
  // (digestText_ may be another statement's: a prepared statement's known digest skips it.)
  std::string_view text = "(a protocol command)";
  const auto cmd = static_cast<Command>(pkt.payload[0]);
  std::string_view sqlText;
  if (cmd == Command::kQuery) {
    sqlText = protocol::asString(pkt.payload.subspan(1));
  } else if (cmd == Command::kStmtExecute && pkt.payload.size() >= 5) {
    auto it = statements_.find(protocol::readU32(pkt.payload.data() + 1));
    if (it != statements_.end()) sqlText = it->second.sql;
  }
  if (!sqlText.empty()) {
    sql::fingerprint(sqlText, parser_.options().lex, digestText_);
    text = digestText_;
  }
  // The keyspace it ran on (else the session's), and its shard when it ran on one.
  const catalog::Keyspace* ks = snapshot_ ? schemaKeyspace() : nullptr;
  const std::string_view keyspace = !execution_.keyspace.empty() ? execution_.keyspace
                                    : ks != nullptr              ? std::string_view(ks->name)
                                                                 : std::string_view();
  const std::string_view shard = execution_.shards == 1 ? execution_.shard : std::string_view();
  const double ms = static_cast<double>(execution_.ns) / 1e6;
  const std::uint64_t digest = digestActive_ ? digestHash_ : 0;
  std::string line;
  if (loggingJson()) {
    line = fmt::format("\"conn\":{},\"user\":", id_);
    appendJsonString(line, user_);
    line += ",\"keyspace\":";
    appendJsonString(line, keyspace);
    line += ",\"shard\":";
    if (shard.empty()) {
      line += "null";
    } else {
      appendJsonString(line, shard);
    }
    line += fmt::format(
        ",\"ms\":{:.3f},\"shards\":{},\"rows\":{},\"error\":{},\"digest\":\"{:016x}\",\"text\":",
        ms, execution_.shards, execution_.rows, execution_.errorCode, digest);
    appendJsonString(line, text);
  } else {
    line = fmt::format(
        "conn={} user={} keyspace={} shard={} ms={:.3f} shards={} rows={} error={} "
        "digest={:016x} {}",
        id_, user_, keyspace.empty() ? std::string_view("-") : keyspace,
        shard.empty() ? std::string_view("-") : shard, ms, execution_.shards, execution_.rows,
        execution_.errorCode, digest, text);
  }
  slowLogger()->warn("{}", line);
}

}  // namespace shardproxy::proxy
