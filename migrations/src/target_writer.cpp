#include "target_writer.h"

#include <algorithm>
#include <chrono>

namespace shardproxy::migrations {

Status executeRetrying(BlockingClient& c, const std::string& sql) {
  for (int attempt = 0;; ++attempt) {
    Status s = c.execute(sql);
    if (s || attempt == 8 || (c.lastErrno() != 1213 && c.lastErrno() != 1205)) return s;
    (void)c.execute("ROLLBACK");
    std::this_thread::sleep_for(std::chrono::milliseconds(5 << std::min(attempt, 5)));
  }
}

TargetWriter::TargetWriter(BlockingClient& client) : client_(client) {
  thread_ = std::thread([this] { loop(); });
}

TargetWriter::~TargetWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void TargetWriter::submit(std::string sql) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queue_.size() < kMaxQueued; });
  queue_.push_back(std::move(sql));
  cv_.notify_all();
}

Status TargetWriter::wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
  Status out = std::move(error_);
  error_ = Status{};
  return out;
}

void TargetWriter::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping
    std::string sql = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    const bool failedBefore = !error_;
    cv_.notify_all();
    lock.unlock();
    // After a failure the rest of the chunk is skipped: the chunk is copied again.
    Status s = failedBefore ? Status{} : executeRetrying(client_, sql);
    lock.lock();
    if (!s && error_) error_ = std::move(s);
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace shardproxy::migrations
