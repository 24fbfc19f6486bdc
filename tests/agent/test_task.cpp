// Task files and suites, their error messages, and the expectation checks.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include "agentrt/agent/task.h"

namespace agentrt::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TaskFiles : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agentrt_tasks_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
  std::string error_of(const fs::path& path) {
    try {
      load_tasks(path);
    } catch (const TaskError& e) {
      return e.what();
    }
    return "(no error)";
  }
  fs::path dir_;
};

const char* kCircle = R"({"name": "circle-area",
 "prompt": "What is the area of a circle with radius 3.5?",
 "tools": ["calculator"],
 "max_steps": 4,
 "expect": {"answer_contains": ["38.4"],
            "answer_number": {"value": 38.4845, "rel_tol": 0.001},
            "tool_calls": ["calculator"]}})";

TEST_F(TaskFiles, LoadsTheDesignExample) {
  auto tasks = load_tasks(write("circle.json", kCircle));
  ASSERT_EQ(tasks.size(), 1u);
  const Task& t = tasks[0];
  EXPECT_EQ(t.name, "circle-area");
  EXPECT_EQ(t.tools, std::vector<std::string>{"calculator"});
  EXPECT_EQ(t.max_steps, 4);
  EXPECT_EQ(t.expect.answer_contains, std::vector<std::string>{"38.4"});
  ASSERT_TRUE(t.expect.answer_number);
  EXPECT_DOUBLE_EQ(t.expect.answer_number->value, 38.4845);
  EXPECT_DOUBLE_EQ(t.expect.answer_number->rel_tol, 0.001);
  EXPECT_FALSE(t.expect.max_tool_calls);
}

TEST_F(TaskFiles, DefaultsAndNamesFromTheFile) {
  auto tasks =
      load_tasks(write("hello.json", R"({"prompt": "Say hi", "expect": {"max_tool_calls": 0}})"));
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].name, "hello");
  EXPECT_EQ(tasks[0].max_steps, 8);
  EXPECT_TRUE(tasks[0].tools.empty());
  EXPECT_EQ(tasks[0].expect.max_tool_calls, 0);
}

TEST_F(TaskFiles, LoadsJsonlSuitesSkippingBlankLines) {
  auto tasks = load_tasks(write("suite.jsonl",
                                "{\"name\": \"a\", \"prompt\": \"1+1?\"}\n\n"
                                "{\"prompt\": \"2+2?\"}\n"));
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[1].name, "suite:3");
  EXPECT_EQ(tasks[1].source, (dir_ / "suite.jsonl").string() + ":3");
}

TEST_F(TaskFiles, LoadsAFolderInNameOrder) {
  write("b.json", R"({"prompt": "b"})");
  write("a.jsonl", "{\"prompt\": \"a1\"}\n{\"prompt\": \"a2\"}\n");
  write("notes.txt", "ignored");
  auto tasks = load_tasks(dir_);
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0].prompt, "a1");
  EXPECT_EQ(tasks[2].prompt, "b");
}

