// The dialect factory and chooser, and the helpers the dialects share.
#include <algorithm>
#include <cstdio>
#include <limits>

#include "agentrt/agent/dialect.h"
#include "agentrt/tools/schema.h"
#include "dialect_common.h"

namespace agentrt::agent {

std::unique_ptr<Dialect> make_chatml_dialect();
std::unique_ptr<Dialect> make_moss_dialect();
std::unique_ptr<Dialect> make_react_dialect();
std::unique_ptr<Dialect> make_gemma_dialect();

namespace detail {

using nlohmann::json;

std::string py_json(const json& value) {
  switch (value.type()) {
    case json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : value.items()) {  // nlohmann keeps objects sorted by key
        if (!first) out += ", ";
        first = false;
        out += json(key).dump(-1, ' ', false, json::error_handler_t::replace);
        out += ": ";
        out += py_json(item);
      }
      return out + "}";
    }
    case json::value_t::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (i) out += ", ";
        out += py_json(value[i]);
      }
      return out + "]";
    }
    default:
      return value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

std::string call_json(const ToolCall& call) {
  return "{\"name\": " + py_json(json(call.name)) + ", \"arguments\": " + py_json(call.arguments) +
         "}";
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

bool is_blank(std::string_view text) {
  return trim(text).empty();
}

std::string tool_list(const tools::Registry& registry) {
  std::string out;
  for (const auto& name : registry.names()) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "(none)" : out;
}

void check_against_registry(ParsedCall& parsed, const tools::Registry* registry) {
  if (!registry || !parsed.error.empty()) return;
  const tools::Tool* tool = registry->find(parsed.call.name);
  if (!tool) {
    parsed.error =
        "unknown tool \"" + parsed.call.name + "\"; available tools: " + tool_list(*registry);
    return;
  }
  auto errors = tools::validate(tool->spec().parameters, parsed.call.arguments);
  if (!errors.empty()) {
    parsed.error =
        "invalid arguments for tool \"" + parsed.call.name + "\": " + tools::join_errors(errors);
  }
}

namespace {

struct BracketScan {
  int depth = 0;    // brackets still open at the end
  int deepest = 0;  // the deepest nesting seen (counting stops past the limit)
  bool in_string = false;
};

BracketScan scan_brackets(std::string_view text, int limit) {
  BracketScan scan;
  bool escaped = false;
  for (char c : text) {
    if (scan.in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        scan.in_string = false;
      }
      continue;
    }
    if (c == '"') scan.in_string = true;
    if (c == '{' || c == '[') scan.deepest = std::max(scan.deepest, ++scan.depth);
    if (c == '}' || c == ']') --scan.depth;
    if (scan.deepest > limit) break;
  }
  return scan;
}

}  // namespace

int nesting_depth(std::string_view text, int limit) {
  return scan_brackets(text, limit).deepest;
}

bool json_unfinished(std::string_view text) {
  const BracketScan scan = scan_brackets(text, std::numeric_limits<int>::max());
  return scan.depth > 0 || scan.in_string;
}

void parse_call_object(std::string_view text, std::string_view what, ParsedCall& parsed) {
  const std::string_view body = trim(text);
  const std::string where(what);
  if (body.empty()) {
    parsed.error = where + " is empty; write {\"name\": ..., \"arguments\": {...}}";
    return;
  }
  // Parsing is iterative, but destroying a deeply nested value is not: refuse it up front.
  if (nesting_depth(body, kMaxJsonDepth) > kMaxJsonDepth) {
    parsed.error = where + " is nested more than 64 levels deep";
    return;
  }
  json value = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    parsed.error = "malformed JSON in " + where +
                   (json_unfinished(body) ? " (it is unfinished)" : "") + ": " + excerpt(body);
    return;
  }
  if (!value.is_object()) {
    parsed.error = where + " must be a JSON object {\"name\": ..., \"arguments\": {...}}, got " +
                   std::string(value.type_name());
    return;
  }
  auto name = value.find("name");
  if (name == value.end()) {
    parsed.error = where + " has no \"name\"";
    return;
  }
  if (!name->is_string() || name->get_ref<const std::string&>().empty()) {
    parsed.error = where + ": \"name\" must be a non-empty string, got " + name->dump();
    return;
  }
  parsed.call.name = name->get<std::string>();
  auto arguments = value.find("arguments");
  if (arguments == value.end()) {
    parsed.call.arguments = json::object();
  } else if (arguments->is_string()) {
    // Some models write OpenAI's stringified arguments; accept them when they hold an object.
    json inner = json::parse(arguments->get_ref<const std::string&>(), nullptr, false);
    if (inner.is_discarded() || !inner.is_object()) {
      parsed.error = where + ": \"arguments\" must be a JSON object, got string";
      return;
    }
    parsed.call.arguments = std::move(inner);
  } else if (!arguments->is_object()) {
    parsed.error =
        where + ": \"arguments\" must be a JSON object, got " + std::string(arguments->type_name());
    return;
  } else {
    parsed.call.arguments = *arguments;
  }
}

