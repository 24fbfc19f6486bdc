// The planning loop, driven by a scripted model: steps, prefill of only the new text, error
// observations, parallel calls, the loop guard, budgets, deadline, cancellation, context full.
#include <gtest/gtest.h>

#include <stop_token>

#include "agent_tools.h"
#include "agentrt/agent/agent.h"
#include "scripted_model.h"

namespace agentrt::agent {
namespace {

using test::ScriptedModel;

std::string call(const std::string& expression) {
  return "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"" + expression +
         "\"}}\n</tool_call>";
}

Task make_task(int max_steps = 8) {
  Task task;
  task.name = "t";
  task.prompt = "What is 2+2?";
  task.max_steps = max_steps;
  return task;
}

class LoopTest : public ::testing::Test {
 protected:
  std::unique_ptr<tools::Registry> registry_ = test::agent_registry();
  std::unique_ptr<Dialect> chatml_ = dialect_by_name("chatml");
};

TEST_F(LoopTest, CallThenAnswerPrefillsOnlyEachStepsNewText) {
  ScriptedModel model({call("2+2"), "It is 4."});
  std::vector<int> seen;
  RunOptions options;
  options.on_step = [&](const Step& s) { seen.push_back(s.index); };
  const RunResult r = run(model, *chatml_, *registry_, make_task(), options);

  EXPECT_EQ(r.outcome, Outcome::answered) << r.reason;
  EXPECT_EQ(r.answer, "It is 4.");
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
  EXPECT_EQ(r.tools_called, (std::vector<std::string>{"calculator"}));
  ASSERT_EQ(r.steps[0].calls.size(), 1u);
  EXPECT_TRUE(r.steps[0].calls[0].valid);
  EXPECT_EQ(r.steps[0].calls[0].result.text, R"({"expression":"2+2"})");

  // Each step appended exactly its prompt delta, nothing was rewound, and step 2's delta is the
  // end of the assistant turn, the result and the generation prompt only.
  ASSERT_EQ(model.appended.size(), 2u);
  EXPECT_EQ(model.rewinds, 0);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(model.appended[k], r.steps[k].prompt_delta);
    EXPECT_EQ(r.steps[k].n_prefill, static_cast<int64_t>(r.steps[k].prompt_delta.size()));
  }
  EXPECT_EQ(r.steps[1].prompt_delta,
            "<|im_end|>\n<|im_start|>user\n<tool_response>\n{\"name\": \"calculator\", "
            "\"content\": \"{\\\"expression\\\":\\\"2+2\\\"}\"}\n</tool_response><|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_LT(r.steps[1].n_prefill, r.steps[0].n_prefill);
  EXPECT_EQ(r.n_prefill + r.n_generated, model.n_tokens());
  EXPECT_EQ(r.steps[1].context_tokens, model.n_tokens());

  // The context is exactly the rendered conversation.
  std::vector<Message> before_answer(r.messages.begin(), r.messages.end() - 1);
  EXPECT_EQ(model.context(), chatml_->render(before_answer, tool_specs(*registry_),
                                             {.add_generation_prompt = true}) +
                                 "It is 4.");
}

TEST_F(LoopTest, MalformedCallIsFedBackAndTheRunGoesOn) {
  ScriptedModel model(
      {"<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": 5}}"
       "\n</tool_call>",
       "<tool_call>\n{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>", "4"});
  const RunResult r = run(model, *chatml_, *registry_, make_task());
  EXPECT_EQ(r.outcome, Outcome::answered) << r.reason;
  ASSERT_EQ(r.steps.size(), 3u);
  ASSERT_EQ(r.steps[0].calls.size(), 1u);
  EXPECT_FALSE(r.steps[0].calls[0].valid);
  EXPECT_NE(r.steps[0].calls[0].result.text.find("invalid arguments"), std::string::npos);
  EXPECT_NE(r.steps[1].prompt_delta.find("invalid arguments"), std::string::npos);
  EXPECT_NE(r.steps[2].prompt_delta.find("nope"), std::string::npos);
  EXPECT_TRUE(r.tools_called.empty());
}

