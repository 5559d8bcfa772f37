// VERIFY: the serving side and the other side compared chunk by chunk over primary-key ranges —
// row count, sum and xor of per-row CRC32s — the serving shards' rows against the union of the
// other side's (a reference table: against each copy). A chunk that differs while writes go on is
// compared again after the streams caught up with the serving side; only a difference that stays
// is reported (table and key range), and a cutover is refused while it stands.
#include <fmt/format.h>

#include "migration_log.h"
#include "runner.h"

namespace shardproxy::migrations {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kChunkRows = 20000;
constexpr int kRechecks = 6;

struct Sums {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint64_t xorv = 0;
  bool operator==(const Sums&) const = default;
  void add(const Sums& o) {
    count += o.count;
    sum += o.sum;
    xorv ^= o.xorv;
  }
};

std::string rowHash(const TableMeta& t) {
  std::string cols, nulls;
  for (std::size_t i : t.written()) {
    const std::string c = quoteIdent(t.columns[i].name);
    cols += ", " + c;
    nulls += (nulls.empty() ? "" : ", ") + ("ISNULL(" + c + ")");
  }
  return "CRC32(CONCAT_WS(0x1f" + cols + ", CONCAT(" + nulls + ")))";
}

Result<Sums> sums(BlockingClient& c, const TableMeta& t, const std::string& where) {
  const std::string h = rowHash(t);
  auto r = c.rows("SELECT COUNT(*), IFNULL(SUM(" + h + "), 0), IFNULL(BIT_XOR(" + h +
                  "), 0) FROM " + t.qualified() + (where.empty() ? "" : " WHERE " + where));
  if (!r) return r.takeError();
  Sums s;
  if (!r->empty()) {
    s.count = std::stoull(r->front()[0].value_or("0"));
    s.sum = std::stoull(r->front()[1].value_or("0"));
    s.xorv = std::stoull(r->front()[2].value_or("0"));
  }
  return s;
}

}  // namespace

Status Runner::verify() {
  {
    catalog::MigrationUpdate u;
    u.verifyState = "running";
    u.verifyDetail = "";
    if (Status s = update(u); !s) return s;
  }
  std::vector<std::unique_ptr<BlockingClient>> from, to;
  for (const ShardSide& s : ctx_->from) {
    from.push_back(std::make_unique<BlockingClient>());
    if (Status st = connectWorker(*from.back(), ctx_->login(s.primary)); !st) return st;
  }
  for (const ShardSide& s : ctx_->to) {
    to.push_back(std::make_unique<BlockingClient>());
    if (Status st = connectWorker(*to.back(), ctx_->login(s.primary)); !st) return st;
  }
  std::uint64_t chunks = 0, rows = 0;
  std::string detail;
  for (const TableMeta& t : ctx_->tables) {
    std::vector<std::string> lower;  // exclusive lower bound of the chunk (empty: none)
    for (bool last = false; !last && !stopRequested_;) {
      // The chunk's upper bound: the kChunkRows-th key of the first serving shard.
      std::string where = lower.empty() ? "" : t.pkGreaterThan(lower);
      auto bound =
          from.front()->rows("SELECT " + t.pkList() + " FROM " + t.qualified() +
                             (where.empty() ? "" : " WHERE " + where) + " ORDER BY " + t.pkList() +
                             " LIMIT 1 OFFSET " + std::to_string(kChunkRows - 1));
      if (!bound) return bound.takeError();
      std::vector<std::string> upper;
      if (bound->empty()) {
        last = true;
      } else {
        for (std::size_t i = 0; i < t.pk.size(); ++i) {
          const auto& v = bound->front()[i];
          const ColumnMeta& col = t.columns[t.pk[i]];
          upper.push_back(!v              ? "NULL"
                          : col.numeric() ? *v
                                          : hexLiteral(*v, col.binary() ? "" : "utf8mb4"));
        }
      }
      std::string range = where;
      if (!last) range += (range.empty() ? "" : " AND ") + t.pkAtMost(upper);
      bool same = false;
      Sums a;
      for (int attempt = 0; attempt < kRechecks && !same; ++attempt) {
        if (attempt > 0) {
          // Let the streams apply what the serving side has now, then compare again.
          waitCaughtUp(Clock::now() + 5s);
          std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
        }
        a = Sums{};
        std::vector<Sums> targets;
        for (std::size_t i = 0; i < from.size(); ++i) {
          if (t.reference && i > 0) break;
          auto s = sums(*from[i], t, range);
          if (!s) return s.takeError();
          a.add(*s);
        }
        Sums b;
        for (auto& c : to) {
          auto s = sums(*c, t, range);
          if (!s) return s.takeError();
          targets.push_back(*s);
          b.add(*s);
        }
        if (t.reference) {
          same = true;
          for (const Sums& s : targets)
            same = same && s == a;
        } else {
          same = a == b;
        }
        if (!same && attempt == kRechecks - 1) {
          detail = fmt::format(
              "{}.{}: rows with primary key in ({}, {}] differ ({} rows on the "
              "serving side, {} on the other)",
              t.database, t.name, lower.empty() ? "-inf" : joinKey(lower),
              last ? "+inf" : joinKey(upper), a.count, b.count);
        }
      }
      ++chunks;
      rows += a.count;
      if (!detail.empty()) break;
      lower = upper;
    }
    if (!detail.empty() || stopRequested_) break;
  }
  catalog::MigrationUpdate u;
  if (stopRequested_) {
    u.verifyState = "pending";
  } else if (detail.empty()) {
    u.verifyState = "ok";
    u.verifyDetail = fmt::format("{} rows in {} chunks match", rows, chunks);
  } else {
    u.verifyState = "differs";
    u.verifyDetail = detail;
  }
  log::migrations()->info("migration {}: verify {}: {}", id_, *u.verifyState,
                          u.verifyDetail.value_or(""));
  return update(u);
}

}  // namespace shardproxy::migrations
