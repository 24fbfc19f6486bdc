// A scripted stand-in for the model: returns canned outputs in order, counts one token per byte,
// and records every append, so loop tests can check exactly what each step prefilled.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "agentrt/agent/agent.h"

namespace agentrt::agent::test {

class ScriptedModel final : public ModelContext {
 public:
  explicit ScriptedModel(std::vector<std::string> outputs, int64_t n_ctx = 1 << 20)
      : outputs_(std::move(outputs)), n_ctx_(n_ctx) {}

  std::string describe() const override { return "scripted"; }
  const std::string& context() const override { return text_; }
  int64_t n_tokens() const override { return static_cast<int64_t>(text_.size()); }
  int64_t n_ctx() const override { return n_ctx_; }
  void rewind(std::size_t n_chars) override {
    ++rewinds;
    if (n_chars < text_.size()) text_.resize(n_chars);
  }
  AppendOutcome append(std::string_view text) override {
    AppendOutcome out{.ok = true, .n_tokens = static_cast<int64_t>(text.size()), .ms = 0};
    if (n_tokens() + out.n_tokens > n_ctx_) {
      out.ok = false;
      return out;
    }
    text_ += text;
    appended.emplace_back(text);
    return out;
  }
  GenerationOutcome generate(int max_tokens, const std::vector<std::string>& stop,
                             const std::function<bool(std::string_view)>& on_text) override {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    GenerationOutcome out;
    std::string text = next_ < outputs_.size() ? outputs_[next_] : outputs_.back();
    ++next_;
    out.end = GenerationEnd::eos;
    for (const auto& s : stop) {
      if (auto p = text.find(s); p != std::string::npos) {
        text.resize(p);
        out.end = GenerationEnd::stop_sequence;
      }
    }
    const auto room = static_cast<std::size_t>(std::max<int64_t>(n_ctx_ - n_tokens(), 0));
    if (text.size() > room) {
      text.resize(room);
      out.end = GenerationEnd::context_full;
    }
    if (text.size() > static_cast<std::size_t>(max_tokens)) {
      text.resize(static_cast<std::size_t>(max_tokens));
      out.end = GenerationEnd::max_tokens;
    }
    if (on_text && !text.empty() && !on_text(text)) out.end = GenerationEnd::cancelled;
    out.text = text;
    out.n_tokens = static_cast<int64_t>(text.size());
    text_ += text;
    return out;
  }

  std::vector<std::string> appended;  // every append, in order
  int rewinds = 0;
  std::chrono::milliseconds delay{0};  // each generate() takes at least this long

 private:
  std::vector<std::string> outputs_;
  std::size_t next_ = 0;
  int64_t n_ctx_;
  std::string text_;
};

}  // namespace agentrt::agent::test
