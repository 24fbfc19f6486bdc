// Exact-or-float numbers and the calculator's arithmetic on them, for plugins that compute
// symbolically with the calculator's semantics (the solver's polynomial coefficients).
//
// A Value is an exact rational (Boost.Multiprecision cpp_rational) until an operation has no
// exact result (sqrt(2), sin, pi), and a double from then on. Every exact result is bounded by
// Limits::max_bits; past it the operation falls back to double, and a double that overflows is
// an error, so no input makes the work or memory unbounded.
//
// This header pulls in Boost.Multiprecision, which compiles slowly: include it from .cpp files
// only. Users who need plain doubles want agentrt/plugins/calculator.h instead.
// Thread-safety: values are plain data; functions are pure and reentrant.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include <boost/multiprecision/cpp_int.hpp>

#include "agentrt/plugins/calculator/ast.h"

namespace agentrt::plugins::calc {

using Integer = boost::multiprecision::cpp_int;
using Rational = boost::multiprecision::cpp_rational;

struct Limits {
  // Largest numerator or denominator kept exact: 2^100000 (30,103 digits) fits, 2^200000 does
  // not. Bounds the cost of every exact operation and of printing the result.
  std::size_t max_bits = 131'072;
  // Largest integer root degree tried exactly (x^(1/q)).
  unsigned max_root_degree = 64;
  // Word operations evaluate() spends on exact arithmetic (about 10 ms) before it goes on in
  // doubles: keeps a 10,000-character sum of fractions from costing seconds in gcds.
  std::uint64_t max_work = 25'000'000;
  // evaluate() stops with an error once this passes (the tool's deadline).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

class Value {
 public:
  Value() = default;
  static Value exact(Rational q) {
    Value v;
    v.exact_ = true;
    v.q_ = std::move(q);
    return v;
  }
  static Value approx(double d) {
    Value v;
    v.exact_ = false;
    v.d_ = d;
    return v;
  }
  static Value integer(long long n) { return exact(Rational(n)); }

  bool is_exact() const { return exact_; }
  // Exact only; undefined for approximate values.
  const Rational& rational() const { return q_; }
  bool is_integer() const;  // exact integer
  bool is_zero() const { return exact_ ? q_ == 0 : d_ == 0.0; }
  double to_double() const;

 private:
  bool exact_ = true;
  Rational q_;
  double d_ = 0.0;
};

// Variable bindings for evaluate(); borrowed.
using Bindings = std::map<std::string, Value, std::less<>>;

// Arithmetic with the calculator's rules. position is used in error messages.
Result<Value> add(const Value& a, const Value& b, const Limits& limits);
Result<Value> sub(const Value& a, const Value& b, const Limits& limits);
Result<Value> mul(const Value& a, const Value& b, const Limits& limits);
Result<Value> div(const Value& a, const Value& b, const Limits& limits);
Value negate(const Value& a);
Result<Value> power(const Value& base, const Value& exponent, const Limits& limits);
Result<Value> floor_div(const Value& a, const Value& b, const Limits& limits);
Result<Value> mod(const Value& a, const Value& b, const Limits& limits);  // sign of b, as Python
Result<Value> factorial(const Value& a, const Limits& limits);
Result<Value> apply(Func func, std::span<const Value> args, const Limits& limits);
// -1, 0, 1; exact when both are exact.
int compare(const Value& a, const Value& b);

// A literal as the lexer spells it ("12", "0.45", "6e8", "0x1f") as an exact value.
Result<Value> number_literal(std::string_view text);
Value constant_value(Constant c);

// One node applied to its children's values (ARGS, in order); kVariable is an error.
Result<Value> apply_node(const Node& node, std::span<const Value> args, const Limits& limits);

// Evaluates TREE bottom-up. Variables are looked up in BINDINGS (an unbound one is an error).
// Errors carry the position of the node that failed.
Result<Value> evaluate(const Tree& tree, const Limits& limits = {},
                       const Bindings* bindings = nullptr);

// Text a person expects: integers in full, other rationals and doubles as decimals with up to
// 16 significant digits (scientific notation outside 1e-6..1e16).
std::string to_text(const Value& v);
// "p/q" for an exact value, "" otherwise.
std::string to_fraction(const Value& v);
// Shortest decimal that reads back as D, tidied when the last digits are rounding noise
// (2.0000000000000004 -> 2).
std::string format_double(double d);

}  // namespace agentrt::plugins::calc
