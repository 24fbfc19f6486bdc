// Hostile and malformed inputs: every one is a failure with a message that says what is wrong,
// returned quickly; none crashes, hangs or runs past its bounds.
#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agentrt/plugins/simulate.h"

namespace agentrt::plugins {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Case {
  const char* what;
  json args;
  const char* expect;  // substring of the error
};

const json kOscillator = {{"x", "v"}, {"v", "-x"}};
const json kStart = {{"x", 1}, {"v", 0}};

std::string deep(int n) {
  return std::string(n, '(') + "x" + std::string(n, ')');
}

std::vector<Case> cases() {
  return {
      {"blow-up y'=y^2",
       {{"equations", {{"y", "y^2"}}}, {"initial", {{"y", 1}}}, {"t_end", 2}},
       "singular"},
      {"blow-up without a stop",
       {{"equations", {{"y", "y^2"}}}, {"initial", {{"y", 1}}}, {"until", "y < 0"}},
       "singular"},
      {"NaN right-hand side",
       {{"equations", {{"y", "sqrt(-1-y^2)"}}}, {"initial", {{"y", 1}}}, {"t_end", 1}},
       "NaN"},
      {"unknown name",
       {{"equations", {{"y", "k*y"}}}, {"initial", {{"y", 1}}}, {"t_end", 1}},
       "unknown name 'k'"},
      {"unknown name in until",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "z < 0"}},
       "unknown name 'z'"},
      {"missing initial value",
       {{"equations", kOscillator}, {"initial", {{"x", 1}}}, {"t_end", 1}},
       "no initial value for 'v'"},
      {"initial without equation",
       {{"equations", kOscillator}, {"initial", {{"x", 1}, {"v", 0}, {"w", 2}}}, {"t_end", 1}},
       "'w', which has no equation"},
      {"no equations", {{"equations", json::object()}, {"t_end", 1}}, "no equations"},
      {"neither preset nor equations", {{"t_end", 1}}, "give either a preset"},
      {"no end", {{"equations", kOscillator}, {"initial", kStart}}, "give t_end or duration"},
      {"end before start",
       {{"equations", kOscillator}, {"initial", kStart}, {"t0", 5}, {"t_end", 1}},
       "greater than t0"},
      {"t_end and duration",
       {{"equations", kOscillator}, {"initial", kStart}, {"t_end", 1}, {"duration", 1}},
       "not both"},
      {"absurd duration",
       {{"equations", kOscillator}, {"initial", kStart}, {"duration", 1e15}},
       "step limit"},
      {"tiny step budget",
       {{"equations", kOscillator}, {"initial", kStart}, {"t_end", 100}, {"max_steps", 10}},
       "step limit (10 steps)"},
      {"stiff",
       {{"equations", {{"y", "-1e9*(y - cos(t))"}}},
        {"initial", {{"y", 0}}},
        {"t_end", 10},
        {"max_steps", 2000}},
       "step limit"},
      {"never true",
       {{"equations", {{"y", "1"}}},
        {"initial", {{"y", 0}}},
        {"until", "y < 0"},
        {"max_steps", 1000}},
       "without the until condition 'y < 0'"},
      {"condition missing side",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "x <"}},
       "missing a side"},
      {"condition not a comparison",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "x"}},
       "not a comparison"},
      {"condition equality",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "x = 0"}},
       "'=' cannot stop"},
      {"condition double equality",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "x == 0"}},
       "'==' cannot stop"},
      {"condition !=",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "x != 0"}},
       "'!=' cannot stop"},
      {"condition double operator",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "x < < 0"}},
       "missing a side"},
      {"condition dangling and",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "x < 0 and"}},
       "empty comparison"},
      {"condition leading or",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "or x < 0"}},
       "empty comparison"},
      {"condition open paren",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "(x < 0"}},
       "until '(x < 0'"},
      {"condition garbage",
       {{"equations", kOscillator}, {"initial", kStart}, {"until", "x < 0 ;DROP TABLE"}},
       "until"},
      {"empty equation",
       {{"equations", {{"y", "  "}}}, {"initial", {{"y", 0}}}, {"t_end", 1}},
       "equation for 'y' is empty"},
      {"malformed equation",
       {{"equations", {{"y", "2*/y"}}}, {"initial", {{"y", 0}}}, {"t_end", 1}},
       "equation for 'y'"},
      {"deep nesting",
       {{"equations", {{"x", deep(5000)}}}, {"initial", {{"x", 0}}}, {"t_end", 1}},
       "equation for 'x'"},
      {"time as a variable",
       {{"equations", {{"t", "1"}}}, {"initial", {{"t", 0}}}, {"t_end", 1}},
       "'t' is the time"},
      {"function as a variable",
       {{"equations", {{"sin", "1"}}}, {"initial", {{"sin", 0}}}, {"t_end", 1}},
       "is a function"},
      {"constant as a variable",
       {{"equations", {{"e", "1"}}}, {"initial", {{"e", 0}}}, {"t_end", 1}},
       "is a constant"},
      {"odd variable name",
       {{"equations", {{"x y", "1"}}}, {"initial", {{"x y", 0}}}, {"t_end", 1}},
       "not a plain name"},
      {"parameter shadows a variable",
       {{"equations", kOscillator}, {"initial", kStart}, {"parameters", {{"x", 2}}}, {"t_end", 1}},
       "declared twice"},
      {"wrong argument type",
       {{"equations", kOscillator}, {"initial", {{"x", "1"}, {"v", 0}}}, {"t_end", 1}},
       "expected number"},
      {"unknown argument",
       {{"equations", kOscillator}, {"initial", kStart}, {"t_end", 1}, {"tolerance", 1}},
       "tolerance"},
      {"zero tolerance",
       {{"equations", kOscillator}, {"initial", kStart}, {"t_end", 1}, {"rel_tol", 0}},
       "rel_tol"},
      {"samples over the cap",
       {{"equations", kOscillator}, {"initial", kStart}, {"t_end", 1}, {"samples", 100000}},
       "samples"},
      {"max_steps over the cap",
       {{"equations", kOscillator}, {"initial", kStart}, {"t_end", 1}, {"max_steps", 1e12}},
       "max_steps"},
      {"unknown preset", {{"preset", "rocket"}}, "preset"},
      {"unknown preset parameter",
       {{"preset", "spring"}, {"params", {{"mass", 2}}}},
       "no parameter 'mass'"},
      {"preset with equations",
       {{"preset", "spring"}, {"equations", kOscillator}},
       "a preset takes params"},
      {"params without a preset",
       {{"equations", kOscillator}, {"initial", kStart}, {"params", {{"k", 1}}}, {"t_end", 1}},
       "params belong"},
      {"negative mass", {{"preset", "spring"}, {"params", {{"m", -1}}}}, "m must be > 0"},
      {"zero length pendulum",
       {{"preset", "pendulum"}, {"params", {{"length", 0}}}},
       "length must be > 0"},
      {"both drag forms",
       {{"preset", "projectile"}, {"params", {{"k", 0.1}, {"cd", 0.3}, {"area", 0.1}}}},
       "not both"},
      {"half a drag", {{"preset", "projectile"}, {"params", {{"cd", 0.3}}}}, "both cd and area"},
      {"orbit from the centre", {{"preset", "orbit"}, {"params", {{"x0", 0}}}}, "centre"},
      {"orbit inside the body",
       {{"preset", "orbit"}, {"params", {{"radius", 8e6}}}},
       "inside the central body"},
      {"GM and M", {{"preset", "orbit"}, {"params", {{"GM", 1}, {"M", 1}}}}, "not both"},
  };
}

