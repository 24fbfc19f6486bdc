// The equation solver plugin: `solver {equation}` in MOSS's Solve syntax.
//
// Accepts equations separated by ';' or ',' (`x+y=32;x-y=14`), the calculator's language on both
// sides with unknowns as names (`3/4x` is (3/4)·x, `xy` is x·y when x and y are unknowns, `e` is
// an unknown unless used as e^...), and trailing bare expressions naming what is asked for
// (`4*pi*r^2=384; r`, `...; x^3`, `x+y=?`). Solves linear systems of any size (exactly over the
// rationals when the inputs are), polynomials in one unknown (all real and complex roots; exact
// rational roots and quadratic surds where they exist), systems reducible to those by linear
// elimination, and one-unknown nonlinear equations numerically (real roots nearest 0).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "agentrt/plugins/calculator/ast.h"
#include "agentrt/tools/config.h"
#include "agentrt/tools/registry.h"

namespace agentrt::plugins {

// Adds the `solver` tool. Throws tools::RegistryError when the name is taken.
void register_solver(tools::Registry& registry, const tools::Config& config);

namespace solver {

struct Number {
  double re = 0;
  double im = 0;
  std::string exact;  // "17/3", "-sqrt(30)", "-1 + sqrt(3)*i"; "" when only approximate
  std::string text;   // what the model reads: "17/3 (≈ 5.666666666666667)", "2.5 - 1.25i"
};

struct Solution {
  std::vector<std::pair<std::string, Number>> values;  // unknowns in order of appearance
  std::vector<Number> targets;                         // values of the asked-for expressions
};

enum class Status {
  kSolved,           // solutions lists every solution found
  kNoSolution,       // inconsistent equations, or no real/complex root
  kUnderdetermined,  // infinitely many solutions; note describes them
};

struct Outcome {
  Status status = Status::kSolved;
  std::vector<std::string> unknowns;
  std::vector<std::string> targets;  // asked-for expressions, as written
  std::vector<Solution> solutions;
  std::string note;  // why no solution, the free unknowns, or that more roots may exist
  std::string text;  // the whole answer for the model
};

// Solves SYSTEM. Errors (a malformed equation, an unsupported kind of system, work beyond the
// limits or past DEADLINE) are values; never throws on user input.
calc::Result<Outcome> solve(
    std::string_view system,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

}  // namespace solver
}  // namespace agentrt::plugins
