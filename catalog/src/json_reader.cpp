#include "json_reader.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>

#include "model.h"

namespace shardproxy::catalog::detail {
namespace {

using rapidjson::Value;

// Walks the document, remembering the first error; later reads after an error are no-ops that
// return defaults, so the per-object functions read straight through without checks per field.
class Reader {
 public:
  bool failed() const { return error_.has_value(); }
  Error takeError() { return std::move(*error_); }

  void fail(std::string_view path, std::string_view what) {
    if (!error_) {
      error_ =
          Error::make(ErrorCode::kConfigInvalid,
                      fmt::format("catalog JSON: {}: {}", path.empty() ? "top level" : path, what));
    }
  }

  // `v` must be an object whose keys are all in `known`, each once.
  bool object(const Value& v, const std::string& path,
              std::initializer_list<std::string_view> known) {
    if (failed()) return false;
    if (!v.IsObject()) {
      fail(path, "must be an object");
      return false;
    }
    std::set<std::string_view> seen;
    for (const auto& m : v.GetObject()) {
      const std::string_view key(m.name.GetString(), m.name.GetStringLength());
      const std::string keyPath = join(path, key);
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail(keyPath, "unknown key");
        return false;
      }
      if (!seen.insert(key).second) {
        fail(keyPath, "duplicate key");
        return false;
      }
    }
    return true;
  }

  std::optional<std::string> string(const Value& obj, const std::string& path, const char* key,
                                    bool required) {
    const Value* v = member(obj, path, key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->IsString()) {
      fail(join(path, key), "must be a string");
      return std::nullopt;
    }
    return std::string(v->GetString(), v->GetStringLength());
  }

  bool boolean(const Value& obj, const std::string& path, const char* key, bool fallback) {
    const Value* v = member(obj, path, key, false);
    if (v == nullptr) return fallback;
    if (!v->IsBool()) {
      fail(join(path, key), "must be true or false");
      return fallback;
    }
    return v->GetBool();
  }

  std::uint32_t number(const Value& obj, const std::string& path, const char* key, bool required,
                       std::uint32_t fallback, std::uint32_t min, std::uint32_t max) {
    const Value* v = member(obj, path, key, required);
    if (v == nullptr) return fallback;
    if (!v->IsUint() || v->GetUint() < min || v->GetUint() > max) {
      fail(join(path, key), fmt::format("must be an integer from {} to {}", min, max));
      return fallback;
    }
    return v->GetUint();
  }

  // An optional array member; nullptr when absent.
  const Value* array(const Value& obj, const std::string& path, const char* key) {
    const Value* v = member(obj, path, key, false);
    if (v != nullptr && !v->IsArray()) {
      fail(join(path, key), "must be an array");
      return nullptr;
    }
    return v;
  }

  static std::string join(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
  }
  static std::string index(std::string_view path, const char* key, std::size_t i) {
    return fmt::format("{}[{}]", join(path, key), i);
  }

 private:
  const Value* member(const Value& obj, const std::string& path, const char* key, bool required) {
    if (failed()) return nullptr;
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd()) {
      if (required) fail(join(path, key), "is required");
      return nullptr;
    }
    return &it->value;
  }

  std::optional<Error> error_;
};

template <typename Enum>
Enum enumField(Reader& r, const Value& obj, const std::string& path, const char* key, bool required,
               Enum fallback, std::optional<Enum> (*parse)(std::string_view),
               std::string_view allowed) {
  auto text = r.string(obj, path, key, required);
  if (!text) return fallback;
  auto value = parse(*text);
  if (!value) r.fail(Reader::join(path, key), fmt::format("must be one of {}", allowed));
  return value.value_or(fallback);
}

BackendDoc readBackend(Reader& r, const Value& v, const std::string& path) {
  BackendDoc doc;
  doc.path = path;
  if (!r.object(v, path, {"host", "port", "role", "weight", "state", "max_lag"})) return doc;
  doc.spec.address.host = r.string(v, path, "host", true).value_or("");
  doc.spec.address.port = static_cast<std::uint16_t>(r.number(v, path, "port", true, 0, 1, 65535));
  doc.spec.role = enumField(r, v, path, "role", true, BackendRole::kReplica, parseRole,
                            R"("primary", "replica")");
  doc.spec.weight = r.number(v, path, "weight", false, kDefaultWeight, 1,
                             std::numeric_limits<std::uint32_t>::max());
  doc.spec.state = enumField(r, v, path, "state", false, BackendState::kOnline, parseState,
                             R"("online", "draining", "offline")");
  doc.spec.maxLagSeconds = r.number(v, path, "max_lag", false, kDefaultMaxLagSeconds, 0,
                                    std::numeric_limits<std::uint32_t>::max());
  return doc;
}

ShardDoc readShard(Reader& r, const Value& v, const std::string& path) {
  ShardDoc doc;
  doc.path = path;
  if (!r.object(v, path, {"name", "serving", "backends"})) return doc;
  doc.name = r.string(v, path, "name", true).value_or("");
  doc.serving = r.boolean(v, path, "serving", true);
  if (const Value* list = r.array(v, path, "backends")) {
    for (rapidjson::SizeType i = 0; i < list->Size() && !r.failed(); ++i) {
      doc.backends.push_back(readBackend(r, (*list)[i], Reader::index(path, "backends", i)));
    }
  }
  return doc;
}

