// The HTTP server: an OpenAI-compatible chat API, server-side agent runs, tools, health and
// metrics (docs/http-api.md).
//
// Three pieces, each usable alone:
//   - ModelProvider: where the engine thread gets model contexts from (the real engine, or a
//     scripted stand-in in tests).
//   - Api: the handlers, a function from HttpRequest to HttpResponse that tests call without a
//     socket. Model work runs on one engine thread fed by a bounded queue; tool invocations on a
//     small pool; everything else (JSON, templates, validation) on the calling thread.
//   - Server: Boost.Beast HTTP/1.1 on I/O threads, with body and header limits, read timeouts
//     and graceful shutdown. Beast stays inside server/http_server.cpp.
//
// Errors: handlers never throw for request data; every problem is an OpenAI-shaped JSON error
// ({"error": {"message", "type", "param", "code"}}) with a 4xx/5xx status. Constructors throw
// on configuration errors (a trace database that cannot be opened, a port in use).
// Thread-safety: Api::handle() may be called from any number of threads at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrt/agent/agent.h"
#include "agentrt/agent/dialect.h"
#include "agentrt/engine/model.h"
#include "agentrt/engine/sampler.h"
#include "agentrt/tools/registry.h"

namespace agentrt::server {

// ---- Model contexts the engine thread works with ---------------------------------------------

// One cached conversation: a model context (KV cache and its text) and the sampler it uses.
class ContextSlot {
 public:
  virtual ~ContextSlot() = default;
  virtual agent::ModelContext& context() = 0;
  virtual void set_sampling(const engine::SamplerParams& params) = 0;
};

// Makes the slots. make_slot() is called on the engine thread only; the other methods may be
// called from any thread (dialects are immutable).
class ModelProvider {
 public:
  virtual ~ModelProvider() = default;
  virtual std::string model_id() const = 0;  // what /v1/models lists ("agentrt-tiny")
  virtual const agent::Dialect& dialect() const = 0;
  virtual agent::ToolPrompt tool_prompt() const = 0;
  virtual std::unique_ptr<ContextSlot> make_slot() = 0;
};

struct EngineProviderOptions {
  std::string model_id;            // default: the file's stem
  std::string dialect;             // "" = from the model's metadata
  std::string tool_prompt;         // "" = from the model's metadata, else full
  engine::SessionOptions session;  // n_ctx, threads, device
};
// Slots over engine::Sessions of MODEL (shared by every slot). Throws agent::DialectError for
// an unknown dialect or tool prompt name.
std::unique_ptr<ModelProvider> make_engine_provider(std::shared_ptr<const engine::Model> model,
                                                    const std::filesystem::path& model_path,
                                                    const EngineProviderOptions& options = {});

// ---- Requests and responses, without sockets -------------------------------------------------

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query: "/v1/models?x=1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header called NAME (ASCII case-insensitive), or "".
  std::string header(std::string_view name) const;
};

class Pending;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Allow, ...)
  std::string body;
  // Set when the response comes later (model work): the I/O layer waits on it. Then status and
  // body above are unused.
  std::shared_ptr<Pending> pending;
};

// A response produced on another thread: either one complete response, or a server-sent event
// stream (200, text/event-stream) of chunks. Producer calls: respond() once, or open_stream(),
// write()..., close(); respond() after open_stream() sends the response's body as the last
// event. The producer may hand over closures instead of bytes: they run on the consumer's thread
// when it takes them, so that the engine thread passes native values and JSON is written on the
// I/O threads. The consumer (the I/O layer or a test) takes what has arrived.
// Thread-safety: every method may be called from any thread.
class Pending {
 public:
  using MakeChunk = std::function<std::string()>;
  using MakeResponse = std::function<HttpResponse()>;

