#include "shardproxy/proxy/channel.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/messages.h"

namespace shardproxy::proxy {

namespace {
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// Reads and writes completed without the scheduler in a row on this thread. Each asynchronous
// completion goes through Asio's queue (and an epoll_wait(0) before it), which is what lets the
// thread's other sessions run; past this many immediate ones the next takes that path.
constexpr int kFastStreak = 64;
thread_local int fastStreak = 0;

bool fastAllowed() {
  if (++fastStreak <= kFastStreak) return true;
  fastStreak = 0;
  return false;
}
}  // namespace

std::optional<std::size_t> Stream::tryReadSome(asio::mutable_buffer buf) {
  if (tls_ || !fastAllowed()) return std::nullopt;
  ssize_t n = ::recv(socket_.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT);
  if (n < 0) {  // EAGAIN, or an error the asynchronous read reports; either way a real wait
    fastStreak = 0;
    return std::nullopt;
  }
  return static_cast<std::size_t>(n);
}

void Stream::setReadLowWater(int bytes) {
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes);
}

std::optional<std::size_t> Stream::tryWriteSome(asio::const_buffer buf) {
  if (tls_ || !fastAllowed()) return std::nullopt;
  ssize_t n = ::send(socket_.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0) {
    fastStreak = 0;
    return std::nullopt;
  }
  return static_cast<std::size_t>(n);
}

asio::awaitable<std::tuple<error_code, std::size_t>> Stream::readSome(asio::mutable_buffer buf) {
  if (tls_) return tls_->async_read_some(buf, kAwait);
  return socket_.async_read_some(buf, kAwait);
}

asio::awaitable<std::tuple<error_code, std::size_t>> Stream::writeAll(asio::const_buffer buf) {
  if (tls_) return asio::async_write(*tls_, buf, kAwait);
  return asio::async_write(socket_, buf, kAwait);
}

asio::awaitable<error_code> Stream::handshakeTls(asio::ssl::context& ctx,
                                                 asio::ssl::stream_base::handshake_type type) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, ctx);
  auto [ec] = co_await tls_->async_handshake(type, kAwait);
  co_return ec;
}

