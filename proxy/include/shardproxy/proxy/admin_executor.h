// Executes admin statements (docs/admin-sql.md) against the catalog.
// Place in the request flow: the admin session passes each COM_QUERY text here; the grammar is
// router/admin_statement.h; changes go through catalog::Catalog (one transaction each); the
// result is an OK, a text result set or an Error for the session to encode.
// No sockets: unit tests drive it with a temporary catalog file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "shardproxy/catalog/catalog.h"
#include "shardproxy/common/errors.h"
#include "shardproxy/migrations/ha.h"
#include "shardproxy/migrations/manager.h"
#include "shardproxy/proxy/digests.h"
#include "shardproxy/proxy/result_set.h"

namespace shardproxy::proxy {

struct AdminOk {
  std::uint64_t affectedRows = 0;
  std::string info;
};
using AdminResult = std::variant<AdminOk, TextResultSet, Error>;

class HealthChecker;
class KeyspaceGate;

// What the admin statements use besides the catalog; each may be null (the statements that need
// it are then refused, or show no live figures).
struct AdminServices {
  // RESHARD's checks and live migration figures.
  migrations::MigrationManager* manager = nullptr;
  // SWITCHOVER SHARD.
  migrations::HaManager* ha = nullptr;
  // SHOW BACKENDS' health columns.
  const HealthChecker* health = nullptr;
  // SHOW BUFFERS.
  const KeyspaceGate* gate = nullptr;
  // SHOW QUERY DIGEST / SHOW SHARD KEY ADVICE: every thread's digests added up, and how many
  // the bounded tables evicted; RESET QUERY DIGEST empties them.
  std::function<std::pair<std::vector<Digest>, std::uint64_t>()> digests;
  std::function<void()> resetDigests;
};

class AdminExecutor {
 public:
  explicit AdminExecutor(catalog::Catalog& catalog, migrations::MigrationManager* manager = nullptr)
      : catalog_(catalog) {
    services_.manager = manager;
  }
  AdminExecutor(catalog::Catalog& catalog, AdminServices services)
      : catalog_(catalog), services_(services) {}

  // `changed` is set when the catalog moved to a new version (publish a new snapshot then).
  AdminResult execute(std::string_view sql, const std::string& who, bool& changed);

 private:
  catalog::Catalog& catalog_;
  AdminServices services_;
};

}  // namespace shardproxy::proxy
