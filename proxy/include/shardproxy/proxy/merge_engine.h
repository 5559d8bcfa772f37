// Answers one client command from several shards whose rows must be merged (router::PlanKind::
// kMerge): ORDER BY as a k-way merge of the shards' sorted streams, groups and aggregates
// combined, HAVING / DISTINCT / LIMIT applied, hidden columns removed (merge/merger.h).
// Place in the request flow: ClientSession::executeMulti sends the rewritten statement to every
// shard, then relayMergeSpec() reads every shard's column definitions before the client sees
// anything (a shard's error then reaches the client cleanly), sends the first shard's visible
// definitions, and streams: it holds one row per shard (a view into that shard's read buffer, no
// copy) and reads the next row only from the shard whose row was sent. Memory is the shards'
// read buffers, plus the set the query needs (DISTINCT, groups sorted by an aggregate).
// MySQL protocol "Text Resultset", "Binary Protocol Resultset".
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "shardproxy/proxy/backend_connection.h"
#include "shardproxy/proxy/channel.h"
#include "shardproxy/proxy/merge_relay.h"
#include "shardproxy/router/merge_spec.h"

namespace shardproxy::proxy {

struct MergeOptions {
  bool binary = false;            // COM_STMT_EXECUTE: binary rows
  std::size_t setLimit = 100000;  // merge_buffer_rows
  // The shards were sent the first ask (router::MergeSpec::firstLimit): this many rows each at
  // most. The answer is held in the client's buffer until the merge knows it was enough; past
  // `holdBytes` it stops and asks again (MergeResult::askAgain) instead of holding more.
  std::uint64_t firstLimit = 0;
  std::size_t holdBytes = 4 << 20;
  // Every shard but the first was sent its command with its socket's low-water mark held at
  // kHeldBackBytes, so an answer arriving while the merge waits for another shard's does not wake
  // the thread (each wake is a context switch beside the shards' servers); the merge lowers each
  // one's before it reads it, and the thread then wakes once per shard that is not there yet.
  bool heldBack = false;
};
inline constexpr int kHeldBackBytes = 32 * 1024;

// Which statements get a first ask, by digest: not one that often needed the second, full ask
// (its rows are not spread over the shards the way the first ask's size assumes). One per
// application thread, 256 slots by digest hash, no lock. After 64 refusals in a row a statement
// is tried once more; when that try is enough, its record starts over (the data changed).
class FirstAskGuard {
 public:
  bool allow(std::uint64_t digest) {
    if (digest == 0) return true;
    Slot& s = slots_[digest % slots_.size()];
    if (s.digest != digest || s.tries < 8 || s.again * 8 <= s.tries) return true;
    if (++s.refused < 64) return false;
    s.refused = 0;
    s.probe = true;
    return true;
  }
  void record(std::uint64_t digest, bool again) {
    if (digest == 0) return;
    Slot& s = slots_[digest % slots_.size()];
    if (s.digest != digest) s = Slot{digest};
    ++s.tries;
    s.again += again ? 1 : 0;
    if (s.probe) {
      s.probe = false;
      if (!again) s.tries = s.again = 0;
    }
    if (s.tries >= 1024) {
      s.tries /= 2;
      s.again /= 2;
    }
  }

 private:
  struct Slot {
    std::uint64_t digest = 0;
    std::uint16_t tries = 0;
    std::uint16_t again = 0;
    std::uint16_t refused = 0;
    bool probe = false;
  };
  std::array<Slot, 256> slots_{};
};

// As relayMerged() (merge_relay.h): on a shard's ERR nothing final is sent and the result names
// the shard in `errorFrom`; the shards not read to the end are marked broken (their pending rows
// are abandoned — the cancellation). A merge error (a value it cannot compare, the set limit) is
// returned in `error` with errorFrom = backends.size().
asio::awaitable<MergeResult> relayMergeSpec(std::span<BackendConnection* const> backends,
                                            Channel& client, std::uint32_t clientCaps,
                                            std::uint8_t firstSeq, std::uint16_t sessionStatus,
                                            const router::MergeSpec& spec,
                                            const MergeOptions& options);

}  // namespace shardproxy::proxy
