// Argument validation against the JSON Schema subset tools use for their parameters.
//
// Supported keywords: type (string, number, integer, boolean, object, array, null, or a list of
// them), properties, required, additionalProperties (bool or a schema), enum, const, minimum,
// maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength (in Unicode code points),
// pattern is NOT supported, items, minItems, maxItems, default, description, title. An integer is
// a JSON number with no fractional part (so 3 and 3.0 are integers, 3.5 is not).
//
// Thread-safety: pure functions. Errors: validation problems are returned as values; nothing
// throws for any input JSON.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentrt::tools {

// Checks VALUE against SCHEMA. Returns readable errors, each starting with the path of the
// offending value: "arguments.k: expected integer, got string". Empty means valid.
std::vector<std::string> validate(const nlohmann::json& schema, const nlohmann::json& value,
                                  std::string_view root = "arguments");

// Returns VALUE with the `default` of every absent property filled in, recursively through
// objects that are present. Values that do not match the schema are left as they are.
nlohmann::json fill_defaults(const nlohmann::json& schema, nlohmann::json value);

// Checks that SCHEMA itself is usable as a tool's parameters: an object schema of type "object"
// whose keywords have the right shapes. Returns readable problems; empty means usable.
std::vector<std::string> check_schema(const nlohmann::json& schema);

// Joins errors with "; " for one-line messages.
std::string join_errors(const std::vector<std::string>& errors);

}  // namespace agentrt::tools
