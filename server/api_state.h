// What the handlers share: options, the registry, metrics, the engine thread and its slots, the
// trace database. Internal to server/.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "agentrt/agent/trace.h"
#include "agentrt/server/server.h"
#include "agentrt/tools/dispatcher.h"
#include "metrics.h"
#include "work_queue.h"

namespace agentrt::server {

// A request problem, thrown while reading a request and turned into an error response by
// Api::handle (the one boundary).
struct RequestError : std::runtime_error {
  RequestError(int status_, const std::string& message, std::string type_ = "invalid_request_error",
               std::string code_ = {}, std::string param_ = {})
      : std::runtime_error(message),
        status(status_),
        type(std::move(type_)),
        code(std::move(code_)),
        param(std::move(param_)) {}
  int status;
  std::string type, code, param;
};

// The exact text the model wrote for the assistant turns the server returned, keyed by what the
// client sends back (content and calls), so that a follow-up request renders those turns exactly
// as they are in the KV cache. Bounded: the oldest entries go first.
class RawTurns {
 public:
  static std::string key(const agent::Message& assistant);
  void remember(const agent::Message& assistant, std::string raw);
  std::optional<std::string> find(const agent::Message& assistant) const;

 private:
  static constexpr std::size_t kCapacity = 1024;
  mutable std::mutex mutex_;
  std::list<std::string> order_;
  std::unordered_map<std::string, std::string> raw_;
};

struct Api::State {
  State(std::unique_ptr<ModelProvider> p, const tools::Registry& r, ApiOptions o);

  // Engine thread only: the slot whose context shares the longest prefix with PROMPT (the least
  // recently used one when none shares anything), its context rewound to that prefix but short of
  // all of PROMPT, so that something is appended and the session's logits are fresh.
  ContextSlot& slot_for(std::string_view prompt);
  // Queues WORK on the engine thread and returns the deferred response it answers through; an
  // exception escaping WORK answers 500. Throws RequestError (429 full, 503 draining).
  HttpResponse defer_model_work(std::function<void(Pending&)> work);
  // Queues JOB on the engine thread; throws RequestError (429 full, 503 draining).
  void submit_model_work(WorkQueue::Job job);
  void submit_tool_work(WorkQueue::Job job);

  ApiOptions options;
  const tools::Registry& registry;
  std::unique_ptr<ModelProvider> provider;  // make_slot() on the engine thread only
  Metrics metrics;
  RawTurns raw_turns;
  std::string tools_body;  // GET /v1/tools (the registry is frozen)
  tools::Dispatcher dispatcher;  // /v1/tools/{name}/invoke
  std::mutex traces_mutex;
  std::unique_ptr<agent::TraceDb> traces;
  std::atomic<bool> draining{false};

  std::vector<std::unique_ptr<ContextSlot>> slots;  // engine thread only
  std::vector<uint64_t> last_used;                  // engine thread only
  uint64_t clock = 0;

  // Last, so that their threads are joined before anything they use is destroyed.
  WorkQueue tool_waiters;
  WorkQueue engine;
};

// The handlers of each endpoint group (chat.cpp, agent_runs.cpp).
HttpResponse handle_chat_completions(Api::State& state, const nlohmann::json& body);
HttpResponse handle_agent_run(Api::State& state, const nlohmann::json& body);
HttpResponse handle_get_agent_run(Api::State& state, std::string_view id);

// Request-reading helpers shared by the handlers: typed fields, RequestError on a wrong type.
const nlohmann::json* field(const nlohmann::json& body, const char* key);
std::string string_field(const nlohmann::json& body, const char* key, std::string fallback);
bool bool_field(const nlohmann::json& body, const char* key, bool fallback);
int64_t int_field(const nlohmann::json& body, const char* key, int64_t fallback, int64_t min,
                  int64_t max);
double number_field(const nlohmann::json& body, const char* key, double fallback, double min,
                    double max);
// The sampling fields (temperature, top_p, seed) over DEFAULTS.
engine::SamplerParams sampling_fields(const nlohmann::json& body,
                                      const engine::SamplerParams& defaults);

// JSON text for responses (invalid UTF-8 replaced, never thrown on).
std::string dump(const nlohmann::json& value);
// "data: JSON\n\n".
std::string sse(const nlohmann::json& value);
// A random hex string of N characters (ids of completions and calls).
std::string random_hex(std::size_t n);
int64_t unix_time();

}  // namespace agentrt::server
