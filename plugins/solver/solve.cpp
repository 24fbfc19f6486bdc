// The solving strategy: propagate what single equations determine, solve linear systems by
// elimination, branch on the roots of one-unknown equations, and eliminate unknowns that appear
// linearly in polynomial systems (x+y=11; xy=20). See agentrt/plugins/solver.h.
#include <algorithm>
#include <cmath>
#include <complex>
#include <map>

#include "agentrt/plugins/calculator.h"
#include "agentrt/plugins/solver.h"
#include "linear.h"
#include "numeric.h"
#include "outcome.h"
#include "roots.h"
#include "system.h"

namespace agentrt::plugins::solver {
namespace {

using Complex = std::complex<double>;

constexpr int kMaxBranches = 500;
constexpr std::size_t kMaxNumericRoots = 10;

struct Eq {
  std::optional<Poly> poly;  // lhs - rhs as one polynomial numerator, current values substituted
  const Equation* source;
  double scale = 1;  // largest coefficient when converted: the yardstick for "is zero"
};

struct Elimination {
  std::size_t var;
  Poly a, b;  // var = -b / a
};

Root root_of(const Value& v) {
  Root r{Complex(v.to_double(), 0.0), std::nullopt, {}};
  if (v.is_exact()) r.exact = v;
  return r;
}

Value value_of(const Root& r) {
  return r.exact ? *r.exact : Value::approx(r.value.real());
}

double largest_coefficient(const Poly& p) {
  double s = 0;
  for (const auto& [m, c] : p.terms()) s = std::max(s, magnitude(c));
  return std::max(s, 1e-300);
}

class Search {
 public:
  Search(const System& system, std::chrono::steady_clock::time_point deadline)
      : system_(system), names_(system.unknowns), deadline_(deadline) {}

  void run() {
    std::vector<Eq> eqs;
    for (const Equation& e : system_.equations) eqs.push_back(Eq{std::nullopt, &e, 1});
    explore(std::move(eqs), {}, {});
  }

  std::vector<Values> solutions;
  std::string inconsistent;     // the equation that failed, when a branch was inconsistent
  std::string underdetermined;  // description, when some branch had free unknowns
  std::string incomplete;       // roots that were not followed, roots beyond those reported
  bool no_root = false;

 private:
  calc::Bindings bindings_of(const Values& values) const {
    calc::Bindings b;
    for (const auto& [i, r] : values) {
      if (r.is_real()) b.emplace(names_[i], value_of(r));
    }
    return b;
  }

  bool negligible(const Value& c, double scale) const {
    return c.is_exact() ? c.is_zero() : magnitude(c) <= 1e-9 * std::max(1.0, scale);
  }

  // Converts an equation to one polynomial with the current values, when it is one.
  void convert(Eq& eq, const calc::Bindings& bindings) const {
    auto l = to_fraction(eq.source->lhs, names_, bindings);
    auto r = to_fraction(eq.source->rhs, names_, bindings);
    if (!l || !r) return;
    Poly num = l->num * r->den - r->num * l->den;
    eq.scale = std::max(largest_coefficient(l->num * r->den), largest_coefficient(r->num * l->den));
    eq.poly = std::move(num);
  }

  std::vector<std::size_t> tree_unknowns(const Eq& eq, const Values& values) const {
    std::vector<std::size_t> out;
    for (const calc::Tree* t : {&eq.source->lhs, &eq.source->rhs}) {
      for (const auto& n : calc::variables_of(*t)) {
        const auto i =
            static_cast<std::size_t>(std::find(names_.begin(), names_.end(), n) - names_.begin());
        if (!values.count(i) && std::find(out.begin(), out.end(), i) == out.end()) {
          out.push_back(i);
        }
      }
    }
    return out;
  }

  static void bind(std::vector<Eq>& eqs, std::size_t var, const Root& root) {
    for (Eq& e : eqs) {
      if (e.poly)
        e.poly = e.poly->substitute(var, Poly::constant(value_of(root), e.poly->n_vars()));
    }
  }

