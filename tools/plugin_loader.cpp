#include "agentrt/tools/plugin_loader.h"

#include <dlfcn.h>

#include <chrono>
#include <memory>
#include <unordered_set>

#include "agentrt/plugin_abi.h"
#include "agentrt/tools/schema.h"

namespace agentrt::tools {
namespace {

using nlohmann::json;

// Owns one dlopen handle.
class SharedLibrary {
 public:
  explicit SharedLibrary(const std::filesystem::path& path) {
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      const char* why = dlerror();
      throw PluginError(path.string() + ": cannot load plugin: " + (why ? why : "unknown error"));
    }
  }
  ~SharedLibrary() { dlclose(handle_); }
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  void* symbol(const char* name) const {
    dlerror();
    return dlsym(handle_, name);
  }

 private:
  void* handle_ = nullptr;
};

int host_cancelled(const void* host) {
  return static_cast<const ToolContext*>(host)->cancelled() ? 1 : 0;
}

int64_t host_remaining_ms(const void* host) {
  auto left = static_cast<const ToolContext*>(host)->deadline() - ToolContext::Clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(left).count();
  return ms > 0 ? ms : 0;
}

// A tool exported by a plugin. Holds the library so its code stays mapped while the tool exists.
class PluginTool final : public Tool {
 public:
  PluginTool(std::shared_ptr<SharedLibrary> library, const agentrt_plugin* plugin,
             const agentrt_tool* tool, ToolSpec spec)
      : library_(std::move(library)), plugin_(plugin), tool_(tool), spec_(std::move(spec)) {}

  const ToolSpec& spec() const override { return spec_; }

  ToolResult invoke(const json& arguments, const ToolContext& ctx) const override {
    std::string args = arguments.dump(-1, ' ', false, json::error_handler_t::replace);
    agentrt_call_context c_ctx{&ctx, &host_cancelled, &host_remaining_ms};
    agentrt_result raw{};
    tool_->invoke(tool_->user_data, args.c_str(), &c_ctx, &raw);
    // Copy out, then hand the plugin's allocations back to the plugin.
    bool ok = raw.ok != 0;
    std::string text = raw.text ? raw.text : "";
    std::string data_text = raw.data_json ? raw.data_json : "";
    bool has_data = raw.data_json != nullptr;
    plugin_->free_result(&raw);

    json data = nullptr;
    if (has_data) {
      data = json::parse(data_text, nullptr, /*allow_exceptions=*/false);
      if (data.is_discarded()) {
        return ToolResult::failure("plugin tool \"" + spec_.name +
                                   "\" returned data_json that is not valid JSON");
      }
    }
    if (!ok) return ToolResult::failure(std::move(text));
    return ToolResult::success(std::move(text), std::move(data));
  }

 private:
  std::shared_ptr<SharedLibrary> library_;
  const agentrt_plugin* plugin_;
  const agentrt_tool* tool_;
  ToolSpec spec_;
};

}  // namespace

PluginInfo load_plugin(const std::filesystem::path& path, Registry& registry,
                       const Config& config) {
  const std::string where = path.string();
  auto fail = [&](const std::string& message) -> PluginError {
    return PluginError(where + ": " + message);
  };
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw fail("no such plugin file");
  // An absolute path keeps dlopen from searching the library path for a bare file name.
  auto library = std::make_shared<SharedLibrary>(std::filesystem::absolute(path));

  auto init = reinterpret_cast<agentrt_plugin_init_fn>(library->symbol(AGENTRT_PLUGIN_ENTRY_POINT));
  if (!init) {
    throw fail(std::string("not an agentrt plugin: it does not export ") +
               AGENTRT_PLUGIN_ENTRY_POINT + "()");
  }
  std::string config_json = config.root().dump(-1, ' ', false, json::error_handler_t::replace);
  agentrt_host host{AGENTRT_PLUGIN_ABI_VERSION, config_json.c_str()};
  const agentrt_plugin* plugin = init(&host);
  if (!plugin) throw fail("plugin initialisation failed (agentrt_plugin_init returned NULL)");
  // Only abi_version may be read before it is known to match: the rest of the layout may differ.
  if (plugin->abi_version != AGENTRT_PLUGIN_ABI_VERSION) {
    throw fail("plugin ABI version " + std::to_string(plugin->abi_version) +
               " does not match this agentrt's version " +
               std::to_string(AGENTRT_PLUGIN_ABI_VERSION) +
               "; rebuild the plugin against this agentrt's agentrt/plugin_abi.h");
  }
  if (!plugin->free_result) throw fail("the plugin descriptor has no free_result function");
  if (plugin->tool_count > 0 && !plugin->tools) throw fail("the plugin descriptor has no tools");
  if (plugin->tool_count > 4096) throw fail("the plugin declares an absurd number of tools");

  PluginInfo info;
  info.path = path;
  info.name = plugin->name ? plugin->name : "";
  info.version = plugin->version ? plugin->version : "";

  std::vector<std::unique_ptr<Tool>> tools;
  std::unordered_set<std::string> seen;
  for (uint32_t i = 0; i < plugin->tool_count; ++i) {
    const agentrt_tool& t = plugin->tools[i];
    std::string name = t.name ? t.name : "";
    std::string label = "tool #" + std::to_string(i) + " \"" + name + "\"";
    if (!is_valid_tool_name(name)) {
      throw fail(label + ": invalid name (names are [a-z][a-z0-9_]*, at most 64 characters)");
    }
    if (!t.invoke) throw fail(label + ": no invoke function");
    if (!seen.insert(name).second) throw fail(label + ": declared twice by this plugin");
    if (registry.find(name)) {
      throw fail(label +
                 ": duplicate tool name, already registered by a built-in or earlier "
                 "plugin");
    }
    json schema = json::parse(t.parameters ? t.parameters : "", nullptr, false);
    if (schema.is_discarded()) throw fail(label + ": parameters are not valid JSON");
    if (auto problems = check_schema(schema); !problems.empty()) {
      throw fail(label + ": unsupported parameters schema: " + join_errors(problems));
    }
    ToolSpec spec{name, t.description ? t.description : "", std::move(schema)};
    tools.push_back(std::make_unique<PluginTool>(library, plugin, &t, std::move(spec)));
    info.tools.push_back(name);
  }
  try {
    for (auto& tool : tools) registry.add(std::move(tool));
  } catch (const RegistryError& e) {
    throw fail(e.what());
  }
  return info;
}

}  // namespace agentrt::tools
