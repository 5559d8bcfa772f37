// The admin parser's primitives (private to router/), as an interface, so that statement
// families can have their grammar in files of their own (admin_sequences.cpp) instead of growing
// admin_parser.cpp. Place in the request flow: parseAdmin() → Parser (admin_parser.cpp), which
// implements this and calls the family's functions below with itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "admin_lexer.h"
#include "shardproxy/router/admin_statement.h"

namespace shardproxy::router::admin {

class AdminCursor {
 public:
  // The current token (one of lookahead).
  virtual const Token& token() const = 0;
  virtual void advance() = 0;
  // Consumes the keyword if it is next.
  virtual bool accept(std::string_view keyword) = 0;
  // Each returns false after recording a syntax error at the current token (the first error
  // recorded wins).
  virtual bool expect(std::string_view keyword, std::string_view hint = {}) = 0;
  virtual bool expectSymbol(char c, std::string_view hint) = 0;
  virtual bool fail(std::string hint) = 0;
  virtual bool failAt(std::size_t position, std::string_view hint) = 0;
  // A plain or backquoted identifier (users: also a string).
  virtual bool name(std::string& out, std::string_view what, bool user = false) = 0;
  // keyspace '.' object.
  virtual bool qualified(std::string& keyspace, std::string& object, std::string_view what,
                         bool shard = false) = 0;
  // [FROM | IN keyspace]
  virtual bool optionalFrom(std::optional<std::string>& keyspace) = 0;
  // A quoted 'host:port'.
  virtual bool address(catalog::Endpoint& out) = 0;
  // A non-negative integer that fits 32 bits.
  virtual bool number(std::uint32_t& out, std::string_view what) = 0;
  // Seconds with an optional fraction (0.5), as milliseconds (1 ms to one hour).
  virtual bool seconds(std::uint32_t& ms) = 0;
  // What may follow where the statement could end, for the "expected ..." of a syntax error.
  virtual void setTrailingHint(std::string_view hint) = 0;

 protected:
  ~AdminCursor() = default;
};

// Global sequences (admin_sequences.cpp); each is called after its leading words were consumed:
// CREATE SEQUENCE, DROP SEQUENCE, SHOW SEQUENCES.
std::optional<AdminStatement> parseCreateSequence(AdminCursor& c);
std::optional<AdminStatement> parseDropSequence(AdminCursor& c);
std::optional<AdminStatement> parseShowSequences(AdminCursor& c);
// admin_lookup_keys.cpp, after LOOKUP
std::optional<AdminStatement> parseCreateLookupKey(AdminCursor& c);
std::optional<AdminStatement> parseDropLookupKey(AdminCursor& c);
std::optional<AdminStatement> parseShowLookupKeys(AdminCursor& c);

// High availability (admin_ha.cpp): after SWITCHOVER, and after SET KEYSPACE.
std::optional<AdminStatement> parseSwitchover(AdminCursor& c);
std::optional<AdminStatement> parseSetKeyspace(AdminCursor& c);

// Keyspace settings (admin_keyspace_settings.cpp), after ALTER KEYSPACE:
// name SET scatter_writes = allow | deny [, transaction_mode = single | multi | twopc].
std::optional<AdminStatement> parseAlterKeyspace(AdminCursor& c);

std::optional<AdminStatement> parseShowQueryDigest(AdminCursor& c);
std::optional<AdminStatement> parseResetQueryDigest(AdminCursor& c);
std::optional<AdminStatement> parseShowShardKeyAdvice(AdminCursor& c);

}  // namespace shardproxy::router::admin
