// The trace database: a run and its steps round-trip, WAL mode, the config path, and a process
// killed mid-run keeps every finished step.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

#include "agent_tools.h"
#include "agentrt/agent/trace.h"
#include "scripted_model.h"

namespace agentrt::agent {
namespace {

namespace fs = std::filesystem;

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agentrt_trace_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

Step make_step(int index) {
  Step s;
  s.index = index;
  s.prompt_delta = "delta " + std::to_string(index);
  s.model_text = "text " + std::to_string(index);
  s.n_prefill = 10 * index;
  s.n_generated = index;
  s.generated_tokens.assign(static_cast<size_t>(index), 300 + index);
  s.context_tokens = 11 * index;
  s.calls.push_back(
      {.call = {.id = "call_1", .name = "calculator", .arguments = {{"expression", "1"}}},
       .valid = true,
       .result = tools::ToolResult::success("1")});
  return s;
}

TEST_F(TraceTest, RunAndStepsRoundTripInWalMode) {
  const fs::path path = dir_ / "nested" / "traces.db";
  TraceDb db(path);  // creates the folders
  ASSERT_TRUE(fs::exists(path));

  auto registry = test::agent_registry();
  auto chatml = dialect_by_name("chatml");
  test::ScriptedModel model(
      {"<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"2+2\"}}\n"
       "</tool_call>",
       "It is 4."});
  Task task;
  task.name = "sum";
  task.prompt = "What is 2+2?";
  const int64_t id = db.begin_run({.task = task.name,
                                   .prompt = task.prompt,
                                   .task_json = {{"prompt", task.prompt}},
                                   .dialect = "chatml",
                                   .model = model.describe(),
                                   .sampling = {{"temperature", 0.0}},
                                   .seed = 42,
                                   .settings = {{"max_tokens_per_step", 256}}});
  RunOptions options;
  options.on_step = [&](const Step& s) { db.add_step(id, s); };
  const RunResult result = run(model, *chatml, *registry, task, options);
  db.finish_run(id, result, true);

  const auto runs = db.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  const RunRecord& r = runs[0];
  EXPECT_EQ(r.id, id);
  EXPECT_EQ(r.info.task, "sum");
  EXPECT_EQ(r.info.dialect, "chatml");
  EXPECT_EQ(r.info.model, "scripted");
  EXPECT_EQ(r.info.seed, 42u);
  EXPECT_EQ(r.info.settings.at("max_tokens_per_step"), 256);
  EXPECT_EQ(r.info.sampling.at("temperature"), 0.0);
  EXPECT_EQ(r.answer, "It is 4.");
  EXPECT_EQ(r.outcome, "answered");
  EXPECT_EQ(r.passed, std::optional<bool>(true));
  EXPECT_EQ(r.n_steps, 2);
  EXPECT_EQ(r.n_prefill, result.n_prefill);
  EXPECT_FALSE(r.finished_at.empty());

  const auto steps = db.steps(id);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].prompt_delta, result.steps[0].prompt_delta);
  EXPECT_EQ(steps[0].model_text, result.steps[0].model_text);
  EXPECT_EQ(steps[0].end, "eos");  // the scripted outputs carry no stop sequence
  ASSERT_EQ(steps[0].calls.size(), 1u);
  EXPECT_EQ(steps[0].calls[0].at("name"), "calculator");
  EXPECT_EQ(steps[0].calls[0].at("arguments").at("expression"), "2+2");
  EXPECT_EQ(steps[0].calls[0].at("result").at("text"), R"({"expression":"2+2"})");
  EXPECT_EQ(steps[1].answer, std::optional<std::string>("It is 4."));
  EXPECT_EQ(steps[1].n_prefill, result.steps[1].n_prefill);
  EXPECT_FALSE(db.find_run(id + 100).has_value());

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
}

TEST_F(TraceTest, PathComesFromConfig) {
  tools::Config config;
  config.set("trace.database", (dir_ / "x.db").string());
  EXPECT_EQ(TraceDb::path_from_config(config), dir_ / "x.db");
  EXPECT_EQ(TraceDb::path_from_config(tools::Config()), TraceDb::default_path());
  EXPECT_EQ(TraceDb::default_path().filename(), "traces.db");
}

TEST_F(TraceTest, UnwritablePathIsATraceError) {
  fs::create_directories(dir_);
  const fs::path file = dir_ / "file";
  { std::ofstream(file) << "x"; }
  EXPECT_THROW(TraceDb(file / "traces.db"), TraceError);
}

TEST_F(TraceTest, KilledProcessLosesNoFinishedStep) {
  const fs::path path = dir_ / "traces.db";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    try {
      TraceDb db(path);
      const int64_t id = db.begin_run({.task = "killed",
                                       .prompt = "p",
                                       .task_json = {},
                                       .dialect = "chatml",
                                       .model = "m",
                                       .sampling = {},
                                       .seed = 0});
      db.add_step(id, make_step(1));
      db.add_step(id, make_step(2));
      const char byte = 1;
      if (::write(ready[1], &byte, 1) != 1) ::_exit(3);
      for (;;) ::pause();  // killed here, mid-run
    } catch (...) {
      ::_exit(2);
    }
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  TraceDb db(path);
  const auto runs = db.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].info.task, "killed");
  EXPECT_TRUE(runs[0].outcome.empty());
  EXPECT_TRUE(runs[0].finished_at.empty());
  const auto steps = db.steps(runs[0].id);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1].prompt_delta, "delta 2");
  EXPECT_EQ(steps[1].n_prefill, 20);
  EXPECT_EQ(steps[1].tokens, (std::vector<int32_t>{302, 302}));
  EXPECT_EQ(steps[1].calls[0].at("result").at("text"), "1");
}

}  // namespace
}  // namespace agentrt::agent
