// Small text helpers shared by the tools layer's sources (internal).
#pragma once

#include <string>
#include <string_view>

namespace agentrt::tools::detail {

// "name" -> "\"name\"", for messages that quote what the user wrote.
inline std::string in_quotes(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

}  // namespace agentrt::tools::detail
