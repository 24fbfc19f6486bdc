// Calls the registration function of every built-in plugin compiled into this build. Which ones
// exist is decided by plugins/CMakeLists.txt (AGENTRT_HAS_PLUGIN_<NAME>).
#include "agentrt/plugins/builtin.h"

#ifdef AGENTRT_HAS_PLUGIN_CALCULATOR
#include "agentrt/plugins/calculator.h"
#endif
#ifdef AGENTRT_HAS_PLUGIN_SOLVER
#include "agentrt/plugins/solver.h"
#endif
#ifdef AGENTRT_HAS_PLUGIN_SQL
#include "agentrt/plugins/sql.h"
#endif
#ifdef AGENTRT_HAS_PLUGIN_SEARCH
#include "agentrt/plugins/search.h"
#endif
#ifdef AGENTRT_HAS_PLUGIN_SIMULATE
#include "agentrt/plugins/simulate.h"
#endif

namespace agentrt::plugins {

void register_builtin_plugins(tools::Registry& registry, const tools::Config& config) {
  // Silences unused-parameter warnings in a build with no plugins.
  (void)registry;
  (void)config;
#ifdef AGENTRT_HAS_PLUGIN_CALCULATOR
  register_calculator(registry, config);
#endif
#ifdef AGENTRT_HAS_PLUGIN_SOLVER
  register_solver(registry, config);
#endif
#ifdef AGENTRT_HAS_PLUGIN_SQL
  register_sql(registry, config);
#endif
#ifdef AGENTRT_HAS_PLUGIN_SEARCH
  register_search(registry, config);
#endif
#ifdef AGENTRT_HAS_PLUGIN_SIMULATE
  register_simulate(registry, config);
#endif
}

std::vector<std::string> builtin_plugin_names() {
  std::vector<std::string> names;
#ifdef AGENTRT_HAS_PLUGIN_CALCULATOR
  names.emplace_back("calculator");
#endif
#ifdef AGENTRT_HAS_PLUGIN_SOLVER
  names.emplace_back("solver");
#endif
#ifdef AGENTRT_HAS_PLUGIN_SQL
  names.emplace_back("sql");
#endif
#ifdef AGENTRT_HAS_PLUGIN_SEARCH
  names.emplace_back("search");
#endif
#ifdef AGENTRT_HAS_PLUGIN_SIMULATE
  names.emplace_back("simulate");
#endif
  return names;
}

}  // namespace agentrt::plugins
