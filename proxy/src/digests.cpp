// DigestTable (digests.h).
#include "shardproxy/proxy/digests.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace shardproxy::proxy {

std::size_t LogHistogram::bucketOf(std::uint64_t ns) {
  const std::uint64_t us = ns / 1000;
  if (us <= 1) return 0;
  // Two buckets per power of two: [2^k, 2^k·√2) and [2^k·√2, 2^(k+1)).
  const int k = 63 - std::countl_zero(us);
  const double frac = static_cast<double>(us) / static_cast<double>(std::uint64_t{1} << k);
  const std::size_t i = static_cast<std::size_t>(2 * k + (frac >= 1.41421356 ? 1 : 0));
  return std::min<std::size_t>(i, 63);
}

std::uint64_t LogHistogram::quantileNs(double q, std::uint64_t total) const {
  if (total == 0) return 0;
  const auto want = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= want) return static_cast<std::uint64_t>(std::pow(2.0, (i + 1) / 2.0) * 1000.0);
  }
  return static_cast<std::uint64_t>(std::pow(2.0, 32.0) * 1000.0);
}

void Digest::merge(const Digest& o) {
  count += o.count;
  errors += o.errors;
  rows += o.rows;
  totalNs += o.totalNs;
  minNs = std::min(minNs, o.minNs);
  maxNs = std::max(maxNs, o.maxNs);
  single += o.single;
  scatter += o.scatter;
  shardsTouched += o.shardsTouched;
  latency.merge(o.latency);
}

void DigestTable::add(std::uint64_t hash, std::string_view text, std::string_view keyspace,
                      std::vector<router::sql::EqualityColumn> equalities) {
  if (index_.contains(hash) || capacity_ == 0) return;
  std::uint32_t slot;
  if (entries_.size() < capacity_) {
    slot = static_cast<std::uint32_t>(entries_.size());
    entries_.emplace_back();
  } else {
    // Sampled least-used: the least executed of 8 random digests goes (O(1), no ordering kept).
    slot = 0;
    std::uint64_t least = UINT64_MAX;
    for (int i = 0; i < 8; ++i) {
      rng_ ^= rng_ << 13;
      rng_ ^= rng_ >> 7;
      rng_ ^= rng_ << 17;
      const auto j = static_cast<std::uint32_t>(rng_ % entries_.size());
      if (entries_[j].count < least) {
        least = entries_[j].count;
        slot = j;
      }
    }
    index_.erase(entries_[slot].hash);
    entries_[slot] = Digest{};
    ++evicted_;
  }
  Digest& d = entries_[slot];
  d.hash = hash;
  d.text.assign(text);
  d.keyspace.assign(keyspace);
  d.equalities = std::move(equalities);
  index_.emplace(hash, slot);
}

bool DigestTable::record(std::uint64_t hash, const Execution& e) {
  auto it = index_.find(hash);
  if (it == index_.end()) return false;
  Digest& d = entries_[it->second];
  ++d.count;
  d.errors += e.error ? 1 : 0;
  d.rows += e.rows;
  d.totalNs += e.ns;
  d.minNs = std::min(d.minNs, e.ns);
  d.maxNs = std::max(d.maxNs, e.ns);
  if (e.shards == 1) ++d.single;
  if (e.shards > 1) ++d.scatter;
  d.shardsTouched += e.shards;
  d.latency.add(e.ns);
  return true;
}

void DigestTable::reset() {
  entries_.clear();
  index_.clear();
  evicted_ = 0;
}

std::vector<Digest> mergeDigests(const std::vector<std::vector<Digest>>& perThread) {
  std::vector<Digest> out;
  std::unordered_map<std::uint64_t, std::size_t> at;
  for (const auto& thread : perThread) {
    for (const Digest& d : thread) {
      auto [it, fresh] = at.emplace(d.hash, out.size());
      if (fresh) {
        out.push_back(d);
      } else {
        out[it->second].merge(d);
      }
    }
  }
  return out;
}

}  // namespace shardproxy::proxy
