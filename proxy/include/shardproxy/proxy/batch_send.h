// Sends to several sockets in one system call (io_uring): a statement fanned out to its shards.
// Place in the request flow: ClientSession::executeMulti writes each shard's command into that
// backend channel's buffer, then BatchSender::send() hands them to the kernel together. Sent one
// by one, each send wakes a shard's server, the scheduler may put it on the proxy's own core and
// run it at once (loopback wake-ups are "sync": the waker is expected to sleep), and the proxy's
// remaining sends wait behind that server's whole statement: measured on the 2-core VM, the
// fourth shard's query left 50-110 µs after the first in a quarter of fan-outs. In one call every
// query is out before the proxy can be preempted (docs/merging.md).
// Without io_uring (an old kernel, a sandbox that refuses it) each buffer is sent by send().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace shardproxy::proxy {

class BatchSender {
 public:
  struct Item {
    int fd = -1;
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    // Out: bytes the socket took now (possibly fewer than size: the caller sends the rest the
    // usual way), or -errno (-EAGAIN: none; the caller waits for the socket as usual).
    long result = 0;
  };

  BatchSender();
  ~BatchSender();
  BatchSender(const BatchSender&) = delete;
  BatchSender& operator=(const BatchSender&) = delete;

  // Never blocks (MSG_DONTWAIT): each item's result is what its socket took at once.
  void send(std::span<Item> items);
  bool usesIoUring() const { return ring_ != nullptr; }

 private:
  struct Ring;
  Ring* ring_ = nullptr;
};

}  // namespace shardproxy::proxy
