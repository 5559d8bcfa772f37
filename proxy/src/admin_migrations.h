// The admin port's resharding statements (docs/admin-sql.md, "Resharding"): RESHARD records a
// migration (after the manager checked the source tables), SHOW MIGRATION(S) reads progress from
// the catalog (and live figures from the running workers), the verbs record requests.
#pragma once

#include "shardproxy/catalog/catalog.h"
#include "shardproxy/migrations/manager.h"
#include "shardproxy/proxy/admin_executor.h"
#include "shardproxy/router/admin_statement.h"

namespace shardproxy::proxy {

// A migration's progress as SHOW MIGRATIONS reports it (and /metrics exports it).
struct MigrationFigures {
  std::uint64_t rowsCopied = 0;
  std::uint64_t rowsEstimated = 0;
  std::uint64_t bytesCopied = 0;
  double progressPct = 0;
  std::optional<double> etaSeconds;  // while copying, from the rate since it was created
  std::int64_t lagEvents = -1;       // of the serving direction's streams; -1: unknown
  double lagSeconds = -1;
};
MigrationFigures migrationFigures(const catalog::Migration& m);

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
