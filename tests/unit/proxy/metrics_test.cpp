// metrics.h: histogram buckets, adding up the threads' counters, and the Prometheus text they
// are written in (the integration test parses a live scrape; these pin the format's details).
#include "shardproxy/proxy/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace shardproxy::proxy::metrics {
namespace {

TEST(MetricsHistogram, BucketsByUpperBoundInclusive) {
  Histogram h;
  h.add(50'000);         // exactly the first bound: in it
  h.add(50'001);         // just above: the next
  h.add(9'000'000'000);  // above every bound: the overflow bucket
  EXPECT_EQ(h.counts[0], 1u);
  EXPECT_EQ(h.counts[1], 1u);
  EXPECT_EQ(h.counts.back(), 1u);
  EXPECT_EQ(h.count, 3u);
  EXPECT_EQ(h.sumNs, 50'000u + 50'001u + 9'000'000'000u);
}

TEST(MetricsCounters, ThreadsAddUp) {
  ThreadMetrics a, b;
  a.statement(Kind::kSelect);
  a.statement(Kind::kSelect);
  b.statement(Kind::kSelect);
  a.error(1054);
  b.error(1054);
  b.error(1213);
  ++a.shard("shop", "-80").single;
  ++b.shard("shop", "-80").scatter;
  a.backend("127.0.0.1:3306").latency.add(1000);
  b.backend("127.0.0.1:3306").latency.add(2000);
  b.accepted();
  b.refused();
  Counters total;
  total.merge(a.copy());
  total.merge(b.copy());
  EXPECT_EQ(total.statements[static_cast<std::size_t>(Kind::kSelect)], 3u);
  EXPECT_EQ(total.errors[1054], 2u);
  EXPECT_EQ(total.errors[1213], 1u);
  EXPECT_EQ(total.shards["shop/-80"].single, 1u);
  EXPECT_EQ(total.shards["shop/-80"].scatter, 1u);
  EXPECT_EQ(total.backends["127.0.0.1:3306"].latency.count, 2u);
  EXPECT_EQ(total.backends["127.0.0.1:3306"].latency.sumNs, 3000u);
  EXPECT_EQ(total.connectionsAccepted, 1u);
  EXPECT_EQ(total.connectionsRefused, 1u);
}

TEST(MetricsCounters, ReferencesStayValidAsTheMapsGrow) {
  // Sessions keep a pointer to their backend's counters.
  ThreadMetrics m;
  BackendCounters* first = &m.backend("127.0.0.1:1");
  for (int i = 2; i < 500; ++i)
    m.backend("127.0.0.1:" + std::to_string(i));
  EXPECT_EQ(first, &m.backend("127.0.0.1:1"));
}

TEST(PromWriter, FamiliesLabelsAndEscaping) {
  PromWriter w;
  w.family("x_total", "counter", "A help text.");
  w.sample("x_total", {}, std::uint64_t{7});
  w.sample("x_total", {{"a", "q\"uote"}, {"b", "back\\slash\nline"}}, std::uint64_t{1});
  EXPECT_EQ(w.text(),
            "# HELP x_total A help text.\n# TYPE x_total counter\nx_total 7\n"
            "x_total{a=\"q\\\"uote\",b=\"back\\\\slash\\nline\"} 1\n");
}

TEST(PromWriter, HistogramsAreCumulativeInSeconds) {
  Histogram h;
  h.add(40'000);   // <= 50 µs
  h.add(200'000);  // <= 250 µs
  h.add(200'000);
  PromWriter w;
  w.histogram("lat_seconds", {{"backend", "b"}}, h);
  const std::string& t = w.text();
  EXPECT_NE(t.find("lat_seconds_bucket{backend=\"b\",le=\"5e-05\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("lat_seconds_bucket{backend=\"b\",le=\"0.0001\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("lat_seconds_bucket{backend=\"b\",le=\"0.00025\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("lat_seconds_bucket{backend=\"b\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("lat_seconds_sum{backend=\"b\"} 0.00044\n"), std::string::npos);
  EXPECT_NE(t.find("lat_seconds_count{backend=\"b\"} 3\n"), std::string::npos);
}

TEST(PromWriter, RendersEveryStatementKindOnce) {
  Counters c;
  PromWriter w;
  ListenerFigures admin;
  admin.open = 2;
  admin.errors[1064] = 3;
  renderCounters(c, 5, admin, w);
  for (std::size_t i = 0; i < kKinds; ++i) {
    const std::string line = "shardproxy_statements_total{listener=\"app\",kind=\"" +
                             std::string(kindName(static_cast<Kind>(i))) + "\"} 0\n";
    EXPECT_NE(w.text().find(line), std::string::npos) << line;
    EXPECT_EQ(w.text().find(line), w.text().rfind(line)) << line;
  }
  for (const char* line : {"shardproxy_client_connections{listener=\"app\"} 5\n",
                           "shardproxy_client_connections{listener=\"admin\"} 2\n",
                           "shardproxy_statements_total{listener=\"admin\",kind=\"admin\"} 0\n",
                           "shardproxy_errors_total{listener=\"admin\",code=\"1064\"} 3\n"}) {
    EXPECT_NE(w.text().find(line), std::string::npos) << line;
  }
  // Each family's # TYPE once, before its samples.
  EXPECT_EQ(w.text().find("# TYPE shardproxy_client_connections gauge"),
            w.text().rfind("# TYPE shardproxy_client_connections gauge"));
}

}  // namespace
}  // namespace shardproxy::proxy::metrics
