#include "shardproxy/proxy/keyspace_gate.h"

#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/server.h"

namespace shardproxy::proxy {

bool KeyspaceGate::isHeld(std::string_view keyspace) const {
  std::lock_guard lock(mu_);
  return keyspaces_.find(keyspace) != keyspaces_.end();
}

int KeyspaceGate::busySessions(const std::string& keyspace,
                               std::chrono::steady_clock::time_point deadline) {
  std::vector<std::future<int>> answers;
  for (ThreadContext* t : shared_.threads) {
    auto promise = std::make_shared<std::promise<int>>();
    answers.push_back(promise->get_future());
    boost::asio::post(t->io, [t, promise, keyspace] {
      int busy = 0;
      for (const ClientSession* s : t->sessions)
        busy += s->busyOn(keyspace) ? 1 : 0;
      promise->set_value(busy);
    });
  }
  int total = 0;
  for (auto& a : answers) {
    if (a.wait_until(deadline) != std::future_status::ready) return -1;
    total += a.get();
  }
  return total;
}

bool KeyspaceGate::hold(const std::string& keyspace,
                        std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lock(mu_);
    if (keyspaces_.insert(keyspace).second) held_.fetch_add(1, std::memory_order_seq_cst);
  }
  // A session checks the hold in the same run of its thread in which it marks itself busy, so
  // once every thread has answered "nobody busy" after the hold began, nobody can start.
  for (;;) {
    const int busy = busySessions(keyspace, deadline);
    if (busy == 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void KeyspaceGate::release(const std::string& keyspace) {
  std::lock_guard lock(mu_);
  if (keyspaces_.erase(keyspace) != 0) held_.fetch_sub(1, std::memory_order_seq_cst);
}

void KeyspaceGate::publish(catalog::SnapshotPtr snapshot) {
  shared_.publish(std::move(snapshot));
}

}  // namespace shardproxy::proxy
