// The calculator plugin, and its expression language as a library for other plugins.
//
// - register_calculator() adds the `calculator {expression}` tool.
// - calc::calculate() is the tool's whole behaviour without JSON: exact where possible, the text
//   a person expects, errors as values.
// - calc::Expression parses once and evaluates many times in double precision with named
//   variables: what the simulator needs for ODE right-hand sides.
//
// The language is described in agentrt/plugins/calculator/ast.h and plugins/calculator/README.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agentrt/plugins/calculator/ast.h"
#include "agentrt/tools/config.h"
#include "agentrt/tools/registry.h"

namespace agentrt::plugins {

// Adds the `calculator` tool. Config keys: calculator.max_length (characters, default 10000),
// calculator.max_bits (largest exact numerator/denominator, default 131072).
// Throws tools::RegistryError when the name is taken.
void register_calculator(tools::Registry& registry, const tools::Config& config);

namespace calc {

struct Answer {
  std::string text;      // "27", "0.4285714285714286", the full digits of 2^100
  bool exact = false;    // an exact rational (text may still be a rounded decimal of it)
  std::string fraction;  // "3/7" when exact, "" otherwise
  double value = 0.0;    // nearest double (may be +-inf for huge exact integers)
};

struct CalculateOptions {
  std::size_t max_length = 10'000;  // code points
  std::size_t max_bits = 131'072;   // exact numbers beyond this fall back to doubles or fail
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// Evaluates one expression. Never throws on user input: a malformed expression, an unknown
// name, a domain error or a result beyond the limits is an Error saying what and where.
Result<Answer> calculate(std::string_view expression, const CalculateOptions& options = {});

// "message at position N" (or just the message when it has no position).
std::string describe(const Error& error);

// A compiled double-precision expression over named variables.
//
// Parse once with compile(), then evaluate() many times: a flat program run on a small stack,
// no allocation per call. Domain errors give NaN (sqrt(-1)) or inf, as IEEE arithmetic does.
// Thread-safety: evaluate() is const and reentrant; one Expression may be shared by threads.
class Expression {
 public:
  // VARIABLES are the names evaluate()'s values bind, by position. A name used in TEXT that is
  // not a variable, function or constant is an Error ("unknown name 'k' at position 5").
  static Result<Expression> compile(std::string_view text, std::span<const std::string> variables);
  // Compiles an already-parsed tree (its kVariable names must all be in VARIABLES).
  static Result<Expression> compile(const Tree& tree, std::span<const std::string> variables);

  // values.size() must be at least the number of variables compiled with.
  double evaluate(std::span<const double> values) const;

  std::size_t variable_count() const { return n_variables_; }

  enum class Op : std::uint8_t;
  struct Instr {
    Op op;
    std::uint32_t arg;  // variable slot, constant index or argument count
  };

 private:
  std::vector<Instr> program_;
  std::vector<double> constants_;
  std::size_t max_stack_ = 0;
  std::size_t n_variables_ = 0;
};

}  // namespace calc
}  // namespace agentrt::plugins
