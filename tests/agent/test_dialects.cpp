// Properties every dialect keeps: prefix-stable rendering, assistant turns that are exactly the
// model's text plus end_of_turn(), parse(render) round trips, and golden text for the trainer.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "agent_tools.h"
#include "agentrt/agent/dialect.h"
#include "agentrt/tools/schema.h"
#include "dialect_test_util.h"

namespace agentrt::agent {
namespace {

using nlohmann::json;

struct Case {
  std::string dialect;
  ToolPrompt prompt;
  std::string conversation;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.dialect << "/" << (c.prompt == ToolPrompt::full ? "full" : "compact") << "/"
      << c.conversation;
}

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return info.param.dialect + "_" + (info.param.prompt == ToolPrompt::full ? "full" : "compact") +
         "_" + info.param.conversation;
}

class DialectProperties : public testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    samples_ = test::sample_conversations();
    messages_ = samples_.conversations.at(GetParam().conversation);
    dialect_ = dialect_by_name(GetParam().dialect);
    options_.tool_prompt = GetParam().prompt;
    registry_ = test::agent_registry();
  }
  std::string render(std::size_t n, bool generation_prompt) const {
    RenderOptions o = options_;
    o.add_generation_prompt = generation_prompt;
    return dialect_->render(std::span(messages_).first(n), samples_.tools, o);
  }

  test::SampleConversations samples_;
  std::vector<Message> messages_;
  std::unique_ptr<Dialect> dialect_;
  RenderOptions options_;
  std::unique_ptr<tools::Registry> registry_;
};

TEST_P(DialectProperties, RenderingIsPrefixStable) {
  for (std::size_t k = 1; k < messages_.size(); ++k) {
    const std::string shorter = render(k, false), longer = render(k + 1, false);
    EXPECT_TRUE(longer.starts_with(shorter)) << "messages 0.." << k << "\n--- shorter:\n"
                                             << shorter << "\n--- longer:\n"
                                             << longer;
    EXPECT_TRUE(render(k, true).starts_with(shorter)) << k;
    if (messages_[k].role == Role::assistant) {
      EXPECT_TRUE(longer.starts_with(render(k, true))) << "generation prompt before message " << k;
    }
  }
}

TEST_P(DialectProperties, AssistantTurnIsModelTextPlusEndOfTurn) {
  const auto stops = dialect_->stop_sequences();
  for (std::size_t k = 0; k < messages_.size(); ++k) {
    const Message& m = messages_[k];
    if (m.role != Role::assistant) continue;
    SCOPED_TRACE("message " + std::to_string(k));
    const std::string prompt = render(k, true), full = render(k + 1, false);
    ASSERT_TRUE(full.starts_with(prompt));
    std::string turn = full.substr(prompt.size());
    const std::string end = dialect_->end_of_turn(m);
    ASSERT_TRUE(turn.ends_with(end)) << turn;
    const std::string model_text = turn.substr(0, turn.size() - end.size());
    // The model can write this text without hitting a stop sequence early.
    for (const auto& stop : stops) EXPECT_EQ(model_text.find(stop), std::string::npos) << stop;

    ParsedTurn parsed = dialect_->parse(model_text, registry_.get());
    EXPECT_FALSE(parsed.has_errors()) << model_text;
    // chatml and gemma have no place for thoughts beside an answer: they are part of its text.
    const bool answer_holds_thoughts =
        (GetParam().dialect == "chatml" || GetParam().dialect == "gemma") && m.tool_calls.empty();
    EXPECT_EQ(parsed.thoughts, answer_holds_thoughts ? std::string() : m.thoughts);
    ASSERT_EQ(parsed.calls.size(), m.tool_calls.size()) << model_text;
    for (std::size_t i = 0; i < m.tool_calls.size(); ++i) {
      EXPECT_EQ(parsed.calls[i].call.name, m.tool_calls[i].name);
      json expected = m.tool_calls[i].arguments;
      if (GetParam().dialect == "moss") expected.erase("k");  // MOSS calls carry one string
      EXPECT_EQ(parsed.calls[i].call.arguments, expected);
    }
    if (m.tool_calls.empty() && !m.content.empty()) {
      ASSERT_TRUE(parsed.is_answer()) << model_text;
      EXPECT_EQ(*parsed.answer, m.content);
    }
    // The message the loop records from the model's text renders to the same conversation.
    std::vector<Message> recorded(messages_.begin(), messages_.begin() + k + 1);
    recorded[k] = parsed.to_message(model_text);
    EXPECT_EQ(dialect_->render(recorded, samples_.tools, options_), full);
  }
}

