// Hostile inputs: every one is a clear error or a bounded answer, never a hang. Times are
// printed; the assertion is a generous 2 s so a loaded machine does not make it flaky (the goal,
// met on an idle machine, is under 100 ms).
#include <chrono>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "agentrt/plugins/calculator.h"

namespace agentrt::plugins::calc {
namespace {

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

struct Hostile {
  std::string name;
  std::string expression;
  bool should_fail;
  std::string message;  // substring of the error when should_fail
};

std::vector<Hostile> hostile_inputs() {
  std::string lcm_of_many = "lcm(2";
  for (int k = 3; k < 1500; ++k) lcm_of_many.append(",").append(std::to_string(k));
  lcm_of_many.push_back(')');
  std::string harmonic = "1";
  for (int k = 2; harmonic.size() < 9000; ++k) harmonic += "+1/" + std::to_string(k);
  return {
      {"tower 9^9^9^9", "9^9^9^9", true, "too large"},
      {"tower 2^2^2^2^2^2", "2^2^2^2^2^2", true, "too large"},
      {"10^10^10", "10^10^10", true, "too large"},
      {"1000000!", "1000000!", true, "too large"},
      {"factorial(factorial(20))", "factorial(factorial(20))", true, "too large"},
      {"2^1000000", "2^1000000", true, "digits"},
      {"(1/3)^1000000", "(1/3)^1000000", true, "too small"},
      {"10000 nested parentheses", repeat("(", 10000) + "1" + repeat(")", 10000), true, ""},
      {"1000 nested parentheses", repeat("(", 1000) + "1" + repeat(")", 1000), true,
       "nested too deeply"},
      {"5000 unary minus", repeat("-", 5000) + "1", true, "nested too deeply"},
      {"1000 nested sqrt", repeat("sqrt(", 1000) + "2" + repeat(")", 1000), true,
       "nested too deeply"},
      {"1 MB of digits", std::string(1'000'000, '9'), true, "too long"},
      {"1 MB of 1+1", repeat("1+", 500'000) + "1", true, "too long"},
      {"9999-digit literal squared", "(" + std::string(9990, '7') + ")^2", false, ""},
      {"9999-digit literal to the 100", "(" + std::string(9990, '7') + ")^100", true, "too large"},
      {"harmonic sum, 9000 characters", harmonic, false, ""},
      {"2^100000 printed", "2^100000", false, ""},
      {"10000!", "10000!", false, ""},
      {"lcm of many", lcm_of_many, false, ""},
      {"exponent 1e999999", "1e999999", true, "out of range"},
      {"2^(10^30)", "2^(10^30)", true, "too large"},
      {"0.5^(10^30)", "0.5^(10^30)", true, "too small"},
      {"huge power of 1", "1^(10^30)", false, ""},
      {"chain of powers of 2", repeat("2^", 200) + "2", true, "too large"},
  };
}

TEST(Hostile, BoundedErrorsAndTimes) {
  for (const Hostile& h : hostile_inputs()) {
    const auto start = std::chrono::steady_clock::now();
    auto r = calculate(h.expression);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("  %-32s %8.2f ms  %s\n", h.name.c_str(), ms,
                r.ok() ? ("ok, " + std::to_string(r.value().text.size()) + " characters").c_str()
                       : describe(r.error()).c_str());
    EXPECT_LT(ms, 2000.0) << h.name;
    EXPECT_EQ(!r.ok(), h.should_fail) << h.name;
    if (!r.ok() && !h.message.empty()) {
      EXPECT_NE(r.error().message.find(h.message), std::string::npos)
          << h.name << ": " << r.error().message;
    }
  }
}

TEST(Hostile, DeadlineStopsEvaluation) {
  CalculateOptions options;
  options.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  auto r =
      calculate("1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1", options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("deadline"), std::string::npos);
}

TEST(Hostile, InvalidUtf8) {
  auto r = calculate(std::string("1+\xff"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace agentrt::plugins::calc
