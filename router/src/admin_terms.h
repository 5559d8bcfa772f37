// The terms of the admin grammar (private to router/): addresses, names, numbers, and the MySQL
// words that mark a statement as valid MySQL outside the admin surface.
// Place in the request flow: helpers of parseAdmin() (admin_parser.cpp); pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "admin_lexer.h"
#include "shardproxy/catalog/snapshot.h"

namespace shardproxy::router::admin {

// MySQL's identifier limit (keyspaces are databases on the backends, tables and columns are
// real tables and columns) and MariaDB's user name limit, in characters.
inline constexpr std::size_t kMaxIdentifierChars = 64;
inline constexpr std::size_t kMaxUserNameChars = 80;

// "host:port" or "[ipv6]:port" → Endpoint (host without brackets); port 1..65535, required.
// On failure returns why, for the syntax error's hint.
std::optional<std::string> parseEndpoint(std::string_view text, catalog::Endpoint& out);

// Why `name` cannot name a catalog object (empty, NUL, invalid UTF-8, trailing space, longer
// than maxChars characters), or nullopt when it can.
std::optional<std::string> nameProblem(std::string_view name, std::size_t maxChars);

// Decimal digits → uint32; false when the value does not fit.
bool parseUint32(std::string_view digits, std::uint32_t& out);

// Decimal digits → 1..INT64_MAX (migration ids are SQLite rowids); false for 0 or beyond.
bool parsePositiveInt64(std::string_view digits, std::int64_t& out);

// A decimal number of seconds, as the digits before and after its point ("2" "", "0" "5", ""
// "25"), → milliseconds rounded half up; nullopt when the whole part does not fit uint32.
std::optional<std::uint64_t> secondsToMs(std::string_view whole, std::string_view fraction);

// Words that start a MySQL statement the admin port does not run (SELECT, INSERT, ...).
bool isMysqlVerb(const Token& t);
// Words after SHOW in MySQL's own SHOW statements (DATABASES, TABLES, VARIABLES, ...).
bool isMysqlShowTarget(const Token& t);
// Words after CREATE/DROP in MySQL's own DDL (DATABASE, TABLE, INDEX, VIEW, ...).
bool isMysqlObjectType(const Token& t);

// The token's text upper-cased, for messages.
std::string upperText(std::string_view text);

}  // namespace shardproxy::router::admin
