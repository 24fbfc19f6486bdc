#include "polynomial.h"

#include "agentrt/plugins/calculator.h"

#include <algorithm>
#include <cmath>

namespace agentrt::plugins::solver {
namespace {

constexpr std::size_t kMaxTerms = 4000;
constexpr int kMaxDegree = 64;

Value unwrap(calc::Result<Value> r) {
  if (!r) throw SolveFailure(r.error().message);
  return std::move(r).value();
}

}  // namespace

Value vadd(const Value& a, const Value& b) {
  return unwrap(calc::add(a, b, {}));
}
Value vsub(const Value& a, const Value& b) {
  return unwrap(calc::sub(a, b, {}));
}
Value vmul(const Value& a, const Value& b) {
  return unwrap(calc::mul(a, b, {}));
}
Value vdiv(const Value& a, const Value& b) {
  return unwrap(calc::div(a, b, {}));
}
double magnitude(const Value& v) {
  return std::abs(v.to_double());
}

Poly Poly::constant(const Value& c, std::size_t n_vars) {
  Poly p(n_vars);
  p.add_term(Monomial(n_vars, 0), c);
  return p;
}

Poly Poly::variable(std::size_t index, std::size_t n_vars) {
  Poly p(n_vars);
  Monomial m(n_vars, 0);
  m[index] = 1;
  p.add_term(m, Value::integer(1));
  return p;
}

bool Poly::is_constant() const {
  for (const auto& [m, c] : terms_) {
    if (std::any_of(m.begin(), m.end(), [](std::uint16_t e) { return e > 0; })) return false;
  }
  return true;
}

Value Poly::constant_term() const {
  const auto it = terms_.find(Monomial(n_vars_, 0));
  return it == terms_.end() ? Value::integer(0) : it->second;
}

int Poly::total_degree() const {
  int d = 0;
  for (const auto& [m, c] : terms_) {
    int s = 0;
    for (auto e : m) s += e;
    d = std::max(d, s);
  }
  return d;
}

int Poly::degree_in(std::size_t var) const {
  int d = 0;
  for (const auto& [m, c] : terms_) d = std::max<int>(d, m[var]);
  return d;
}

std::vector<std::size_t> Poly::variables() const {
  std::vector<std::size_t> vars;
  for (std::size_t i = 0; i < n_vars_; ++i) {
    if (uses(i)) vars.push_back(i);
  }
  return vars;
}

void Poly::add_term(const Monomial& m, const Value& c) {
  auto [it, inserted] = terms_.emplace(m, c);
  if (!inserted) it->second = vadd(it->second, c);
  if (it->second.is_zero()) terms_.erase(it);
}

void Poly::prune() {
  // Double coefficients that are rounding residue of a cancellation (1e-17 next to 1) are zero.
  double largest = 0;
  for (const auto& [m, c] : terms_) largest = std::max(largest, magnitude(c));
  for (auto it = terms_.begin(); it != terms_.end();) {
    const bool negligible = it->second.is_zero() ||
                            (!it->second.is_exact() && magnitude(it->second) <= 1e-13 * largest);
    it = negligible ? terms_.erase(it) : std::next(it);
  }
  if (terms_.size() > kMaxTerms) throw SolveFailure("the equations expand to too many terms");
}

Poly Poly::operator+(const Poly& o) const {
  Poly r = *this;
  for (const auto& [m, c] : o.terms_) r.add_term(m, c);
  r.prune();
  return r;
}

Poly Poly::operator-(const Poly& o) const {
  Poly r = *this;
  for (const auto& [m, c] : o.terms_) r.add_term(m, calc::negate(c));
  r.prune();
  return r;
}

Poly Poly::operator*(const Poly& o) const {
  if (terms_.size() * o.terms_.size() > kMaxTerms * 4) {
    throw SolveFailure("the equations expand to too many terms");
  }
  Poly r(n_vars_);
  for (const auto& [m1, c1] : terms_) {
    for (const auto& [m2, c2] : o.terms_) {
      Monomial m(n_vars_);
      for (std::size_t i = 0; i < n_vars_; ++i) {
        const int e = m1[i] + m2[i];
        if (e > kMaxDegree) throw SolveFailure("degree too high (more than 64)");
        m[i] = static_cast<std::uint16_t>(e);
      }
      r.add_term(m, vmul(c1, c2));
    }
  }
  r.prune();
  return r;
}

Poly Poly::scaled(const Value& c) const {
  Poly r(n_vars_);
  for (const auto& [m, v] : terms_) r.add_term(m, vmul(v, c));
  r.prune();
  return r;
}

Poly Poly::power(unsigned k) const {
  Poly r = constant(Value::integer(1), n_vars_);
  for (unsigned i = 0; i < k; ++i) r = r * *this;
  return r;
}

std::vector<Poly> Poly::coefficients_in(std::size_t var) const {
  std::vector<Poly> cs(static_cast<std::size_t>(degree_in(var)) + 1, Poly(n_vars_));
  for (const auto& [m, c] : terms_) {
    Monomial rest = m;
    rest[var] = 0;
    cs[m[var]].add_term(rest, c);
  }
  return cs;
}

Poly Poly::substitute(std::size_t var, const Poly& value) const {
  // Horner in x_var.
  const std::vector<Poly> cs = coefficients_in(var);
  Poly r(n_vars_);
  for (std::size_t k = cs.size(); k-- > 0;) r = r * value + cs[k];
  return r;
}

Poly Poly::normalised() const {
  const Value* largest = nullptr;
  for (const auto& [m, c] : terms_) {
    if (!largest || magnitude(c) > magnitude(*largest)) largest = &c;
  }
  if (!largest) return *this;
  return scaled(vdiv(Value::integer(1), *largest));
}

std::string Poly::to_string(const std::vector<std::string>& names) const {
  if (terms_.empty()) return "0";
  std::string out;
  for (auto it = terms_.rbegin(); it != terms_.rend(); ++it) {
    const auto& [m, c] = *it;
    const bool negative = calc::compare(c, Value::integer(0)) < 0;
    const Value a = negative ? calc::negate(c) : c;
    out += out.empty() ? (negative ? "-" : "") : (negative ? " - " : " + ");
    std::string factors;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (m[i] == 0) continue;
      if (!factors.empty()) factors += "*";
      factors += names[i];
      if (m[i] > 1) factors.append("^").append(std::to_string(m[i]));
    }
    const bool one = a.is_exact() && a.rational() == 1;
    const std::string coefficient =
        calc::to_fraction(a).empty() ? calc::to_text(a) : calc::to_fraction(a);
    if (factors.empty()) {
      out += coefficient;
    } else {
      out += one ? factors : coefficient + "*" + factors;
    }
  }
  return out;
}