void Stream::close() {
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

Channel::Channel(tcp::socket socket, std::size_t maxPacket)
    : stream_(std::move(socket)),
      in_(kInitialBuffer),
      maxPacket_(maxPacket),
      deadline_(stream_.socket().get_executor()) {}

asio::awaitable<error_code> Channel::fill(std::size_t want) {
  if (head_ == tail_) {
    head_ = tail_ = 0;
  } else if (head_ > 0 && (head_ + want > in_.size() || in_.size() - tail_ < 4096)) {
    std::memmove(in_.data(), in_.data() + head_, tail_ - head_);
    tail_ -= head_;
    head_ = 0;
  }
  if (head_ + want > in_.size()) in_.resize(head_ + want);
  if (tail_ == in_.size()) in_.resize(in_.size() * 2);
  if (auto got = stream_.tryReadSome(asio::buffer(in_.data() + tail_, in_.size() - tail_))) {
    if (*got == 0) co_return asio::error::eof;
    tail_ += *got;
    co_return error_code{};
  }
  auto [ec, n] = co_await stream_.readSome(asio::buffer(in_.data() + tail_, in_.size() - tail_));
  if (!ec && n == 0) ec = asio::error::eof;
  tail_ += n;
  co_return ec;
}

void Channel::shrinkIfLarge() {
  if (in_.size() > kKeepBuffer && buffered() <= kInitialBuffer) {
    std::memmove(in_.data(), in_.data() + head_, buffered());
    tail_ -= head_;
    head_ = 0;
    in_.resize(kInitialBuffer);
    in_.shrink_to_fit();
  }
  if (merged_.capacity() > kKeepBuffer) {
    protocol::Bytes().swap(merged_);
  }
}

asio::awaitable<Result<Packet>> Channel::readPacket() {
  using protocol::kHeaderSize;
  using protocol::kMaxPayload;
  bool split = false;
  merged_.clear();
  Packet pkt;
  bool firstPhysical = true;
  std::uint8_t expectSeq = 0;
  while (true) {
    while (buffered() < kHeaderSize) {
      if (auto ec = co_await fill(kHeaderSize)) {
        co_return Error::make(ErrorCode::kBackendLost, ec.message());
      }
    }
    auto hdr = protocol::parseHeader(in_.data() + head_);
    std::size_t total = split ? merged_.size() + hdr.length : hdr.length;
    if (total > maxPacket_) {
      co_return Error::make(ErrorCode::kPacketTooLarge,
                            "Got a packet bigger than 'max_allowed_packet' bytes");
    }
    if (!firstPhysical && hdr.seq != expectSeq) {
      co_return Error::make(ErrorCode::kPacketsOutOfOrder, "Got packets out of order");
    }
    while (buffered() < kHeaderSize + hdr.length) {
      if (auto ec = co_await fill(kHeaderSize + hdr.length)) {
        co_return Error::make(ErrorCode::kBackendLost, ec.message());
      }
    }
    const std::uint8_t* start = in_.data() + head_;
    if (firstPhysical) pkt.seq = hdr.seq;
    pkt.lastSeq = hdr.seq;
    expectSeq = static_cast<std::uint8_t>(hdr.seq + 1);
    firstPhysical = false;
    if (!split && hdr.length < kMaxPayload) {
      pkt.payload = protocol::ByteView(start + kHeaderSize, hdr.length);
      pkt.raw = protocol::ByteView(start, kHeaderSize + hdr.length);
      head_ += kHeaderSize + hdr.length;
      co_return pkt;
    }
    split = true;
    merged_.insert(merged_.end(), start + kHeaderSize, start + kHeaderSize + hdr.length);
    head_ += kHeaderSize + hdr.length;
    if (hdr.length < kMaxPayload) {
      pkt.payload = protocol::ByteView(merged_.data(), merged_.size());
      pkt.raw = {};
      co_return pkt;
    }
  }
}

asio::awaitable<Result<Packet>> Channel::readPacketNoReadAhead() {
  using protocol::kHeaderSize;
  head_ = tail_ = 0;
  auto readExactly = [this](std::size_t n) -> asio::awaitable<error_code> {
    if (in_.size() < n) in_.resize(n);
    while (tail_ < n) {
      auto [ec, got] = co_await stream_.readSome(asio::buffer(in_.data() + tail_, n - tail_));
      if (!ec && got == 0) ec = asio::error::eof;
      if (ec) co_return ec;
      tail_ += got;
    }
    co_return error_code{};
  };
  if (auto ec = co_await readExactly(kHeaderSize)) {
    co_return Error::make(ErrorCode::kBackendLost, ec.message());
  }
  auto hdr = protocol::parseHeader(in_.data());
  if (hdr.length >= protocol::kMaxPayload || hdr.length > maxPacket_) {
    co_return Error::make(ErrorCode::kPacketTooLarge, "Handshake packet too large");
  }
  if (auto ec = co_await readExactly(kHeaderSize + hdr.length)) {
    co_return Error::make(ErrorCode::kBackendLost, ec.message());
  }
  head_ = tail_;
  Packet pkt;
  pkt.payload = protocol::ByteView(in_.data() + kHeaderSize, hdr.length);
  pkt.raw = protocol::ByteView(in_.data(), kHeaderSize + hdr.length);
  pkt.seq = pkt.lastSeq = hdr.seq;
  co_return pkt;
}

asio::awaitable<error_code> Channel::flush() {
  std::size_t done = 0;
  if (auto n = stream_.tryWriteSome(asio::buffer(out_))) done = *n;
  if (done == out_.size()) {
    out_.clear();
    co_return error_code{};
  }
  auto [ec, n] = co_await stream_.writeAll(asio::buffer(out_.data() + done, out_.size() - done));
  out_.clear();
  co_return ec;
}

asio::awaitable<std::tuple<error_code, std::size_t>> Channel::write(protocol::ByteView bytes) {
  std::size_t done = 0;
  if (auto n = stream_.tryWriteSome(asio::const_buffer(bytes.data(), bytes.size()))) done = *n;
  if (done == bytes.size()) co_return std::tuple<error_code, std::size_t>{error_code{}, done};
  auto [ec, n] =
      co_await stream_.writeAll(asio::const_buffer(bytes.data() + done, bytes.size() - done));
  co_return std::tuple<error_code, std::size_t>{ec, done + n};
}

void Channel::armDeadline(std::chrono::milliseconds timeout) {
  deadlineExpired_ = false;
  deadline_.expires_after(timeout);
  deadline_.async_wait([this](error_code ec) {
    if (ec) return;  // disarmed
    deadlineExpired_ = true;
    error_code ignored;
    stream_.socket().cancel(ignored);
    stream_.socket().close(ignored);
  });
}

void Channel::disarmDeadline() {
  deadline_.cancel();
}

}  // namespace shardproxy::proxy