  // Evaluates p at VALUES: exactly when every value involved is exact, in complex doubles
  // otherwise.
  static Root evaluate(const Poly& p, const Values& values) {
    bool exact = true;
    for (const auto& [m, c] : p.terms()) {
      exact = exact && c.is_exact();
      for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i] > 0) exact = exact && values.at(i).exact.has_value();
      }
    }
    if (exact) {
      Value sum = Value::integer(0);
      for (const auto& [m, c] : p.terms()) {
        Value t = c;
        for (std::size_t i = 0; i < m.size(); ++i) {
          for (int k = 0; k < m[i]; ++k) t = vmul(t, *values.at(i).exact);
        }
        sum = vadd(sum, t);
      }
      return root_of(sum);
    }
    Complex sum = 0;
    for (const auto& [m, c] : p.terms()) {
      Complex t = c.to_double();
      for (std::size_t i = 0; i < m.size(); ++i) {
        for (int k = 0; k < m[i]; ++k) t *= values.at(i).value;
      }
      sum += t;
    }
    if (std::abs(sum.imag()) <= 1e-12 * std::max(1.0, std::abs(sum))) sum = sum.real();
    return Root{sum, std::nullopt, {}};
  }

  void finish(Values values, const std::vector<Elimination>& elims) {
    for (auto it = elims.rbegin(); it != elims.rend(); ++it) {
      bool known = true;
      for (const Poly* p : {&it->a, &it->b}) {
        for (auto v : p->variables()) known = known && values.count(v) > 0;
      }
      if (!known) continue;  // depends on a free unknown: reported as underdetermined below
      const Root a = evaluate(it->a, values);
      const Root b = evaluate(it->b, values);
      if (std::abs(a.value) == 0.0) return;  // the elimination divided by zero here
      if (a.exact && b.exact) {
        values[it->var] = root_of(calc::negate(vdiv(*b.exact, *a.exact)));
      } else {
        Complex v = -b.value / a.value;
        if (std::abs(v.imag()) <= 1e-12 * std::max(1.0, std::abs(v))) v = v.real();
        values[it->var] = Root{v, std::nullopt, {}};
      }
    }
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (!values.count(i)) {
        std::string free;
        for (std::size_t j = 0; j < names_.size(); ++j) {
          if (!values.count(j)) free += (free.empty() ? "" : ", ") + names_[j];
        }
        std::string known;
        for (const auto& [j, r] : values) {
          if (r.is_real()) {
            known += (known.empty() ? "" : ", ") + names_[j] + " = " + calc::to_text(value_of(r));
          }
        }
        underdetermined = "not determined: " + free + (known.empty() ? "" : "; " + known);
        return;
      }
    }
    // Check every real solution against the original equations (drops x/y with y = 0).
    const bool real = std::all_of(values.begin(), values.end(),
                                  [](const auto& kv) { return kv.second.is_real(); });
    if (real) {
      const calc::Bindings b = bindings_of(values);
      for (const Equation& e : system_.equations) {
        auto l = calc::evaluate(e.lhs, {}, &b);
        auto r = calc::evaluate(e.rhs, {}, &b);
        if (!l || !r) return;
        const double x = l.value().to_double(), y = r.value().to_double();
        if (std::abs(x - y) > 1e-6 * std::max({1.0, std::abs(x), std::abs(y)})) return;
      }
    }
    solutions.push_back(std::move(values));
  }

  void explore(std::vector<Eq> eqs, Values values, std::vector<Elimination> elims) {
    if (++branches_ > kMaxBranches) throw SolveFailure("too many cases to examine");
    if (std::chrono::steady_clock::now() > deadline_) throw SolveFailure("ran past its deadline");
    // 1. Propagate: drop satisfied equations, solve those linear in a single unknown.
    for (bool changed = true; changed;) {
      changed = false;
      const calc::Bindings bindings = bindings_of(values);
      for (std::size_t i = 0; i < eqs.size() && !changed; ++i) {
        Eq& eq = eqs[i];
        if (!eq.poly) convert(eq, bindings);
        if (!eq.poly) {
          if (!tree_unknowns(eq, values).empty()) continue;
          auto l = calc::evaluate(eq.source->lhs, {}, &bindings);
          auto r = calc::evaluate(eq.source->rhs, {}, &bindings);
          if (!l || !r) return;
          const double x = l.value().to_double(), y = r.value().to_double();
          if (std::abs(x - y) > 1e-9 * std::max({1.0, std::abs(x), std::abs(y)})) {
            inconsistent = eq.source->text;
            return;
          }
          eqs.erase(eqs.begin() + static_cast<long>(i));
          changed = true;
          continue;
        }
        const auto vars = eq.poly->variables();
        if (vars.empty()) {
          if (!negligible(eq.poly->constant_term(), eq.scale)) {
            inconsistent = eq.source->text;
            return;
          }
          eqs.erase(eqs.begin() + static_cast<long>(i));
          changed = true;
        } else if (vars.size() == 1 && eq.poly->degree_in(vars[0]) == 1) {
          const auto cs = eq.poly->coefficients_in(vars[0]);
          const Root root =
              root_of(calc::negate(vdiv(cs[0].constant_term(), cs[1].constant_term())));
          eqs.erase(eqs.begin() + static_cast<long>(i));
          bind(eqs, vars[0], root);
          values[vars[0]] = root;
          changed = true;
        }
      }
    }
    if (eqs.empty()) return finish(std::move(values), elims);

    // 2. A linear system in what is left.
    const bool all_poly = std::all_of(eqs.begin(), eqs.end(), [](const Eq& e) { return e.poly; });
    if (all_poly && std::all_of(eqs.begin(), eqs.end(),
                                [](const Eq& e) { return e.poly->total_degree() <= 1; })) {
      std::vector<Poly> polys;
      std::vector<std::size_t> unknowns;
      for (const Eq& e : eqs) {
        polys.push_back(*e.poly);
        for (auto v : e.poly->variables()) {
          if (std::find(unknowns.begin(), unknowns.end(), v) == unknowns.end()) {
            unknowns.push_back(v);
          }
        }
      }
      std::sort(unknowns.begin(), unknowns.end());
      const LinearResult lr = solve_linear(polys, unknowns, names_);
      if (lr.kind == LinearResult::Kind::kInconsistent) {
        inconsistent = "*";
        return;
      }
      if (lr.kind == LinearResult::Kind::kUnderdetermined) {
        std::string known;
        for (const auto& [j, r] : values) {
          if (r.is_real()) {
            known += ", " + names_[j] + " = " + calc::to_text(value_of(r));
          }
        }
        underdetermined = lr.description + known + determined_targets(lr, values, elims);
        return;
      }
      for (std::size_t k = 0; k < unknowns.size(); ++k) values[unknowns[k]] = root_of(lr.values[k]);
      return finish(std::move(values), elims);
    }

    // 3. Branch on the roots of an equation in one unknown (polynomials first, lowest degree).
    std::size_t pick = eqs.size();
    int pick_degree = 1 << 20;
    for (std::size_t i = 0; i < eqs.size(); ++i) {
      const Eq& e = eqs[i];
      const std::size_t n_unknowns =
          e.poly ? e.poly->variables().size() : tree_unknowns(e, values).size();
      if (n_unknowns != 1) continue;
      const int degree = e.poly ? e.poly->total_degree() : (1 << 19);
      if (degree < pick_degree) pick = i, pick_degree = degree;
    }
    if (pick < eqs.size()) {
      const Eq eq = eqs[pick];
      eqs.erase(eqs.begin() + static_cast<long>(pick));
      std::size_t var;
      std::vector<Root> roots;
      if (eq.poly) {
        var = eq.poly->variables()[0];
        std::vector<Value> cs;
        for (const Poly& c : eq.poly->coefficients_in(var)) cs.push_back(c.constant_term());
        roots = polynomial_roots(std::move(cs));
      } else {
        var = tree_unknowns(eq, values)[0];
        roots = numeric_roots_of(eq, var, values);
      }
      if (roots.empty()) no_root = true;
      for (const Root& root : roots) {
        if (!root.is_real()) {
          // A complex root is followed only when it completes a solution: no other unknown
          // left, and the remaining equations (all polynomial) hold there.
          bool others_free = false;
          for (std::size_t i = 0; i < names_.size(); ++i) {
            const bool eliminated = std::any_of(elims.begin(), elims.end(),
                                                [&](const Elimination& el) { return el.var == i; });
            if (i != var && !values.count(i) && !eliminated) others_free = true;
          }
          if (others_free || !all_poly) {
            incomplete = "complex roots of " + names_[var] + " were not followed";
            continue;
          }
          Values v = values;
          v[var] = root;
          bool holds = true;
          for (const Eq& e : eqs) {
            holds = holds && std::abs(evaluate(*e.poly, v).value) <= 1e-7 * e.scale;
          }
          if (holds) finish(std::move(v), elims);
          continue;
        }
        std::vector<Eq> rest = eqs;
        bind(rest, var, root);
        Values v = values;
        v[var] = root;
        explore(std::move(rest), std::move(v), elims);
      }
      return;
    }

    // 4. Eliminate an unknown that appears linearly: v = -b/a, substituted with denominators
    //    cleared (P(v) * a^deg).
    if (all_poly) {
      std::size_t best_eq = eqs.size(), best_var = 0;
      bool best_constant = false;
      for (std::size_t i = 0; i < eqs.size(); ++i) {
        for (auto v : eqs[i].poly->variables()) {
          if (eqs[i].poly->degree_in(v) != 1) continue;
          const bool constant = eqs[i].poly->coefficients_in(v)[1].is_constant();
          if (best_eq == eqs.size() || (constant && !best_constant)) {
            best_eq = i, best_var = v, best_constant = constant;
          }
        }
      }
      if (best_eq < eqs.size()) {
        const auto cs = eqs[best_eq].poly->coefficients_in(best_var);
        const Poly a = cs[1], b = cs[0];
        const Poly minus_b = Poly(a.n_vars()) - b;
        eqs.erase(eqs.begin() + static_cast<long>(best_eq));
        for (Eq& e : eqs) {
          const auto pc = e.poly->coefficients_in(best_var);
          const std::size_t d = pc.size() - 1;
          Poly sum(a.n_vars());
          for (std::size_t k = 0; k <= d; ++k) {
            sum = sum + pc[k] * minus_b.power(static_cast<unsigned>(k)) *
                            a.power(static_cast<unsigned>(d - k));
          }
          e.poly = std::move(sum);
          e.scale = std::max(e.scale, largest_coefficient(*e.poly));
        }
        elims.push_back(Elimination{best_var, a, b});
        return explore(std::move(eqs), std::move(values), std::move(elims));
      }
    }
    std::vector<std::size_t> open_unknowns;
    for (const Eq& e : eqs) {
      for (auto v : e.poly ? e.poly->variables() : tree_unknowns(e, values)) {
        if (std::find(open_unknowns.begin(), open_unknowns.end(), v) == open_unknowns.end()) {
          open_unknowns.push_back(v);
        }
      }
    }
    if (eqs.size() < open_unknowns.size()) {
      std::string list;
      for (auto v : open_unknowns) list += (list.empty() ? "" : ", ") + names_[v];
      underdetermined = std::to_string(eqs.size()) + " equation" + (eqs.size() == 1 ? "" : "s") +
                        " left for " + std::to_string(open_unknowns.size()) + " unknowns (" + list +
                        ")";
      return;
    }
    throw SolveFailure(
        all_poly ? "cannot solve this nonlinear system: no unknown appears linearly in any equation"
                 : "cannot solve this system: a non-polynomial equation has several unknowns");
  }

  // Asked-for expressions can be determined even when the unknowns are not (d - dA = 0).
  std::string determined_targets(const LinearResult& lr, const Values& values,
                                 const std::vector<Elimination>& elims) const {
    if (!elims.empty()) return "";
    std::string out;
    const calc::Bindings bindings = bindings_of(values);
    for (std::size_t k = 0; k < system_.targets.size(); ++k) {
      const auto f = to_fraction(system_.targets[k], names_, bindings);
      if (!f || !f->den.is_constant()) continue;
      Poly p = f->num;
      for (const auto& [var, expr] : lr.pivots) p = p.substitute(var, expr);
      if (!p.is_constant()) continue;
      out += "; " + system_.target_texts[k] + " = " + calc::to_text(p.constant_term()) +
             " in every solution";
    }
    return out;
  }

  std::vector<Root> numeric_roots_of(const Eq& eq, std::size_t var, const Values& values) {
    std::vector<std::string> vars = {names_[var]};
    std::vector<double> point = {0.0};
    for (const auto& [i, r] : values) {
      vars.push_back(names_[i]);
      point.push_back(r.value.real());
    }
    auto lhs = calc::Expression::compile(eq.source->lhs, vars);
    auto rhs = calc::Expression::compile(eq.source->rhs, vars);
    if (!lhs || !rhs) throw SolveFailure(calc::describe(lhs ? rhs.error() : lhs.error()));
    const calc::Expression& l = lhs.value();
    const calc::Expression& r = rhs.value();
    const ScanResult scan = scan_roots(
        [&](double x) {
          point[0] = x;
          return l.evaluate(point) - r.evaluate(point);
        },
        kMaxNumericRoots, deadline_);
    if (scan.found > scan.roots.size()) {
      incomplete = std::to_string(scan.found) + " roots found for " + names_[var] +
                   " in [-1e6, 1e6]; the " + std::to_string(scan.roots.size()) +
                   " nearest 0 are shown";
    } else {
      incomplete = "roots of " + names_[var] + " found numerically in [-1e6, 1e6]";
    }
    std::vector<Root> roots;
    for (double x : scan.roots) roots.push_back(Root{Complex(x, 0.0), std::nullopt, {}});
    return roots;
  }

  const System& system_;
  const std::vector<std::string>& names_;
  std::chrono::steady_clock::time_point deadline_;
  int branches_ = 0;
};

}  // namespace

calc::Result<Outcome> solve(std::string_view text, std::chrono::steady_clock::time_point deadline) {
  auto system = parse_system(text);
  if (!system) return system.error();
  try {
    Search search(system.value(), deadline);
    search.run();
    return describe_outcome(system.value(), search.solutions, search.inconsistent,
                            search.underdetermined, search.incomplete, search.no_root);
  } catch (const SolveFailure& e) {
    return calc::Error{e.what(), 0};
  }
}

}  // namespace agentrt::plugins::solver
