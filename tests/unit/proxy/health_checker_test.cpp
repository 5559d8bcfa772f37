// No MariaDB here: a closed port is enough to see a backend reported down, and SHOW SLAVE STATUS
// rows are judged by a pure function.
#include "shardproxy/proxy/health_checker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace shardproxy::proxy {
namespace {

using namespace std::chrono_literals;

// A loopback port nothing listens on: bound once by us, then closed.
std::uint16_t closedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

catalog::SnapshotPtr snapshotWithReplicaOn(std::uint16_t port) {
  auto snap = std::make_shared<catalog::Snapshot>();
  catalog::Backend b;
  b.id = 7;
  b.address = {"127.0.0.1", port};
  b.keyspace = "ks";
  b.shard = "-";
  b.role = catalog::BackendRole::kReplica;
  snap->backends.push_back(b);
  return snap;
}

TEST(HealthChecker, BackendOnAClosedPortIsReportedDown) {
  catalog::SnapshotPtr snap = snapshotWithReplicaOn(closedPort());
  HealthCheckOptions options{.user = "health", .password = "", .interval = 300ms, .timeout = 300ms};
  HealthChecker checker([snap] { return snap; }, options);
  ASSERT_NE(checker.health(), nullptr);
  EXPECT_EQ(checker.health()->find(7), nullptr);  // not checked yet

  const auto started = std::chrono::steady_clock::now();
  checker.start();
  const router::BackendHealth* seen = nullptr;
  std::shared_ptr<const router::HealthTable> table;
  while (std::chrono::steady_clock::now() - started < 2 * options.interval) {
    table = checker.health();
    seen = table->find(7);
    if (seen != nullptr) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(seen, nullptr) << "no health entry within two intervals";
  EXPECT_FALSE(seen->up);
  EXPECT_FALSE(seen->lagKnown);
  EXPECT_GE(table->version, 1u);

  const auto stopping = std::chrono::steady_clock::now();
  checker.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, options.interval + 1s);
  EXPECT_GE(checker.rounds(), 1u);
}

TEST(HealthChecker, StopWithoutStartIsHarmless) {
  HealthChecker checker([] { return catalog::SnapshotPtr{}; }, {});
  checker.stop();
  checker.stop();
  EXPECT_EQ(checker.rounds(), 0u);
}

TEST(ReplicaHealth, RunningReplicaReportsItsLag) {
  HealthObservation o = replicaHealth("Yes", "Yes", "12");
  EXPECT_TRUE(o.health.up);
  EXPECT_TRUE(o.health.lagKnown);
  EXPECT_EQ(o.health.lagSeconds, 12u);
  EXPECT_TRUE(o.problem.empty());
}

TEST(ReplicaHealth, StoppedThreadsOrUnknownLagAreNotFit) {
  for (HealthObservation o :
       {replicaHealth("No", "Yes", "0"), replicaHealth("Yes", "No", "0"),
        replicaHealth("Connecting", "Yes", std::nullopt), replicaHealth("Yes", "Yes", std::nullopt),
        replicaHealth("Yes", "Yes", "soon")}) {
    EXPECT_FALSE(o.health.up);
    EXPECT_FALSE(o.health.lagKnown);
    EXPECT_FALSE(o.problem.empty());
  }
}

TEST(HealthDamping, FallFailuresToGoDownRiseSuccessesToComeBack) {
  // fall = 3, rise = 2
  EXPECT_TRUE(dampedUp(true, 1, 0, 3, 2));
  EXPECT_TRUE(dampedUp(true, 2, 0, 3, 2));
  EXPECT_FALSE(dampedUp(true, 3, 0, 3, 2));
  EXPECT_FALSE(dampedUp(false, 0, 1, 3, 2));
  EXPECT_TRUE(dampedUp(false, 0, 2, 3, 2));
  // 1 and 1: every probe decides.
  EXPECT_FALSE(dampedUp(true, 1, 0, 1, 1));
  EXPECT_TRUE(dampedUp(false, 0, 1, 1, 1));
  // A nonsense setting counts as 1.
  EXPECT_FALSE(dampedUp(true, 1, 0, 0, 0));
}

TEST(HealthGtid, TransactionsAReplicaLacks) {
  EXPECT_EQ(gtidTransactionsMissing("0-101-500", "0-102-480"), 20u);
  EXPECT_EQ(gtidTransactionsMissing("0-101-500", "0-101-500"), 0u);
  EXPECT_EQ(gtidTransactionsMissing("0-101-5,1-3-9", "0-101-5"), 9u);
  EXPECT_EQ(gtidTransactionsMissing("0-101-5", "0-101-9"), 0u);
}

}  // namespace
}  // namespace shardproxy::proxy
