// chatml: <|im_start|>role ... <|im_end|> turns; calls as <tool_call> JSON blocks, results as
// <tool_response> blocks in one user turn (Hermes-2-Pro / Qwen style). docs/dialects.md.
// The tool-call convention itself (tool block, call and result text, parser) is shared with the
// gemma dialect through dialect_common.h.
#include <string>

#include "agentrt/agent/dialect.h"
#include "dialect_common.h"

namespace agentrt::agent {
namespace detail {
namespace {

using nlohmann::json;

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

std::string full_tool_block(std::span<const tools::ToolSpec> tools) {
  std::string out =
      "You may call one or more functions to assist with the user query. You are provided with "
      "function signatures within <tools></tools> XML tags:\n<tools>\n";
  for (const auto& spec : tools) {
    json signature = {{"type", "function"},
                      {"function",
                       {{"name", spec.name},
                        {"description", spec.description},
                        {"parameters", spec.parameters}}}};
    out += detail::py_json(signature) + "\n";
  }
  out +=
      "</tools>\n\nFor each function call, return a json object with function name and arguments "
      "within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, "
      "\"arguments\": <args-json-object>}\n</tool_call>";
  return out;
}

// "- name(arg, optional_arg?): description": required arguments in the schema's `required`
// order, then the optional ones in key order.
std::string compact_line(const tools::ToolSpec& spec) {
  std::vector<std::string> args;
  const json& params = spec.parameters;
  std::vector<std::string> required;
  if (auto r = params.find("required"); r != params.end() && r->is_array()) {
    for (const auto& item : *r) {
      if (item.is_string()) required.push_back(item.get<std::string>());
    }
  }
  for (const auto& name : required) args.push_back(name);
  if (auto props = params.find("properties"); props != params.end() && props->is_object()) {
    for (const auto& [name, schema] : props->items()) {
      if (std::find(required.begin(), required.end(), name) == required.end()) {
        args.push_back(name + "?");
      }
    }
  }
  std::string line = "- " + spec.name + "(";
  for (std::size_t i = 0; i < args.size(); ++i) line += (i ? ", " : "") + args[i];
  return line + "): " + spec.description;
}

std::string compact_tool_block(std::span<const tools::ToolSpec> tools) {
  std::string out;
  for (const auto& spec : tools) out += compact_line(spec) + "\n";
  out +=
      "To call tools, write one <tool_call></tool_call> block per call holding {\"name\": "
      "<tool-name>, \"arguments\": <args-json-object>}.";
  return out;
}

}  // namespace

std::string tool_call_system_text(std::string system, std::span<const tools::ToolSpec> tools,
                                  ToolPrompt prompt) {
  if (tools.empty()) return system;
  return system + (system.empty() ? "" : "\n\n") + "# Tools\n" +
         (prompt == ToolPrompt::full ? full_tool_block(tools) : compact_tool_block(tools));
}

std::string tool_call_assistant_body(const Message& m) {
  if (m.raw) return *m.raw;
  std::string out = m.thoughts.empty() ? "" : m.thoughts + "\n";
  if (m.tool_calls.empty()) return out + m.content;
  for (std::size_t i = 0; i < m.tool_calls.size(); ++i) {
    if (i) out += '\n';
    out.append(kOpen).append("\n").append(detail::call_json(m.tool_calls[i])).append("\n");
    out.append(kClose);
  }
  return out;
}

std::string tool_response_block(const Message& m) {
  const std::string body = m.raw ? *m.raw
                                 : "{\"name\": " + py_json(json(m.name)) +
                                       ", \"content\": " + py_json(json(m.content)) + "}";
  return "<tool_response>\n" + body + "\n</tool_response>";
}

ParsedTurn parse_tool_call_text(std::string_view text, std::string_view end_marker,
                                const tools::Registry* registry, const ParseOptions& options) {
  ParsedTurn turn;
  // Text after an end marker the model wrote itself is not part of the turn.
  if (auto end = text.find(end_marker); end != std::string_view::npos) text = text.substr(0, end);
  // A model that goes on to write the results itself has stopped calling.
  if (auto r = text.find("<tool_response>"); r != std::string_view::npos) text = text.substr(0, r);
  std::size_t open = text.find(kOpen);
  if (open == std::string_view::npos) {
    const auto answer = trim(text);
    if (text.find(kClose) != std::string_view::npos) {
      turn.calls.push_back(
          {{}, "found </tool_call> without a matching <tool_call> before it", std::string(answer)});
    } else if (answer.empty()) {
      turn.calls.push_back({{}, "the reply is empty: write a final answer or a <tool_call>", ""});
    } else {
      turn.answer = std::string(answer);
      turn.truncated = options.hit_token_limit;
    }
    return turn;
  }
  turn.thoughts = std::string(trim(text.substr(0, open)));
  while (open != std::string_view::npos) {
    const std::size_t body_begin = open + kOpen.size();
    const std::size_t close = text.find(kClose, body_begin);
    const std::size_t next = text.find(kOpen, body_begin);
    ParsedCall parsed;
    parsed.call.id = call_id(turn.calls.size());
    if (close == std::string_view::npos || (next != std::string_view::npos && next < close)) {
      const std::size_t end = next == std::string_view::npos ? text.size() : next;
      parsed.source = std::string(text.substr(open, end - open));
      if (next != std::string_view::npos) {
        parsed.error =
            "a <tool_call> was opened before the previous one was closed with "
            "</tool_call>";
      } else if (options.hit_token_limit) {
        parsed.error =
            "the <tool_call> was cut off by the token limit before </tool_call>; "
            "write shorter calls";
      } else {
        parsed.error = "the <tool_call> is not closed with </tool_call>";
      }
      turn.calls.push_back(std::move(parsed));
      open = next;
      continue;
    }
    parsed.source = std::string(text.substr(open, close + kClose.size() - open));
    parse_call_object(text.substr(body_begin, close - body_begin), "<tool_call>", parsed);
    check_against_registry(parsed, registry);
    turn.calls.push_back(std::move(parsed));
    open = text.find(kOpen, close + kClose.size());
  }
  return turn;
}

}  // namespace detail

namespace {

class ChatmlDialect final : public Dialect {
 public:
  std::string_view name() const override { return "chatml"; }

