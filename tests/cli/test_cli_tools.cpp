// Runs the built `agentrt` binary: `tools --json` and `tool` output and exit codes.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_agentrt.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using agentrt::test::RunResult;

RunResult agentrt(std::vector<std::string> args) {
  return agentrt::test::run_agentrt(std::move(args));
}

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

TEST(CliTools, ListsToolsAsJson) {
  RunResult run = agentrt({"tools", "--json", "--plugin", AGENTRT_EXAMPLE_PLUGIN});
  ASSERT_EQ(run.code, 0) << run.err;
  json tools = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(tools.is_array()) << run.out;
  bool found = false;
  for (const auto& t : tools) {
    ASSERT_TRUE(t.contains("name") && t.contains("description") && t.contains("parameters"));
    if (t.at("name") == "convert") {
      found = true;
      EXPECT_EQ(t.at("parameters").at("type"), "object");
    }
  }
  EXPECT_TRUE(found) << run.out;
}

TEST(CliTools, ListsToolsAsText) {
  RunResult run = agentrt({"tools", "--plugin", AGENTRT_EXAMPLE_PLUGIN});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "convert: Converts a value")) << run.out;
  EXPECT_TRUE(contains(run.out, "value (number, required)")) << run.out;
}

TEST(CliTools, InvokesATool) {
  RunResult run = agentrt({"tool", "--plugin", AGENTRT_EXAMPLE_PLUGIN, "convert",
                           R"({"value":1,"from":"mi","to":"km"})"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "1 mi = 1.609344 km\n");
  EXPECT_EQ(run.err, "");
}

TEST(CliTools, InvokesAToolWithJsonOutput) {
  RunResult run = agentrt({"tool", "convert", R"({"value":0,"from":"C","to":"K"})", "--json",
                           "--plugin", AGENTRT_EXAMPLE_PLUGIN});
  ASSERT_EQ(run.code, 0) << run.err;
  json result = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(result.is_object()) << run.out;
  EXPECT_EQ(result.at("ok"), true);
  EXPECT_EQ(result.at("truncated"), false);
  EXPECT_DOUBLE_EQ(result.at("data").at("value").get<double>(), 273.15);
}

TEST(CliTools, BatchAnswersEveryLineInOrderAndSurvivesBadLines) {
  const std::string calls =
      R"({"name": "convert", "arguments": {"value": 1, "from": "mi", "to": "km"}})"
      "\nnot json\n"
      R"({"name": "nope", "arguments": {}})"
      "\n"
      R"({"name": "convert", "arguments": {"value": "x"}})"
      "\n"
      R"({"name": "convert", "arguments": {"value": 0, "from": "C", "to": "K"}})"
      "\n";
  RunResult run =
      agentrt::test::run_agentrt({"tool", "--batch", "--plugin", AGENTRT_EXAMPLE_PLUGIN}, calls);
  ASSERT_EQ(run.code, 0) << run.err;
  std::vector<json> lines;
  for (size_t start = 0, end; (end = run.out.find('\n', start)) != std::string::npos;
       start = end + 1) {
    lines.push_back(json::parse(run.out.substr(start, end - start)));
  }
  ASSERT_EQ(lines.size(), 5u) << run.out;
  EXPECT_EQ(lines[0].at("ok"), true);
  EXPECT_EQ(lines[0].at("text"), "1 mi = 1.609344 km");
  EXPECT_EQ(lines[1].at("ok"), false);
  EXPECT_TRUE(contains(lines[1].at("text").get<std::string>(), "not a call"));
  EXPECT_TRUE(contains(lines[2].at("text").get<std::string>(), "unknown tool \"nope\""));
  EXPECT_TRUE(contains(lines[3].at("text").get<std::string>(), "invalid arguments"));
  EXPECT_EQ(lines[4].at("ok"), true);
  EXPECT_DOUBLE_EQ(lines[4].at("data").at("value").get<double>(), 273.15);
}

TEST(CliTools, BatchTakesNoToolName) {
  RunResult run = agentrt({"tool", "--batch", "calculator"});
  EXPECT_EQ(run.code, 2);
  EXPECT_TRUE(contains(run.err, "--batch reads the calls from stdin")) << run.err;
  run = agentrt({"tool"});
  EXPECT_EQ(run.code, 2);
  EXPECT_TRUE(contains(run.err, "a tool name is required")) << run.err;
}

TEST(CliTools, ToolErrorExitsOne) {
  RunResult run = agentrt({"tool", "--plugin", AGENTRT_EXAMPLE_PLUGIN, "convert",
                           R"({"value":1,"from":"kg","to":"km"})"});
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_TRUE(contains(run.err, "cannot convert kg (mass) to km (length)")) << run.err;
}

TEST(CliTools, BadUsageExitsTwo) {
  RunResult bad_json =
      agentrt({"tool", "--plugin", AGENTRT_EXAMPLE_PLUGIN, "convert", "{value: 1"});
  EXPECT_EQ(bad_json.code, 2);
  EXPECT_TRUE(contains(bad_json.err, "invalid JSON arguments")) << bad_json.err;

  RunResult not_object = agentrt({"tool", "--plugin", AGENTRT_EXAMPLE_PLUGIN, "convert", "[1]"});
  EXPECT_EQ(not_object.code, 2);

  RunResult schema =
      agentrt({"tool", "--plugin", AGENTRT_EXAMPLE_PLUGIN, "convert", R"({"value":"1"})"});
  EXPECT_EQ(schema.code, 2);
  EXPECT_TRUE(contains(schema.err, "arguments.value: expected number, got string")) << schema.err;

  RunResult unknown = agentrt({"tool", "--plugin", AGENTRT_EXAMPLE_PLUGIN, "no_such_tool", "{}"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_TRUE(contains(unknown.err, "unknown tool \"no_such_tool\"; available tools:"))
      << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "convert")) << unknown.err;

  RunResult missing_plugin = agentrt({"tools", "--plugin", "/nonexistent/x.so"});
  EXPECT_EQ(missing_plugin.code, 2);
  EXPECT_TRUE(contains(missing_plugin.err, "/nonexistent/x.so")) << missing_plugin.err;

  RunResult bad_set = agentrt({"tools", "--set", "nonsense"});
  EXPECT_EQ(bad_set.code, 2);
  EXPECT_TRUE(contains(bad_set.err, "expected section.key=value")) << bad_set.err;
}

TEST(CliTools, HungToolTimesOutAndTheProcessExits) {
  auto start = std::chrono::steady_clock::now();
  RunResult run = agentrt({"tool", "--set", "tools.deadline_ms=200", "--plugin",
                           AGENTRT_SLEEPER_PLUGIN, "sleep", R"({"ms": 20000})"});
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(run.code, 1) << run.err;
  EXPECT_TRUE(contains(run.err, "tool \"sleep\" timed out after 200 ms")) << run.err;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(CliTools, RepeatedSetOptionsAllApply) {
  RunResult run = agentrt({"tool", "--set", "tools.deadline_ms=5000", "--set",
                           "tools.max_output_bytes=5", "--plugin", AGENTRT_EXAMPLE_PLUGIN,
                           "convert", R"({"value":1,"from":"mi","to":"km"})", "--json"});
  ASSERT_EQ(run.code, 0) << run.err;
  json result = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(result.is_object()) << run.out;
  EXPECT_EQ(result.at("truncated"), true);
  EXPECT_TRUE(contains(result.at("text").get<std::string>(), "output truncated")) << run.out;
}

}  // namespace
