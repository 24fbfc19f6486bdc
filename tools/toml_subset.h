// A small TOML subset for configuration files: [section] and [a.b] headers, dotted and quoted
// keys, basic and literal strings, integers, floats, booleans, arrays (across lines) and inline
// tables, # comments. Not supported (a clear error): arrays of tables, multi-line strings, dates.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace agentrt::tools::detail {

// Parses TEXT into a JSON object. Throws ConfigError "NAME:LINE: problem".
nlohmann::json parse_toml(std::string_view text, const std::string& name);

}  // namespace agentrt::tools::detail
