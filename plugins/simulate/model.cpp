// Compiling a sim::Problem: names checked, expressions bound to slots, the until condition parsed.
#include "model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string_view>

namespace agentrt::plugins::sim {
namespace {

constexpr std::size_t kMaxNames = 256;

bool is_identifier(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  const auto c0 = static_cast<unsigned char>(name[0]);
  if (!std::isalpha(c0) && c0 != '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || u == '_';
  });
}

std::string check_name(const std::string& name, std::string_view what) {
  if (!is_identifier(name)) {
    return std::string(what) + " name '" + name +
           "' is not a plain name (letters, digits and _, starting with a letter)";
  }
  if (name == "t") return "'t' is the time; choose another " + std::string(what) + " name";
  if (name == "pi" || name == "e") {
    return std::string(what) + " name '" + name + "' is a constant; choose another name";
  }
  if (calc::find_function(name) != nullptr) {
    return std::string(what) + " name '" + name + "' is a function; choose another name";
  }
  return {};
}

std::string known_list(std::span<const std::string> names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

calc::Result<calc::Expression> compile_in(const std::string& text,
                                          std::span<const std::string> names,
                                          const std::string& where) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return calc::Error{where + " is empty", 0};
  }
  auto e = calc::Expression::compile(text, names);
  if (!e) {
    return calc::Error{
        where + ": " + calc::describe(e.error()) + " (known names: " + known_list(names) + ")", 0};
  }
  return e;
}

bool is_word_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || u == '_' || u >= 0x80;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Splits TEXT at depth-0 occurrences of the word WORD (case-insensitive) or of SYMBOL.
std::vector<std::string> split_top(std::string_view text, std::string_view word,
                                   std::string_view symbol) {
  std::vector<std::string> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth != 0) continue;
    if (text.compare(i, symbol.size(), symbol) == 0) {
      parts.push_back(trim(text.substr(start, i - start)));
      i += symbol.size() - 1;
      start = i + 1;
      continue;
    }
    if (i + word.size() > text.size() || (i > 0 && is_word_char(text[i - 1]))) continue;
    bool match = true;
    for (std::size_t k = 0; k < word.size() && match; ++k) {
      match = std::tolower(static_cast<unsigned char>(text[i + k])) == word[k];
    }
    if (!match || (i + word.size() < text.size() && is_word_char(text[i + word.size()]))) {
      continue;
    }
    parts.push_back(trim(text.substr(start, i - start)));
    i += word.size() - 1;
    start = i + 1;
  }
  parts.push_back(trim(text.substr(start)));
  return parts;
}

struct OpAt {
  std::size_t pos = 0;
  std::size_t len = 0;
  Cmp op = Cmp::kLess;
};

// Comparison operators at depth 0, left to right. Returns an error text for = and !=.
std::string find_ops(std::string_view s, std::vector<OpAt>& ops) {
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth != 0) continue;
    const char n = i + 1 < s.size() ? s[i + 1] : '\0';
    if (c == '<' || c == '>') {
      const bool eq = n == '=';
      ops.push_back(
          {i, eq ? 2u : 1u,
           c == '<' ? (eq ? Cmp::kLessEq : Cmp::kLess) : (eq ? Cmp::kGreaterEq : Cmp::kGreater)});
      if (eq) ++i;
    } else if (c == '=' || (c == '!' && n == '=')) {
      const std::string_view op = c == '!' ? "!=" : (n == '=' ? "==" : "=");
      std::string message = "'";
      message.append(op);
      return message +
             "' cannot stop a simulation: a continuous solution passes any exact value between "
             "two steps; use < or > (the event is located at the crossing)";
    } else if (s.compare(i, 3, "\u2264") == 0 || s.compare(i, 3, "\u2265") == 0) {
      ops.push_back({i, 3u, s.compare(i, 3, "\u2264") == 0 ? Cmp::kLessEq : Cmp::kGreaterEq});
      i += 2;
    }
  }
  return {};
}

}  // namespace

