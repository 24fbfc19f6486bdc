// The planning loop over the real engine: a random-weight model (gibberish, so it exercises the
// mechanics: steps, per-step prefill, accounting, context full) and stories260K when present.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include <unistd.h>

#include "agent_tools.h"
#include "agentrt/agent/agent.h"
#include "random_model.h"
#include "test_support.h"

namespace agentrt::agent {
namespace {

namespace fs = std::filesystem;

Task gibberish_task(int max_steps) {
  Task task;
  task.name = "mechanics";
  task.prompt = "What is 2+2?";
  task.tools = {"calculator"};
  task.max_steps = max_steps;
  return task;
}

void print_steps(const RunResult& r) {
  std::printf("outcome %s (%s)\n", std::string(outcome_name(r.outcome)).c_str(), r.reason.c_str());
  std::printf("step  prefilled  generated  context  model_ms  tool_ms  end\n");
  for (const Step& s : r.steps)
    std::printf("%4d  %9lld  %9lld  %7lld  %8.1f  %7.1f  %s\n", s.index,
                static_cast<long long>(s.n_prefill), static_cast<long long>(s.n_generated),
                static_cast<long long>(s.context_tokens), s.model_ms(), s.tool_ms,
                std::string(generation_end_name(s.end)).c_str());
}

class EngineLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bench::RandomLlamaSpec spec;
    spec.n_ctx = 2048;
    path_ = fs::temp_directory_path() / ("agentrt_loop_" + std::to_string(::getpid()) + ".gguf");
    bench::write_random_llama(path_, spec);
    model_ = engine::Model::load(path_);
  }
  void TearDown() override { fs::remove(path_); }

  fs::path path_;
  std::shared_ptr<const engine::Model> model_;
  std::unique_ptr<tools::Registry> registry_ = test::agent_registry();
  std::unique_ptr<Dialect> react_ = dialect_by_name("react");
};

// ReAct turns a model's gibberish into an error observation, so each step adds an observation
// and a new turn: step k must prefill exactly the tokens of the text step k added.
TEST_F(EngineLoopTest, StepKPrefillsOnlyWhatStepKAdded) {
  engine::Session session(model_, {.n_ctx = 2048, .n_threads = 2});
  engine::Sampler sampler({.temperature = 0.0f, .seed = 7});
  EngineContext context(session, sampler, "random");
  RunOptions options;
  options.max_tokens_per_step = 12;
  options.loop_repeats = 100;  // greedy gibberish may repeat itself; this test wants steps
  const RunResult r = run(context, *react_, *registry_, gibberish_task(5), options);
  print_steps(r);

  ASSERT_EQ(r.outcome, Outcome::max_steps) << r.reason;
  ASSERT_EQ(r.steps.size(), 5u);
  const auto& tokenizer = model_->tokenizer();
  int64_t context_tokens = 0;
  for (const Step& s : r.steps) {
    EXPECT_GT(s.n_prefill, 0);
    EXPECT_GT(s.n_generated, 0);
    if (s.index > 1) {
      // Only the delta: no more tokens than the delta's own tokenization (plus none re-used).
      const auto alone = tokenizer.encode(s.prompt_delta, false, true);
      EXPECT_LE(s.n_prefill, static_cast<int64_t>(alone.size()) + 1) << s.index;
      EXPECT_LT(s.n_prefill, r.steps[0].n_prefill) << s.index;
    }
    EXPECT_GT(s.context_tokens, context_tokens);
    context_tokens = s.context_tokens;
  }
  // The engine evaluated exactly what the steps report: nothing was prefilled twice.
  EXPECT_EQ(session.counters().n_prefill, r.n_prefill);
  EXPECT_EQ(session.counters().n_decode, r.n_generated);
  EXPECT_EQ(static_cast<int64_t>(session.tokens().size()), context.n_tokens());
  // The tokens spell exactly the context text: no dummy-prefix space crept in mid-conversation.
  // (The random vocabulary's decode leaves U+2581 as it is, the dummy prefix included.)
  std::string spelled = tokenizer.decode(session.tokens());
  for (std::size_t at; (at = spelled.find("\u2581")) != std::string::npos;)
    spelled.replace(at, 3, " ");
  ASSERT_FALSE(spelled.empty());
  EXPECT_EQ(spelled.substr(1), context.context());
  EXPECT_LE(context.n_tokens(), r.n_prefill + r.n_generated);
}

