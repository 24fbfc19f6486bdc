// Exact-or-float arithmetic with bounded work; see agentrt/plugins/calculator/value.h.
#include <cmath>
#include <limits>

#include "agentrt/plugins/calculator/value.h"
#include "decimal.h"

namespace agentrt::plugins::calc {
namespace {

namespace mp = boost::multiprecision;

std::size_t bits_of(const Integer& n) {
  return n == 0 ? 0 : mp::msb(mp::abs(n)) + 1;
}

// "about 301030" digits, or "more than 10^15" when the count itself is astronomical.
std::string digits_estimate(double log10_magnitude) {
  if (!(log10_magnitude < 1e15)) return "more than 10^15";
  return "about " + std::to_string(static_cast<long long>(std::floor(log10_magnitude)) + 1);
}

std::string magnitude(double log10_magnitude) {
  if (!(log10_magnitude > -1e15)) return "less than 10^-(10^15)";
  return "about 10^" + std::to_string(static_cast<long long>(log10_magnitude));
}

// Integer operands skip the rational normalisation, whose gcd costs O(n^2) even against 1.
bool both_integers(const Value& a, const Value& b) {
  return a.is_integer() && b.is_integer();
}
Rational integer_value(Integer n) {
  return Rational(std::move(n));
}

Error too_large(const std::string& what, double log2_result, const Limits& limits) {
  const double limit_digits = static_cast<double>(limits.max_bits) * std::log10(2.0);
  return Error{what + ": it has " + digits_estimate(log2_result * std::log10(2.0)) +
                   " digits (the limit is " +
                   std::to_string(static_cast<long long>(limit_digits) + 1) + ")",
               0};
}

// An exact result if it fits the limits, otherwise the nearest double, otherwise an error.
Result<Value> fit(Rational q, const Limits& limits) {
  if (bits_of(mp::numerator(q)) <= limits.max_bits &&
      bits_of(mp::denominator(q)) <= limits.max_bits) {
    return Value::exact(std::move(q));
  }
  const double d = q.convert_to<double>();
  if (std::isfinite(d) && d != 0.0) return Value::approx(d);
  return Error{
      "result too large to compute (more than " + std::to_string(limits.max_bits) + " bits)", 0};
}

Result<Value> checked_double(double d, std::string_view what) {
  if (std::isnan(d)) return Error{std::string(what) + " has no real value", 0};
  if (std::isinf(d)) return Error{std::string(what) + " overflows (result is infinite)", 0};
  return Value::approx(d);
}

// floor(log2(|n|)) estimate for big values, as a double.
double log2_abs(const Rational& q) {
  const auto& num = mp::numerator(q);
  const auto& den = mp::denominator(q);
  auto part = [](const Integer& n) {
    const std::size_t b = bits_of(n);
    if (b <= 60) return std::log2(std::abs(n.convert_to<double>()));
    const Integer top = mp::abs(n) >> (b - 60);
    return std::log2(top.convert_to<double>()) + static_cast<double>(b - 60);
  };
  return part(num) - part(den);
}

// floor(n^(1/k)) for n >= 0, by Newton's method on integers.
Integer integer_root(const Integer& n, unsigned k) {
  if (n < 2) return n;
  if (k == 1) return n;
  if (k == 2) return mp::sqrt(n);
  Integer x = Integer(1) << ((bits_of(n) + k - 1) / k);  // >= the root
  for (;;) {
    const Integer y = ((k - 1) * x + n / mp::pow(x, k - 1)) / k;
    if (y >= x) return x;
    x = y;
  }
}

// An exact k-th root of q >= 0 when numerator and denominator are perfect k-th powers.
bool exact_root(const Rational& q, unsigned k, Rational& out) {
  const Integer rn = integer_root(mp::numerator(q), k);
  if (mp::pow(rn, k) != mp::numerator(q)) return false;
  const Integer rd = integer_root(mp::denominator(q), k);
  if (mp::pow(rd, k) != mp::denominator(q)) return false;
  out = Rational(rn, rd);
  return true;
}

Result<Value> integer_power(const Rational& base, const Integer& exponent, const Limits& limits) {
  if (exponent == 0) return Value::integer(1);
  if (base == 0) {
    if (exponent < 0) return Error{"0 raised to a negative power (division by zero)", 0};
    return Value::integer(0);
  }
  if (base == 1) return Value::integer(1);
  if (base == -1) return Value::integer(mp::bit_test(mp::abs(exponent), 0) ? -1 : 1);
  const double log2_base = log2_abs(base);
  const double exp_d = exponent.convert_to<double>();
  // log2 of numerator and denominator of the result, before computing it.
  const Rational num_part(mp::numerator(base)), den_part(mp::denominator(base));
  const double bits_num = log2_abs(num_part) * std::abs(exp_d) + 1;
  const double bits_den = log2_abs(den_part) * std::abs(exp_d) + 1;
  if (bits_num <= static_cast<double>(limits.max_bits) &&
      bits_den <= static_cast<double>(limits.max_bits)) {
    const auto e = mp::abs(exponent).convert_to<unsigned>();
    Rational r = mp::denominator(base) == 1
                     ? integer_value(mp::pow(mp::numerator(base), e))
                     : Rational(mp::pow(mp::numerator(base), e), mp::pow(mp::denominator(base), e));
    if (exponent < 0) r = 1 / r;
    return fit(std::move(r), limits);
  }
  // Too big to keep exact: a double when it is representable, otherwise say how big it is.
  const double log2_result = log2_base * exp_d;
  if (log2_result < 1000 && log2_result > -1000) {
    const double sign = (base < 0 && mp::bit_test(mp::abs(exponent), 0)) ? -1.0 : 1.0;
    return Value::approx(sign * std::exp2(log2_result));
  }
  if (log2_result < 0) {
    return Error{"result too small to represent (" + magnitude(log2_result * std::log10(2.0)) + ")",
                 0};
  }
  return too_large("result too large", log2_result, limits);
}

}  // namespace

bool Value::is_integer() const {
  return exact_ && mp::denominator(q_) == 1;
}

double Value::to_double() const {
  return exact_ ? q_.convert_to<double>() : d_;
}

Result<Value> add(const Value& a, const Value& b, const Limits& limits) {
  if (both_integers(a, b)) {
    return fit(integer_value(mp::numerator(a.rational()) + mp::numerator(b.rational())), limits);
  }
  if (a.is_exact() && b.is_exact()) return fit(a.rational() + b.rational(), limits);
  return checked_double(a.to_double() + b.to_double(), "the sum");
}

Result<Value> sub(const Value& a, const Value& b, const Limits& limits) {
  if (both_integers(a, b)) {
    return fit(integer_value(mp::numerator(a.rational()) - mp::numerator(b.rational())), limits);
  }
  if (a.is_exact() && b.is_exact()) return fit(a.rational() - b.rational(), limits);
  return checked_double(a.to_double() - b.to_double(), "the difference");
}

Result<Value> mul(const Value& a, const Value& b, const Limits& limits) {
  if (both_integers(a, b)) {
    return fit(integer_value(mp::numerator(a.rational()) * mp::numerator(b.rational())), limits);
  }
  if (a.is_exact() && b.is_exact()) return fit(a.rational() * b.rational(), limits);
  // 0 * anything finite stays an exact 0.
  if ((a.is_exact() && a.is_zero()) || (b.is_exact() && b.is_zero())) return Value::integer(0);
  return checked_double(a.to_double() * b.to_double(), "the product");
}

Result<Value> div(const Value& a, const Value& b, const Limits& limits) {
  if (b.is_zero()) return Error{"division by zero", 0};
  if (a.is_exact() && b.is_exact()) return fit(a.rational() / b.rational(), limits);
  if (a.is_exact() && a.is_zero()) return Value::integer(0);
  return checked_double(a.to_double() / b.to_double(), "the quotient");
}

Value negate(const Value& a) {
  return a.is_exact() ? Value::exact(-a.rational()) : Value::approx(-a.to_double());
}

Result<Value> floor_div(const Value& a, const Value& b, const Limits& limits) {
  if (b.is_zero()) return Error{"division by zero", 0};
  if (a.is_exact() && b.is_exact()) {
    const Rational q = a.rational() / b.rational();
    Integer f = mp::numerator(q) / mp::denominator(q);
    if (q < 0 && f * mp::denominator(q) != mp::numerator(q)) f -= 1;
    return fit(Rational(f), limits);
  }
  return checked_double(std::floor(a.to_double() / b.to_double()), "the quotient");
}

Result<Value> mod(const Value& a, const Value& b, const Limits& limits) {
  if (b.is_zero()) return Error{"remainder of a division by zero", 0};
  auto q = floor_div(a, b, limits);
  if (!q) return q;
  auto prod = mul(q.value(), b, limits);
  if (!prod) return prod;
  if (a.is_exact() && b.is_exact()) return sub(a, prod.value(), limits);
  const double x = a.to_double(), y = b.to_double();
  double r = std::fmod(x, y);
  if (r != 0.0 && ((r < 0) != (y < 0))) r += y;
  return checked_double(r, "the remainder");
}

int compare(const Value& a, const Value& b) {
  if (a.is_exact() && b.is_exact())
    return a.rational().compare(b.rational()) < 0   ? -1
           : a.rational().compare(b.rational()) > 0 ? 1
                                                    : 0;
  const double x = a.to_double(), y = b.to_double();
  return x < y ? -1 : x > y ? 1 : 0;
}

Result<Value> power(const Value& base, const Value& exponent, const Limits& limits) {
  if (base.is_exact() && exponent.is_integer()) {
    return integer_power(base.rational(), mp::numerator(exponent.rational()), limits);
  }
  if (base.is_exact() && exponent.is_exact()) {
    // Rational exponent p/q: exact when base is a perfect q-th power (125^(1/3) = 5).
    const Integer& p = mp::numerator(exponent.rational());
    const Integer& q = mp::denominator(exponent.rational());
    const Rational& b = base.rational();
    if (q <= limits.max_root_degree) {
      const auto k = q.convert_to<unsigned>();
      const bool odd_root = (k % 2) == 1;
      if (b < 0 && !odd_root) {
        return Error{"a negative number raised to a fractional power has no real value", 0};
      }
      Rational root;
      if (exact_root(b < 0 ? Rational(-b) : b, k, root)) {
        if (b < 0) root = -root;  // the real odd root: (-8)^(1/3) = -2
        return integer_power(root, p, limits);
      }
      if (b < 0) {
        const double r = -std::pow(-b.convert_to<double>(), 1.0 / static_cast<double>(k));
        return checked_double(std::pow(r, p.convert_to<double>()), "the power");
      }
    } else if (b < 0) {
      return Error{"a negative number raised to a fractional power has no real value", 0};
    }
  }
  const double x = base.to_double(), y = exponent.to_double();
  if (x < 0 && std::floor(y) != y) {
    return Error{"a negative number raised to a fractional power has no real value", 0};
  }
  if (x == 0 && y < 0) return Error{"0 raised to a negative power (division by zero)", 0};
  return checked_double(std::pow(x, y), "the power");
}

Result<Value> factorial(const Value& a, const Limits& limits) {
  if (a.is_integer()) {
    const Rational& n = a.rational();
    if (n < 0) return Error{"factorial of a negative integer is undefined", 0};
    // log2(n!) = lgamma(n+1)/ln 2 decides, before any work, whether the exact product fits.
    const double nd = n.convert_to<double>();
    const double log2_result = std::lgamma(nd + 1.0) / std::log(2.0);
    if (log2_result > static_cast<double>(limits.max_bits)) {
      if (log2_result < 1000) return Value::approx(std::tgamma(nd + 1.0));
      return too_large("factorial(" + to_decimal(mp::numerator(n)) + ") is too large", log2_result,
                       limits);
    }
    const auto m = n.convert_to<unsigned long>();
    Integer r = 1;
    for (unsigned long i = 2; i <= m; ++i) r *= i;
    return Value::exact(Rational(r));
  }
  const double x = a.to_double();
  if (x < 0 && std::floor(x) == x) return Error{"factorial of a negative integer is undefined", 0};
  return checked_double(std::tgamma(x + 1.0), "the factorial");  // Γ(x+1) for non-integers
}

Result<Value> number_literal(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'b' || text[1] == 'o')) {
    const int base = text[1] == 'x' ? 16 : text[1] == 'b' ? 2 : 8;
    if ((text.size() - 2) * 4 > 65536) return Error{"number literal too long", 0};
    Integer n = 0;
    for (char c : text.substr(2)) {
      const int d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
      n = n * base + d;
    }
    return Value::exact(Rational(n));
  }
  std::string mantissa;
  long long exponent = 0;
  const auto e_pos = text.find('e');
  const std::string_view m = text.substr(0, e_pos);
  if (e_pos != std::string_view::npos) {
    const std::string_view e = text.substr(e_pos + 1);
    if (e.size() > 7) return Error{"number exponent out of range", 0};
    exponent = std::stoll(std::string(e));
  }
  bool seen_point = false;
  for (char c : m) {
    if (c == '.') {
      seen_point = true;
    } else {
      mantissa += c;
      if (seen_point) --exponent;
    }
  }
  if (mantissa.size() > 20000) return Error{"number literal too long", 0};
  if (exponent > 20000 || exponent < -20000) return Error{"number exponent out of range", 0};
  const Integer digits = from_decimal(mantissa);
  const Integer scale = mp::pow(Integer(10), static_cast<unsigned>(std::llabs(exponent)));
  if (exponent >= 0) return Value::exact(Rational(Integer(digits * scale)));
  return Value::exact(Rational(digits, scale));
}

Value constant_value(Constant c) {
  return Value::approx(c == Constant::kPi ? 3.141592653589793238 : 2.718281828459045235);
}

}  // namespace agentrt::plugins::calc
