// react parsing and a table of malformed model output.
#include <gtest/gtest.h>

#include "malformed_table.h"

namespace agentrt::agent {
namespace {

using test::Malformed;

std::string action(const std::string& name, const std::string& input) {
  return "Thought: I should use a tool.\nAction: " + name + "\nAction Input: " + input + "\n";
}

TEST(ReactParse, ActionWithMultiLineJson) {
  auto registry = test::agent_registry();
  auto turn = dialect_by_name("react")->parse(
      "Thought: compute it\nAction: calculator\nAction Input: {\n  \"expression\": "
      "\"3.5^2*pi\"\n}\n",
      registry.get());
  ASSERT_EQ(turn.calls.size(), 1u);
  EXPECT_TRUE(turn.calls[0].valid()) << turn.calls[0].error;
  EXPECT_EQ(turn.thoughts, "compute it");
  EXPECT_EQ(turn.calls[0].call.arguments, nlohmann::json({{"expression", "3.5^2*pi"}}));
}

TEST(ReactParse, MalformedOutputTable) {
  const std::string calc = action("calculator", R"({"expression": "2+2"})");
  const std::vector<Malformed> table = {
      {"empty output", "", {"empty"}},
      {"only whitespace", "\n \n\t", {"empty"}},
      {"final answer", "Thought: I know it.\nFinal Answer: 4", {}, "4"},
      {"final answer over several lines", "Final Answer: 4\nbecause 2+2=4", {}, "4\nbecause 2+2=4"},
      {"final answer cut by the limit", "Final Answer: it is", {}, "it is", true},
      {"empty final answer", "Thought: hmm\nFinal Answer:   ", {"is empty"}},
      {"no action and no answer", "The answer is 4.", {"no \"Action:\" or \"Final Answer:\""}},
      {"only a thought", "Thought: let me think", {"no \"Action:\""}},
      {"cut off before acting", "Thought: let me", {"token limit"}, {}, true},
      {"truncated JSON", action("calculator", R"({"expression": "2+)"), {"malformed JSON"}},
      {"truncated JSON at the limit",
       "Action: calculator\nAction Input: {\"expression\": \"2+",
       {"token limit"},
       {},
       true},
      {"action without input", "Thought: x\nAction: calculator\n", {"has no \"Action Input:\""}},
      {"action cut before its input",
       "Action: calculator\n",
       {"cut off by the token limit"},
       {},
       true},
      {"action names no tool", action("", R"({"expression": "1"})"), {"names no tool"}},
      {"input without action",
       "Thought: x\nAction Input: {\"expression\": \"1\"}\n",
       {"without an \"Action:\""}},
      {"input is an array", action("calculator", "[1, 2]"), {"must be a JSON object, got array"}},
      {"input is a JSON string",
       action("calculator", "\"2+2\""),
       {"must be a JSON object, got string"}},
      {"bare input for a one-argument tool", action("calculator", "2+2"), {""}},
      {"bare input for an unknown tool", action("weather", "Paris"), {"unknown tool \"weather\""}},
      {"unknown tool",
       action("weather", R"({"city": "Paris"})"),
       {"unknown tool \"weather\"; available tools: calculator, search, solver"}},
      {"argument of the wrong type",
       action("calculator", R"({"expression": 4})"),
       {"arguments.expression: expected string"}},
      {"required argument missing", action("calculator", "{}"), {"expression"}},
      {"unexpected argument",
       action("calculator", R"({"expression": "1", "x": 1})"),
       {"invalid arguments for tool \"calculator\""}},
      {"two actions, the second bad", calc + action("weather", "{}"), {"", "unknown tool"}},
      {"action wins over an answer", calc + "Final Answer: 4", {""}},
      {"model invents the observation",
       calc + "Observation: 4\nThought: done\nFinal Answer: 4",
       {""}},
      {"garbage before",
       "I will compute.\nAction: calculator\nAction Input: {\"expression\": \"1\"}",
       {""}},
      {"garbage after the JSON", calc + "and then some words\n", {""}},
      {"indented lines",
       "  Thought: x\n  Action: calculator\n  Action Input: {\"expression\": \"1\"}",
       {""}},
      {"single quotes", action("calculator", "{'expression': '1'}"), {"malformed JSON"}},
      {"tool name with junk",
       action("calculator[2+2]", R"({"expression": "1"})"),
       {"unknown tool \"calculator[2+2]\""}},
      {"unicode arguments", action("search", R"({"query": "北京 人口 😀"})"), {""}},
      {"unicode answer", "Final Answer: 答案是 42 🎉", {}, "答案是 42 🎉"},
      {"invalid UTF-8 answer", "Final Answer: \xff\xfe", {}, "\xff\xfe"},
      {"deeply nested input",
       action("calculator", test::nested_arguments(100000)),
       {"nested more than 64 levels"}},
      {"extremely long output", std::string(200000, 'z'), {"no \"Action:\""}},
      {"extremely long argument",
       action("calculator", "{\"expression\": \"" + std::string(100000, '1') + "\"}"),
       {""}},
  };
  EXPECT_GE(table.size(), 30u);
  test::check_malformed(*dialect_by_name("react"), table);
}

}  // namespace
}  // namespace agentrt::agent
