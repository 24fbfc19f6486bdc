// react: Question / Thought / Action / Action Input / Observation / Final Answer lines (Yao et
// al., "ReAct", 2022, in the wording LangChain made common). docs/dialects.md.
#include <string>

#include "agentrt/agent/dialect.h"
#include "dialect_common.h"

namespace agentrt::agent {
namespace {

using detail::trim;
using nlohmann::json;

std::string tool_section(std::span<const tools::ToolSpec> tools, ToolPrompt prompt) {
  std::string out = "You have access to the following tools:\n";
  std::string names;
  for (const auto& spec : tools) {
    names += (names.empty() ? "" : ", ") + spec.name;
    if (prompt == ToolPrompt::full) {
      out += spec.name + ": " + spec.description +
             " Arguments: " + detail::py_json(spec.parameters) + "\n";
    } else {
      out += "- " + spec.name + ": " + spec.description + "\n";
    }
  }
  return out +
         "\nUse the following format:\n\n"
         "Question: the input question you must answer\n"
         "Thought: you should always think about what to do\n"
         "Action: the action to take, should be one of [" +
         names +
         "]\n"
         "Action Input: the input to the action, as a JSON object\n"
         "Observation: the result of the action\n"
         "... (this Thought/Action/Action Input/Observation can repeat N times)\n"
         "Thought: I now know the final answer\n"
         "Final Answer: the final answer to the original input question\n\n";
}

bool starts_with_key(std::string_view line, std::string_view key, std::string_view& rest) {
  if (!line.starts_with(key)) return false;
  rest = line.substr(key.size());
  return true;
}

struct Action {
  std::string name;
  std::string input;
  bool has_input = false;
  std::string source;
};

class ReactDialect final : public Dialect {
 public:
  std::string_view name() const override { return "react"; }

  std::string render(std::span<const Message> messages, std::span<const tools::ToolSpec> tools,
                     const RenderOptions& options) const override {
    std::string out;
    std::size_t first = 0;
    if (!messages.empty() && messages[0].role == Role::system) {
      out += messages[0].content + "\n\n";
      first = 1;
    }
    if (!tools.empty()) out += tool_section(tools, options.tool_prompt);
    bool in_results = false;
    for (std::size_t i = first; i < messages.size(); ++i) {
      const Message& m = messages[i];
      if (m.role == Role::tool) {
        out += (in_results ? "Observation: " : " ") + (m.raw ? *m.raw : m.content) + "\n";
        in_results = true;
        continue;
      }
      in_results = false;
      switch (m.role) {
        case Role::user:
          out += "Question: " + m.content + "\n";
          break;
        case Role::assistant:
          out += assistant_text(m) + end_of_turn(m);
          break;
        default:
          out += m.content + "\n";
          break;
      }
    }
    return out;
  }

  std::vector<std::string> stop_sequences() const override {
    return {"Observation:", "\nQuestion:"};
  }

  std::string end_of_turn(const Message& assistant) const override {
    return assistant.tool_calls.empty() ? "\n" : "Observation:";
  }

  ParsedTurn parse(std::string_view text, const tools::Registry* registry,
                   const ParseOptions& options) const override {
    ParsedTurn turn;
    enum class Part { preamble, thought, input, answer, none } part = Part::preamble;
    std::vector<Action> actions;
    std::string thoughts, answer;
    bool has_answer = false;
    std::vector<ParsedCall> stray;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t eol = text.find('\n', pos);
      if (eol == std::string_view::npos) eol = text.size();
      const std::string_view full_line = text.substr(pos, eol - pos);
      const std::string_view line = trim(full_line);
      pos = eol + 1;
      std::string_view rest;
      auto append = [&](std::string& to, std::string_view piece) {
        if (!to.empty()) to += "\n";
        to += piece;
      };
      if (line.starts_with("Observation:")) break;  // the model began to invent results
      if (starts_with_key(line, "Thought:", rest)) {
        part = actions.empty() && !has_answer ? Part::thought : Part::none;
        if (part == Part::thought) append(thoughts, trim(rest));
      } else if (starts_with_key(line, "Action Input:", rest)) {
        if (actions.empty() || actions.back().has_input) {
          stray.push_back(
              {{}, "\"Action Input:\" without an \"Action:\" line before it", std::string(line)});
          part = Part::none;
        } else {
          actions.back().has_input = true;
          actions.back().input = std::string(trim(rest));
          actions.back().source += "\n" + std::string(line);
          part = Part::input;
        }
      } else if (starts_with_key(line, "Action:", rest)) {
        actions.push_back({std::string(trim(rest)), "", false, std::string(line)});
        part = Part::none;
      } else if (starts_with_key(line, "Final Answer:", rest)) {
        has_answer = true;
        answer = std::string(trim(rest));
        part = Part::answer;
      } else if (part == Part::preamble || part == Part::thought) {
        append(thoughts, line);
      } else if (part == Part::input) {
        // Lines continue a JSON input only until its brackets close; later text is ignored.
        if (!detail::is_blank(actions.back().input) &&
            !detail::json_unfinished(actions.back().input)) {
          continue;
        }
        actions.back().input += "\n" + std::string(full_line);
        actions.back().source += "\n" + std::string(full_line);
      } else if (part == Part::answer) {
        answer += "\n" + std::string(full_line);
      }
    }
    turn.thoughts = std::string(trim(thoughts));
    for (std::size_t i = 0; i < actions.size(); ++i) {
      const bool last = i + 1 == actions.size();
      turn.calls.push_back(read_action(actions[i], registry, options.hit_token_limit && last));
      turn.calls.back().call.id = detail::call_id(i);
    }
    for (auto& s : stray) turn.calls.push_back(std::move(s));
    if (!turn.calls.empty()) return turn;
    if (has_answer) {
      auto a = trim(answer);
      if (a.empty()) {
        turn.calls.push_back({{}, "\"Final Answer:\" is empty", ""});
      } else {
        turn.answer = std::string(a);
        turn.truncated = options.hit_token_limit;
      }
      return turn;
    }
    if (detail::is_blank(text)) {
      turn.calls.push_back({{},
                            "the reply is empty: write \"Action:\" and \"Action Input:\" to "
                            "call a tool, or \"Final Answer:\"",
                            ""});
    } else {
      turn.calls.push_back(
          {{},
           options.hit_token_limit
               ? "the turn was cut off by the token limit before an Action or Final Answer"
               : "no \"Action:\" or \"Final Answer:\" found: write \"Action:\" and \"Action "
                 "Input:\" to call a tool, or \"Final Answer:\" to answer",
           detail::excerpt(trim(text))});
    }
    return turn;
  }

