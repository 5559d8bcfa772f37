// Resharding migrations in the catalog (catalog.h, "resharding migrations"): what RESHARD
// records and refuses, the DBA's requests, the workers' progress (no version bump), the
// cutover's switch in both directions, COMPLETE, and the relaxed shard rules that let an
// unsharded keyspace be resharded.
#include <fstream>

#include "catalog_fixture.h"

namespace shardproxy::catalog::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const ErrorCode kRefused = ErrorCode::kMigration;
constexpr std::uint64_t kQuarter = std::uint64_t{1} << 62;

class Migrations : public CatalogTest {
 protected:
  // "shop" (makeShop: -80, 80- serving) with the split targets -40 and 40-80, not serving.
  void makeShopWithSplitTargets() {
    makeShop();
    ok(cat().createShard("shop", "-40", ep(13310), {}, false, ctx()));
    ok(cat().createShard("shop", "40-80", ep(13311), {}, false, ctx()));
  }

  // "main", unsharded: shard 0 serving, the targets -80 and 80- not serving, a sharded rule
  // for later and a reference table.
  void makeMain() {
    ok(cat().createKeyspace("main", false, ctx()));
    ok(cat().createShard("main", "0", ep(14306), {ep(14307)}, true, ctx()));
    ok(cat().createShard("main", "-80", ep(14308), {}, false, ctx()));
    ok(cat().createShard("main", "80-", ep(14309), {}, false, ctx()));
    ok(cat().createTableRule("main", "orders", TableKind::kSharded, "customer_id", ctx()));
    ok(cat().createTableRule("main", "countries", TableKind::kReference, "", ctx()));
  }

  static MigrationSpec spec(std::string keyspace, std::vector<std::string> from,
                            std::vector<std::string> to) {
    MigrationSpec s;
    s.keyspace = std::move(keyspace);
    s.sources = std::move(from);
    s.targets = std::move(to);
    s.tables = {{"orders", "sharded", 100}, {"countries", "reference", 5}};
    return s;
  }

  std::int64_t create(const MigrationSpec& s) {
    auto id = cat().createMigration(s, ctx("RESHARD"));
    EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error().message);
    return id.ok() ? *id : 0;
  }

  // createMigration as a change that either succeeds or is refused.
  Status tryCreate(const MigrationSpec& s) {
    auto id = cat().createMigration(s, ctx());
    if (!id) return id.takeError();
    return {};
  }

  Migration one(std::int64_t id) {
    auto list = cat().migrations(id);
    EXPECT_TRUE(list.ok()) << (list.ok() ? "" : list.error().message);
    EXPECT_EQ(list.ok() ? list->size() : 0u, 1u);
    return list.ok() && !list->empty() ? list->front() : Migration{};
  }

  void setPhase(std::int64_t id, MigrationPhase phase) {
    MigrationUpdate u;
    u.phase = phase;
    ok(cat().updateMigration(id, u));
  }

  const Shard& shard(const Snapshot& s, std::string_view keyspace, std::string_view name) {
    for (const Shard& sh : s.shards) {
      if (sh.keyspace == keyspace && sh.name == name) return sh;
    }
    ADD_FAILURE() << "no shard " << keyspace << "." << name;
    static const Shard kNone;
    return kNone;
  }

  bool hasShard(const Snapshot& s, std::string_view keyspace, std::string_view name) {
    for (const Shard& sh : s.shards) {
      if (sh.keyspace == keyspace && sh.name == name) return true;
    }
    return false;
  }

  static MigrationStream stream(std::string direction, std::string shard, std::string gtid) {
    MigrationStream st;
    st.direction = std::move(direction);
    st.shard = std::move(shard);
    st.gtidPosition = std::move(gtid);
    return st;
  }

  // A rejected request or worker report leaves the migration as it was, too.
  void expectRefused(std::int64_t id, const std::function<Status()>& change, ErrorCode code,
                     const std::string& messagePart) {
    const Migration before = one(id);
    expectRejected(change, code, messagePart);
    const Migration after = one(id);
    EXPECT_EQ(after.updated, before.updated);
    EXPECT_EQ(after.phase, before.phase);
    EXPECT_EQ(after.request, before.request);
    EXPECT_EQ(after.paused, before.paused);
    EXPECT_EQ(after.streams.size(), before.streams.size());
  }
};

// ------------------------------------------------------------------------------ creating

TEST_F(Migrations, PhaseNamesRoundTrip) {
  for (auto phase :
       {MigrationPhase::kCopying, MigrationPhase::kReplicating, MigrationPhase::kCuttingOver,
        MigrationPhase::kCompleted, MigrationPhase::kCancelled}) {
    EXPECT_EQ(migrationPhaseFromString(toString(phase)), phase);
  }
  EXPECT_EQ(toString(MigrationPhase::kCuttingOver), "cutting_over");
  EXPECT_EQ(migrationPhaseFromString("done"), std::nullopt);
}

