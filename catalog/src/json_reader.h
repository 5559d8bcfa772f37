// Reads the catalog's bootstrap JSON (docs/catalog.md) into plain structs, strictly: unknown or
// duplicate keys, wrong types and out-of-range numbers are errors naming the key path
// ("keyspaces[0].shards[1].backends[0].port"). Applying the result is importJson's job.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/common/errors.h"
#include "store.h"

namespace shardproxy::catalog::detail {

struct BackendDoc {
  std::string path;
  BackendSpec spec;
};

struct ShardDoc {
  std::string path;
  std::string name;
  bool serving = true;
  std::vector<BackendDoc> backends;
};

struct TableDoc {
  std::string path;
  std::string name;
  TableKind kind = TableKind::kSharded;
  std::string shardKey;
  std::string hashFunction;
};

struct KeyspaceDoc {
  std::string path;
  std::string name;
  bool sharded = false;
  ScatterWrites scatterWrites = ScatterWrites::kAllow;
  TransactionMode transactionMode = TransactionMode::kMulti;
  bool autoFailover = false;
  std::vector<ShardDoc> shards;
  std::vector<TableDoc> tables;
};

struct UserDoc {
  std::string path;
  std::string name;
  std::string nativeHash;  // raw bytes
  std::string sha2Hash;    // raw bytes
  std::vector<std::string> keyspaces;
};

struct CatalogDoc {
  std::vector<KeyspaceDoc> keyspaces;
  std::vector<UserDoc> users;
};

Result<CatalogDoc> parseCatalogJson(std::string_view json);

}  // namespace shardproxy::catalog::detail