 private:
  static std::string assistant_text(const Message& m) {
    if (m.raw) return *m.raw;
    std::string out = m.thoughts.empty() ? "" : "Thought: " + m.thoughts + "\n";
    if (m.tool_calls.empty()) return out + "Final Answer: " + m.content;
    for (const auto& call : m.tool_calls) {
      out += "Action: " + call.name + "\nAction Input: " + detail::py_json(call.arguments) + "\n";
    }
    return out;
  }

  static ParsedCall read_action(const Action& action, const tools::Registry* registry,
                                bool cut_off) {
    ParsedCall parsed;
    parsed.source = action.source;
    parsed.call.name = action.name;
    if (action.name.empty()) {
      parsed.error = "\"Action:\" names no tool";
      return parsed;
    }
    if (!action.has_input) {
      parsed.error = cut_off ? "the action \"" + action.name +
                                   "\" was cut off by the token limit before its Action Input"
                             : "the action \"" + action.name + "\" has no \"Action Input:\" line";
      return parsed;
    }
    const std::string_view input = trim(action.input);
    const bool looks_json =
        !input.empty() && (input.front() == '{' || input.front() == '[' || input.front() == '"');
    if (detail::nesting_depth(input, detail::kMaxJsonDepth) > detail::kMaxJsonDepth) {
      parsed.error = "Action Input is nested more than 64 levels deep";
      return parsed;
    }
    if (looks_json || input.empty()) {
      json value =
          input.empty() ? json::object() : json::parse(input.begin(), input.end(), nullptr, false);
      if (value.is_discarded()) {
        // Reuse the shared reader for its messages about unfinished and deep JSON.
        detail::parse_call_object(input, "Action Input", parsed);
        if (parsed.error.empty()) parsed.error = "malformed JSON in Action Input";
        if (cut_off)
          parsed.error = "the Action Input was cut off by the token limit: " + parsed.error;
        parsed.call.name = action.name;
        return parsed;
      }
      if (!value.is_object()) {
        parsed.error = "Action Input must be a JSON object, got " + std::string(value.type_name());
        return parsed;
      }
      parsed.call.arguments = std::move(value);
    } else {
      // A bare string is accepted for a tool with exactly one required string argument.
      const tools::Tool* tool = registry ? registry->find(action.name) : nullptr;
      const json* required = nullptr;
      if (tool) {
        auto r = tool->spec().parameters.find("required");
        if (r != tool->spec().parameters.end() && r->is_array() && r->size() == 1 &&
            r->at(0).is_string()) {
          required = &*r;
        }
      }
      if (!required) {
        if (registry && !tool) {
          detail::check_against_registry(parsed, registry);
          return parsed;
        }
        parsed.error = "Action Input must be a JSON object such as {\"arg\": \"value\"}, got: " +
                       detail::excerpt(input);
        return parsed;
      }
      parsed.call.arguments = {{required->at(0).get<std::string>(), std::string(input)}};
    }
    detail::check_against_registry(parsed, registry);
    return parsed;
  }
};

}  // namespace

std::unique_ptr<Dialect> make_react_dialect() {
  return std::make_unique<ReactDialect>();
}

}  // namespace agentrt::agent
