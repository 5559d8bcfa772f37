// A client session's joins across shards (docs/routing.md, "Joins across shards"): a nested-loop
// join of two sharded tables that are not co-located. The outer side's rows are read first (its
// select-list columns and the join key; bounded by merge_buffer_rows), then the inner side per
// batch of distinct keys (`key IN (...)`, routed like any read: by the inner table's shard key when
// that is its join column), and the joined rows are written as one result set whose column
// definitions are the shards' own. Same class as client_session.cpp.
#include <fmt/format.h>

#include <unordered_map>
#include <unordered_set>

#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/merge/cells.h"
#include "shardproxy/proxy/merge_relay.h"
#include "shardproxy/proxy/server.h"
#include "shardproxy/router/sql/analysis.h"

namespace shardproxy::proxy {

namespace {

constexpr std::size_t kKeysPerBatch = 500;
constexpr std::size_t kRowsPerChunk = 1000;  // outer rows per chunk when streaming
constexpr std::size_t kFlushBytes = 64 * 1024;

bool integerType(std::uint8_t type) {
  return merge::ColumnType{type}.isInteger();
}

using Capture = BackendConnection::CommandOutput::Capture;

Error overflowError(std::size_t limit, std::string_view side) {
  return Error::fromServer(
      1038, "HY001",
      fmt::format("A join across shards reads more than merge_buffer_rows ({}) rows of its {} "
                  "side, which the proxy holds while joining: narrow the query, or raise "
                  "merge_buffer_rows",
                  limit, side));
}

Error keyTypeError(std::uint8_t type) {
  return Error::make(ErrorCode::kNotSupportedYet,
                     fmt::format("A join across shards on a column of type {} (the proxy compares "
                                 "join keys as integers only)",
                                 type));
}

}  // namespace

asio::awaitable<bool> ClientSession::onJoin(const router::Plan::JoinPlan& plan, std::uint8_t seq) {
  const router::Plan::JoinPlan join = plan;  // planning the sides overwrites the plan
  const std::size_t limit = ctx_.shared.config.mergeBufferRows;
  Capture outer, inner;
  outer.limit = limit;
  inner.limit = limit;
  bool headerSent = false;
  Status done;
  if (!txOpen_ && !inTransaction() && state_.autocommit) {
    // Outside a transaction the outer side streams on connections of its own, a chunk at a time.
    done = co_await streamJoin(join, outer, inner, headerSent, seq);
  } else {
    // Inside one, the transaction's connections must read it (its own writes): held, bounded.
    done = co_await readRows(join.outerSql, outer, "A join across shards");
    if (done && outer.overflow) done = overflowError(limit, "outer");
    if (done) done = co_await joinChunk(join, outer, inner, headerSent, seq);
  }
  if (done && !headerSent) {
    outer.values.clear();
    done = co_await joinChunk(join, outer, inner, headerSent, seq);
  }
  if (!done) {
    // An ERR may follow rows already sent, as a server's does after a failure mid-result.
    co_return co_await sendError(done.error(), seq);
  }
  appendResultSetEnd(client_.out(), caps_, 0, static_cast<std::uint16_t>(statusFlags()), seq);
  co_return !(co_await client_.flush());
}

asio::awaitable<Status> ClientSession::streamJoin(const router::Plan::JoinPlan& join,
                                                  Capture& outer, Capture& inner, bool& headerSent,
                                                  std::uint8_t& seq) {
  auto targets = co_await planRead(join.outerSql, "A join across shards");
  if (!targets) co_return targets.takeError();
  if (targets->sessionConnection) {
    co_return Error::make(ErrorCode::kInternal, "join: the outer side reads no table");
  }
  const router::Role role = targets->role;  // planRead: the primary under causal reads
  for (const auto& [shard, sql] : targets->reads) {
    auto backend = chooseFor(*shard, role);
    if (!backend) co_return backend.takeError();
    auto acquired = co_await ctx_.pool.acquire((*backend)->address, backendLogin());
    if (!acquired) co_return acquired.takeError();
    // A connection of its own (not the session's: the inner side uses those meanwhile), with the
    // session's state; back to the pool at the end, or closed if the stream broke off.
    SessionConn own;
    own.conn = std::move(*acquired);
    own.address = (*backend)->address;
    own.keyspace = shard->keyspace;
    own.shard = shard->name;
    own.primary = (*backend)->role == catalog::BackendRole::kPrimary;
    Status st = co_await syncState(own);
    bool sent = false;
    if (st) sent = co_await sendQuery(*own.conn, sql);
    if (st && !sent) st = Error::make(ErrorCode::kBackendLost, "Lost a backend while sending");
    BackendConnection::RowStream stream;
    while (st && !stream.done) {
      outer.values.clear();
      st = co_await own.conn->streamRows(stream, outer, kRowsPerChunk);
      if (st && !outer.values.empty()) st = co_await joinChunk(join, outer, inner, headerSent, seq);
      // (No co_await inside a short-circuit condition: GCC 12 miscompiles it.)
      if (st && client_.out().size() >= kFlushBytes) {
        const bool gone = static_cast<bool>(co_await client_.flush());
        if (gone) st = Error::make(ErrorCode::kInternal, "the client went away");
      }
    }
    if (!st || !stream.done) own.conn->broken = true;  // rows left unread
    ctx_.pool.release(std::move(own.conn));
    if (!st) {
      Error e = st.takeError();
      e.message += fmt::format(" (shard {}/{})", shard->keyspace, shard->name);
      co_return e;
    }
  }
  co_return Status{};
}

asio::awaitable<Status> ClientSession::joinChunk(const router::Plan::JoinPlan& join, Capture& outer,
                                                 Capture& inner, bool& headerSent,
                                                 std::uint8_t& seq) {
  // The select-list columns, then the key (and its weight for string keys).
  const std::size_t extra = join.weights ? 2u : 1u;
  const std::size_t ow = join.outerWidth + extra;
  const std::size_t okey = join.outerWidth, omatch = ow - 1;
  if (outer.columns.size() != ow) {
    co_return Error::make(ErrorCode::kInternal,
                          fmt::format("join: the outer side answered {} columns, {} expected",
                                      outer.columns.size(), ow));
  }
  if (!join.weights && !integerType(outer.columns[okey].first)) {
    co_return keyTypeError(outer.columns[okey].first);
  }
  const std::size_t outerRows = outer.values.size() / ow;
  std::vector<std::string_view> keys;  // distinct by what they are matched by
  std::unordered_set<std::string_view> seen;
  for (std::size_t r = 0; r < outerRows; ++r) {
    const auto& k = outer.values[r * ow + okey];
    const auto& m = outer.values[r * ow + omatch];
    if (k && m && seen.insert(*m).second) keys.push_back(*k);
  }
  // The inner rows of these keys, batch by batch (once with NULL when there is no key and the
  // header still needs the inner columns).
  inner.values.clear();
  const std::size_t iw = join.innerWidth + extra;
  const std::size_t ikey = join.innerWidth, imatch = iw - 1;
  const sql::LexOptions& lex = parser_.options().lex;
  for (std::size_t at = 0; at < keys.size() || (at == 0 && !headerSent); at += kKeysPerBatch) {
    std::string sql = join.innerPrefix;
    if (keys.empty()) sql += "NULL";
    for (std::size_t i = at; i < keys.size() && i < at + kKeysPerBatch; ++i) {
      if (i > at) sql += ", ";
      if (join.weights) {
        sql::appendStringLiteral(keys[i], lex, sql);  // as the session's statements quote
      } else {
        sql += keys[i];
      }
    }
    sql += join.innerSuffix;
    Status read = co_await readRows(sql, inner, "A join across shards");
    if (!read) co_return read;
    if (inner.overflow) co_return overflowError(inner.limit, "inner");
    if (keys.empty()) break;
  }
  if (inner.columns.size() != iw) {
    co_return Error::make(ErrorCode::kInternal,
                          fmt::format("join: the inner side answered {} columns, {} expected",
                                      inner.columns.size(), iw));
  }
  if (!join.weights && !integerType(inner.columns[ikey].first)) {
    co_return keyTypeError(inner.columns[ikey].first);
  }
  std::unordered_multimap<std::string_view, std::size_t> matches;
  const std::size_t innerRows = inner.values.size() / iw;
  matches.reserve(innerRows);
  for (std::size_t r = 0; r < innerRows; ++r) {
    const auto& m = inner.values[r * iw + imatch];
    if (m && inner.values[r * iw + ikey]) matches.emplace(*m, r);
  }
  auto& out = client_.out();
  if (!headerSent) {
    // The shards' own column definitions.
    headerSent = true;
    std::size_t start = protocol::beginPacket(out);
    protocol::ByteWriter(out).lenenc(join.output.size());
    protocol::endPacket(out, start, seq);
    for (const auto& [innerSide, idx] : join.output) {
      const std::string& def = innerSide ? inner.definitions[idx] : outer.definitions[idx];
      start = protocol::beginPacket(out);
      protocol::ByteWriter(out).str(def);
      protocol::endPacket(out, start, seq);
    }
    if ((caps_ & protocol::cap::kDeprecateEof) == 0) {
      start = protocol::beginPacket(out);
      protocol::encode(protocol::EofPacket{0, static_cast<std::uint16_t>(statusFlags())}, out);
      protocol::endPacket(out, start, seq);
    }
  }
  auto writeRow = [&](std::size_t o, std::optional<std::size_t> i) {
    std::size_t rs = protocol::beginPacket(out);
    protocol::ByteWriter w(out);
    for (const auto& [innerSide, idx] : join.output) {
      const std::optional<std::string>* v = nullptr;
      if (!innerSide) {
        v = &outer.values[o * ow + idx];
      } else if (i) {
        v = &inner.values[*i * iw + idx];
      }
      if (v == nullptr || !*v) {
        w.u8(0xfb);
      } else {
        w.lenencStr(**v);
      }
    }
    protocol::endPacket(out, rs, seq);
  };
  for (std::size_t o = 0; o < outerRows; ++o) {
    const auto& k = outer.values[o * ow + omatch];
    bool matched = false;
    if (k && outer.values[o * ow + okey]) {
      auto [first, last] = matches.equal_range(*k);
      for (auto it = first; it != last; ++it) {
        writeRow(o, it->second);
        matched = true;
      }
    }
    if (!matched && join.left) writeRow(o, std::nullopt);
    if (out.size() >= kFlushBytes) {
      const bool gone = static_cast<bool>(co_await client_.flush());
      if (gone) co_return Error::make(ErrorCode::kInternal, "the client went away");
    }
  }
  co_return Status{};
}

}  // namespace shardproxy::proxy