TEST_F(TaskFiles, ErrorsNameTheFileLineAndProblem) {
  const std::string jsonl = (dir_ / "bad.jsonl").string();
  write("bad.jsonl", "{\"prompt\": \"ok\"}\n{\"prompt\": \"oops\",\n");
  EXPECT_EQ(error_of(dir_ / "bad.jsonl"), jsonl + ":2: not valid JSON");

  struct Row {
    std::string text, message;
  };
  const std::vector<Row> rows = {
      {"[1, 2]", "a task must be a JSON object"},
      {"{\"name\": \"x\"}", "the task has no \"prompt\""},
      {"{\"prompt\": 5}", "\"prompt\" must be a non-empty string"},
      {"{\"prompt\": \"p\", \"name\": \"\"}", "\"name\" must be a non-empty string"},
      {"{\"prompt\": \"p\", \"tools\": [1]}", "\"tools\" must be a list of strings"},
      {"{\"prompt\": \"p\", \"max_steps\": -1}", "\"max_steps\" must be a non-negative integer"},
      {"{\"prompt\": \"p\", \"max_steps\": 0}", "\"max_steps\" must be at least 1"},
      {"{\"prompt\": \"p\", \"max_steps\": 2.5}", "\"max_steps\" must be a non-negative integer"},
      {"{\"prompt\": \"p\", \"expected\": {}}", "unknown key \"expected\" in the task"},
      {"{\"prompt\": \"p\", \"expect\": []}", "\"expect\" must be an object"},
      {"{\"prompt\": \"p\", \"expect\": {\"answer\": \"x\"}}",
       "unknown key \"answer\" in \"expect\""},
      {"{\"prompt\": \"p\", \"expect\": {\"answer_number\": {\"rel_tol\": 0.1}}}",
       "\"answer_number\" needs a numeric \"value\""},
      {"{\"prompt\": \"p\", \"expect\": {\"answer_number\": {\"value\": 1, \"rel_tol\": -1}}}",
       "\"rel_tol\" must be a non-negative number"},
      {"{\"prompt\": \"p\", \"expect\": {\"answer_number\": \"12\"}}", "\"answer_number\" must be"},
      {"{\"prompt\": \"p\", \"expect\": {\"max_tool_calls\": \"2\"}}",
       "\"max_tool_calls\" must be a non-negative integer"},
      {"{\"prompt\": \"p\", \"expect\": {\"tool_calls\": {}}}", "\"tool_calls\" must be a list"},
      {"{\"prompt\": ", "not valid JSON"},
  };
  for (const auto& row : rows) {
    const auto path = write("t.json", row.text);
    EXPECT_TRUE(error_of(path).starts_with(path.string() + ": " + row.message))
        << row.text << " -> " << error_of(path);
  }
  EXPECT_NE(error_of(dir_ / "missing.json").find("missing.json: no such file"), std::string::npos);
  fs::create_directories(dir_ / "empty");
  EXPECT_NE(error_of(dir_ / "empty").find("no .json or .jsonl task files"), std::string::npos);
}

TEST_F(TaskFiles, RefusesDuplicateNames) {
  write("s.jsonl", "{\"name\": \"x\", \"prompt\": \"a\"}\n{\"name\": \"x\", \"prompt\": \"b\"}\n");
  EXPECT_NE(error_of(dir_ / "s.jsonl").find("s.jsonl:2: task name \"x\" is used twice"),
            std::string::npos);
}

TEST(ExampleTasks, ShippedExamplesLoad) {
  auto tasks = load_tasks(fs::path(AGENTRT_TEST_DATA) / ".." / ".." / "examples" / "tasks");
  // The README asks for at least 40 example tasks over every tool.
  ASSERT_GE(tasks.size(), 40u);
  std::set<std::string> tools;
  bool circle = false;
  for (const auto& t : tasks) {
    EXPECT_FALSE(t.prompt.empty()) << t.source;
    tools.insert(t.tools.begin(), t.tools.end());
    circle = circle || t.name == "circle-area";
  }
  EXPECT_TRUE(circle);
  for (const char* tool : {"calculator", "solver", "sql", "sql_schema", "search", "simulate"})
    EXPECT_TRUE(tools.contains(tool)) << tool;
}

TEST(NumbersIn, ReadsTheWaysPeopleWriteNumbers) {
  using V = std::vector<double>;
  EXPECT_EQ(numbers_in("The area is 38.48 square units."), V({38.48}));
  EXPECT_EQ(numbers_in("-5 and 7"), V({-5, 7}));
  EXPECT_EQ(numbers_in("It costs $1,234.5 (or 1,234,567 cents)"), V({1234.5, 1234567}));
  EXPECT_EQ(numbers_in("Avogadro: 6.02e23, tiny 1.5E-7"), V({6.02e23, 1.5e-7}));
  EXPECT_EQ(numbers_in("list 1,2,3"), V({1, 2, 3}));
  EXPECT_EQ(numbers_in("range 3-5"), V({3, 5}));
  EXPECT_EQ(numbers_in("x2 is a name, .5 is half, 50% too"), V({0.5, 50}));
  EXPECT_EQ(numbers_in("12,34 is not a thousands group"), V({12, 34}));
  EXPECT_EQ(numbers_in("答案是42。"), V({42}));
  EXPECT_EQ(numbers_in("1e is not an exponent"), V({1}));
  EXPECT_TRUE(numbers_in("no numbers here").empty());
}

