// The planning loop: render the conversation, append only the new text to the model's context,
// generate until a stop sequence, parse, dispatch the calls, append the results, repeat.
//
// The loop talks to the model through ModelContext, a small text-level interface: EngineContext
// wraps engine::Session for real runs, and tests drive the loop with a scripted stand-in.
//
// Context overflow policy: the loop never rebuilds or rewrites the context to make room. Dropping
// old tool results would change the prefix and force a full re-prefill, which the KV-cache design
// exists to avoid; a caller who wants more room uses a larger n_ctx. The one thing the loop may
// shorten is what is not in the context yet: when a step's new tool results would leave less
// than RunOptions::reply_reserve tokens for the reply, each is cut to its first T lines (the
// largest T that fits) plus a line saying how many were cut, and its ToolResult is marked
// truncated. When the next prompt delta still does not fit, or generation runs into the end of
// the context, the run stops with Outcome::context_full and a reason saying how many tokens were
// needed and available.
//
// Errors: expected outcomes (malformed calls, failed tools, budgets, a full context, cancellation)
// are values in RunResult. run() throws only on programming errors and on exceptions escaping the
// callbacks. Thread-safety: one run() per ModelContext at a time; the callbacks run on the calling
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "agentrt/agent/dialect.h"
#include "agentrt/agent/message.h"
#include "agentrt/agent/task.h"
#include "agentrt/engine/sampler.h"
#include "agentrt/engine/session.h"
#include "agentrt/tools/dispatcher.h"
#include "agentrt/tools/registry.h"

namespace agentrt::agent {

struct AppendOutcome {
  bool ok = true;        // false: the text does not fit; the context is unchanged
  int64_t n_tokens = 0;  // tokens evaluated (the ones needed, when !ok)
  double ms = 0;
};

enum class GenerationEnd { stop_sequence, eos, max_tokens, context_full, cancelled };
std::string_view generation_end_name(GenerationEnd end);

struct GenerationOutcome {
  std::string text;  // the model's text, cut before the stop sequence
  GenerationEnd end = GenerationEnd::max_tokens;
  int64_t n_tokens = 0;            // tokens generated
  std::vector<int32_t> token_ids;  // the tokens as sampled (empty when the model has no ids)
  double ms = 0;
};

// The model as the loop sees it: a context holding text, which grows by append() and generate().
// context() is always the exact text the model has seen, so that the loop can check that each
// new render extends it.
class ModelContext {
 public:
  virtual ~ModelContext() = default;
  virtual std::string describe() const = 0;  // the model, for traces ("stories260K.gguf")
  // The text in the context (appended and generated, generated text up to the stop sequence).
  virtual const std::string& context() const = 0;
  virtual int64_t n_tokens() const = 0;  // tokens in the context
  virtual int64_t n_ctx() const = 0;     // capacity in tokens
  // Drops text after the first N_CHARS bytes; may drop a little more when a token straddles
  // that point (context() says what is left). Never re-evaluates what stays.
  virtual void rewind(std::size_t n_chars) = 0;
  virtual AppendOutcome append(std::string_view text) = 0;
  // The tokens TEXT would take if appended now. The default is an upper bound (a token per
  // byte); a model with a tokenizer counts exactly.
  virtual int64_t count_tokens(std::string_view text) const {
    return static_cast<int64_t>(text.size());
  }
  // Generates at most MAX_TOKENS, streaming text to ON_TEXT (return false to cancel). Afterwards
  // context() ends with the returned text (the stop sequence is not part of it).
  virtual GenerationOutcome generate(int max_tokens, const std::vector<std::string>& stop,
                                     const std::function<bool(std::string_view)>& on_text) = 0;
};

// A ModelContext over an engine::Session and a sampler. Borrows both; they must outlive it. The
// constructor clears the session: from then on it holds only text this object appended or
// generated. Text after the start is tokenized without sentencepiece's dummy-prefix space.
class EngineContext final : public ModelContext {
 public:
  EngineContext(engine::Session& session, engine::Sampler& sampler, std::string description);
  std::string describe() const override { return description_; }
  const std::string& context() const override { return text_; }
  int64_t n_tokens() const override;
  int64_t n_ctx() const override;
  void rewind(std::size_t n_chars) override;
  AppendOutcome append(std::string_view text) override;
  int64_t count_tokens(std::string_view text) const override;
  GenerationOutcome generate(int max_tokens, const std::vector<std::string>& stop,
                             const std::function<bool(std::string_view)>& on_text) override;

