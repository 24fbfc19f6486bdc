// calc::Expression: parse once, evaluate many times in double precision.
#include <chrono>
#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>

#include "agentrt/plugins/calculator.h"

namespace agentrt::plugins::calc {
namespace {

TEST(Expression, EvaluatesWithVariables) {
  const std::vector<std::string> vars = {"y", "v", "t"};
  auto e = Expression::compile("-9.81 - 0.1*v*abs(v) + sin(t)^2 + 2y", vars);
  ASSERT_TRUE(e.ok()) << describe(e.error());
  const double values[] = {1.5, -3.0, 0.7};
  const double expected = -9.81 - 0.1 * -3.0 * 3.0 + std::pow(std::sin(0.7), 2) + 3.0;
  EXPECT_DOUBLE_EQ(e.value().evaluate(values), expected);
  EXPECT_EQ(e.value().variable_count(), 3u);
}

TEST(Expression, MatchesCalculatorOnConstants) {
  for (const char* text : {"2^10/3", "7!/(4!*3!)", "sqrt(2)*pi", "15% * 80", "-7 % 3", "-7 // 2",
                           "log(8, 2)", "max(1, 5, 3) + min(2, -1)", "gcd(12, 18) + lcm(4, 6)",
                           "round(2.5) + floor(-1.5) + ceil(1.2)", "atan2(1, 2) + cbrt(27)"}) {
    auto e = Expression::compile(text, {});
    ASSERT_TRUE(e.ok()) << text;
    auto c = calculate(text);
    ASSERT_TRUE(c.ok()) << text;
    EXPECT_NEAR(e.value().evaluate({}), c.value().value, 1e-12 * std::abs(c.value().value)) << text;
  }
}

TEST(Expression, UnknownNameIsAnError) {
  const std::vector<std::string> vars = {"x"};
  auto e = Expression::compile("x + k", vars);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(describe(e.error()), "unknown name 'k' at position 5");
}

TEST(Expression, DomainErrorsAreNaN) {
  const std::vector<std::string> vars = {"x"};
  auto e = Expression::compile("sqrt(x)", vars);
  ASSERT_TRUE(e.ok());
  const double minus_one[] = {-1.0};
  EXPECT_TRUE(std::isnan(e.value().evaluate(minus_one)));
}

TEST(Expression, DeepExpressionUsesLargeStack) {
  std::string text = "x";
  for (int i = 0; i < 100; ++i) text = "(x+" + text + ")";
  const std::vector<std::string> vars = {"x"};
  auto e = Expression::compile(text, vars);
  ASSERT_TRUE(e.ok()) << describe(e.error());
  const double two[] = {2.0};
  EXPECT_DOUBLE_EQ(e.value().evaluate(two), 202.0);
}

TEST(Expression, FastEnoughForOdeRightHandSides) {
  const std::vector<std::string> vars = {"theta", "omega"};
  auto e = Expression::compile("-9.81/1.5*sin(theta) - 0.05*omega", vars);
  ASSERT_TRUE(e.ok());
  double state[] = {0.3, 0.0};
  const int n = 1'000'000;
  const auto start = std::chrono::steady_clock::now();
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    state[1] = i * 1e-6;
    sum += e.value().evaluate(state);
  }
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
      n;
  std::printf("  pendulum right-hand side: %.1f ns per evaluation (checksum %.3f)\n", ns, sum);
  EXPECT_LT(ns, 5000.0);  // generous: proves no parsing or allocation per call
}

}  // namespace
}  // namespace agentrt::plugins::calc