Task task_expecting(const std::string& expect_json) {
  return task_from_json(json::parse("{\"prompt\": \"p\", \"expect\": " + expect_json + "}"), "t",
                        "t");
}

TEST(CheckExpectations, AnswerContainsIgnoresCase) {
  auto task = task_expecting(R"({"answer_contains": ["Paris", "france"]})");
  std::vector<std::string> none;
  EXPECT_TRUE(check_expectations(task, "PARIS is in France.", none).empty());
  auto failed = check_expectations(task, "Paris.", none);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].key, "answer_contains");
  EXPECT_EQ(failed[0].reason, "the answer does not contain \"france\"");
}

TEST(CheckExpectations, AnswerNumberWithinRelativeTolerance) {
  auto task = task_expecting(R"({"answer_number": {"value": 38.4845, "rel_tol": 0.001}})");
  std::vector<std::string> none;
  EXPECT_TRUE(check_expectations(task, "About 38.48 m².", none).empty());
  EXPECT_TRUE(check_expectations(task, "r = 3.5, so 38.485", none).empty());
  auto failed = check_expectations(task, "About 38 or 39", none);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason,
            "no number in the answer is within rel_tol 0.001 of 38.4845 (found: 38, 39)");
  EXPECT_EQ(check_expectations(task, "no idea", none)[0].reason,
            "no number in the answer is within rel_tol 0.001 of 38.4845 (no numbers found)");
  auto big = task_expecting(R"({"answer_number": {"value": -1234.5}})");
  EXPECT_TRUE(check_expectations(big, "It is -1,234.5.", none).empty());
  auto zero = task_expecting(R"({"answer_number": {"value": 0, "rel_tol": 0.01}})");
  EXPECT_TRUE(check_expectations(zero, "x = 0.001", none).empty());
  EXPECT_FALSE(check_expectations(zero, "x = 0.1", none).empty());
  auto plain = task_expecting(R"({"answer_number": 6.02e23})");
  EXPECT_TRUE(check_expectations(plain, "6.02E23 molecules", none).empty());
}

TEST(CheckExpectations, ToolCallsAreASubsequence) {
  auto task = task_expecting(R"({"tool_calls": ["search", "calculator"]})");
  std::vector<std::string> ok{"search", "sql", "calculator", "calculator"};
  EXPECT_TRUE(check_expectations(task, "", ok).empty());
  std::vector<std::string> wrong_order{"calculator", "search"};
  auto failed = check_expectations(task, "", wrong_order);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(
      failed[0].reason,
      "the tools called [calculator, search] do not contain [search, calculator] in that order");
}

TEST(CheckExpectations, MaxToolCalls) {
  auto none_allowed = task_expecting(R"({"max_tool_calls": 0})");
  std::vector<std::string> none, two{"calculator", "calculator"};
  EXPECT_TRUE(check_expectations(none_allowed, "hi", none).empty());
  auto failed = check_expectations(none_allowed, "hi", two);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, "2 tool calls were made, at most 0 allowed");
}

TEST(CheckExpectations, EveryFailureIsListed) {
  auto task = task_from_json(json::parse(kCircle), "circle.json", "circle");
  std::vector<std::string> none;
  auto failed = check_expectations(task, "I don't know", none);
  ASSERT_EQ(failed.size(), 3u);
  EXPECT_EQ(failed[0].key, "answer_contains");
  EXPECT_EQ(failed[1].key, "answer_number");
  EXPECT_EQ(failed[2].key, "tool_calls");
  std::vector<std::string> calc{"calculator"};
  EXPECT_TRUE(check_expectations(task, "The area is 38.48.", calc).empty());
}

}  // namespace
}  // namespace agentrt::agent
