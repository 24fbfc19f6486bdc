#include "outcome.h"

#include <algorithm>
#include <cmath>

#include "agentrt/plugins/calculator/value.h"

namespace agentrt::plugins::solver {
namespace {

bool same(const Values& a, const Values& b) {
  for (const auto& [i, r] : a) {
    const auto it = b.find(i);
    if (it == b.end()) return false;
    if (std::abs(it->second.value - r.value) > 1e-9 * std::max(1.0, std::abs(r.value))) {
      return false;
    }
  }
  return a.size() == b.size();
}

bool is_plain_unknown(const std::string& text, const std::vector<std::string>& unknowns) {
  return std::find(unknowns.begin(), unknowns.end(), text) != unknowns.end();
}

}  // namespace

Number to_number(const Root& root) {
  Number n;
  n.re = root.value.real();
  n.im = root.value.imag();
  std::string approx;
  if (n.im == 0) {
    approx = calc::format_double(n.re);
  } else {
    if (n.re != 0) approx = calc::format_double(n.re) + (n.im < 0 ? " - " : " + ");
    if (n.re == 0 && n.im < 0) approx += "-";
    if (std::abs(n.im) != 1) approx += calc::format_double(std::abs(n.im));
    approx += "i";
  }
  if (root.exact) {
    n.exact = calc::to_fraction(*root.exact);
    n.text =
        root.exact->is_integer() ? n.exact : n.exact + " (≈ " + calc::to_text(*root.exact) + ")";
  } else if (!root.surd.empty()) {
    n.exact = root.surd;
    n.text = root.surd + " (≈ " + approx + ")";
  } else {
    n.text = approx;
  }
  return n;
}

Outcome describe_outcome(const System& system, const std::vector<Values>& found,
                         const std::string& inconsistent, const std::string& underdetermined,
                         const std::string& incomplete, bool no_root) {
  Outcome out;
  out.unknowns = system.unknowns;
  out.targets = system.target_texts;
  std::vector<Values> distinct;
  for (const Values& v : found) {
    if (std::none_of(distinct.begin(), distinct.end(),
                     [&](const Values& d) { return same(d, v); })) {
      distinct.push_back(v);
    }
  }
  std::vector<std::string> lines;
  for (const Values& v : distinct) {
    Solution s;
    std::string line;
    calc::Bindings bindings;
    bool real = true;
    for (const auto& [i, r] : v) {
      s.values.emplace_back(system.unknowns[i], to_number(r));
      line += (line.empty() ? "" : ", ") + system.unknowns[i] + " = " + s.values.back().second.text;
      real = real && r.is_real();
      bindings.emplace(system.unknowns[i],
                       r.exact ? *r.exact : calc::Value::approx(r.value.real()));
    }
    for (std::size_t k = 0; k < system.targets.size() && real; ++k) {
      auto t = calc::evaluate(system.targets[k], {}, &bindings);
      if (!t) continue;
      const calc::Value& tv = t.value();
      Root tr{std::complex<double>(tv.to_double(), 0.0), std::nullopt, {}};
      if (tv.is_exact()) tr.exact = tv;
      s.targets.push_back(to_number(tr));
      if (!is_plain_unknown(system.target_texts[k], system.unknowns)) {
        line += "; " + system.target_texts[k] + " = " + s.targets.back().text;
      }
    }
    out.solutions.push_back(std::move(s));
    lines.push_back(std::move(line));
  }
  if (!out.solutions.empty()) {
    out.status = Status::kSolved;
    if (lines.size() == 1) {
      out.text = lines[0];
    } else {
      out.text = std::to_string(lines.size()) + " solutions:";
      for (const auto& l : lines) out.text += "\n" + l;
    }
    if (!underdetermined.empty())
      out.note = "other cases are underdetermined (" + underdetermined + ")";
  } else if (!underdetermined.empty()) {
    out.status = Status::kUnderdetermined;
    out.text = "infinitely many solutions: the equations do not determine every unknown; " +
               underdetermined;
  } else {
    out.status = Status::kNoSolution;
    if (inconsistent == "*") {
      out.text = "no solution: the linear equations are inconsistent (they contradict each other)";
    } else if (!inconsistent.empty()) {
      out.text = "no solution: the equations are inconsistent ('" + inconsistent +
                 "' cannot hold together with the others)";
    } else if (no_root) {
      out.text = "no real solution found";
    } else {
      out.text = "no solution";
    }
  }
  for (const std::string& note : {system.note, incomplete, out.note}) {
    if (note.empty()) continue;
    out.text += "\n(" + note + ")";
  }
  if (out.note.empty()) out.note = incomplete;
  return out;
}

}  // namespace agentrt::plugins::solver