TEST_F(Migrations, CreateSplitsOneShardIntoTwo) {
  makeShopWithSplitTargets();
  const auto version = cat().version();
  MigrationSpec s = spec("shop", {"-80"}, {"40-80", "-40"});
  s.autoCutover = true;
  s.throttleRowsPerSecond = 5000;
  const std::int64_t id = create(s);
  EXPECT_EQ(cat().version(), version + 1);
  EXPECT_EQ(cat().changes(1)->front().statement, "RESHARD");

  const Migration m = one(id);
  EXPECT_EQ(m.id, id);
  EXPECT_EQ(m.keyspace, "shop");
  EXPECT_THAT(m.sources, ElementsAre("-80"));
  EXPECT_THAT(m.targets, ElementsAre("-40", "40-80"));  // by range
  EXPECT_EQ(m.phase, MigrationPhase::kCopying);
  EXPECT_FALSE(m.switched);
  EXPECT_FALSE(m.paused);
  EXPECT_TRUE(m.autoCutover);
  EXPECT_EQ(m.throttleRowsPerSecond, 5000u);
  EXPECT_FALSE(m.keyspaceWasUnsharded);
  EXPECT_EQ(m.request, std::nullopt);
  EXPECT_EQ(m.cutoverTimeoutMs, 2000u);
  EXPECT_EQ(m.verifyState, "pending");
  EXPECT_EQ(m.lastPauseMs, -1);
  EXPECT_EQ(m.cutoverAttempts, 0u);
  EXPECT_THAT(m.created, ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z"));
  EXPECT_EQ(m.updated, m.created);
  ASSERT_EQ(m.tables.size(), 2u);
  EXPECT_EQ(m.tables[0].source, "-80");
  EXPECT_EQ(m.tables[0].table, "orders");
  EXPECT_EQ(m.tables[0].kind, "sharded");
  EXPECT_EQ(m.tables[0].rowsEstimated, 100u);
  EXPECT_EQ(m.tables[0].cursor, "");
  EXPECT_FALSE(m.tables[0].done);
  EXPECT_EQ(m.tables[1].table, "countries");
  EXPECT_EQ(m.tables[1].kind, "reference");
  ASSERT_EQ(m.streams.size(), 1u);
  EXPECT_EQ(m.streams[0].direction, "forward");
  EXPECT_EQ(m.streams[0].shard, "-80");
  EXPECT_EQ(m.streams[0].gtidPosition, "");
  EXPECT_EQ(m.streams[0].lagEvents, -1);

  // Routing is untouched until the cutover.
  auto snapshot = snap();
  EXPECT_TRUE(shard(*snapshot, "shop", "-80").serving);
  EXPECT_FALSE(shard(*snapshot, "shop", "-40").serving);
}

TEST_F(Migrations, CreateMergesTwoShardsIntoOne) {
  makeShop();
  ok(cat().createShard("shop", "-", ep(13320), {}, false, ctx()));
  const std::int64_t id = create(spec("shop", {"80-", "-80"}, {"-"}));
  const Migration m = one(id);
  EXPECT_THAT(m.sources, ElementsAre("-80", "80-"));
  EXPECT_THAT(m.targets, ElementsAre("-"));
  // Sharded tables from every source, reference tables from the first only.
  ASSERT_EQ(m.tables.size(), 3u);
  EXPECT_EQ(m.tables[0].source + "/" + m.tables[0].table, "-80/orders");
  EXPECT_EQ(m.tables[1].source + "/" + m.tables[1].table, "-80/countries");
  EXPECT_EQ(m.tables[2].source + "/" + m.tables[2].table, "80-/orders");
  ASSERT_EQ(m.streams.size(), 2u);
  EXPECT_EQ(m.streams[0].shard, "-80");
  EXPECT_EQ(m.streams[1].shard, "80-");
}

TEST_F(Migrations, CreateShardsAnUnshardedKeyspace) {
  makeMain();
  // The targets beside the one shard do not change routing.
  auto before = snap();
  const Keyspace& main = *before->findKeyspace("main");
  EXPECT_FALSE(main.sharded);
  EXPECT_EQ(main.shards.size(), 3u);
  EXPECT_TRUE(main.uncovered.empty());
  EXPECT_EQ(before->shardFor(main, 5)->name, "0");
  EXPECT_EQ(before->shardFor(main, 3 * kQuarter)->name, "0");
  EXPECT_EQ(shard(*before, "main", "-80").range, *KeyRange::parse("-80"));

  const std::int64_t id = create(spec("main", {"0"}, {"-80", "80-"}));
  const Migration m = one(id);
  EXPECT_TRUE(m.keyspaceWasUnsharded);
  EXPECT_THAT(m.sources, ElementsAre("0"));
  EXPECT_THAT(m.targets, ElementsAre("-80", "80-"));
  EXPECT_EQ(m.tables.size(), 2u);
}

TEST_F(Migrations, NewestFirstAndUnknownIdIsNotFound) {
  makeShopWithSplitTargets();
  makeMain();
  const std::int64_t first = create(spec("shop", {"-80"}, {"-40", "40-80"}));
  const std::int64_t second = create(spec("main", {"0"}, {"-80", "80-"}));
  auto all = cat().migrations();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, second);
  EXPECT_EQ((*all)[1].id, first);
  auto missing = cat().migrations(7);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, kNotFound);
  EXPECT_EQ(missing.error().message, "migration 7 does not exist");
}

