// Multivariate polynomials with the calculator's exact-or-double coefficients, and the conversion
// of calculator trees into quotients of them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agentrt/plugins/calculator/value.h"

namespace agentrt::plugins::solver {

using calc::Value;

// Arithmetic that failed inside the solver (a coefficient beyond the calculator's limits, a
// polynomial too large). Internal: solve() turns it into an error value.
class SolveFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Value vadd(const Value& a, const Value& b);
Value vsub(const Value& a, const Value& b);
Value vmul(const Value& a, const Value& b);
Value vdiv(const Value& a, const Value& b);
double magnitude(const Value& v);

using Monomial = std::vector<std::uint16_t>;  // exponent of each variable, by index

class Poly {
 public:
  Poly() = default;
  explicit Poly(std::size_t n_vars) : n_vars_(n_vars) {}
  static Poly constant(const Value& c, std::size_t n_vars);
  static Poly variable(std::size_t index, std::size_t n_vars);

  std::size_t n_vars() const { return n_vars_; }
  const std::map<Monomial, Value>& terms() const { return terms_; }
  bool is_zero() const { return terms_.empty(); }
  bool is_constant() const;
  Value constant_term() const;
  int total_degree() const;
  int degree_in(std::size_t var) const;
  bool uses(std::size_t var) const { return degree_in(var) > 0; }
  std::vector<std::size_t> variables() const;

  Poly operator+(const Poly& o) const;
  Poly operator-(const Poly& o) const;
  Poly operator*(const Poly& o) const;
  Poly scaled(const Value& c) const;
  Poly power(unsigned k) const;
  // c_k such that this = sum_k c_k * x_var^k (c_k free of x_var).
  std::vector<Poly> coefficients_in(std::size_t var) const;
  // x_var := value.
  Poly substitute(std::size_t var, const Poly& value) const;
  // Divides every coefficient by the one of largest magnitude (keeps exact ones exact).
  Poly normalised() const;
  std::string to_string(const std::vector<std::string>& names) const;

 private:
  void add_term(const Monomial& m, const Value& c);
  void prune();  // drops zero and negligible double coefficients

  std::size_t n_vars_ = 0;
  std::map<Monomial, Value> terms_;
};

// num / den; den is 1 for polynomials.
struct Fraction {
  Poly num;
  Poly den;
};

// Converts TREE (variables named in NAMES, some bound to values in BINDINGS) into a quotient of
// polynomials; nullopt when it is not one (sin(x), 2^x, sqrt(x)). Throws SolveFailure.
std::optional<Fraction> to_fraction(const calc::Tree& tree, const std::vector<std::string>& names,
                                    const calc::Bindings& bindings);

}  // namespace agentrt::plugins::solver
