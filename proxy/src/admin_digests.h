// The admin port's query digests (docs/admin-sql.md, "Query digests"): SHOW QUERY DIGEST,
// RESET QUERY DIGEST and SHOW SHARD KEY ADVICE, over the digests every application thread kept.
#pragma once

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/proxy/admin_executor.h"
#include "shardproxy/router/admin_statement.h"

namespace shardproxy::proxy {

AdminResult adminShowQueryDigest(const AdminServices& services,
                                 const router::admin::ShowQueryDigest& s);
AdminResult adminResetQueryDigest(const AdminServices& services);
// For the keyspace's scatter digests: the columns of its sharded tables whose equality predicates
// would have sent them to one shard, with the share of the keyspace's scatter executions (and of
// all its executions) each would make single-shard. Pure over (digests, snapshot) for tests.
TextResultSet shardKeyAdvice(const std::vector<Digest>& digests, const catalog::Snapshot& snapshot,
                             const std::optional<std::string>& keyspace);
AdminResult adminShowShardKeyAdvice(const AdminServices& services,
                                    const catalog::Snapshot& snapshot,
                                    const router::admin::ShowShardKeyAdvice& s);

}  // namespace shardproxy::proxy
