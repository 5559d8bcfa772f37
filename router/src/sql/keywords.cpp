// Keyword lookup: an open-addressing table built at compile time, probed with a case-folding hash,
// so classifying a word costs one pass over it and usually one comparison.
#include "shardproxy/router/sql/keywords.h"

#include <array>
#include <cstddef>

namespace shardproxy::router::sql {
namespace {

struct Entry {
  std::string_view text;
  bool reserved;
};

constexpr std::array<Entry, static_cast<std::size_t>(Kw::kCount)> kEntries = {
    {{"", false},
#define SHARDPROXY_SQL_KEYWORD_ENTRY(e, s, r) {s, r},
     SHARDPROXY_SQL_KEYWORDS(SHARDPROXY_SQL_KEYWORD_ENTRY)
#undef SHARDPROXY_SQL_KEYWORD_ENTRY
    }};

constexpr std::size_t kMaxKeywordLength = 32;
constexpr std::size_t kTableSize = 1024;  // a power of two, about three times the keyword count
static_assert(kTableSize > 2 * static_cast<std::size_t>(Kw::kCount));

constexpr char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

constexpr std::uint32_t foldedHash(std::string_view s) {
  std::uint32_t h = kKeywordHashSeed;
  for (char c : s)
    h = keywordHashStep(h, c);
  return h;
}

// Each slot holds a keyword index and its full hash, so most probes settle on the hash alone.
struct Slot {
  std::uint16_t index = 0;
  std::uint32_t hash = 0;
};

constexpr std::array<Slot, kTableSize> buildTable() {
  std::array<Slot, kTableSize> table{};
  for (std::size_t i = 1; i < kEntries.size(); ++i) {
    std::uint32_t h = foldedHash(kEntries[i].text);
    std::size_t slot = h & (kTableSize - 1);
    while (table[slot].index != 0)
      slot = (slot + 1) & (kTableSize - 1);
    table[slot] = Slot{static_cast<std::uint16_t>(i), h};
  }
  return table;
}

constexpr auto kTable = buildTable();

bool equalsUpper(std::string_view word, std::string_view upperText) {
  if (word.size() != upperText.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (upper(word[i]) != upperText[i]) return false;
  }
  return true;
}

}  // namespace

Kw lookupKeyword(std::string_view word) {
  if (word.empty() || word.size() > kMaxKeywordLength) return Kw::kNone;
  return lookupKeyword(word, foldedHash(word));
}

Kw lookupKeyword(std::string_view word, std::uint32_t hash) {
  if (word.empty() || word.size() > kMaxKeywordLength) return Kw::kNone;
  std::size_t slot = hash & (kTableSize - 1);
  while (std::uint16_t index = kTable[slot].index) {
    if (kTable[slot].hash == hash && equalsUpper(word, kEntries[index].text)) {
      return static_cast<Kw>(index);
    }
    slot = (slot + 1) & (kTableSize - 1);
  }
  return Kw::kNone;
}

bool isReserved(Kw kw) {
  return kEntries[static_cast<std::size_t>(kw)].reserved;
}

std::string_view keywordText(Kw kw) {
  return kEntries[static_cast<std::size_t>(kw)].text;
}

}  // namespace shardproxy::router::sql
