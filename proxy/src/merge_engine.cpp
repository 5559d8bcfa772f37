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
  std::uint16_t level = 0;  // WITH ROLLUP: the head row's (Merger::rollupLevel)
};

// The shard whose head ranks least (the lowest index among equals), and whether another head
// has the same rank. Masks instead of branches: which shard comes next is data, and a
// mispredicted branch per comparison was most of the merge's cost per row.
std::size_t leastRank(const std::uint64_t* rank, std::size_t k, bool& tie) {
  if (k == 4) {
    // Two pairs, then their winners (strict comparisons keep the lower index among equals).
    const std::uint64_t r0 = rank[0], r1 = rank[1], r2 = rank[2], r3 = rank[3];
    const bool second = r1 < r0;
    const bool fourth = r3 < r2;
    const std::uint64_t low = second ? r1 : r0;
    const std::uint64_t high = fourth ? r3 : r2;
    const bool upper = high < low;
    const std::uint64_t least = upper ? high : low;
    tie = static_cast<int>(r0 == least) + static_cast<int>(r1 == least) +
              static_cast<int>(r2 == least) + static_cast<int>(r3 == least) >
          1;
    return upper ? 2 + static_cast<std::size_t>(fourth) : static_cast<std::size_t>(second);
  }
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

// The merge's state between awaits. The loop over buffered rows (step()) is an ordinary member
// function rather than coroutine code: a coroutine's locals all live in its frame, and the loop
// over them cost ~250 instructions per merged row where this one takes about half that.
class MergeRun {
 public:
  MergeRun(std::span<BackendConnection* const> backends, const MergeOptions& options)
      : k(backends.size()),
        firstLimit(options.firstLimit),
        src(k),
        rank(k, merge::Merger::kEndRank) {
    r.status.assign(k, 0);
    for (std::size_t i = 0; i < k; ++i)
      src[i].be = backends[i];
  }

  // Shard i's connection is unusable (lost, or it broke the protocol).
  void lost(std::size_t i, MergeResult::Outcome o) {
    src[i].be->broken = true;
    end(i);
    if (r.outcome == MergeResult::Outcome::kDone) {
      r.outcome = o;
      r.failed = i;
    }
  }
  void shardError(std::size_t i, protocol::ByteView p) {
    if (!r.error) {
      r.error = protocol::decodeErr(p);
      if (!r.error) r.error = protocol::ErrPacket{1105, "HY000", "malformed error packet"};
      r.errorFrom = i;
    }
    end(i);
  }
  // Abandons every shard still sending: the cancellation after an error.
  void cancelOthers() {
    for (std::size_t i = 0; i < k; ++i)
      if (src[i].active) {
        src[i].be->broken = true;
        end(i);
      }
  }
  bool broken() const { return r.error || r.outcome != MergeResult::Outcome::kDone; }
  bool failedYet() const { return broken() || askAgain; }

  // Takes shard i's next packet: a row into its head (true), or its end or failure (false).
  // `decode` false: the row is only skipped (the drain after LIMIT).
  bool take(std::size_t i, const Packet& packet, bool decode) {
    Source& s = src[i];
    const protocol::ByteView p = packet.payload;
    if (p.empty() || p[0] >= protocol::kEofHeader) {
      // (A text row may begin with 0xfb, NULL, or 0xfc-0xfe, a long first value.)
      if (!p.empty() && p[0] == protocol::kErrHeader) {
        shardError(i, p);
        return false;
      }
      if (protocol::isEofOrOkTerminator(p, s.caps)) return ended(i, p, decode);
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
    if (rollup) s.level = merger.rollupLevel(i, s.cells.data());
    return true;
  }

  // What the merge needs from the network before it can go on.
  struct Need {
    bool flush = false;    // the client's buffer is full enough to send
    std::size_t read = 0;  // < k: this shard's next packet is not buffered yet
    bool stop = false;     // the merge is over (done, LIMIT, failure)
  };
  // Merges while every head row is at hand: picks the least head, hands it to the merger, takes
  // that shard's next row from its buffer, and so on.
  Need step(protocol::Bytes& out, std::uint8_t& seq) {
    Need need;
    need.read = k;
    const std::size_t n = k;
    std::uint64_t* const ranks = rank.data();
    Source* const heads = src.data();
    for (;;) {
      std::size_t best = n;
      if (useRank) {
        bool tie = false;
        best = leastRank(ranks, n, tie);
        if (tie || ranks[best] == merge::Merger::kEndRank) best = leastRow(ranks[best]);
      } else {
        best = leastRow();
      }
      if (best == n) {
        need.stop = true;
        return need;
      }
      Source& s = heads[best];
      if (rollup) merger.setRowLevel(s.level);
      // (As add(): false once the LIMIT is reached, so no row past it is read.)
      const bool goOn = merger.addRaw(s.raw, out, seq)
                            ? !merger.done()
                            : merger.add(s.cells.data(), s.row, out, seq, s.raw);
      if (!goOn) {
        need.stop = true;
        return need;
      }
      if (firstLimit != 0) {
        if (out.size() - outStart > holdBytes) askAgain = true;  // too much to hold
      } else if (out.size() >= kFlushAt) {
        need.flush = true;
      }
      if (auto buffered = s.be->channel().tryReadBuffered()) {
        take(best, *buffered, true);
      } else {
        need.read = best;
        return need;
      }
      if (failedYet()) {
        need.stop = true;
        return need;
      }
      if (need.flush) return need;
    }
  }

  const std::size_t k;
  const std::uint64_t firstLimit;
  std::size_t outStart = 0;
  std::size_t holdBytes = 0;
  MergeResult r;
  std::vector<Source> src;
  // Each shard's head row's rank (Merger::streamRank), when the merge has one; ended shards rank
  // last.
  std::vector<std::uint64_t> rank;
  merge::Merger merger;
  bool useRank = false;
  bool rollup = false;
  bool askAgain = false;  // the first ask was not enough (or too much to hold)
  std::uint32_t warnings = 0;
  std::uint16_t lastStatus = 0;

 private:
  void end(std::size_t i) {
    src[i].active = false;
    rank[i] = merge::Merger::kEndRank;
  }
  // A shard's EOF / OK terminator.
  bool ended(std::size_t i, protocol::ByteView p, bool decode) {
    Source& s = src[i];
    // In the merge (decode), a shard's end is where its next row was needed.
    if (firstLimit != 0 && decode && s.rows >= firstLimit) askAgain = true;
    const auto t = protocol::decodeTerminator(p, s.caps).value_or(protocol::Terminator{});
    const std::uint16_t flags = t.statusFlags;
    if (flags & protocol::status::kMoreResultsExist) {
      lost(i, MergeResult::Outcome::kBackendProtocol);
      return false;
    }
    warnings += t.warnings;
    lastStatus = flags;
    r.status[i] = flags;
    ++r.succeeded;
    end(i);
    return false;
  }
  // The active shard whose head row sorts first (the lowest index among rows that compare
  // equal), among those of rank `least` when the ranks tie; k when none is left. Without an
  // order, each shard's rows in turn.
  std::size_t leastRow(std::uint64_t least) {
    std::size_t best = k;
    for (std::size_t i = 0; i < k; ++i) {
      if (!src[i].active || rank[i] != least) continue;
      if (best == k || less(i, best)) best = i;
    }
    return best;
  }
  std::size_t leastRow() {
    std::size_t best = k;
    for (std::size_t i = 0; i < k; ++i) {
      if (!src[i].active) continue;
      if (best == k) {
        best = i;
        if (!merger.ordered()) break;  // no order: each shard's rows in turn
        continue;
      }
      if (less(i, best)) best = i;
    }
    return best;
  }
  // Shard a's head row sorts before shard b's.
  bool less(std::size_t a, std::size_t b) {
    const Source& x = src[a];
    const Source& y = src[b];
    return (rollup ? merger.compareRollup(x.cells.data(), x.level, y.cells.data(), y.level)
                   : merger.compareStream(x.cells.data(), y.cells.data())) < 0;
  }
};

}  // namespace

asio::awaitable<MergeResult> relayMergeSpec(std::span<BackendConnection* const> backends,
                                            Channel& client, std::uint32_t clientCaps,
                                            std::uint8_t firstSeq, std::uint16_t sessionStatus,
                                            const router::MergeSpec& spec,
                                            const MergeOptions& options) {
  MergeRun m(backends, options);
  MergeResult& r = m.r;
  const std::size_t k = m.k;
  // The first ask: the answer waits in the client's buffer (from outStart) until it is known to
  // be complete; askAgain when a shard that returned firstLimit rows ran out before the merge was
  // done (it may have more).
  m.outStart = client.out().size();
  m.holdBytes = options.holdBytes;
  std::vector<Source>& src = m.src;
  std::uint64_t columns = 0;
  protocol::Bytes defs;  // the first shard's column definitions, framed later
  std::vector<std::pair<std::size_t, std::size_t>> defAt;
  std::vector<merge::ColumnType> types;

  // 1. Every shard's header and column definitions.
  for (std::size_t i = 0; i < k; ++i) {
    Source& s = src[i];
    s.caps = s.be->capabilities();
    s.active = true;
    if (options.heldBack && i > 0 && !s.be->channel().stream().isTls()) {
      s.be->channel().stream().setReadLowWater(1);  // (wakes the reactor if it is there already)
    }
    auto first = co_await s.be->channel().readPacket();
    if (!first) {
      m.lost(i, MergeResult::Outcome::kBackendLost);
      continue;
    }
    protocol::ByteView p = first->payload;
    if (p.empty() || p[0] == protocol::kOkHeader || p[0] == protocol::kLocalInfileHeader) {
      m.lost(i, MergeResult::Outcome::kBackendProtocol);
      continue;
    }
    if (p[0] == protocol::kErrHeader) {
      m.shardError(i, p);
      continue;
    }
    protocol::ByteReader cr(p);
    std::uint64_t n = cr.lenenc().value_or(0);
    if (n == 0 || (columns != 0 && n != columns)) {
      m.lost(i, MergeResult::Outcome::kBackendProtocol);
      continue;
    }
    columns = n;
    const bool keep = types.empty();
    std::uint64_t count = n + ((s.caps & protocol::cap::kDeprecateEof) ? 0 : 1);
    for (std::uint64_t c = 0; c < count; ++c) {
      auto def = co_await s.be->channel().readPacket();
      if (!def) {
        m.lost(i, MergeResult::Outcome::kBackendLost);
        break;
      }
      if (keep && c < n) {
        auto d = protocol::decodeColumnDefinition(
            def->payload, (s.caps & protocol::cap::kMariadbExtendedMetadata) != 0);
        if (!d) {
          m.lost(i, MergeResult::Outcome::kBackendProtocol);
          break;
        }
        types.push_back(merge::ColumnType::of(*d));
        defAt.emplace_back(defs.size(), def->payload.size());
        defs.insert(defs.end(), def->payload.begin(), def->payload.end());
      }
    }
    if (keep && types.size() != n) types.clear();
  }
  if (m.broken()) {
    m.cancelOthers();
    co_return r;
  }

  merge::Merger& merger = m.merger;
  if (auto st = merger.init(spec, types, options.binary, options.setLimit); !st) {
    m.cancelOthers();
    r.error = protocol::ErrPacket{st.error().mysqlErrno, st.error().sqlState, st.error().message};
    r.errorFrom = k;
    co_return r;
  }
  for (Source& s : src)
    s.cells.assign(merger.columns(), merge::Cell{});
  m.useRank = merger.hasStreamRank();
  m.rollup = merger.rollup();

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

  // Reads shard i's next row into its head; false when it has none (ended, failed).
  auto advance = [&](std::size_t i, bool decode = true) -> asio::awaitable<bool> {
    auto pkt = co_await src[i].be->channel().readPacket();
    if (!pkt) {
      m.lost(i, MergeResult::Outcome::kBackendLost);
      co_return false;
    }
    co_return m.take(i, *pkt, decode);
  };
  // Reads and drops every shard's rows still to come (a row already in a channel's buffer costs no
  // coroutine). No co_await inside a short-circuit condition: GCC 12 miscompiles it.
  auto drainAll = [&]() -> asio::awaitable<void> {
    for (std::size_t i = 0; i < k; ++i) {
      while (src[i].active) {
        if (auto buffered = src[i].be->channel().tryReadBuffered()) {
          if (!m.take(i, *buffered, false)) break;
          continue;
        }
        if (!co_await advance(i, false)) break;
      }
    }
  };

  // 3. The first row of every shard, then the merge: step() merges while the rows are buffered
  // and returns for the socket reads and the client's flushes.
  for (std::size_t i = 0; i < k && !m.failedYet(); ++i)
    co_await advance(i);
  bool more = !m.failedYet();
  while (more) {
    const MergeRun::Need need = m.step(out, seq);
    if (need.flush) {
      if (!clientGone) clientGone = static_cast<bool>(co_await client.flush());
      out.clear();
    }
    if (need.stop) break;
    if (need.read < k) co_await advance(need.read);
    more = !m.failedYet();
  }
  if (m.askAgain && !m.broken() && !merger.error()) {
    // Not enough: read every shard's answer to its end (short: at most firstLimit rows each),
    // take back what was written for the client, and let the caller send the full ask.
    co_await drainAll();
    if (!m.broken()) {
      out.resize(m.outStart);
      MergeResult again;
      again.status.assign(k, 0);
      again.nextSeq = firstSeq;
      again.askAgain = true;
      co_return again;
    }
  }
  m.askAgain = false;  // from here on, a failure is a shard's (or the merge's)
  if (!m.failedYet() && !merger.error()) merger.finish(out, seq);
  if (m.failedYet() || merger.error()) {
    m.cancelOthers();
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
  if (m.failedYet()) {
    r.nextSeq = seq;
    if (!clientGone && !out.empty()) clientGone = static_cast<bool>(co_await client.flush());
    co_return r;
  }
  const std::uint16_t status = static_cast<std::uint16_t>(
      (m.lastStatus & ~(protocol::status::kInTrans | protocol::status::kAutocommit)) |
      sessionStatus);
  m.warnings += static_cast<std::uint32_t>(merger.cutRows().size());
  r.cutRows = merger.cutRows();
  const std::uint16_t w = m.warnings > 0xffff ? 0xffff : static_cast<std::uint16_t>(m.warnings);
  appendResultSetEnd(out, clientCaps, w, status, seq);
  r.nextSeq = seq;
  r.finished = true;
  r.rows = merger.emitted();
  if (!clientGone) clientGone = static_cast<bool>(co_await client.flush());
  if (clientGone) r.outcome = MergeResult::Outcome::kClientGone;
  co_return r;
}

}  // namespace shardproxy::proxy
