// The two-phase commit recovery pass: see twopc_recovery.h and docs/transactions.md.
#include "shardproxy/proxy/twopc_recovery.h"

#include <fmt/format.h>

#include <set>
#include <unordered_set>
#include <vector>

#include "shardproxy/common/logging.h"
#include "shardproxy/migrations/blocking_client.h"

namespace shardproxy::proxy {

namespace {

// 'gtrid','bqual' as an XA statement names a branch.
std::string xidLiteral(std::string_view gtrid, std::string_view bqual) {
  std::string out;
  migrations::appendQuoted(out, gtrid);
  out += ',';
  migrations::appendQuoted(out, bqual);
  return out;
}

}  // namespace

TwoPcRecovery::TwoPcRecovery(std::function<catalog::SnapshotPtr()> snapshot,
                             catalog::DecisionLog& log, TwoPcRecoveryOptions options)
    : snapshot_(std::move(snapshot)), log_(log), options_(std::move(options)) {}

TwoPcRecovery::~TwoPcRecovery() {
  stop();
}

void TwoPcRecovery::start() {
  thread_ = std::thread([this] { loop(); });
}

void TwoPcRecovery::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TwoPcRecovery::nudge() {
  {
    std::lock_guard lock(mutex_);
    nudged_ = true;
  }
  wake_.notify_all();
}

void TwoPcRecovery::loop() {
  auto log = moduleLogger("twopc");
  for (;;) {
    TwoPcRecoveryReport r = runOnce();
    if (r.committed + r.rolledBack + r.errors > 0) {
      log->info(
          "recovery pass: {} branch(es) committed, {} rolled back, {} in flight, {} failed, "
          "{} primary(ies) unreachable",
          r.committed, r.rolledBack, r.inFlight, r.errors, r.unreachable);
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.interval, [this] { return stopping_ || nudged_; });
    if (stopping_) return;
    nudged_ = false;
  }
}

TwoPcRecoveryReport TwoPcRecovery::runOnce() {
  auto log = moduleLogger("twopc");
  TwoPcRecoveryReport report;
  catalog::SnapshotPtr snap = snapshot_();
  if (!snap) return report;
  // Every primary once (a server may carry several shards).
  std::vector<catalog::Endpoint> primaries;
  for (const auto& b : snap->backends) {
    if (b.role != catalog::BackendRole::kPrimary) continue;
    if (std::find(primaries.begin(), primaries.end(), b.address) == primaries.end())
      primaries.push_back(b.address);
  }
  std::unordered_set<std::string> seen;  // gtrids with a branch still prepared somewhere
  const std::int64_t now = catalog::unixTimeMs();
  const std::int64_t abandonBefore = now - options_.abandonAfter.count();
  // A decided transaction's owner finishes its branches within milliseconds: recovery leaves
  // them to it for a quarter of the abandon time, so a live proxy's commits never race it.
  const std::int64_t decidedBefore = now - options_.abandonAfter.count() / 4;
  for (const auto& address : primaries) {
    migrations::BlockingClient client;
    migrations::Endpoint ep{address.host, address.port, options_.dbaUser, options_.dbaPassword, ""};
    if (Status st = client.connect(ep, 5); !st) {
      ++report.unreachable;
      continue;
    }
    // formatID, gtrid_length, bqual_length, data (gtrid then bqual).
    auto rows = client.rows("XA RECOVER");
    if (!rows) {
      ++report.unreachable;
      log->warn("XA RECOVER on {}: {}", address.toString(), rows.error().message);
      continue;
    }
    for (const auto& row : *rows) {
      if (row.size() < 4 || !row[1] || !row[2] || !row[3]) continue;
      const std::string& data = *row[3];
      const std::size_t glen = std::strtoull(row[1]->c_str(), nullptr, 10);
      if (glen > data.size() || data.compare(0, options_.xidPrefix.size(), options_.xidPrefix) != 0)
        continue;  // not this catalog's
      const std::string gtrid = data.substr(0, glen);
      const std::string bqual = data.substr(glen);
      seen.insert(gtrid);
      auto decision = log_.resolve(gtrid, abandonBefore);
      if (!decision) {
        ++report.errors;
        log->warn("decision log: {}", decision.error().message);
        continue;
      }
      auto created = log_.createdMs(gtrid);
      const bool young = created && *created && **created >= decidedBefore;
      if ((*decision && **decision == catalog::Decision::kPrepare) || young) {
        ++report.inFlight;
        continue;
      }
      const bool commit = *decision && **decision == catalog::Decision::kCommit;
      std::string sql =
          fmt::format("XA {} {}", commit ? "COMMIT" : "ROLLBACK", xidLiteral(gtrid, bqual));
      Status st = client.execute(sql);
      // 1397 XAER_NOTA: its owner finished it meanwhile.
      if (!st && client.lastErrno() != 1397) {
        ++report.errors;
        log->warn("{} on {}: {}", sql, address.toString(), st.error().message);
        continue;
      }
      ++(commit ? report.committed : report.rolledBack);
      log->info("{} on {} (decision {})", sql, address.toString(),
                *decision ? catalog::toString(**decision) : "none: never decided");
    }
  }
  if (report.unreachable > 0 || report.errors > 0) return report;
  // Every primary answered: decided rows with no branch left are done (their owner died before
  // forgetting them), and abandoned 'prepare' rows whose branches never prepared too.
  auto records = log_.list();
  if (!records) return report;
  for (const auto& rec : *records) {
    if (seen.count(rec.gtrid) != 0) continue;
    bool old = rec.createdMs < abandonBefore;
    if (rec.state == catalog::Decision::kPrepare) {
      if (!old) continue;
      auto d = log_.resolve(rec.gtrid, abandonBefore);  // to 'rollback' first: the owner may wake
      if (!d) continue;
    } else if (!old) {
      continue;  // its owner may still be committing it
    }
    (void)log_.forget(rec.gtrid);
  }
  return report;
}

}  // namespace shardproxy::proxy
