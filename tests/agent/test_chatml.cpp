// chatml parsing: calls, answers, and a table of malformed model output.
#include <gtest/gtest.h>

#include "malformed_table.h"

namespace agentrt::agent {
namespace {

using test::Malformed;

const std::string kCalc =
    "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": "
    "\"2+2\"}}\n</tool_call>";

std::string call(const std::string& json) {
  return "<tool_call>\n" + json + "\n</tool_call>";
}

TEST(ChatmlParse, ParallelCallsKeepOrderAndIds) {
  auto registry = test::agent_registry();
  auto turn = dialect_by_name("chatml")->parse(
      "Both at once.\n" + kCalc + "\n" +
          call(R"({"name": "search", "arguments": {"query": "北京", "k": 2}})"),
      registry.get());
  ASSERT_EQ(turn.calls.size(), 2u);
  EXPECT_EQ(turn.thoughts, "Both at once.");
  EXPECT_EQ(turn.calls[0].call.name, "calculator");
  EXPECT_EQ(turn.calls[0].call.id, "call_1");
  EXPECT_EQ(turn.calls[1].call.arguments.at("query"), "北京");
  EXPECT_EQ(turn.calls[1].call.id, "call_2");
  EXPECT_EQ(turn.calls[1].source,
            call(R"({"name": "search", "arguments": {"query": "北京", "k": 2}})"));
}

TEST(ChatmlParse, MalformedOutputTable) {
  const std::string valid_search = call(R"({"name": "search", "arguments": {"query": "x"}})");
  const std::vector<Malformed> table = {
      {"empty output", "", {"empty"}},
      {"only whitespace", " \n\t \n", {"empty"}},
      {"plain answer", "  The answer is 4.  ", {}, "The answer is 4."},
      {"answer cut by the limit", "The answer is", {}, "The answer is", true},
      {"truncated JSON, no close tag",
       "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expr",
       {"not closed"}},
      {"truncated JSON at the token limit",
       "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expr",
       {"token limit"},
       {},
       true},
      {"truncated JSON inside closed tags",
       call(R"({"name": "calculator", "arguments": {"expression": "1+)"),
       {"malformed JSON"}},
      {"missing name", call(R"({"arguments": {"expression": "1"}})"), {"no \"name\""}},
      {"name not a string", call(R"({"name": 5, "arguments": {}})"), {"\"name\" must be"}},
      {"empty name", call(R"({"name": "", "arguments": {}})"), {"\"name\" must be"}},
      {"arguments an array",
       call(R"({"name": "calculator", "arguments": [1, 2]})"),
       {"\"arguments\" must be a JSON object, got array"}},
      {"arguments a number",
       call(R"({"name": "calculator", "arguments": 7})"),
       {"\"arguments\" must be a JSON object, got number"}},
      {"arguments a string holding an object",
       call(R"({"name": "calculator", "arguments": "{\"expression\": \"1+1\"}"})"),
       {""}},
      {"arguments a plain string",
       call(R"({"name": "calculator", "arguments": "1+1"})"),
       {"\"arguments\" must be a JSON object, got string"}},
      {"unknown tool",
       call(R"({"name": "weather", "arguments": {"city": "Paris"}})"),
       {"unknown tool \"weather\"; available tools: calculator, search, solver"}},
      {"argument of the wrong type",
       call(R"({"name": "calculator", "arguments": {"expression": 5}})"),
       {"arguments.expression: expected string"}},
      {"required argument missing",
       call(R"({"name": "calculator", "arguments": {}})"),
       {"expression"}},
      {"unexpected argument",
       call(R"({"name": "calculator", "arguments": {"expression": "1", "mode": "exact"}})"),
       {"invalid arguments for tool \"calculator\""}},
      {"empty query fails minLength",
       call(R"({"name": "search", "arguments": {"query": ""}})"),
       {"invalid arguments for tool \"search\""}},
      {"unclosed tag then a valid call",
       "<tool_call>\n{\"name\": \"calc\n" + valid_search,
       {"opened before the previous one was closed", ""}},
      {"nested tags",
       "<tool_call>\n" + kCalc + "\n</tool_call>",
       {"opened before the previous one was closed", ""}},
      {"garbage before", "Let me think about this... ##\n" + kCalc, {""}},
      {"garbage after", kCalc + "\nI hope that helps!!! }}}", {""}},
      {"stray closing tag", "The answer is 4.</tool_call>", {"without a matching <tool_call>"}},
      {"JSON array instead of object",
       call("[\"calculator\", {\"expression\": \"1\"}]"),
       {"must be a JSON object"}},
      {"JSON string instead of object", call("\"calculator\""), {"got string"}},
      {"empty tool call", "<tool_call></tool_call>", {"is empty"}},
      {"three calls, the middle one bad",
       kCalc + "\n" + call(R"({"name": "weather", "arguments": {}})") + "\n" + valid_search,
       {"", "unknown tool \"weather\"", ""}},
      {"two calls, the first malformed",
       call("{\"name\": calculator}") + "\n" + valid_search,
       {"malformed JSON", ""}},
      {"unicode answer", "答案是 42 🎉", {}, "答案是 42 🎉"},
      {"unicode arguments",
       call(R"({"name": "search", "arguments": {"query": "北京 人口 😀"}})"),
       {""}},
      {"invalid UTF-8 in the answer", "bad \xff\xfe bytes", {}, "bad \xff\xfe bytes"},
      {"invalid UTF-8 inside the JSON",
       call("{\"name\": \"calculator\", \"arguments\": {\"expression\": \"\xff\"}}"),
       {"malformed JSON"}},
      {"extremely long answer", std::string(200000, 'a'), {}, std::string(200000, 'a')},
      {"extremely long argument",
       call(R"({"name": "calculator", "arguments": {"expression": ")" + std::string(100000, '1') +
            "\"}}"),
       {""}},
      {"deeply nested arguments",
       call(R"({"name": "calculator", "arguments": {"expression": )" +
            test::nested_arguments(100000) + "}}"),
       {"nested more than 64 levels"}},
      {"trailing comma",
       call(R"({"name": "calculator", "arguments": {"expression": "1"},})"),
       {"malformed JSON"}},
      {"single quotes",
       call("{'name': 'calculator', 'arguments': {'expression': '1'}}"),
       {"malformed JSON"}},
      {"model invents the tool response",
       kCalc +
           "\n<tool_response>\n{\"name\": \"calculator\", \"content\": \"4\"}\n</tool_response>",
       {""}},
      {"end marker written by the model", "4<|im_end|>\n<|im_start|>user\nmore", {}, "4"},
      {"upper-case tags are just text",
       "<TOOL_CALL>{}</TOOL_CALL>",
       {},
       "<TOOL_CALL>{}</TOOL_CALL>"},
  };
  EXPECT_GE(table.size(), 30u);
  test::check_malformed(*dialect_by_name("chatml"), table);
}

}  // namespace
}  // namespace agentrt::agent
