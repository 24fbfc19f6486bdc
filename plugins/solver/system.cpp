#include "system.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace agentrt::plugins::solver {
namespace {

constexpr std::size_t kMaxLength = 10'000;
constexpr std::size_t kMaxEquations = 200;

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// Splits on ';' anywhere and ',' outside brackets (function arguments keep their commas).
std::vector<std::string> split_parts(std::string_view text) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (c == ';' || (c == ',' && depth <= 0)) {
      parts.push_back(trim(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  parts.push_back(trim(cur));
  return parts;
}

struct RawPart {
  std::vector<std::string> sides;  // 2+ sides of an equation chain, or 1 for a bare expression
  std::string text;
  bool asked = false;  // "expr = ?"
};

bool used_as_constant_e(const calc::Tree& t) {
  // e counts as Euler's number only as the base of a power (e^x).
  for (std::size_t i = 0; i < t.nodes.size(); ++i) {
    const calc::Node& n = t.nodes[i];
    if (n.kind != calc::NodeKind::kConstant || n.constant != calc::Constant::kE) continue;
    bool is_base = false;
    for (const calc::Node& p : t.nodes) {
      if (p.kind == calc::NodeKind::kPow && p.args[0] == i) is_base = true;
    }
    if (!is_base) return false;
  }
  return true;
}

}  // namespace

calc::Result<System> parse_system(std::string_view input) {
  if (input.size() > kMaxLength) {
    return calc::Error{"system too long (more than " + std::to_string(kMaxLength) + " bytes)", 0};
  }
  std::string text(input);
  // Separators and '=' as typed on a Chinese keyboard; the rest is normalised by the lexer.
  for (const auto& [from, to] : {std::pair<std::string_view, char>{"；", ';'},
                                 {"，", ','},
                                 {"＝", '='},
                                 {"？", '?'},
                                 {"｛", '{'},
                                 {"｝", '}'}}) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
      text.replace(at, from.size(), 1, to);
    }
  }
  text = trim(text);
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
    text = trim(std::string_view(text).substr(1, text.size() - 2));
  }
  std::vector<RawPart> raw;
  for (std::string& part : split_parts(text)) {
    if (part.empty()) continue;
    if (part.find_first_of("<>") != std::string::npos || part.find("!=") != std::string::npos) {
      return calc::Error{"inequalities are not supported: '" + part + "'", 0};
    }
    RawPart p;
    p.text = part;
    std::string side;
    for (std::size_t i = 0; i < part.size(); ++i) {
      if (part[i] == '=') {
        if (i + 1 < part.size() && part[i + 1] == '=') ++i;  // "==" reads as "="
        p.sides.push_back(trim(side));
        side.clear();
      } else {
        side += part[i];
      }
    }
    p.sides.push_back(trim(side));
    if (p.sides.size() == 2 && p.sides[1] == "?") {
      p.sides.pop_back();
      p.asked = true;
    }
    for (const std::string& s : p.sides) {
      if (s.empty()) return calc::Error{"an equation side is empty in '" + part + "'", 0};
    }
    raw.push_back(std::move(p));
  }
  if (raw.empty()) return calc::Error{"no equation given", 0};
  if (raw.size() > kMaxEquations) return calc::Error{"too many equations (more than 200)", 0};

  // Pass 1 finds the names in use; pass 2 parses with `xy` split and `e` decided.
  calc::ParseOptions options;
  options.allow_variables = true;
  options.max_length = kMaxLength;
  std::vector<std::string> names;
  bool e_is_constant = true;
  for (int pass = 0; pass < 2; ++pass) {
    System system;
    for (const RawPart& p : raw) {
      std::vector<calc::Tree> trees;
      for (const std::string& s : p.sides) {
        auto tree = calc::parse(s, options);
        if (!tree) {
          calc::Error e = tree.error();
          e.message += " in '" + s + "'";
          return e;
        }
        if (pass == 0) {
          for (auto& n : calc::variables_of(tree.value())) {
            if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
          }
          e_is_constant = e_is_constant && used_as_constant_e(tree.value());
        }
        trees.push_back(std::move(tree).value());
      }
      if (trees.size() == 1) {
        system.targets.push_back(std::move(trees[0]));
        system.target_texts.push_back(p.sides[0]);
        continue;
      }
      for (std::size_t k = 0; k + 1 < trees.size(); ++k) {
        system.equations.push_back(Equation{trees[k], trees[k + 1], p.text});
      }
    }
    if (pass == 0) {
      if (!e_is_constant) options.variable_overrides.push_back("e");
      for (const std::string& n : names) {
        const bool letters_are_unknowns =
            n.size() >= 2 && std::all_of(n.begin(), n.end(), [&](char c) {
              return std::isalpha(static_cast<unsigned char>(c)) &&
                     std::find(names.begin(), names.end(), std::string(1, c)) != names.end();
            });
        if (letters_are_unknowns) options.split_names.push_back(n);
      }
      continue;
    }
    for (const Equation& eq : system.equations) {
      for (const calc::Tree* t : {&eq.lhs, &eq.rhs}) {
        for (auto& n : calc::variables_of(*t)) {
          if (std::find(system.unknowns.begin(), system.unknowns.end(), n) ==
              system.unknowns.end()) {
            system.unknowns.push_back(n);
          }
        }
      }
    }
    if (system.equations.empty()) {
      // A lone expression: solve expression = 0, as sympy's solve() does.
      if (system.targets.size() == 1 && !calc::variables_of(system.targets[0]).empty()) {
        calc::Tree zero = calc::parse("0").value();
        system.note = "solving " + system.target_texts[0] + " = 0";
        system.equations.push_back(
            Equation{system.targets[0], std::move(zero), system.target_texts[0] + " = 0"});
        system.unknowns = calc::variables_of(system.targets[0]);
        system.targets.clear();
        system.target_texts.clear();
      } else {
        return calc::Error{"no equation to solve (write one with '=')", 0};
      }
    }
    for (std::size_t k = 0; k < system.targets.size(); ++k) {
      for (auto& n : calc::variables_of(system.targets[k])) {
        if (std::find(system.unknowns.begin(), system.unknowns.end(), n) == system.unknowns.end()) {
          return calc::Error{
              system.target_texts[k] == n
                  ? "'" + n + "' is asked for but no equation mentions it"
                  : "'" + system.target_texts[k] + "' uses '" + n + "', which no equation mentions",
              0};
        }
      }
    }
    return system;
  }
  return calc::Error{"unreachable", 0};
}

}  // namespace agentrt::plugins::solver
