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

std::vector<sql::Token>* ClientSession::digestTokens() {
  return ctx_.shared.config.queryDigests ? &digestTokens_ : nullptr;
}

void ClientSession::noteDigest(const sql::Statement* statement, std::string_view sql,
                               std::string_view text) {
  if (!ctx_.shared.config.queryDigests) return;
  // The parser's tokens when it read the statement whole; its text lexed again otherwise (a
  // syntax error, a statement of more than Parser::kMaxRecordedTokens tokens).
  digestHash_ = statement != nullptr && sql::tokensComplete(digestTokens_)
                    ? sql::fingerprint(digestTokens_, sql, digestText_)
                    : sql::fingerprint(text, parser_.options().lex, digestText_);
  // Not to be read for another statement; a long statement's capacity is not kept.
  if (digestTokens_.capacity() > 4096) {
    std::vector<sql::Token>().swap(digestTokens_);
  } else {
    digestTokens_.clear();
  }
  digestActive_ = true;
  if (ctx_.digests.contains(digestHash_)) return;
  const catalog::Keyspace* ks = schemaKeyspace();
  ctx_.digests.add(
      digestHash_, digestText_, ks != nullptr ? std::string_view(ks->name) : "",
      statement != nullptr ? sql::equalityColumns(*statement) : std::vector<sql::EqualityColumn>{});
}

LogFields ClientSession::logFields(std::uint16_t error) const {
  LogFields f;
  f.conn = id_;
  f.user = user_;
  f.host = peerHost_;
  const catalog::Keyspace* ks = snapshot_ ? schemaKeyspace() : nullptr;
  f.keyspace = !execution_.keyspace.empty() ? execution_.keyspace
               : ks != nullptr              ? std::string_view(ks->name)
                                            : std::string_view();
  if (execution_.shards == 1) f.shard = execution_.shard;
  f.error = error;
  return f;
}

void ClientSession::logStatementError(std::uint16_t code, std::string_view message,
                                      bool fromServer) {
  const auto mode = ctx_.shared.config.statementErrors;
  if (mode == Config::ErrorLog::kOff || (fromServer && mode != Config::ErrorLog::kAll)) return;
  const auto nowMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
  if (!ctx_.errorLog.allow(nowMs)) return;
  auto& log = *moduleLogger("proxy");
  if (auto dropped = ctx_.errorLog.takeSuppressed(); dropped != 0) {
    log.info("{} statement-error lines dropped on this thread (at most 20 a second)", dropped);
  }
  const LogFields fields = logFields(code);
  // A server's error is named by the statement's digest: its message may quote the data.
  if (fromServer) {
    logWith(log, spdlog::level::info, fields, "statement failed on the server (digest {:016x})",
            digestActive_ ? digestHash_ : 0);
  } else {
    logWith(log, spdlog::level::info, fields, "statement failed: {}", message);
  }
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
  const LogFields fields = logFields();
  const std::string_view keyspace = fields.keyspace;
  const std::string_view shard = fields.shard;
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
