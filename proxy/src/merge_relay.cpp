#include "shardproxy/proxy/merge_relay.h"

#include <fmt/format.h>

#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy {

namespace {

constexpr std::size_t kFlushAt = 64 * 1024;
constexpr std::size_t kMaxNamed = 8;  // shards named per list in describeWriteOutcome()

}  // namespace

std::string sumOkInfo(std::span<const std::string> infos) {
  // Words and numbers: the words must be the same in every info, the numbers add up.
  auto split = [](std::string_view s, std::vector<std::string_view>& words,
                  std::vector<std::uint64_t>& numbers) {
    std::size_t i = 0;
    while (i < s.size()) {
      std::size_t j = i;
      if (s[i] >= '0' && s[i] <= '9') {
        std::uint64_t n = 0;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9')
          n = n * 10 + static_cast<std::uint64_t>(s[j++] - '0');
        numbers.push_back(n);
        words.emplace_back();  // where the number goes
      } else {
        while (j < s.size() && !(s[j] >= '0' && s[j] <= '9'))
          ++j;
        words.push_back(s.substr(i, j - i));
      }
      i = j;
    }
  };
  if (infos.empty()) return {};
  std::vector<std::string_view> words, otherWords;
  std::vector<std::uint64_t> sums, numbers;
  split(infos[0], words, sums);
  for (std::size_t k = 1; k < infos.size(); ++k) {
    otherWords.clear();
    numbers.clear();
    split(infos[k], otherWords, numbers);
    if (otherWords != words) return {};
    for (std::size_t n = 0; n < sums.size(); ++n)
      sums[n] += numbers[n];
  }
  std::string out;
  std::size_t n = 0;
  for (std::string_view w : words) {
    if (w.empty()) {
      out += std::to_string(sums[n++]);
    } else {
      out.append(w);
    }
  }
  return out;
}

std::string insertPartInfo(router::Plan::InsertKind kind, std::uint64_t affected,
                           std::uint16_t warnings) {
  using Kind = router::Plan::InsertKind;
  const std::uint64_t duplicates = kind == Kind::kIgnore    ? (affected == 0 ? 1 : 0)
                                   : kind == Kind::kUpsert  ? (affected == 2 ? 1 : 0)
                                   : kind == Kind::kReplace ? (affected > 1 ? affected - 1 : 0)
                                                            : 0;
  return fmt::format("Records: 1  Duplicates: {}  Warnings: {}", duplicates, warnings);
}