std::string excerpt(std::string_view text) {
  constexpr std::size_t kMax = 80;
  if (text.size() <= kMax) return std::string(text);
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

std::string call_id(std::size_t index) {
  return "call_" + std::to_string(index + 1);
}

}  // namespace detail

bool ParsedTurn::has_errors() const {
  return std::any_of(calls.begin(), calls.end(), [](const ParsedCall& c) { return !c.valid(); });
}

Message ParsedTurn::to_message(std::string_view model_text) const {
  Message m;
  m.role = Role::assistant;
  m.thoughts = thoughts;
  if (calls.empty() && answer) m.content = *answer;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    ToolCall call = calls[i].call;
    if (call.id.empty()) call.id = detail::call_id(i);
    m.tool_calls.push_back(std::move(call));
  }
  m.raw = std::string(model_text);
  return m;
}

std::vector<std::string> dialect_names() {
  return {"chatml", "moss", "react", "gemma"};
}

std::unique_ptr<Dialect> dialect_by_name(std::string_view name) {
  if (name == "chatml") return make_chatml_dialect();
  if (name == "moss") return make_moss_dialect();
  if (name == "react") return make_react_dialect();
  if (name == "gemma") return make_gemma_dialect();
  throw DialectError("unknown dialect \"" + std::string(name) +
                     "\"; known dialects: chatml, moss, react, gemma");
}

DialectChoice choose_dialect(std::string_view override_name, std::string_view metadata_dialect,
                             std::string_view chat_template, std::string_view architecture) {
  auto known = [](std::string_view n) {
    auto names = dialect_names();
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  if (!override_name.empty()) {
    if (!known(override_name)) dialect_by_name(override_name);  // throws, naming the known ones
    return {std::string(override_name), "--dialect"};
  }
  if (!metadata_dialect.empty()) {
    if (!known(metadata_dialect)) {
      throw DialectError("the model's agentrt.chat.dialect is \"" + std::string(metadata_dialect) +
                         "\"; known dialects: chatml, moss, react, gemma");
    }
    return {std::string(metadata_dialect), "agentrt.chat.dialect"};
  }
  if (chat_template.find("<|im_start|>") != std::string_view::npos)
    return {"chatml", "chat template"};
  if (chat_template.find("<|Human|>") != std::string_view::npos ||
      chat_template.find("<eoh>") != std::string_view::npos) {
    return {"moss", "chat template"};
  }
  if (chat_template.find("Action Input:") != std::string_view::npos)
    return {"react", "chat template"};
  if (chat_template.find("<start_of_turn>") != std::string_view::npos)
    return {"gemma", "chat template"};
  if (architecture == "gemma3") return {"gemma", "architecture"};
  return {"chatml", "default"};
}

ToolPrompt tool_prompt_from_name(std::string_view name) {
  if (name == "full") return ToolPrompt::full;
  if (name == "compact") return ToolPrompt::compact;
  throw DialectError("unknown tool prompt \"" + std::string(name) + "\"; use full or compact");
}

std::vector<tools::ToolSpec> tool_specs(const tools::Registry& registry) {
  std::vector<tools::ToolSpec> specs;
  for (const auto* tool : registry.list()) specs.push_back(tool->spec());
  return specs;
}

}  // namespace agentrt::agent