TableDoc readTable(Reader& r, const Value& v, const std::string& path) {
  TableDoc doc;
  doc.path = path;
  if (!r.object(v, path, {"name", "kind", "shard_key", "hash_function"})) return doc;
  doc.name = r.string(v, path, "name", true).value_or("");
  doc.kind = enumField(r, v, path, "kind", true, TableKind::kSharded, parseKind,
                       R"("sharded", "reference")");
  doc.shardKey = r.string(v, path, "shard_key", false).value_or("");
  doc.hashFunction = r.string(v, path, "hash_function", false).value_or(std::string(kHashFunction));
  return doc;
}

KeyspaceDoc readKeyspace(Reader& r, const Value& v, const std::string& path) {
  KeyspaceDoc doc;
  doc.path = path;
  if (!r.object(v, path,
                {"name", "sharded", "scatter_writes", "transaction_mode", "auto_failover", "shards",
                 "tables"}))
    return doc;
  doc.name = r.string(v, path, "name", true).value_or("");
  doc.sharded = r.boolean(v, path, "sharded", false);
  doc.scatterWrites = enumField(r, v, path, "scatter_writes", false, ScatterWrites::kAllow,
                                parseScatterWrites, R"("allow", "deny")");
  doc.transactionMode = enumField(r, v, path, "transaction_mode", false, TransactionMode::kMulti,
                                  parseTransactionMode, R"("single", "multi", "twopc")");
  doc.autoFailover = r.boolean(v, path, "auto_failover", false);
  if (const Value* list = r.array(v, path, "shards")) {
    for (rapidjson::SizeType i = 0; i < list->Size() && !r.failed(); ++i) {
      doc.shards.push_back(readShard(r, (*list)[i], Reader::index(path, "shards", i)));
    }
  }
  if (const Value* list = r.array(v, path, "tables")) {
    for (rapidjson::SizeType i = 0; i < list->Size() && !r.failed(); ++i) {
      doc.tables.push_back(readTable(r, (*list)[i], Reader::index(path, "tables", i)));
    }
  }
  return doc;
}

// A user gives either a clear-text password (hashed here, never stored) or both hashes in hex,
// as exportJson writes them.
std::optional<std::string> readHash(Reader& r, const Value& v, const std::string& path,
                                    const char* key, std::size_t size) {
  auto hex = r.string(v, path, key, false);
  if (!hex) return std::nullopt;
  auto bytes = fromHex(*hex);
  if (!bytes || (!bytes->empty() && bytes->size() != size)) {
    r.fail(Reader::join(path, key),
           fmt::format("must be {} hex digits (or empty for an empty password)", size * 2));
  }
  return bytes.value_or("");
}

UserDoc readUser(Reader& r, const Value& v, const std::string& path) {
  UserDoc doc;
  doc.path = path;
  if (!r.object(v, path, {"name", "password", "native_hash", "sha2_hash", "keyspaces"})) return doc;
  doc.name = r.string(v, path, "name", true).value_or("");
  auto password = r.string(v, path, "password", false);
  auto native = readHash(r, v, path, "native_hash", 20);
  auto sha2 = readHash(r, v, path, "sha2_hash", 32);
  if (r.failed()) return doc;
  if (password && (native || sha2)) {
    r.fail(path, R"(give either "password" or "native_hash" and "sha2_hash", not both)");
  } else if (password) {
    doc.nativeHash = nativePasswordHash(*password);
    doc.sha2Hash = sha2PasswordHash(*password);
  } else if (native && sha2) {
    doc.nativeHash = *native;
    doc.sha2Hash = *sha2;
  } else {
    r.fail(path, R"(needs "password", or both "native_hash" and "sha2_hash")");
  }
  if (const Value* list = r.array(v, path, "keyspaces")) {
    for (rapidjson::SizeType i = 0; i < list->Size() && !r.failed(); ++i) {
      if (!(*list)[i].IsString()) {
        r.fail(Reader::index(path, "keyspaces", i), "must be a string");
      } else {
        doc.keyspaces.emplace_back((*list)[i].GetString(), (*list)[i].GetStringLength());
      }
    }
  }
  return doc;
}

}  // namespace

Result<CatalogDoc> parseCatalogJson(std::string_view json) {
  rapidjson::Document root;
  root.Parse<rapidjson::kParseCommentsFlag>(json.data(), json.size());
  if (root.HasParseError()) {
    return Error::make(
        ErrorCode::kConfigInvalid,
        fmt::format("catalog JSON: parse error at offset {}: {}", root.GetErrorOffset(),
                    rapidjson::GetParseError_En(root.GetParseError())));
  }
  Reader r;
  CatalogDoc doc;
  if (!r.object(root, "", {"keyspaces", "users"})) return r.takeError();
  if (const Value* list = r.array(root, "", "keyspaces")) {
    for (rapidjson::SizeType i = 0; i < list->Size() && !r.failed(); ++i) {
      doc.keyspaces.push_back(readKeyspace(r, (*list)[i], Reader::index("", "keyspaces", i)));
    }
  }
  if (const Value* list = r.array(root, "", "users")) {
    for (rapidjson::SizeType i = 0; i < list->Size() && !r.failed(); ++i) {
      doc.users.push_back(readUser(r, (*list)[i], Reader::index("", "users", i)));
    }
  }
  if (r.failed()) return r.takeError();
  return doc;
}

}  // namespace shardproxy::catalog::detail
