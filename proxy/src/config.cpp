#include "shardproxy/proxy/config.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace shardproxy::proxy {
namespace {

Error invalid(const std::string& msg) {
  return Error::make(ErrorCode::kConfigInvalid, msg);
}

using Value = rapidjson::Value;

Result<std::string> getString(const Value& v, const std::string& key) {
  if (!v.IsString()) return invalid(fmt::format("config: '{}' must be a string", key));
  return std::string(v.GetString(), v.GetStringLength());
}
Result<std::uint64_t> getUint(const Value& v, const std::string& key) {
  if (!v.IsUint64())
    return invalid(fmt::format("config: '{}' must be a non-negative integer", key));
  return v.GetUint64();
}
Result<bool> getBool(const Value& v, const std::string& key) {
  if (!v.IsBool()) return invalid(fmt::format("config: '{}' must be true or false", key));
  return v.GetBool();
}

Status parseUser(const Value& v, const std::string& key, ConfigUser& out) {
  if (v.IsString()) {
    auto u = parseUserSpec(v.GetString(), key);
    if (!u) return u.takeError();
    out = *u;
    return {};
  }
  if (!v.IsObject()) return invalid(fmt::format("config: '{}' must be an object", key));
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string name = it->name.GetString();
    std::string path = key + "." + name;
    if (name == "name") {
      auto s = getString(it->value, path);
      if (!s) return s.takeError();
      out.name = *s;
    } else if (name == "password") {
      auto s = getString(it->value, path);
      if (!s) return s.takeError();
      out.password = *s;
    } else if (name == "native_hash" || name == "sha2_hash") {
      auto s = getString(it->value, path);
      if (!s) return s.takeError();
      (name == "native_hash" ? out.nativeHashHex : out.sha2HashHex) = *s;
    } else if (name == "keyspaces") {
      if (!it->value.IsArray()) return invalid(fmt::format("config: '{}' must be an array", path));
      for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
        auto s = getString(it->value[i], fmt::format("{}[{}]", path, i));
        if (!s) return s.takeError();
        out.keyspaces.push_back(*s);
      }
    } else {
      return invalid(fmt::format("config: unknown key '{}'", path));
    }
  }
  if (out.name.empty()) return invalid(fmt::format("config: '{}.name' is required", key));
  return {};
}

Status parseBackend(const Value& v, const std::string& key, ConfigBackend& cb) {
  catalog::Endpoint& out = cb.address;
  if (v.IsString()) {
    auto hp = parseHostPort(v.GetString(), key);
    if (!hp) return hp.takeError();
    out.host = hp->first;
    out.port = hp->second;
    return {};
  }
  if (!v.IsObject()) return invalid(fmt::format("config: '{}' must be an object", key));
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string name = it->name.GetString();
    std::string path = key + "." + name;
    if (name == "host") {
      auto s = getString(it->value, path);
      if (!s) return s.takeError();
      out.host = *s;
    } else if (name == "port") {
      auto n = getUint(it->value, path);
      if (!n) return n.takeError();
      if (*n == 0 || *n > 65535) return invalid(fmt::format("config: '{}' is not a port", path));
      out.port = static_cast<std::uint16_t>(*n);
    } else if (name == "role") {
      auto s = getString(it->value, path);
      if (!s) return s.takeError();
      if (*s == "primary") {
        cb.role = catalog::BackendRole::kPrimary;
      } else if (*s == "replica") {
        cb.role = catalog::BackendRole::kReplica;
      } else {
        return invalid(fmt::format("config: '{}' must be \"primary\" or \"replica\"", path));
      }
    } else {
      return invalid(fmt::format("config: unknown key '{}'", path));
    }
  }
  if (out.host.empty()) return invalid(fmt::format("config: '{}.host' is required", key));
  return {};
}

Status parseMillis(const Value& v, const std::string& key, std::chrono::milliseconds& out) {
  auto n = getUint(v, key);
  if (!n) return n.takeError();
  out = std::chrono::milliseconds(*n);
  return {};
}

