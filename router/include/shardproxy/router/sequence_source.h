// Where the planner gets generated keys: values of a global sequence (docs/routing.md,
// "Generated keys"). Place in the request flow: the planner takes the values an INSERT needs
// while planning it (PlanInput::sequences) and writes them into the statement; the proxy
// implements this with blocks reserved in the catalog off the event loops. The router only sees
// this interface, so it stays free of the proxy and of I/O.
#pragma once

#include <cstdint>
#include <span>

#include "shardproxy/catalog/snapshot.h"

namespace shardproxy::router {

class SequenceSource {
 public:
  virtual ~SequenceSource() = default;
  // Fills `out` with out.size() values of `sequence` that nobody else gets, consecutive as far
  // as the cached block allows, and returns true — or takes nothing and returns false when the
  // cached blocks hold fewer: the caller reserves more (off the event loop) and plans again.
  // Must not block; called on event-loop threads.
  virtual bool take(const catalog::Sequence& sequence, std::span<std::int64_t> out) = 0;
};

}  // namespace shardproxy::router
