// libFuzzer target: the admin SQL grammar on arbitrary text.
// Crashes found here become regression tests in tests/unit/router/admin_parser_test.cpp.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "shardproxy/router/admin_statement.h"

using namespace shardproxy::router::admin;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view sql(reinterpret_cast<const char*>(data), size);
  auto result = parseAdmin(sql);
  if (const auto* e = std::get_if<AdminParseError>(&result)) {
    // An error always points inside the text (or at its end) and says something.
    if (e->position > size || e->message.empty()) std::abort();
  } else {
    // Redaction must stay inside the text for any statement.
    (void)redactPassword(sql, std::get<AdminStatement>(result));
  }
  return 0;
}
