// The `calculator` tool as the registry and dispatcher see it.
#include <gtest/gtest.h>

#include "agentrt/plugins/calculator.h"

namespace agentrt::plugins {
namespace {

using nlohmann::json;

tools::ToolResult call(const tools::Tool& tool, const json& args) {
  const tools::ToolContext ctx(tools::ToolContext::Clock::now() + std::chrono::seconds(10),
                               nullptr);
  return tool.invoke(args, ctx);
}

TEST(CalculatorTool, RegistersAndAnswers) {
  tools::Registry registry;
  register_calculator(registry, tools::Config{});
  const tools::Tool* tool = registry.find("calculator");
  ASSERT_NE(tool, nullptr);
  EXPECT_EQ(tool->spec().parameters.at("required"), json::array({"expression"}));

  auto r = call(*tool, {{"expression", "3.5^2*pi"}});
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "38.48451000647496");
  EXPECT_EQ(r.data.at("exact"), false);

  auto q = call(*tool, {{"expression", "3/7"}});
  ASSERT_TRUE(q.ok);
  EXPECT_EQ(q.text, "0.4285714285714286");
  EXPECT_EQ(q.data.at("fraction"), "3/7");
  EXPECT_EQ(q.data.at("exact"), true);
}

TEST(CalculatorTool, ErrorsAreFailures) {
  tools::Registry registry;
  register_calculator(registry, tools::Config{});
  auto r = call(*registry.find("calculator"), {{"expression", "2*apples"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.text, "unknown name 'apples' at position 3");
  auto missing = call(*registry.find("calculator"), json::object());
  EXPECT_FALSE(missing.ok);
}

TEST(CalculatorTool, ConfigLimits) {
  tools::Config config;
  config.set("calculator.max_length", 5);
  tools::Registry registry;
  register_calculator(registry, config);
  auto r = call(*registry.find("calculator"), {{"expression", "1+2+3+4"}});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("too long"), std::string::npos);

  tools::Config bad;
  bad.set("calculator.max_bits", -1);
  tools::Registry other;
  EXPECT_THROW(register_calculator(other, bad), tools::ConfigError);
}

TEST(CalculatorTool, DuplicateRegistrationRefused) {
  tools::Registry registry;
  register_calculator(registry, tools::Config{});
  EXPECT_THROW(register_calculator(registry, tools::Config{}), tools::RegistryError);
}

}  // namespace
}  // namespace agentrt::plugins
