// The socket layer: Boost.Beast HTTP/1.1 over Boost.Asio, one coroutine per connection on its
// own strand, a limit and a timeout on every read, and graceful shutdown. The only file of the
// project that includes Beast (it is slow to compile).
#include <atomic>
#include <csignal>
#include <optional>
#include <thread>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "agentrt/server/server.h"

namespace agentrt::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct Server::Impl {
  Impl(Api& a, ServerOptions o) : api(a), options(std::move(o)), acceptor(ioc) {}

  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(tcp::socket socket);
  net::awaitable<bool> deliver(beast::tcp_stream& stream, Pending& pending, unsigned version,
                               bool keep_alive);
  net::awaitable<void> drain_then_stop();
  void begin_stop();

  Api& api;
  ServerOptions options;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::optional<net::signal_set> signals;
  std::atomic<int> in_flight{0};  // requests read and not yet answered
  std::atomic<bool> stopping{false};
};

namespace {

auto with(beast::error_code& ec) {
  return net::redirect_error(net::use_awaitable, ec);
}

http::response<http::string_body> to_beast(const HttpResponse& r, unsigned version,
                                           bool keep_alive) {
  http::response<http::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(r.status));
  res.set(http::field::server, "agentrt");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

struct InFlight {
  explicit InFlight(std::atomic<int>& n) : n_(n) { ++n_; }
  ~InFlight() { --n_; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  std::atomic<int>& n_;
};

}  // namespace

net::awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(net::make_strand(ioc), with(ec));
    if (ec) {
      if (!acceptor.is_open()) co_return;  // closed by stop()
      continue;                            // a connection that failed before it was accepted
    }
    auto executor = socket.get_executor();
    net::co_spawn(executor, serve(std::move(socket)), net::detached);
  }
}

// Waits on PENDING and writes what it produces: one response, or an SSE stream in chunked
// encoding. Returns false when the connection must close.
net::awaitable<bool> Server::Impl::deliver(beast::tcp_stream& stream, Pending& pending,
                                           unsigned version, bool keep_alive) {
  beast::error_code ec;
  auto timer = std::make_shared<net::steady_timer>(stream.get_executor());
  auto executor = stream.get_executor();
  // Posted, so that a wake-up is never lost between take() and the wait (same strand).
  pending.set_notify([timer, executor] { net::post(executor, [timer] { timer->cancel(); }); });
  std::optional<http::response<http::empty_body>> header;
  std::optional<http::response_serializer<http::empty_body>> serializer;
  bool ok = true;
  for (;;) {
    ec = {};
    Pending::Taken taken = pending.take();
    stream.expires_after(options.body_timeout);
    if (taken.response && !header) {
      auto res = to_beast(*taken.response, version, keep_alive);
      co_await http::async_write(stream, res, with(ec));
      ok = !ec && keep_alive;
      break;
    }
    if (taken.stream_open && !header) {
      header.emplace(http::status::ok, version);
      header->set(http::field::server, "agentrt");
      header->set(http::field::content_type, "text/event-stream");
      header->set(http::field::cache_control, "no-cache");
      header->chunked(true);
      header->keep_alive(keep_alive);
      serializer.emplace(*header);
      co_await http::async_write_header(stream, *serializer, with(ec));
      if (ec) break;
    }
    if (!taken.chunks.empty() && header) {
      co_await net::async_write(stream, http::make_chunk(net::buffer(taken.chunks)), with(ec));
      if (ec) break;
    }
    if (taken.done) {
      if (header) co_await net::async_write(stream, http::make_chunk_last(), with(ec));
      ok = !ec && keep_alive;
      break;
    }
    stream.expires_never();
    timer->expires_after(std::chrono::seconds(1));
    co_await timer->async_wait(with(ec));
  }
  pending.set_notify(nullptr);
  if (ec) {
    pending.cancel();  // the client went away: let the engine stop early
    ok = false;
  }
  co_return ok;
}

net::awaitable<void> Server::Impl::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    stream.expires_after(options.header_timeout);
    co_await http::async_read_header(stream, buffer, parser, with(ec));
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted)
      break;
    InFlight in_flight_guard(in_flight);
    const unsigned version = parser.get().version();
    if (!ec && parser.get()[http::field::expect] == "100-continue") {
      http::response<http::empty_body> cont{http::status::continue_, version};
      co_await http::async_write(stream, cont, with(ec));
    }
    if (!ec) {
      stream.expires_after(options.body_timeout);
      co_await http::async_read(stream, buffer, parser, with(ec));
    }
    if (ec) {
      if (ec == beast::error::timeout || ec == net::error::eof) break;
      // A request we cannot read: say why, then close (what follows on the wire is unknown).
      int status = 400;
      std::string message = "malformed HTTP request: " + ec.message();
      if (ec == http::error::body_limit) {
        status = 413;
        message = "the body exceeds " + std::to_string(options.max_body_bytes) + " bytes";
      } else if (ec == http::error::header_limit) {
        status = 431;
        message = "the header exceeds " + std::to_string(options.max_header_bytes) + " bytes";
      }
      api.count("-", status);
      auto res = to_beast(error_response(status, message, "invalid_request_error",
                                         status == 413 ? "body_too_large" : "bad_request"),
                          version ? version : 11, false);
      stream.expires_after(options.body_timeout);
      co_await http::async_write(stream, res, with(ec));
      break;
    }
    const auto& req = parser.get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    for (const auto& f : req)
      request.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    request.body = req.body();
    const bool keep_alive = req.keep_alive() && !stopping;
    HttpResponse response = api.handle(request);
    if (response.pending) {
      if (!co_await deliver(stream, *response.pending, version, keep_alive)) break;
      continue;
    }
    auto res = to_beast(response, version, keep_alive);
    stream.expires_after(options.body_timeout);
    co_await http::async_write(stream, res, with(ec));
    if (ec || !keep_alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

net::awaitable<void> Server::Impl::drain_then_stop() {
  net::steady_timer timer(ioc);
  const auto deadline = std::chrono::steady_clock::now() + options.drain_timeout;
  while (in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    beast::error_code ec;
    co_await timer.async_wait(with(ec));
  }
  ioc.stop();
}

void Server::Impl::begin_stop() {
  if (stopping.exchange(true)) return;
  beast::error_code ec;
  acceptor.close(ec);
  if (signals) signals->cancel(ec);
  net::co_spawn(ioc, drain_then_stop(), net::detached);
}

Server::Server(Api& api, ServerOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {
  Impl& s = *impl_;
  const std::string where = s.options.host + ":" + std::to_string(s.options.port);
  beast::error_code ec;
  tcp::resolver resolver(s.ioc);
  auto endpoints = resolver.resolve(s.options.host, std::to_string(s.options.port), ec);
  if (ec || endpoints.empty())
    throw std::runtime_error("cannot resolve " + where + ": " + ec.message());
  const tcp::endpoint endpoint = *endpoints.begin();
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  if (s.options.handle_signals) {
    s.signals.emplace(s.ioc, SIGINT, SIGTERM);
    s.signals->async_wait([&s](const beast::error_code& e, int) {
      if (!e) s.begin_stop();
    });
  }
  net::co_spawn(s.ioc, s.accept_loop(), net::detached);
}

Server::~Server() = default;

uint16_t Server::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void Server::run() {
  Impl& s = *impl_;
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(s.options.io_threads, 1); ++i)
    threads.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : threads) t.join();
}

void Server::stop() {
  Impl& s = *impl_;
  net::post(s.ioc, [&s] { s.begin_stop(); });
}

}  // namespace agentrt::server
