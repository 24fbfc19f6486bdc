// Start-up wiring of the built-in plugins (calculator, solver, sql, search, simulate).
//
// Each built-in plugin exports one registration function, agentrt::plugins::register_<name>,
// declared in agentrt/plugins/<name>.h; this calls the ones compiled into this build, in a fixed
// order. No static-initializer registration anywhere.
// Errors: throws what a plugin's registration throws (tools::RegistryError, tools::ConfigError),
// which stops start-up. Thread-safety: start-up only, before registry.freeze().
#pragma once

#include <string>
#include <vector>

#include "agentrt/tools/config.h"
#include "agentrt/tools/registry.h"

namespace agentrt::plugins {

void register_builtin_plugins(tools::Registry& registry, const tools::Config& config);

// The names of the built-in plugins compiled into this build.
std::vector<std::string> builtin_plugin_names();

}  // namespace agentrt::plugins