Status parsePool(const Value& v, PoolConfig& pool) {
  if (!v.IsObject()) return invalid("config: 'pool' must be an object");
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string name = it->name.GetString();
    std::string path = "pool." + name;
    Status st;
    if (name == "max_connections" || name == "min_idle") {
      auto n = getUint(it->value, path);
      if (!n) return n.takeError();
      (name == "max_connections" ? pool.maxConnections : pool.minIdle) = *n;
    } else if (name == "idle_timeout_ms") {
      st = parseMillis(it->value, path, pool.idleTimeout);
    } else if (name == "acquire_timeout_ms") {
      st = parseMillis(it->value, path, pool.acquireTimeout);
    } else if (name == "connect_timeout_ms") {
      st = parseMillis(it->value, path, pool.connectTimeout);
    } else if (name == "ping_after_idle_ms") {
      st = parseMillis(it->value, path, pool.pingAfterIdle);
    } else {
      return invalid(fmt::format("config: unknown key '{}'", path));
    }
    if (!st) return st;
  }
  return {};
}

Status parseTls(const Value& v, Config& c) {
  if (!v.IsObject()) return invalid("config: 'tls' must be an object");
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string name = it->name.GetString();
    std::string path = "tls." + name;
    if (name == "cert" || name == "key") {
      auto s = getString(it->value, path);
      if (!s) return s.takeError();
      (name == "cert" ? c.tlsCert : c.tlsKey) = *s;
    } else if (name == "backend") {
      auto b = getBool(it->value, path);
      if (!b) return b.takeError();
      c.backendTls = *b;
    } else {
      return invalid(fmt::format("config: unknown key '{}'", path));
    }
  }
  return {};
}

}  // namespace

std::optional<Config::ErrorLog> parseErrorLog(std::string_view text) {
  if (text == "off") return Config::ErrorLog::kOff;
  if (text == "proxy") return Config::ErrorLog::kProxy;
  if (text == "all") return Config::ErrorLog::kAll;
  return std::nullopt;
}

Result<std::pair<std::string, std::uint16_t>> parseHostPort(const std::string& text,
                                                            const std::string& what) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return invalid(fmt::format("{}: '{}' is not host:port", what, text));
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    return invalid(fmt::format("{}: '{}' has an invalid port", what, text));
  }
  if (port == 0 || port > 65535)
    return invalid(fmt::format("{}: '{}' has an invalid port", what, text));
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

Result<ConfigUser> parseUserSpec(const std::string& text, const std::string& what) {
  auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) {
    return invalid(fmt::format("{}: '{}' is not name:password", what, text));
  }
  return ConfigUser{text.substr(0, colon), text.substr(colon + 1), {}};
}

