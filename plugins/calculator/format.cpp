// Printing values the way a person expects, and evaluating trees to values.
#include <charconv>
#include <cmath>
#include <system_error>

#include "agentrt/plugins/calculator/value.h"
#include "decimal.h"

namespace agentrt::plugins::calc {
namespace {

namespace mp = boost::multiprecision;

// Lays out value = d1.d2d3... x 10^k: positional between 1e-6 and 1e16, scientific outside.
std::string layout(bool negative, std::string digits, long long k) {
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (negative) out.push_back('-');
  const auto n = static_cast<long long>(digits.size());
  if (k >= 16 || k < -6) {
    out.push_back(digits[0]);
    if (n > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.append(std::to_string(k));
  } else if (k < 0) {
    out.append("0.");
    out.append(static_cast<std::size_t>(-k - 1), '0');
    out.append(digits);
  } else if (n <= k + 1) {
    out.append(digits);
    out.append(static_cast<std::size_t>(k + 1 - n), '0');
  } else {
    out.append(digits, 0, static_cast<std::size_t>(k + 1));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(k + 1));
  }
  return out;
}

// Splits std::to_chars scientific output "d.ddde+XX" into digits and exponent.
void split_scientific(std::string_view s, std::string& digits, long long& k) {
  const auto e = s.find('e');
  digits.clear();
  for (char c : s.substr(0, e)) {
    if (c >= '0' && c <= '9') digits += c;
  }
  k = std::stoll(std::string(s.substr(e + 1)));
}

Integer pow10(long long k) {
  return mp::pow(Integer(10), static_cast<unsigned>(k));
}

// |q| >= 10^k ?
bool at_least_pow10(const Integer& num, const Integer& den, long long k) {
  return k >= 0 ? num >= den * pow10(k) : num * pow10(-k) >= den;
}

std::size_t bits_of(const Integer& n) {
  return n == 0 ? 0 : mp::msb(n) + 1;
}

// Rough word-operation count of an exact binary operation: linear for integer sums, the product of
// sizes for integer products, quadratic (the gcd that normalises the result) for fractions.
std::uint64_t exact_cost(NodeKind kind, const Rational& a, const Rational& b) {
  const std::uint64_t na = bits_of(mp::abs(mp::numerator(a))) + bits_of(mp::denominator(a));
  const std::uint64_t nb = bits_of(mp::abs(mp::numerator(b))) + bits_of(mp::denominator(b));
  const bool integers = mp::denominator(a) == 1 && mp::denominator(b) == 1;
  switch (kind) {
    case NodeKind::kAdd:
    case NodeKind::kSub:
      if (integers) return (na + nb) / 64 + 1;
      break;
    case NodeKind::kMul:
      if (integers) return na * nb / 4096 + 1;
      break;
    case NodeKind::kPow:
      return 1;  // bounded by max_bits inside power()
    default:
      break;
  }
  return (na + nb) * (na + nb) / 64 + 1;
}

}  // namespace

std::string format_double(double d) {
  if (d == 0.0) return "0";
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  const double a = std::abs(d);
  auto r = std::to_chars(buf, buf + sizeof buf, a, std::chars_format::scientific);
  std::string digits;
  long long k = 0;
  split_scientific(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), digits, k);
  // Rounding noise in the last digits (0.1+0.2, sqrt(2)^2): 15 significant digits read back
  // shorter, so show those.
  if (digits.size() >= 16) {
    r = std::to_chars(buf, buf + sizeof buf, a, std::chars_format::scientific, 14);
    std::string short_digits;
    long long short_k = 0;
    split_scientific(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)), short_digits,
                     short_k);
    while (short_digits.size() > 1 && short_digits.back() == '0') short_digits.pop_back();
    if (short_digits.size() <= 12) return layout(d < 0, short_digits, short_k);
  }
  return layout(d < 0, digits, k);
}

