// One MySQL protocol endpoint: a TCP socket (optionally TLS), its read buffer and a scratch
// write buffer. Used for both sides: client sessions (server role) and backend connections
// (client role).
// Place in the request flow: the session reads command packets from a client Channel, forwards
// them to a backend Channel, and the relay streams the answer back chunk by chunk.
// The read buffer is reused for every packet: no per-packet heap allocation in steady state.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include "shardproxy/common/errors.h"
#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class Stream {
 public:
  explicit Stream(tcp::socket socket) : socket_(std::move(socket)) {}

  // Not coroutines themselves: on a plain socket they return Asio's own awaitable, so a read or
  // write costs no extra coroutine frame on the hot path.
  asio::awaitable<std::tuple<error_code, std::size_t>> readSome(asio::mutable_buffer buf);
  asio::awaitable<std::tuple<error_code, std::size_t>> writeAll(asio::const_buffer buf);
  asio::awaitable<error_code> handshakeTls(asio::ssl::context& ctx,
                                           asio::ssl::stream_base::handshake_type type);
  // Without waiting and without Asio's scheduler: reads what the socket already holds / writes
  // what it accepts now (plain sockets only). nullopt: would block, TLS, an error, or this
  // thread's fast streak is used up (so a busy session still lets the others run); the caller
  // then takes the asynchronous path. A read of 0 bytes is the peer's EOF.
  std::optional<std::size_t> tryReadSome(asio::mutable_buffer buf);
  std::optional<std::size_t> tryWriteSome(asio::const_buffer buf);
  bool isTls() const { return tls_ != nullptr; }
  tcp::socket& socket() { return socket_; }
  // SO_RCVLOWAT: the socket reads as ready (wakes its waiter) only once `bytes` are buffered.
  // A merge holds back the shards it is not waiting for yet (merge_engine.cpp).
  void setReadLowWater(int bytes);
  void close();

 private:
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
};

// A whole logical packet; views are valid until the next read on the channel.
struct Packet {
  protocol::ByteView payload;
  protocol::ByteView raw;    // header + payload as received; empty when the packet was split
  std::uint8_t seq = 0;      // sequence id of the first (or only) physical packet
  std::uint8_t lastSeq = 0;  // sequence id of the last physical packet
};

class Channel {
 public:
  static constexpr std::size_t kInitialBuffer = 64 * 1024;
  // A buffer that grew beyond this for one large packet is shrunk back afterwards.
  static constexpr std::size_t kKeepBuffer = 1024 * 1024;

  Channel(tcp::socket socket, std::size_t maxPacket);

  Stream& stream() { return stream_; }
  std::size_t maxPacket() const { return maxPacket_; }
  void setMaxPacket(std::size_t n) { maxPacket_ = n; }

  // Reads one logical packet, merging split packets. Errors: the peer closed (kBackendLost for
  // callers to rename), kPacketTooLarge, kPacketsOutOfOrder (for split continuations).
  asio::awaitable<Result<Packet>> readPacket();
  // The next packet when it is already buffered whole and unsplit (no coroutine, no syscall),
  // else nullopt: then readPacket() reads it. The streaming merge takes rows this way.
  std::optional<Packet> tryReadBuffered() {
    if (buffered() < protocol::kHeaderSize) return std::nullopt;
    const std::uint8_t* start = in_.data() + head_;
    const std::size_t length = start[0] | (start[1] << 8) | (start[2] << 16);
    if (length >= protocol::kMaxPayload || length > maxPacket_ ||
        buffered() < protocol::kHeaderSize + length) {
      return std::nullopt;
    }
    Packet pkt;
    pkt.seq = pkt.lastSeq = start[3];
    pkt.payload = protocol::ByteView(start + protocol::kHeaderSize, length);
    pkt.raw = protocol::ByteView(start, protocol::kHeaderSize + length);
    head_ += protocol::kHeaderSize + length;
    return pkt;
  }
  // Reads one unsplit packet without reading past its end: used for the packet before a TLS
  // upgrade, whose following bytes (the ClientHello) belong to the TLS engine, not to us.
  asio::awaitable<Result<Packet>> readPacketNoReadAhead();

  // --- raw buffer access for the streaming relay ---
  std::uint8_t* data() { return in_.data(); }
  std::size_t head() const { return head_; }
  std::size_t tail() const { return tail_; }
  std::size_t buffered() const { return tail_ - head_; }
  void consume(std::size_t n) { head_ += n; }
  void discardBuffered() { head_ = tail_ = 0; }
  // Moves unread bytes to the front and makes room for at least `want` more bytes in total
  // (the buffer grows only up to what one packet needs), then reads once.
  asio::awaitable<error_code> fill(std::size_t want = 0);
  // Returns buffer memory grown for a single huge packet.
  void shrinkIfLarge();

  // --- writing ---
  protocol::Bytes& out() { return out_; }
  asio::awaitable<error_code> flush();  // writes out() and clears it
  asio::awaitable<std::tuple<error_code, std::size_t>> write(protocol::ByteView bytes);

  // Closes the socket after `timeout` unless disarm() is called first.
  void armDeadline(std::chrono::milliseconds timeout);
  void disarmDeadline();
  bool deadlineExpired() const { return deadlineExpired_; }

 private:
  Stream stream_;
  protocol::Bytes in_;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
  protocol::Bytes out_;
  protocol::Bytes merged_;  // payload of a split packet
  std::size_t maxPacket_;
  asio::steady_timer deadline_;
  bool deadlineExpired_ = false;
};

}  // namespace shardproxy::proxy
