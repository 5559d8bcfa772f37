// metrics.h: merging per-thread counters and writing them in Prometheus' text format.
#include "shardproxy/proxy/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace shardproxy::proxy::metrics {

std::string_view kindName(Kind k) {
  switch (k) {
    case Kind::kSelect:
      return "select";
    case Kind::kInsert:
      return "insert";
    case Kind::kUpdate:
      return "update";
    case Kind::kDelete:
      return "delete";
    case Kind::kTransaction:
      return "transaction";
    case Kind::kSet:
      return "set";
    case Kind::kUse:
      return "use";
    case Kind::kShow:
      return "show";
    case Kind::kDdl:
      return "ddl";
    case Kind::kLock:
      return "lock";
    case Kind::kExplain:
      return "explain";
    case Kind::kOther:
      return "other";
    case Kind::kPrepare:
      return "prepare";
    case Kind::kExecute:
      return "execute";
    case Kind::kCommand:
      return "command";
    case Kind::kCount_:
      break;
  }
  return "unknown";
}

void Histogram::merge(const Histogram& o) {
  for (std::size_t i = 0; i < counts.size(); ++i)
    counts[i] += o.counts[i];
  count += o.count;
  sumNs += o.sumNs;
}

void BackendCounters::merge(const BackendCounters& o) {
  statements += o.statements;
  errors += o.errors;
  bytesOut += o.bytesOut;
  bytesIn += o.bytesIn;
  latency.merge(o.latency);
}

void Counters::merge(const Counters& o) {
  connectionsAccepted += o.connectionsAccepted;
  connectionsRefused += o.connectionsRefused;
  firstAsks += o.firstAsks;
  firstAsksAgain += o.firstAsksAgain;
  for (std::size_t i = 0; i < kKinds; ++i)
    statements[i] += o.statements[i];
  for (const auto& [code, n] : o.errors)
    errors[code] += n;
  for (const auto& [address, b] : o.backends)
    backends[address].merge(b);
  for (const auto& [name, s] : o.shards)
    shards[name].merge(s);
}

BackendCounters& ThreadMetrics::backend(std::string_view address) {
  auto it = c_.backends.find(address);
  if (it != c_.backends.end()) return it->second;
  return c_.backends.emplace(std::string(address), BackendCounters{}).first->second;
}

ShardCounters& ThreadMetrics::shard(std::string_view keyspace, std::string_view shard) {
  key_.assign(keyspace);
  key_ += '/';
  key_ += shard;
  auto it = c_.shards.find(std::string_view(key_));
  if (it != c_.shards.end()) return it->second;
  return c_.shards.emplace(key_, ShardCounters{}).first->second;
}

// --- Prometheus text format ------------------------------------------------------------------

namespace {

void appendEscaped(std::string& out, std::string_view v) {
  for (char ch : v) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '"') {
      out += "\\\"";
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out += ch;
    }
  }
}

std::string seconds(std::uint64_t ns) {
  return fmt::format("{}", static_cast<double>(ns) / 1e9);
}

}  // namespace

void PromWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PromWriter::head(std::string_view name, const Labels& labels, std::string_view extraName,
                      std::string_view extraValue) {
  out_ += name;
  if (labels.empty() && extraName.empty()) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  auto one = [&](std::string_view k, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    appendEscaped(out_, v);
    out_ += '"';
  };
  for (const auto& [k, v] : labels)
    one(k, v);
  if (!extraName.empty()) one(extraName, extraValue);
  out_ += "} ";
}

void PromWriter::sample(std::string_view name, const Labels& labels, double value) {
  head(name, labels);
  out_ += fmt::format("{}\n", value);
}

void PromWriter::sample(std::string_view name, const Labels& labels, std::uint64_t value) {
  head(name, labels);
  out_ += fmt::format("{}\n", value);
}

void PromWriter::histogram(std::string_view name, const Labels& labels, const Histogram& h) {
  const std::string bucket = fmt::format("{}_bucket", name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < Histogram::kBoundsNs.size(); ++i) {
    cumulative += h.counts[i];
    head(bucket, labels, "le", seconds(Histogram::kBoundsNs[i]));
    out_ += fmt::format("{}\n", cumulative);
  }
  head(bucket, labels, "le", "+Inf");
  out_ += fmt::format("{}\n", h.count);
  head(fmt::format("{}_sum", name), labels);
  out_ += seconds(h.sumNs) + "\n";
  head(fmt::format("{}_count", name), labels);
  out_ += fmt::format("{}\n", h.count);
}

void AdminMetrics::error(std::uint16_t code) {
  std::lock_guard lock(mu_);
  ++errors_[code];
}

ListenerFigures AdminMetrics::copy() const {
  ListenerFigures f;
  f.open = open_.load(std::memory_order_relaxed);
  f.accepted = accepted_.load(std::memory_order_relaxed);
  f.refused = refused_.load(std::memory_order_relaxed);
  f.statements = statements_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  f.errors = errors_;
  return f;
}

