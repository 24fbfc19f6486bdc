// The calculator's functions: exact where the answer is rational (sqrt(16/9), floor, gcd),
// doubles otherwise. Trigonometry is in radians.
#include <cmath>

#include "agentrt/plugins/calculator/value.h"

namespace agentrt::plugins::calc {
namespace {

namespace mp = boost::multiprecision;

Result<Value> real(double d, std::string_view name) {
  if (std::isnan(d)) return Error{std::string(name) + " is undefined for this argument", 0};
  if (std::isinf(d)) return Error{std::string(name) + " is infinite for this argument", 0};
  return Value::approx(d);
}

Integer floor_of(const Rational& q) {
  Integer f = mp::numerator(q) / mp::denominator(q);
  if (q < 0 && f * mp::denominator(q) != mp::numerator(q)) f -= 1;
  return f;
}

// Exact square root of a rational that is a perfect square, e.g. sqrt(16/9) = 4/3.
bool exact_sqrt(const Rational& q, Rational& out) {
  if (q < 0) return false;
  const Integer rn = mp::sqrt(mp::numerator(q));
  if (rn * rn != mp::numerator(q)) return false;
  const Integer rd = mp::sqrt(mp::denominator(q));
  if (rd * rd != mp::denominator(q)) return false;
  out = Rational(rn, rd);
  return true;
}

// Half away from zero, as people round (Python's round-half-even surprises: round(2.5) = 2).
Integer round_half_away(const Rational& q) {
  const Rational shifted = q < 0 ? q - Rational(1, 2) : q + Rational(1, 2);
  Integer t = mp::numerator(shifted) / mp::denominator(shifted);  // truncates toward zero
  return t;
}

Result<Integer> as_integer(const Value& v, std::string_view name) {
  if (v.is_integer()) return mp::numerator(v.rational());
  if (!v.is_exact()) {
    const double d = v.to_double();
    if (std::floor(d) == d && std::abs(d) < 9.007199254740992e15) {
      return Integer(static_cast<long long>(d));
    }
  }
  return Error{std::string(name) + " needs integer arguments", 0};
}

}  // namespace

Result<Value> apply(Func func, std::span<const Value> args, const Limits& limits) {
  const Value& x = args[0];
  const std::string_view name = function_info(func).name;
  const double xd = x.to_double();
  switch (func) {
    case Func::kSqrt: {
      if (compare(x, Value::integer(0)) < 0) {
        return Error{"sqrt of a negative number has no real value", 0};
      }
      Rational r;
      if (x.is_exact() && exact_sqrt(x.rational(), r)) return Value::exact(std::move(r));
      return real(std::sqrt(xd), name);
    }
    case Func::kCbrt:
      return power(x, Value::exact(Rational(1, 3)), limits);
    case Func::kExp:
      if (x.is_exact() && x.is_zero()) return Value::integer(1);
      return real(std::exp(xd), name);
    case Func::kLn:
    case Func::kLog:
    case Func::kLog10:
    case Func::kLog2: {
      if (compare(x, Value::integer(0)) <= 0) {
        return Error{std::string(name) + " is only defined for positive numbers", 0};
      }
      Value base = Value::approx(std::exp(1.0));
      if (func == Func::kLog10) base = Value::integer(10);
      if (func == Func::kLog2) base = Value::integer(2);
      if (func == Func::kLog && args.size() == 2) {
        base = args[1];
        if (compare(base, Value::integer(0)) <= 0 || compare(base, Value::integer(1)) == 0) {
          return Error{"log base must be positive and not 1", 0};
        }
      }
      if (x.is_exact() && x.rational() == 1) return Value::integer(0);
      // log_b(b^k) = k exactly for integer b and k (log10(1000) = 3, not 2.9999999999999996).
      if (x.is_integer() && base.is_integer() && base.rational() > 1 &&
          mp::msb(mp::numerator(x.rational())) < 4096) {
        const Integer b = mp::numerator(base.rational());
        Integer p = b;
        long long k = 1;
        const Integer& target = mp::numerator(x.rational());
        while (p < target) {
          p *= b;
          ++k;
        }
        if (p == target) return Value::integer(k);
      }
      if (func == Func::kLog10) return real(std::log10(xd), name);
      if (func == Func::kLog2) return real(std::log2(xd), name);
      return real(std::log(xd) / std::log(base.to_double()), name);
    }
    case Func::kSin:
      if (x.is_exact() && x.is_zero()) return Value::integer(0);
      return real(std::sin(xd), name);
    case Func::kCos:
      if (x.is_exact() && x.is_zero()) return Value::integer(1);
      return real(std::cos(xd), name);
    case Func::kTan:
      if (x.is_exact() && x.is_zero()) return Value::integer(0);
      return real(std::tan(xd), name);
    case Func::kAsin:
    case Func::kAcos:
      if (xd < -1 || xd > 1) {
        return Error{std::string(name) + " is only defined on [-1, 1]", 0};
      }
      return real(func == Func::kAsin ? std::asin(xd) : std::acos(xd), name);
    case Func::kAtan:
      return real(std::atan(xd), name);
    case Func::kAtan2:
      return real(std::atan2(xd, args[1].to_double()), name);
    case Func::kSinh:
      return real(std::sinh(xd), name);
    case Func::kCosh:
      return real(std::cosh(xd), name);
    case Func::kTanh:
      return real(std::tanh(xd), name);
    case Func::kAsinh:
      return real(std::asinh(xd), name);
    case Func::kAcosh:
      return real(std::acosh(xd), name);
    case Func::kAtanh:
      return real(std::atanh(xd), name);
    case Func::kAbs:
      return x.is_exact() ? Value::exact(mp::abs(x.rational())) : Value::approx(std::abs(xd));
    case Func::kSign:
      return Value::integer(compare(x, Value::integer(0)));
    case Func::kFloor:
      if (x.is_exact()) return Value::exact(Rational(floor_of(x.rational())));
      return real(std::floor(xd), name);
    case Func::kCeil:
      if (x.is_exact()) return Value::exact(Rational(-floor_of(-x.rational())));
      return real(std::ceil(xd), name);
    case Func::kRound: {
      long long digits = 0;
      if (args.size() == 2) {
        auto d = as_integer(args[1], "round's second argument");
        if (!d) return d.error();
        if (mp::abs(d.value()) > 1000) return Error{"round to at most 1000 digits", 0};
        digits = d.value().convert_to<long long>();
      }
      if (x.is_exact()) {
        const Rational scale(mp::pow(Integer(10), static_cast<unsigned>(std::llabs(digits))));
        const Rational s =
            digits >= 0 ? Rational(x.rational() * scale) : Rational(x.rational() / scale);
        const Rational r(round_half_away(s));
        return Value::exact(digits >= 0 ? Rational(r / scale) : Rational(r * scale));
      }
      const double scale = std::pow(10.0, static_cast<double>(digits));
      return real(std::round(xd * scale) / scale, name);
    }
    case Func::kMin:
    case Func::kMax: {
      const Value* best = &args[0];
      for (const Value& v : args) {
        const int c = compare(v, *best);
        if (func == Func::kMin ? c < 0 : c > 0) best = &v;
      }
      return *best;
    }
    case Func::kFactorial:
      return factorial(x, limits);
    case Func::kGcd:
    case Func::kLcm: {
      Integer acc = func == Func::kGcd ? Integer(0) : Integer(1);
      for (const Value& v : args) {
        auto n = as_integer(v, name);
        if (!n) return n.error();
        if (func == Func::kGcd) {
          acc = mp::gcd(acc, mp::abs(n.value()));
        } else {
          if (n.value() == 0) return Value::integer(0);
          acc = mp::lcm(acc, mp::abs(n.value()));
          if (mp::msb(acc) + 1 > limits.max_bits) return Error{"lcm too large", 0};
        }
      }
      return Value::exact(Rational(acc));
    }
    case Func::kPow:
      return power(x, args[1], limits);
  }
  return Error{"unknown function", 0};
}

}  // namespace agentrt::plugins::calc
