// Real roots of a one-variable function: a bracketing scan over a wide range, then Brent.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

namespace agentrt::plugins::solver {

struct ScanResult {
  std::vector<double> roots;  // the roots nearest 0, increasing, at most max_roots
  std::size_t found = 0;      // all roots found in the scanned range
  double range = 0;           // scanned [-range, range]
};

// Finds sign changes of F on a grid dense near 0 and sparse far out (x = sinh(t), |x| <= 1e6),
// refines each with Brent's method and keeps those where |F| is small (not poles).
ScanResult scan_roots(const std::function<double(double)>& f, std::size_t max_roots,
                      std::chrono::steady_clock::time_point deadline);

}  // namespace agentrt::plugins::solver