asio::awaitable<MergeResult> relayMerged(std::span<BackendConnection* const> backends,
                                         Channel& client, std::uint32_t clientCaps,
                                         std::uint8_t firstSeq, std::uint16_t sessionStatus,
                                         bool copies, std::uint64_t insertId, bool holdFinal,
                                         router::Plan::InsertKind splitInsert) {
  MergeResult r;
  r.status.assign(backends.size(), 0);
  r.ok.assign(backends.size(), false);
  r.errors.resize(backends.size());
  std::uint8_t seq = firstSeq;
  bool clientGone = false;
  bool resultSet = false;
  std::uint64_t columns = 0;
  std::uint64_t affected = 0;
  std::uint64_t lastInsertId = 0;
  std::uint32_t warnings = 0;
  std::uint16_t lastStatus = 0;
  std::vector<std::string> infos;  // the OKs' "Rows matched: ..." (summed: sumOkInfo)
  auto flushIfLarge = [&]() -> asio::awaitable<void> {
    if (!clientGone && client.out().size() >= kFlushAt) {
      if (co_await client.flush()) clientGone = true;
    }
    if (clientGone) client.out().clear();
  };

  for (std::size_t i = 0; i < backends.size(); ++i) {
    BackendConnection& be = *backends[i];
    const std::uint32_t caps = be.capabilities();
    auto lost = [&](MergeResult::Outcome o) {
      be.broken = true;
      if (r.outcome == MergeResult::Outcome::kDone) {
        r.outcome = o;
        r.failed = i;
      }
    };
    auto first = co_await be.channel().readPacket();
    if (!first) {
      lost(MergeResult::Outcome::kBackendLost);
      continue;
    }
    protocol::ByteView p = first->payload;
    if (p.empty()) {
      lost(MergeResult::Outcome::kBackendProtocol);
      continue;
    }
    if (p[0] == protocol::kErrHeader) {
      r.errors[i] = protocol::decodeErr(p);
      if (!r.error) {
        r.error = r.errors[i];
        r.errorFrom = i;
      }
      continue;
    }
    if (p[0] == protocol::kOkHeader) {
      auto ok = protocol::decodeOk(p, caps);
      if (!ok || resultSet || (ok->statusFlags & protocol::status::kMoreResultsExist)) {
        lost(MergeResult::Outcome::kBackendProtocol);
        continue;
      }
      if (!copies || r.succeeded == 0) {
        affected += ok->affectedRows;
        warnings += ok->warnings;
        if (ok->info.empty() && splitInsert != router::Plan::InsertKind::kNone) {
          infos.push_back(insertPartInfo(splitInsert, ok->affectedRows, ok->warnings));
        } else {
          infos.emplace_back(ok->info);
        }
      }
      if (lastInsertId == 0) lastInsertId = ok->lastInsertId;
      lastStatus = ok->statusFlags;
      r.status[i] = ok->statusFlags;
      r.ok[i] = true;
      ++r.succeeded;
      continue;
    }
    if (p[0] == protocol::kLocalInfileHeader) {
      lost(MergeResult::Outcome::kBackendProtocol);
      continue;
    }
    // A result set: column count, definitions, [EOF], rows, terminator.
    protocol::ByteReader cr(p);
    auto count = cr.lenenc();
    std::uint64_t n = count.value_or(0);
    if (n == 0 || (resultSet && n != columns) || (r.succeeded > 0 && !resultSet)) {
      lost(MergeResult::Outcome::kBackendProtocol);
      continue;
    }
    const bool forwardHeader = !resultSet;
    if (forwardHeader) {
      resultSet = true;
      columns = n;
      protocol::appendPacket(client.out(), p, seq);
    }
    std::uint64_t defs = n + ((caps & protocol::cap::kDeprecateEof) ? 0 : 1);
    bool failed = false;
    for (std::uint64_t c = 0; c < defs; ++c) {
      auto def = co_await be.channel().readPacket();
      if (!def) {
        lost(MergeResult::Outcome::kBackendLost);
        failed = true;
        break;
      }
      if (forwardHeader) {
        // The client's framing may differ from the backend's only if the pool mixed them; it
        // does not (connections are keyed by capabilities), so definitions pass as they are.
        protocol::appendPacket(client.out(), def->payload, seq);
      }
    }
    if (failed) continue;
    if (forwardHeader) {
      r.headerSent = true;
      co_await flushIfLarge();
    }
    while (true) {
      auto row = co_await be.channel().readPacket();
      if (!row) {
        lost(MergeResult::Outcome::kBackendLost);
        break;
      }
      protocol::ByteView rp = row->payload;
      if (!rp.empty() && rp[0] == protocol::kErrHeader) {
        r.errors[i] = protocol::decodeErr(rp);
        if (!r.error) {
          r.error = r.errors[i];
          r.errorFrom = i;
        }
        break;
      }
      if (protocol::isEofOrOkTerminator(rp, caps)) {
        const auto t = protocol::decodeTerminator(rp, caps).value_or(protocol::Terminator{});
        const std::uint16_t flags = t.statusFlags;
        if (flags & protocol::status::kMoreResultsExist) {
          lost(MergeResult::Outcome::kBackendProtocol);
          break;
        }
        warnings += t.warnings;
        lastStatus = flags;
        r.status[i] = flags;
        r.ok[i] = true;
        ++r.succeeded;
        break;
      }
      if (!clientGone) protocol::appendPacket(client.out(), rp, seq);
      ++r.rows;
      co_await flushIfLarge();
    }
  }

  r.nextSeq = seq;
  if (r.outcome != MergeResult::Outcome::kDone || r.error) {
    if (!clientGone && !client.out().empty()) {
      if (co_await client.flush()) clientGone = true;
    }
    if (clientGone && r.outcome == MergeResult::Outcome::kDone) {
      r.outcome = MergeResult::Outcome::kClientGone;
    }
    co_return r;
  }
  std::uint16_t status = static_cast<std::uint16_t>(
      (lastStatus & ~(protocol::status::kInTrans | protocol::status::kAutocommit)) | sessionStatus);
  std::uint16_t w = warnings > 0xffff ? 0xffff : static_cast<std::uint16_t>(warnings);
  auto& out = client.out();
  r.finalSeq = seq;
  std::size_t start = protocol::beginPacket(out);
  r.finalStart = start;
  if (!resultSet) {
    protocol::OkPacket ok;
    ok.affectedRows = affected;
    r.affected = affected;
    ok.lastInsertId = insertId != 0 ? insertId : lastInsertId;
    ok.statusFlags = status;
    ok.warnings = w;
    const std::string info = sumOkInfo(infos);
    ok.info = info;
    // Info as a length-encoded string either way; an empty one written for SESSION_TRACK only.
    protocol::encode(ok, clientCaps & ~protocol::cap::kSessionTrack, out);
    if ((clientCaps & protocol::cap::kSessionTrack) && info.empty()) {
      protocol::ByteWriter(out).u8(0);
    }
    protocol::endPacket(out, start, seq);
  } else {
    out.resize(start);
    appendResultSetEnd(out, clientCaps, w, status, seq);
  }
  r.nextSeq = seq;
  r.finished = true;
  if (holdFinal && !resultSet && !clientGone) co_return r;
  // (No co_await inside a short-circuit condition: GCC 12 miscompiles it.)
  if (!clientGone) clientGone = static_cast<bool>(co_await client.flush());
  if (clientGone) r.outcome = MergeResult::Outcome::kClientGone;
  co_return r;
}

