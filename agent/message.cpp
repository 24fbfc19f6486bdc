#include "agentrt/agent/message.h"

#include <array>
#include <utility>

namespace agentrt::agent {
namespace {

constexpr std::array<std::pair<Role, std::string_view>, 4> kRoles{{
    {Role::system, "system"},
    {Role::user, "user"},
    {Role::assistant, "assistant"},
    {Role::tool, "tool"},
}};

}  // namespace

std::string_view role_name(Role role) {
  for (const auto& [r, name] : kRoles) {
    if (r == role) return name;
  }
  return "user";
}

std::optional<Role> role_from_name(std::string_view name) {
  for (const auto& [r, n] : kRoles) {
    if (n == name) return r;
  }
  return std::nullopt;
}

Message Message::system(std::string text) {
  Message m;
  m.role = Role::system;
  m.content = std::move(text);
  return m;
}

Message Message::user(std::string text) {
  Message m;
  m.role = Role::user;
  m.content = std::move(text);
  return m;
}

Message Message::answer(std::string text, std::string thoughts) {
  Message m;
  m.role = Role::assistant;
  m.content = std::move(text);
  m.thoughts = std::move(thoughts);
  return m;
}

Message Message::calls(std::vector<ToolCall> calls, std::string thoughts) {
  Message m;
  m.role = Role::assistant;
  m.tool_calls = std::move(calls);
  m.thoughts = std::move(thoughts);
  return m;
}

Message Message::tool_result(std::string name, std::string call_id, std::string text) {
  Message m;
  m.role = Role::tool;
  m.name = std::move(name);
  m.tool_call_id = std::move(call_id);
  m.content = std::move(text);
  return m;
}

void to_json(nlohmann::json& j, const ToolCall& call) {
  j = nlohmann::json{{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}};
}

void from_json(const nlohmann::json& j, ToolCall& call) {
  call.id = j.contains("id") ? j.at("id").get<std::string>() : std::string();
  call.name = j.at("name").get<std::string>();
  call.arguments = j.contains("arguments") ? j.at("arguments") : nlohmann::json::object();
}

void to_json(nlohmann::json& j, const Message& message) {
  j = nlohmann::json{{"role", role_name(message.role)}, {"content", message.content}};
  if (!message.thoughts.empty()) j["thoughts"] = message.thoughts;
  if (!message.tool_calls.empty()) j["tool_calls"] = message.tool_calls;
  if (!message.name.empty()) j["name"] = message.name;
  if (!message.tool_call_id.empty()) j["tool_call_id"] = message.tool_call_id;
  if (message.raw) j["raw"] = *message.raw;
}

void from_json(const nlohmann::json& j, Message& message) {
  const auto role_text = j.at("role").get<std::string>();
  auto role = role_from_name(role_text);
  if (!role) {
    throw nlohmann::json::type_error::create(302, "unknown role \"" + role_text + "\"", &j);
  }
  message = Message{};
  message.role = *role;
  if (j.contains("content")) message.content = j.at("content").get<std::string>();
  if (j.contains("thoughts")) message.thoughts = j.at("thoughts").get<std::string>();
  if (j.contains("tool_calls"))
    message.tool_calls = j.at("tool_calls").get<std::vector<ToolCall>>();
  if (j.contains("name")) message.name = j.at("name").get<std::string>();
  if (j.contains("tool_call_id")) message.tool_call_id = j.at("tool_call_id").get<std::string>();
  if (j.contains("raw")) message.raw = j.at("raw").get<std::string>();
}

}  // namespace agentrt::agent
