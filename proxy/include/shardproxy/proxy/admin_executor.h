// Executes admin statements (docs/admin-sql.md) against the catalog.
// Place in the request flow: the admin session passes each COM_QUERY text here; the grammar is
// router/admin_statement.h; changes go through catalog::Catalog (one transaction each); the
// result is an OK, a text result set or an Error for the session to encode.
// No sockets: unit tests drive it with a temporary catalog file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "shardproxy/catalog/catalog.h"
#include "shardproxy/common/errors.h"
#include "shardproxy/migrations/manager.h"
#include "shardproxy/proxy/result_set.h"

namespace shardproxy::proxy {

struct AdminOk {
  std::uint64_t affectedRows = 0;
  std::string info;
};
using AdminResult = std::variant<AdminOk, TextResultSet, Error>;

class AdminExecutor {
 public:
  // `manager` runs RESHARD's checks and reports live migration figures (null: RESHARD refused).
  explicit AdminExecutor(catalog::Catalog& catalog, migrations::MigrationManager* manager = nullptr)
      : catalog_(catalog), manager_(manager) {}

  // `changed` is set when the catalog moved to a new version (publish a new snapshot then).
  AdminResult execute(std::string_view sql, const std::string& who, bool& changed);

 private:
  catalog::Catalog& catalog_;
  migrations::MigrationManager* manager_;
};

}  // namespace shardproxy::proxy
