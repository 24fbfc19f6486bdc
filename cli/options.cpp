#include "options.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <system_error>

#include "agentrt/plugins/builtin.h"
#include "agentrt/tools/plugin_loader.h"

namespace agentrt::cli {

std::string default_model_path() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("AGENTRT_MODEL"); env && *env) return env;
  constexpr const char* kName = "agentrt-tiny.gguf";
  const fs::path source = fs::path(AGENTRT_SOURCE_DIR) / "models" / kName;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = exe.parent_path();
    for (const fs::path& candidate : {dir / ".." / ".." / "models" / kName,
                                      dir / ".." / "share" / "agentrt" / "models" / kName}) {
      if (fs::exists(candidate, ec)) return candidate.lexically_normal().string();
    }
  }
  return source.string();
}

std::string model_or_default(const std::string& model) {
  return model.empty() ? default_model_path() : model;
}

void add_device_option(CLI::App& command, engine::Device& device) {
  static const std::map<std::string, engine::Device> kDevices = {
      {"auto", engine::Device::Auto}, {"cpu", engine::Device::Cpu}, {"cuda", engine::Device::Cuda}};
  command
      .add_option("--device", device, "cuda, cpu or auto (default: CUDA when a device is present)")
      ->transform(CLI::CheckedTransformer(kDevices, CLI::ignore_case))
      ->option_text("cuda|cpu|auto");
}

void add_kv_type_option(CLI::App& command, engine::KvType& kv_type) {
  static const std::map<std::string, engine::KvType> kTypes = {{"f16", engine::KvType::F16},
                                                               {"f32", engine::KvType::F32}};
  command
      .add_option("--kv-type", kv_type,
                  "Element type of the CPU backend's KV cache (default f16; f32 keeps it exact)")
      ->transform(CLI::CheckedTransformer(kTypes, CLI::ignore_case))
      ->option_text("f16|f32");
}

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