TEST_F(LoopTest, ParallelCallsAnswerInOrder) {
  ScriptedModel model({call("1+1") + "\n" + call("2+2") + "\n" + call("3+3"), "done"});
  const RunResult r = run(model, *chatml_, *registry_, make_task());
  ASSERT_EQ(r.steps.size(), 2u);
  ASSERT_EQ(r.steps[0].calls.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const std::string e = std::to_string(i + 1) + "+" + std::to_string(i + 1);
    EXPECT_EQ(r.steps[0].calls[static_cast<std::size_t>(i)].result.text,
              "{\"expression\":\"" + e + "\"}");
  }
  const std::string& delta = r.steps[1].prompt_delta;
  EXPECT_LT(delta.find("1+1"), delta.find("2+2"));
  EXPECT_LT(delta.find("2+2"), delta.find("3+3"));
}

TEST_F(LoopTest, SameCallThreeTimesInARowEndsTheRun) {
  ScriptedModel model({call("2+2")});
  const RunResult r = run(model, *chatml_, *registry_, make_task(10));
  EXPECT_EQ(r.outcome, Outcome::loop);
  EXPECT_EQ(r.steps.size(), 3u);
  EXPECT_NE(r.reason.find("3 times in a row"), std::string::npos) << r.reason;
  EXPECT_EQ(r.tools_called.size(), 2u);  // the third call is not run
}

TEST_F(LoopTest, DifferentArgumentsAreNotALoop) {
  ScriptedModel model({call("1"), call("2"), call("1"), call("2"), call("1")});
  const RunResult r = run(model, *chatml_, *registry_, make_task(5));
  EXPECT_EQ(r.outcome, Outcome::max_steps) << r.reason;
  EXPECT_EQ(r.steps.size(), 5u);
  EXPECT_NE(r.reason.find("5 steps"), std::string::npos);
}

TEST_F(LoopTest, TokenBudgetStopsTheRun) {
  ScriptedModel model({call("1"), call("2"), call("3"), call("4")});
  RunOptions options;
  options.token_budget = 1200;  // the first prompt is ~700 bytes, each step adds ~250
  const RunResult r = run(model, *chatml_, *registry_, make_task(10), options);
  EXPECT_EQ(r.outcome, Outcome::token_budget) << r.reason;
  EXPECT_LE(r.n_prefill + r.n_generated, 1200 + 300);
  EXPECT_GE(r.steps.size(), 1u);
}

// A step whose tool result is 40 lines of 22 bytes ("line 07 of the result\n").
class FitTest : public LoopTest {
 protected:
  FitTest() {
    for (int i = 0; i < 40; ++i)
      lines_ += "line " + std::string(i < 10 ? "0" : "") + std::to_string(i) + " of the result\n";
    options_.call_tools = [this](int, const std::vector<tools::CallRequest>& requests) {
      return std::vector<tools::ToolResult>(requests.size(), tools::ToolResult::success(lines_));
    };
    // The context a run needs with the whole result: step 1's context plus step 2's delta.
    ScriptedModel roomy({call("1"), "Done."});
    const RunResult r = run(roomy, *chatml_, *registry_, make_task(), options_);
    whole_ = r.steps.at(0).context_tokens + static_cast<int64_t>(r.steps.at(1).prompt_delta.size());
  }
  std::string lines_;
  RunOptions options_;
  int64_t whole_ = 0;
};

TEST_F(FitTest, NewResultsKeepTheMostLinesThatLeaveRoomForTheReply) {
  const int64_t n_ctx = whole_ - 200;
  ScriptedModel model({call("1"), "Done."}, n_ctx);
  const RunResult r = run(model, *chatml_, *registry_, make_task(), options_);
  ASSERT_EQ(r.outcome, Outcome::answered) << r.reason;
  EXPECT_EQ(r.answer, "Done.");

  const tools::ToolResult& result = r.steps.at(0).calls.at(0).result;
  EXPECT_TRUE(result.truncated);
  const std::size_t kept = result.text.find('[') / 22;
  ASSERT_GT(kept, 0u);
  EXPECT_EQ(result.text, lines_.substr(0, kept * 22) + "[" + std::to_string(40 - kept) +
                             " more lines cut to fit the context]");
  EXPECT_EQ(r.messages.at(3).content, result.text);  // what the model saw
  EXPECT_NE(model.context().find("more lines cut to fit the context]"), std::string::npos);
  // The reply reserve (64) is free, and one more line would have taken it.
  const int64_t needed =
      r.steps[0].context_tokens + static_cast<int64_t>(r.steps[1].prompt_delta.size()) + 64;
  EXPECT_LE(needed, n_ctx);
  EXPECT_GT(needed + 22, n_ctx);
}