std::string to_text(const Value& v) {
  if (!v.is_exact()) return format_double(v.to_double());
  const Rational& q = v.rational();
  if (mp::denominator(q) == 1) return to_decimal(mp::numerator(q));
  const Integer num = mp::abs(mp::numerator(q));
  const Integer& den = mp::denominator(q);
  // k = floor(log10|q|): estimate from bit lengths, then correct exactly.
  long long k = static_cast<long long>(std::floor(
      (static_cast<double>(bits_of(num)) - static_cast<double>(bits_of(den))) * std::log10(2.0)));
  while (!at_least_pow10(num, den, k)) --k;
  while (at_least_pow10(num, den, k + 1)) ++k;
  // N = round(|q| * 10^(15-k)), 16 significant digits, half up.
  const long long shift = 15 - k;
  Integer scaled_num = num, scaled_den = den;
  if (shift >= 0) {
    scaled_num *= pow10(shift);
  } else {
    scaled_den *= pow10(-shift);
  }
  Integer n = (2 * scaled_num + scaled_den) / (2 * scaled_den);
  if (n >= pow10(16)) {
    n /= 10;
    ++k;
  }
  return layout(mp::numerator(q) < 0, to_decimal(n), k);
}

std::string to_fraction(const Value& v) {
  if (!v.is_exact()) return "";
  const Rational& q = v.rational();
  if (mp::denominator(q) == 1) return to_decimal(mp::numerator(q));
  return to_decimal(mp::numerator(q)) + "/" + to_decimal(mp::denominator(q));
}

Result<Value> apply_node(const Node& node, std::span<const Value> args, const Limits& limits) {
  switch (node.kind) {
    case NodeKind::kNumber:
      return number_literal(node.text);
    case NodeKind::kConstant:
      return constant_value(node.constant);
    case NodeKind::kVariable:
      return Error{"unknown name '" + node.text + "'", node.position};
    case NodeKind::kNegate:
      return negate(args[0]);
    case NodeKind::kAdd:
      return add(args[0], args[1], limits);
    case NodeKind::kSub:
      return sub(args[0], args[1], limits);
    case NodeKind::kMul:
      return mul(args[0], args[1], limits);
    case NodeKind::kDiv:
      return div(args[0], args[1], limits);
    case NodeKind::kFloorDiv:
      return floor_div(args[0], args[1], limits);
    case NodeKind::kMod:
      return mod(args[0], args[1], limits);
    case NodeKind::kPow:
      return power(args[0], args[1], limits);
    case NodeKind::kFactorial:
      return factorial(args[0], limits);
    case NodeKind::kPercent:
      return div(args[0], Value::integer(100), limits);
    case NodeKind::kCall:
      return apply(node.func, args, limits);
  }
  return Error{"unknown node", node.position};
}

Result<Value> evaluate(const Tree& tree, const Limits& limits, const Bindings* bindings) {
  std::vector<Value> values(tree.nodes.size());
  std::uint64_t work = 0;
  std::vector<Value> args;
  auto lookup = [&](const Node& node) -> Result<Value> {
    if (bindings) {
      if (auto it = bindings->find(node.text); it != bindings->end()) return it->second;
    }
    return Error{"unknown name '" + node.text + "'", node.position};
  };
  for (std::uint32_t i = 0; i < tree.nodes.size() && i <= tree.root; ++i) {
    const Node& node = tree.nodes[i];
    if ((i & 63) == 0 && std::chrono::steady_clock::now() > limits.deadline) {
      return Error{"evaluation ran past its deadline", node.position};
    }
    if (node.args.size() == 2) {
      Value& a = values[node.args[0]];
      Value& b = values[node.args[1]];
      if (a.is_exact() && b.is_exact()) {
        work += exact_cost(node.kind, a.rational(), b.rational());
        // Past the budget, go on in doubles: a long sum of fractions stays fast.
        if (work > limits.max_work && node.kind != NodeKind::kPow) {
          a = Value::approx(a.to_double());
          b = Value::approx(b.to_double());
        }
      }
    }
    args.clear();
    for (std::uint32_t a : node.args) args.push_back(values[a]);
    Result<Value> r =
        node.kind == NodeKind::kVariable ? lookup(node) : apply_node(node, args, limits);
    if (!r) {
      Error e = r.error();
      if (e.position == 0) e.position = node.position;
      return e;
    }
    values[i] = std::move(r).value();
  }
  return std::move(values[tree.root]);
}

}  // namespace agentrt::plugins::calc
