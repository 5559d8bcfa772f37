// Helpers shared by the SQL parser tests: parse to the S-expression dump, or to one node kind.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "shardproxy/router/sql/dump.h"
#include "shardproxy/router/sql/parser.h"

namespace shardproxy::router::sql::testing {

inline std::string d(std::string_view sql) {
  Parser parser;
  ParseResult r = parser.parse(sql);
  if (!r.ok()) return "error: " + r.error().message;
  return dump(r.statement());
}

template <typename T>
const T* parseAs(Parser& parser, std::string_view sql) {
  ParseResult r = parser.parse(sql);
  if (!r.ok()) {
    ADD_FAILURE() << sql << ": " << r.error().message;
    return nullptr;
  }
  const T* t = r.statement().as<T>();
  if (t == nullptr) ADD_FAILURE() << sql << " parsed as another kind: " << dump(r.statement());
  return t;
}

}  // namespace shardproxy::router::sql::testing
