// `agentrt parse` as a user runs it: model text on stdin, the parsed turn on stdout.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_agentrt.h"

namespace agentrt::test {
namespace {

namespace fs = std::filesystem;

// Runs agentrt ARGS with INPUT on stdin.
RunResult run_with_stdin(std::vector<std::string> args, const std::string& input) {
  const fs::path in =
      fs::temp_directory_path() / ("agentrt_parse_" + std::to_string(::getpid()) + "_" +
                                   std::to_string(std::hash<std::string>{}(input)) + ".in");
  std::ofstream(in, std::ios::binary) << input;
  const std::string out_path = in.string() + ".out", err_path = in.string() + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  args.insert(args.begin(), AGENTRT_CLI);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  RunResult run;
  pid_t pid = 0;
  if (posix_spawn(&pid, AGENTRT_CLI, &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    run.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  run.out = read_file(out_path);
  run.err = read_file(err_path);
  fs::remove(in);
  fs::remove(out_path);
  fs::remove(err_path);
  return run;
}

TEST(CliParse, ChatmlCallsAsJson) {
  auto run = run_with_stdin(
      {"parse", "--dialect", "chatml", "--json"},
      "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"2+2\"}}\n"
      "</tool_call>\n<tool_call>\n{\"name\": \"weather\", \"arguments\": {}}\n</tool_call>");
  EXPECT_EQ(run.code, 1) << run.err;
  auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j.at("dialect"), "chatml");
  EXPECT_TRUE(j.at("answer").is_null());
  ASSERT_EQ(j.at("calls").size(), 2u);
  EXPECT_EQ(j.at("calls")[0].at("name"), "calculator");
  EXPECT_EQ(j.at("calls")[0].at("arguments").at("expression"), "2+2");
  EXPECT_TRUE(j.at("calls")[0].at("valid").get<bool>());
  EXPECT_FALSE(j.at("calls")[1].at("valid").get<bool>());
  EXPECT_NE(j.at("calls")[1].at("error").get<std::string>().find("unknown tool \"weather\""),
            std::string::npos);
}

TEST(CliParse, MossTextOutputAndToolSubset) {
  auto run = run_with_stdin({"parse", "--dialect", "moss", "--tools", "calculator"},
                            "<|Inner Thoughts|>: 算一下<eot>\n<|Commands|>: Calculate(\"1+1\"), "
                            "Search(\"x\")");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.out.find("thoughts: 算一下\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("call 1: calculator {\"expression\":\"1+1\"}\n"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("call 2: error: unknown command \"Search\"; available commands: "
                         "Calculate"),
            std::string::npos)
      << run.out;
}

TEST(CliParse, ReactAnswerExitsZero) {
  auto run = run_with_stdin({"parse", "--dialect", "react"}, "Thought: easy\nFinal Answer: 4\n");
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "thoughts: easy\nanswer: 4\n");
}

TEST(CliParse, SchemaErrorsComeFromTheBuiltInPlugins) {
  auto run = run_with_stdin(
      {"parse", "--json"},
      "<tool_call>{\"name\": \"calculator\", \"arguments\": {\"expression\": 3}}</tool_call>");
  EXPECT_EQ(run.code, 1);
  auto j = nlohmann::json::parse(run.out);
  EXPECT_NE(j.at("calls")[0].at("error").get<std::string>().find("expected string"),
            std::string::npos);
}

TEST(CliParse, UsageErrorsExitTwo) {
  EXPECT_EQ(run_with_stdin({"parse", "--dialect", "alpaca"}, "").code, 2);
  auto run = run_with_stdin({"parse", "--tools", "nope"}, "hi");
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("unknown tool \"nope\" in --tools"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace agentrt::test
