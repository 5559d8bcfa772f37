// Answers one client command from several backends: result sets concatenated, OKs merged.
// Place in the request flow: a plan with several targets (a read on several shards, a write on
// several primaries) sends the command to each backend connection first, then relayMerged()
// reads the responses one backend after the other and writes the client a single response —
// columns from the first result set, then every backend's rows in order, one terminator; or one
// OK with the affected rows summed. Packets are renumbered, so unlike relayResponse() this copies
// each packet once into the client's write buffer (flushed every 64 KiB); it allocates nothing
// per row. MySQL protocol "Text Resultset" / "Binary Protocol Resultset".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/proxy/backend_connection.h"
#include "shardproxy/proxy/channel.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/router/planner.h"

namespace shardproxy::proxy {

struct MergeResult {
  enum class Outcome : std::uint8_t { kDone, kClientGone, kBackendLost, kBackendProtocol };
  Outcome outcome = Outcome::kDone;
  std::size_t failed = 0;  // kBackendLost / kBackendProtocol: which backend
  // The first ERR a backend answered (the others' responses were still read in full).
  std::optional<protocol::ErrPacket> error;
  std::size_t errorFrom = 0;
  std::size_t succeeded = 0;  // backends that answered OK or a full result set
  bool headerSent = false;    // a result set header reached the client: an ERR may follow it
  std::uint8_t nextSeq = 1;   // the sequence id for the packet the caller sends next
  bool finished = false;      // the merged OK / terminator was sent (nothing left to send)
  std::uint64_t rows = 0;     // rows sent to the client (merged result sets)
  std::optional<std::uint64_t> affected;  // the merged OK's affected rows (relayMerged)
  // holdFinal: the merged OK was written to the client's buffer from this offset, with sequence
  // id `finalSeq`, and not flushed (the caller flushes it, or replaces it with an error).
  std::size_t finalStart = 0;
  std::uint8_t finalSeq = 0;
  std::vector<std::uint16_t> status;  // each backend's final status flags (0 if none)
  // Per backend, in the order given, filled by relayMerged() (every write on several shards
  // comes through it; relayMergeSpec() leaves them empty): answered OK or a full result set; its
  // ERR (every one, not only the first). Neither: lost or unparsable, so its outcome is unknown.
  std::vector<bool> ok;
  std::vector<std::optional<protocol::ErrPacket>> errors;
  // relayMergeSpec() with MergeOptions::firstLimit: the first ask was not enough (a shard
  // returned that many rows and the merge needed one past them). Nothing reached the client
  // (its buffer is as it was), every shard's answer was read to its end: send the full ask and
  // merge again.
  bool askAgain = false;
  // relayMergeSpec(): the merge's own warnings (merge::Merger::cutRows()), counted in its EOF.
  std::vector<std::uint64_t> cutRows;
};

// `backends[i]` has been sent the command already. `clientCaps` decides the framing (EOF or
// DEPRECATE_EOF); `sessionStatus` is OR-ed into the status flags the client sees. When every
// backend answered, the merged OK or the result set's terminator is sent; when one answered an
// ERR, nothing final is sent: the caller sends an ERR at `nextSeq` (it knows the context).
// `copies`: the backends hold the same rows (a reference table), so the OK reports the first
// backend's affected rows instead of the sum. `insertId` (an INSERT given generated keys) is the
// merged OK's insert id instead of the backends'.
// Appends a result set's final packet for the client's framing: an OK with the EOF header under
// DEPRECATE_EOF, else an EOF (MySQL protocol "Text Resultset").
void appendResultSetEnd(protocol::Bytes& out, std::uint32_t clientCaps, std::uint16_t warnings,
                        std::uint16_t status, std::uint8_t& seq);

asio::awaitable<MergeResult> relayMerged(
    std::span<BackendConnection* const> backends, Channel& client, std::uint32_t clientCaps,
    std::uint8_t firstSeq, std::uint16_t sessionStatus, bool copies = false,
    std::uint64_t insertId = 0, bool holdFinal = false,
    router::Plan::InsertKind splitInsert = router::Plan::InsertKind::kNone);

// The info a one-row part of a split INSERT would have had as part of the client's multi-row
// statement: "Records: 1  Duplicates: D  Warnings: W", D as the server counts it for `kind` from
// the part's affected rows (an ignored row, an upsert that changed the row: 2, a REPLACE's
// deleted rows: affected - 1; an upsert that left the row as it was is no duplicate).
std::string insertPartInfo(router::Plan::InsertKind kind, std::uint64_t affected,
                           std::uint16_t warnings);

// The shards' OK info strings as one server's: the same words, each number summed ("Rows
// matched: 3  Changed: 2  Warnings: 0" and "Rows matched: 1  Changed: 0  Warnings: 1" give
// "Rows matched: 4  Changed: 2  Warnings: 1"); empty where their words differ.
std::string sumOkInfo(std::span<const std::string> infos);

// The end of the client's error when a write on several shards did not succeed everywhere:
// " (keyspace 'shop': applied on -55, aa-; failed on 55-aa (1060); a statement on several shards
// is not atomic)". `shards[i]` names `backends[i]` of the relayMerged() call that gave `r`; a
// backend with neither an OK nor an ERR is listed as failed with an unknown outcome. Each list
// stops after 8 names ("and 3 more"): MySQL clients keep only 512 bytes of a message.
std::string describeWriteOutcome(std::string_view keyspace,
                                 std::span<const std::string_view> shards, const MergeResult& r);

}  // namespace shardproxy::proxy
