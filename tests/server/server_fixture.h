// What the server tests share: an Api over the scripted model with the calculator and a slow
// tool, a way to call it without a socket, and SSE parsing.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agentrt/plugins/calculator.h"
#include "agentrt/server/server.h"
#include "agentrt/tools/registry.h"
#include "scripted_provider.h"

namespace agentrt::server::test {

// Sleeps for {"ms": N} milliseconds, polling for cancellation.
class SlowTool final : public tools::Tool {
 public:
  const tools::ToolSpec& spec() const override { return spec_; }
  tools::ToolResult invoke(const nlohmann::json& arguments,
                           const tools::ToolContext& ctx) const override {
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(arguments.at("ms").get<int>());
    while (std::chrono::steady_clock::now() < until) {
      if (ctx.cancelled()) return tools::ToolResult::failure("cancelled");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return tools::ToolResult::success("slept");
  }

 private:
  tools::ToolSpec spec_{"slow",
                        "Sleeps.",
                        {{"type", "object"},
                         {"properties", {{"ms", {{"type", "integer"}, {"minimum", 0}}}}},
                         {"required", {"ms"}}}};
};

inline std::unique_ptr<tools::Registry> test_registry() {
  auto registry = std::make_unique<tools::Registry>();
  plugins::register_calculator(*registry, tools::Config{});
  registry->add(std::make_unique<SlowTool>());
  registry->freeze();
  return registry;
}

struct Fixture {
  explicit Fixture(ApiOptions options = {}, ScriptSettings script = {})
      : settings(std::make_shared<ScriptSettings>(script)),
        registry(test_registry()),
        api(std::make_unique<RuleProvider>(settings), *registry, std::move(options)) {}
  std::shared_ptr<ScriptSettings> settings;
  std::unique_ptr<tools::Registry> registry;
  Api api;
};

// Calls the handler and waits for a deferred response.
inline HttpResponse call(Api& api, std::string method, std::string target, std::string body = {},
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest request{std::move(method), std::move(target), std::move(headers), std::move(body)};
  HttpResponse response = api.handle(request);
  if (response.pending) return response.pending->wait(std::chrono::seconds(30));
  return response;
}

inline HttpResponse post(Api& api, const std::string& target, const nlohmann::json& body) {
  return call(api, "POST", target, body.dump());
}

// The JSON of every "data:" event of an SSE body, and whether it ended with [DONE].
struct Events {
  std::vector<nlohmann::json> data;
  bool done = false;
};
inline Events sse_events(const std::string& body) {
  Events events;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = body.find("\n\n", pos);
    const std::string payload = body.substr(pos + 6, end - pos - 6);
    if (payload == "[DONE]") {
      events.done = true;
    } else {
      events.data.push_back(nlohmann::json::parse(payload));
    }
    pos = end == std::string::npos ? body.size() : end + 2;
  }
  return events;
}

inline nlohmann::json weather_tool() {
  return {{"type", "function"},
          {"function",
           {{"name", "get_weather"},
            {"description", "The weather in a city."},
            {"parameters",
             {{"type", "object"},
              {"properties", {{"city", {{"type", "string"}}}}},
              {"required", {"city"}}}}}}};
}

}  // namespace agentrt::server::test
