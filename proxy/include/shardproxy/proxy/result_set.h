// Result sets the proxy answers itself (admin port, EXPLAIN ROUTE): all columns are text.
// Place in the request flow: an admin statement's executor returns a TextResultSet; the session
// encodes it with the client's capabilities (EOF or DEPRECATE_EOF framing). MySQL protocol
// "Text Resultset".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy {

struct TextResultSet {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  // Per column, when set: true = a BIGINT (MYSQL_TYPE_LONGLONG, binary charset), as the server
  // types FOUND_ROWS(); otherwise text.
  std::vector<bool> integer;
};

// Appends the framed packets of `rs` to `out`, starting at sequence id `seq` (advanced).
// `binaryRows`: rows of the binary protocol (the answer to a COM_STMT_EXECUTE): a BIGINT column's
// values as 8 bytes, text as length-encoded strings, NULLs in the row's bitmap.
void encodeResultSet(const TextResultSet& rs, std::uint32_t capabilities, std::uint16_t status,
                     std::uint8_t& seq, protocol::Bytes& out, bool binaryRows = false);

}  // namespace shardproxy::proxy
