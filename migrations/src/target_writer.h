// Writes one target's copy statements on a thread of its own, so a copy chunk feeds every target
// at once (each target is its own server) while the worker goes on reading rows.
// Place in the request flow: owned by a stream worker (stream_worker.cpp) for the copy only; the
// applier writes to the same connections only after wait() returned.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "shardproxy/common/errors.h"
#include "shardproxy/migrations/blocking_client.h"

namespace shardproxy::migrations {

class TargetWriter {
 public:
  explicit TargetWriter(BlockingClient& client);
  ~TargetWriter();
  TargetWriter(const TargetWriter&) = delete;
  TargetWriter& operator=(const TargetWriter&) = delete;

  // Queues a statement; blocks while kMaxQueued are waiting (memory stays bounded).
  void submit(std::string sql);
  // Returns once every submitted statement ran: the first error since the last wait(), if any.
  Status wait();

 private:
  static constexpr std::size_t kMaxQueued = 2;
  void loop();

  BlockingClient& client_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool busy_ = false;
  bool stop_ = false;
  Status error_;
  std::thread thread_;
};

// Runs `sql` on a target; a deadlock or lock wait timeout (streams of a merge write the same
// target) is retried: every statement the workers send is idempotent.
Status executeRetrying(BlockingClient& c, const std::string& sql);

}  // namespace shardproxy::migrations
