// The bootstrap/dump JSON (docs/catalog.md): importJson applies a parsed document as ONE change
// through the same row operations and invariant checks as the admin statements; exportJson
// writes a snapshot in the same format, deterministically ordered, so export → import → export
// gives the same text.
#include <fmt/format.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>

#include "json_reader.h"
#include "model.h"
#include "shardproxy/catalog/catalog.h"
#include "store.h"

namespace shardproxy::catalog {
namespace {

using detail::CatalogDoc;

// Keeps the error's code, and says where in the document the offending object is.
Status at(const std::string& path, Status s) {
  if (s) return s;
  Error e = s.takeError();
  e.message = fmt::format("catalog JSON: {}: {}", path, e.message);
  return e;
}

Status applyShard(sqlite3* db, const detail::KeyspaceDoc& ks, const detail::ShardDoc& shard) {
  // A dump taken between a cutover and COMPLETE holds the old shard of a keyspace that was
  // unsharded (NOT SERVING, named by no range): restoring accepts it.
  auto name = detail::insertShard(db, ks.name, shard.name, shard.serving, /*restoring=*/true);
  if (!name) return at(shard.path, name.takeError());
  // The primary first: a replica needs its shard's primary to exist.
  std::vector<const detail::BackendDoc*> order;
  for (const auto& b : shard.backends) {
    order.push_back(&b);
  }
  std::stable_partition(order.begin(), order.end(), [](const detail::BackendDoc* b) {
    return b->spec.role == BackendRole::kPrimary;
  });
  for (const detail::BackendDoc* b : order) {
    if (Status s = at(b->path, detail::insertBackend(db, ks.name, *name, b->spec)); !s) return s;
  }
  return {};
}

Status applyDocument(sqlite3* db, const CatalogDoc& doc) {
  // Every keyspace before any shard, table or user, so order in the file does not matter.
  for (const auto& ks : doc.keyspaces) {
    if (Status s = at(ks.path, detail::insertKeyspace(db, ks.name, ks.sharded)); !s) return s;
    if (ks.scatterWrites != ScatterWrites::kAllow) {
      Status s = detail::updateScatterWrites(db, ks.name, ks.scatterWrites);
      if (!s) return at(ks.path, std::move(s));
    }
    if (ks.transactionMode != TransactionMode::kMulti) {
      Status s = detail::updateTransactionMode(db, ks.name, ks.transactionMode);
      if (!s) return at(ks.path, std::move(s));
    }
    if (ks.autoFailover) {
      Status s = detail::updateAutoFailover(db, ks.name, true);
      if (!s) return at(ks.path, std::move(s));
    }
  }
  for (const auto& ks : doc.keyspaces) {
    for (const auto& shard : ks.shards) {
      if (Status s = applyShard(db, ks, shard); !s) return s;
    }
    for (const auto& t : ks.tables) {
      Status s = detail::insertTableRule(db, ks.name, t.name, t.kind, t.shardKey, t.hashFunction);
      if (!s) return at(t.path, std::move(s));
    }
  }
  for (const auto& u : doc.users) {
    Status s = detail::insertUser(db, u.name, u.nativeHash, u.sha2Hash, u.keyspaces);
    if (!s) return at(u.path, std::move(s));
  }
  return {};
}

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void putString(Writer& w, std::string_view v) {
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
void putKey(Writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void putString(Writer& w, std::string_view k, std::string_view v) {
  putKey(w, k);
  putString(w, v);
}
void putUint(Writer& w, std::string_view k, std::uint32_t v) {
  putKey(w, k);
  w.Uint(v);
}
void putBool(Writer& w, std::string_view k, bool v) {
  putKey(w, k);
  w.Bool(v);
}
void startArray(Writer& w, std::string_view k) {
  putKey(w, k);
  w.StartArray();
}

void writeBackend(Writer& w, const Backend& b) {
  w.StartObject();
  putString(w, "host", b.address.host);
  putUint(w, "port", b.address.port);
  putString(w, "role", toString(b.role));
  putUint(w, "weight", b.weight);
  putString(w, "state", toString(b.state));
  putUint(w, "max_lag", b.maxLagSeconds);
  w.EndObject();
}

void writeKeyspace(Writer& w, const Snapshot& snap, const Keyspace& ks) {
  w.StartObject();
  putString(w, "name", ks.name);
  putBool(w, "sharded", ks.sharded);
  // Only when set: a dump of a catalog that never changed it reads as it did before the setting.
  if (ks.scatterWrites != ScatterWrites::kAllow) {
    putString(w, "scatter_writes", toString(ks.scatterWrites));
  }
  if (ks.transactionMode != TransactionMode::kMulti) {
    putString(w, "transaction_mode", toString(ks.transactionMode));
  }
  if (ks.autoFailover) putBool(w, "auto_failover", true);
  startArray(w, "shards");
  for (std::size_t i : ks.shards) {
    const Shard& shard = snap.shards[i];
    w.StartObject();
    putString(w, "name", shard.name);
    putBool(w, "serving", shard.serving);
    startArray(w, "backends");
    for (std::size_t b : shard.backends) {
      writeBackend(w, snap.backends[b]);
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  startArray(w, "tables");
  for (const TableRule& t : snap.tables) {
    if (t.keyspace != ks.name) continue;
    w.StartObject();
    putString(w, "name", t.table);
    putString(w, "kind", toString(t.kind));
    if (t.kind == TableKind::kSharded) {
      putString(w, "shard_key", t.shardKey);
      putString(w, "hash_function", t.hashFunction);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void writeUser(Writer& w, const User& u) {
  w.StartObject();
  putString(w, "name", u.name);
  putString(w, "native_hash", detail::toHex(u.nativeHash));
  putString(w, "sha2_hash", detail::toHex(u.sha2Hash));
  if (!u.keyspaces.empty()) {
    startArray(w, "keyspaces");
    for (const auto& k : u.keyspaces) {
      putString(w, k);
    }
    w.EndArray();
  }
  w.EndObject();
}

}  // namespace

Status Catalog::importJson(std::string_view json, const ChangeContext& ctx) {
  // Parsed before the transaction: a malformed document never takes the write lock.
  auto doc = detail::parseCatalogJson(json);
  if (!doc) return doc.takeError();
  return detail::applyChange(db_, version_, ctx, [&] { return applyDocument(db_, *doc); });
}

Result<std::string> Catalog::exportJson() {
  auto snap = snapshot();
  if (!snap) return snap.takeError();
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);
  w.StartObject();
  startArray(w, "keyspaces");
  for (const Keyspace& ks : (*snap)->keyspaces) {
    writeKeyspace(w, **snap, ks);
  }
  w.EndArray();
  startArray(w, "users");
  for (const User& u : (*snap)->users) {
    writeUser(w, u);
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

}  // namespace shardproxy::catalog