TEST_F(Migrations, CreateRefusals) {
  makeShopWithSplitTargets();
  ok(cat().createShard("shop", "20-80", ep(13312), {}, false, ctx()));
  ok(cat().createShard("shop", "60-80", ep(13313), {}, false, ctx()));
  auto refused = [&](MigrationSpec s, ErrorCode code, const std::string& message) {
    SCOPED_TRACE(message);
    expectRejected([&] { return tryCreate(s); }, code, message);
  };
  refused(spec("nope", {"-80"}, {"-40"}), kNotFound, "keyspace 'nope' does not exist");
  refused(spec("shop", {}, {"-40"}), kInvariant,
          "a migration of keyspace 'shop' needs at least one source shard");
  refused(spec("shop", {"-80"}, {}), kInvariant,
          "a migration of keyspace 'shop' needs at least one target shard");
  refused(spec("shop", {"-20"}, {"-40"}), kNotFound, "shard shop.-20 does not exist");
  refused(spec("shop", {"-80"}, {"-40", "c0-"}), kNotFound, "shard shop.c0- does not exist");
  refused(spec("shop", {"-40"}, {"-80"}), kInvariant, "source shard shop.-40 is not serving");
  refused(spec("shop", {"-80"}, {"80-"}), kInvariant,
          "target shard shop.80- is serving; create targets NOT SERVING");
  refused(spec("shop", {"-80"}, {"-80"}), kInvariant,
          "shard shop.-80 is both a source and a target");
  refused(spec("shop", {"-80"}, {"-40", "40-80", "4-8"}), kInvariant,
          "shard shop.40-80 is named twice");
  refused(spec("shop", {"-80"}, {"-40"}), kInvariant, "targets cover -40 but sources cover -80");
  refused(spec("shop", {"-80"}, {"-40", "20-80"}), kInvariant,
          "targets shop.-40 and shop.20-80 overlap");
  refused(spec("shop", {"-80"}, {"-40", "60-80"}), kInvariant,
          "targets leave 40-60 uncovered between shop.-40 and shop.60-80");
  MigrationSpec badTable = spec("shop", {"-80"}, {"-40", "40-80"});
  badTable.tables.push_back({"logs", "weird", 0});
  refused(badTable, kInvariant, "table shop.logs: kind 'weird' is neither sharded nor reference");
  badTable.tables.back() = {"orders", "sharded", 0};
  refused(badTable, kInvariant, "table shop.orders is listed twice");

  // Sources with a gap between them.
  ok(cat().createKeyspace("gappy", true, ctx()));
  ok(cat().createShard("gappy", "-40", ep(15001), {}, true, ctx()));
  ok(cat().createShard("gappy", "80-", ep(15002), {}, true, ctx()));
  ok(cat().createShard("gappy", "-", ep(15003), {}, false, ctx()));
  refused(spec("gappy", {"-40", "80-"}, {"-"}), kInvariant,
          "sources leave 40-80 uncovered between gappy.-40 and gappy.80-");

  // One unfinished migration per keyspace.
  const std::int64_t id = create(spec("shop", {"-80"}, {"-40", "40-80"}));
  refused(spec("shop", {"80-"}, {"60-80"}), kInvariant,
          "keyspace 'shop' already has an unfinished migration " + std::to_string(id) +
              " (copying); complete or cancel it first");
  setPhase(id, MigrationPhase::kCancelled);
  ok(cat().dropShard("shop", "20-80", ctx()));
  ok(cat().dropShard("shop", "60-80", ctx()));
  EXPECT_GT(create(spec("shop", {"-80"}, {"-40", "40-80"})), id);
}

TEST_F(Migrations, UnshardedKeyspaceRefusals) {
  makeMain();
  expectRejected([&] { return tryCreate(spec("main", {"0"}, {"-80"})); }, kInvariant,
                 "targets cover -80 but sources cover - (the whole key space)");
  // Its one shard named like a range could not stay in the keyspace once sharded.
  ok(cat().createKeyspace("odd", false, ctx()));
  ok(cat().createShard("odd", "-80", ep(16001), {}, true, ctx()));
  ok(cat().createShard("odd", "-40", ep(16002), {}, false, ctx()));
  ok(cat().createShard("odd", "40-", ep(16003), {}, false, ctx()));
  EXPECT_EQ(shard(*snap(), "odd", "-80").range, KeyRange{});
  expectRejected(
      [&] {
        return tryCreate(spec("odd", {"-80"}, {"-40", "40-"}));
      },
      kInvariant,
      "source shard odd.-80 owns - (the whole key space) but is named like key range -80");
}