TEST_P(DialectProperties, MatchesGoldenText) {
  std::string file = GetParam().dialect;
  if (GetParam().dialect != "moss") {
    file += GetParam().prompt == ToolPrompt::full ? "-full" : "-compact";
  }
  file += "-" + GetParam().conversation + ".txt";
  const auto path = agentrt::test::test_data() / "dialects" / file;
  const std::string text = render(messages_.size(), false);
  if (const char* update = std::getenv("AGENTRT_UPDATE_GOLDEN"); update && *update) {
    std::ofstream(path, std::ios::binary) << text;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " (AGENTRT_UPDATE_GOLDEN=1 writes it)";
  EXPECT_EQ(text, test::slurp(path)) << path;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const std::string conv : {"circle", "parallel"}) {
    for (auto prompt : {ToolPrompt::full, ToolPrompt::compact}) {
      cases.push_back({"chatml", prompt, conv});
      cases.push_back({"react", prompt, conv});
      cases.push_back({"gemma", prompt, conv});
    }
    cases.push_back({"moss", ToolPrompt::full, conv});
  }
  cases.push_back({"moss", ToolPrompt::full, "moss_none"});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(All, DialectProperties, testing::ValuesIn(all_cases()), case_name);

TEST(DialectFactory, KnowsTheBuiltInDialects) {
  EXPECT_EQ(dialect_names(), (std::vector<std::string>{"chatml", "moss", "react", "gemma"}));
  for (const auto& name : dialect_names()) EXPECT_EQ(dialect_by_name(name)->name(), name);
  try {
    dialect_by_name("llama3");
    FAIL() << "expected DialectError";
  } catch (const DialectError& e) {
    EXPECT_NE(std::string(e.what()).find("chatml, moss, react, gemma"), std::string::npos);
  }
}

TEST(DialectChooser, OverrideThenMetadataThenTemplateThenDefault) {
  EXPECT_EQ(choose_dialect("react", "moss", "<|im_start|>").name, "react");
  EXPECT_EQ(choose_dialect("react", "", "").reason, "--dialect");
  EXPECT_EQ(choose_dialect("", "moss", "<|im_start|>").name, "moss");
  EXPECT_EQ(choose_dialect("", "moss", "").reason, "agentrt.chat.dialect");
  EXPECT_EQ(choose_dialect("", "", "{% for m in messages %}<|im_start|>{{m.role}}").name, "chatml");
  EXPECT_EQ(choose_dialect("", "", "{{ '<|Human|>: ' + m.content + '<eoh>' }}").name, "moss");
  EXPECT_EQ(choose_dialect("", "", "Thought: ... Action Input: ...").name, "react");
  EXPECT_EQ(choose_dialect("", "", "{{ '<start_of_turn>' + role + '\\n' }}").name, "gemma");
  // A gemma3 model without metadata or template gets the gemma dialect; metadata still wins.
  const auto by_arch = choose_dialect("", "", "", "gemma3");
  EXPECT_EQ(by_arch.name, "gemma");
  EXPECT_EQ(by_arch.reason, "architecture");
  EXPECT_EQ(choose_dialect("", "chatml", "", "gemma3").name, "chatml");
  EXPECT_EQ(choose_dialect("react", "", "", "gemma3").name, "react");
  EXPECT_EQ(choose_dialect("", "", "", "llama").name, "chatml");
  auto fallback = choose_dialect("", "", "[INST] {{ m }} [/INST]");
  EXPECT_EQ(fallback.name, "chatml");
  EXPECT_EQ(fallback.reason, "default");
  EXPECT_THROW(choose_dialect("", "alpaca", ""), DialectError);
  EXPECT_THROW(choose_dialect("alpaca", "", ""), DialectError);
  EXPECT_EQ(tool_prompt_from_name("compact"), ToolPrompt::compact);
  EXPECT_THROW(tool_prompt_from_name("short"), DialectError);
}

TEST(ChatmlRender, MatchesTheDesignExample) {
  auto samples = test::sample_conversations();
  auto dialect = dialect_by_name("chatml");
  const auto& messages = samples.conversations.at("circle");
  std::string text = dialect->render(std::span(messages).subspan(1), {}, {});
  EXPECT_EQ(text,
            "<|im_start|>user\nWhat is the area of a circle with radius 3.5?<|im_end|>\n"
            "<|im_start|>assistant\n<tool_call>\n"
            "{\"name\": \"calculator\", \"arguments\": {\"expression\": \"3.5^2*pi\"}}\n"
            "</tool_call><|im_end|>\n"
            "<|im_start|>user\n<tool_response>\n"
            "{\"name\": \"calculator\", \"content\": \"38.48451000647496\"}\n"
            "</tool_response><|im_end|>\n"
            "<|im_start|>assistant\nThe area is about 38.48.<|im_end|>\n");
}

TEST(ChatmlRender, CompactToolLinesListOptionalArguments) {
  auto samples = test::sample_conversations();
  auto dialect = dialect_by_name("chatml");
  RenderOptions options;
  options.tool_prompt = ToolPrompt::compact;
  std::vector<Message> messages{Message::user("hi")};
  std::string text = dialect->render(messages, samples.tools, options);
  EXPECT_NE(text.find("# Tools\n- calculator(expression): Evaluates an arithmetic expression.\n"
                      "- search(query, k?): Searches the documents.\n"),
            std::string::npos)
      << text;
}

TEST(GemmaRender, SystemTextAndToolsOpenTheFirstUserTurn) {
  auto samples = test::sample_conversations();
  auto dialect = dialect_by_name("gemma");
  const auto& messages = samples.conversations.at("circle");
  RenderOptions options;
  options.tool_prompt = ToolPrompt::compact;
  const std::string text = dialect->render(messages, samples.tools, options);
  const std::string expected_start =
      "<start_of_turn>user\n" + messages[0].content + "\n\n# Tools\n- calculator(expression): ";
  EXPECT_TRUE(text.starts_with(expected_start)) << text;
  EXPECT_NE(text.find("<tool_call></tool_call> block per call holding {\"name\": <tool-name>, "
                      "\"arguments\": <args-json-object>}.\n\n" +
                      messages[1].content + "<end_of_turn>\n<start_of_turn>model\n<tool_call>\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("<start_of_turn>system"), std::string::npos) << "Gemma has no system role";
  EXPECT_TRUE(text.ends_with("<end_of_turn>\n<start_of_turn>model\n" + messages.back().content +
                             "<end_of_turn>\n"))
      << text;
  // Without system text or tools, turns are plain Gemma turns.
  std::vector<Message> chat{Message::user("Hi"), Message::answer("Hello!")};
  EXPECT_EQ(dialect->render(chat, {}, {}),
            "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n");
  EXPECT_EQ(dialect->render(std::span(chat).first(1), {}, {.add_generation_prompt = true}),
            "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(dialect->stop_sequences(),
            (std::vector<std::string>{"<end_of_turn>", "<start_of_turn>"}));
}

TEST(GemmaParse, ReadsChatmlToolCallsAndStopsAtEndOfTurn) {
  auto dialect = dialect_by_name("gemma");
  auto registry = test::agent_registry();
  const ParsedTurn calls = dialect->parse(
      "Let me compute.\n<tool_call>\n{\"name\": \"calculator\", \"arguments\": "
      "{\"expression\": \"2+2\"}}\n</tool_call><end_of_turn>ignored",
      registry.get());
  ASSERT_EQ(calls.calls.size(), 1u);
  EXPECT_TRUE(calls.calls[0].valid()) << calls.calls[0].error;
  EXPECT_EQ(calls.calls[0].call.name, "calculator");
  EXPECT_EQ(calls.thoughts, "Let me compute.");
  const ParsedTurn answer = dialect->parse("  It is 4.<end_of_turn>\n<start_of_turn>user", nullptr);
  ASSERT_TRUE(answer.is_answer());
  EXPECT_EQ(*answer.answer, "It is 4.");
  EXPECT_TRUE(
      dialect->parse("<tool_call>{\"name\": \"nope\"}</tool_call>", registry.get()).has_errors());
}

TEST(MessageJson, RoundTrips) {
  Message m = Message::calls({{"call_1", "calculator", {{"expression", "1+1"}}}}, "think");
  m.raw = "raw text";
  Message back = json(m).get<Message>();
  EXPECT_EQ(json(back), json(m));
  EXPECT_THROW(json({{"role", "robot"}, {"content", ""}}).get<Message>(), json::exception);
}

}  // namespace
}  // namespace agentrt::agent

namespace agentrt::agent {
namespace {

// Mutated model output (cut, spliced with markers, bytes flipped) never throws, and every call
// is either valid against the registry or carries an error.
TEST(DialectRobustness, MutatedOutputNeverThrows) {
  auto samples = test::sample_conversations();
  auto registry = test::agent_registry();
  const std::vector<std::string> splices = {"<tool_call>",
                                            "</tool_call>",
                                            "{",
                                            "}",
                                            "\"",
                                            "<|Commands|>: ",
                                            "<eoc>",
                                            "Calculate(\"",
                                            ")",
                                            "Action: ",
                                            "Action Input: ",
                                            "Final Answer: ",
                                            "\n",
                                            "<|MOSS|>: ",
                                            "\xff",
                                            "None"};
  std::mt19937 rng(1234);
  for (const auto& name : dialect_names()) {
    auto dialect = dialect_by_name(name);
    std::vector<std::string> seeds;
    for (const auto& [conv, messages] : samples.conversations) {
      for (std::size_t k = 0; k < messages.size(); ++k) {
        if (messages[k].role != Role::assistant) continue;
        RenderOptions prompt;
        prompt.add_generation_prompt = true;
        const auto before = dialect->render(std::span(messages).first(k), samples.tools, prompt);
        const auto after = dialect->render(std::span(messages).first(k + 1), samples.tools, {});
        seeds.push_back(after.substr(before.size()));
      }
    }
    for (int i = 0; i < 3000; ++i) {
      std::string text = seeds[rng() % seeds.size()];
      for (int m = 0, n = 1 + static_cast<int>(rng() % 3); m < n; ++m) {
        const std::size_t at = text.empty() ? 0 : rng() % text.size();
        switch (rng() % 3) {
          case 0:
            text.resize(at);
            break;
          case 1:
            text.insert(at, splices[rng() % splices.size()]);
            break;
          default:
            if (!text.empty()) text[at] = static_cast<char>(rng() % 256);
        }
      }
      ParseOptions options;
      options.hit_token_limit = rng() % 2;
      ParsedTurn turn;
      ASSERT_NO_THROW(turn = dialect->parse(text, registry.get(), options)) << name << ": " << text;
      for (const auto& c : turn.calls) {
        if (!c.valid()) continue;
        const tools::Tool* tool = registry->find(c.call.name);
        ASSERT_NE(tool, nullptr) << name << ": " << text;
        EXPECT_TRUE(tools::validate(tool->spec().parameters, c.call.arguments).empty());
      }
      std::vector<Message> recorded{Message::user("q"), turn.to_message(text)};
      ASSERT_NO_THROW(dialect->render(recorded, samples.tools, {}));
    }
  }
}

}  // namespace
}  // namespace agentrt::agent