TEST(SimulateHostile, EveryCaseFailsClearlyAndQuickly) {
  tools::Registry registry;
  register_simulate(registry, tools::Config{});
  const tools::Tool& tool = *registry.find("simulate");
  for (const Case& c : cases()) {
    const auto start = Clock::now();
    const tools::ToolContext ctx(start + std::chrono::seconds(20), nullptr);
    const tools::ToolResult r = tool.invoke(c.args, ctx);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    EXPECT_FALSE(r.ok) << c.what << ": " << r.text;
    EXPECT_NE(r.text.find(c.expect), std::string::npos)
        << c.what << ": expected '" << c.expect << "' in: " << r.text;
    EXPECT_LT(ms, 3000) << c.what;
  }
}

TEST(SimulateHostile, DeadlineIsRespected) {
  tools::Registry registry;
  register_simulate(registry, tools::Config{});
  const json args = {
      {"equations", kOscillator}, {"initial", kStart}, {"duration", 1e15}, {"max_steps", 1000000}};
  const auto start = Clock::now();
  const tools::ToolContext ctx(start + std::chrono::milliseconds(100), nullptr);
  const tools::ToolResult r = registry.find("simulate")->invoke(args, ctx);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("time limit"), std::string::npos) << r.text;
  EXPECT_LT(ms, 600);
}

