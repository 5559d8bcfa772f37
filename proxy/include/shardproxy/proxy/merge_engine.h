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