// ---------------------------------------------------------- shard rules of unsharded keyspaces

TEST_F(Migrations, UnshardedKeyspaceTakesRangeNamedTargetsNotServing) {
  makeMain();
  // A second shard of its own, or a serving one, is still refused.
  expectRejected([&] { return cat().createShard("main", "1", ep(1), {}, false, ctx()); },
                 kInvariant, "unsharded keyspace 'main' already has shard main.0");
  expectRejected([&] { return cat().createShard("main", "-40", ep(1), {}, true, ctx()); },
                 kInvariant, "unsharded keyspace 'main' already has shard main.0");
  expectRejected([&] { return cat().setShardServing("main", "-80", true, ctx()); }, kInvariant,
                 "shard main.-80 would overlap serving shard main.0");
  // Target names are stored canonically and found either way.
  ok(cat().createShard("main", "4-8", ep(2), {}, false, ctx()));
  EXPECT_TRUE(hasShard(*snap(), "main", "40-80"));
  ok(cat().dropShard("main", "4-8", ctx()));
  EXPECT_FALSE(hasShard(*snap(), "main", "40-80"));
  // Targets may exist before the keyspace's own shard (a JSON import in range order).
  ok(cat().createKeyspace("fresh", false, ctx()));
  ok(cat().createShard("fresh", "-80", ep(3), {}, false, ctx()));
  ok(cat().createShard("fresh", "main", ep(4), {}, true, ctx()));
  auto s = snap();
  EXPECT_EQ(s->shardFor(*s->findKeyspace("fresh"), 1)->name, "main");
}

TEST_F(Migrations, ShardedKeyspaceRefusesNamesThatAreNoRange) {
  // Only an import may bring back the old shard of a keyspace sharded by a migration.
  ok(cat().createKeyspace("shop", true, ctx()));
  expectRejected([&] { return cat().createShard("shop", "0", ep(1), {}, false, ctx()); },
                 kInvariant, "shard name '0' in sharded keyspace 'shop' is not a key range");
}

// ------------------------------------------------------------------------------ requests

TEST_F(Migrations, RequestStateRules) {
  makeShopWithSplitTargets();
  const std::int64_t id = create(spec("shop", {"-80"}, {"-40", "40-80"}));
  const std::string cutover = "CUTOVER MIGRATION " + std::to_string(id);
  auto request = [&](MigrationRequest r, std::optional<std::uint32_t> timeout = std::nullopt) {
    return cat().requestMigration(id, r, timeout, ctx("request"));
  };

  expectRejected([&] { return cat().requestMigration(7, MigrationRequest::kPause, {}, ctx()); },
                 kNotFound, "migration 7 does not exist");

  // PAUSE and RESUME act at once, as changes.
  auto version = cat().version();
  ok(request(MigrationRequest::kPause));
  EXPECT_TRUE(one(id).paused);
  EXPECT_EQ(one(id).request, std::nullopt);
  EXPECT_EQ(cat().version(), version + 1);
  EXPECT_EQ(cat().changes(1)->front().statement, "request");
  ok(request(MigrationRequest::kResume));
  EXPECT_FALSE(one(id).paused);

  ok(request(MigrationRequest::kVerify));
  EXPECT_EQ(one(id).request, MigrationRequest::kVerify);

  // While copying: no cutover; never a reverse or complete before one.
  expectRefused(
      id, [&] { return request(MigrationRequest::kCutover); }, kRefused,
      cutover + ": the migration is copying; this needs phase replicating");
  expectRefused(
      id, [&] { return request(MigrationRequest::kReverse); }, kRefused,
      "REVERSE MIGRATION " + std::to_string(id) +
          ": the sources still serve; it needs a CUTOVER first");
  expectRefused(
      id, [&] { return request(MigrationRequest::kComplete); }, kRefused,
      "the sources still serve");

  setPhase(id, MigrationPhase::kReplicating);
  ok(request(MigrationRequest::kCutover, 5000));
  EXPECT_EQ(one(id).request, MigrationRequest::kCutover);
  EXPECT_EQ(one(id).cutoverTimeoutMs, 5000u);
  ok(request(MigrationRequest::kCutover));
  EXPECT_EQ(one(id).cutoverTimeoutMs, 2000u);  // the default again

  setPhase(id, MigrationPhase::kCuttingOver);
  expectRefused(
      id, [&] { return request(MigrationRequest::kCutover); }, kRefused,
      "the migration is cutting_over");
  setPhase(id, MigrationPhase::kReplicating);

  ok(cat().switchMigration(id, true, {}, ctx()));
  expectRefused(
      id, [&] { return request(MigrationRequest::kCancel); }, kRefused,
      "the targets serve already; REVERSE MIGRATION " + std::to_string(id) + " first");
  expectRefused(
      id, [&] { return request(MigrationRequest::kCutover); }, kRefused,
      "the targets serve already (REVERSE MIGRATION switches back)");
  ok(request(MigrationRequest::kReverse, 3000));
  EXPECT_EQ(one(id).request, MigrationRequest::kReverse);
  EXPECT_EQ(one(id).cutoverTimeoutMs, 3000u);
  ok(request(MigrationRequest::kComplete));
  EXPECT_EQ(one(id).request, MigrationRequest::kComplete);
  ok(request(MigrationRequest::kPause));
  EXPECT_TRUE(one(id).paused);

  ok(cat().completeMigration(id, ctx()));
  for (auto r : {MigrationRequest::kPause, MigrationRequest::kResume, MigrationRequest::kVerify,
                 MigrationRequest::kCancel, MigrationRequest::kComplete}) {
    expectRefused(
        id, [&] { return request(r); }, kRefused,
        "the migration is completed; nothing is left to do");
  }
}

