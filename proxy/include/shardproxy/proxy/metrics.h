// Counters for the HTTP endpoint's /metrics (docs/observability.md): what each application
// thread counts on its own, their sum, and the Prometheus text format they are written in.
// Place in the request flow: a session bumps its thread's ThreadMetrics as statements pass
// (plain integers: only that thread writes them, no atomics, no locks); a scrape runs
// ThreadMetrics::copy() on each thread (posted to its io_context), adds the copies up and renders
// them with PromWriter beside what the catalog, the pools and the health checker know.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace shardproxy::proxy::metrics {

// Statements by kind, as the proxy parsed them (kOther: parsed but not modelled; kCommand: a
// protocol command that is not a statement — PING, INIT_DB, RESET_CONNECTION, ...).
enum class Kind : std::uint8_t {
  kSelect,
  kInsert,
  kUpdate,
  kDelete,
  kTransaction,
  kSet,
  kUse,
  kShow,
  kDdl,
  kLock,
  kExplain,
  kOther,
  kPrepare,
  kExecute,
  kCommand,
  kCount_
};
inline constexpr std::size_t kKinds = static_cast<std::size_t>(Kind::kCount_);
std::string_view kindName(Kind k);

// Statement latency, in buckets Prometheus reads as `le` (cumulative when rendered).
struct Histogram {
  static constexpr std::array<std::uint64_t, 14> kBoundsNs = {
      50'000,     100'000,    250'000,    500'000,     1'000'000,   2'500'000,     5'000'000,
      10'000'000, 25'000'000, 50'000'000, 100'000'000, 250'000'000, 1'000'000'000, 5'000'000'000};
  std::array<std::uint64_t, kBoundsNs.size() + 1> counts{};  // the last: above every bound
  std::uint64_t count = 0;
  std::uint64_t sumNs = 0;

  void add(std::uint64_t ns) {
    std::size_t i = 0;
    while (i < kBoundsNs.size() && ns > kBoundsNs[i])
      ++i;
    ++counts[i];
    ++count;
    sumNs += ns;
  }
  void merge(const Histogram& o);
};

struct BackendCounters {
  std::uint64_t statements = 0;
  std::uint64_t errors = 0;    // error packets the backend answered
  std::uint64_t bytesOut = 0;  // commands sent to it
  std::uint64_t bytesIn = 0;   // its answers relayed to clients
  Histogram latency;           // from the command sent to the answer's last byte relayed
  void merge(const BackendCounters& o);
};

struct ShardCounters {
  std::uint64_t single = 0;   // statements that ran on this shard alone
  std::uint64_t scatter = 0;  // statements that ran here as one of several shards
  void merge(const ShardCounters& o) {
    single += o.single;
    scatter += o.scatter;
  }
};

// Transparent hashing: lookups by string_view allocate nothing.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct Counters {
  std::uint64_t connectionsAccepted = 0;  // logged in
  std::uint64_t connectionsRefused = 0;   // too many, or the handshake / login failed
  std::uint64_t firstAsks = 0;            // merges whose shards got a first, smaller LIMIT
  std::uint64_t firstAsksAgain = 0;       // ... that needed the full ask after it
  std::array<std::uint64_t, kKinds> statements{};
  std::unordered_map<std::uint16_t, std::uint64_t> errors;  // error packets sent, by code
  StringMap<BackendCounters> backends;                      // by "host:port"
  StringMap<ShardCounters> shards;                          // by "keyspace/shard"

  void merge(const Counters& o);
};

// One application thread's counters; only that thread calls the mutators.
class ThreadMetrics {
 public:
  void accepted() { ++c_.connectionsAccepted; }
  void refused() { ++c_.connectionsRefused; }
  void firstAsk(bool again) {
    ++c_.firstAsks;
    c_.firstAsksAgain += again ? 1 : 0;
  }
  void statement(Kind k) { ++c_.statements[static_cast<std::size_t>(k)]; }
  void error(std::uint16_t code) { ++c_.errors[code]; }
  // Stable references (node-based maps): a caller may keep one while its backend / shard lives.
  BackendCounters& backend(std::string_view address);
  ShardCounters& shard(std::string_view keyspace, std::string_view shard);
  // Run on the owning thread (a scrape posts it there).
  Counters copy() const { return c_; }

 private:
  Counters c_;
  std::string key_;  // shard()'s lookup key, reused
};

// The Prometheus text exposition format, version 0.0.4: a family's # HELP and # TYPE once, then
// its samples; label values escaped (backslash, quote, newline).
class PromWriter {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, std::uint64_t value);
  void histogram(std::string_view name, const Labels& labels, const Histogram& h);
  // A family of one sample without labels.
  void single(std::string_view name, std::string_view type, std::string_view help,
              std::uint64_t value) {
    family(name, type, help);
    sample(name, {}, value);
  }
  const std::string& text() const { return out_; }

 private:
  void head(std::string_view name, const Labels& labels, std::string_view extraName = {},
            std::string_view extraValue = {});
  std::string out_;
};

// The admin port's figures. Its sessions run on the admin thread and a scrape reads them from
// the HTTP thread: atomics and one small lock (admin statements are few; nothing here is on the
// application's statement path).
struct ListenerFigures {
  std::uint64_t open = 0;
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
  std::uint64_t statements = 0;
  std::map<std::uint16_t, std::uint64_t> errors;
};
class AdminMetrics {
 public:
  void opened() { open_.fetch_add(1, std::memory_order_relaxed); }
  void closed() { open_.fetch_sub(1, std::memory_order_relaxed); }
  void accepted() { accepted_.fetch_add(1, std::memory_order_relaxed); }
  void refused() { refused_.fetch_add(1, std::memory_order_relaxed); }
  void statement() { statements_.fetch_add(1, std::memory_order_relaxed); }
  void error(std::uint16_t code);
  ListenerFigures copy() const;

 private:
  std::atomic<std::uint64_t> open_{0}, accepted_{0}, refused_{0}, statements_{0};
  mutable std::mutex mu_;
  std::map<std::uint16_t, std::uint64_t> errors_;
};

// The client-facing families, labelled by listener: the application port's (`app`: the threads'
// counters summed, `appOpen` connections open now) and the admin port's (`admin`); then every
// other counter of `app` (backends, shards). The caller adds the families that come from
// elsewhere (pools, health, migrations) to the same writer.
void renderCounters(const Counters& app, std::uint64_t appOpen, const ListenerFigures& admin,
                    PromWriter& w);

}  // namespace shardproxy::proxy::metrics
