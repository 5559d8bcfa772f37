// The admin port's resharding statements (docs/admin-sql.md, "Resharding"): RESHARD records a
// migration (after the manager checked the source tables), SHOW MIGRATION(S) reads progress from
// the catalog (and live figures from the running workers), the verbs record requests.
#pragma once

#include "shardproxy/catalog/catalog.h"
#include "shardproxy/migrations/manager.h"
#include "shardproxy/proxy/admin_executor.h"
#include "shardproxy/router/admin_statement.h"

namespace shardproxy::proxy {

AdminResult adminReshard(catalog::Catalog& catalog, migrations::MigrationManager* manager,
                         const router::admin::Reshard& s, const catalog::ChangeContext& ctx,
                         bool& changed);
AdminResult adminShowMigrations(catalog::Catalog& catalog,
                                const migrations::MigrationManager* manager,
                                const router::admin::ShowMigrations& s);
AdminResult adminShowMigration(catalog::Catalog& catalog,
                               const migrations::MigrationManager* manager,
                               const router::admin::ShowMigration& s);
AdminResult adminMigrationCommand(catalog::Catalog& catalog,
                                  const router::admin::MigrationCommand& s,
                                  const catalog::ChangeContext& ctx, bool& changed);

}  // namespace shardproxy::proxy
