// Conversation messages: what the agent loop keeps and what a dialect renders to text.
//
// Plain value types; no invariants beyond what each field says. Thread-safety: values, none.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentrt::agent {

enum class Role { system, user, assistant, tool };

// "system", "user", "assistant", "tool".
std::string_view role_name(Role role);
// The role called NAME, or nullopt.
std::optional<Role> role_from_name(std::string_view name);

struct ToolCall {
  std::string id;    // unique within the conversation; a tool message answers it by this id
  std::string name;  // the tool's registry name, or the name as written when no tool has it
  nlohmann::json arguments = nlohmann::json::object();
};

struct Message {
  Role role = Role::user;
  // system / user: the text. assistant: the final answer (empty on a turn that calls tools).
  // tool: the result text the model sees (or the error observation).
  std::string content;
  // assistant: reasoning written before the calls or answer (MOSS "Inner Thoughts", ReAct
  // "Thought"); empty when there is none.
  std::string thoughts;
  std::vector<ToolCall> tool_calls;  // assistant: the calls of this turn, in order
  std::string name;                  // tool: the tool that produced the result
  std::string tool_call_id;          // tool: the ToolCall::id answered
  // Exact text of the turn as the model wrote it (assistant) or as recorded (tool). When set, a
  // dialect prints it verbatim instead of formatting the fields above, so a conversation the loop
  // recorded renders to exactly the text in the model's context. docs/dialects.md says where.
  std::optional<std::string> raw;

  static Message system(std::string text);
  static Message user(std::string text);
  static Message answer(std::string text, std::string thoughts = {});
  static Message calls(std::vector<ToolCall> calls, std::string thoughts = {});
  static Message tool_result(std::string name, std::string call_id, std::string text);
};

// {"role", "content", "thoughts"?, "tool_calls"?, "name"?, "tool_call_id"?, "raw"?}
void to_json(nlohmann::json& j, const ToolCall& call);
void from_json(const nlohmann::json& j, ToolCall& call);
void to_json(nlohmann::json& j, const Message& message);
// Throws nlohmann::json::exception on a missing or mistyped key.
void from_json(const nlohmann::json& j, Message& message);

}  // namespace agentrt::agent
