// The `simulate` tool as the registry and dispatcher see it.
#include <gtest/gtest.h>

#include "agentrt/plugins/simulate.h"
#include "agentrt/tools/dispatcher.h"
#include "agentrt/tools/schema.h"

namespace agentrt::plugins {
namespace {

using nlohmann::json;

TEST(SimulateTool, SpecDocumentsPresetsAndUnits) {
  tools::Registry registry;
  register_simulate(registry, tools::Config{});
  const tools::Tool* tool = registry.find("simulate");
  ASSERT_NE(tool, nullptr);
  EXPECT_TRUE(tools::check_schema(tool->spec().parameters).empty());
  const json& props = tool->spec().parameters.at("properties");
  EXPECT_EQ(props.at("preset").at("enum"),
            json({"projectile", "pendulum", "spring", "orbit", "logistic", "exponential"}));
  const std::string params = props.at("params").at("description").get<std::string>();
  for (const char* unit :
       {"v0 (m/s)", "angle (degrees)", "mass (kg)", "GM (m^3/s^2)", "k (N/m)", "length (m)"}) {
    EXPECT_NE(params.find(unit), std::string::npos) << unit;
  }
  EXPECT_THROW(register_simulate(registry, tools::Config{}), tools::RegistryError);
}

TEST(SimulateTool, ThroughTheDispatcher) {
  tools::Registry registry;
  register_simulate(registry, tools::Config{});
  registry.freeze();
  tools::Dispatcher dispatcher(registry);
  const auto r = dispatcher.call(
      "simulate", {{"preset", "projectile"}, {"params", {{"v0", 20}, {"angle", 45}}}});
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_NE(r.text.find("event: y < 0 at t = 2.88"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("range = 40.77"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("trajectory (t, x, y, vx, vy, speed)"), std::string::npos) << r.text;
  EXPECT_LT(r.text.size(), 3000u);
  const json& d = r.data;
  for (const char* key : {"final", "event", "extrema", "trajectory", "steps", "preset"}) {
    EXPECT_TRUE(d.contains(key)) << key;
  }
  EXPECT_NEAR(d.at("event").at("time").get<double>(), 2 * 20 * std::sqrt(0.5) / 9.81, 1e-9);
  EXPECT_EQ(d.at("event").at("condition"), "y < 0");
  EXPECT_TRUE(d.at("event").at("state").contains("vx"));
  EXPECT_EQ(d.at("trajectory").at("t").size(), 21u);
  EXPECT_EQ(d.at("trajectory").at("y").size(), 21u);
  for (const char* k : {"min", "t_min", "max", "t_max"}) {
    EXPECT_TRUE(d.at("extrema").at("y").contains(k)) << k;
  }

  // Free-form equations with parameters, t, an observable, and no event.
  const auto f = dispatcher.call("simulate", {{"equations", {{"y", "v"}, {"v", "-w^2*y + sin(t)"}}},
                                              {"initial", {{"y", 0}, {"v", 0}}},
                                              {"parameters", {{"w", 2}}},
                                              {"observe", {{"energy", "v^2/2 + w^2*y^2/2"}}},
                                              {"t_end", 3},
                                              {"samples", 4}});
  ASSERT_TRUE(f.ok) << f.text;
  EXPECT_TRUE(f.data.at("event").is_null());
  EXPECT_EQ(f.data.at("final").at("t"), 3.0);
  // y = (2 sin t - sin 2t) / 6 solves y'' + 4y = sin t from rest.
  EXPECT_NEAR(f.data.at("final").at("y").get<double>(), (2 * std::sin(3.0) - std::sin(6.0)) / 6,
              1e-9);
  EXPECT_EQ(f.data.at("trajectory").at("energy").size(), 4u);
}

TEST(SimulateTool, ObservableExtremaBetweenSteps) {
  // Drag-free flight: the speed is slowest at the apex, v0 cos(theta), inside some step.
  tools::Registry registry;
  register_simulate(registry, tools::Config{});
  const tools::ToolContext ctx(tools::ToolContext::Clock::now() + std::chrono::seconds(30),
                               nullptr);
  const auto r =
      registry.find("simulate")
          ->invoke({{"equations", {{"x", "vx"}, {"y", "vy"}, {"vx", "0"}, {"vy", "-9.81"}}},
                    {"initial", {{"x", 0}, {"y", 0}, {"vx", 12}, {"vy", 16}}},
                    {"observe", {{"speed", "sqrt(vx^2 + vy^2)"}, {"height", "y"}}},
                    {"until", "y < 0"}},
                   ctx);
  ASSERT_TRUE(r.ok) << r.text;
  const json& speed = r.data.at("extrema").at("speed");
  EXPECT_NEAR(speed.at("min").get<double>(), 12.0, 1e-9);
  EXPECT_NEAR(speed.at("t_min").get<double>(), 16 / 9.81, 1e-6);
  const json& height = r.data.at("extrema").at("height");
  EXPECT_NEAR(height.at("max").get<double>(), 16.0 * 16 / (2 * 9.81), 1e-12);
  EXPECT_NEAR(height.at("t_max").get<double>(), 16 / 9.81, 1e-6);
}

TEST(SimulateTool, EveryPresetRunsWithDefaults) {
  tools::Registry registry;
  register_simulate(registry, tools::Config{});
  const tools::ToolContext ctx(tools::ToolContext::Clock::now() + std::chrono::seconds(30),
                               nullptr);
  for (const char* name :
       {"projectile", "pendulum", "spring", "orbit", "logistic", "exponential"}) {
    const auto r = registry.find("simulate")->invoke({{"preset", name}}, ctx);
    ASSERT_TRUE(r.ok) << name << ": " << r.text;
    EXPECT_EQ(r.data.at("preset").at("name"), name);
    EXPECT_FALSE(r.data.at("preset").at("results").empty()) << name;
    std::printf("---- %s\n%s", name, r.text.c_str());
  }
}

}  // namespace
}  // namespace agentrt::plugins
