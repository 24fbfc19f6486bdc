#include "agentrt/agent/task.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace agentrt::agent {
namespace {

using nlohmann::json;

std::string quoted(std::string_view key) {
  std::string out = "\"";
  out.append(key).append("\"");
  return out;
}

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw TaskError(std::string(source) + ": " + what);
}

void refuse_unknown_keys(const json& object, std::initializer_list<std::string_view> known,
                         std::string_view where, std::string_view source) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    fail(source, "unknown key \"" + key + "\" in " + std::string(where) + " (known: " + list + ")");
  }
}

std::vector<std::string> string_list(const json& value, std::string_view key,
                                     std::string_view source) {
  if (value.is_string()) return {value.get<std::string>()};
  if (!value.is_array()) fail(source, quoted(key) + " must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : value) {
    if (!item.is_string()) {
      fail(source, quoted(key) + " must be a list of strings, found " + item.dump());
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

int non_negative_int(const json& value, std::string_view key, std::string_view source) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 1000000) {
    fail(source, quoted(key) + " must be a non-negative integer, got " + value.dump());
  }
  return static_cast<int>(value.get<int64_t>());
}

Expectations expectations_from_json(const json& value, std::string_view source) {
  if (!value.is_object()) fail(source, "\"expect\" must be an object");
  refuse_unknown_keys(value, {"answer_contains", "answer_number", "tool_calls", "max_tool_calls"},
                      "\"expect\"", source);
  Expectations e;
  if (value.contains("answer_contains")) {
    e.answer_contains = string_list(value.at("answer_contains"), "answer_contains", source);
  }
  if (value.contains("answer_number")) {
    const json& n = value.at("answer_number");
    NumberExpectation number;
    if (n.is_number()) {
      number.value = n.get<double>();
    } else if (n.is_object()) {
      refuse_unknown_keys(n, {"value", "rel_tol"}, "\"answer_number\"", source);
      if (!n.contains("value") || !n.at("value").is_number()) {
        fail(source, "\"answer_number\" needs a numeric \"value\"");
      }
      number.value = n.at("value").get<double>();
      if (n.contains("rel_tol")) {
        if (!n.at("rel_tol").is_number() || n.at("rel_tol").get<double>() < 0) {
          fail(source, "\"rel_tol\" must be a non-negative number, got " + n.at("rel_tol").dump());
        }
        number.rel_tol = n.at("rel_tol").get<double>();
      }
    } else {
      fail(source, "\"answer_number\" must be {\"value\": N, \"rel_tol\": T} or a number");
    }
    e.answer_number = number;
  }
  if (value.contains("tool_calls")) {
    e.tool_calls = string_list(value.at("tool_calls"), "tool_calls", source);
  }
  if (value.contains("max_tool_calls")) {
    e.max_tool_calls = non_negative_int(value.at("max_tool_calls"), "max_tool_calls", source);
  }
  return e;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TaskError(path.string() + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<Task> load_json_file(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) fail(path.string(), "not valid JSON");
  return {task_from_json(value, path.string(), path.stem().string())};
}

std::vector<Task> load_jsonl_file(const std::filesystem::path& path) {
  std::istringstream lines(read_file(path));
  std::vector<Task> tasks;
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string source = path.string() + ":" + std::to_string(number);
    json value = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) fail(source, "not valid JSON");
    tasks.push_back(
        task_from_json(value, source, path.stem().string() + ":" + std::to_string(number)));
  }
  return tasks;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool contains_ignoring_case(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return lower(a) == lower(b); });
  return it != text.end() || needle.empty();
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

std::string format_number(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

std::string join(std::span<const std::string> items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

}  // namespace

Task task_from_json(const json& value, std::string_view source, std::string_view default_name) {
  if (!value.is_object()) fail(source, "a task must be a JSON object");
  refuse_unknown_keys(value, {"name", "prompt", "tools", "max_steps", "expect"}, "the task",
                      source);
  Task task;
  task.source = std::string(source);
  task.name = std::string(default_name);
  if (value.contains("name")) {
    if (!value.at("name").is_string() || value.at("name").get<std::string>().empty()) {
      fail(source, "\"name\" must be a non-empty string");
    }
    task.name = value.at("name").get<std::string>();
  }
  if (!value.contains("prompt")) fail(source, "the task has no \"prompt\"");
  if (!value.at("prompt").is_string() || value.at("prompt").get<std::string>().empty()) {
    fail(source, "\"prompt\" must be a non-empty string");
  }
  task.prompt = value.at("prompt").get<std::string>();
  if (value.contains("tools")) task.tools = string_list(value.at("tools"), "tools", source);
  if (value.contains("max_steps")) {
    task.max_steps = non_negative_int(value.at("max_steps"), "max_steps", source);
    if (task.max_steps == 0) fail(source, "\"max_steps\" must be at least 1");
  }
  if (value.contains("expect")) task.expect = expectations_from_json(value.at("expect"), source);
  return task;
}

std::vector<Task> load_tasks(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<Task> tasks;
  auto load_one = [&](const fs::path& file) {
    auto loaded = file.extension() == ".jsonl" ? load_jsonl_file(file) : load_json_file(file);
    for (auto& t : loaded) tasks.push_back(std::move(t));
  };
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      const auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".json" || ext == ".jsonl")) {
        files.push_back(entry.path());
      }
    }
    if (ec) throw TaskError(path.string() + ": cannot list: " + ec.message());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw TaskError(path.string() + ": no .json or .jsonl task files");
    for (const auto& f : files) load_one(f);
  } else if (fs::exists(path, ec)) {
    load_one(path);
  } else {
    throw TaskError(path.string() + ": no such file or folder");
  }
  std::set<std::string> names;
  for (const auto& t : tasks) {
    if (!names.insert(t.name).second) {
      throw TaskError(t.source + ": task name \"" + t.name + "\" is used twice");
    }
  }
  return tasks;
}

