/* unit_converter: an example agentrt tool plugin in plain C.
 *
 * One tool, `convert {value, from, to}`, for units of length, mass, time and temperature.
 * agentrt validates the arguments against the schema below before invoke() runs, so invoke() only
 * has to read a flat JSON object of one number and two strings. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrt/plugin_abi.h"

typedef enum { LENGTH, MASS, TIME, TEMPERATURE } dimension;

typedef struct {
  const char* symbol;
  dimension dim;
  double scale; /* SI value of one unit (metre, kilogram, second); unused for temperature */
} unit;

static const unit kUnits[] = {
    {"m", LENGTH, 1.0},      {"km", LENGTH, 1000.0},   {"cm", LENGTH, 0.01},
    {"mm", LENGTH, 0.001},   {"mi", LENGTH, 1609.344}, {"yd", LENGTH, 0.9144},
    {"ft", LENGTH, 0.3048},  {"in", LENGTH, 0.0254},   {"nmi", LENGTH, 1852.0},
    {"kg", MASS, 1.0},       {"g", MASS, 0.001},       {"mg", MASS, 1e-6},
    {"t", MASS, 1000.0},     {"lb", MASS, 0.45359237}, {"oz", MASS, 0.028349523125},
    {"s", TIME, 1.0},        {"ms", TIME, 0.001},      {"min", TIME, 60.0},
    {"h", TIME, 3600.0},     {"day", TIME, 86400.0},   {"week", TIME, 604800.0},
    {"C", TEMPERATURE, 0.0}, {"F", TEMPERATURE, 0.0},  {"K", TEMPERATURE, 0.0},
};
static const char* const kDimensionNames[] = {"length", "mass", "time", "temperature"};

static const unit* find_unit(const char* symbol) {
  size_t i;
  for (i = 0; i < sizeof kUnits / sizeof kUnits[0]; ++i) {
    if (strcmp(kUnits[i].symbol, symbol) == 0) return &kUnits[i];
  }
  return NULL;
}

static double to_kelvin(double v, const char* u) {
  if (strcmp(u, "C") == 0) return v + 273.15;
  if (strcmp(u, "F") == 0) return (v - 32.0) * 5.0 / 9.0 + 273.15;
  return v;
}

static double from_kelvin(double k, const char* u) {
  if (strcmp(u, "C") == 0) return k - 273.15;
  if (strcmp(u, "F") == 0) return (k - 273.15) * 9.0 / 5.0 + 32.0;
  return k;
}

/* A malloc'd printf: every string handed back to agentrt is allocated here and freed by
 * free_result below, so host and plugin never mix allocators. */
static char* format(const char* fmt, ...) {
  va_list args;
  int n;
  char* out;
  va_start(args, fmt);
  n = vsnprintf(NULL, 0, fmt, args);
  va_end(args);
  if (n < 0) return NULL;
  out = (char*)malloc((size_t)n + 1);
  if (!out) return NULL;
  va_start(args, fmt);
  vsnprintf(out, (size_t)n + 1, fmt, args);
  va_end(args);
  return out;
}

/* Finds "key": in a flat JSON object and returns a pointer just past the colon. The arguments were
 * serialized by agentrt from a schema-checked object whose string values are unit symbols, so a
 * quoted key cannot also appear inside a value. */
static const char* find_member(const char* json, const char* key) {
  size_t key_len = strlen(key);
  const char* p = json;
  while ((p = strchr(p, '"')) != NULL) {
    if (strncmp(p + 1, key, key_len) == 0 && p[1 + key_len] == '"') {
      p += key_len + 2;
      while (*p == ' ') ++p;
      if (*p == ':') return p + 1;
    }
    ++p;
  }
  return NULL;
}

static int read_string(const char* json, const char* key, char* out, size_t out_size) {
  const char* p = find_member(json, key);
  size_t n = 0;
  if (!p) return 0;
  while (*p == ' ') ++p;
  if (*p++ != '"') return 0;
  while (*p && *p != '"' && n + 1 < out_size) out[n++] = *p++;
  out[n] = '\0';
  return *p == '"';
}

