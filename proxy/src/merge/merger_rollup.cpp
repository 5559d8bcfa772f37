// Merger (merge/merger.h), GROUP BY ... WITH ROLLUP: the level of each shard's row, told from the
// shard's previous row, and the merge order of rows of different levels.
#include <fmt/format.h>

#include <algorithm>

#include "shardproxy/proxy/merge/merger.h"

namespace shardproxy::proxy::merge {

using router::ColumnRef;

std::uint16_t Merger::rollupLevel(std::size_t source, const Cell* row) {
  const auto all = static_cast<std::uint16_t>(spec_->group.size());
  if (source >= prevRows_.size()) {
    prevRows_.resize(source + 1, std::vector<Stored>(types_.size()));
    prevLevels_.resize(source + 1, 0);
    havePrev_.resize(source + 1, 0);
  }
  std::vector<Stored>& prev = prevRows_[source];
  std::uint16_t level = all;
  if (havePrev_[source] != 0) {
    for (std::size_t c : rollupColumns_)
      prevCells_[c] = prev[c].cell();
    // A group sorts after the shard's previous row; a super-aggregate row does not (its keys past
    // its level are NULL, and NULL sorts first).
    if (compareKeys(spec_->group, prevCells_.data(), row) >= 0) {
      if (prevLevels_[source] == 0) {
        fail(1105, "HY000",
             "A shard's WITH ROLLUP rows came in an order the merge cannot read (a row after its "
             "grand total)");
        return 0;
      }
      level = static_cast<std::uint16_t>(prevLevels_[source] - 1);
    }
  }
  for (std::size_t c : rollupColumns_)
    prev[c].set(row[c]);
  prevLevels_[source] = level;
  havePrev_[source] = 1;
  return level;
}

int Merger::compareRollup(const Cell* a, std::uint16_t levelA, const Cell* b,
                          std::uint16_t levelB) {
  const std::size_t common = std::min(levelA, levelB);
  const int c = compareKeys(std::span<const router::SortKey>(spec_->group).first(common), a, b);
  if (c != 0 || levelA == levelB) return c;
  return levelA > levelB ? -1 : 1;  // the deeper row first
}

}  // namespace shardproxy::proxy::merge
