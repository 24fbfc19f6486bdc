// Roots of one-variable polynomials: exact rational roots where they exist, exact surds for
// quadratic factors, all remaining real and complex roots numerically.
#pragma once

#include <complex>
#include <optional>
#include <string>
#include <vector>

#include "agentrt/plugins/calculator/value.h"

namespace agentrt::plugins::solver {

struct Root {
  std::complex<double> value;
  std::optional<calc::Value> exact;  // an exact rational root
  std::string surd;                  // "-sqrt(30)", "(11 + sqrt(41))/2", "-1 + sqrt(3)*i"
  bool is_real() const { return value.imag() == 0.0; }
};

// Distinct roots of c[0] + c[1] x + ... + c[n] x^n, real ones first in increasing order, then
// complex ones by real part. Coefficients may be exact or doubles. Throws SolveFailure.
std::vector<Root> polynomial_roots(std::vector<calc::Value> c);

}  // namespace agentrt::plugins::solver