void renderCounters(const Counters& c, std::uint64_t appOpen, const ListenerFigures& admin,
                    PromWriter& w) {
  w.family("shardproxy_client_connections", "gauge", "Client connections open now, by listener.");
  w.sample("shardproxy_client_connections", {{"listener", "app"}}, appOpen);
  w.sample("shardproxy_client_connections", {{"listener", "admin"}}, admin.open);
  w.family("shardproxy_client_connections_total", "counter",
           "Client connections that logged in, by listener.");
  w.sample("shardproxy_client_connections_total", {{"listener", "app"}}, c.connectionsAccepted);
  w.sample("shardproxy_client_connections_total", {{"listener", "admin"}}, admin.accepted);
  w.family("shardproxy_client_connections_refused_total", "counter",
           "Client connections refused (too many, or the handshake or login failed), by listener.");
  w.sample("shardproxy_client_connections_refused_total", {{"listener", "app"}},
           c.connectionsRefused);
  w.sample("shardproxy_client_connections_refused_total", {{"listener", "admin"}}, admin.refused);

  w.family("shardproxy_merge_first_asks_total", "counter",
           "ORDER BY ... LIMIT merges whose shards were first asked for fewer rows than the LIMIT, "
           "by outcome (enough, or asked again with the full LIMIT).");
  w.sample("shardproxy_merge_first_asks_total", {{"outcome", "enough"}},
           c.firstAsks - c.firstAsksAgain);
  w.sample("shardproxy_merge_first_asks_total", {{"outcome", "asked_again"}}, c.firstAsksAgain);

  w.family("shardproxy_statements_total", "counter",
           "Statements and commands from clients, by listener and kind (the admin port's are "
           "kind \"admin\").");
  for (std::size_t i = 0; i < kKinds; ++i)
    w.sample("shardproxy_statements_total",
             {{"listener", "app"}, {"kind", kindName(static_cast<Kind>(i))}}, c.statements[i]);
  w.sample("shardproxy_statements_total", {{"listener", "admin"}, {"kind", "admin"}},
           admin.statements);

  w.family("shardproxy_errors_total", "counter",
           "Error packets sent to clients (the proxy's own and the backends'), by listener and "
           "MySQL code.");
  std::map<std::uint16_t, std::uint64_t> errors(c.errors.begin(), c.errors.end());
  for (const auto& [code, n] : errors) {
    const std::string name = std::to_string(code);
    w.sample("shardproxy_errors_total", {{"listener", "app"}, {"code", name}}, n);
  }
  for (const auto& [code, n] : admin.errors) {
    const std::string name = std::to_string(code);
    w.sample("shardproxy_errors_total", {{"listener", "admin"}, {"code", name}}, n);
  }

  std::map<std::string_view, const BackendCounters*> backends;
  for (const auto& [a, b] : c.backends)
    backends.emplace(a, &b);
  w.family("shardproxy_backend_statements_total", "counter",
           "Commands sent to a backend for clients.");
  for (const auto& [a, b] : backends)
    w.sample("shardproxy_backend_statements_total", {{"backend", a}}, b->statements);
  w.family("shardproxy_backend_errors_total", "counter",
           "Error packets a backend answered to clients' commands.");
  for (const auto& [a, b] : backends)
    w.sample("shardproxy_backend_errors_total", {{"backend", a}}, b->errors);
  w.family("shardproxy_backend_bytes_sent_total", "counter",
           "Bytes of commands sent to a backend.");
  for (const auto& [a, b] : backends)
    w.sample("shardproxy_backend_bytes_sent_total", {{"backend", a}}, b->bytesOut);
  w.family("shardproxy_backend_bytes_received_total", "counter",
           "Bytes of a backend's answers relayed to clients.");
  for (const auto& [a, b] : backends)
    w.sample("shardproxy_backend_bytes_received_total", {{"backend", a}}, b->bytesIn);
  w.family("shardproxy_backend_statement_seconds", "histogram",
           "Time from a command sent to a backend to the last byte of its answer relayed.");
  for (const auto& [a, b] : backends)
    w.histogram("shardproxy_backend_statement_seconds", {{"backend", a}}, b->latency);

  std::map<std::string_view, const ShardCounters*> shards;
  for (const auto& [n, s] : c.shards)
    shards.emplace(n, &s);
  w.family("shardproxy_shard_statements_total", "counter",
           "Statements that ran on a shard: alone (route=single) or as one of several "
           "(route=scatter).");
  for (const auto& [n, s] : shards) {
    const std::size_t slash = n.find('/');
    const std::string_view ks = n.substr(0, slash);
    const std::string_view sh = slash == std::string_view::npos ? "" : n.substr(slash + 1);
    w.sample("shardproxy_shard_statements_total",
             {{"keyspace", ks}, {"shard", sh}, {"route", "single"}}, s->single);
    w.sample("shardproxy_shard_statements_total",
             {{"keyspace", ks}, {"shard", sh}, {"route", "scatter"}}, s->scatter);
  }
}

}  // namespace shardproxy::proxy::metrics
