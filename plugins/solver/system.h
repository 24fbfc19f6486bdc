// MOSS Solve syntax -> equations and asked-for expressions as calculator trees.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agentrt/plugins/calculator/ast.h"

namespace agentrt::plugins::solver {

struct Equation {
  calc::Tree lhs;
  calc::Tree rhs;
  std::string text;
};

struct System {
  std::vector<Equation> equations;
  std::vector<calc::Tree> targets;
  std::vector<std::string> target_texts;
  std::vector<std::string> unknowns;  // in order of appearance
  std::string note;                   // e.g. "solving 3x+280 = 0"
};

calc::Result<System> parse_system(std::string_view text);

}  // namespace agentrt::plugins::solver
