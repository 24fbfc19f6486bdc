#include "linear.h"

#include <algorithm>
#include <cmath>

namespace agentrt::plugins::solver {

LinearResult solve_linear(const std::vector<Poly>& equations,
                          const std::vector<std::size_t>& unknowns,
                          const std::vector<std::string>& names) {
  const std::size_t m = equations.size(), n = unknowns.size();
  const std::size_t n_vars = names.size();
  // (m, n + 1): coefficients, then the right-hand side.
  std::vector<std::vector<Value>> a(m, std::vector<Value>(n + 1, Value::integer(0)));
  bool exact = true;
  double scale = 0;
  for (std::size_t i = 0; i < m; ++i) {
    for (const auto& [mono, c] : equations[i].terms()) {
      std::size_t col = n;
      for (std::size_t j = 0; j < n; ++j) {
        if (mono[unknowns[j]] == 1) col = j;
      }
      a[i][col] = col == n ? calc::negate(c) : c;
      exact = exact && c.is_exact();
      scale = std::max(scale, magnitude(c));
    }
  }
  if (!exact) {
    for (auto& row : a) {
      for (auto& v : row) v = Value::approx(v.to_double());
    }
  }
  const double tiny = exact ? 0.0 : 1e-10 * std::max(1.0, scale);
  auto is_zero = [&](const Value& v) { return exact ? v.is_zero() : magnitude(v) <= tiny; };

  std::vector<std::size_t> pivot_col;  // pivot column of each pivot row
  std::size_t rank = 0;
  for (std::size_t col = 0; col < n && rank < m; ++col) {
    std::size_t best = m;
    for (std::size_t r = rank; r < m; ++r) {
      if (is_zero(a[r][col])) continue;
      if (best == m || (!exact && magnitude(a[r][col]) > magnitude(a[best][col]))) best = r;
      if (exact) break;
    }
    if (best == m) continue;
    std::swap(a[rank], a[best]);
    const Value inv = vdiv(Value::integer(1), a[rank][col]);
    for (auto& v : a[rank]) v = vmul(v, inv);
    for (std::size_t r = 0; r < m; ++r) {
      if (r == rank || a[r][col].is_zero()) continue;
      const Value f = a[r][col];
      for (std::size_t k = 0; k <= n; ++k) a[r][k] = vsub(a[r][k], vmul(f, a[rank][k]));
    }
    pivot_col.push_back(col);
    ++rank;
  }
  LinearResult result;
  for (std::size_t r = rank; r < m; ++r) {
    if (!is_zero(a[r][n])) {
      result.kind = LinearResult::Kind::kInconsistent;
      return result;
    }
  }
  if (rank == n) {
    result.values.assign(n, Value::integer(0));
    for (std::size_t r = 0; r < rank; ++r) result.values[pivot_col[r]] = a[r][n];
    return result;
  }
  result.kind = LinearResult::Kind::kUnderdetermined;
  std::vector<std::string> free;
  for (std::size_t j = 0; j < n; ++j) {
    if (std::find(pivot_col.begin(), pivot_col.end(), j) == pivot_col.end()) {
      free.push_back(names[unknowns[j]]);
    }
  }
  for (std::size_t r = 0; r < rank; ++r) {
    Poly p = Poly::constant(a[r][n], n_vars);
    for (std::size_t j = 0; j < n; ++j) {
      if (j == pivot_col[r] || is_zero(a[r][j])) continue;
      p = p - Poly::variable(unknowns[j], n_vars).scaled(a[r][j]);
    }
    result.pivots.emplace_back(unknowns[pivot_col[r]], p);
    if (!result.description.empty()) result.description += ", ";
    result.description += names[unknowns[pivot_col[r]]] + " = " + p.to_string(names);
  }
  std::string free_list;
  for (const auto& f : free) free_list += (free_list.empty() ? "" : ", ") + f;
  result.description += (result.description.empty() ? "" : " ") + std::string("(") + free_list +
                        (free.size() == 1 ? " free)" : " free)");
  return result;
}

}  // namespace agentrt::plugins::solver
