/* A plugin whose tool hangs: it sleeps for the requested time and never checks for cancellation.
 * The host must abandon it at the deadline and still exit promptly. */
#define _POSIX_C_SOURCE 199309L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrt/plugin_abi.h"

static void invoke(void* user_data, const char* arguments_json, const agentrt_call_context* ctx,
                   agentrt_result* out) {
  const char* p = strstr(arguments_json, "\"ms\":");
  long ms = p ? strtol(p + 5, NULL, 10) : 0;
  struct timespec ts;
  (void)user_data;
  (void)ctx;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
  out->ok = 1;
  out->text = malloc(6);
  if (out->text) memcpy(out->text, "awake", 6);
}

static void free_result(agentrt_result* result) {
  free(result->text);
}

static const agentrt_tool kTools[] = {
    {"sleep", "Sleeps, ignoring cancellation.",
     "{\"type\": \"object\", \"properties\": {\"ms\": {\"type\": \"integer\", \"minimum\": 0}},"
     " \"required\": [\"ms\"]}",
     invoke, NULL},
};

static const agentrt_plugin kPlugin = {
    AGENTRT_PLUGIN_ABI_VERSION, "sleeper", "0", 1, kTools, free_result};

AGENTRT_PLUGIN_EXPORT const agentrt_plugin* agentrt_plugin_init(const agentrt_host* host) {
  (void)host;
  return &kPlugin;
}
