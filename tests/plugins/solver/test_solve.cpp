// Tables of systems and the answers expected, hostile systems, and the tool interface.
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>

#include <gtest/gtest.h>

#include "agentrt/plugins/calculator.h"
#include "agentrt/plugins/solver.h"

namespace agentrt::plugins::solver {
namespace {

struct TextCase {
  const char* system;
  const char* text;
};

class SolvesTo : public ::testing::TestWithParam<TextCase> {};

TEST_P(SolvesTo, Text) {
  const TextCase& c = GetParam();
  auto r = solve(c.system);
  ASSERT_TRUE(r.ok()) << c.system << ": " << calc::describe(r.error());
  EXPECT_EQ(r.value().text, c.text) << c.system;
}

INSTANTIATE_TEST_SUITE_P(
    Systems, SolvesTo,
    ::testing::Values(
        TextCase{"x+y=32;x-y=14", "x = 23, y = 9"},
        TextCase{"x + y = 3, 2x + 4y = 4", "x = 4, y = -1"},
        TextCase{"ｘ＋ｙ＝３２；ｘ－ｙ＝１４", "x = 23, y = 9"},
        TextCase{"x+y=10;x-z=3;y-z=4", "x = 9/2 (≈ 4.5), y = 11/2 (≈ 5.5), z = 3/2 (≈ 1.5)"},
        TextCase{"3x+7=24", "x = 17/3 (≈ 5.666666666666667)"},
        TextCase{"2t + 6t + t = 1, t", "t = 1/9 (≈ 0.1111111111111111)"},
        TextCase{"0.1x + 0.2y = 0.3; x - y = 0", "x = 1, y = 1"},
        TextCase{"x+14=(37-x)*0.25", "x = -19/5 (≈ -3.8)"}, TextCase{"3/4x = 6", "x = 8"},
        TextCase{"x/2 + x/3 = 5", "x = 6"}, TextCase{"x^2=144", "2 solutions:\nx = -12\nx = 12"},
        TextCase{"(x-1)^3=0", "x = 1"},
        TextCase{"x^2-2x+5=0", "2 solutions:\nx = 1 - 2*i (≈ 1 - 2i)\nx = 1 + 2*i (≈ 1 + 2i)"},
        TextCase{"3x*4x=180",
                 "2 solutions:\nx = -sqrt(15) (≈ -3.8729833462074166)\nx = sqrt(15) (≈ "
                 "3.872983346207417)"},
        TextCase{"900 / x^2 - x^2 = 0",
                 "4 solutions:\nx = -sqrt(30) (≈ -5.477225575051661)\nx = sqrt(30) (≈ "
                 "5.477225575051661)\nx = -sqrt(30)*i (≈ -5.477225575051661i)\nx = sqrt(30)*i (≈ "
                 "5.477225575051661i)"},
        TextCase{"x^4 - 5x^2 + 4 = 0", "4 solutions:\nx = -2\nx = -1\nx = 1\nx = 2"},
        TextCase{"x+y=7;xy=12", "2 solutions:\nx = 4, y = 3\nx = 3, y = 4"},
        TextCase{"4x=72;x", "x = 18"}, TextCase{"x+y=32;x-y=14;x^2", "x = 23, y = 9; x^2 = 529"},
        TextCase{"x+y=32;x-y=14;x*y=?", "x = 23, y = 9; x*y = 207"},
        TextCase{"a+b+c+d+e=15;a=1;b=2;c=3;d=4", "a = 1, b = 2, c = 3, d = 4, e = 5"},
        TextCase{"e^x=1", "x = 0\n(roots of x found numerically in [-1e6, 1e6])"},
        TextCase{"6*pi=2*pi*r", "r = 3"},
        TextCase{"x+y=1;x+y=2",
                 "no solution: the linear equations are inconsistent (they contradict each "
                 "other)"},
        TextCase{"d = rA * 15; rA = dA / 15; d - (dA)",
                 "infinitely many solutions: the equations do not determine every unknown; d = "
                 "dA, rA = 1/15*dA (dA free); d - (dA) = 0 in every solution"},
        TextCase{"x = x + 1",
                 "no solution: the equations are inconsistent ('x = x + 1' cannot hold together "
                 "with the others)"},
        TextCase{"4x + 10 = y;6x = z",
                 "infinitely many solutions: the equations do not determine every unknown; x = "
                 "1/6*z, y = 2/3*z + 10 (z free)"},
        TextCase{"3x+280", "x = -280/3 (≈ -93.33333333333333)\n(solving 3x+280 = 0)"}));

TEST(Solve, CompleteRootSetOfQuintic) {
  auto r = solve("x^5 - x - 1 = 0");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.value().solutions.size(), 5u);
  int real = 0;
  for (const auto& s : r.value().solutions) {
    const Number& n = s.values[0].second;
    // |p(z)| small at every root
    const std::complex<double> z(n.re, n.im);
    EXPECT_LT(std::abs(std::pow(z, 5) - z - 1.0), 1e-9);
    real += n.im == 0;
  }
  EXPECT_EQ(real, 1);
  EXPECT_NEAR(r.value().solutions[0].values[0].second.re, 1.1673039782614187, 1e-12);
}

TEST(Solve, LargeExactLinearSystem) {
  // The 8x8 Hilbert matrix (condition number ~1e10) with solution x_j = j, solved exactly.
  std::string system;
  for (int i = 1; i <= 8; ++i) {
    std::string lhs, rhs;
    for (int j = 1; j <= 8; ++j) {
      const std::string c = "1/" + std::to_string(i + j - 1);
      lhs += (j > 1 ? "+" : "") + c + "*x" + std::to_string(j);
      rhs += (j > 1 ? "+" : "") + c + "*" + std::to_string(j);
    }
    system += lhs + "=" + rhs + ";";
  }
  auto r = solve(system);
  ASSERT_TRUE(r.ok()) << calc::describe(r.error());
  ASSERT_EQ(r.value().solutions.size(), 1u) << r.value().text;
  for (const auto& [name, n] : r.value().solutions[0].values) {
    EXPECT_EQ(n.exact, name.substr(1)) << name;
  }
}

TEST(Solve, NonlinearOneUnknown) {
  auto r = solve("cos(x) = x");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.value().solutions.size(), 1u);
  EXPECT_NEAR(r.value().solutions[0].values[0].second.re, 0.7390851332151607, 1e-13);
  auto l = solve("5*ln(x+1)+3.5=0");
  ASSERT_TRUE(l.ok());
  EXPECT_NEAR(l.value().solutions[0].values[0].second.re, std::exp(-0.7) - 1, 1e-13);
  auto t = solve("tan(x) = 1");  // poles of tan are not roots
  ASSERT_TRUE(t.ok());
  for (const auto& s : t.value().solutions) {
    EXPECT_NEAR(std::tan(s.values[0].second.re), 1.0, 1e-9);
  }
}

