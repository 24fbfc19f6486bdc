// Helpers the dialects share: JSON text the way Python's json.dumps writes it, whitespace
// trimming, and checking a call against the registry.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agentrt/agent/dialect.h"
#include "agentrt/tools/registry.h"

namespace agentrt::agent::detail {

// json.dumps(value, ensure_ascii=False, sort_keys=True): ", " and ": " separators, keys sorted,
// non-ASCII kept as is. The training scripts write the same bytes.
std::string py_json(const nlohmann::json& value);
// {"name": NAME, "arguments": ARGS}, keys in that order.
std::string call_json(const ToolCall& call);

std::string_view trim(std::string_view text);
bool is_blank(std::string_view text);

// "calculator, search" or "(none)".
std::string tool_list(const tools::Registry& registry);

// Fills in parsed.error when REGISTRY does not know the call's tool or its arguments fail the
// schema. Arguments must already be an object. No-op without a registry.
void check_against_registry(ParsedCall& parsed, const tools::Registry* registry);

// Reads {"name": "...", "arguments": {...}} from TEXT into PARSED (or sets PARSED.error).
// WHAT names the construct in messages ("<tool_call>").
void parse_call_object(std::string_view text, std::string_view what, ParsedCall& parsed);

// Deepest bracket nesting outside strings; stops counting past LIMIT.
int nesting_depth(std::string_view text, int limit);
inline constexpr int kMaxJsonDepth = 64;

// True when TEXT opens more brackets than it closes, or ends inside a string.
bool json_unfinished(std::string_view text);

// A short quote of TEXT for error messages (at most ~80 bytes, cut at a UTF-8 boundary).
std::string excerpt(std::string_view text);

// "call_" + (index + 1).
std::string call_id(std::size_t index);

// The chatml tool-call convention (chatml.cpp), which other dialects offer too (gemma):
// SYSTEM followed, when TOOLS is not empty, by "\n\n# Tools\n" (just "# Tools\n" after an empty
// system text) and the tool block for PROMPT.
std::string tool_call_system_text(std::string system, std::span<const tools::ToolSpec> tools,
                                  ToolPrompt prompt);
// An assistant turn's text: raw, or thoughts + "\n", then the <tool_call> blocks or the answer.
std::string tool_call_assistant_body(const Message& m);
// "<tool_response>\n{\"name\": N, \"content\": C}\n</tool_response>" (raw replaces the JSON).
std::string tool_response_block(const Message& m);
// Reads <tool_call> blocks or an answer from model text; text from END_MARKER or
// <tool_response> on is ignored.
ParsedTurn parse_tool_call_text(std::string_view text, std::string_view end_marker,
                                const tools::Registry* registry, const ParseOptions& options);

}  // namespace agentrt::agent::detail
