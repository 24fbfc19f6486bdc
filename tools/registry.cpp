#include "agentrt/tools/registry.h"

#include <mutex>

#include "agentrt/tools/schema.h"

namespace agentrt::tools {

bool is_valid_tool_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (name.front() < 'a' || name.front() > 'z') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

void Registry::add(std::unique_ptr<Tool> tool) {
  if (!tool) throw RegistryError("cannot register a null tool");
  const ToolSpec& spec = tool->spec();
  if (!is_valid_tool_name(spec.name)) {
    throw RegistryError("invalid tool name \"" + spec.name +
                        "\": names are [a-z][a-z0-9_]*, at most 64 characters");
  }
  if (auto problems = check_schema(spec.parameters); !problems.empty()) {
    throw RegistryError("tool \"" + spec.name +
                        "\" has an unsupported parameters schema: " + join_errors(problems));
  }
  std::unique_lock lock(mutex_);
  if (frozen_) {
    throw RegistryError("cannot register tool \"" + spec.name +
                        "\": the registry is frozen (tools are registered at start-up only)");
  }
  if (index_.contains(spec.name)) {
    throw RegistryError("duplicate tool name \"" + spec.name +
                        "\": a tool with this name is "
                        "already registered");
  }
  index_.emplace(spec.name, tools_.size());
  tools_.push_back(std::shared_ptr<const Tool>(std::move(tool)));
}

void Registry::freeze() {
  std::unique_lock lock(mutex_);
  frozen_ = true;
}

bool Registry::frozen() const {
  std::shared_lock lock(mutex_);
  return frozen_;
}

const Tool* Registry::find(std::string_view name) const {
  return find_shared(name).get();
}

std::shared_ptr<const Tool> Registry::find_shared(std::string_view name) const {
  std::shared_lock lock(mutex_);
  auto it = index_.find(std::string(name));
  if (it == index_.end()) return nullptr;
  return tools_[it->second];
}

std::unique_ptr<Registry> Registry::subset(std::span<const std::string> names) const {
  auto out = std::make_unique<Registry>();
  for (const std::string& name : names) {
    std::shared_ptr<const Tool> tool = find_shared(name);
    if (!tool) {
      std::string available;
      for (const auto& n : this->names()) available += (available.empty() ? "" : ", ") + n;
      throw RegistryError("unknown tool \"" + name + "\"; available tools: " +
                          (available.empty() ? std::string("(none)") : available));
    }
    if (out->index_.contains(name)) throw RegistryError("tool \"" + name + "\" is named twice");
    out->index_.emplace(name, out->tools_.size());
    out->tools_.push_back(std::move(tool));
  }
  out->frozen_ = true;
  return out;
}

std::vector<const Tool*> Registry::list() const {
  std::shared_lock lock(mutex_);
  std::vector<const Tool*> out;
  out.reserve(tools_.size());
  for (const auto& t : tools_) out.push_back(t.get());
  return out;
}

std::vector<std::string> Registry::names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  out.reserve(tools_.size());
  for (const auto& t : tools_) out.push_back(t->spec().name);
  return out;
}

std::size_t Registry::size() const {
  std::shared_lock lock(mutex_);
  return tools_.size();
}

}  // namespace agentrt::tools