TEST(Solve, UnderdeterminedAndStatus) {
  auto r = solve("x+y=1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().status, Status::kUnderdetermined);
  auto n = solve("x^2+y^2=100");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n.value().status, Status::kUnderdetermined);
  auto i = solve("x+y=1;2x+2y=3");
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i.value().status, Status::kNoSolution);
}

struct Refusal {
  const char* system;
  const char* message;
};

class Refuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(Refuses, WithMessage) {
  const Refusal& c = GetParam();
  const auto start = std::chrono::steady_clock::now();
  auto r = solve(c.system);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("  %-40.40s %8.2f ms  %s\n", c.system, ms,
              r.ok() ? r.value().text.c_str() : calc::describe(r.error()).c_str());
  EXPECT_LT(ms, 2000.0);
  ASSERT_FALSE(r.ok()) << c.system << ": " << r.value().text;
  EXPECT_NE(calc::describe(r.error()).find(c.message), std::string::npos)
      << calc::describe(r.error());
}

INSTANTIATE_TEST_SUITE_P(
    Errors, Refuses,
    ::testing::Values(Refusal{"", "no equation"}, Refusal{";;", "no equation"},
                      Refusal{"x > 3", "inequalities"}, Refusal{"x = ", "empty"},
                      Refusal{"2+3", "no equation"},
                      Refusal{"factor(x^2-1)=0", "unknown function 'factor'"},
                      Refusal{"x^100=1", "degree too high"},
                      Refusal{"x^2*y^2 = 1; x^2 + y^2 = 4", "cannot solve"},
                      Refusal{"(x+y+z+w+v)^40=1", "too many terms"},
                      Refusal{"x=1;y=2;x+y=?;z", "'z' is asked for but no equation mentions it"},
                      Refusal{
                          "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
                          "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
                          "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
                          "((((((((((((((((((((((((((((((((((((((((((((((((((((((((x=1",
                          "nested too deeply"}));

TEST(SolveHostile, BoundedTime) {
  std::string many;
  for (int i = 0; i < 150; ++i) {
    many.append("x").append(std::to_string(i)).append("+x").append(std::to_string(i + 1));
    many.append("=1;");
  }
  many += "x0=0";
  for (const std::string& s :
       {std::string("x^60 + x^59 + 3 = 0"), std::string("sin(x)*x = 1000"), many,
        std::string(20000, 'x'), std::string("x*y=1;y*z=2;z*w=3;w*x=4;x+y+z+w=10")}) {
    const auto start = std::chrono::steady_clock::now();
    auto r = solve(s);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("  %-40.40s %8.2f ms  %.80s\n", s.c_str(), ms,
                r.ok() ? r.value().text.c_str() : calc::describe(r.error()).c_str());
    EXPECT_LT(ms, 2000.0) << s;
  }
}

TEST(SolverTool, RegistersAndAnswers) {
  tools::Registry registry;
  register_solver(registry, tools::Config{});
  const tools::Tool* tool = registry.find("solver");
  ASSERT_NE(tool, nullptr);
  const tools::ToolContext ctx(tools::ToolContext::Clock::now() + std::chrono::seconds(10),
                               nullptr);
  auto r = tool->invoke({{"equation", "x+y=32;x-y=14"}}, ctx);
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "x = 23, y = 9");
  EXPECT_EQ(r.data.at("status"), "solved");
  EXPECT_EQ(r.data.at("solutions")[0].at("values").at("x").at("exact"), "23");
  auto bad = tool->invoke({{"equation", "x > 1"}}, ctx);
  EXPECT_FALSE(bad.ok);
}

}  // namespace
}  // namespace agentrt::plugins::solver
