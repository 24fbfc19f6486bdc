// moss parsing and rendering details, and a table of malformed model output.
#include <gtest/gtest.h>

#include "dialect_test_util.h"
#include "malformed_table.h"

namespace agentrt::agent {
namespace {

using test::Malformed;

std::string commands(const std::string& text) {
  return "<|Inner Thoughts|>: 需要计算<eot>\n<|Commands|>: " + text;
}

TEST(MossParse, MapsApiNamesToTools) {
  auto registry = test::agent_registry();
  auto turn = dialect_by_name("moss")->parse(
      commands(R"(Search("北京 人口"), Calculate("2^10"), Solve("4/3*pi*r^3=13*x^3", "x"))"),
      registry.get());
  ASSERT_EQ(turn.calls.size(), 3u);
  EXPECT_EQ(turn.thoughts, "需要计算");
  EXPECT_EQ(turn.calls[0].call.name, "search");
  EXPECT_EQ(turn.calls[0].call.arguments, nlohmann::json({{"query", "北京 人口"}}));
  EXPECT_EQ(turn.calls[1].call.name, "calculator");
  EXPECT_EQ(turn.calls[1].call.arguments, nlohmann::json({{"expression", "2^10"}}));
  EXPECT_EQ(turn.calls[2].call.name, "solver");
  EXPECT_EQ(turn.calls[2].call.arguments, nlohmann::json({{"equation", "4/3*pi*r^3=13*x^3; x"}}));
  EXPECT_EQ(turn.calls[2].source, R"(Solve("4/3*pi*r^3=13*x^3", "x"))");
  EXPECT_FALSE(turn.has_errors());
}

TEST(MossParse, NoneMeansNoCallAndNoAnswerYet) {
  auto turn = dialect_by_name("moss")->parse(commands("None"), nullptr);
  EXPECT_TRUE(turn.calls.empty());
  EXPECT_FALSE(turn.answer.has_value());
  EXPECT_EQ(turn.thoughts, "需要计算");
}

TEST(MossRender, DefaultMetaInstructionEnablesOfferedTools) {
  auto samples = test::sample_conversations();
  std::vector<Message> messages{Message::user("hi")};
  auto text = dialect_by_name("moss")->render(messages, samples.tools, {});
  EXPECT_NE(text.find("- Web search: enabled. API: Search(query)\n"
                      "- Calculator: enabled. API: Calculate(expression)\n"
                      "- Equation solver: enabled. API: Solve(equation)\n"
                      "- Text-to-image: disabled.\n"),
            std::string::npos)
      << text;
  EXPECT_TRUE(text.ends_with("- Text-to-speech: disabled.\n<|Human|>: hi<eoh>\n"));
}

TEST(MossRender, ResultsEchoEachCall) {
  std::vector<Message> messages{Message::system("meta\n"),
                                Message::user("q"),
                                Message::calls({{"c1", "calculator", {{"expression", "1+1"}}},
                                                {"c2", "search", {{"query", "say \"hi\""}}}},
                                               "t"),
                                Message::tool_result("calculator", "c1", "'2'"),
                                Message::tool_result("search", "c2", "<|1|>: 'hello'"),
                                Message::answer("done")};
  EXPECT_EQ(dialect_by_name("moss")->render(messages, {}, {}),
            "meta\n<|Human|>: q<eoh>\n<|Inner Thoughts|>: t<eot>\n"
            "<|Commands|>: Calculate(\"1+1\"), Search(\"say \\\"hi\\\"\")<eoc>\n"
            "<|Results|>:\nCalculate(\"1+1\") => '2'\nSearch(\"say \\\"hi\\\"\") =>\n"
            "<|1|>: 'hello'\n<eor>\n<|MOSS|>: done<eom>\n");
}

TEST(MossParse, MalformedOutputTable) {
  const std::vector<Malformed> table = {
      {"empty output", "", {"empty"}},
      {"only whitespace", "  \n \t", {"empty"}},
      {"plain text without markers", "你好！", {}, "你好！"},
      {"unclosed call", commands("Calculate(\"1+"), {"is not closed"}},
      {"call cut off by the token limit", commands("Calculate(\"1+"), {"token limit"}, {}, true},
      {"unquoted argument", commands("Calculate(1+2)"), {"must be quoted strings"}},
      {"Text2Image is unknown here",
       commands("Text2Image(\"a cat\")"),
       {"unknown command \"Text2Image\"; available commands: Search, Calculate, Solve"}},
      {"made-up command", commands("Count(\"AI companies\")"), {"unknown command \"Count\""}},
      {"lower-case command", commands("calculate(\"1\")"), {"unknown command \"calculate\""}},
      {"too many arguments", commands("Calculate(\"1\", \"2\")"), {"takes one argument, got 2"}},
      {"empty search query", commands("Search(\"\")"), {"invalid arguments for tool \"search\""}},
      {"None", commands("None"), {}},
      {"None with a full stop", commands("None."), {}},
      {"None with an explanation", commands("None (no tool is needed)"), {}},
      {"two valid calls", commands("Search(\"a\"), Calculate(\"1+1\")"), {"", ""}},
      {"three calls, the middle one unknown",
       commands("Search(\"a\"), Foo(\"b\"), Calculate(\"2\")"),
       {"", "unknown command", ""}},
      {"numbered calls with comments",
       commands("1. Calculate(\"20/2\")  # 半径\n2. Calculate(\"3*4\")  # 体积"),
       {"", ""}},
      {"junk between calls", commands("Calculate(\"d/dx x^2\") = 0, Solve(\"x^2=4\")"), {"", ""}},
      {"commands without a call", commands("just do it"), {"no command found"}},
      {"empty commands", commands(""), {"is empty"}},
      {"empty commands at the token limit", commands(""), {"token limit"}, {}, true},
      {"thoughts without commands", "<|Inner Thoughts|>: 我在想", {"must be followed by"}},
      {"thoughts cut by the limit", "<|Inner Thoughts|>: 我在想", {"cut off"}, {}, true},
      {"answer", "<|MOSS|>: 等于2。", {}, "等于2。"},
      {"empty answer", "<|MOSS|>: ", {"reply is empty"}},
      {"garbage before", "xx yy <|Commands|>: Calculate(\"1\")", {""}},
      {"garbage after the end marker", commands("Calculate(\"1\")<eoc> blah (\"x\")"), {""}},
      {"nested call", commands("Calculate(Calculate(\"1\"))"), {"must be quoted strings"}},
      {"unicode argument", commands("Search(\"北京 人口 😀\")"), {""}},
      {"escaped quotes", commands(R"(Search("say \"hi\""))"), {""}},
      {"string never closed before a parenthesis", commands("Calculate(\"1+1)"), {"Calculate"}},
      {"spaces around the parentheses", commands("Calculate ( \"1+1\" )"), {""}},
      {"model invents results", commands("Calculate(\"1\")<eoc>\n<|Results|>: '1'<eor>"), {""}},
      {"None then the model answers",
       commands("None<eoc>\n<|Results|>:\nNone\n<eor>\n<|MOSS|>: hi"),
       {},
       "hi"},
      {"calls win over an invented answer", commands("Calculate(\"1\")<eoc>\n<|MOSS|>: 1"), {""}},
      {"extremely long thoughts",
       "<|Inner Thoughts|>: " + std::string(200000, 'x') + "<eot>\n<|Commands|>: Calculate(\"1\")",
       {""}},
      {"extremely long argument",
       commands("Calculate(\"" + std::string(100000, '9') + "\")"),
       {""}},
      {"invalid UTF-8", commands("Search(\"\xff\xfe\")"), {""}},
  };
  EXPECT_GE(table.size(), 30u);
  test::check_malformed(*dialect_by_name("moss"), table);
}

}  // namespace
}  // namespace agentrt::agent
