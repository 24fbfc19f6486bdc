// The server on a loopback socket (an ephemeral port): keep-alive, limits and timeouts, SSE in
// chunked encoding, authentication, graceful stop, and a chat with the real engine.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "agentrt/engine/model.h"
#include "random_model.h"
#include "server_fixture.h"

namespace agentrt::server::test {
namespace {

using nlohmann::json;

// A connected client socket; reads give up after TIMEOUT.
class Client {
 public:
  explicit Client(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }
  // Everything until the server closes (or the timeout).
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string request(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::string& extra = "Connection: close\r\n") {
  return method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra +
         (body.empty() && method == "GET"
              ? ""
              : "Content-Length: " + std::to_string(body.size()) + "\r\n") +
         "\r\n" + body;
}

int status_of(const std::string& response) {
  return response.size() > 12 ? std::stoi(response.substr(9, 3)) : 0;
}

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

// Decodes a chunked body.
std::string unchunk(std::string_view body) {
  std::string out;
  while (!body.empty()) {
    const auto line_end = body.find("\r\n");
    const std::size_t n = std::stoul(std::string(body.substr(0, line_end)), nullptr, 16);
    if (n == 0) break;
    out += body.substr(line_end + 2, n);
    body.remove_prefix(line_end + 2 + n + 2);
  }
  return out;
}

// A running server over a scripted-model Api.
struct Running {
  explicit Running(ServerOptions options = {}, ApiOptions api_options = {},
                   ScriptSettings script = {})
      : fixture(std::move(api_options), script) {
    options.port = 0;
    server = std::make_unique<Server>(fixture.api, options);
    thread = std::thread([this] { server->run(); });
  }
  ~Running() {
    server->stop();
    thread.join();
  }
  uint16_t port() const { return server->port(); }
  Fixture fixture;
  std::unique_ptr<Server> server;
  std::thread thread;
};

TEST(HttpTest, KeepAliveServesPipelinedRequestsOnOneConnection) {
  Running s;
  Client c(s.port());
  ASSERT_TRUE(c.connected());
  c.send(request("GET", "/health", "", "") + request("GET", "/v1/models"));
  const std::string all = c.read_all();
  std::size_t count = 0;
  for (std::size_t at = 0; (at = all.find("HTTP/1.1 200 OK", at)) != std::string::npos; ++at)
    ++count;
  EXPECT_EQ(count, 2u) << all;
  EXPECT_NE(all.find("\"scripted\""), std::string::npos);
}

TEST(HttpTest, ABodyOverTheLimitIs413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  Running s(options);
  Client c(s.port());
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n{");
  const std::string r = c.read_all();
  EXPECT_EQ(status_of(r), 413) << r;
  EXPECT_EQ(json::parse(body_of(r))["error"]["code"], "body_too_large");
  // Also when the length is not announced up front.
  Client chunked(s.port());
  chunked.send(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "800\r\n" +
      std::string(0x800, 'a') + "\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(chunked.read_all()), 413);
}

TEST(HttpTest, AHeaderOverTheLimitIs431AndGarbageIs400) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  Running s(options);
  Client big(s.port());
  big.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_EQ(status_of(big.read_all()), 431);
  Client garbage(s.port());
  garbage.send("HELLO THERE\r\n\r\n");
  EXPECT_EQ(status_of(garbage.read_all()), 400);
}

TEST(HttpTest, ASlowClientIsDropped) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(200);
  Running s(options);
  Client c(s.port());
  const auto start = std::chrono::steady_clock::now();
  c.send("GET /health HTTP/1.1\r\nHost: x\r\n");  // never finishes its header
  EXPECT_EQ(c.read_all(), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(HttpTest, ChatStreamsServerSentEventsInChunks) {
  Running s;
  Client c(s.port());
  c.send(request(
      "POST", "/v1/chat/completions",
      json({{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"stream", true}}).dump()));
  const std::string r = c.read_all();
  ASSERT_EQ(status_of(r), 200) << r;
  EXPECT_NE(r.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(r.find("Transfer-Encoding: chunked"), std::string::npos);
  const Events e = sse_events(unchunk(body_of(r)));
  EXPECT_TRUE(e.done);
  EXPECT_GT(e.data.size(), 3u);
}

TEST(HttpTest, AuthenticationOverTheWire) {
  ApiOptions api;
  api.api_keys = {"sekret"};
  Running s({}, api);
  Client without(s.port());
  without.send(request("GET", "/v1/tools"));
  EXPECT_EQ(status_of(without.read_all()), 401);
  Client with(s.port());
  with.send(
      request("GET", "/v1/tools", "", "Connection: close\r\nAuthorization: Bearer sekret\r\n"));
  EXPECT_EQ(status_of(with.read_all()), 200);
}

TEST(HttpTest, StopLetsInFlightRequestsFinish) {
  auto s = std::make_unique<Running>(ServerOptions{}, ApiOptions{},
                                     ScriptSettings(std::chrono::milliseconds(400)));
  Client c(s->port());
  c.send(request("POST", "/v1/chat/completions",
                 json({{"messages", {{{"role", "user"}, {"content", "Hi"}}}}}).dump()));
  s->fixture.settings->wait_for_generations(1);  // the request is in flight
  s->server->stop();
  const std::string r = c.read_all();
  EXPECT_EQ(status_of(r), 200) << r;
  EXPECT_EQ(json::parse(body_of(r))["choices"][0]["finish_reason"], "stop");
  s.reset();  // run() returned: the destructor joins
}

// The real engine behind the socket: a random-weight model talks gibberish, but the mechanics
// (sessions, KV-cache reuse, usage) are those of any model.
TEST(HttpTest, RealEngineReusesTheKvCacheOfAConversation) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("agentrt_server_" + std::to_string(::getpid()) + ".gguf");
  bench::RandomLlamaSpec spec;
  spec.n_ctx = 1024;
  bench::write_random_llama(path, spec);
  auto model = engine::Model::load(path);
  auto registry = test_registry();
  ApiOptions options;
  options.n_slots = 2;
  EngineProviderOptions provider;
  provider.session = {.n_ctx = 1024, .n_threads = 1};
  Api api(make_engine_provider(model, path, provider), *registry, options);
  std::filesystem::remove(path);
  ServerOptions server_options;
  server_options.port = 0;
  Server server(api, server_options);
  std::thread thread([&] { server.run(); });

  json messages = {{{"role", "system"}, {"content", "Be brief."}},
                   {{"role", "user"}, {"content", "Hello"}}};
  auto chat = [&](const json& msgs) {
    Client c(server.port());
    c.send(request("POST", "/v1/chat/completions",
                   json({{"messages", msgs}, {"max_tokens", 8}, {"seed", 3}}).dump()));
    const std::string r = c.read_all();
    EXPECT_EQ(status_of(r), 200) << r;
    return json::parse(body_of(r));
  };
  const json first = chat(messages);
  EXPECT_EQ(first["model"], path.stem().string());
  EXPECT_EQ(first["usage"]["completion_tokens"].get<int>() > 0, true);
  EXPECT_EQ(first["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  messages.push_back(first["choices"][0]["message"]);
  messages.push_back({{"role", "user"}, {"content", "And then?"}});
  const json second = chat(messages);
  // At least the whole first prompt was reused; only the new turn was prefilled.
  EXPECT_GE(second["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(),
            first["usage"]["prompt_tokens"].get<int>() - 1);
  server.stop();
  thread.join();
}

}  // namespace
}  // namespace agentrt::server::test
