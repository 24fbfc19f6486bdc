#include "options.h"

#include "agentrt/plugins/builtin.h"
#include "agentrt/tools/plugin_loader.h"

namespace agentrt::cli {

void add_tool_options(CLI::App& command, ToolOptions& options) {
  command.add_option("--config", options.config_file, "Config file (.json or .toml)")
      ->check(CLI::ExistingFile);
  command.add_option("--set", options.sets, "Override a setting: section.key=value (repeatable)")
      ->allow_extra_args(false);
  command.add_option("--plugin", options.plugins, "Load a tool plugin library (repeatable)")
      ->allow_extra_args(false);
}

tools::Config load_config(const ToolOptions& options) {
  tools::Config config;
  if (!options.config_file.empty()) config = tools::Config::from_file(options.config_file);
  for (const auto& assignment : options.sets) config.set(assignment);
  return config;
}

std::unique_ptr<tools::Registry> load_tools(const ToolOptions& options,
                                            const tools::Config& config) {
  auto registry = std::make_unique<tools::Registry>();
  plugins::register_builtin_plugins(*registry, config);
  for (const auto& path : options.plugins) tools::load_plugin(path, *registry, config);
  registry->freeze();
  return registry;
}

}  // namespace agentrt::cli
