// Property tests with a fixed seed: random expressions evaluate the same through the exact path
// (calculate) and the double path (Expression); random bytes never crash or hang the parser.
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "agentrt/plugins/calculator.h"

namespace agentrt::plugins::calc {
namespace {

std::string cat(std::initializer_list<std::string> parts) {
  std::string out;
  for (const std::string& p : parts) out.append(p);
  return out;
}

std::string random_expression(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> pick(0, depth <= 0 ? 2 : 12);
  auto sub = [&] { return random_expression(rng, depth - 1); };
  auto number = [&](int lo, int hi) {
    return std::to_string(std::uniform_int_distribution<int>(lo, hi)(rng));
  };
  switch (pick(rng)) {
    case 0:
      return number(0, 40);
    case 1:
      return cat({number(1, 99), ".", number(0, 99)});
    case 2:
      return "pi";
    case 3:
      return cat({"(", sub(), "+", sub(), ")"});
    case 4:
      return cat({"(", sub(), "-", sub(), ")"});
    case 5:
      return cat({sub(), "*", sub()});
    case 6:
      return cat({"(", sub(), ")/(", sub(), ")"});
    case 7:
      return cat({"(", sub(), ")^", number(0, 4)});
    case 8:
      return cat({"-", sub()});
    case 9:
      return cat({"sqrt(abs(", sub(), "))"});
    case 10:
      return cat({"min(", sub(), ", ", sub(), ")"});
    case 11:
      return cat({"floor(", sub(), ")"});
    default:
      return cat({"2(", sub(), ")"});
  }
}

TEST(Random, ExactAndDoublePathsAgree) {
  std::mt19937 rng(20261128);
  int compared = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = random_expression(rng, 4);
    auto exact = calculate(text);
    auto compiled = Expression::compile(text, {});
    ASSERT_TRUE(compiled.ok()) << text << ": " << describe(compiled.error());
    const double d = compiled.value().evaluate({});
    if (!exact.ok() || !std::isfinite(d)) continue;  // division by zero and the like
    const double x = exact.value().value;
    // floor() of a value that is an integer exactly may differ by one from floor of its double.
    if (text.find("floor") != std::string::npos) continue;
    EXPECT_NEAR(d, x, 1e-9 * std::max(1.0, std::abs(x))) << text;
    ++compared;
  }
  EXPECT_GT(compared, 2000);
}

TEST(Random, BytesNeverCrashOrHang) {
  std::mt19937 rng(7);
  const std::string alphabet = "0123456789+-*/^%!()[],.=<>e piabcxyz×÷（）１２√²πsqrt log";
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    const int n = std::uniform_int_distribution<int>(0, 40)(rng);
    for (int k = 0; k < n; ++k) {
      text += alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
    }
    const auto start = std::chrono::steady_clock::now();
    auto r = calculate(text);  // arbitrary bytes, including broken UTF-8
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(ms, 2000.0) << text;
    if (!r.ok()) {
      EXPECT_FALSE(r.error().message.empty()) << text;
    }
  }
}

}  // namespace
}  // namespace agentrt::plugins::calc
