// Dialects: how a conversation becomes model text, and how model text becomes tool calls.
//
// A dialect is pure text: it knows no tokenizer or model. Four ship: "chatml" (Hermes/Qwen
// style, the default), "moss" (MOSS-003's plugin format), "react" (Thought / Action /
// Observation) and "gemma" (Gemma's turns with chatml's tool calls). docs/dialects.md gives each
// one's exact text.
//
// Rendering is prefix-stable: render(messages[0..k]) with add_generation_prompt = false is a
// byte prefix of render(messages[0..k+1]), so the agent loop appends only the new text to the
// model's KV cache. An assistant turn renders as: the text the model generated for it (what
// render(messages[0..k], add_generation_prompt = true) leaves it to write, up to a stop sequence)
// followed by end_of_turn(). A trailing group of tool results is left open when
// add_generation_prompt is false, so that more results can still be appended as a suffix.
//
// Parsing never throws on model text: every problem becomes an error observation in the parsed
// turn, which the loop shows to the model.
//
// Thread-safety: dialects are immutable; every method may be called concurrently.
// Ownership: render() and parse() borrow their arguments for the duration of the call.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agentrt/agent/message.h"
#include "agentrt/tools/registry.h"
#include "agentrt/tools/tool.h"

namespace agentrt::agent {

enum class ToolPrompt {
  full,     // a JSON signature per tool and how to call them
  compact,  // one line per tool: - name(arg, optional_arg?): description
};

struct RenderOptions {
  bool add_generation_prompt = false;  // end with the text that opens the assistant's turn
  ToolPrompt tool_prompt = ToolPrompt::full;
};

struct ParseOptions {
  // Generation ended at the token limit, not at a stop sequence: an unfinished call is reported
  // as cut off by the limit.
  bool hit_token_limit = false;
};

// One call as the model wrote it. When error is empty, call names a registered tool and its
// arguments passed the tool's schema (or no registry was given to check against). Otherwise
// error is the observation to show the model, saying what was wrong; call holds what could be
// read (the name may be empty).
struct ParsedCall {
  ToolCall call;
  std::string error;
  std::string source;  // the text of the call in the model's output
  bool valid() const { return error.empty(); }
};

// What the model's turn amounts to:
//   - answer set, no calls: the final answer;
//   - calls (some maybe invalid): run the valid ones, show every result and error, continue;
//   - neither: the model declined to call a tool but has not answered yet (MOSS "None");
//     record the turn and generate again.
struct ParsedTurn {
  std::optional<std::string> answer;
  std::vector<ParsedCall> calls;
  std::string thoughts;
  bool truncated = false;  // the answer was cut off by the token limit

  bool is_answer() const { return answer.has_value() && calls.empty(); }
  bool has_errors() const;
  // The assistant message to record for this turn: thoughts, every call (valid or not, ids
  // call_1..call_n unless set), the answer, and raw = MODEL_TEXT so that render() reproduces the
  // model's text exactly.
  Message to_message(std::string_view model_text) const;
};

class DialectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string_view name() const = 0;

  // The text of the whole conversation. TOOLS are the tools offered (in the system prompt).
  virtual std::string render(std::span<const Message> messages,
                             std::span<const tools::ToolSpec> tools,
                             const RenderOptions& options = {}) const = 0;
  // Text that ends generation; the loop stops at the first one and drops it from the model text.
  virtual std::vector<std::string> stop_sequences() const = 0;
  // What render() prints after the model's own text of ASSISTANT (the stop sequence that ended
  // it and what follows).
  virtual std::string end_of_turn(const Message& assistant) const = 0;
  // Reads MODEL_TEXT (generation up to, not including, the stop sequence). With a registry,
  // calls naming unknown tools or failing the schema become errors; with nullptr, only the
  // structure is checked. Never throws on model text.
  virtual ParsedTurn parse(std::string_view model_text, const tools::Registry* registry,
                           const ParseOptions& options = {}) const = 0;
};

// The names of the built-in dialects: chatml, moss, react, gemma.
std::vector<std::string> dialect_names();
// Throws DialectError naming the known dialects for an unknown name.
std::unique_ptr<Dialect> dialect_by_name(std::string_view name);

struct DialectChoice {
  std::string name;
  // "--dialect", "agentrt.chat.dialect", "chat template", "architecture", "default"
  std::string reason;
};
// Picks a dialect: an explicit override, else the model's agentrt.chat.dialect metadata, else a
// recognisable tokenizer.chat_template (<|im_start|> -> chatml, <|Human|>/<eoh> -> moss,
// "Action Input:" -> react, <start_of_turn> -> gemma), else the model's architecture
// (general.architecture gemma3 -> gemma), else chatml. Empty strings mean absent. Throws
// DialectError when the override or the metadata names an unknown dialect.
DialectChoice choose_dialect(std::string_view override_name, std::string_view metadata_dialect,
                             std::string_view chat_template, std::string_view architecture = {});

// "full" / "compact"; throws DialectError otherwise.
ToolPrompt tool_prompt_from_name(std::string_view name);

// The specs of every tool in REGISTRY, in registration order.
std::vector<tools::ToolSpec> tool_specs(const tools::Registry& registry);

}  // namespace agentrt::agent