TEST(SimulateHostile, CancellationStopsAtOnce) {
  tools::Registry registry;
  register_simulate(registry, tools::Config{});
  std::atomic<bool> cancel{true};
  const tools::ToolContext ctx(Clock::now() + std::chrono::seconds(10), &cancel);
  const tools::ToolResult r = registry.find("simulate")->invoke({{"preset", "orbit"}}, ctx);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("time limit"), std::string::npos) << r.text;
}

TEST(SimulateHostile, ConditionAlreadyTrueStopsAtStart) {
  sim::Problem p;
  p.equations = {{"y", "-1"}};
  p.initial = {{"y", -1.0}};
  p.until = "y < 0";
  auto r = sim::simulate(p, sim::Options{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r.value().event);
  EXPECT_EQ(r.value().t_final, 0.0);
  EXPECT_EQ(r.value().steps, 0u);
}

TEST(SimulateHostile, ConditionsWithAndOrAndChains) {
  sim::Problem p;
  p.equations = {{"x", "1"}};
  p.initial = {{"x", 0.0}};
  p.t_end = 100;
  auto at = [&](const std::string& until) {
    p.until = until;
    auto r = sim::simulate(p, sim::Options{});
    EXPECT_TRUE(r.ok()) << until << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value().t_final : -1.0;
  };
  EXPECT_NEAR(at("x > 2 and t > 3"), 3.0, 1e-12);
  EXPECT_NEAR(at("x > 7 or t >= 5"), 5.0, 1e-12);
  EXPECT_NEAR(at("x >= 2 && x^2 > 10"), std::sqrt(10.0), 1e-12);
  EXPECT_NEAR(at("4 < x < 9"), 4.0, 1e-12);
  EXPECT_NEAR(at("max(x, 1) > 2.5 AND (x - 1)*(x + 1) > 0"), 2.5, 1e-12);
  EXPECT_NEAR(at("x \u2265 6"), 6.0, 1e-12);
}

TEST(SimulateHostile, MaxStepCatchesABriefCondition) {
  // x' = 0 lets the steps grow past the 0.02 s window where sin(10 t) > 0.999; max_step bounds
  // them.
  sim::Problem p;
  p.equations = {{"x", "0"}};
  p.initial = {{"x", 0.0}};
  p.t_end = 1000;
  p.until = "sin(10*t) > 0.999";
  auto loose = sim::simulate(p, sim::Options{});
  ASSERT_TRUE(loose.ok());
  EXPECT_FALSE(loose.value().event);
  sim::Options bounded;
  bounded.max_step = 0.01;
  auto tight = sim::simulate(p, bounded);
  ASSERT_TRUE(tight.ok());
  ASSERT_TRUE(tight.value().event);
  EXPECT_NEAR(tight.value().t_final, std::asin(0.999) / 10, 1e-12);
}

TEST(SimulateHostile, ConfigLimits) {
  tools::Config bad;
  bad.set("simulate.max_steps", 0);
  tools::Registry r1;
  EXPECT_THROW(register_simulate(r1, bad), tools::ConfigError);
  tools::Config small;
  small.set("simulate.max_samples", 5);
  tools::Registry r2;
  register_simulate(r2, small);
  const tools::ToolContext ctx(Clock::now() + std::chrono::seconds(10), nullptr);
  auto r = r2.find("simulate")->invoke({{"preset", "spring"}, {"samples", 6}}, ctx);
  EXPECT_FALSE(r.ok);
  auto ok = r2.find("simulate")->invoke({{"preset", "spring"}}, ctx);
  ASSERT_TRUE(ok.ok) << ok.text;
  EXPECT_EQ(ok.data.at("trajectory").at("t").size(), 5u);
}

}  // namespace
}  // namespace agentrt::plugins
