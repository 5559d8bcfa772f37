#include "shardproxy/router/keyspace_id.h"

#include <unicode/coll.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>
#include <unicode/uversion.h>
#include <xxhash.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <vector>

namespace shardproxy::router {
namespace {

// Creating a Collator loads and parses collation data (tens of microseconds); the planner hashes
// on every event-loop thread, so each thread keeps its own (a Collator is not thread-safe).
icu::Collator& primaryCollator() {
  thread_local std::unique_ptr<icu::Collator> collator = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::Collator> c(icu::Collator::createInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status) || !c) {
      // The ICU data library is part of the installation; without it nothing can be routed.
      throw std::runtime_error(std::string("ICU root collator unavailable: ") +
                               u_errorName(status));
    }
    c->setStrength(icu::Collator::PRIMARY);
    return c;
  }();
  return *collator;
}

std::uint64_t hashBytes(const void* data, std::size_t size) {
  return XXH3_64bits(data, size);
}

}  // namespace

std::uint64_t keyspaceIdOfUint(std::uint64_t value) {
  std::array<unsigned char, 8> be{};
  for (std::size_t i = 0; i < be.size(); ++i) {
    be[i] = static_cast<unsigned char>(value >> (56 - 8 * i));
  }
  return hashBytes(be.data(), be.size());
}

std::uint64_t keyspaceIdOfInt(std::int64_t value) {
  return keyspaceIdOfUint(static_cast<std::uint64_t>(value));  // two's complement, by C++20
}

std::uint64_t keyspaceIdOfString(std::string_view utf8, StringCollation collation) {
  if (collation == StringCollation::kBinary) return hashBytes(utf8.data(), utf8.size());

  // PAD SPACE: MySQL compares as if the shorter string were padded with spaces, so trailing
  // spaces never matter; ICU would weigh them, so drop them first.
  std::size_t len = utf8.find_last_not_of(' ');
  utf8 = len == std::string_view::npos ? std::string_view{} : utf8.substr(0, len + 1);

  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<std::int32_t>(utf8.size())));
  thread_local std::vector<std::uint8_t> key(256);
  icu::Collator& collator = primaryCollator();
  std::int32_t need = collator.getSortKey(text, key.data(), static_cast<std::int32_t>(key.size()));
  if (need > static_cast<std::int32_t>(key.size())) {
    key.resize(static_cast<std::size_t>(need));
    need = collator.getSortKey(text, key.data(), need);
  }
  // The sort key ends in a 0x00 terminator; hash without it.
  std::size_t size = need > 0 ? static_cast<std::size_t>(need) - 1 : 0;
  return hashBytes(key.data(), size);
}

std::string collatorVersion() {
  UVersionInfo info;
  primaryCollator().getVersion(info);
  char text[U_MAX_VERSION_STRING_LENGTH];
  u_versionToString(info, text);
  return text;
}

}  // namespace shardproxy::router