 private:
  void keep_tokens(std::size_t n);
  std::vector<engine::Token> tokenize(std::string_view text) const;
  engine::Session& session_;
  engine::Sampler& sampler_;
  std::string description_;
  std::string text_;
  std::vector<std::size_t> ends_;  // (n_tokens) bytes of text_ covered once token i is in
};

enum class Outcome {
  answered,      // the model gave a final answer
  max_steps,     // the step budget ran out
  token_budget,  // prefilled + generated tokens reached the budget
  deadline,      // the wall-clock deadline passed
  cancelled,     // the stop token was requested
  context_full,  // the next prompt or the generation did not fit in the context
  loop,          // the same call with the same arguments, loop_repeats times in a row
};
std::string_view outcome_name(Outcome outcome);

struct StepCall {
  ToolCall call;
  bool valid = true;  // parsed and passed the schema; false: result.text is the parse error
  tools::ToolResult result;
};

// One model turn and what came of it. "Model time" is prefill plus generation.
struct Step {
  int index = 0;             // 1-based
  std::string prompt_delta;  // text appended to the context before generating
  std::string model_text;    // the model's text, before the stop sequence
  GenerationEnd end = GenerationEnd::stop_sequence;
  std::optional<std::string> answer;
  std::string thoughts;
  std::vector<StepCall> calls;
  int64_t n_prefill = 0;                  // tokens the step evaluated for its prompt delta
  int64_t n_generated = 0;                // tokens the model generated
  std::vector<int32_t> generated_tokens;  // their ids, when the model reports them
  int64_t context_tokens = 0;             // tokens in the context after generating
  std::size_t rewound_chars = 0;  // context text dropped before the delta (a token straddling)
  double prefill_ms = 0;
  double generate_ms = 0;
  double tool_ms = 0;
  double model_ms() const { return prefill_ms + generate_ms; }
};

struct RunOptions {
  std::string system_prompt = "You are a helpful assistant. Use the tools when they help.";
  ToolPrompt tool_prompt = ToolPrompt::full;
  int max_steps = 8;  // the task's max_steps overrides this in run(task)
  int max_tokens_per_step = 256;
  // New tool results are cut (whole lines, from the end) when they would leave fewer than this
  // many tokens (at most max_tokens_per_step) free for the model's next turn; 0: never cut.
  int reply_reserve = 64;
  int64_t token_budget = 0;               // prefilled + generated over the run; 0: none
  std::chrono::milliseconds deadline{0};  // wall-clock for the run; 0: none
  int loop_repeats = 3;                   // the same call this many times in a row ends the run
  std::stop_token stop;                   // cancels between tokens and before tool calls
  tools::DispatcherOptions dispatcher;
  // Streams the model's text as it is generated (step index, text).
  std::function<void(int, std::string_view)> on_text;
  // Called when a step has finished (its calls ran), before the next one starts.
  std::function<void(const Step&)> on_step;
  // When set, runs a step's valid calls instead of the dispatcher (replay feeds recorded
  // results); must return one result per request, in order.
  std::function<std::vector<tools::ToolResult>(int step, const std::vector<tools::CallRequest>&)>
      call_tools;
};

struct RunResult {
  Outcome outcome = Outcome::max_steps;
  std::string reason;  // readable: why the run ended
  std::string answer;  // the final answer; empty unless answered
  std::vector<Step> steps;
  std::vector<Message> messages;          // the conversation, as rendered
  std::vector<std::string> tools_called;  // names of the valid calls, in order
  int64_t n_prefill = 0;
  int64_t n_generated = 0;
  double model_ms = 0;
  double tool_ms = 0;
  double wall_ms = 0;
};

// Runs TASK's prompt with the tools it names (every tool in REGISTRY when it names none); a call
// of a tool not offered is an error observation. The context is appended to, not cleared: a
// fresh run needs a fresh (or empty) context. Throws TaskError when the task names a tool that
// REGISTRY lacks. Borrows everything for the duration of the call.
RunResult run(ModelContext& model, const Dialect& dialect, const tools::Registry& registry,
              const Task& task, const RunOptions& options = {});

// One turn of a chat: HISTORY (RunResult::messages of the previous turn, or empty for a new
// conversation, which then starts with the system prompt) plus USER_MESSAGE, with the tools
// named in TOOLS (empty: all of REGISTRY) and options.max_steps. MODEL should hold the previous
// turn's context, so only the new turn is prefilled. Throws TaskError for an unknown tool name.
RunResult continue_run(ModelContext& model, const Dialect& dialect, const tools::Registry& registry,
                       std::vector<Message> history, std::string user_message,
                       std::span<const std::string> tools = {}, const RunOptions& options = {});

}  // namespace agentrt::agent
