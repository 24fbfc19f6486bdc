/* A shared library that is not an agentrt plugin: it exports no agentrt_plugin_init. */
#include "agentrt/plugin_abi.h"

AGENTRT_PLUGIN_EXPORT int some_other_function(void) {
  return 42;
}
