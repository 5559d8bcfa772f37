// The dashboard's JSON API (http_dashboard.h); the page itself is dashboard_page.cpp.
#include "http_dashboard.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "admin_migrations.h"
#include "shardproxy/proxy/server.h"

namespace shardproxy::proxy {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void str(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// The keyspace-ID space as a fraction of 2^64.
double fraction(std::uint64_t id) {
  return static_cast<double>(id) / 18446744073709551616.0;
}

// Every thread's per-shard statement totals (single + scatter), each copied on its own thread.
std::map<std::string, std::uint64_t> shardTotals(SharedState& shared) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& shards :
       onEveryThread(shared, [](ThreadContext& t) { return t.metrics.copy().shards; })) {
    for (const auto& [name, c] : shards)
      out[name] += c.single + c.scatter;
  }
  return out;
}

}  // namespace

std::string apiShardMap(const SharedState& shared) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  auto snap = shared.snapshot();
  std::unordered_map<std::string, BackendStatus> health;
  if (shared.healthChecker) health = shared.healthChecker->status();
  w.StartObject();
  w.Key("version");
  w.Uint64(snap ? snap->version : 0);
  w.Key("keyspaces");
  w.StartArray();
  if (snap) {
    for (const auto& ks : snap->keyspaces) {
      w.StartObject();
      w.Key("name");
      str(w, ks.name);
      w.Key("sharded");
      w.Bool(ks.sharded);
      w.Key("shards");
      w.StartArray();
      for (std::size_t si : ks.shards) {
        const catalog::Shard& sh = snap->shards[si];
        w.StartObject();
        w.Key("name");
        str(w, sh.name);
        w.Key("start");
        w.Double(fraction(sh.range.start));
        w.Key("end");
        w.Double(sh.range.end ? fraction(*sh.range.end) : 1.0);
        w.Key("serving");
        w.Bool(sh.serving);
        w.Key("backends");
        w.StartArray();
        for (std::size_t bi : sh.backends) {
          const catalog::Backend& b = snap->backends[bi];
          const std::string address = b.address.toString();
          w.StartObject();
          w.Key("address");
          str(w, address);
          w.Key("role");
          str(w, catalog::toString(b.role));
          w.Key("state");
          str(w, catalog::toString(b.state));
          auto it = health.find(address);
          w.Key("up");
          if (it == health.end()) {
            w.Null();
          } else {
            w.Bool(it->second.up);
          }
          w.Key("lag_seconds");
          if (it == health.end() || !it->second.lagKnown) {
            w.Null();
          } else {
            w.Uint(it->second.lagSeconds);
          }
          w.EndObject();
        }
        w.EndArray();
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
    }
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

std::string apiDigests(SharedState& shared, std::size_t limit) {
  auto [digests, evicted] = shared.collectDigests();
  std::erase_if(digests, [](const Digest& d) { return d.count == 0; });
  std::stable_sort(digests.begin(), digests.end(),
                   [](const Digest& a, const Digest& b) { return a.totalNs > b.totalNs; });
  if (digests.size() > limit) digests.resize(limit);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("evicted");
  w.Uint64(evicted);
  w.Key("digests");
  w.StartArray();
  for (const Digest& d : digests) {
    w.StartObject();
    w.Key("keyspace");
    str(w, d.keyspace);
    w.Key("text");
    str(w, d.text);
    w.Key("count");
    w.Uint64(d.count);
    w.Key("total_ms");
    w.Double(static_cast<double>(d.totalNs) / 1e6);
    w.Key("p99_ms");
    w.Double(static_cast<double>(d.latency.quantileNs(0.99, d.count)) / 1e6);
    w.Key("scatter");
    w.Uint64(d.scatter);
    w.Key("errors");
    w.Uint64(d.errors);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

std::string apiMigrations(SharedState& shared) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("migrations");
  w.StartArray();
  for (const auto& m : shared.migrationsNow()) {
    const MigrationFigures f = migrationFigures(m);
    w.StartObject();
    w.Key("id");
    w.Int64(m.id);
    w.Key("keyspace");
    str(w, m.keyspace);
    w.Key("phase");
    str(w, catalog::toString(m.phase));
    w.Key("progress_pct");
    w.Double(f.progressPct);
    w.Key("rows_copied");
    w.Uint64(f.rowsCopied);
    w.Key("rows_estimated");
    w.Uint64(f.rowsEstimated);
    w.Key("eta_seconds");
    if (f.etaSeconds) {
      w.Double(*f.etaSeconds);
    } else {
      w.Null();
    }
    w.Key("lag_seconds");
    if (f.lagSeconds >= 0) {
      w.Double(f.lagSeconds);
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

void TrafficHistory::sample(SharedState& shared) {
  samples_.push_back(Sample{std::chrono::system_clock::now(), shardTotals(shared)});
  while (samples_.size() > kSamples + 1)
    samples_.pop_front();
}

std::string TrafficHistory::json() const {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("shards");
  w.StartArray();
  std::map<std::string, bool> names;
  for (const Sample& s : samples_)
    for (const auto& [name, n] : s.totals)
      names[name] = true;
  for (const auto& [name, _] : names)
    str(w, name);
  w.EndArray();
  // One point per interval: its end time (Unix ms) and each shard's statements per second.
  w.Key("points");
  w.StartArray();
  for (std::size_t i = 1; i < samples_.size(); ++i) {
    const Sample& a = samples_[i - 1];
    const Sample& b = samples_[i];
    const double secs = std::chrono::duration<double>(b.at - a.at).count();
    if (secs <= 0) continue;
    w.StartObject();
    w.Key("t");
    w.Int64(std::chrono::duration_cast<std::chrono::milliseconds>(b.at.time_since_epoch()).count());
    w.Key("rates");
    w.StartObject();
    for (const auto& [name, _] : names) {
      auto nb = b.totals.find(name);
      auto na = a.totals.find(name);
      const std::uint64_t now = nb == b.totals.end() ? 0 : nb->second;
      const std::uint64_t before = na == a.totals.end() ? 0 : na->second;
      w.Key(name.c_str());
      w.Double(now >= before ? static_cast<double>(now - before) / secs : 0.0);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

}  // namespace shardproxy::proxy
