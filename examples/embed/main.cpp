// A backend that embeds agentrt: it loads a model once, registers the built-in tools plus a tool
// of its own written in C++, and answers requests by running the agent: one question a line on
// stdin, one JSON answer a line on stdout. With --serve PORT it offers the same model and tools
// over the HTTP API instead (docs/http-api.md).
//
//   agentrt_embed MODEL.gguf [--serve PORT]
//   agentrt_embed --list-tools
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <agentrt/agent/agent.h>
#include <agentrt/agent/dialect.h>
#include <agentrt/engine/model.h>
#include <agentrt/engine/session.h>
#include <agentrt/plugins/builtin.h>
#include <agentrt/server/server.h>
#include <agentrt/tools/registry.h>

namespace {

// The service's own tool: counts the words of a text. Arguments arrive already checked
// against the schema; expected failures are results, not exceptions.
class WordCount final : public agentrt::tools::Tool {
 public:
  const agentrt::tools::ToolSpec& spec() const override { return spec_; }
  agentrt::tools::ToolResult invoke(const nlohmann::json& arguments,
                                    const agentrt::tools::ToolContext&) const override {
    const std::string text = arguments.at("text").get<std::string>();
    std::size_t words = 0;
    bool in_word = false;
    for (char c : text) {
      const bool space = c == ' ' || c == '\n' || c == '\t';
      if (!space && !in_word) ++words;
      in_word = !space;
    }
    return agentrt::tools::ToolResult::success(std::to_string(words), {{"words", words}});
  }

 private:
  agentrt::tools::ToolSpec spec_{"word_count",
                                 "Counts the words in a text.",
                                 {{"type", "object"},
                                  {"properties", {{"text", {{"type", "string"}}}}},
                                  {"required", {"text"}}}};
};

std::unique_ptr<agentrt::tools::Registry> make_tools() {
  auto registry = std::make_unique<agentrt::tools::Registry>();
  agentrt::plugins::register_builtin_plugins(*registry, agentrt::tools::Config{});
  registry->add(std::make_unique<WordCount>());
  registry->freeze();
  return registry;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace agentrt;
  const std::string first = argc > 1 ? argv[1] : "";
  const auto registry = make_tools();
  if (first == "--list-tools" || first.empty()) {
    for (const std::string& name : registry->names()) std::printf("%s\n", name.c_str());
    if (first.empty()) std::fprintf(stderr, "usage: agentrt_embed MODEL.gguf [--serve PORT]\n");
    return first.empty() ? 2 : 0;
  }

  // The model is loaded once and shared (read-only) by every session.
  const auto model = engine::Model::load(first);
  if (argc > 3 && std::string(argv[2]) == "--serve") {
    server::Api api(server::make_engine_provider(model, first), *registry, {});
    server::ServerOptions options;
    options.port = static_cast<uint16_t>(std::stoi(argv[3]));
    options.handle_signals = true;
    server::Server http(api, options);
    std::printf("listening on http://127.0.0.1:%u\n", http.port());
    std::fflush(stdout);
    http.run();
    return 0;
  }

  const auto dialect = agent::dialect_by_name(
      agent::choose_dialect("", model->chat_dialect(), "", model->hparams().arch).name);
  engine::Session session(model, {.n_ctx = 2048});
  engine::Sampler sampler({.temperature = 0.0f});
  for (std::string line; std::getline(std::cin, line);) {
    if (line.empty()) continue;
    // A fresh context per request; for multi-turn chats keep it and use agent::continue_run.
    agent::EngineContext context(session, sampler, first);
    agent::Task task;
    task.name = "request";
    task.prompt = line;
    task.max_steps = 4;
    const agent::RunResult result = agent::run(context, *dialect, *registry, task);
    const nlohmann::json answer = {{"answer", result.answer},
                                   {"outcome", agent::outcome_name(result.outcome)},
                                   {"tools_called", result.tools_called},
                                   {"steps", result.steps.size()}};
    std::cout << answer.dump() << std::endl;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "agentrt_embed: %s\n", e.what());
  return 1;
}
