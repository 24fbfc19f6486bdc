// The default model's training data is rendered by training/gen.py in Python. This checks that
// its text is the C++ renderer's text byte for byte (tests/data/training/generator_golden.json,
// written by `training/gen.py golden`), that the model turns it trains on parse back to the same
// calls and answers, and that the tool descriptions the model was trained on are still the ones
// the built-in plugins offer.
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agentrt/agent/dialect.h"
#include "agentrt/plugins/builtin.h"
#include "agentrt/tools/config.h"
#include "agentrt/tools/registry.h"
#include "dialect_test_util.h"

namespace agentrt::agent {
namespace {

using nlohmann::json;

json golden() {
  return json::parse(
      test::slurp(agentrt::test::test_data() / "training" / "generator_golden.json"));
}

std::vector<tools::ToolSpec> specs_of(const json& all, const json& names) {
  std::vector<tools::ToolSpec> out;
  for (const auto& name : names) {
    const json& t = all.at(name.get<std::string>());
    out.push_back({t.at("name").get<std::string>(), t.at("description").get<std::string>(),
                   t.at("parameters")});
  }
  return out;
}

TEST(TrainingGolden, GeneratorTextIsTheRenderersText) {
  const json data = golden();
  ASSERT_GE(data.at("cases").size(), 10u);
  auto chatml = dialect_by_name("chatml");
  RenderOptions options;
  options.tool_prompt = ToolPrompt::compact;
  for (const auto& c : data.at("cases")) {
    const auto messages = c.at("messages").get<std::vector<Message>>();
    const auto specs = specs_of(data.at("tools"), c.at("tools"));
    EXPECT_EQ(chatml->render(messages, specs, options), c.at("text").get<std::string>())
        << c.at("kind");
  }
}

TEST(TrainingGolden, ModelTurnsParseToTheRecordedCallsAndAnswers) {
  const json data = golden();
  auto chatml = dialect_by_name("chatml");
  tools::Registry registry;
  plugins::register_builtin_plugins(registry, tools::Config{});
  for (const auto& c : data.at("cases")) {
    const auto messages = c.at("messages").get<std::vector<Message>>();
    std::vector<const Message*> assistant;
    for (const auto& m : messages)
      if (m.role == Role::assistant) assistant.push_back(&m);
    const auto& turns = c.at("model_turns");
    ASSERT_EQ(turns.size(), assistant.size()) << c.at("kind");
    for (std::size_t i = 0; i < turns.size(); ++i) {
      const ParsedTurn turn = chatml->parse(turns[i].get<std::string>(), &registry, {});
      const Message& want = *assistant[i];
      ASSERT_EQ(turn.calls.size(), want.tool_calls.size()) << turns[i];
      for (std::size_t k = 0; k < turn.calls.size(); ++k) {
        EXPECT_TRUE(turn.calls[k].valid()) << turn.calls[k].error;
        EXPECT_EQ(turn.calls[k].call.name, want.tool_calls[k].name);
        EXPECT_EQ(turn.calls[k].call.arguments, want.tool_calls[k].arguments);
      }
      if (want.tool_calls.empty()) {
        ASSERT_TRUE(turn.is_answer()) << turns[i];
        EXPECT_EQ(*turn.answer, want.content);
      }
    }
  }
}

TEST(TrainingGolden, TrainedToolDescriptionsAreThePluginsDescriptions) {
  const json data = golden();
  tools::Registry registry;
  plugins::register_builtin_plugins(registry, tools::Config{});
  for (const auto& [name, t] : data.at("tools").items()) {
    const tools::Tool* tool = registry.find(name);
    ASSERT_NE(tool, nullptr) << name;
    EXPECT_EQ(tool->spec().description, t.at("description")) << name;
    EXPECT_EQ(tool->spec().parameters, t.at("parameters")) << name;
  }
}

}  // namespace
}  // namespace agentrt::agent
