// The dispatcher: runs tool calls on a thread pool with a deadline, cancellation and an output
// cap, and turns every way a tool can misbehave into a failure result.
//
// What a call can end as (never an exception):
//   - unknown tool      -> failure naming the available tools
//   - invalid arguments -> failure listing every schema error
//   - the tool threw    -> failure with the exception's message
//   - deadline passed   -> failure "timed out after N ms"; the caller returns at the deadline
//   - cancelled         -> failure "cancelled"; the caller returns at once
//   - too much output   -> the text cut to max_output_bytes with a note, truncated = true
//
// Hung tools: C++ cannot kill a thread, so a call that misses its deadline (or is cancelled) is
// abandoned, not joined: its cancel flag is raised, the caller gets the failure, and the pool
// starts a replacement worker so other calls keep their capacity. The abandoned worker keeps the
// tool alive (shared ownership) and leaves once the tool returns. Workers are detached threads
// that share the pool state, so neither ~Dispatcher nor process exit waits on a hung tool: the
// destructor cancels in-flight calls and waits for idle workers at most `shutdown_grace`.
// At most `max_threads` workers exist at once; past that, new calls queue and time out normally.
//
// Thread-safety: call(), call_many() and cancel_all() may be used from any number of threads.
// Ownership: borrows the Registry, which must be frozen-or-stable and outlive the Dispatcher.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agentrt/tools/config.h"
#include "agentrt/tools/registry.h"
#include "agentrt/tools/tool.h"

namespace agentrt::tools {

struct DispatcherOptions {
  std::size_t threads = 4;                         // workers kept ready
  std::size_t max_threads = 64;                    // including replacements for hung ones
  std::chrono::milliseconds deadline{10000};       // per call, from call() to result
  std::size_t max_output_bytes = 16384;            // cap on ToolResult::text
  std::size_t max_data_bytes = 1 << 20;            // cap on serialized ToolResult::data
  std::chrono::milliseconds shutdown_grace{2000};  // ~Dispatcher waits at most this

  // tools.threads, tools.max_threads, tools.deadline_ms, tools.max_output_bytes,
  // tools.max_data_bytes. Throws ConfigError on a wrong type or a non-positive value.
  static DispatcherOptions from_config(const Config& config);
};

struct CallRequest {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
};

struct CallOptions {
  // 0 means the dispatcher's default; a smaller deadline is honoured, a larger one too.
  std::chrono::milliseconds deadline{0};
  // Cancels the call when requested; the caller returns promptly with a "cancelled" failure.
  std::stop_token stop = {};
};

class Dispatcher {
 public:
  explicit Dispatcher(const Registry& registry, DispatcherOptions options = {});
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Runs one call and waits for it, at most until its deadline.
  ToolResult call(const std::string& name, const nlohmann::json& arguments,
                  const CallOptions& options = {});
  // Runs the calls in parallel; results come back in the order of REQUESTS. Each call has its
  // own deadline, counted from now.
  std::vector<ToolResult> call_many(const std::vector<CallRequest>& requests,
                                    const CallOptions& options = {});
  // Cancels every call in flight (their callers return "cancelled").
  void cancel_all();

  const DispatcherOptions& options() const { return options_; }
  // Live worker threads, including ones stuck in an abandoned call (for tests and metrics).
  std::size_t worker_count() const;

 private:
  struct Pool;
  struct Pending;
  std::shared_ptr<Pending> start(const CallRequest& request,
                                 std::chrono::steady_clock::time_point deadline,
                                 std::chrono::milliseconds budget);
  ToolResult finish(Pending& pending, const std::stop_token& stop);

  const Registry& registry_;
  DispatcherOptions options_;
  std::shared_ptr<Pool> pool_;
};

// Cuts TEXT to at most MAX_BYTES (at a UTF-8 boundary) and appends a note saying how much was
// cut; returns true when it cut.
bool truncate_output(std::string& text, std::size_t max_bytes);

}  // namespace agentrt::tools
