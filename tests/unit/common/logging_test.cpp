// Structured log lines (common/logging.h): LogFields as JSON members or key=value words, and the
// per-thread throttle of statement-error lines.
#include "shardproxy/common/logging.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

namespace shardproxy {
namespace {

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    logger_ = std::make_shared<spdlog::logger>("logging_test", sink_);
    spdlog::register_logger(logger_);
  }
  void TearDown() override {
    spdlog::drop("logging_test");
    configureLogging("info", false);
  }
  std::string take() {
    std::string s = out_.str();
    out_.str("");
    return s;
  }
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST_F(LoggingTest, JsonLineCarriesTheFieldsAsMembers) {
  ASSERT_TRUE(configureLogging("info", true));
  LogFields f;
  f.conn = 42;
  f.user = "app\"x\\\n\t\x01";  // quote, backslash and control characters stay inside the string
  f.host = "127.0.0.1";
  f.keyspace = "shop";
  f.shard = "-80";
  f.error = 1105;
  logWith(*logger_, spdlog::level::info, f, "statement failed: {}", "no \"route\"");
  const std::string line = take();
  rapidjson::Document d;
  d.Parse(line.c_str());
  ASSERT_FALSE(d.HasParseError()) << line;
  EXPECT_EQ(d["conn"].GetUint64(), 42u);
  EXPECT_STREQ(d["user"].GetString(), "app\"x\\\n\t\x01");
  EXPECT_STREQ(d["host"].GetString(), "127.0.0.1");
  EXPECT_STREQ(d["keyspace"].GetString(), "shop");
  EXPECT_STREQ(d["shard"].GetString(), "-80");
  EXPECT_EQ(d["error"].GetInt(), 1105);
  EXPECT_STREQ(d["msg"].GetString(), "statement failed: no \"route\"");
  EXPECT_STREQ(d["level"].GetString(), "info");
  EXPECT_STREQ(d["module"].GetString(), "logging_test");
}

TEST_F(LoggingTest, UnsetFieldsAreLeftOutAndPlainLinesHaveNone) {
  ASSERT_TRUE(configureLogging("info", true));
  LogFields f;
  f.keyspace = "shop";
  logWith(*logger_, spdlog::level::warn, f, "only a keyspace");
  logger_->info("no fields");
  std::istringstream lines(take());
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  rapidjson::Document a, b;
  a.Parse(first.c_str());
  b.Parse(second.c_str());
  ASSERT_FALSE(a.HasParseError()) << first;
  ASSERT_FALSE(b.HasParseError()) << second;
  EXPECT_STREQ(a["keyspace"].GetString(), "shop");
  EXPECT_FALSE(a.HasMember("conn"));
  EXPECT_FALSE(a.HasMember("shard"));
  EXPECT_FALSE(a.HasMember("error"));
  EXPECT_FALSE(b.HasMember("keyspace"));
  EXPECT_FALSE(b.HasMember("conn"));
}

TEST_F(LoggingTest, TextLineHasKeyValueWordsBeforeTheMessage) {
  ASSERT_TRUE(configureLogging("info", false));
  LogFields f;
  f.conn = 7;
  f.user = "an app";
  f.keyspace = "shop";
  f.error = 1235;
  logWith(*logger_, spdlog::level::info, f, "refused");
  const std::string line = take();
  EXPECT_NE(line.find("[logging_test] conn=7 user=\"an app\" keyspace=shop error=1235 refused"),
            std::string::npos)
      << line;
}

TEST_F(LoggingTest, NothingIsFormattedBelowTheLevel) {
  ASSERT_TRUE(configureLogging("warn", true));
  LogFields f;
  f.conn = 1;
  logWith(*logger_, spdlog::level::info, f, "quiet");
  EXPECT_EQ(take(), "");
}

TEST(LogThrottle, PassesAtMostTheRateAndCountsTheRest) {
  LogThrottle t(3);
  int passed = 0;
  for (int i = 0; i < 10; ++i)
    passed += t.allow(1000 + i) ? 1 : 0;
  EXPECT_EQ(passed, 3);
  EXPECT_EQ(t.takeSuppressed(), 7u);
  EXPECT_EQ(t.takeSuppressed(), 0u);
  EXPECT_FALSE(t.allow(1999));
  EXPECT_TRUE(t.allow(2000));  // a new second
  EXPECT_EQ(t.takeSuppressed(), 1u);
}

}  // namespace
}  // namespace shardproxy
