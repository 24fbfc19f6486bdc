// `agentrt run`, `eval` and `trace` as a user runs them, on a random-weight model (its text is
// gibberish, so the tasks fail: this checks the mechanics, exit codes, reports and traces).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "random_model.h"
#include "run_agentrt.h"

namespace agentrt::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class CliRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        new fs::path(fs::temp_directory_path() / ("agentrt_cli_run_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    bench::RandomLlamaSpec spec;
    spec.n_ctx = 2048;
    bench::write_random_llama(*dir_ / "model.gguf", spec);
    std::ofstream(*dir_ / "task.json")
        << R"({"name": "sum", "prompt": "What is 2+2?", "tools": ["calculator"], "max_steps": 3,
              "expect": {"answer_contains": ["4"]}})";
    std::ofstream(*dir_ / "suite.jsonl")
        << R"({"name": "a", "prompt": "What is 2+2?", "tools": ["calculator"], "max_steps": 2})"
        << "\n"
        << R"({"name": "b", "prompt": "What is 3+3?", "tools": ["calculator"], "max_steps": 2})"
        << "\n";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::vector<std::string> common(std::vector<std::string> args) {
    const std::vector<std::string> more = {
        "-m", (*dir_ / "model.gguf").string(), "--dialect", "react", "-n", "12", "-t", "2", "--set",
        db()};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  static std::string db() { return "trace.database=" + (*dir_ / "traces.db").string(); }
  static fs::path* dir_;
};
fs::path* CliRun::dir_ = nullptr;

TEST_F(CliRun, RunReportsStepsAndRecordsATrace) {
  auto run = run_agentrt(common({"run", (*dir_ / "task.json").string(), "--json"}));
  ASSERT_EQ(run.code, 1) << run.err;  // gibberish does not meet `expect`
  const json report = json::parse(run.out);
  EXPECT_EQ(report.at("task"), "sum");
  EXPECT_EQ(report.at("dialect"), "react");
  EXPECT_FALSE(report.at("passed").get<bool>());
  const json& steps = report.at("steps");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(report.at("outcome"), "max_steps");
  for (std::size_t k = 1; k < steps.size(); ++k) {
    EXPECT_GT(steps[k].at("tokens_prefilled").get<int>(), 0);
    EXPECT_LT(steps[k].at("tokens_prefilled").get<int>(),
              steps[0].at("tokens_prefilled").get<int>());
    EXPECT_EQ(steps[k].at("tokens_generated").get<int>(), 12);
  }
  const int64_t id = report.at("trace_run").get<int64_t>();

  auto list = run_agentrt({"trace", "list", "--json", "--set", db()});
  ASSERT_EQ(list.code, 0) << list.err;
  const json runs = json::parse(list.out);
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs[0].at("id"), id);
  EXPECT_EQ(runs[0].at("task"), "sum");
  EXPECT_EQ(runs[0].at("outcome"), "max_steps");
  EXPECT_EQ(runs[0].at("steps"), 3);

  auto show = run_agentrt({"trace", "show", std::to_string(id), "--json", "--set", db()});
  ASSERT_EQ(show.code, 0) << show.err;
  const json shown = json::parse(show.out);
  ASSERT_EQ(shown.at("steps").size(), 3u);
  EXPECT_EQ(shown.at("steps")[1].at("prompt_delta"), steps[1].at("prompt_delta"));
  EXPECT_EQ(shown.at("steps")[2].at("model_text"), steps[2].at("model_text"));
  EXPECT_EQ(shown.at("task_json").at("prompt"), "What is 2+2?");

  auto text = run_agentrt({"trace", "show", std::to_string(id), "--set", db()});
  EXPECT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("--- step 3"), std::string::npos) << text.out;
}

