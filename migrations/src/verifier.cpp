// VERIFY: the serving side and the other side compared chunk by chunk over primary-key ranges —
// row count, sum and xor of per-row CRC32s — the serving shards' rows against the union of the
// other side's (a reference table: against each copy). A chunk that differs while writes go on is
// compared again exactly, with its rows locked on the serving side until the streams applied
// what came before the locks; only a difference that stays is reported (table and key range),
// and a cutover is refused while it stands.
#include <fmt/format.h>

#include <map>

#include "migration_log.h"
#include "runner.h"

namespace shardproxy::migrations {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

using Sums = ChunkSums;

constexpr std::size_t kChunkRows = 20000;
constexpr int kRechecks = 8;
constexpr std::size_t kMaxDifferingRows = 5000;

std::string rowHash(const TableMeta& t) {
  std::string cols, nulls;
  for (std::size_t i : t.written()) {
    const std::string c = quoteIdent(t.columns[i].name);
    cols += ", " + c;
    nulls += (nulls.empty() ? "" : ", ") + ("ISNULL(" + c + ")");
  }
  return "CRC32(CONCAT_WS(0x1f" + cols + ", CONCAT(" + nulls + ")))";
}

Result<Sums> sums(BlockingClient& c, const TableMeta& t, const std::string& where,
                  bool lock = false) {
  const std::string h = rowHash(t);
  auto r = c.rows("SELECT COUNT(*), IFNULL(SUM(" + h + "), 0), IFNULL(BIT_XOR(" + h +
                  "), 0) FROM " + t.qualified() + (where.empty() ? "" : " WHERE " + where) +
                  (lock ? " LOCK IN SHARE MODE" : ""));
  if (!r) return r.takeError();
  Sums s;
  if (!r->empty()) {
    s.count = std::stoull(r->front()[0].value_or("0"));
    s.sum = std::stoull(r->front()[1].value_or("0"));
    s.xorv = std::stoull(r->front()[2].value_or("0"));
  }
  return s;
}

// Each row's primary key (as literals) and hash, keyed by the joined key.
Status rowHashes(BlockingClient& c, const TableMeta& t, const std::string& where,
                 std::map<std::string, std::pair<std::vector<std::string>, std::string>>& out) {
  std::string select;
  for (std::size_t p : t.pk)
    select += quoteIdent(t.columns[p].name) + ", ";
  select += rowHash(t);
  return c.stream("SELECT " + select + " FROM " + t.qualified() + " WHERE " + where,
                  [&](char** row, unsigned long* len, unsigned n) {
                    std::vector<std::string> key;
                    for (std::size_t i = 0; i + 1 < n; ++i) {
                      const ColumnMeta& col = t.columns[t.pk[i]];
                      std::string_view v(row[i] == nullptr ? "" : row[i], len[i]);
                      key.push_back(col.numeric() ? std::string(v)
                                                  : hexLiteral(v, col.binary() ? "" : "utf8mb4"));
                    }
                    std::string hash(row[n - 1] == nullptr ? "" : row[n - 1], len[n - 1]);
                    // A row on two shards of one side shows as two hashes: never equal to one.
                    auto [it, fresh] = out.try_emplace(joinKey(key), key, hash);
                    if (!fresh) it->second.second += "+" + hash;
                  });
}

}  // namespace

Status Runner::chunkSums(const TableMeta& t, const std::string& range,
                         std::vector<std::unique_ptr<BlockingClient>>& from,
                         std::vector<std::unique_ptr<BlockingClient>>& to, Sums& a, Sums& b,
                         bool& same) {
  std::vector<Sums> targets;
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (t.reference && i > 0) break;
    auto s = sums(*from[i], t, range);
    if (!s) return s.takeError();
    a.add(*s);
  }
  for (auto& c : to) {
    auto s = sums(*c, t, range);
    if (!s) return s.takeError();
    targets.push_back(*s);
    b.add(*s);
  }
  same = true;
  if (t.reference) {
    for (const Sums& s : targets)
      same = same && s == a;
  } else {
    same = a == b;
  }
  return {};
}

Result<std::vector<std::vector<std::string>>> Runner::differingRows(
    const TableMeta& t, const std::string& where,
    std::vector<std::unique_ptr<BlockingClient>>& from,
    std::vector<std::unique_ptr<BlockingClient>>& to) {
  using Rows = std::map<std::string, std::pair<std::vector<std::string>, std::string>>;
  Rows serving;
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (t.reference && i > 0) break;
    if (Status s = rowHashes(*from[i], t, where.empty() ? "1" : where, serving); !s)
      return s.takeError();
  }
  std::vector<Rows> sides(t.reference ? to.size() : 1);
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (Status s = rowHashes(*to[i], t, where.empty() ? "1" : where, sides[t.reference ? i : 0]);
        !s) {
      return s.takeError();
    }
  }
  std::map<std::string, std::vector<std::string>> out;
  for (const Rows& other : sides) {
    for (const auto& [k, v] : serving) {
      auto it = other.find(k);
      if (it == other.end() || it->second.second != v.second) out.emplace(k, v.first);
    }
    for (const auto& [k, v] : other)
      if (serving.find(k) == serving.end()) out.emplace(k, v.first);
  }
  std::vector<std::vector<std::string>> keys;
  for (auto& [k, v] : out) {
    keys.push_back(std::move(v));
    if (keys.size() >= kMaxDifferingRows) break;
  }
  return keys;
}

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
      // The first look compares sums while writes go on. A chunk that differs is looked at row
      // by row; only the differing rows are compared again, each time after the streams caught
      // up, until they agree: a row that still differs after that is reported.
      Sums a, b;
      bool same = false;
      if (Status st = chunkSums(t, range, from, to, a, b, same); !st) return st;
      if (!same) {
        auto differing = differingRows(t, range, from, to);
        if (!differing) return differing.takeError();
        for (int round = 0; round < kRechecks && !differing->empty(); ++round) {
          waitCaughtUp(Clock::now() + 5s);
          auto again = differingRows(t, t.pkIn(*differing), from, to);
          if (!again) return again.takeError();
          *differing = std::move(*again);
        }
        same = differing->empty();
        if (!same) {
          detail = fmt::format(
              "{}.{}: {} row(s) with primary key in ({}, {}] differ, e.g. key ({})", t.database,
              t.name, differing->size(), lower.empty() ? "-inf" : joinKey(lower),
              last ? "+inf" : joinKey(upper), joinKey(differing->front()));
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
  logWith(*log::migrations(), spdlog::level::info,
          log::migrationFields(id_, ctx_ ? std::string_view(ctx_->keyspace) : std::string_view()),
          "migration {}: verify {}: {}", id_, *u.verifyState, u.verifyDetail.value_or(""));
  return update(u);
}

}  // namespace shardproxy::migrations
