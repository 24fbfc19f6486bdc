/* agentrt plugin ABI: the whole contract between agentrt and a tool plugin built as a shared
 * library, in plain C so that a plugin built by any compiler (or language) loads.
 *
 * A plugin exports one function, AGENTRT_PLUGIN_ENTRY_POINT ("agentrt_plugin_init"), which returns
 * a pointer to a descriptor listing its tools. agentrt checks descriptor->abi_version against
 * AGENTRT_PLUGIN_ABI_VERSION and refuses a mismatch. Versioning rule: any change to a struct or a
 * function signature below bumps the version; nothing is ever reordered within a version.
 *
 * Ownership:
 *   - The descriptor, its tool array and every string in them are owned by the plugin and must stay
 *     valid until the library is unloaded (static storage is the usual choice).
 *   - The strings handed to the plugin (config_json, arguments_json) are borrowed for the call.
 *   - invoke() fills an agentrt_result whose text and data_json the plugin allocates; agentrt hands
 *     the result back to descriptor->free_result exactly once, so the plugin's own allocator frees
 *     it.
 *
 * Thread-safety: invoke() may be called concurrently from several threads, for the same tool or
 * different tools. agentrt_plugin_init() is called once, before any invoke().
 *
 * Errors: an expected failure (bad input, nothing found) is a result with ok = 0 and the message in
 * text. A plugin must not let a C++ exception or a longjmp cross this boundary.
 */
#ifndef AGENTRT_PLUGIN_ABI_H
#define AGENTRT_PLUGIN_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AGENTRT_PLUGIN_ABI_VERSION 1u
#define AGENTRT_PLUGIN_ENTRY_POINT "agentrt_plugin_init"

#if defined(_WIN32)
#define AGENTRT_PLUGIN_EXPORT __declspec(dllexport)
#else
#define AGENTRT_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* What a running call can see: a way to ask whether to stop. Borrowed for the call. */
typedef struct agentrt_call_context {
  const void* host; /* opaque; pass it back to the functions below */
  /* Nonzero once the call was cancelled or its deadline passed: stop and return a failure. */
  int (*cancelled)(const void* host);
  /* Milliseconds left until the deadline (0 when already past). */
  int64_t (*remaining_ms)(const void* host);
} agentrt_call_context;

/* The outcome of one call. All pointers are allocated by the plugin (or NULL). */
typedef struct agentrt_result {
  int ok;          /* nonzero: success */
  char* text;      /* UTF-8 text for the model; the error message when !ok */
  char* data_json; /* optional structured result as a JSON document; NULL when none */
} agentrt_result;

typedef struct agentrt_tool {
  const char* name;        /* [a-z][a-z0-9_]*, unique across all loaded tools */
  const char* description; /* one sentence, shown to the model */
  const char* parameters;  /* JSON Schema of the arguments object, as JSON text */
  /* Runs the tool. arguments_json is an object that already passed the schema; out is zeroed by
   * agentrt before the call. user_data is this struct's user_data. */
  void (*invoke)(void* user_data, const char* arguments_json, const agentrt_call_context* ctx,
                 agentrt_result* out);
  void* user_data;
} agentrt_tool;

typedef struct agentrt_plugin {
  uint32_t abi_version; /* AGENTRT_PLUGIN_ABI_VERSION the plugin was built against */
  const char* name;     /* the plugin's name, for messages */
  const char* version;  /* the plugin's own version, free-form ("1.0.0") */
  uint32_t tool_count;
  const agentrt_tool* tools; /* tool_count entries */
  /* Frees what invoke() allocated in *result (not result itself). Required. */
  void (*free_result)(agentrt_result* result);
} agentrt_plugin;

/* The host's side, handed to the entry point. Borrowed for the duration of the call. */
typedef struct agentrt_host {
  uint32_t abi_version; /* the host's AGENTRT_PLUGIN_ABI_VERSION */
  const char*
      config_json; /* the whole configuration as a JSON object; a plugin reads its section */
} agentrt_host;

/* The entry point every plugin exports. Returns NULL when the plugin cannot start (it may write
 * why to stderr); agentrt then refuses to load it. */
typedef const agentrt_plugin* (*agentrt_plugin_init_fn)(const agentrt_host* host);

/* Declared here so that a definition in a C++ file gets C linkage without writing extern "C". */
AGENTRT_PLUGIN_EXPORT const agentrt_plugin* agentrt_plugin_init(const agentrt_host* host);

#ifdef __cplusplus
}
#endif

#endif /* AGENTRT_PLUGIN_ABI_H */