TEST_F(EngineLoopTest, ContextFullEndsTheRunClearly) {
  engine::Session session(model_, {.n_ctx = 700, .n_threads = 2});
  engine::Sampler sampler({.temperature = 0.0f, .seed = 7});
  EngineContext context(session, sampler, "random");
  RunOptions options;
  options.max_tokens_per_step = 48;
  options.loop_repeats = 1000;
  const RunResult r = run(context, *react_, *registry_, gibberish_task(100), options);
  print_steps(r);
  EXPECT_EQ(r.outcome, Outcome::context_full) << r.reason;
  EXPECT_NE(r.reason.find("context full"), std::string::npos);
  EXPECT_LE(context.n_tokens(), 700);
  EXPECT_GE(r.steps.size(), 2u);  // it filled up during the run, not at the first prompt
  EXPECT_EQ(session.counters().n_prefill, r.n_prefill);
}

// count_tokens() is what append() would evaluate, at the start (with BOS) and mid-conversation
// (without the dummy-prefix space), and leaves the context alone.
TEST_F(EngineLoopTest, CountTokensIsWhatAppendTakes) {
  engine::Session session(model_, {.n_ctx = 2048, .n_threads = 2});
  engine::Sampler sampler({.temperature = 0.0f, .seed = 7});
  EngineContext context(session, sampler, "random");
  for (const char* text : {"<|im_start|>system\nYou add numbers.", " 12 plus 30 is 42.\nline two",
                           "\n[3 more lines cut to fit the context]"}) {
    const int64_t counted = context.count_tokens(text);
    EXPECT_EQ(context.n_tokens(), static_cast<int64_t>(session.tokens().size()));
    const AppendOutcome appended = context.append(text);
    ASSERT_TRUE(appended.ok);
    EXPECT_EQ(counted, appended.n_tokens) << text;
  }
  EXPECT_EQ(context.count_tokens(""), 0);
}

TEST_F(EngineLoopTest, TokenBudgetIsHonoured) {
  engine::Session session(model_, {.n_ctx = 2048, .n_threads = 2});
  engine::Sampler sampler({.temperature = 0.8f, .seed = 3});
  EngineContext context(session, sampler, "random");
  RunOptions options;
  options.max_tokens_per_step = 32;
  options.token_budget = 600;
  options.loop_repeats = 1000;
  const RunResult r = run(context, *react_, *registry_, gibberish_task(100), options);
  EXPECT_EQ(r.outcome, Outcome::token_budget) << r.reason;
  EXPECT_LE(r.n_generated + r.n_prefill, 600 + 200);
}

TEST(Stories260K, MultiStepRunAccounting) {
  AGENTRT_REQUIRE_SHARED("stories260K/stories260K.gguf");
  auto model = engine::Model::load(::agentrt::test::shared_data() / "stories260K/stories260K.gguf");
  engine::Session session(model, {.n_ctx = 1024, .n_threads = 2});
  engine::Sampler sampler({.temperature = 0.0f, .seed = 1});
  EngineContext context(session, sampler, "stories260K.gguf");
  auto registry = test::agent_registry();
  auto react = dialect_by_name("react");
  RunOptions options;
  options.system_prompt = "Once upon a time";
  options.tool_prompt = ToolPrompt::compact;
  options.max_tokens_per_step = 24;
  options.loop_repeats = 1000;
  const RunResult r = run(context, *react, *registry, gibberish_task(4), options);
  print_steps(r);
  EXPECT_GE(r.steps.size(), 2u);
  EXPECT_EQ(session.counters().n_prefill, r.n_prefill);
  for (std::size_t k = 1; k < r.steps.size(); ++k)
    EXPECT_LT(r.steps[k].n_prefill, r.steps[0].n_prefill);
}

}  // namespace
}  // namespace agentrt::agent
