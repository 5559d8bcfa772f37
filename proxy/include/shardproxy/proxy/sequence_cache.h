// This proxy's cached blocks of global-sequence values (docs/routing.md, "Generated keys").
// Place in the request flow: the planner takes an INSERT's generated keys from here through
// router::SequenceSource::take() — a few instructions under one short lock, no I/O. When the
// blocks run short the session co_awaits refill(), which reserves a block in the catalog
// (catalog::SequenceStore, one SQLite transaction) on this cache's own worker thread and resumes
// the session on its event loop; when a sequence's cached values fall below half a block, the
// next block is reserved in the background, so a steady load never waits.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "shardproxy/catalog/sequence_store.h"
#include "shardproxy/common/errors.h"
#include "shardproxy/router/sequence_source.h"

namespace shardproxy::proxy {

class SequenceCache final : public router::SequenceSource {
 public:
  explicit SequenceCache(std::string catalogPath);
  ~SequenceCache() override;  // waits for a reservation in flight
  SequenceCache(const SequenceCache&) = delete;
  SequenceCache& operator=(const SequenceCache&) = delete;

  // Any thread. Values of one sequence are handed out in block order, so a multi-row INSERT gets
  // consecutive values unless it spans the end of a block.
  bool take(const catalog::Sequence& sequence, std::span<std::int64_t> out) override;

  // Reserves at least `count` more values (a block of the sequence's CACHE, or `count` if
  // larger) on the worker thread; the awaiting coroutine resumes on its own executor.
  boost::asio::awaitable<Status> refill(const catalog::Sequence& sequence, std::uint32_t count);

  // Values cached for a sequence (tests, SHOW-style introspection).
  std::uint64_t cached(std::int64_t sequenceId);

 private:
  struct Block {
    std::int64_t next = 0;
    std::int64_t end = 0;  // one past the last value
  };
  struct State {
    std::vector<Block> blocks;  // in reservation order; the front one is used first
    std::uint64_t left = 0;
    bool prefetching = false;
  };

  // Worker thread only: the store (opened on first use) and one reservation.
  Result<catalog::SequenceBlock> reserve(std::int64_t id, std::int64_t count);
  void add(std::int64_t id, const catalog::SequenceBlock& block);
  void prefetch(std::int64_t id, std::uint32_t cache);

  std::string path_;
  std::mutex mu_;  // guards states_; held for a few instructions, never across I/O or an await
  std::unordered_map<std::int64_t, State> states_;
  std::unique_ptr<catalog::SequenceStore> store_;  // worker thread only
  boost::asio::thread_pool worker_{1};
};

}  // namespace shardproxy::proxy