  // -- producer
  void respond(HttpResponse response);
  void respond(MakeResponse make);
  void open_stream();
  void write(std::string chunk);
  void write(MakeChunk make);
  void close();
  bool cancelled() const;  // the client went away: stop working
  // Called once with the status when it is known (at once when it already is); for metrics.
  void on_status(std::function<void(int)> f);

  // -- consumer
  void cancel();
  // Called (on the producer's thread) after every producer call; replaces the previous one.
  void set_notify(std::function<void()> notify);
  struct Taken {
    std::optional<HttpResponse> response;  // a complete response (ends the exchange)
    bool stream_open = false;              // the stream has been opened
    std::string chunks;                    // stream bytes since the last take
    bool done = false;                     // nothing more will come
  };
  Taken take();  // what has arrived since the last take, without waiting
  // Waits until done (or TIMEOUT) and returns everything as one response (tests, tools).
  HttpResponse wait(std::chrono::milliseconds timeout = std::chrono::minutes(5));

 private:
  void notify_locked(std::unique_lock<std::mutex>& lock);
  void report_status(int status);
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> notify_;
  std::function<void(int)> on_status_;
  std::optional<int> status_;
  MakeResponse response_;
  bool stream_open_ = false;
  std::vector<MakeChunk> chunks_;
  bool done_ = false;
  bool cancelled_ = false;
};

// ---- The handlers ----------------------------------------------------------------------------

struct ApiOptions {
  std::vector<std::string> api_keys;  // empty: no authentication
  std::size_t queue_capacity = 16;    // model requests waiting for the engine thread (429 past)
  std::size_t n_slots = 4;            // conversations whose KV cache is kept
  int default_max_tokens = 256;       // per completion / agent step when the request says none
  engine::SamplerParams sampling;     // defaults for what a request does not set
  std::size_t tool_threads = 4;       // threads waiting on /v1/tools/{name}/invoke calls
  tools::DispatcherOptions dispatcher;
  std::filesystem::path trace_db;  // agent runs are stored here; empty: in memory only
  agent::RunOptions agent;         // system prompt, limits of server-side agent runs
};

class Api {
 public:
  // Takes the provider; borrows REGISTRY (frozen), which must outlive the Api. Starts the
  // engine thread. Throws agent::TraceError when the trace database cannot be opened.
  Api(std::unique_ptr<ModelProvider> provider, const tools::Registry& registry, ApiOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  HttpResponse handle(const HttpRequest& request);
  // Refuses new model work (503) and waits until queued and running work is done.
  void drain();
  std::string model_id() const;
  // Whether REQUEST carries an accepted API key (always true without keys).
  bool authorized(const HttpRequest& request) const;
  // Prometheus text of the metrics (what GET /metrics returns).
  std::string metrics_text() const;
  // Counts a finished exchange for /metrics (the Server calls it; handle() counts its own).
  void count(std::string_view route, int status);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// An OpenAI-shaped error response.
HttpResponse error_response(int status, std::string_view message, std::string_view type,
                            std::string_view code = {}, std::string_view param = {});

// ---- The socket layer ------------------------------------------------------------------------

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port (see Server::port())
  int io_threads = 2;
  std::size_t max_body_bytes = 4 << 20;             // 413 past this
  std::size_t max_header_bytes = 16 << 10;          // 431 past this
  std::chrono::milliseconds header_timeout{10000};  // to read a request's header
  std::chrono::milliseconds body_timeout{30000};    // to read its body
  std::chrono::milliseconds drain_timeout{30000};   // SIGINT/SIGTERM: wait this for in-flight
  bool handle_signals = false;                      // stop() on SIGINT / SIGTERM
};

class Server {
 public:
  // Binds and listens (throws std::runtime_error naming the address on failure). Borrows API.
  Server(Api& api, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;  // the bound port
  // Serves until stop() (or a signal): then stops accepting, lets in-flight requests finish
  // (at most drain_timeout), drains the engine queue and returns.
  void run();
  // Thread-safe; may be called before run() or from a handler.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentrt::server
