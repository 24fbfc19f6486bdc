// Linear systems by Gauss–Jordan elimination: exact over the rationals when every coefficient is
// exact, partial pivoting in doubles otherwise.
#pragma once

#include <string>
#include <vector>

#include "polynomial.h"

namespace agentrt::plugins::solver {

struct LinearResult {
  enum class Kind { kUnique, kInconsistent, kUnderdetermined } kind = Kind::kUnique;
  std::vector<Value> values;  // kUnique: the value of each of `unknowns`
  std::string description;    // kUnderdetermined: "x = 10 - z, y = ... (z free)"
  std::vector<std::pair<std::size_t, Poly>> pivots;  // kUnderdetermined: x = poly in free ones
};

// EQUATIONS are polynomials of total degree <= 1 (each = 0) in the variables UNKNOWNS.
LinearResult solve_linear(const std::vector<Poly>& equations,
                          const std::vector<std::size_t>& unknowns,
                          const std::vector<std::string>& names);

}  // namespace agentrt::plugins::solver
