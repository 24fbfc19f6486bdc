// Loads external tool plugins: shared libraries that export the C ABI of agentrt/plugin_abi.h.
//
// Ownership: every tool a plugin provides keeps the library loaded (shared ownership), so the
// library is unloaded only after the registry and any abandoned call using it are gone.
// Thread-safety: load_plugin() is for start-up, on the thread that fills the registry. The
// wrapped tools may be invoked concurrently (plugins promise that in the ABI).
// Errors: PluginError, whose message names the file: cannot open, no `agentrt_plugin_init`,
// wrong ABI version, init failed, a tool with a bad name / bad schema JSON / no invoke function,
// or a name that is already registered. Nothing is registered when loading fails.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "agentrt/tools/config.h"
#include "agentrt/tools/registry.h"

namespace agentrt::tools {

class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PluginInfo {
  std::filesystem::path path;
  std::string name;
  std::string version;
  std::vector<std::string> tools;  // in the order the plugin declared them
};

// Loads PATH, checks its ABI version, hands the plugin the whole configuration as JSON (a plugin
// reads its own section), wraps each tool and adds it to REGISTRY.
PluginInfo load_plugin(const std::filesystem::path& path, Registry& registry, const Config& config);

}  // namespace agentrt::tools