std::string bootstrapJson(const Config& c) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("keyspaces");
  w.StartArray();
  if (!c.keyspacesJson.empty()) {
    rapidjson::Document ks;
    ks.Parse(c.keyspacesJson.c_str());
    for (auto& k : ks.GetArray())
      k.Accept(w);
  }
  if (!c.backends.empty()) {
    // The shorthand: one unsharded keyspace, "default", whose shard holds the listed backends.
    w.StartObject();
    w.Key("name");
    w.String("default");
    w.Key("sharded");
    w.Bool(false);
    w.Key("shards");
    w.StartArray();
    w.StartObject();
    w.Key("name");
    w.String("0");
    w.Key("backends");
    w.StartArray();
    bool primarySeen = false;
    for (const auto& b : c.backends) {
      bool primary = b.role == catalog::BackendRole::kPrimary && !primarySeen;
      primarySeen = primarySeen || primary;
      w.StartObject();
      w.Key("host");
      w.String(b.address.host.c_str());
      w.Key("port");
      w.Uint(b.address.port);
      w.Key("role");
      w.String(primary ? "primary" : "replica");
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("users");
  w.StartArray();
  for (const auto& u : c.users) {
    w.StartObject();
    w.Key("name");
    w.String(u.name.c_str());
    if (!u.nativeHashHex.empty() || !u.sha2HashHex.empty()) {
      w.Key("native_hash");
      w.String(u.nativeHashHex.c_str());
      w.Key("sha2_hash");
      w.String(u.sha2HashHex.c_str());
    } else {
      w.Key("password");
      w.String(u.password.c_str());
    }
    if (!u.keyspaces.empty()) {
      w.Key("keyspaces");
      w.StartArray();
      for (const auto& k : u.keyspaces)
        w.String(k.c_str());
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

Status applyJsonConfig(const std::string& json, Config& c) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError()) {
    return invalid(fmt::format("config: JSON error at offset {}: {}", doc.GetErrorOffset(),
                               rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsObject()) return invalid("config: the top level must be a JSON object");
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string key = it->name.GetString();
    const Value& v = it->value;
    Status st;
    if (key == "listen") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      auto hp = parseHostPort(*s, "config: 'listen'");
      if (!hp) return hp.takeError();
      c.listenHost = hp->first;
      c.listenPort = hp->second;
    } else if (key == "threads") {
      auto n = getUint(v, key);
      if (!n) return n.takeError();
      c.threads = static_cast<unsigned>(*n);
    } else if (key == "log_level") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      c.logLevel = *s;
    } else if (key == "log_format") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      if (*s != "text" && *s != "json")
        return invalid("config: 'log_format' must be \"text\" or \"json\"");
      c.logJson = *s == "json";
    } else if (key == "backends") {
      if (!v.IsArray()) return invalid("config: 'backends' must be an array");
      c.backends.clear();
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        ConfigBackend b;
        st = parseBackend(v[i], fmt::format("backends[{}]", i), b);
        if (!st) return st;
        c.backends.push_back(b);
      }
    } else if (key == "users") {
      if (!v.IsArray()) return invalid("config: 'users' must be an array");
      c.users.clear();
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        ConfigUser u;
        st = parseUser(v[i], fmt::format("users[{}]", i), u);
        if (!st) return st;
        c.users.push_back(u);
      }
    } else if (key == "admin_users") {
      if (!v.IsArray()) return invalid("config: 'admin_users' must be an array");
      c.adminUsers.clear();
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        ConfigUser u;
        st = parseUser(v[i], fmt::format("admin_users[{}]", i), u);
        if (!st) return st;
        c.adminUsers.push_back(u);
      }
    } else if (key == "keyspaces") {
      if (!v.IsArray()) return invalid("config: 'keyspaces' must be an array");
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
      v.Accept(writer);
      c.keyspacesJson = buf.GetString();  // validated key by key by the catalog's importer
    } else if (key == "backend_user") {
      ConfigUser u;
      st = parseUser(v, key, u);
      if (st) c.backendUser = u;
    } else if (key == "max_allowed_packet") {
      auto n = getUint(v, key);
      if (!n) return n.takeError();
      c.maxAllowedPacket = *n;
    } else if (key == "server_version") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      c.serverVersion = *s;
    } else if (key == "auth_plugin") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      c.authPlugin = *s;
    } else if (key == "tls") {
      st = parseTls(v, c);
    } else if (key == "pool") {
      st = parsePool(v, c.pool);
    } else if (key == "shutdown_grace_ms") {
      st = parseMillis(v, key, c.shutdownGrace);
    } else if (key == "read_your_writes_ms" || key == "causal_read_timeout_ms") {
      auto n = getUint(v, key);
      if (!n) return n.takeError();
      if (*n > 3600000) {
        return Error::make(ErrorCode::kConfigInvalid,
                           "config: '" + key + "' must be at most 3600000 (one hour)");
      }
      (key == "read_your_writes_ms" ? c.readYourWritesMs : c.causalReadTimeoutMs) =
          static_cast<std::uint32_t>(*n);
    } else if (key == "health_user") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      auto u = parseUserSpec(*s, "config: 'health_user'");
      if (!u) return u.takeError();
      c.healthUser = *u;
    } else if (key == "dba_user") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      auto u = parseUserSpec(*s, "config: 'dba_user'");
      if (!u) return u.takeError();
      c.dbaUser = *u;
    } else if (key == "replication_user") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      auto u = parseUserSpec(*s, "config: 'replication_user'");
      if (!u) return u.takeError();
      c.replicationUser = *u;
    } else if (key == "health_fall" || key == "health_rise") {
      auto n = getUint(v, key);
      if (!n) return n.takeError();
      if (*n < 1 || *n > 100)
        return Error::make(ErrorCode::kConfigInvalid,
                           "config: '" + key + "' must be between 1 and 100");
      (key == "health_fall" ? c.healthFall : c.healthRise) = static_cast<int>(*n);
    } else if (key == "buffer_max_statements" || key == "buffer_max_bytes") {
      auto n = getUint(v, key);
      if (!n) return n.takeError();
      (key == "buffer_max_statements" ? c.bufferMaxStatements : c.bufferMaxBytes) = *n;
    } else if (key == "hold_timeout_ms") {
      st = parseMillis(v, key, c.holdTimeout);
    } else if (key == "twopc_recovery_interval_ms") {
      st = parseMillis(v, key, c.twopcRecoveryInterval);
    } else if (key == "twopc_abandon_ms") {
      st = parseMillis(v, key, c.twopcAbandon);
    } else if (key == "health_interval_ms") {
      st = parseMillis(v, key, c.healthInterval);
    } else if (key == "schema_refresh_interval_ms") {
      st = parseMillis(v, key, c.schemaRefreshInterval);
    } else if (key == "merge_buffer_rows") {
      auto n = getUint(v, key);
      if (!n) return n.takeError();
      if (*n == 0)
        return Error::make(ErrorCode::kConfigInvalid,
                           "config: 'merge_buffer_rows' must be at least 1");
      c.mergeBufferRows = *n;
    } else if (key == "max_client_connections") {
      auto n = getUint(v, key);
      if (!n) return n.takeError();
      c.maxClientConnections = *n;
    } else if (key == "admin_listen") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      if (*s == "off" || s->empty()) {
        c.adminEnabled = false;
      } else {
        auto hp = parseHostPort(*s, "config: 'admin_listen'");
        if (!hp) return hp.takeError();
        c.adminListenHost = hp->first;
        c.adminListenPort = hp->second;
      }
    } else if (key == "slow_query_ms") {
      auto n = getUint(v, key);
      if (!n) return n.takeError();
      c.slowQuery = std::chrono::milliseconds(*n);
    } else if (key == "log_statement_errors") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      auto mode = parseErrorLog(*s);
      if (!mode)
        return Error::make(ErrorCode::kConfigInvalid,
                           "config: 'log_statement_errors' must be off, proxy or all");
      c.statementErrors = *mode;
    } else if (key == "query_digests") {
      auto b = getBool(v, key);
      if (!b) return b.takeError();
      c.queryDigests = *b;
    } else if (key == "query_digests_max") {
      auto n = getUint(v, key);
      if (!n) return n.takeError();
      c.queryDigestsMax = *n;
    } else if (key == "http_listen") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      if (*s == "off" || s->empty()) {
        c.httpEnabled = false;
      } else {
        auto hp = parseHostPort(*s, "config: 'http_listen'");
        if (!hp) return hp.takeError();
        c.httpListenHost = hp->first;
        c.httpListenPort = hp->second;
      }
    } else if (key == "catalog") {
      auto s = getString(v, key);
      if (!s) return s.takeError();
      c.catalogPath = *s;
    } else {
      return invalid(fmt::format("config: unknown key '{}'", key));
    }
    if (!st) return st;
  }
  return {};
}

Status validate(const Config& c) {
  if (c.authPlugin != "mysql_native_password" && c.authPlugin != "caching_sha2_password") {
    return invalid("config: 'auth_plugin' must be mysql_native_password or caching_sha2_password");
  }
  if (c.maxAllowedPacket < 1024 || c.maxAllowedPacket > (1ULL << 30)) {
    return invalid("config: 'max_allowed_packet' must be between 1024 and 1073741824");
  }
  if (c.tlsCert.empty() != c.tlsKey.empty()) {
    return invalid("config: 'tls.cert' and 'tls.key' must be given together");
  }
  if (c.pool.maxConnections == 0) return invalid("config: 'pool.max_connections' must be > 0");
  return {};
}

}  // namespace shardproxy::proxy
