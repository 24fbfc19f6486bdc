// Turning the solver's findings into an Outcome: numbers as text, the answer for the model.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agentrt/plugins/solver.h"
#include "roots.h"
#include "system.h"

namespace agentrt::plugins::solver {

using Values = std::map<std::size_t, Root>;  // unknown index -> value

Number to_number(const Root& root);

Outcome describe_outcome(const System& system, const std::vector<Values>& solutions,
                         const std::string& inconsistent, const std::string& underdetermined,
                         const std::string& incomplete, bool no_root);

}  // namespace agentrt::plugins::solver