bool Condition::atom_holds(std::size_t i, std::span<const double> slots) const {
  const Comparison& c = atoms[i];
  const double a = c.lhs.evaluate(slots);
  const double b = c.rhs.evaluate(slots);
  switch (c.op) {
    case Cmp::kLess:
      return a < b;
    case Cmp::kLessEq:
      return a <= b;
    case Cmp::kGreater:
      return a > b;
    case Cmp::kGreaterEq:
      return a >= b;
  }
  return false;
}

void Condition::truths(std::span<const double> slots, std::vector<char>& out) const {
  out.resize(atoms.size());
  for (std::size_t i = 0; i < atoms.size(); ++i) out[i] = atom_holds(i, slots);
}

bool Condition::holds(const std::vector<char>& truths) const {
  return std::any_of(any_of.begin(), any_of.end(), [&](const std::vector<std::size_t>& all) {
    return std::all_of(all.begin(), all.end(), [&](std::size_t i) { return truths[i] != 0; });
  });
}

bool Condition::holds(std::span<const double> slots) const {
  std::vector<char> t;
  truths(slots, t);
  return holds(t);
}

calc::Result<Condition> parse_condition(const std::string& text,
                                        std::span<const std::string> names) {
  Condition cond;
  cond.text = trim(text);
  if (cond.text.size() > 10'000) return calc::Error{"until: the condition is too long", 0};
  for (const std::string& disjunct : split_top(cond.text, "or", "||")) {
    std::vector<std::size_t> all;
    for (const std::string& atom : split_top(disjunct, "and", "&&")) {
      if (atom.empty()) {
        return calc::Error{"until '" + cond.text + "': empty comparison around and/or", 0};
      }
      std::vector<OpAt> ops;
      if (auto bad = find_ops(atom, ops); !bad.empty()) {
        return calc::Error{"until '" + cond.text + "': " + bad, 0};
      }
      if (ops.empty()) {
        return calc::Error{"until '" + cond.text + "': '" + atom +
                               "' is not a comparison (use <, <=, > or >=, e.g. y < 0)",
                           0};
      }
      std::vector<calc::Expression> sides;
      std::size_t from = 0;
      for (std::size_t k = 0; k <= ops.size(); ++k) {
        const std::size_t to = k < ops.size() ? ops[k].pos : atom.size();
        const std::string side = trim(std::string_view(atom).substr(from, to - from));
        const std::string where = "until '" + cond.text + "', side '" + side + "'";
        if (side.empty()) {
          return calc::Error{
              "until '" + cond.text + "': a comparison in '" + atom + "' is missing a side", 0};
        }
        auto e = compile_in(side, names, where);
        if (!e) return e.error();
        sides.push_back(std::move(e).value());
        if (k < ops.size()) from = ops[k].pos + ops[k].len;
      }
      for (std::size_t k = 0; k < ops.size(); ++k) {
        all.push_back(cond.atoms.size());
        cond.atoms.push_back(Comparison{sides[k], sides[k + 1], ops[k].op});
      }
    }
    cond.any_of.push_back(std::move(all));
  }
  return cond;
}

std::vector<double> Model::make_slots() const {
  std::vector<double> slots(slot_names.size(), 0.0);
  std::copy(parameters.begin(), parameters.end(), slots.begin() + 1 + n_state);
  return slots;
}

void Model::fill(double t, std::span<const double> state, std::span<double> slots) const {
  slots[0] = t;
  std::copy(state.begin(), state.end(), slots.begin() + 1);
  for (std::size_t j = 0; j < n_obs; ++j) slots[obs_slot(j)] = observables[j].evaluate(slots);
}

calc::Result<Model> compile_model(const Problem& p) {
  Model m;
  if (p.equations.empty()) return calc::Error{"the system has no equations", 0};
  if (p.equations.size() + p.parameters.size() + p.observables.size() > kMaxNames) {
    return calc::Error{"too many names: at most " + std::to_string(kMaxNames) +
                           " equations, parameters and observables together",
                       0};
  }
  if (!std::isfinite(p.t0)) return calc::Error{"t0 must be a finite number", 0};
  if (std::isnan(p.t_end) || p.t_end <= p.t0) {
    return calc::Error{"t_end must be greater than t0 (the simulation runs forward in time)", 0};
  }
  if (std::isinf(p.t_end) && trim(p.until).empty()) {
    return calc::Error{"give t_end or duration, or an until condition that stops the run", 0};
  }
  m.t0 = p.t0;
  m.t_end = p.t_end;

  m.slot_names.emplace_back("t");
  auto declare = [&m](const std::string& name, std::string_view what) -> std::string {
    if (auto bad = check_name(name, what); !bad.empty()) return bad;
    if (std::find(m.slot_names.begin(), m.slot_names.end(), name) != m.slot_names.end()) {
      return "'" + name + "' is declared twice (names of variables, parameters and observables " +
             "must differ)";
    }
    m.slot_names.push_back(name);
    return {};
  };
  for (const auto& [name, rhs] : p.equations) {
    if (auto bad = declare(name, "variable"); !bad.empty()) return calc::Error{bad, 0};
  }
  m.n_state = p.equations.size();
  for (const auto& [name, value] : p.parameters) {
    if (auto bad = declare(name, "parameter"); !bad.empty()) return calc::Error{bad, 0};
    if (!std::isfinite(value)) return calc::Error{"parameter '" + name + "' is not finite", 0};
    m.parameters.push_back(value);
  }
  m.n_param = p.parameters.size();
  for (const auto& o : p.observables) {
    if (auto bad = declare(o.name, "observable"); !bad.empty()) return calc::Error{bad, 0};
  }
  m.n_obs = p.observables.size();

  m.x0.assign(m.n_state, 0.0);
  for (std::size_t i = 0; i < m.n_state; ++i) {
    const std::string& name = p.equations[i].first;
    const auto it = std::find_if(p.initial.begin(), p.initial.end(),
                                 [&](const auto& kv) { return kv.first == name; });
    if (it == p.initial.end()) return calc::Error{"no initial value for '" + name + "'", 0};
    if (!std::isfinite(it->second)) {
      return calc::Error{"the initial value of '" + name + "' is not finite", 0};
    }
    m.x0[i] = it->second;
  }
  for (const auto& [name, value] : p.initial) {
    const auto it = std::find_if(p.equations.begin(), p.equations.end(),
                                 [&](const auto& kv) { return kv.first == name; });
    if (it == p.equations.end()) {
      return calc::Error{"initial value for '" + name + "', which has no equation", 0};
    }
  }

  const std::span<const std::string> all(m.slot_names);
  const auto base = all.first(1 + m.n_state + m.n_param);
  for (const auto& [name, rhs] : p.equations) {
    auto e = compile_in(rhs, base, "equation for '" + name + "'");
    if (!e) return e.error();
    m.rhs.push_back(std::move(e).value());
  }
  for (std::size_t i = 0; i < m.n_state; ++i) m.rates.emplace_back(m.rhs[i]);
  for (const auto& o : p.observables) {
    auto e = compile_in(o.expression, base, "observable '" + o.name + "'");
    if (!e) return e.error();
    m.observables.push_back(std::move(e).value());
    if (o.rate.empty()) {
      m.rates.emplace_back(std::nullopt);
      continue;
    }
    auto r = compile_in(o.rate, all, "rate of observable '" + o.name + "'");
    if (!r) return r.error();
    m.rates.emplace_back(std::move(r).value());
  }
  if (!trim(p.until).empty()) {
    auto c = parse_condition(p.until, all);
    if (!c) return c.error();
    m.until = std::move(c).value();
  }
  return m;
}

}  // namespace agentrt::plugins::sim
