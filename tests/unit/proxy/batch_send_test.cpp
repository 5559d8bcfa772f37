// BatchSender (batch_send.h) over socket pairs, and FirstAskGuard (merge_engine.h).
#include "shardproxy/proxy/batch_send.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "shardproxy/proxy/merge_engine.h"

namespace shardproxy::proxy {
namespace {

struct Pair {
  int a = -1;  // sent on
  int b = -1;  // read from
  Pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
      a = fds[0];
      b = fds[1];
    }
  }
  ~Pair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
  std::string drain() const {
    std::string got;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(b, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
};

TEST(BatchSender, SendsEveryBufferInOneCall) {
  BatchSender sender;
  std::vector<Pair> pairs(5);
  std::vector<std::string> data;
  std::vector<BatchSender::Item> items;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    ASSERT_GE(pairs[i].a, 0);
    data.push_back("SELECT " + std::to_string(i) + std::string(i * 100, 'x'));
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    items.push_back(
        {pairs[i].a, reinterpret_cast<const std::uint8_t*>(data[i].data()), data[i].size(), 0});
  }
  sender.send(items);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_EQ(items[i].result, static_cast<long>(data[i].size())) << i;
    EXPECT_EQ(pairs[i].drain(), data[i]) << i;
  }
}

TEST(BatchSender, MoreItemsThanTheRingHolds) {
  BatchSender sender;
  std::vector<Pair> pairs(150);
  std::vector<BatchSender::Item> items;
  const std::string msg = "ping";
  for (const Pair& p : pairs)
    items.push_back({p.a, reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size(), 0});
  sender.send(items);
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_EQ(items[i].result, 4) << i;
    EXPECT_EQ(pairs[i].drain(), msg) << i;
  }
}

TEST(BatchSender, NeverWaitsForAFullSocket) {
  BatchSender sender;
  Pair full, free;
  const int small = 4096;
  ::setsockopt(full.a, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string filler(1 << 20, 'f');
  while (::send(full.a, filler.data(), filler.size(), MSG_DONTWAIT) > 0) {
  }
  const std::string msg = "SELECT 1";
  std::vector<BatchSender::Item> items = {
      {full.a, reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size(), 0},
      {free.a, reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size(), 0}};
  sender.send(items);  // returns at once: the full socket's send fails instead of waiting
  EXPECT_EQ(items[0].result, -EAGAIN);
  EXPECT_EQ(items[1].result, static_cast<long>(msg.size()));
  EXPECT_EQ(free.drain(), msg);
}

TEST(BatchSender, ReportsAClosedPeer) {
  BatchSender sender;
  Pair p;
  ::close(p.b);
  p.b = -1;
  const std::string msg = "SELECT 1";
  std::vector<BatchSender::Item> items = {
      {p.a, reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size(), 0}};
  sender.send(items);
  EXPECT_EQ(items[0].result, -EPIPE);  // MSG_NOSIGNAL: an error, not SIGPIPE
}

TEST(FirstAskGuard, AllowsUntilAStatementOftenNeedsTheSecondAsk) {
  FirstAskGuard guard;
  const std::uint64_t d = 0x1234567;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(guard.allow(d));
    guard.record(d, i % 10 == 9);  // 1 in 10 asked again: still worth it
  }
  const std::uint64_t skewed = 0x7654321;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(guard.allow(skewed)) << i;
    guard.record(skewed, i % 2 == 0);  // every other one
  }
  int allowed = 0;
  for (int i = 0; i < 640; ++i)
    allowed += guard.allow(skewed) ? 1 : 0;
  EXPECT_EQ(allowed, 10);  // one try in 64 refusals, so a change of data is noticed
  EXPECT_TRUE(guard.allow(d));
  EXPECT_TRUE(guard.allow(0));  // no digest: always
}

TEST(FirstAskGuard, ARetryAfterRefusalsCanReopenIt) {
  FirstAskGuard guard;
  const std::uint64_t d = 42;
  for (int i = 0; i < 8; ++i)
    guard.record(d, true);
  int refused = 0;
  while (!guard.allow(d))
    ++refused;
  EXPECT_EQ(refused, 63);
  for (int i = 0; i < 40; ++i)
    guard.record(d, false);  // the data changed: the first ask is enough again
  EXPECT_TRUE(guard.allow(d));
}

}  // namespace
}  // namespace shardproxy::proxy
