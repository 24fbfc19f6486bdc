/* A plugin whose tool declares parameters that are not JSON. */
#include <stddef.h>

#include "agentrt/plugin_abi.h"

static void invoke(void* user_data, const char* arguments_json, const agentrt_call_context* ctx,
                   agentrt_result* out) {
  (void)user_data;
  (void)arguments_json;
  (void)ctx;
  out->ok = 0;
}

static void free_result(agentrt_result* result) {
  (void)result;
}

static const agentrt_tool kTools[] = {
    {"broken", "Has a broken schema.", "{\"type\": \"object\", \"properties\": {", invoke, NULL},
};

static const agentrt_plugin kPlugin = {
    AGENTRT_PLUGIN_ABI_VERSION, "bad_schema", "0", 1, kTools, free_result};

AGENTRT_PLUGIN_EXPORT const agentrt_plugin* agentrt_plugin_init(const agentrt_host* host) {
  (void)host;
  return &kPlugin;
}