TEST_F(FitTest, ResultsThatFitAreNotTouched) {
  ScriptedModel model({call("1"), "Done."}, whole_ + 64);
  const RunResult r = run(model, *chatml_, *registry_, make_task(), options_);
  ASSERT_EQ(r.outcome, Outcome::answered) << r.reason;
  EXPECT_FALSE(r.steps.at(0).calls.at(0).result.truncated);
  EXPECT_EQ(r.steps[0].calls[0].result.text, lines_);
}

TEST_F(FitTest, NoReserveMeansNoCut) {
  options_.reply_reserve = 0;
  ScriptedModel model({call("1"), "Done."}, whole_ - 200);
  const RunResult r = run(model, *chatml_, *registry_, make_task(), options_);
  EXPECT_EQ(r.outcome, Outcome::context_full) << r.reason;
  EXPECT_FALSE(r.steps.at(0).calls.at(0).result.truncated);
}

TEST_F(FitTest, WhenEvenTheNoteDoesNotFitTheResultStaysWholeAndTheContextIsFull) {
  ScriptedModel model({call("1"), "Done."}, whole_ - static_cast<int64_t>(lines_.size()) + 40);
  const RunResult r = run(model, *chatml_, *registry_, make_task(), options_);
  EXPECT_EQ(r.outcome, Outcome::context_full) << r.reason;
  EXPECT_EQ(r.steps.at(0).calls.at(0).result.text, lines_);
  EXPECT_FALSE(r.steps[0].calls[0].result.truncated);
}

TEST_F(LoopTest, ContextFullIsAClearOutcome) {
  ScriptedModel model({call("1"), call("2"), call("3"), call("4")}, 900);
  const RunResult r = run(model, *chatml_, *registry_, make_task(10));
  EXPECT_EQ(r.outcome, Outcome::context_full) << r.reason;
  EXPECT_NE(r.reason.find("context full"), std::string::npos);
  EXPECT_LE(model.n_tokens(), 900);
  EXPECT_EQ(model.rewinds, 0);
}

TEST_F(LoopTest, DeadlineStopsTheRun) {
  ScriptedModel model({call("1"), call("2"), call("3"), call("4")});
  model.delay = std::chrono::milliseconds(30);
  RunOptions options;
  options.deadline = std::chrono::milliseconds(50);
  const RunResult r = run(model, *chatml_, *registry_, make_task(10), options);
  EXPECT_EQ(r.outcome, Outcome::deadline) << r.reason;
  EXPECT_LE(r.steps.size(), 2u);
}

TEST_F(LoopTest, CancellationStopsBeforeTheNextStep) {
  ScriptedModel model({call("1"), call("2"), call("3")});
  std::stop_source source;
  RunOptions options;
  options.stop = source.get_token();
  options.on_step = [&](const Step&) { source.request_stop(); };
  const RunResult r = run(model, *chatml_, *registry_, make_task(10), options);
  EXPECT_EQ(r.outcome, Outcome::cancelled);
  EXPECT_EQ(r.steps.size(), 1u);
}

TEST_F(LoopTest, CancellationDuringGenerationStopsTheStep) {
  ScriptedModel model({call("1")});
  std::stop_source source;
  RunOptions options;
  options.stop = source.get_token();
  options.on_text = [&](int, std::string_view) { source.request_stop(); };
  const RunResult r = run(model, *chatml_, *registry_, make_task(10), options);
  EXPECT_EQ(r.outcome, Outcome::cancelled);
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.steps[0].end, GenerationEnd::cancelled);
  EXPECT_TRUE(r.tools_called.empty());
}

TEST_F(LoopTest, TaskToolsAreTheOnlyOnesOffered) {
  Task task = make_task();
  task.tools = {"calculator"};
  ScriptedModel model(
      {"<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"x\"}}\n"
       "</tool_call>",
       "ok"});
  const RunResult r = run(model, *chatml_, *registry_, task);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].prompt_delta.find("search"), std::string::npos);
  ASSERT_EQ(r.steps[0].calls.size(), 1u);
  EXPECT_FALSE(r.steps[0].calls[0].valid);

  task.tools = {"calculator", "teleport"};
  EXPECT_THROW(run(model, *chatml_, *registry_, task), TaskError);
}

