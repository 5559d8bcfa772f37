// The admin port's high-availability statements (docs/admin-sql.md, "High availability"):
// SWITCHOVER SHARD runs the HA manager's switchover, SHOW FAILOVERS reads the catalog's record,
// SHOW BUFFERS the gate's held scopes, and SHOW BACKENDS gets its health columns here.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "shardproxy/catalog/catalog.h"
#include "shardproxy/proxy/admin_executor.h"
#include "shardproxy/proxy/health_checker.h"
#include "shardproxy/router/admin_statement.h"

namespace shardproxy::proxy {

AdminResult adminSwitchover(catalog::Catalog& catalog, const AdminServices& services,
                            const router::admin::Switchover& s, bool& changed);
AdminResult adminShowFailovers(catalog::Catalog& catalog, const router::admin::ShowFailovers& s);
AdminResult adminShowBuffers(const AdminServices& services);

// The health checker's view by host:port (empty without one).
std::unordered_map<std::string, BackendStatus> backendStatus(const AdminServices& services);
// health, lag_seconds, gtid_behind, read_only, last_change, last_error of one backend row.
void appendHealthColumns(std::vector<std::optional<std::string>>& row, const catalog::Backend& b,
                         const std::unordered_map<std::string, BackendStatus>& status);

}  // namespace shardproxy::proxy
