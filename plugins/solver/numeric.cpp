#include "numeric.h"

#include <algorithm>
#include <cmath>

namespace agentrt::plugins::solver {
namespace {

// Brent's method (Brent 1973, "Algorithms for Minimization without Derivatives", ch. 4):
// bisection safeguarding secant and inverse quadratic steps. Needs f(a), f(b) of opposite signs.
double brent(const std::function<double(double)>& f, double a, double b, double fa, double fb) {
  double c = a, fc = fa, d = b - a, e = d;
  for (int iter = 0; iter < 200; ++iter) {
    if ((fb > 0) == (fc > 0)) {
      c = a, fc = fa;
      d = e = b - a;
    }
    if (std::abs(fc) < std::abs(fb)) {
      a = b, b = c, c = a;
      fa = fb, fb = fc, fc = fa;
    }
    const double tol = 2 * 1e-16 * std::abs(b) + 1e-300;
    const double m = 0.5 * (c - b);
    if (std::abs(m) <= tol || fb == 0) return b;
    if (std::abs(e) >= tol && std::abs(fa) > std::abs(fb)) {
      double p, q;
      const double s = fb / fa;
      if (a == c) {
        p = 2 * m * s;
        q = 1 - s;
      } else {
        const double r = fb / fc, t = fa / fc;
        p = s * (2 * m * t * (t - r) - (b - a) * (r - 1));
        q = (t - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) {
        q = -q;
      } else {
        p = -p;
      }
      if (2 * p < std::min(3 * m * q - std::abs(tol * q), std::abs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = m, e = m;
      }
    } else {
      d = m, e = m;
    }
    a = b, fa = fb;
    b += std::abs(d) > tol ? d : (m > 0 ? tol : -tol);
    fb = f(b);
  }
  return b;
}

}  // namespace

ScanResult scan_roots(const std::function<double(double)>& f, std::size_t max_roots,
                      std::chrono::steady_clock::time_point deadline) {
  ScanResult result;
  result.range = 1e6;
  const double t_max = std::asinh(result.range);
  const int n = 40'000;
  std::vector<double> roots;
  double x_prev = std::sinh(-t_max), f_prev = f(x_prev);
  for (int i = 1; i <= n; ++i) {
    if ((i & 1023) == 0 && std::chrono::steady_clock::now() > deadline) break;
    const double x = std::sinh(-t_max + 2 * t_max * i / n);
    const double fx = f(x);
    if (std::isfinite(fx) && fx == 0.0) {
      roots.push_back(x);
    } else if (std::isfinite(fx) && std::isfinite(f_prev) && f_prev != 0.0 &&
               (fx > 0) != (f_prev > 0)) {
      const double r = brent(f, x_prev, x, f_prev, fx);
      const double fr = f(r);
      // A sign change across a pole (tan) converges to the pole, where |f| is large.
      if (std::isfinite(fr) &&
          std::abs(fr) <= 1e-6 * std::max(1.0, std::min(std::abs(f_prev), std::abs(fx)))) {
        roots.push_back(r);
      }
    }
    x_prev = x, f_prev = fx;
  }
  result.found = roots.size();
  std::sort(roots.begin(), roots.end(),
            [](double a, double b) { return std::abs(a) < std::abs(b); });
  if (roots.size() > max_roots) roots.resize(max_roots);
  std::sort(roots.begin(), roots.end());
  result.roots = std::move(roots);
  return result;
}

}  // namespace agentrt::plugins::solver
