// Measurement on MOSS's real Solve() calls (../shared/data/moss/solve.jsonl): where MOSS found
// solutions, ours must be the same set (relative 1e-6: MOSS prints 15 digits). Where MOSS found
// none, what we answered is printed; plugins/solver/README.md judges each disagreement.
#include <cmath>
#include <complex>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agentrt/plugins/calculator.h"
#include "agentrt/plugins/calculator/value.h"
#include "agentrt/plugins/solver.h"
#include "test_support.h"

namespace agentrt::plugins::solver {
namespace {

using Complex = std::complex<double>;
using Assignment = std::map<std::string, Complex>;

// A sympy value such as "-sqrt(30)*I", "-1 - sqrt(3)*I", "9/2", "86.0869565217391".
bool sympy_value(const std::string& text, Complex& out) {
  calc::ParseOptions options;
  options.allow_variables = true;
  auto tree = calc::parse(text, options);
  if (!tree) return false;
  calc::Bindings zero{{"I", calc::Value::integer(0)}}, one{{"I", calc::Value::integer(1)}};
  auto re = calc::evaluate(tree.value(), {}, &zero);
  auto re_im = calc::evaluate(tree.value(), {}, &one);
  if (!re || !re_im) return false;
  out = Complex(re.value().to_double(), re_im.value().to_double() - re.value().to_double());
  return true;
}

// MOSS's result: "x = 23\ny = 9" is one solution; "x_0 = ...\nx_1 = ..." lists roots of x.
std::vector<Assignment> moss_solutions(const std::string& result) {
  std::vector<Assignment> out;
  if (result.find('=') == std::string::npos) return out;
  std::istringstream lines(result);
  std::string line;
  const std::regex indexed(R"(^(.+)_(\d+)$)");
  Assignment single;
  while (std::getline(lines, line)) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    std::string name = line.substr(0, eq);
    Complex v;
    if (!sympy_value(line.substr(eq + 3), v)) return {};
    std::smatch m;
    if (std::regex_match(name, m, indexed)) {
      out.push_back(Assignment{{m[1].str(), v}});
    } else {
      single[name] = v;
    }
  }
  if (!single.empty()) out.push_back(single);
  return out;
}

std::vector<Assignment> our_solutions(const Outcome& o) {
  std::vector<Assignment> out;
  for (const Solution& s : o.solutions) {
    Assignment a;
    for (const auto& [name, n] : s.values) a[name] = Complex(n.re, n.im);
    out.push_back(a);
  }
  return out;
}

bool close(Complex a, Complex b) {
  return std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b));
}

bool covers(const std::vector<Assignment>& xs, const std::vector<Assignment>& ys) {
  for (const Assignment& y : ys) {
    bool found = false;
    for (const Assignment& x : xs) {
      bool all = true;
      for (const auto& [name, v] : y) {
        const auto it = x.find(name);
        all = all && it != x.end() && close(it->second, v);
      }
      found = found || all;
    }
    if (!found) return false;
  }
  return true;
}

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n') c = '|';
  }
  return s;
}

TEST(MossSolve, MatchRate) {
  AGENTRT_REQUIRE_SHARED("moss/solve.jsonl");
  std::ifstream in(test::shared_data() / "moss/solve.jsonl");
  std::string line;
  int records = 0, moss_found = 0, matched = 0, moss_none = 0, we_solved = 0, we_under = 0,
      we_none = 0, we_error = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line);
    const std::string arg = record.at("argument").get<std::string>();
    const std::string result = record.at("result").get<std::string>();
    ++records;
    auto ours = solve(arg);
    const std::string ours_text =
        ours.ok() ? one_line(ours.value().text) : "error: " + calc::describe(ours.error());
    const auto expected = moss_solutions(result);
    if (!expected.empty()) {
      ++moss_found;
      const auto got = ours.ok() ? our_solutions(ours.value()) : std::vector<Assignment>{};
      if (ours.ok() && got.size() == expected.size() && covers(got, expected) &&
          covers(expected, got)) {
        ++matched;
      } else {
        std::printf("  DIFFERENT %-34s MOSS %s | ours %s\n", arg.c_str(), one_line(result).c_str(),
                    ours_text.c_str());
      }
      continue;
    }
    ++moss_none;
    if (!ours.ok()) {
      ++we_error;
    } else if (ours.value().status == Status::kSolved) {
      ++we_solved;
    } else if (ours.value().status == Status::kUnderdetermined) {
      ++we_under;
    } else {
      ++we_none;
    }
    std::printf("  MOSS none %-34.34s ours %.110s\n", arg.c_str(), ours_text.c_str());
  }
  std::printf(
      "MOSS solve: %d records; MOSS found solutions in %d, ours equal as sets in %d (%.1f%%); MOSS "
      "found none in %d: we solved %d, reported underdetermined %d, no solution %d, refused %d\n",
      records, moss_found, matched, 100.0 * matched / std::max(1, moss_found), moss_none, we_solved,
      we_under, we_none, we_error);
  EXPECT_GT(records, 80);
  EXPECT_EQ(matched, moss_found);
}

}  // namespace
}  // namespace agentrt::plugins::solver
