// Options every command that touches tools shares: --config FILE, --set key=value (repeatable),
// --plugin PATH (repeatable), and how they turn into a Config and a frozen Registry.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "agentrt/engine/session.h"
#include "agentrt/tools/config.h"
#include "agentrt/tools/registry.h"

namespace agentrt::cli {

struct ToolOptions {
  std::string config_file;
  std::vector<std::string> sets;
  std::vector<std::string> plugins;
};

// The shipped default model, models/agentrt-tiny.gguf: $AGENTRT_MODEL when set, else the first
// that exists of <exe>/../../models (the build tree), <exe>/../share/agentrt/models (an install)
// and the source tree's models/ folder; when none exists, the source tree's path (so that the
// error names where the file was expected).
std::string default_model_path();

// MODEL, or the default model when MODEL is empty.
std::string model_or_default(const std::string& model);

// Adds --device cuda|cpu|auto to COMMAND (default auto: CUDA when a device can run the model),
// writing into DEVICE (which must outlive parsing).
void add_device_option(CLI::App& command, engine::Device& device);

// Adds --kv-type f16|f32 to COMMAND (engine::SessionOptions::kv_type).
void add_kv_type_option(CLI::App& command, engine::KvType& kv_type);

// Adds --config, --set and --plugin to COMMAND, writing into OPTIONS (which must outlive parsing).
void add_tool_options(CLI::App& command, ToolOptions& options);

// The config file (when given) overlaid with every --set, in order. Throws tools::ConfigError.
tools::Config load_config(const ToolOptions& options);

// The built-in plugins plus every --plugin, frozen. Throws tools::RegistryError,
// tools::PluginError or tools::ConfigError (start-up failures: main() reports them, exit 2).
std::unique_ptr<tools::Registry> load_tools(const ToolOptions& options,
                                            const tools::Config& config);

}  // namespace agentrt::cli
