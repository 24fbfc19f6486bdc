// The tool registry: the set of tools a process offers, filled at start-up and then frozen.
//
// Ownership: the registry owns its tools. Tools are held by shared_ptr internally so that a call
// the dispatcher had to abandon (a hung tool) keeps its tool alive after the registry is gone.
// Thread-safety: add() and freeze() are for start-up (one thread); every const method may be
// called concurrently, also while another thread calls add().
// Errors: add() throws RegistryError for an invalid or duplicate name, an unsupported parameters
// schema, or a registry that is already frozen — configuration errors that must stop start-up.
#pragma once

#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agentrt/tools/tool.h"

namespace agentrt::tools {

class RegistryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True for names the registry accepts: [a-z][a-z0-9_]*, at most 64 characters.
bool is_valid_tool_name(std::string_view name);

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Takes ownership. Throws RegistryError (naming the tool) when tool is null, its name is
  // invalid or taken, its parameters are not a supported JSON Schema, or the registry is frozen.
  void add(std::unique_ptr<Tool> tool);
  // After freeze(), add() throws. Idempotent.
  void freeze();
  bool frozen() const;

  // The tool called NAME, or nullptr. The pointer stays valid as long as the registry.
  const Tool* find(std::string_view name) const;
  // Like find(), but shares ownership (the dispatcher uses this so an abandoned call stays safe).
  std::shared_ptr<const Tool> find_shared(std::string_view name) const;
  // All tools in registration order.
  std::vector<const Tool*> list() const;
  std::vector<std::string> names() const;
  std::size_t size() const;

  // A frozen registry of the named tools, in that order, sharing them with this one (a task or a
  // request offers a subset of what start-up registered). Throws RegistryError naming an unknown
  // tool and listing the available ones, or a name given twice.
  std::unique_ptr<Registry> subset(std::span<const std::string> names) const;

 private:
  mutable std::shared_mutex mutex_;
  bool frozen_ = false;
  std::vector<std::shared_ptr<const Tool>> tools_;      // registration order
  std::unordered_map<std::string, std::size_t> index_;  // name -> position in tools_
};

}  // namespace agentrt::tools
