// The simulator against closed-form solutions. Each test prints the error it measured.
#include <cmath>
#include <cstdio>
#include <numbers>

#include <gtest/gtest.h>

#include "agentrt/plugins/simulate.h"

namespace agentrt::plugins {
namespace {

using nlohmann::json;
constexpr double kPi = std::numbers::pi;

void report(const char* what, double error) {
  std::printf("  [measured] %s: %.3e\n", what, error);
}

double rel(double got, double want) {
  return std::abs(got - want) / std::abs(want);
}

json run_tool(const json& args) {
  tools::Registry registry;
  register_simulate(registry, tools::Config{});
  const tools::ToolContext ctx(tools::ToolContext::Clock::now() + std::chrono::seconds(30),
                               nullptr);
  auto r = registry.find("simulate")->invoke(args, ctx);
  EXPECT_TRUE(r.ok) << r.text;
  return r.data;
}

std::size_t index_of(const sim::Outcome& o, const std::string& name) {
  return static_cast<std::size_t>(std::find(o.names.begin(), o.names.end(), name) -
                                  o.names.begin());
}

TEST(SimulateAnalytic, FreeFallTimeFrom45m) {
  sim::Problem p;
  p.equations = {{"y", "v"}, {"v", "-g"}};
  p.initial = {{"y", 45.0}, {"v", 0.0}};
  p.parameters = {{"g", 9.81}};
  p.until = "y < 0";
  auto r = sim::simulate(p, sim::Options{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const sim::Outcome& o = r.value();
  ASSERT_TRUE(o.event);
  const double t_exact = std::sqrt(2 * 45.0 / 9.81);
  report("free-fall time |t - sqrt(2h/g)| (s)", std::abs(o.t_final - t_exact));
  EXPECT_NEAR(o.t_final, t_exact, 1e-9);
  EXPECT_NEAR(o.final_state[index_of(o, "v")], -9.81 * t_exact, 1e-8);
  // The trajectory ends at the event and follows y = h - g t^2 / 2.
  ASSERT_EQ(o.sample_t.size(), 21u);
  EXPECT_EQ(o.sample_t.back(), o.t_final);
  double worst = 0;
  for (std::size_t i = 0; i < o.sample_t.size(); ++i) {
    const double t = o.sample_t[i];
    worst = std::max(worst, std::abs(o.samples[index_of(o, "y")][i] - (45 - 9.81 * t * t / 2)));
  }
  report("free-fall trajectory max |y - (h - g t^2/2)| (m)", worst);
  EXPECT_LT(worst, 1e-9);
  // Extrema: y from 45 at t = 0 down to the ground at the event.
  const sim::Extremum& ey = o.extrema[index_of(o, "y")];
  EXPECT_EQ(ey.max, 45.0);
  EXPECT_EQ(ey.t_max, 0.0);
  EXPECT_NEAR(ey.t_min, t_exact, 1e-9);
}

TEST(SimulateAnalytic, DragFreeProjectileRangeAndFlightTime) {
  const double v0 = 20, deg = 30, g = 9.81;
  const double th = deg * kPi / 180;
  json d = run_tool({{"preset", "projectile"}, {"params", {{"v0", v0}, {"angle", deg}}}});
  const json& res = d.at("preset").at("results");
  const double range = v0 * v0 * std::sin(2 * th) / g;
  const double flight = 2 * v0 * std::sin(th) / g;
  const double height = v0 * v0 * std::sin(th) * std::sin(th) / (2 * g);
  report("projectile range rel. error", rel(res.at("range").get<double>(), range));
  report("projectile flight time error (s)",
         std::abs(res.at("flight_time").get<double>() - flight));
  report("projectile max height error (m)", std::abs(res.at("max_height").get<double>() - height));
  EXPECT_NEAR(res.at("range").get<double>(), range, 1e-8);
  EXPECT_NEAR(res.at("flight_time").get<double>(), flight, 1e-9);
  EXPECT_NEAR(d.at("event").at("time").get<double>(), flight, 1e-9);
  EXPECT_NEAR(res.at("max_height").get<double>(), height, 1e-9);
  EXPECT_NEAR(res.at("t_max_height").get<double>(), flight / 2, 1e-9);
  EXPECT_NEAR(res.at("impact_speed").get<double>(), v0, 1e-8);
  EXPECT_NEAR(res.at("impact_angle").get<double>(), deg, 1e-7);
  // The slowest point is the apex, found between steps from the speed's rate.
  EXPECT_NEAR(d.at("extrema").at("speed").at("min").get<double>(), v0 * std::cos(th), 1e-9);
}

TEST(SimulateAnalytic, QuadraticDragShortensTheRange) {
  json d = run_tool(
      {{"preset", "projectile"},
       {"params", {{"v0", 50}, {"angle", 45}, {"mass", 0.145}, {"cd", 0.3}, {"area", 0.0042}}}});
  const double range = d.at("preset").at("results").at("range").get<double>();
  EXPECT_LT(range, 50.0 * 50 / 9.81);
  EXPECT_GT(range, 50.0);
}

TEST(SimulateAnalytic, HarmonicOscillatorPeriod) {
  // m = 2 kg, k = 8 N/m: T = 2 pi sqrt(m/k) = pi.
  json d = run_tool({{"preset", "spring"}, {"params", {{"m", 2}, {"k", 8}, {"x0", 0.3}}}});
  const json& res = d.at("preset").at("results");
  report("oscillator period from successive maxima, |T - pi| (s)",
         std::abs(res.at("measured_period").get<double>() - kPi));
  EXPECT_NEAR(res.at("natural_period").get<double>(), kPi, 1e-15);
  EXPECT_NEAR(res.at("measured_period").get<double>(), kPi, 1e-9);

  // The half period from a zero crossing located as an event.
  sim::Problem p;
  p.equations = {{"x", "v"}, {"v", "-k*x/m"}};
  p.initial = {{"x", 0.0}, {"v", 1.0}};
  p.parameters = {{"k", 8.0}, {"m", 2.0}};
  p.until = "x < 0";
  auto r = sim::simulate(p, sim::Options{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  report("oscillator first zero crossing |t - T/2| (s)", std::abs(r.value().t_final - kPi / 2));
  EXPECT_NEAR(r.value().t_final, kPi / 2, 1e-9);
}

TEST(SimulateAnalytic, ExponentialGrowth) {
  json d =
      run_tool({{"preset", "exponential"}, {"params", {{"r", 0.7}, {"P0", 3}}}, {"duration", 5}});
  const double exact = 3 * std::exp(0.7 * 5);
  const double got = d.at("final").at("P").get<double>();
  report("exponential P0 e^(rt) rel. error", rel(got, exact));
  EXPECT_LT(rel(got, exact), 1e-9);
  // Every trajectory sample, too.
  const json& tr = d.at("trajectory");
  for (std::size_t i = 0; i < tr.at("t").size(); ++i) {
    const double t = tr.at("t")[i].get<double>();
    EXPECT_LT(rel(tr.at("P")[i].get<double>(), 3 * std::exp(0.7 * t)), 1e-9) << t;
  }
}

TEST(SimulateAnalytic, LogisticAgainstClosedForm) {
  const double r = 0.8, k = 1000, p0 = 5;
  json d = run_tool({{"preset", "logistic"},
                     {"params", {{"r", r}, {"K", k}, {"P0", p0}}},
                     {"t_end", 20},
                     {"samples", 41}});
  const json& tr = d.at("trajectory");
  double worst = 0;
  for (std::size_t i = 0; i < tr.at("t").size(); ++i) {
    const double t = tr.at("t")[i].get<double>();
    const double exact = k / (1 + (k - p0) / p0 * std::exp(-r * t));
    worst = std::max(worst, rel(tr.at("P")[i].get<double>(), exact));
  }
  report("logistic max rel. error over 41 samples", worst);
  EXPECT_LT(worst, 1e-9);
  EXPECT_NEAR(d.at("preset").at("results").at("t_half_K").get<double>(),
              std::log((k - p0) / p0) / r, 1e-12);
}

TEST(SimulateAnalytic, UndampedOscillatorEnergyDrift) {
  // 200 periods of m = 1, k = 1.
  json d = run_tool({{"preset", "spring"}, {"duration", 400 * kPi}, {"samples", 2}});
  const json& e = d.at("extrema").at("energy");
  const double drift = (e.at("max").get<double>() - e.at("min").get<double>()) / 0.5;
  report("oscillator relative energy drift over 200 periods", drift);
  EXPECT_LT(drift, 2e-7);
  EXPECT_NEAR(d.at("final").at("x").get<double>(), 1.0, 1e-7);
}

TEST(SimulateAnalytic, CircularOrbitRadiusAndPeriod) {
  const double gm = 3.986004418e14, r0 = 7e6;
  const double period = 2 * kPi * std::sqrt(r0 * r0 * r0 / gm);
  json d = run_tool({{"preset", "orbit"}});
  const json& res = d.at("preset").at("results");
  const double spread = (res.at("max_r").get<double>() - res.at("min_r").get<double>()) / r0;
  report("circular orbit relative radius spread over one period", spread);
  EXPECT_LT(spread, 1e-9);
  EXPECT_NEAR(res.at("period").get<double>(), period, 1e-9 * period);
  EXPECT_NEAR(res.at("eccentricity").get<double>(), 0.0, 1e-12);
  EXPECT_NEAR(d.at("final").at("x").get<double>(), r0, 1e-6 * r0);
  // Crossing the x axis again (y < 0) happens after half a period.
  json half = run_tool({{"preset", "orbit"}, {"until", "y < 0"}});
  const double t_half = half.at("event").at("time").get<double>();
  report("circular orbit period 2 t(y<0) rel. error", rel(2 * t_half, period));
  EXPECT_LT(rel(2 * t_half, period), 1e-9);
}

TEST(SimulateAnalytic, EllipticOrbitApsides) {
  // Start at periapsis r_p = 7e6 m with 1.2 x circular speed: e = 1.44 - 1 = 0.44.
  const double gm = 3.986004418e14, rp = 7e6;
  const double v = 1.2 * std::sqrt(gm / rp);
  json d = run_tool({{"preset", "orbit"}, {"params", {{"vy0", v}}}});
  const json& res = d.at("preset").at("results");
  EXPECT_NEAR(res.at("eccentricity").get<double>(), 0.44, 1e-12);
  const double ra = rp * (1 + 0.44) / (1 - 0.44);
  report("elliptic orbit apoapsis rel. error", rel(res.at("max_r").get<double>(), ra));
  EXPECT_LT(rel(res.at("max_r").get<double>(), ra), 1e-9);
  EXPECT_LT(rel(res.at("apoapsis").get<double>(), ra), 1e-12);
  EXPECT_LT(rel(res.at("min_r").get<double>(), rp), 1e-12);
}

TEST(SimulateAnalytic, LargeAnglePendulumPeriod) {
  json d = run_tool({{"preset", "pendulum"}, {"params", {{"length", 2}, {"angle", 60}}}});
  const json& res = d.at("preset").at("results");
  const double exact = 4 * std::sqrt(2 / 9.81) * std::comp_ellint_1(std::sin(30 * kPi / 180));
  report("pendulum (60 deg) period rel. error",
         rel(res.at("measured_period").get<double>(), exact));
  EXPECT_LT(rel(res.at("measured_period").get<double>(), exact), 1e-9);
  EXPECT_NEAR(res.at("exact_period").get<double>(), exact, 1e-12);
  EXPECT_NEAR(res.at("amplitude").get<double>(), 60.0, 1e-8);
}

TEST(SimulateAnalytic, Deterministic) {
  const json args = {{"preset", "projectile"},
                     {"params", {{"v0", 33}, {"angle", 61}, {"k", 0.01}}},
                     {"samples", 50}};
  EXPECT_EQ(run_tool(args).dump(), run_tool(args).dump());
}

}  // namespace
}  // namespace agentrt::plugins
