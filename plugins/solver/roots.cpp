#include "roots.h"

#include <algorithm>
#include <cmath>

#include "polynomial.h"

namespace agentrt::plugins::solver {
namespace {

namespace mp = boost::multiprecision;
using calc::Integer;
using calc::Rational;
using Complex = std::complex<double>;

Complex horner(const std::vector<Complex>& a, Complex z) {
  Complex r = 0;
  for (std::size_t k = a.size(); k-- > 0;) r = r * z + a[k];
  return r;
}

// All complex roots of a[0] + ... + a[n] x^n (a[n] != 0): Durand–Kerner (Weierstrass) iteration
// (Kerner 1966) on the monic polynomial, then Newton polishing on the original.
std::vector<Complex> numeric_roots(const std::vector<Complex>& a) {
  const std::size_t n = a.size() - 1;
  if (n == 0) return {};
  if (n == 1) return {-a[0] / a[1]};
  if (n == 2) {
    // Numerically stable quadratic formula.
    const Complex d = std::sqrt(a[1] * a[1] - 4.0 * a[2] * a[0]);
    const Complex q = -0.5 * (a[1] + (std::real(std::conj(a[1]) * d) >= 0 ? d : -d));
    if (q == Complex(0)) return {0.0, 0.0};
    return {q / a[2], a[0] / q};
  }
  std::vector<Complex> monic(a.size());
  for (std::size_t k = 0; k <= n; ++k) monic[k] = a[k] / a[n];
  double radius = 0;  // Cauchy's bound on the roots' moduli
  for (std::size_t k = 0; k < n; ++k) radius = std::max(radius, std::abs(monic[k]));
  radius = std::min(1.0 + radius, 1e150);
  std::vector<Complex> z(n);
  for (std::size_t k = 0; k < n; ++k) {
    z[k] = std::polar(radius * 0.5,
                      2.0 * M_PI * static_cast<double>(k) / static_cast<double>(n) + 0.4);
  }
  for (int iter = 0; iter < 2000; ++iter) {
    double change = 0;
    for (std::size_t k = 0; k < n; ++k) {
      Complex denom = 1;
      for (std::size_t j = 0; j < n; ++j) {
        if (j != k) denom *= z[k] - z[j];
      }
      if (denom == Complex(0)) denom = 1e-300;
      const Complex step = horner(monic, z[k]) / denom;
      z[k] -= step;
      change = std::max(change, std::abs(step) / std::max(1.0, std::abs(z[k])));
    }
    if (change < 1e-15) break;
  }
  std::vector<Complex> da(n);  // derivative
  for (std::size_t k = 1; k <= n; ++k) da[k - 1] = a[k] * static_cast<double>(k);
  for (Complex& r : z) {
    for (int i = 0; i < 3; ++i) {
      const Complex d = horner(da, r);
      if (d == Complex(0)) break;
      const Complex next = r - horner(a, r) / d;
      if (!(std::abs(horner(a, next)) < std::abs(horner(a, r)))) break;
      r = next;
    }
  }
  return z;
}

// The continued-fraction convergents of x with denominators up to max_den: the candidates for a
// rational root near x (each is then checked exactly).
std::vector<Rational> rational_candidates(double x, long long max_den) {
  std::vector<Rational> out;
  long long p0 = 0, q0 = 1, p1 = 1, q1 = 0;
  double f = x;
  for (int i = 0; i < 40; ++i) {
    const double a = std::floor(f);
    if (std::abs(a) > 1e15) break;
    // Stop before the next convergent's numerator could overflow 64 bits.
    if (std::abs(a) * (std::abs(static_cast<double>(p1)) + 1.0) > 1e18) break;
    const auto ai = static_cast<long long>(a);
    const long long p2 = ai * p1 + p0, q2 = ai * q1 + q0;
    if (q2 > max_den || q2 <= 0) break;
    p0 = p1, q0 = q1, p1 = p2, q1 = q2;
    out.emplace_back(p1, q1);
    const double frac = f - a;
    if (frac < 1e-12) break;
    f = 1.0 / frac;
  }
  return out;
}

Rational eval_exact(const std::vector<Rational>& c, const Rational& x) {
  Rational r = 0;
  for (std::size_t k = c.size(); k-- > 0;) r = r * x + c[k];
  return r;
}

// c / (x - root), exactly (synthetic division).
std::vector<Rational> deflate(const std::vector<Rational>& c, const Rational& root) {
  std::vector<Rational> q(c.size() - 1);
  Rational carry = 0;
  for (std::size_t k = c.size() - 1; k-- > 0;) {
    carry = c[k + 1] + carry * root;
    q[k] = carry;
  }
  return q;
}

// n = s^2 * f with f squarefree, for n <= 10^10 (trial division); false when larger.
bool split_square(Integer n, Integer& s, Integer& f) {
  if (n > Integer(10'000'000'000LL)) return false;  // trial division up to 10^5
  s = 1;
  for (long long p = 2; Integer(p) * p <= n; ++p) {
    while (n % (p * p) == 0) {
      n /= p * p;
      s *= p;
    }
  }
  f = n;
  return true;
}

std::string rational_text(const Rational& q) {
  return calc::to_fraction(calc::Value::exact(q));
}

// "p ± q*sqrt(f)" for the roots of a x^2 + b x + c with rational coefficients and an irrational
// discriminant; empty strings when the numbers get too large.
std::pair<std::string, std::string> quadratic_surds(const std::vector<Rational>& c) {
  const Rational& a = c[2];
  const Rational& b = c[1];
  const Rational disc = b * b - 4 * a * c[0];
  const bool imaginary = disc < 0;
  const Rational d = imaginary ? Rational(-disc) : disc;
  // sqrt(num/den) = sqrt(num*den)/den
  Integer s, f;
  if (!split_square(mp::numerator(d) * mp::denominator(d), s, f)) return {};
  const Rational p = -b / (2 * a);
  Rational q = Rational(s) / (Rational(mp::denominator(d)) * 2 * a);
  if (q < 0) q = -q;
  const std::string root = (f == 1 ? std::string() : "sqrt(" + f.str() + ")");
  std::string qs = q == 1 ? root : rational_text(q) + (root.empty() ? "" : "*" + root);
  if (imaginary) qs += qs.empty() ? "i" : "*i";
  if (qs.empty()) return {};
  if (p == 0) return {"-" + qs, qs};
  const std::string ps = rational_text(p);
  return {ps + " - " + qs, ps + " + " + qs};
}

// ±sqrt(u) for rational u: exact when u is a square, "sqrt(30)", "-3/2*sqrt(2)*i" otherwise.
std::vector<Root> square_roots(const Rational& u) {
  const bool imaginary = u < 0;
  const Rational a = imaginary ? Rational(-u) : u;
  const double m = std::sqrt(a.convert_to<double>());
  const Complex plus = imaginary ? Complex(0.0, m) : Complex(m, 0.0);
  const Integer rn = mp::sqrt(mp::numerator(a)), rd = mp::sqrt(mp::denominator(a));
  if (!imaginary && rn * rn == mp::numerator(a) && rd * rd == mp::denominator(a)) {
    const Rational r(rn, rd);
    return {Root{plus, calc::Value::exact(r), {}}, Root{-plus, calc::Value::exact(-r), {}}};
  }
  Integer s, f;
  if (!split_square(mp::numerator(a) * mp::denominator(a), s, f)) {
    return {Root{plus, std::nullopt, {}}, Root{-plus, std::nullopt, {}}};
  }
  const Rational q = Rational(s) / Rational(mp::denominator(a));
  std::string text = f == 1 ? std::string() : "sqrt(" + f.str() + ")";
  if (q != 1) text = rational_text(q) + (text.empty() ? "" : "*" + text);
  if (imaginary) text += text.empty() ? "i" : "*i";
  return {Root{plus, std::nullopt, text}, Root{-plus, std::nullopt, "-" + text}};
}

}  // namespace

std::vector<Root> polynomial_roots(std::vector<calc::Value> c) {
  while (!c.empty() && c.back().is_zero()) c.pop_back();
  std::vector<Root> roots;
  if (c.size() <= 1) return roots;
  if (c[0].is_zero()) {
    roots.push_back(Root{0.0, calc::Value::integer(0), {}});
    while (c.size() > 1 && c[0].is_zero()) c.erase(c.begin());
  }
  const bool all_exact =
      std::all_of(c.begin(), c.end(), [](const calc::Value& v) { return v.is_exact(); });
  bool even = c.size() >= 5;
  for (std::size_t k = 1; k < c.size(); k += 2) even = even && c[k].is_zero();
  std::vector<Complex> numeric;
  if (all_exact && even) {
    // x^4 = 900: roots u of the polynomial in u = x^2, then x = ±sqrt(u), exact where u is.
    std::vector<calc::Value> half;
    for (std::size_t k = 0; k < c.size(); k += 2) half.push_back(c[k]);
    for (const Root& u : polynomial_roots(std::move(half))) {
      if (u.exact) {
        for (Root& r : square_roots(u.exact->rational())) roots.push_back(std::move(r));
      } else {
        const Complex s = std::sqrt(u.value);
        roots.push_back(Root{s, std::nullopt, {}});
        roots.push_back(Root{-s, std::nullopt, {}});
      }
    }
  } else if (all_exact) {
    std::vector<Rational> q;
    for (const auto& v : c) q.push_back(v.rational());
    // Rational roots: candidates from the numeric roots, confirmed exactly, then deflated.
    bool found = true;
    while (found && q.size() > 1) {
      found = false;
      std::vector<Complex> a;
      for (const auto& v : q) a.emplace_back(v.convert_to<double>());
      for (const Complex& z : numeric_roots(a)) {
        // Multiple roots come out of the iteration only to about eps^(1/multiplicity).
        if (std::abs(z.imag()) > 1e-3 * std::max(1.0, std::abs(z))) continue;
        for (const Rational& r : rational_candidates(z.real(), 1'000'000)) {
          if (eval_exact(q, r) != 0) continue;
          roots.push_back(Root{r.convert_to<double>(), calc::Value::exact(r), {}});
          q = deflate(q, r);
          found = true;
          break;
        }
        if (found) break;
      }
    }
    std::vector<Complex> a;
    for (const auto& v : q) a.emplace_back(v.convert_to<double>());
    numeric = numeric_roots(a);
    if (q.size() == 3 && numeric.size() == 2) {
      auto [minus, plus] = quadratic_surds(q);
      if (!minus.empty()) {
        // numeric_roots' order is not tied to the sign: match by the real or imaginary part.
        const Rational disc = q[1] * q[1] - 4 * q[2] * q[0];
        const double center = (-q[1] / (2 * q[2])).convert_to<double>();
        for (const Complex& z : numeric) {
          const bool below = disc < 0 ? z.imag() < 0 : z.real() < center;
          const Complex v = disc < 0 ? Complex(center, z.imag()) : Complex(z.real(), 0.0);
          roots.push_back(Root{v, std::nullopt, below ? minus : plus});
        }
        numeric.clear();
      }
    }
  } else {
    std::vector<Complex> a;
    for (const auto& v : c) a.emplace_back(v.to_double());
    numeric = numeric_roots(a);
  }
  for (Complex z : numeric) {
    // Imaginary parts at rounding level are real roots.
    if (std::abs(z.imag()) <= 1e-9 * std::max(1.0, std::abs(z))) z = Complex(z.real(), 0.0);
    roots.push_back(Root{z, std::nullopt, {}});
  }
  // Distinct values only (a double root is one solution).
  std::vector<Root> distinct;
  for (const Root& r : roots) {
    const bool seen = std::any_of(distinct.begin(), distinct.end(), [&](const Root& d) {
      return std::abs(d.value - r.value) <= 1e-7 * std::max(1.0, std::abs(r.value));
    });
    if (!seen) distinct.push_back(r);
  }
  std::sort(distinct.begin(), distinct.end(), [](const Root& x, const Root& y) {
    if (x.is_real() != y.is_real()) return x.is_real();
    if (x.value.real() != y.value.real()) return x.value.real() < y.value.real();
    return x.value.imag() < y.value.imag();
  });
  return distinct;
}

}  // namespace agentrt::plugins::solver