TEST_F(CliRun, ReplayReproducesEveryStepAndNoticesAnotherModel) {
  auto run = run_agentrt(
      common({"run", (*dir_ / "task.json").string(), "--json", "--temp", "0.9", "--seed", "11"}));
  ASSERT_EQ(run.code, 1) << run.err;
  const std::string id = std::to_string(json::parse(run.out).at("trace_run").get<int64_t>());

  // The recorded settings, seed and model path are used: no -m needed.
  auto replay = run_agentrt({"run", "--replay", id, "--json", "--set", db()});
  ASSERT_EQ(replay.code, 0) << replay.err << replay.out;
  const json report = json::parse(replay.out);
  EXPECT_TRUE(report.at("matched").get<bool>());
  EXPECT_EQ(report.at("steps").size(), 3u);

  bench::RandomLlamaSpec spec;
  spec.n_ctx = 2048;
  spec.seed = 99;
  bench::write_random_llama(*dir_ / "other.gguf", spec);
  auto other =
      run_agentrt({"run", "--replay", id, "-m", (*dir_ / "other.gguf").string(), "--set", db()});
  EXPECT_EQ(other.code, 1) << other.err;
  EXPECT_NE(other.out.find("differs"), std::string::npos) << other.out;
}

TEST_F(CliRun, RunShowsEachStepLiveWithoutColourWhenPiped) {
  auto run = run_agentrt(common({"run", (*dir_ / "task.json").string()}));
  EXPECT_EQ(run.code, 1) << run.err;
  EXPECT_NE(run.out.find("step 1\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("[step 3: prefilled "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("FAIL"), std::string::npos);
  EXPECT_EQ(run.out.find("\033["), std::string::npos);
}

TEST_F(CliRun, EvalReportsEveryTaskAndTheSuccessRate) {
  auto run = run_agentrt(common({"eval", (*dir_ / "suite.jsonl").string(), "--json"}));
  ASSERT_EQ(run.code, 1) << run.err;
  const json report = json::parse(run.out);
  EXPECT_EQ(report.at("total"), 2);
  EXPECT_EQ(report.at("success_rate"), 0.0);
  ASSERT_EQ(report.at("tasks").size(), 2u);
  EXPECT_EQ(report.at("tasks")[1].at("task"), "b");
  EXPECT_EQ(report.at("tasks")[1].at("steps").size(), 2u);

  auto table = run_agentrt(common({"eval", (*dir_ / "suite.jsonl").string()}));
  EXPECT_EQ(table.code, 1);
  EXPECT_NE(table.out.find("success rate: 0/2 (0.0%)"), std::string::npos) << table.out;
}

TEST_F(CliRun, ChatKeepsTheContextBetweenMessages) {
  auto run = run_agentrt(common({"chat", "--tools", "calculator"}),
                         "hello\n/tools\nsecond message\n/trace\n/nope\n/reset\nthird\n");
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("  calculator: "), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("  search: "), std::string::npos);
  EXPECT_NE(run.out.find("; runs: "), std::string::npos);
  EXPECT_NE(run.out.find("unknown command /nope"), std::string::npos);
  EXPECT_NE(run.out.find("conversation reset"), std::string::npos);
  // The first step of each message: the second message prefills only its own turn; after
  // /reset the whole prompt again.
  std::vector<long> first_steps;
  for (std::size_t at = 0; (at = run.out.find("[step 1: prefilled ", at)) != std::string::npos;)
    first_steps.push_back(std::stol(run.out.substr(at += 19)));
  ASSERT_EQ(first_steps.size(), 3u) << run.out;
  EXPECT_LT(first_steps[1], first_steps[0] / 4);
  EXPECT_EQ(first_steps[2], first_steps[0]);
  EXPECT_EQ(run_agentrt(common({"chat", "--tools", "teleport"}), "hi\n").code, 2);
}

TEST_F(CliRun, ErrorsExitWithTwo) {
  EXPECT_EQ(run_agentrt(common({"run", (*dir_ / "missing.json").string()})).code, 2);
  EXPECT_EQ(run_agentrt(common({"run", (*dir_ / "suite.jsonl").string()})).code, 2);
  EXPECT_EQ(run_agentrt(common({"run"})).code, 2);  // neither a task nor --replay
  EXPECT_EQ(run_agentrt({"run", "--replay", "999999", "--set", db()}).code, 2);
  auto show = run_agentrt({"trace", "show", "999999", "--set", db()});
  EXPECT_EQ(show.code, 2);
  EXPECT_NE(show.err.find("no run 999999"), std::string::npos) << show.err;
}

}  // namespace
}  // namespace agentrt::test