TEST_F(Migrations, CancelIsRecordedForTheWorkers) {
  makeShopWithSplitTargets();
  const std::int64_t id = create(spec("shop", {"-80"}, {"-40", "40-80"}));
  ok(cat().requestMigration(id, MigrationRequest::kCancel, std::nullopt, ctx()));
  EXPECT_EQ(one(id).request, MigrationRequest::kCancel);
  EXPECT_EQ(one(id).phase, MigrationPhase::kCopying);  // the worker changes the phase
  MigrationUpdate u;
  u.phase = MigrationPhase::kCancelled;
  u.clearRequest = true;
  ok(cat().updateMigration(id, u));
  EXPECT_EQ(one(id).phase, MigrationPhase::kCancelled);
  EXPECT_EQ(one(id).request, std::nullopt);
  expectRefused(
      id, [&] { return cat().requestMigration(id, MigrationRequest::kResume, {}, ctx()); },
      kRefused, "the migration is cancelled");
  // The targets stay, not serving.
  EXPECT_FALSE(shard(*snap(), "shop", "-40").serving);
}

// ------------------------------------------------------------------------------ progress

TEST_F(Migrations, ProgressDoesNotBumpTheVersion) {
  makeShopWithSplitTargets();
  const std::int64_t id = create(spec("shop", {"-80"}, {"-40", "40-80"}));
  ok(cat().requestMigration(id, MigrationRequest::kVerify, std::nullopt, ctx()));
  const auto version = cat().version();
  const std::string log = cat().changes(std::nullopt)->front().statement;
  const std::size_t logSize = cat().changes(std::nullopt)->size();

  MigrationUpdate u;
  u.phase = MigrationPhase::kReplicating;
  u.verifyState = "ok";
  u.verifyDetail = "10 rows in 1 chunks match";
  u.lastError = "a stream was retried";
  u.lastPauseMs = 120;
  u.clearRequest = true;
  u.countCutoverAttempt = true;
  u.paused = true;
  ok(cat().updateMigration(id, u));
  MigrationUpdate attempt;
  attempt.countCutoverAttempt = true;
  ok(cat().updateMigration(id, attempt));

  MigrationTable t;
  t.source = "-80";
  t.table = "orders";
  t.kind = "sharded";
  t.cursor = "42,'x'";
  t.done = true;
  t.rowsCopied = 10;
  t.bytesCopied = 1000;
  t.rowsEstimated = 12;
  ok(cat().saveTableProgress(id, t));

  MigrationStream st = stream("forward", "-80", "0-1-5");
  st.eventsApplied = 7;
  st.rowsApplied = 9;
  st.lagEvents = 3;
  st.lagSeconds = 1.5;
  ok(cat().saveStreamProgress(id, st));

  EXPECT_EQ(cat().version(), version);
  EXPECT_EQ(snap()->version, version);
  EXPECT_EQ(cat().changes(std::nullopt)->size(), logSize);
  EXPECT_EQ(cat().changes(std::nullopt)->front().statement, log);

  const Migration m = one(id);
  EXPECT_EQ(m.phase, MigrationPhase::kReplicating);
  EXPECT_EQ(m.verifyState, "ok");
  EXPECT_EQ(m.verifyDetail, "10 rows in 1 chunks match");
  EXPECT_EQ(m.lastError, "a stream was retried");
  EXPECT_EQ(m.lastPauseMs, 120);
  EXPECT_EQ(m.request, std::nullopt);
  EXPECT_EQ(m.cutoverAttempts, 2u);
  EXPECT_TRUE(m.paused);
  EXPECT_GE(m.updated, m.created);
  ASSERT_EQ(m.tables.size(), 2u);
  EXPECT_EQ(m.tables[0].cursor, "42,'x'");
  EXPECT_TRUE(m.tables[0].done);
  EXPECT_EQ(m.tables[0].rowsCopied, 10u);
  EXPECT_EQ(m.tables[0].bytesCopied, 1000u);
  EXPECT_EQ(m.tables[0].rowsEstimated, 12u);
  EXPECT_FALSE(m.tables[1].done);  // countries untouched
  ASSERT_EQ(m.streams.size(), 1u);
  EXPECT_EQ(m.streams[0].gtidPosition, "0-1-5");
  EXPECT_EQ(m.streams[0].eventsApplied, 7u);
  EXPECT_EQ(m.streams[0].rowsApplied, 9u);
  EXPECT_EQ(m.streams[0].lagEvents, 3);
  EXPECT_DOUBLE_EQ(m.streams[0].lagSeconds, 1.5);

  // An unset field stays.
  MigrationUpdate clearError;
  clearError.lastError = "";
  ok(cat().updateMigration(id, clearError));
  EXPECT_EQ(one(id).verifyState, "ok");
  EXPECT_EQ(one(id).lastError, "");
}

