// The Tool interface: what every built-in or external tool implements, and what it returns.
//
// A tool has a name, a description and a JSON Schema for its arguments. invoke() receives
// arguments that already passed schema validation, runs on a dispatcher worker thread, and should
// poll ctx.cancelled() in long loops. Expected failures (bad input, no rows, no convergence) are
// returned as ToolResult::failure, not thrown; anything thrown is caught by the dispatcher and
// turned into a failure result.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace agentrt::tools {

struct ToolSpec {
  std::string name;                                      // [a-z][a-z0-9_]*, unique in a registry
  std::string description;                               // one sentence, shown to the model
  nlohmann::json parameters = nlohmann::json::object();  // JSON Schema of the arguments object
};

struct ToolResult {
  bool ok = true;
  std::string text;        // what the model sees (the error message when !ok)
  nlohmann::json data;     // structured result for programs (null when there is none)
  bool truncated = false;  // text was cut to the output cap

  static ToolResult success(std::string text, nlohmann::json data = nullptr) {
    return ToolResult{true, std::move(text), std::move(data), false};
  }
  static ToolResult failure(std::string message) {
    return ToolResult{false, std::move(message), nullptr, false};
  }
};

// {"ok", "text", "data", "truncated"}: how results leave the process (CLI --json, HTTP).
inline void to_json(nlohmann::json& j, const ToolResult& r) {
  j = nlohmann::json{{"ok", r.ok}, {"text", r.text}, {"data", r.data}, {"truncated", r.truncated}};
}

// What a running call can see of its surroundings. Borrowed for the duration of invoke().
class ToolContext {
 public:
  using Clock = std::chrono::steady_clock;
  ToolContext(Clock::time_point deadline, const std::atomic<bool>* cancel_flag)
      : deadline_(deadline), cancel_flag_(cancel_flag) {}
  // True once the call was cancelled or its deadline passed: stop and return a failure.
  bool cancelled() const {
    return (cancel_flag_ && cancel_flag_->load(std::memory_order_relaxed)) ||
           Clock::now() >= deadline_;
  }
  Clock::time_point deadline() const { return deadline_; }

 private:
  Clock::time_point deadline_;
  const std::atomic<bool>* cancel_flag_;
};

class Tool {
 public:
  virtual ~Tool() = default;
  virtual const ToolSpec& spec() const = 0;
  // Thread-safety: may be called concurrently from several workers.
  virtual ToolResult invoke(const nlohmann::json& arguments, const ToolContext& ctx) const = 0;
};

}  // namespace agentrt::tools