static int read_number(const char* json, const char* key, double* out) {
  const char* p = find_member(json, key);
  char* end = NULL;
  if (!p) return 0;
  *out = strtod(p, &end);
  return end != p;
}

static void fail(agentrt_result* out, char* message) {
  out->ok = 0;
  out->text = message;
}

static void convert(void* user_data, const char* arguments_json, const agentrt_call_context* ctx,
                    agentrt_result* out) {
  double value = 0.0, result;
  char from_symbol[16], to_symbol[16];
  const unit *from, *to;
  (void)user_data;
  (void)ctx; /* a conversion is instant; long-running tools poll ctx->cancelled(ctx->host) */

  if (!read_number(arguments_json, "value", &value) ||
      !read_string(arguments_json, "from", from_symbol, sizeof from_symbol) ||
      !read_string(arguments_json, "to", to_symbol, sizeof to_symbol)) {
    fail(out, format("convert needs {\"value\": number, \"from\": unit, \"to\": unit}"));
    return;
  }
  from = find_unit(from_symbol);
  to = find_unit(to_symbol);
  if (!from || !to) {
    fail(out, format("unknown unit \"%s\"", from ? to_symbol : from_symbol));
    return;
  }
  if (from->dim != to->dim) {
    fail(out, format("cannot convert %s (%s) to %s (%s)", from->symbol, kDimensionNames[from->dim],
                     to->symbol, kDimensionNames[to->dim]));
    return;
  }
  if (from->dim == TEMPERATURE) {
    double kelvin = to_kelvin(value, from->symbol);
    if (kelvin < 0.0) {
      fail(out, format("%.10g %s is below absolute zero", value, from->symbol));
      return;
    }
    result = from_kelvin(kelvin, to->symbol);
  } else {
    result = value * from->scale / to->scale;
  }
  if (!isfinite(result)) {
    fail(out, format("the result is out of range"));
    return;
  }
  out->ok = 1;
  out->text = format("%.10g %s = %.10g %s", value, from->symbol, result, to->symbol);
  out->data_json = format("{\"value\": %.17g, \"unit\": \"%s\"}", result, to->symbol);
}

static void free_result(agentrt_result* result) {
  free(result->text);
  free(result->data_json);
  result->text = NULL;
  result->data_json = NULL;
}

#define UNIT_ENUM                                                                              \
  "[\"m\",\"km\",\"cm\",\"mm\",\"mi\",\"yd\",\"ft\",\"in\",\"nmi\",\"kg\",\"g\",\"mg\",\"t\"," \
  "\"lb\",\"oz\",\"s\",\"ms\",\"min\",\"h\",\"day\",\"week\",\"C\",\"F\",\"K\"]"

static const agentrt_tool kTools[] = {
    {"convert", "Converts a value between units of length, mass, time or temperature.",
     "{\"type\": \"object\","
     " \"properties\": {"
     "   \"value\": {\"type\": \"number\", \"description\": \"the quantity to convert\"},"
     "   \"from\": {\"type\": \"string\", \"enum\": " UNIT_ENUM "},"
     "   \"to\": {\"type\": \"string\", \"enum\": " UNIT_ENUM "}},"
     " \"required\": [\"value\", \"from\", \"to\"],"
     " \"additionalProperties\": false}",
     convert, NULL},
};

static const agentrt_plugin kPlugin = {
    AGENTRT_PLUGIN_ABI_VERSION,       "unit_converter", "1.0.0",
    sizeof kTools / sizeof kTools[0], kTools,           free_result,
};

AGENTRT_PLUGIN_EXPORT const agentrt_plugin* agentrt_plugin_init(const agentrt_host* host) {
  (void)host; /* host->config_json carries the configuration; this plugin has no settings */
  return &kPlugin;
}
