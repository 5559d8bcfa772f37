// relayMergeSpec (merge_engine.h): the I/O around merge::Merger.
#include "shardproxy/proxy/merge_engine.h"

#include <vector>

#include "shardproxy/proxy/merge/merger.h"
#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy {

namespace {

constexpr std::size_t kFlushAt = 64 * 1024;

struct Source {
  BackendConnection* be = nullptr;
  std::uint32_t caps = 0;
  bool active = false;     // rows still to come
  std::uint64_t rows = 0;  // rows received (the first ask's count)
  protocol::ByteView row;  // the head row's payload
  protocol::ByteView raw;  // and its packet as received (empty when it came split)
  std::vector<merge::Cell> cells;
};

// The shard whose head ranks least (the lowest index among equals), and whether another head
// has the same rank. Masks instead of branches: which shard comes next is data, and a
// mispredicted branch per comparison was most of the merge's cost per row.
std::size_t leastRank(const std::uint64_t* rank, std::size_t k, bool& tie) {
  std::size_t best = 0;
  std::uint64_t least = rank[0];
  std::uint64_t tied = 0;
  for (std::size_t i = 1; i < k; ++i) {
    const std::uint64_t r = rank[i];
    const std::uint64_t less = r < least;
    const std::uint64_t take = 0 - less;  // all ones when shard i is the new least
    tied = (tied | static_cast<std::uint64_t>(r == least)) & ~less;
    best = (i & take) | (best & ~take);
    least = (r & take) | (least & ~take);
  }
  tie = tied != 0;
  return best;
}

}  // namespace

