#include "agentrt/tools/plugin_loader.h"

namespace agentrt::tools {

PluginInfo load_plugin(const std::filesystem::path& path, Registry&, const Config&) {
  throw PluginError(path.string() + ": plugin loading: work in progress");
}

}  // namespace agentrt::tools