TEST_F(Migrations, ProgressRefusals) {
  makeShopWithSplitTargets();
  const std::int64_t id = create(spec("shop", {"-80"}, {"-40", "40-80"}));
  auto notFound = cat().saveStreamProgress(99, stream("forward", "-80", ""));
  ASSERT_FALSE(notFound.ok());
  EXPECT_EQ(notFound.error().code, kNotFound);
  EXPECT_EQ(notFound.error().message, "migration 99 does not exist");
  EXPECT_EQ(cat().updateMigration(99, {}).error().code, kNotFound);
  MigrationTable table;
  table.source = "-80";
  table.table = "t";
  table.kind = "sharded";
  EXPECT_EQ(cat().saveTableProgress(99, table).error().code, kNotFound);

  MigrationUpdate maybe;
  maybe.verifyState = "maybe";
  auto badState = cat().updateMigration(id, maybe);
  ASSERT_FALSE(badState.ok());
  EXPECT_THAT(badState.error().message, HasSubstr("verify state 'maybe' is not pending"));
  MigrationUpdate done;
  done.phase = MigrationPhase::kCompleted;
  auto completed = cat().updateMigration(id, done);
  ASSERT_FALSE(completed.ok());
  EXPECT_EQ(completed.error().code, kRefused);
  auto direction = cat().saveStreamProgress(id, stream("sideways", "-80", ""));
  ASSERT_FALSE(direction.ok());
  EXPECT_THAT(direction.error().message, HasSubstr("stream direction 'sideways'"));
  EXPECT_EQ(one(id).phase, MigrationPhase::kCopying);
  EXPECT_EQ(one(id).verifyState, "pending");
}

// ---------------------------------------------------------------------- switch and complete

TEST_F(Migrations, SwitchToTheTargetsAndBack) {
  makeShopWithSplitTargets();
  const std::int64_t id = create(spec("shop", {"-80"}, {"-40", "40-80"}));
  expectRefused(
      id, [&] { return cat().switchMigration(id, true, {}, ctx()); }, kRefused,
      "cannot switch to its targets: the migration is copying");
  setPhase(id, MigrationPhase::kCuttingOver);
  ok(cat().requestMigration(id, MigrationRequest::kVerify, std::nullopt, ctx()));
  expectRefused(
      id,
      [&] { return cat().switchMigration(id, true, {stream("forward", "-40", "0-2-1")}, ctx()); },
      kRefused, "records reverse streams of those shards, not a forward stream of shop.-40");
  expectRefused(
      id, [&] { return cat().switchMigration(id, true, {stream("reverse", "-80", "")}, ctx()); },
      kRefused, "not a reverse stream of shop.-80");

  auto version = cat().version();
  ok(cat().switchMigration(id, true,
                           {stream("reverse", "-40", "0-2-7"), stream("reverse", "40-80", "0-3-7")},
                           ctx("CUTOVER MIGRATION")));
  EXPECT_EQ(cat().version(), version + 1);
  EXPECT_EQ(cat().changes(1)->front().statement, "CUTOVER MIGRATION");
  auto after = snap();
  EXPECT_FALSE(shard(*after, "shop", "-80").serving);
  EXPECT_TRUE(shard(*after, "shop", "-40").serving);
  EXPECT_TRUE(shard(*after, "shop", "40-80").serving);
  const Keyspace& shop = *after->findKeyspace("shop");
  EXPECT_TRUE(shop.complete());
  EXPECT_EQ(after->shardFor(shop, 5)->name, "-40");
  EXPECT_EQ(after->shardFor(shop, kQuarter + 5)->name, "40-80");
  Migration m = one(id);
  EXPECT_TRUE(m.switched);
  EXPECT_EQ(m.phase, MigrationPhase::kReplicating);
  EXPECT_EQ(m.request, std::nullopt);
  ASSERT_EQ(m.streams.size(), 3u);  // forward -80 stays, for a reverse
  EXPECT_EQ(m.streams[0].direction + " " + m.streams[0].shard, "forward -80");
  EXPECT_EQ(m.streams[1].direction + " " + m.streams[1].shard + " " + m.streams[1].gtidPosition,
            "reverse -40 0-2-7");
  EXPECT_EQ(m.streams[2].shard, "40-80");

  expectRefused(
      id, [&] { return cat().switchMigration(id, true, {}, ctx()); }, kRefused,
      "cannot switch to its targets: they serve already");

  ok(cat().switchMigration(id, false, {stream("forward", "-80", "0-1-9")},
                           ctx("REVERSE MIGRATION")));
  auto back = snap();
  EXPECT_TRUE(shard(*back, "shop", "-80").serving);
  EXPECT_FALSE(shard(*back, "shop", "-40").serving);
  EXPECT_FALSE(shard(*back, "shop", "40-80").serving);
  EXPECT_EQ(back->shardFor(*back->findKeyspace("shop"), 5)->name, "-80");
  m = one(id);
  EXPECT_FALSE(m.switched);
  EXPECT_EQ(m.phase, MigrationPhase::kReplicating);
  ASSERT_EQ(m.streams.size(), 3u);
  EXPECT_EQ(m.streams[0].direction + " " + m.streams[0].shard + " " + m.streams[0].gtidPosition,
            "forward -80 0-1-9");
  EXPECT_EQ(m.streams[1].direction, "reverse");
}