TEST_F(LoopTest, ModelTextPastTheRenderIsRewound) {
  // A model whose context ends with text the dialect does not render next (as when a token
  // straddles the stop sequence): the loop drops just that before appending.
  class Overshoot final : public ModelContext {
   public:
    ScriptedModel inner{{call("1"), "fin"}};
    std::string describe() const override { return "overshoot"; }
    const std::string& context() const override { return inner.context(); }
    int64_t n_tokens() const override { return inner.n_tokens(); }
    int64_t n_ctx() const override { return inner.n_ctx(); }
    void rewind(std::size_t n) override { inner.rewind(n); }
    AppendOutcome append(std::string_view t) override { return inner.append(t); }
    GenerationOutcome generate(int m, const std::vector<std::string>& s,
                               const std::function<bool(std::string_view)>& f) override {
      auto out = inner.generate(m, s, f);
      inner.append("<|im_end|>XYZ");
      return out;
    }
  } model;
  const RunResult r = run(model, *chatml_, *registry_, make_task());
  EXPECT_EQ(r.outcome, Outcome::answered);
  EXPECT_EQ(model.inner.rewinds, 1);
  EXPECT_EQ(r.steps[1].rewound_chars, 3u);
  EXPECT_EQ(r.steps[1].prompt_delta.substr(0, 2), "\n<");
}

TEST_F(LoopTest, CallToolsReplacesTheDispatcher) {
  ScriptedModel model({call("1") + "\n" + call("2"), "done"});
  RunOptions options;
  std::vector<int> steps;
  options.call_tools = [&](int step, const std::vector<tools::CallRequest>& requests) {
    steps.push_back(step);
    std::vector<tools::ToolResult> out;
    for (const auto& r : requests) out.push_back(tools::ToolResult::success("recorded " + r.name));
    return out;
  };
  const RunResult r = run(model, *chatml_, *registry_, make_task(), options);
  EXPECT_EQ(steps, std::vector<int>{1});
  ASSERT_EQ(r.steps[0].calls.size(), 2u);
  EXPECT_EQ(r.steps[0].calls[1].result.text, "recorded calculator");
  EXPECT_NE(r.steps[1].prompt_delta.find("recorded calculator"), std::string::npos);
}

TEST_F(LoopTest, ChatTurnsKeepTheContext) {
  ScriptedModel model({"Hello.", call("2+2"), "4."});
  const std::vector<std::string> tools = {"calculator"};
  const RunResult first = continue_run(model, *chatml_, *registry_, {}, "hi", tools);
  EXPECT_EQ(first.answer, "Hello.");
  const RunResult second =
      continue_run(model, *chatml_, *registry_, first.messages, "What is 2+2?", tools);
  EXPECT_EQ(second.outcome, Outcome::answered) << second.reason;
  EXPECT_EQ(second.answer, "4.");
  ASSERT_EQ(second.steps.size(), 2u);
  EXPECT_EQ(second.steps[0].prompt_delta,
            "<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(model.rewinds, 0);
  EXPECT_EQ(second.messages.front().role, Role::system);
  EXPECT_EQ(second.messages.size(), first.messages.size() + 4);  // user, call, result, answer
  EXPECT_THROW(continue_run(model, *chatml_, *registry_, {}, "x", std::vector<std::string>{"nope"}),
               TaskError);
}

TEST_F(LoopTest, ReactDialectRuns) {
  auto react = dialect_by_name("react");
  ScriptedModel model(
      {"Thought: add\nAction: calculator\nAction Input: {\"expression\": \"2+2\"}\n",
       "Thought: done\nFinal Answer: 4"});
  const RunResult r = run(model, *react, *registry_, make_task());
  EXPECT_EQ(r.outcome, Outcome::answered) << r.reason;
  EXPECT_EQ(r.answer, "4");
  EXPECT_EQ(r.tools_called.size(), 1u);
  EXPECT_EQ(model.rewinds, 0);
}

}  // namespace
}  // namespace agentrt::agent