namespace {

Fraction make(Poly num, Poly den) {
  // A constant denominator is folded into the numerator, so polynomials stay polynomials.
  if (den.is_constant())
    return {num.scaled(vdiv(Value::integer(1), den.constant_term())),
            Poly::constant(Value::integer(1), num.n_vars())};
  return {std::move(num), std::move(den)};
}

}  // namespace

std::optional<Fraction> to_fraction(const calc::Tree& tree, const std::vector<std::string>& names,
                                    const calc::Bindings& bindings) {
  using calc::NodeKind;
  const std::size_t n = names.size();
  std::vector<std::optional<Fraction>> f(tree.nodes.size());
  std::vector<std::optional<Value>> constant(tree.nodes.size());  // subtree value if constant
  const Poly one = Poly::constant(Value::integer(1), n);
  for (std::size_t i = 0; i <= tree.root; ++i) {
    const calc::Node& node = tree.nodes[i];
    // Constant subtrees are evaluated with the calculator (exact sqrt(16), cos(0), 2^10).
    bool all_constant = node.kind != NodeKind::kVariable;
    for (auto a : node.args) all_constant = all_constant && constant[a].has_value();
    if (node.kind == NodeKind::kVariable) {
      if (auto it = bindings.find(node.text); it != bindings.end()) {
        constant[i] = it->second;
        f[i] = Fraction{Poly::constant(it->second, n), one};
        continue;
      }
    }
    if (all_constant) {
      std::vector<Value> args;
      for (auto a : node.args) args.push_back(*constant[a]);
      const calc::Result<Value> v = calc::apply_node(node, args, {});
      if (!v) throw SolveFailure(calc::describe(v.error()));
      constant[i] = v.value();
      f[i] = Fraction{Poly::constant(v.value(), n), one};
      continue;
    }
    auto arg = [&](std::size_t k) -> const std::optional<Fraction>& { return f[node.args[k]]; };
    switch (node.kind) {
      case NodeKind::kVariable: {
        const auto idx = static_cast<std::size_t>(std::find(names.begin(), names.end(), node.text) -
                                                  names.begin());
        if (idx >= n) throw SolveFailure("unknown name '" + node.text + "'");
        f[i] = Fraction{Poly::variable(idx, n), one};
        break;
      }
      case NodeKind::kNegate:
        if (arg(0)) f[i] = Fraction{Poly(n) - arg(0)->num, arg(0)->den};
        break;
      case NodeKind::kAdd:
      case NodeKind::kSub:
        if (arg(0) && arg(1)) {
          const Fraction& a = *arg(0);
          const Fraction& b = *arg(1);
          const bool same_den = (a.den - b.den).is_zero();
          Poly num = node.kind == NodeKind::kAdd
                         ? (same_den ? a.num + b.num : a.num * b.den + b.num * a.den)
                         : (same_den ? a.num - b.num : a.num * b.den - b.num * a.den);
          f[i] = make(std::move(num), same_den ? a.den : a.den * b.den);
        }
        break;
      case NodeKind::kMul:
        if (arg(0) && arg(1)) f[i] = make(arg(0)->num * arg(1)->num, arg(0)->den * arg(1)->den);
        break;
      case NodeKind::kDiv:
        if (arg(0) && arg(1)) {
          if (arg(1)->num.is_zero()) throw SolveFailure("division by zero");
          f[i] = make(arg(0)->num * arg(1)->den, arg(0)->den * arg(1)->num);
        }
        break;
      case NodeKind::kPercent:
        if (arg(0)) f[i] = make(arg(0)->num, arg(0)->den.scaled(Value::integer(100)));
        break;
      case NodeKind::kPow: {
        // Only constant integer exponents keep a rational function.
        const auto& e = constant[node.args[1]];
        if (!arg(0) || !e || !e->is_integer()) break;
        const auto k = e->rational();
        if (k > kMaxDegree || k < -kMaxDegree) throw SolveFailure("degree too high (more than 64)");
        const int ki = static_cast<int>(k.convert_to<double>());
        const auto uk = static_cast<unsigned>(std::abs(ki));
        Poly num = arg(0)->num.power(uk), den = arg(0)->den.power(uk);
        f[i] =
            ki >= 0 ? make(std::move(num), std::move(den)) : make(std::move(den), std::move(num));
        break;
      }
      default:
        break;  // functions of unknowns, %, //, !: not rational functions
    }
  }
  return std::move(f[tree.root]);
}

}  // namespace agentrt::plugins::solver