TEST_F(Migrations, SwitchMakesAnUnshardedKeyspaceShardedAndBack) {
  makeMain();
  const std::int64_t id = create(spec("main", {"0"}, {"-80", "80-"}));
  setPhase(id, MigrationPhase::kCuttingOver);
  ok(cat().switchMigration(id, true, {stream("reverse", "-80", ""), stream("reverse", "80-", "")},
                           ctx()));
  auto sharded = snap();
  const Keyspace& main = *sharded->findKeyspace("main");
  EXPECT_TRUE(main.sharded);
  EXPECT_TRUE(main.complete());
  EXPECT_FALSE(shard(*sharded, "main", "0").serving);  // the old shard stays, NOT SERVING
  EXPECT_EQ(sharded->shardFor(main, 5)->name, "-80");
  EXPECT_EQ(sharded->shardFor(main, 3 * kQuarter)->name, "80-");
  EXPECT_NE(sharded->findTable("main", "orders"), nullptr);

  ok(cat().switchMigration(id, false, {stream("forward", "0", "0-1-3")}, ctx()));
  auto unsharded = snap();
  const Keyspace& again = *unsharded->findKeyspace("main");
  EXPECT_FALSE(again.sharded);
  EXPECT_TRUE(shard(*unsharded, "main", "0").serving);
  EXPECT_FALSE(shard(*unsharded, "main", "-80").serving);
  EXPECT_EQ(unsharded->shardFor(again, 3 * kQuarter)->name, "0");
}

TEST_F(Migrations, CompleteDropsTheSources) {
  makeMain();
  const std::int64_t id = create(spec("main", {"0"}, {"-80", "80-"}));
  setPhase(id, MigrationPhase::kReplicating);
  expectRefused(
      id, [&] { return cat().completeMigration(id, ctx()); }, kRefused,
      "cannot complete: the sources still serve");
  ok(cat().switchMigration(id, true, {stream("reverse", "-80", ""), stream("reverse", "80-", "")},
                           ctx()));
  ok(cat().requestMigration(id, MigrationRequest::kComplete, std::nullopt, ctx()));
  const auto version = cat().version();
  ok(cat().completeMigration(id, ctx("COMPLETE MIGRATION")));
  EXPECT_EQ(cat().version(), version + 1);
  auto s = snap();
  EXPECT_FALSE(hasShard(*s, "main", "0"));
  EXPECT_EQ(s->findBackend(ep(14306)), nullptr);
  EXPECT_EQ(s->findBackend(ep(14307)), nullptr);
  EXPECT_NE(s->findBackend(ep(14308)), nullptr);
  EXPECT_TRUE(s->findKeyspace("main")->sharded);
  EXPECT_TRUE(s->findKeyspace("main")->complete());
  const Migration m = one(id);
  EXPECT_EQ(m.phase, MigrationPhase::kCompleted);
  EXPECT_EQ(m.request, std::nullopt);
  EXPECT_TRUE(m.streams.empty());
  EXPECT_EQ(m.tables.size(), 2u);  // the copy's record stays
  expectRefused(
      id, [&] { return cat().completeMigration(id, ctx()); }, kRefused,
      "cannot complete: the migration is completed");
  // The keyspace is an ordinary sharded one now; the next migration may start.
  ok(cat().createShard("main", "80-c0", ep(14310), {}, false, ctx()));
  ok(cat().createShard("main", "c0-", ep(14311), {}, false, ctx()));
  EXPECT_GT(create(spec("main", {"80-"}, {"80-c0", "c0-"})), id);
}