  std::string render(std::span<const Message> messages, std::span<const tools::ToolSpec> tools,
                     const RenderOptions& options) const override {
    std::string out;
    std::size_t first = 0;
    std::string system;
    if (!messages.empty() && messages[0].role == Role::system) {
      system = messages[0].content;
      first = 1;
    }
    if (!tools.empty()) {
      system = detail::tool_call_system_text(std::move(system), tools, options.tool_prompt);
    }
    if (!system.empty() || first == 1) out += "<|im_start|>system\n" + system + "<|im_end|>\n";
    bool in_results = false;
    for (std::size_t i = first; i < messages.size(); ++i) {
      const Message& m = messages[i];
      if (m.role == Role::tool) {
        out += in_results ? "\n" : "<|im_start|>user\n";
        out += detail::tool_response_block(m);
        in_results = true;
        continue;
      }
      if (in_results) out += "<|im_end|>\n";
      in_results = false;
      if (m.role == Role::assistant) {
        out += "<|im_start|>assistant\n" + detail::tool_call_assistant_body(m) + end_of_turn(m);
      } else {
        out += "<|im_start|>" + std::string(role_name(m.role)) + "\n" + m.content + "<|im_end|>\n";
      }
    }
    if (options.add_generation_prompt) {
      if (in_results) out += "<|im_end|>\n";
      out += "<|im_start|>assistant\n";
    }
    return out;
  }

  std::vector<std::string> stop_sequences() const override {
    return {"<|im_end|>", "<|im_start|>"};
  }

  std::string end_of_turn(const Message&) const override { return "<|im_end|>\n"; }

  ParsedTurn parse(std::string_view text, const tools::Registry* registry,
                   const ParseOptions& options) const override {
    return detail::parse_tool_call_text(text, "<|im_end|>", registry, options);
  }
};

}  // namespace

std::unique_ptr<Dialect> make_chatml_dialect() {
  return std::make_unique<ChatmlDialect>();
}

}  // namespace agentrt::agent
