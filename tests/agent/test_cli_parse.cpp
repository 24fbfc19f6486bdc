// `agentrt parse` as a user runs it: model text on stdin, the parsed turn on stdout.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_agentrt.h"

namespace agentrt::test {
namespace {

TEST(CliParse, ChatmlCallsAsJson) {
  auto run = run_agentrt(
      {"parse", "--dialect", "chatml", "--json"},
      "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"2+2\"}}\n"
      "</tool_call>\n<tool_call>\n{\"name\": \"weather\", \"arguments\": {}}\n</tool_call>");
  EXPECT_EQ(run.code, 1) << run.err;
  auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j.at("dialect"), "chatml");
  EXPECT_TRUE(j.at("answer").is_null());
  ASSERT_EQ(j.at("calls").size(), 2u);
  EXPECT_EQ(j.at("calls")[0].at("name"), "calculator");
  EXPECT_EQ(j.at("calls")[0].at("arguments").at("expression"), "2+2");
  EXPECT_TRUE(j.at("calls")[0].at("valid").get<bool>());
  EXPECT_FALSE(j.at("calls")[1].at("valid").get<bool>());
  EXPECT_NE(j.at("calls")[1].at("error").get<std::string>().find("unknown tool \"weather\""),
            std::string::npos);
}

TEST(CliParse, MossTextOutputAndToolSubset) {
  auto run = run_agentrt({"parse", "--dialect", "moss", "--tools", "calculator"},
                         "<|Inner Thoughts|>: 算一下<eot>\n<|Commands|>: Calculate(\"1+1\"), "
                         "Search(\"x\")");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.out.find("thoughts: 算一下\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("call 1: calculator {\"expression\":\"1+1\"}\n"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("call 2: error: unknown command \"Search\"; available commands: "
                         "Calculate"),
            std::string::npos)
      << run.out;
}

TEST(CliParse, ReactAnswerExitsZero) {
  auto run = run_agentrt({"parse", "--dialect", "react"}, "Thought: easy\nFinal Answer: 4\n");
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "thoughts: easy\nanswer: 4\n");
}

TEST(CliParse, SchemaErrorsComeFromTheBuiltInPlugins) {
  auto run = run_agentrt(
      {"parse", "--json"},
      "<tool_call>{\"name\": \"calculator\", \"arguments\": {\"expression\": 3}}</tool_call>");
  EXPECT_EQ(run.code, 1);
  auto j = nlohmann::json::parse(run.out);
  EXPECT_NE(j.at("calls")[0].at("error").get<std::string>().find("expected string"),
            std::string::npos);
}

TEST(CliParse, UsageErrorsExitTwo) {
  EXPECT_EQ(run_agentrt({"parse", "--dialect", "alpaca"}, "").code, 2);
  auto run = run_agentrt({"parse", "--tools", "nope"}, "hi");
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("--tools: unknown tool \"nope\""), std::string::npos) << run.err;
}

}  // namespace
}  // namespace agentrt::test
