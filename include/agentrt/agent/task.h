// Scripted agent tasks: one JSON file, a folder of them, or a .jsonl suite (one task a line),
// and the check of a run's outcome against the task's `expect` block.
//
// Format (every key but "prompt" is optional; unknown keys are refused so typos are caught):
//   {"name": "circle-area", "prompt": "...", "tools": ["calculator"], "max_steps": 4,
//    "expect": {"answer_contains": ["38.4"], "answer_number": {"value": 38.4845, "rel_tol": 0.001},
//               "tool_calls": ["calculator"], "max_tool_calls": 2}}
//
// Errors: loading throws TaskError whose message names the file (and line, for .jsonl) and what
// is wrong. Checking returns failures as values. Thread-safety: pure functions on values.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentrt::agent {

class TaskError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct NumberExpectation {
  double value = 0;
  double rel_tol = 1e-3;  // |x - value| <= rel_tol * |value| (<= rel_tol when value is 0)
};

struct Expectations {
  std::vector<std::string> answer_contains;        // each must appear, ASCII case-insensitively
  std::optional<NumberExpectation> answer_number;  // some number in the answer is close to it
  std::vector<std::string> tool_calls;             // a subsequence of the tools called
  std::optional<int> max_tool_calls;               // at most this many calls (0: no tool needed)
};

struct Task {
  std::string name;  // defaults to the file's stem (".json") or "<stem>:<line>" (".jsonl")
  std::string prompt;
  std::vector<std::string> tools;  // tools offered; empty means every registered tool
  int max_steps = 8;
  Expectations expect;
  std::string source;  // "path" or "path:line", for messages
};

// Reads one task from VALUE; SOURCE names where it came from in error messages.
Task task_from_json(const nlohmann::json& value, std::string_view source,
                    std::string_view default_name);
// A .json task, a .jsonl suite, or a folder of .json / .jsonl files (sorted by name, not
// recursive). Task names must be unique within the result.
std::vector<Task> load_tasks(const std::filesystem::path& path);

struct FailedExpectation {
  std::string key;     // "answer_contains", "answer_number", "tool_calls", "max_tool_calls"
  std::string reason;  // readable, with what was expected and what was seen
};

// Every expectation of TASK that the run (its final answer and the names of the tools it called,
// in order) does not meet. Empty means the task passed.
std::vector<FailedExpectation> check_expectations(const Task& task, std::string_view final_answer,
                                                  std::span<const std::string> tools_called);

// The numbers written in TEXT, in order: integers, decimals, a leading minus sign, thousands
// separators (1,234.5), scientific notation (6.02e23).
std::vector<double> numbers_in(std::string_view text);

}  // namespace agentrt::agent
