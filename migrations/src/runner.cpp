#include "runner.h"

#include <fmt/format.h>

#include <set>

#include "migration_log.h"
#include "stream_worker.h"

namespace shardproxy::migrations {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using catalog::MigrationPhase;
using catalog::MigrationRequest;

Runner::Runner(std::int64_t id, const ManagerOptions& options, TrafficGate& gate)
    : id_(id), options_(options), gate_(gate) {}

Runner::~Runner() {
  requestStop();
  join();
}

void Runner::start() {
  thread_ = std::thread([this] { main(); });
}

void Runner::join() {
  if (thread_.joinable()) thread_.join();
}

LiveStatus Runner::live() const {
  LiveStatus out;
  std::lock_guard lock(ctxMu_);
  if (!ctx_) return out;
  for (std::size_t i = 0; i < ctx_->progress.size(); ++i) {
    std::lock_guard plock(ctx_->progress[i]->mu);
    const StreamProgress& p = *ctx_->progress[i];
    if (!p.throttled.empty()) out.throttled += (out.throttled.empty() ? "" : "; ") + p.throttled;
    if (!p.error.empty()) {
      out.streamErrors +=
          (out.streamErrors.empty() ? "" : "; ") + ctx_->from[i].name + ": " + p.error;
    }
  }
  return out;
}

Status Runner::update(const catalog::MigrationUpdate& u) {
  return catalog_->updateMigration(id_, u);
}

void Runner::main() {
  while (!stopRequested_ && !finished_) {
    Status s = runOnce();
    stopWorkers();
    if (!s && !stopRequested_) {
      logWith(
          *log::migrations(), spdlog::level::warn,
          log::migrationFields(id_, ctx_ ? std::string_view(ctx_->keyspace) : std::string_view()),
          "migration {}: {}; retrying", id_, s.error().message);
      if (catalog_) {
        catalog::MigrationUpdate u;
        u.lastError = s.error().message;
        (void)update(u);
      }
      for (int i = 0; i < 20 && !stopRequested_; ++i)
        std::this_thread::sleep_for(100ms);
    }
  }
}

Status Runner::prepare(const catalog::Migration& m, const catalog::Snapshot& snap) {
  auto ctx = std::make_unique<RunContext>();
  ctx->id = m.id;
  ctx->keyspace = m.keyspace;
  ctx->catalogPath = options_.catalogPath;
  ctx->direction = m.switched ? "reverse" : "forward";
  ctx->dbaUser = options_.dbaUser;
  ctx->dbaPassword = options_.dbaPassword;
  ctx->throttleRowsPerSecond = m.throttleRowsPerSecond;
  ctx->serverIdBase =
      3000000000U + static_cast<std::uint32_t>(m.id % 1000000) * 64U + (m.switched ? 32U : 0U);
  auto sideOf = [&](const std::string& name) -> Result<ShardSide> {
    for (const catalog::Shard& sh : snap.shards) {
      if (sh.keyspace != m.keyspace || sh.name != name) continue;
      ShardSide side;
      side.name = name;
      side.range = sh.range;
      for (std::size_t b : sh.backends) {
        const catalog::Backend& be = snap.backends[b];
        Endpoint e{be.address.host, be.address.port, "", "", ""};
        if (be.role == catalog::BackendRole::kPrimary) {
          side.primary = e;
        } else if (be.state == catalog::BackendState::kOnline) {
          side.replicas.push_back(e);
        }
      }
      if (side.primary.host.empty()) {
        return Error::make(ErrorCode::kNoRoute,
                           fmt::format("shard {}.{} has no primary", m.keyspace, name));
      }
      return side;
    }
    return Error::make(ErrorCode::kCatalogNotFound,
                       fmt::format("shard {}.{} does not exist", m.keyspace, name));
  };
  const auto& fromNames = m.switched ? m.targets : m.sources;
  const auto& toNames = m.switched ? m.sources : m.targets;
  for (const auto& n : fromNames) {
    auto s = sideOf(n);
    if (!s) return s.takeError();
    ctx->from.push_back(std::move(*s));
  }
  for (const auto& n : toNames) {
    auto s = sideOf(n);
    if (!s) return s.takeError();
    ctx->to.push_back(std::move(*s));
  }
  BlockingClient src;
  if (Status s = connectWorker(src, ctx->login(ctx->from.front().primary)); !s) return s;
  std::set<std::string> seen;
  for (const auto& t : m.tables) {
    if (!seen.insert(t.table).second) continue;
    const catalog::TableRule* rule = snap.findTable(m.keyspace, t.table);
    const bool reference = t.kind == "reference";
    auto meta =
        loadTableMeta(src, m.keyspace, t.table, reference, rule != nullptr ? rule->shardKey : "",
                      rule != nullptr ? rule->hashFunction : "xxh3");
    if (!meta) return meta.takeError();
    ctx->tables.push_back(std::move(*meta));
  }
  for (std::size_t i = 0; i < ctx->from.size(); ++i)
    ctx->progress.push_back(std::make_unique<StreamProgress>());
  std::lock_guard lock(ctxMu_);
  ctx_ = std::move(ctx);
  return {};
}

Status Runner::createSchema() {
  for (const ShardSide& t : ctx_->to) {
    BlockingClient c;
    if (Status s = connectWorker(c, ctx_->login(t.primary)); !s) return s;
    if (Status s = c.execute("CREATE DATABASE IF NOT EXISTS " + quoteIdent(ctx_->keyspace)); !s)
      return s;
    for (const TableMeta& meta : ctx_->tables) {
      std::string sql = meta.createSql;
      if (sql.starts_with("CREATE TABLE ")) {
        sql = "CREATE TABLE IF NOT EXISTS " + sql.substr(13);
      }
      if (Status s = c.execute("USE " + quoteIdent(ctx_->keyspace) + "; " + sql); !s) return s;
    }
  }
  return {};
}

void Runner::startWorkers() {
  ctx_->stop = false;
  for (std::size_t i = 0; i < ctx_->from.size(); ++i)
    workers_.emplace_back([ctx = ctx_.get(), i] { runStreamWorker(*ctx, i); });
}

void Runner::stopWorkers() {
  if (ctx_) ctx_->stop = true;
  for (auto& w : workers_)
    if (w.joinable()) w.join();
  workers_.clear();
}

bool Runner::allCopied() {
  for (auto& p : ctx_->progress) {
    std::lock_guard lock(p->mu);
    if (p->copying) return false;
  }
  return true;
}

bool Runner::waitCaughtUp(Clock::time_point deadline) {
  std::vector<GtidPosition> until;
  for (const ShardSide& s : ctx_->from) {
    BlockingClient c;
    if (!connectWorker(c, ctx_->login(s.primary))) return false;
    auto pos = c.scalar("SELECT @@gtid_binlog_pos");
    if (!pos) return false;
    until.push_back(GtidPosition::parse(pos->value_or("")));
  }
  return waitApplied(until, deadline);
}

bool Runner::waitApplied(const std::vector<GtidPosition>& until, Clock::time_point deadline) {
  for (;;) {
    bool all = true;
    for (std::size_t i = 0; i < until.size(); ++i) {
      std::lock_guard lock(ctx_->progress[i]->mu);
      if (!ctx_->progress[i]->applied.reached(until[i])) all = false;
    }
    if (all) return true;
    if (Clock::now() >= deadline || stopRequested_) return false;
    std::this_thread::sleep_for(1ms);
  }
}

Status Runner::setReadOnly(const std::vector<ShardSide>& sides, bool on,
                           std::uint32_t waitSeconds) {
  for (const ShardSide& s : sides) {
    BlockingClient c;
    if (Status st = c.connect(ctx_->login(s.primary), std::max<std::uint32_t>(waitSeconds, 1) + 2);
        !st)
      return st;
    if (Status st =
            c.execute(fmt::format("SET SESSION lock_wait_timeout = {}; SET GLOBAL "
                                  "read_only = {}",
                                  std::max<std::uint32_t>(waitSeconds, 1), on ? "ON" : "OFF"));
        !st)
      return st;
  }
  return {};
}

Status Runner::runOnce() {
  if (!catalog_) {
    auto c = catalog::Catalog::open(options_.catalogPath);
    if (!c) return c.takeError();
    catalog_ = std::move(*c);
  }
  auto list = catalog_->migrations(id_);
  if (!list) return list.takeError();
  catalog::Migration m = list->front();
  if (m.phase == MigrationPhase::kCompleted || m.phase == MigrationPhase::kCancelled) {
    finished_ = true;
    return {};
  }
  if (m.phase == MigrationPhase::kCuttingOver) {
    if (Status s = recoverInterruptedCutover(m); !s) return s;
    list = catalog_->migrations(id_);
    if (!list) return list.takeError();
    m = list->front();
  }
  auto snap = catalog_->snapshot();
  if (!snap) return snap.takeError();
  if (Status s = prepare(m, **snap); !s) return s;
  if (!m.switched) {
    if (Status s = createSchema(); !s) return s;
  }
  startWorkers();
  logWith(*log::migrations(), spdlog::level::info,
          log::migrationFields(id_, ctx_ ? std::string_view(ctx_->keyspace) : std::string_view()),
          "migration {}: running {} ({} streams)", id_, ctx_->direction, ctx_->from.size());
  // A verification that a restart or an error cut short is run again: a cutover needs it.
  if (m.phase == MigrationPhase::kReplicating && !m.switched &&
      (m.verifyState == "running" || m.verifyState == "pending")) {
    if (Status s = verify(); !s) return s;
  }
  auto autoRetryAt = Clock::now();
  while (!stopRequested_) {
    std::this_thread::sleep_for(100ms);
    list = catalog_->migrations(id_);
    if (!list) return list.takeError();
    m = list->front();
    ctx_->paused = m.paused;
    if (m.phase == MigrationPhase::kCopying && allCopied()) {
      catalog::MigrationUpdate u;
      u.phase = MigrationPhase::kReplicating;
      if (Status s = update(u); !s) return s;
      logWith(
          *log::migrations(), spdlog::level::info,
          log::migrationFields(id_, ctx_ ? std::string_view(ctx_->keyspace) : std::string_view()),
          "migration {}: copy done, replicating", id_);
      if (!m.switched) {
        if (Status s = verify(); !s) return s;
      }
      continue;
    }
    if (m.request) {
      switch (*m.request) {
        case MigrationRequest::kCancel: {
          stopWorkers();
          catalog::MigrationUpdate u;
          u.phase = MigrationPhase::kCancelled;
          u.clearRequest = true;
          if (Status s = update(u); !s) return s;
          finished_ = true;
          return {};
        }
        case MigrationRequest::kComplete: {
          stopWorkers();
          catalog::ChangeContext cc{"migration " + std::to_string(id_), "COMPLETE MIGRATION"};
          if (Status s = catalog_->completeMigration(id_, cc); !s) return s;
          if (auto next = catalog_->snapshot()) gate_.publish(*next);
          finished_ = true;
          return {};
        }
        case MigrationRequest::kVerify: {
          catalog::MigrationUpdate u;
          u.clearRequest = true;
          if (Status s = update(u); !s) return s;
          if (Status s = verify(); !s) return s;
          continue;
        }
        case MigrationRequest::kCutover:
        case MigrationRequest::kReverse: {
          const bool before = m.switched;
          if (Status s = cutover(m, m.cutoverTimeoutMs); !s) return s;
          auto again = catalog_->migrations(id_);
          if (!again) return again.takeError();
          if (again->front().switched != before) return {};  // a new direction: restart
          continue;
        }
        default:
          continue;
      }
    }
    if (m.autoCutover && !m.switched && m.phase == MigrationPhase::kReplicating &&
        m.verifyState == "ok" && Clock::now() >= autoRetryAt) {
      const bool before = m.switched;
      if (Status s = cutover(m, m.cutoverTimeoutMs); !s) return s;
      auto again = catalog_->migrations(id_);
      if (!again) return again.takeError();
      if (again->front().switched != before) return {};
      autoRetryAt = Clock::now() + 5s;  // aborted: try again a little later
    }
  }
  return {};
}

}  // namespace shardproxy::migrations
