// A scripted model for server tests: it answers from simple rules on the chatml text in its
// context (calls get_weather when asked about the weather and tools are offered, calls the
// calculator for "What is A+B?", answers from a tool response, greets otherwise), counts one
// token per byte, and streams its text a few bytes at a time.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "agentrt/agent/dialect.h"
#include "agentrt/server/server.h"

namespace agentrt::server::test {

struct ScriptSettings {
  std::chrono::milliseconds delay{0};  // each generate() takes at least this long
  int64_t n_ctx = 1 << 16;
  mutable std::atomic<int> generations{0};  // generate() calls started (tests wait on it)

  ScriptSettings() = default;
  ScriptSettings(std::chrono::milliseconds d, int64_t n = 1 << 16) : delay(d), n_ctx(n) {}
  ScriptSettings(const ScriptSettings& o) : delay(o.delay), n_ctx(o.n_ctx) {}
  // Waits until at least N generations have started.
  void wait_for_generations(int n) const {
    while (generations.load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
};

class RuleModel final : public agent::ModelContext {
 public:
  explicit RuleModel(std::shared_ptr<const ScriptSettings> settings)
      : settings_(std::move(settings)) {}
  std::string describe() const override { return "scripted"; }
  const std::string& context() const override { return text_; }
  int64_t n_tokens() const override { return static_cast<int64_t>(text_.size()); }
  int64_t n_ctx() const override { return settings_->n_ctx; }
  void rewind(std::size_t n_chars) override {
    if (n_chars < text_.size()) text_.resize(n_chars);
  }
  agent::AppendOutcome append(std::string_view text) override {
    agent::AppendOutcome out{.ok = true, .n_tokens = static_cast<int64_t>(text.size()), .ms = 0};
    if (n_tokens() + out.n_tokens > n_ctx()) {
      out.ok = false;
      return out;
    }
    text_ += text;
    return out;
  }
  agent::GenerationOutcome generate(int max_tokens, const std::vector<std::string>& stop,
                                    const std::function<bool(std::string_view)>& on_text) override {
    ++settings_->generations;
    if (settings_->delay.count() > 0) std::this_thread::sleep_for(settings_->delay);
    agent::GenerationOutcome out;
    std::string text = reply();
    out.end = agent::GenerationEnd::eos;
    for (const auto& s : stop) {
      if (auto p = text.find(s); p != std::string::npos) {
        text.resize(p);
        out.end = agent::GenerationEnd::stop_sequence;
      }
    }
    if (text.size() > static_cast<std::size_t>(max_tokens)) {
      text.resize(static_cast<std::size_t>(max_tokens));
      out.end = agent::GenerationEnd::max_tokens;
    }
    for (std::size_t i = 0; i < text.size(); i += 3) {
      if (on_text && !on_text(std::string_view(text).substr(i, 3))) {
        out.end = agent::GenerationEnd::cancelled;
        break;
      }
    }
    out.text = text;
    out.n_tokens = static_cast<int64_t>(text.size());
    text_ += text;
    return out;
  }

 private:
  std::string reply() const {
    const std::string weather = R"({"city": "Paris"}})"
                                "\n</tool_call>";
    if (text_.ends_with(R"({"name": "get_weather", "arguments": )")) return weather;
    if (text_.ends_with(R"(<tool_call>
{"name": ")"))
      return R"(get_weather", "arguments": )" + weather;
    const std::size_t turn = text_.rfind("<|im_start|>user\n");
    const std::string last = turn == std::string::npos ? "" : text_.substr(turn);
    if (last.find("<tool_response>") != std::string::npos) {
      const std::size_t c = last.rfind("\"content\": \"");
      std::string result = c == std::string::npos ? "" : last.substr(c + 12);
      result = result.substr(0, result.find('"'));
      return "The answer is " + result + ".<|im_end|>";
    }
    const bool tools = text_.find("# Tools") != std::string::npos;
    if (tools && last.find("weather in two cities") != std::string::npos)
      return "Let me check both.\n<tool_call>\n"
             R"({"name": "get_weather", "arguments": {"city": "Paris"}})"
             "\n</tool_call>\n<tool_call>\n"
             R"({"name": "get_weather", "arguments": {"city": "Rome"}})"
             "\n</tool_call><|im_end|>";
    if (tools && last.find("weather") != std::string::npos)
      return "<tool_call>\n"
             R"({"name": "get_weather", "arguments": {"city": "Paris"}})"
             "\n</tool_call><|im_end|>";
    if (tools && last.find("What is ") != std::string::npos) {
      std::string expr = last.substr(last.find("What is ") + 8);
      expr = expr.substr(0, expr.find('?'));
      return "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"" + expr +
             "\"}}\n</tool_call><|im_end|>";
    }
    return "Hello! I am agentrt, a scripted model.<|im_end|>";
  }

  std::shared_ptr<const ScriptSettings> settings_;
  std::string text_;
};

class RuleSlot final : public ContextSlot {
 public:
  explicit RuleSlot(std::shared_ptr<const ScriptSettings> s) : model_(std::move(s)) {}
  agent::ModelContext& context() override { return model_; }
  void set_sampling(const engine::SamplerParams&) override {}

 private:
  RuleModel model_;
};

class RuleProvider final : public ModelProvider {
 public:
  explicit RuleProvider(
      std::shared_ptr<const ScriptSettings> s = std::make_shared<ScriptSettings>())
      : settings_(std::move(s)), dialect_(agent::dialect_by_name("chatml")) {}
  std::string model_id() const override { return "scripted"; }
  const agent::Dialect& dialect() const override { return *dialect_; }
  agent::ToolPrompt tool_prompt() const override { return agent::ToolPrompt::compact; }
  std::unique_ptr<ContextSlot> make_slot() override {
    return std::make_unique<RuleSlot>(settings_);
  }

 private:
  std::shared_ptr<const ScriptSettings> settings_;
  std::unique_ptr<agent::Dialect> dialect_;
};

}  // namespace agentrt::server::test
