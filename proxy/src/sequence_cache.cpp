#include "shardproxy/proxy/sequence_cache.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "shardproxy/common/logging.h"

namespace shardproxy::proxy {

namespace asio = boost::asio;

SequenceCache::SequenceCache(std::string catalogPath) : path_(std::move(catalogPath)) {}

SequenceCache::~SequenceCache() {
  worker_.join();
}

bool SequenceCache::take(const catalog::Sequence& sequence, std::span<std::int64_t> out) {
  bool startPrefetch = false;
  {
    std::lock_guard lock(mu_);
    auto it = states_.find(sequence.id);
    if (it == states_.end() || it->second.left < out.size()) return false;
    State& s = it->second;
    for (auto& v : out) {
      while (s.blocks.front().next == s.blocks.front().end)
        s.blocks.erase(s.blocks.begin());
      v = s.blocks.front().next++;
    }
    s.left -= out.size();
    // Below half a block: reserve the next one now, while the rest is still being used.
    if (!s.prefetching && s.left * 2 < sequence.cache) {
      s.prefetching = true;
      startPrefetch = true;
    }
  }
  if (startPrefetch) prefetch(sequence.id, sequence.cache);
  return true;
}

void SequenceCache::prefetch(std::int64_t id, std::uint32_t cache) {
  asio::post(worker_, [this, id, cache] {
    auto block = reserve(id, cache);
    if (block) add(id, *block);
    std::lock_guard lock(mu_);
    states_[id].prefetching = false;
    if (!block) {
      // The session that runs short next reserves in the foreground and reports the error.
      moduleLogger("proxy")->warn("reserving values of sequence {} failed: {}", id,
                                  block.error().message);
    }
  });
}

asio::awaitable<Status> SequenceCache::refill(const catalog::Sequence& sequence,
                                              std::uint32_t count) {
  const std::int64_t id = sequence.id;
  const std::int64_t want = std::max<std::int64_t>(sequence.cache, count);
  co_return co_await asio::co_spawn(
      worker_,
      [this, id, want]() -> asio::awaitable<Status> {
        auto block = reserve(id, want);
        if (!block) co_return block.takeError();
        add(id, *block);
        co_return Status{};
      },
      asio::use_awaitable);
}

std::uint64_t SequenceCache::cached(std::int64_t sequenceId) {
  std::lock_guard lock(mu_);
  auto it = states_.find(sequenceId);
  return it == states_.end() ? 0 : it->second.left;
}

Result<catalog::SequenceBlock> SequenceCache::reserve(std::int64_t id, std::int64_t count) {
  if (!store_) {
    auto opened = catalog::SequenceStore::open(path_);
    if (!opened) return opened.takeError();
    store_ = std::move(*opened);
  }
  return store_->reserve(id, count);
}

void SequenceCache::add(std::int64_t id, const catalog::SequenceBlock& block) {
  std::lock_guard lock(mu_);
  State& s = states_[id];
  s.blocks.push_back(Block{block.first, block.first + block.count});
  s.left += static_cast<std::uint64_t>(block.count);
}

}  // namespace shardproxy::proxy
