/* A plugin built against a future ABI: the loader must refuse it by version alone. */
#include <stddef.h>

#include "agentrt/plugin_abi.h"

static const agentrt_plugin kPlugin = {
    AGENTRT_PLUGIN_ABI_VERSION + 98u, "wrong_abi", "0", 0, NULL, NULL};

AGENTRT_PLUGIN_EXPORT const agentrt_plugin* agentrt_plugin_init(const agentrt_host* host) {
  (void)host;
  return &kPlugin;
}
