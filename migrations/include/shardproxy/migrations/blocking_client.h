// A small RAII wrapper over libmariadb (Connector/C) for the migration workers, which run on their
// own threads: schema reads, bulk copy, chunk checksums and the fence. Never used on the proxy's
// event loops: every call here blocks (each with a read/write timeout, so a dead server cannot
// stall a worker for ever).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/common/errors.h"

struct st_mysql;

namespace shardproxy::migrations {

struct Endpoint {
  std::string host;
  std::uint16_t port = 3306;
  std::string user;
  std::string password;
  std::string database;
  std::string label() const { return host + ":" + std::to_string(port); }
};

// One column of a result set, as the server described it.
struct FieldInfo {
  std::string name;
  int type = 0;                // enum_field_types
  unsigned int charsetnr = 0;  // 63 = binary
  unsigned int flags = 0;
};

using Row = std::vector<std::optional<std::string>>;

class BlockingClient {
 public:
  BlockingClient();
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  // Connects in utf8mb4 with `timeoutSeconds` for connect, read and write.
  Status connect(const Endpoint& endpoint, unsigned timeoutSeconds = 30);
  bool connected() const { return connected_; }
  const Endpoint& endpoint() const { return endpoint_; }
  Status execute(std::string_view sql);
  std::uint64_t affectedRows() const;
  // First column of the first row, or std::nullopt for no row / NULL.
  Result<std::optional<std::string>> scalar(std::string_view sql);
  // Every row, buffered (small results: metadata, checksums).
  Result<std::vector<Row>> rows(std::string_view sql);
  // Streams the rows (mysql_use_result): fn(row values, lengths, column count); `fields` filled
  // before the first row.
  Status stream(std::string_view sql,
                const std::function<void(char** row, unsigned long* lengths, unsigned n)>& fn,
                std::vector<FieldInfo>* fields = nullptr);
  // The server's errno of the last failure (0 if none).
  unsigned lastErrno() const;
  st_mysql* handle() { return mysql_; }

 private:
  Error lastError(std::string_view context) const;
  st_mysql* mysql_;
  Endpoint endpoint_;
  bool connected_ = false;
};

// SQL literal helpers for statements the workers build.
// `name` → `name` with backquotes doubled.
std::string quoteIdent(std::string_view name);
// X'…' (binary bytes), or _charset X'…' for text in that character set: no escaping questions,
// and the column's collation decides comparisons.
std::string hexLiteral(std::string_view bytes, std::string_view charset = {});
// '…' with MySQL's escapes, appended to `out` (the connection uses utf8mb4).
void appendQuoted(std::string& out, std::string_view bytes);

}  // namespace shardproxy::migrations
