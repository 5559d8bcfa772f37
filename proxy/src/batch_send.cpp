// BatchSender (batch_send.h): io_uring's IORING_OP_SEND with MSG_DONTWAIT completes during the
// submitting call (a send the socket cannot take fails with -EAGAIN instead of waiting), so one
// io_uring_submit_and_wait() sends every buffer and finds every result.
#include "shardproxy/proxy/batch_send.h"

#include <liburing.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace shardproxy::proxy {

namespace {

constexpr unsigned kEntries = 64;
constexpr int kFlags = MSG_DONTWAIT | MSG_NOSIGNAL;

// One item by send(): without a ring, or after it failed.
void sendPlain(BatchSender::Item& it) {
  const ssize_t n = ::send(it.fd, it.data, it.size, kFlags);
  it.result = n < 0 ? -errno : n;
}

}  // namespace

struct BatchSender::Ring {
  io_uring ring{};
};

BatchSender::BatchSender() {
  auto* r = new Ring;
  if (io_uring_queue_init(kEntries, &r->ring, 0) != 0) {
    delete r;
    return;
  }
  ring_ = r;
}

BatchSender::~BatchSender() {
  if (ring_ == nullptr) return;
  io_uring_queue_exit(&ring_->ring);
  delete ring_;
}

void BatchSender::send(std::span<Item> items) {
  if (ring_ == nullptr) {
    for (Item& it : items)
      sendPlain(it);
    return;
  }
  io_uring& ring = ring_->ring;
  for (std::size_t from = 0; from < items.size(); from += kEntries) {
    const std::size_t count = std::min<std::size_t>(kEntries, items.size() - from);
    for (std::size_t i = 0; i < count; ++i) {
      Item& it = items[from + i];
      it.result = -EAGAIN;
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      io_uring_prep_send(sqe, it.fd, it.data, it.size, kFlags);
      io_uring_sqe_set_data64(sqe, from + i);
    }
    std::size_t submitted = 0;
    while (submitted < count) {
      const int n = io_uring_submit_and_wait(&ring, static_cast<unsigned>(count));
      if (n <= 0) break;
      submitted += static_cast<std::size_t>(n);
    }
    std::size_t seen = 0;
    while (seen < submitted) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_wait_cqe(&ring, &cqe) != 0 || cqe == nullptr) break;
      const std::uint64_t index = io_uring_cqe_get_data64(cqe);
      if (index < items.size()) items[index].result = cqe->res;
      io_uring_cqe_seen(&ring, cqe);
      ++seen;
    }
    if (submitted < count || seen < submitted) {
      // The ring refused entries or lost completions: it is closed (entries still queued in it
      // must never go out later) and this thread sends one by one from now on.
      io_uring_queue_exit(&ring);
      delete ring_;
      ring_ = nullptr;
      for (std::size_t i = from; i < items.size(); ++i) {
        Item& it = items[i];
        if (i < from + count && it.result != -EAGAIN) continue;  // done (or failed) in the ring
        sendPlain(it);
      }
      return;
    }
  }
}

}  // namespace shardproxy::proxy
