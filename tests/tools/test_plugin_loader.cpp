#include "agentrt/tools/plugin_loader.h"

#include <gtest/gtest.h>

#include "agentrt/tools/dispatcher.h"
#include "fake_tool.h"

namespace agentrt::tools {
namespace {

using nlohmann::json;

std::string load_error(const char* path, Registry& registry) {
  try {
    load_plugin(path, registry, Config{});
  } catch (const PluginError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PluginLoader, LoadsAndInvokesTheExamplePlugin) {
  Registry r;
  auto info = load_plugin(AGENTRT_EXAMPLE_PLUGIN, r, Config{});
  EXPECT_EQ(info.name, "unit_converter");
  EXPECT_EQ(info.version, "1.0.0");
  EXPECT_EQ(info.tools, std::vector<std::string>{"convert"});
  const Tool* convert = r.find("convert");
  ASSERT_NE(convert, nullptr);
  EXPECT_FALSE(convert->spec().description.empty());
  EXPECT_EQ(convert->spec().parameters.at("required"), json::parse(R"(["value","from","to"])"));

  r.freeze();
  Dispatcher d(r);
  auto result = d.call("convert", {{"value", 1}, {"from", "mi"}, {"to", "km"}});
  ASSERT_TRUE(result.ok) << result.text;
  EXPECT_EQ(result.text, "1 mi = 1.609344 km");
  EXPECT_DOUBLE_EQ(result.data.at("value").get<double>(), 1.609344);
  EXPECT_EQ(result.data.at("unit"), "km");

  auto temp = d.call("convert", {{"value", 100}, {"from", "C"}, {"to", "F"}});
  ASSERT_TRUE(temp.ok) << temp.text;
  EXPECT_NEAR(temp.data.at("value").get<double>(), 212.0, 1e-9);

  auto mismatch = d.call("convert", {{"value", 1}, {"from", "kg"}, {"to", "km"}});
  EXPECT_FALSE(mismatch.ok);
  EXPECT_EQ(mismatch.text, "cannot convert kg (mass) to km (length)");

  auto bad_unit = d.call("convert", {{"value", 1}, {"from", "parsec"}, {"to", "km"}});
  EXPECT_FALSE(bad_unit.ok);
  EXPECT_NE(bad_unit.text.find("arguments.from: must be one of"), std::string::npos)
      << bad_unit.text;
}

TEST(PluginLoader, RefusesWrongAbiVersion) {
  Registry r;
  std::string message = load_error(AGENTRT_WRONG_ABI_PLUGIN, r);
  EXPECT_NE(message.find(AGENTRT_WRONG_ABI_PLUGIN), std::string::npos) << message;
  EXPECT_NE(message.find("plugin ABI version 99 does not match"), std::string::npos) << message;
  EXPECT_EQ(r.size(), 0u);
}

TEST(PluginLoader, RefusesLibraryWithoutEntryPoint) {
  Registry r;
  std::string message = load_error(AGENTRT_NO_ENTRY_PLUGIN, r);
  EXPECT_NE(message.find(AGENTRT_NO_ENTRY_PLUGIN), std::string::npos) << message;
  EXPECT_NE(message.find("does not export agentrt_plugin_init"), std::string::npos) << message;
}

TEST(PluginLoader, RefusesBadSchemaJson) {
  Registry r;
  std::string message = load_error(AGENTRT_BAD_SCHEMA_PLUGIN, r);
  EXPECT_NE(message.find(AGENTRT_BAD_SCHEMA_PLUGIN), std::string::npos) << message;
  EXPECT_NE(message.find("\"broken\": parameters are not valid JSON"), std::string::npos)
      << message;
  EXPECT_EQ(r.size(), 0u);
}

TEST(PluginLoader, RefusesDuplicateNames) {
  Registry r;
  r.add(test::fake_tool("convert", test::echo));
  std::string message = load_error(AGENTRT_EXAMPLE_PLUGIN, r);
  EXPECT_NE(message.find(AGENTRT_EXAMPLE_PLUGIN), std::string::npos) << message;
  EXPECT_NE(message.find("duplicate tool name"), std::string::npos) << message;
  EXPECT_EQ(r.size(), 1u);
}

TEST(PluginLoader, RefusesMissingAndNonLibraryFiles) {
  Registry r;
  std::string missing = load_error("/nonexistent/plugin.so", r);
  EXPECT_NE(missing.find("/nonexistent/plugin.so: no such plugin file"), std::string::npos)
      << missing;
  std::string not_library = load_error(__FILE__, r);
  EXPECT_NE(not_library.find("cannot load plugin"), std::string::npos) << not_library;
}

}  // namespace
}  // namespace agentrt::tools
