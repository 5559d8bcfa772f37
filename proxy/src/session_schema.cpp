// A client session and schema tracking (schema_tracker.h): after a DDL statement the session ran on
// a sharded keyspace, the tracker reads that keyspace's columns again, and the session waits for
// it before its next statement, so an INSERT without a column list right after CREATE TABLE (a
// restored dump) finds the new table. Same class as client_session.cpp (docs/routing.md).
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "shardproxy/proxy/client_session.h"
#include "shardproxy/proxy/server.h"

namespace shardproxy::proxy {

asio::awaitable<void> ClientSession::awaitSchemaRefresh(std::string keyspace) {
  SchemaTracker* tracker = ctx_.shared.schemaTracker.get();
  if (tracker == nullptr) co_return;
  const std::uint64_t ticket = tracker->requestRefresh(std::move(keyspace));
  // Polling keeps the tracker free of wake-ups into other threads; a read takes milliseconds. The
  // bound is the tracker's own connect timeout: past it the read failed anyway.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (tracker->completed() < ticket && !closeRequested_ &&
         std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
  tracked_ = tracker->schema();
}

}  // namespace shardproxy::proxy