std::vector<double> numbers_in(std::string_view text) {
  std::vector<double> out;
  std::size_t i = 0;
  while (i < text.size()) {
    // A number starts at a digit (or ".5") not glued to a word or another number.
    const bool starts =
        is_digit(text[i]) || (text[i] == '.' && i + 1 < text.size() && is_digit(text[i + 1]));
    if (!starts || (i > 0 && (is_alpha(text[i - 1]) || is_digit(text[i - 1])))) {
      ++i;
      continue;
    }
    const bool negative =
        i > 0 && text[i - 1] == '-' && (i < 2 || !(is_digit(text[i - 2]) || is_alpha(text[i - 2])));
    std::string digits = negative ? "-" : "";
    std::size_t j = i, run = 0;
    while (j < text.size() && is_digit(text[j])) digits += text[j++], ++run;
    // Thousands groups: ",ddd" not followed by another digit, after a 1-3 digit head.
    while (run <= 3 && j + 3 < text.size() + 0 && text[j] == ',' && is_digit(text[j + 1]) &&
           is_digit(text[j + 2]) && is_digit(text[j + 3]) &&
           (j + 4 >= text.size() || !is_digit(text[j + 4]))) {
      digits.append(text.substr(j + 1, 3));
      j += 4;
      run = 3;
    }
    if (j + 1 < text.size() && text[j] == '.' && is_digit(text[j + 1])) {
      digits += text[j++];
      while (j < text.size() && is_digit(text[j])) digits += text[j++];
    }
    if (j + 1 < text.size() && (text[j] == 'e' || text[j] == 'E')) {
      std::size_t k = j + 1;
      if (k < text.size() && (text[k] == '+' || text[k] == '-')) ++k;
      if (k < text.size() && is_digit(text[k])) {
        digits.append(text.substr(j, k - j));
        while (k < text.size() && is_digit(text[k])) digits += text[k++];
        j = k;
      }
    }
    out.push_back(std::strtod(digits.c_str(), nullptr));
    i = j;
  }
  return out;
}

std::vector<FailedExpectation> check_expectations(const Task& task, std::string_view final_answer,
                                                  std::span<const std::string> tools_called) {
  std::vector<FailedExpectation> failed;
  const Expectations& e = task.expect;
  for (const auto& needle : e.answer_contains) {
    if (!contains_ignoring_case(final_answer, needle)) {
      failed.push_back({"answer_contains", "the answer does not contain \"" + needle + "\""});
    }
  }
  if (e.answer_number) {
    const auto numbers = numbers_in(final_answer);
    const double v = e.answer_number->value, tol = e.answer_number->rel_tol;
    const bool close = std::any_of(numbers.begin(), numbers.end(), [&](double x) {
      return v == 0 ? std::abs(x) <= tol : std::abs(x - v) <= tol * std::abs(v);
    });
    if (!close) {
      std::string seen;
      for (double x : numbers) seen += (seen.empty() ? "" : ", ") + format_number(x);
      failed.push_back(
          {"answer_number", "no number in the answer is within rel_tol " + format_number(tol) +
                                " of " + format_number(v) +
                                (seen.empty() ? " (no numbers found)" : " (found: " + seen + ")")});
    }
  }
  if (!e.tool_calls.empty()) {
    std::size_t matched = 0;
    for (const auto& called : tools_called) {
      if (matched < e.tool_calls.size() && called == e.tool_calls[matched]) ++matched;
    }
    if (matched < e.tool_calls.size()) {
      failed.push_back({"tool_calls", "the tools called " + join(tools_called) +
                                          " do not contain " + join(e.tool_calls) +
                                          " in that order"});
    }
  }
  if (e.max_tool_calls && static_cast<int64_t>(tools_called.size()) > *e.max_tool_calls) {
    failed.push_back({"max_tool_calls", std::to_string(tools_called.size()) +
                                            " tool calls were made, at most " +
                                            std::to_string(*e.max_tool_calls) + " allowed"});
  }
  return failed;
}

}  // namespace agentrt::agent
