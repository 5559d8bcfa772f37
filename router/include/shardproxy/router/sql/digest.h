// Statement fingerprints for query digests (SHOW QUERY DIGEST, docs/observability.md): the text
// with every literal made `?`, IN lists and the extra rows of a VALUES list folded, comments and
// spacing dropped, keywords upper-cased — so `select * from t where id = 5` and
// `SELECT * FROM t WHERE id=7 /* x */` are one digest.
// Place in the request flow: the parser records the tokens it consumes (Parser::parse's `tokens`)
// and the session fingerprints the statement from them, without lexing its text again; text the
// parser could not read whole is lexed here instead. The session counts it under the hash.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/router/sql/lexer.h"

namespace shardproxy::router::sql {

// Writes the fingerprint of `sql` (one statement) into `out` (cleared first; at most
// kMaxDigestText bytes, then "...") and returns its 64-bit hash. A lexing error ends the text
// there (the hash still tells such statements apart by what came before).
inline constexpr std::size_t kMaxDigestText = 1024;
std::uint64_t fingerprint(std::string_view sql, const LexOptions& options, std::string& out);
// The same from the tokens the parser recorded while parsing `sql` (their offsets are into it):
// the same text and hash as lexing it again, for a statement it parsed whole (tokensComplete).
std::uint64_t fingerprint(std::span<const Token> tokens, std::string_view sql, std::string& out);
// The recording holds a whole statement: it ends with the statement's end or its ';' (a failed
// parse stops short; a recording past Parser::kMaxRecordedTokens is dropped).
bool tokensComplete(std::span<const Token> tokens);

struct Statement;

// For the shard-key advisor: the (table, column) pairs a SELECT (one query block), UPDATE or
// DELETE compares with a value through AND-only conjuncts of its WHERE (`col = 5`,
// `col IN (1, 2)`): the columns that, as a shard key, would have sent it to one shard. Tables
// are named as written (without db); a column whose table the text does not decide is left out.
struct EqualityColumn {
  std::string table;
  std::string column;
  bool operator==(const EqualityColumn&) const = default;
};
std::vector<EqualityColumn> equalityColumns(const Statement& statement);

}  // namespace shardproxy::router::sql