void appendResultSetEnd(protocol::Bytes& out, std::uint32_t clientCaps, std::uint16_t warnings,
                        std::uint16_t status, std::uint8_t& seq) {
  std::size_t start = protocol::beginPacket(out);
  if (clientCaps & protocol::cap::kDeprecateEof) {
    protocol::OkPacket ok;
    ok.statusFlags = status;
    ok.warnings = warnings;
    ok.eofHeader = true;
    protocol::encode(ok, clientCaps & ~protocol::cap::kSessionTrack, out);
    if (clientCaps & protocol::cap::kSessionTrack) protocol::ByteWriter(out).u8(0);
  } else {
    protocol::encode(protocol::EofPacket{warnings, status}, out);
  }
  protocol::endPacket(out, start, seq);
}

std::string describeWriteOutcome(std::string_view keyspace,
                                 std::span<const std::string_view> shards, const MergeResult& r) {
  std::string applied, failed;
  std::size_t nApplied = 0, nFailed = 0;
  auto add = [](std::string& list, std::size_t& n, std::string_view item) {
    if (n++ >= kMaxNamed) return;
    if (!list.empty()) list += ", ";
    list += item;
  };
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (i < r.ok.size() && r.ok[i]) {
      add(applied, nApplied, shards[i]);
    } else if (i < r.errors.size() && r.errors[i]) {
      add(failed, nFailed, fmt::format("{} ({})", shards[i], r.errors[i]->errorCode));
    } else {
      add(failed, nFailed, fmt::format("{} (connection lost, outcome unknown)", shards[i]));
    }
  }
  auto more = [](std::size_t n) {
    return n > kMaxNamed ? fmt::format(" and {} more", n - kMaxNamed) : std::string();
  };
  return fmt::format(
      " (keyspace '{}': applied on {}{}; failed on {}{}; a statement on several shards is not "
      "atomic)",
      keyspace, nApplied == 0 ? std::string("no shard") : applied, more(nApplied),
      nFailed == 0 ? std::string("no shard") : failed, more(nFailed));
}

}  // namespace shardproxy::proxy