TEST_F(Migrations, DropIsRefusedWhileAMigrationNamesTheShards) {
  makeMain();
  ok(cat().createShard("main", "-40", ep(14320), {}, false, ctx()));  // not in the migration
  const std::int64_t id = create(spec("main", {"0"}, {"-80", "80-"}));
  const std::string which = "migration " + std::to_string(id) + " (copying)";
  expectRejected([&] { return cat().dropKeyspace("main", ctx()); }, kInvariant,
                 "keyspace 'main' has an unfinished " + which + "; complete or cancel it first");
  expectRejected([&] { return cat().dropShard("main", "-80", ctx()); }, kInvariant,
                 "shard main.-80 is a target of unfinished " + which);
  expectRejected([&] { return cat().dropShard("main", "0", ctx()); }, kInvariant,
                 "shard main.0 is a source of unfinished " + which);
  ok(cat().dropShard("main", "-40", ctx()));

  setPhase(id, MigrationPhase::kCancelled);
  for (const char* name : {"0", "-80", "80-"}) {
    ok(cat().dropShard("main", name, ctx()));
  }
  // Finished migrations go with their keyspace.
  ok(cat().dropKeyspace("main", ctx()));
  EXPECT_TRUE(cat().migrations()->empty());
  EXPECT_EQ(query(path(), "SELECT count(*) FROM migration_tables"), "0");
  EXPECT_EQ(query(path(), "SELECT count(*) FROM migration_streams"), "0");
}

// ------------------------------------------------------------------------ file and JSON

TEST_F(Migrations, UpgradesAVersionOneFile) {
  // A version-1 file: step 1's tables only (the test drops what steps 2 to 4 added).
  const std::string file = path("v1.db");
  {
    auto v1 = openCatalog(file);
    ASSERT_TRUE(v1);
    ASSERT_TRUE(v1->createKeyspace("shop", true, ctx()).ok());
    ASSERT_TRUE(v1->createShard("shop", "-80", ep(1), {}, true, ctx()).ok());
  }
  query(file, "DROP TABLE migration_streams");
  query(file, "DROP TABLE migration_tables");
  query(file, "DROP TABLE migrations");
  query(file, "ALTER TABLE keyspaces DROP COLUMN scatter_writes");
  query(file, "ALTER TABLE keyspaces DROP COLUMN auto_failover");  // step 8's
  query(file, "DROP TABLE ha_events");
  query(file, "ALTER TABLE keyspaces DROP COLUMN transaction_mode");
  query(file, "DROP TABLE twopc_decisions");
  query(file, "DROP TABLE catalog_identity");
  query(file, "DROP TABLE lookup_keys");
  query(file, "DROP TABLE sequences");
  query(file, "PRAGMA user_version = 1");
  ASSERT_EQ(query(file, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'migration%'"), "0");

  auto upgraded = openCatalog(file);
  ASSERT_TRUE(upgraded);
  EXPECT_EQ(query(file, "PRAGMA user_version"), std::to_string(Catalog::kSchemaVersion));
  for (const char* table : {"migrations", "migration_tables", "migration_streams"}) {
    EXPECT_EQ(
        query(file, std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") + table + "'"),
        "1")
        << table;
  }
  EXPECT_EQ(upgraded->version(), 2u);  // content and version kept
  ASSERT_TRUE(upgraded->createShard("shop", "-40", ep(2), {}, false, ctx()).ok());
  ASSERT_TRUE(upgraded->createShard("shop", "40-80", ep(3), {}, false, ctx()).ok());
  auto id = upgraded->createMigration(spec("shop", {"-80"}, {"-40", "40-80"}), ctx());
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(upgraded->migrations()->size(), 1u);
}

TEST_F(Migrations, ExportWithTargetsAndOldShardsReimports) {
  makeMain();
  auto roundTrip = [&](const std::string& name) {
    SCOPED_TRACE(name);
    const std::string exported = dump();
    auto fresh = openCatalog(path(name));
    ASSERT_TRUE(fresh);
    Status s = fresh->importJson(exported, ctx());
    ASSERT_TRUE(s.ok()) << s.error().message << "\n" << exported;
    EXPECT_EQ(*fresh->exportJson(), exported);
    EXPECT_TRUE(fresh->migrations()->empty());  // migrations are not exported
  };
  roundTrip("targets.db");  // unsharded, targets NOT SERVING
  const std::int64_t id = create(spec("main", {"0"}, {"-80", "80-"}));
  setPhase(id, MigrationPhase::kReplicating);
  ok(cat().switchMigration(id, true, {}, ctx()));
  EXPECT_THAT(dump(), HasSubstr("\"name\": \"0\""));
  roundTrip("switched.db");  // sharded, with the old shard 0 NOT SERVING
}

}  // namespace
}  // namespace shardproxy::catalog::test
