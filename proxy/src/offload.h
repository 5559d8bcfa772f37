// Runs blocking work (SQLite, a file) on a thread pool and resumes the calling coroutine on its
// own executor with the result: the event loop keeps serving other sessions meanwhile. Private to
// proxy/src.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace shardproxy::proxy::detail {

template <typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&>> offload(boost::asio::thread_pool& pool, Fn fn) {
  namespace asio = boost::asio;
  using R = std::invoke_result_t<Fn&>;
  auto exec = co_await asio::this_coro::executor;
  // Shared with the pool's task, which may outlive this frame if the session's loop stops.
  struct Waiting {
    explicit Waiting(asio::any_io_executor e) : timer(e, asio::steady_timer::time_point::max()) {}
    std::optional<R> result;
    asio::steady_timer timer;
  };
  auto waiting = std::make_shared<Waiting>(exec);
  asio::post(pool, [waiting, exec, fn = std::move(fn)]() mutable {
    waiting->result.emplace(fn());
    // Back on the session's thread: the coroutine is suspended in async_wait by then (it only
    // yields there), so the cancel always finds the wait.
    asio::post(exec, [waiting] { waiting->timer.cancel(); });
  });
  boost::system::error_code ec;
  co_await waiting->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return std::move(*waiting->result);
}

}  // namespace shardproxy::proxy::detail