asio::awaitable<MergeResult> relayMergeSpec(std::span<BackendConnection* const> backends,
                                            Channel& client, std::uint32_t clientCaps,
                                            std::uint8_t firstSeq, std::uint16_t sessionStatus,
                                            const router::MergeSpec& spec,
                                            const MergeOptions& options) {
  MergeResult r;
  const std::size_t k = backends.size();
  // The first ask: the answer waits in the client's buffer (from outStart) until it is known to
  // be complete; askAgain when a shard that returned firstLimit rows ran out before the merge was
  // done (it may have more).
  const std::uint64_t firstLimit = options.firstLimit;
  const std::size_t outStart = client.out().size();
  bool askAgain = false;
  r.status.assign(k, 0);
  std::vector<Source> src(k);
  // Each shard's head row's rank (Merger::streamRank), when the merge has one; ended shards rank
  // last.
  std::vector<std::uint64_t> rank(k, merge::Merger::kEndRank);
  std::uint64_t columns = 0;
  std::uint32_t warnings = 0;
  std::uint16_t lastStatus = 0;
  protocol::Bytes defs;  // the first shard's column definitions, framed later
  std::vector<std::pair<std::size_t, std::size_t>> defAt;
  std::vector<merge::ColumnType> types;

  auto lost = [&](std::size_t i, MergeResult::Outcome o) {
    backends[i]->broken = true;
    src[i].active = false;
    rank[i] = merge::Merger::kEndRank;
    if (r.outcome == MergeResult::Outcome::kDone) {
      r.outcome = o;
      r.failed = i;
    }
  };
  auto shardError = [&](std::size_t i, protocol::ByteView p) {
    if (!r.error) {
      r.error = protocol::decodeErr(p);
      if (!r.error) r.error = protocol::ErrPacket{1105, "HY000", "malformed error packet"};
      r.errorFrom = i;
    }
    src[i].active = false;
    rank[i] = merge::Merger::kEndRank;
  };
  // Abandons every shard still sending: the cancellation after an error.
  auto cancelOthers = [&]() {
    for (std::size_t i = 0; i < k; ++i)
      if (src[i].active) {
        backends[i]->broken = true;
        src[i].active = false;
        rank[i] = merge::Merger::kEndRank;
      }
  };

  // 1. Every shard's header and column definitions.
  for (std::size_t i = 0; i < k; ++i) {
    Source& s = src[i];
    s.be = backends[i];
    s.caps = s.be->capabilities();
    s.active = true;
    if (options.heldBack && i > 0 && !s.be->channel().stream().isTls()) {
      s.be->channel().stream().setReadLowWater(1);  // (wakes the reactor if it is there already)
    }
    auto first = co_await s.be->channel().readPacket();
    if (!first) {
      lost(i, MergeResult::Outcome::kBackendLost);
      continue;
    }
    protocol::ByteView p = first->payload;
    if (p.empty() || p[0] == protocol::kOkHeader || p[0] == protocol::kLocalInfileHeader) {
      lost(i, MergeResult::Outcome::kBackendProtocol);
      continue;
    }
    if (p[0] == protocol::kErrHeader) {
      shardError(i, p);
      continue;
    }
    protocol::ByteReader cr(p);
    std::uint64_t n = cr.lenenc().value_or(0);
    if (n == 0 || (columns != 0 && n != columns)) {
      lost(i, MergeResult::Outcome::kBackendProtocol);
      continue;
    }
    columns = n;
    const bool keep = types.empty();
    std::uint64_t count = n + ((s.caps & protocol::cap::kDeprecateEof) ? 0 : 1);
    for (std::uint64_t c = 0; c < count; ++c) {
      auto def = co_await s.be->channel().readPacket();
      if (!def) {
        lost(i, MergeResult::Outcome::kBackendLost);
        break;
      }
      if (keep && c < n) {
        auto d = protocol::decodeColumnDefinition(def->payload);
        if (!d) {
          lost(i, MergeResult::Outcome::kBackendProtocol);
          break;
        }
        types.push_back(merge::ColumnType::of(*d));
        defAt.emplace_back(defs.size(), def->payload.size());
        defs.insert(defs.end(), def->payload.begin(), def->payload.end());
      }
    }
    if (keep && types.size() != n) types.clear();
  }
  if (r.error || r.outcome != MergeResult::Outcome::kDone) {
    cancelOthers();
    co_return r;
  }

  merge::Merger merger;
  if (auto st = merger.init(spec, types, options.binary, options.setLimit); !st) {
    cancelOthers();
    r.error = protocol::ErrPacket{st.error().mysqlErrno, st.error().sqlState, st.error().message};
    r.errorFrom = k;
    co_return r;
  }
  for (Source& s : src)
    s.cells.assign(merger.columns(), merge::Cell{});
  const bool useRank = merger.hasStreamRank();

  // 2. The client's header: the visible columns.
  std::uint8_t seq = firstSeq;
  bool clientGone = false;
  auto& out = client.out();
  {
    std::size_t start = protocol::beginPacket(out);
    protocol::ByteWriter(out).lenenc(merger.visible());
    protocol::endPacket(out, start, seq);
    for (std::size_t c = 0; c < merger.visible(); ++c) {
      protocol::appendPacket(out, protocol::ByteView(defs).subspan(defAt[c].first, defAt[c].second),
                             seq);
    }
    if (!(clientCaps & protocol::cap::kDeprecateEof)) {
      start = protocol::beginPacket(out);
      protocol::encode(protocol::EofPacket{0, static_cast<std::uint16_t>(sessionStatus)}, out);
      protocol::endPacket(out, start, seq);
    }
    r.headerSent = true;
  }

  // Takes shard i's next packet: a row into its head (true), or its end or failure (false).
  // `decode` false: the row is only skipped (the drain after LIMIT).
  auto take = [&](std::size_t i, const Packet& packet, bool decode) -> bool {
    Source& s = src[i];
    const protocol::ByteView p = packet.payload;
    if (!p.empty() && p[0] == protocol::kErrHeader) {
      shardError(i, p);
      return false;
    }
    if (protocol::isEofOrOkTerminator(p, s.caps)) {
      // In the merge (decode), a shard's end is where its next row was needed.
      if (firstLimit != 0 && decode && s.rows >= firstLimit) askAgain = true;
      std::uint16_t flags = protocol::terminatorStatus(p, s.caps).value_or(0);
      if (flags & protocol::status::kMoreResultsExist) {
        lost(i, MergeResult::Outcome::kBackendProtocol);
        return false;
      }
      if (s.caps & protocol::cap::kDeprecateEof) {
        if (auto ok = protocol::decodeOk(p, s.caps)) warnings += ok->warnings;
      } else if (p.size() >= 3) {
        warnings += static_cast<std::uint16_t>(p[1] | (p[2] << 8));
      }
      lastStatus = flags;
      r.status[i] = flags;
      ++r.succeeded;
      s.active = false;
      rank[i] = merge::Merger::kEndRank;
      return false;
    }
    ++s.rows;
    if (!decode) return true;
    if (!merger.decode(p, s.cells)) {
      lost(i, MergeResult::Outcome::kBackendProtocol);
      return false;
    }
    s.row = p;
    s.raw = packet.raw;
    if (useRank) rank[i] = merger.streamRank(s.cells.data());
    return true;
  };
  // Reads shard i's next row into its head; false when it has none (ended, failed). A row already
  // in the channel's buffer (most of them) costs no coroutine.
  auto advance = [&](std::size_t i, bool decode = true) -> asio::awaitable<bool> {
    auto pkt = co_await src[i].be->channel().readPacket();
    if (!pkt) {
      lost(i, MergeResult::Outcome::kBackendLost);
      co_return false;
    }
    co_return take(i, *pkt, decode);
  };
  // Reads and drops every shard's rows still to come (a row already in a channel's buffer costs no
  // coroutine). No co_await inside a short-circuit condition: GCC 12 miscompiles it.
  auto drainAll = [&]() -> asio::awaitable<void> {
    for (std::size_t i = 0; i < k; ++i) {
      while (src[i].active) {
        if (auto buffered = src[i].be->channel().tryReadBuffered()) {
          if (!take(i, *buffered, false)) break;
          continue;
        }
        if (!co_await advance(i, false)) break;
      }
    }
  };
  auto broken = [&] { return r.error || r.outcome != MergeResult::Outcome::kDone; };
  auto failedYet = [&] { return broken() || askAgain; };

  // 3. The first row of every shard, then the merge.
  for (std::size_t i = 0; i < k && !failedYet(); ++i)
    co_await advance(i);
  bool more = !failedYet();
  while (more) {
    std::size_t best = k;
    if (useRank) {
      bool tie = false;
      best = leastRank(rank.data(), k, tie);
      if (tie || rank[best] == merge::Merger::kEndRank) {
        // Heads of the same rank (the same first key, a NULL beside a 0, ended shards): the rows
        // decide, the lowest index first among rows that compare equal, as without ranks.
        const std::uint64_t least = rank[best];
        best = k;
        for (std::size_t i = 0; i < k; ++i) {
          if (!src[i].active || rank[i] != least) continue;
          if (best == k || merger.compareStream(src[i].cells.data(), src[best].cells.data()) < 0) {
            best = i;
          }
        }
      }
    } else {
      for (std::size_t i = 0; i < k; ++i) {
        if (!src[i].active) continue;
        if (best == k) {
          best = i;
          if (!merger.ordered()) break;  // no order: each shard's rows in turn
          continue;
        }
        if (merger.compareStream(src[i].cells.data(), src[best].cells.data()) < 0) best = i;
      }
    }
    if (best == k) break;
    if (!merger.add(src[best].cells.data(), src[best].row, out, seq, src[best].raw)) break;
    if (firstLimit != 0) {
      if (out.size() - outStart > options.holdBytes) askAgain = true;  // too much to hold
    } else if (out.size() >= kFlushAt) {
      if (!clientGone) clientGone = static_cast<bool>(co_await client.flush());
      out.clear();
    }
    if (auto buffered = src[best].be->channel().tryReadBuffered()) {
      take(best, *buffered, true);
    } else {
      co_await advance(best);
    }
    more = !failedYet();
  }
  if (askAgain && !broken() && !merger.error()) {
    // Not enough: read every shard's answer to its end (short: at most firstLimit rows each),
    // take back what was written for the client, and let the caller send the full ask.
    co_await drainAll();
    if (!broken()) {
      out.resize(outStart);
      MergeResult again;
      again.status.assign(k, 0);
      again.nextSeq = firstSeq;
      again.askAgain = true;
      co_return again;
    }
  }
  askAgain = false;  // from here on, a failure is a shard's (or the merge's)
  if (!failedYet() && !merger.error()) merger.finish(out, seq);
  if (failedYet() || merger.error()) {
    cancelOthers();
    if (!r.error && merger.error()) {
      const Error& e = *merger.error();
      r.error = protocol::ErrPacket{e.mysqlErrno, e.sqlState, e.message};
      r.errorFrom = k;
    }
    r.nextSeq = seq;
    if (!clientGone && !out.empty()) clientGone = static_cast<bool>(co_await client.flush());
    if (clientGone && r.outcome == MergeResult::Outcome::kDone) {
      r.outcome = MergeResult::Outcome::kClientGone;
    }
    co_return r;
  }
  // LIMIT reached before the shards ended: read the rest so the connections stay usable (the
  // pushed-down LIMIT keeps it short).
  co_await drainAll();
  if (failedYet()) {
    r.nextSeq = seq;
    if (!clientGone && !out.empty()) clientGone = static_cast<bool>(co_await client.flush());
    co_return r;
  }
  const std::uint16_t status = static_cast<std::uint16_t>(
      (lastStatus & ~(protocol::status::kInTrans | protocol::status::kAutocommit)) | sessionStatus);
  const std::uint16_t w = warnings > 0xffff ? 0xffff : static_cast<std::uint16_t>(warnings);
  appendResultSetEnd(out, clientCaps, w, status, seq);
  r.nextSeq = seq;
  r.finished = true;
  r.rows = merger.emitted();
  if (!clientGone) clientGone = static_cast<bool>(co_await client.flush());
  if (clientGone) r.outcome = MergeResult::Outcome::kClientGone;
  co_return r;
}

}  // namespace shardproxy::proxy
