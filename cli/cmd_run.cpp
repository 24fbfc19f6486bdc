// agentrt run / eval / trace: scripted agent tasks with a real model, and the trace database.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "agentrt/agent/agent.h"
#include "agentrt/agent/task.h"
#include "agentrt/agent/trace.h"
#include "agentrt/engine/gguf.h"
#include "commands.h"
#include "options.h"
#include "progress.h"

namespace agentrt::cli {
namespace {

using nlohmann::json;

std::string dump(const json& value, int indent = -1) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

struct Colors {
  bool on = false;
  const char* dim() const { return on ? "\033[2m" : ""; }
  const char* bold() const { return on ? "\033[1m" : ""; }
  const char* call() const { return on ? "\033[33m" : ""; }
  const char* ok() const { return on ? "\033[32m" : ""; }
  const char* bad() const { return on ? "\033[31m" : ""; }
  const char* reset() const { return on ? "\033[0m" : ""; }
};

struct RunArgs {
  ToolOptions tool_options;
  std::string model;
  std::string dialect;
  std::string tool_prompt;
  engine::SamplerParams sampling;
  int threads = 0;
  int ctx = 0;
  engine::Device device = engine::Device::Auto;
  int max_tokens = 256;
  int64_t token_budget = 0;
  int64_t deadline_ms = 0;
  bool json = false;
  bool no_trace = false;
  std::string path;                // the task file or suite
  int64_t replay = 0;              // run --replay RUN: the recorded run
  std::vector<std::string> tools;  // chat --tools
};

using CallTools = std::function<std::vector<tools::ToolResult>(
    int step, const std::vector<tools::CallRequest>& requests)>;

struct TaskReport {
  agent::Task task;
  agent::RunResult result;
  std::vector<agent::FailedExpectation> failures;
  bool passed = false;
  int64_t trace_id = 0;
  std::string error;  // the task could not run (an unknown tool, ...)
};

json failures_json(const std::vector<agent::FailedExpectation>& failures) {
  json out = json::array();
  for (const auto& f : failures) out.push_back({{"key", f.key}, {"reason", f.reason}});
  return out;
}

json task_json(const agent::Task& task) {
  json expect = json::object();
  if (!task.expect.answer_contains.empty()) expect["answer_contains"] = task.expect.answer_contains;
  if (task.expect.answer_number)
    expect["answer_number"] = {{"value", task.expect.answer_number->value},
                               {"rel_tol", task.expect.answer_number->rel_tol}};
  if (!task.expect.tool_calls.empty()) expect["tool_calls"] = task.expect.tool_calls;
  if (task.expect.max_tool_calls) expect["max_tool_calls"] = *task.expect.max_tool_calls;
  return {{"name", task.name},
          {"prompt", task.prompt},
          {"tools", task.tools},
          {"max_steps", task.max_steps},
          {"expect", expect}};
}

json sampling_json(const engine::SamplerParams& p) {
  return {{"temperature", p.temperature},
          {"top_k", p.top_k},
          {"top_p", p.top_p},
          {"min_p", p.min_p},
          {"repeat_penalty", p.repeat_penalty},
          {"presence_penalty", p.presence_penalty},
          {"frequency_penalty", p.frequency_penalty}};
}

// Everything a run needs that outlives one task: the model, tools, dialect and trace database.
class Runner {
 public:
  explicit Runner(const RunArgs& args) : args_(args) {
    args_.model = model_or_default(args_.model);
    config_ = load_config(args.tool_options);
    registry_ = load_tools(args.tool_options, config_);
    engine::LoadOptions load_options;
    ProgressBar bar("loading " + args_.model);
    load_options.progress = [&](double f) { bar.update(f); };
    model_ = engine::Model::load(args_.model, load_options);
    const auto choice = agent::choose_dialect(
        args.dialect, model_->chat_dialect(),
        model_->file().get_string("tokenizer.chat_template", ""), model_->hparams().arch);
    dialect_ = agent::dialect_by_name(choice.name);
    std::string prompt = args.tool_prompt.empty() ? model_->chat_tool_prompt() : args.tool_prompt;
    if (!prompt.empty()) tool_prompt_ = agent::tool_prompt_from_name(prompt);
    if (!args.no_trace)
      traces_ = std::make_unique<agent::TraceDb>(agent::TraceDb::path_from_config(config_));
  }

  const agent::Dialect& dialect() const { return *dialect_; }
  const agent::TraceDb* traces() const { return traces_.get(); }

  // Runs TASK on a fresh session; ON_TEXT and ON_STEP show it live (may be empty).
  TaskReport run(const agent::Task& task, const std::function<void(int, std::string_view)>& on_text,
                 const std::function<void(const agent::Step&)>& on_step,
                 const CallTools& call_tools = {}) {
    TaskReport report;
    report.task = task;
    auto conversation = start_conversation();
    report.trace_id = begin_trace(task);
    agent::RunOptions options = run_options(report.trace_id, on_text, on_step);
    options.call_tools = call_tools;
    try {
      report.result = agent::run(*conversation->context, *dialect_, *registry_, task, options);
    } catch (const agent::TaskError& e) {
      report.error = e.what();
      return report;
    }
    report.failures =
        agent::check_expectations(task, report.result.answer, report.result.tools_called);
    report.passed = report.result.outcome == agent::Outcome::answered && report.failures.empty();
    if (traces_) traces_->finish_run(report.trace_id, report.result, report.passed);
    return report;
  }

  // A session and context that persist across the turns of a chat.
  struct Conversation {
    std::unique_ptr<engine::Session> session;
    std::unique_ptr<engine::Sampler> sampler;
    std::unique_ptr<agent::EngineContext> context;
    std::vector<agent::Message> messages;
  };
  std::unique_ptr<Conversation> start_conversation() const {
    auto c = std::make_unique<Conversation>();
    c->session = std::make_unique<engine::Session>(
        model_, engine::SessionOptions{
                    .n_ctx = args_.ctx, .n_threads = args_.threads, .device = args_.device});
    c->sampler = std::make_unique<engine::Sampler>(args_.sampling);
    c->context = std::make_unique<agent::EngineContext>(
        *c->session, *c->sampler, std::filesystem::path(args_.model).filename());
    return c;
  }

  // One chat turn: MESSAGE after the conversation so far, recorded as a run named "chat".
  TaskReport chat(Conversation& c, const std::string& message,
                  const std::function<void(int, std::string_view)>& on_text,
                  const std::function<void(const agent::Step&)>& on_step) {
    TaskReport report;
    report.task.name = "chat";
    report.task.prompt = message;
    report.task.tools = args_.tools;
    report.trace_id = begin_trace(report.task);
    report.result =
        agent::continue_run(*c.context, *dialect_, *registry_, c.messages, message, args_.tools,
                            run_options(report.trace_id, on_text, on_step));
    c.messages = report.result.messages;
    report.passed = report.result.outcome == agent::Outcome::answered;
    if (traces_) traces_->finish_run(report.trace_id, report.result, std::nullopt);
    return report;
  }

  const tools::Registry& registry() const { return *registry_; }

  json settings_json() const {
    return {{"system_prompt", agent::RunOptions().system_prompt},
            {"tool_prompt", tool_prompt_ == agent::ToolPrompt::full ? "full" : "compact"},
            {"max_tokens_per_step", args_.max_tokens},
            {"token_budget", args_.token_budget},
            {"deadline_ms", args_.deadline_ms},
            {"n_ctx", args_.ctx},
            {"model_path", args_.model}};
  }

 private:
  int64_t begin_trace(const agent::Task& task) {
    if (!traces_) return 0;
    return traces_->begin_run({.task = task.name,
                               .prompt = task.prompt,
                               .task_json = task_json(task),
                               .dialect = std::string(dialect_->name()),
                               .model = std::filesystem::path(args_.model).filename().string(),
                               .sampling = sampling_json(args_.sampling),
                               .seed = args_.sampling.seed,
                               .settings = settings_json()});
  }

  agent::RunOptions run_options(int64_t trace_id,
                                const std::function<void(int, std::string_view)>& on_text,
                                const std::function<void(const agent::Step&)>& on_step) {
    agent::RunOptions options;
    options.tool_prompt = tool_prompt_;
    options.max_tokens_per_step = args_.max_tokens;
    options.token_budget = args_.token_budget;
    options.deadline = std::chrono::milliseconds(args_.deadline_ms);
    options.dispatcher = tools::DispatcherOptions::from_config(config_);
    options.on_text = on_text;
    options.on_step = [this, trace_id, on_step](const agent::Step& step) {
      if (traces_) traces_->add_step(trace_id, step);
      if (on_step) on_step(step);
    };
    return options;
  }

  RunArgs args_;
  tools::Config config_;
  std::unique_ptr<tools::Registry> registry_;
  std::shared_ptr<const engine::Model> model_;
  std::unique_ptr<agent::Dialect> dialect_;
  agent::ToolPrompt tool_prompt_ = agent::ToolPrompt::full;
  std::unique_ptr<agent::TraceDb> traces_;
};

json report_json(const TaskReport& r, std::string_view dialect) {
  json steps = json::array();
  for (const auto& s : r.result.steps) steps.push_back(agent::step_record(s));
  return {
      {"task", r.task.name},
      {"dialect", dialect},
      {"passed", r.passed},
      {"error", r.error.empty() ? json(nullptr) : json(r.error)},
      {"outcome", r.error.empty() ? json(agent::outcome_name(r.result.outcome)) : json("error")},
      {"reason", r.error.empty() ? r.result.reason : r.error},
      {"answer", r.result.answer},
      {"failures", failures_json(r.failures)},
      {"tools_called", r.result.tools_called},
      {"steps", steps},
      {"tokens_prefilled", r.result.n_prefill},
      {"tokens_generated", r.result.n_generated},
      {"model_ms", r.result.model_ms},
      {"tool_ms", r.result.tool_ms},
      {"wall_ms", r.result.wall_ms},
      {"trace_run", r.trace_id > 0 ? json(r.trace_id) : json(nullptr)}};
}

void print_step(const agent::Step& s, const Colors& c, bool streamed) {
  if (!streamed && !s.model_text.empty()) std::cout << s.model_text;
  std::cout << "\n";
  for (const auto& call : s.calls) {
    if (call.valid) {
      std::cout << c.call() << "  -> " << call.call.name << " " << dump(call.call.arguments)
                << c.reset() << "\n";
    } else {
      std::cout << c.call() << "  -> (malformed call)" << c.reset() << "\n";
    }
    std::cout << (call.result.ok ? c.ok() : c.bad()) << "  <- " << (call.result.ok ? "" : "error: ")
              << call.result.text << c.reset() << "\n";
  }
  char line[200];
  std::snprintf(line, sizeof line,
                "  [step %d: prefilled %lld, generated %lld, context %lld tokens; model %.1f ms, "
                "tools %.1f ms; %s]",
                s.index, static_cast<long long>(s.n_prefill), static_cast<long long>(s.n_generated),
                static_cast<long long>(s.context_tokens), s.model_ms(), s.tool_ms,
                std::string(agent::generation_end_name(s.end)).c_str());
  std::cout << c.dim() << line << c.reset() << "\n";
  std::cout.flush();
}

// Shows a run's steps as they happen: the model's text as it streams, then calls, results and
// the step's accounting.
class LiveView {
 public:
  explicit LiveView(const Colors& colors) : c_(colors) {}
  std::function<void(int, std::string_view)> on_text() {
    return [this](int index, std::string_view text) {
      header(index);
      streamed_ = true;
      std::cout << text << std::flush;
    };
  }
  std::function<void(const agent::Step&)> on_step() {
    return [this](const agent::Step& s) {
      header(s.index);
      print_step(s, c_, streamed_);
      streamed_ = false;
    };
  }
  void restart() { current_ = 0; }

 private:
  void header(int index) {
    if (index == current_) return;
    current_ = index;
    std::cout << c_.bold() << "step " << index << c_.reset() << "\n";
  }
  const Colors& c_;
  int current_ = 0;
  bool streamed_ = false;
};

int run_task(const RunArgs& args) {
  const auto tasks = agent::load_tasks(args.path);
  if (tasks.size() != 1)
    throw agent::TaskError(args.path + " holds " + std::to_string(tasks.size()) +
                           " tasks; `agentrt run` takes one (use `agentrt eval` for a suite)");
  Runner runner(args);
  const Colors c{.on = !args.json && ::isatty(STDOUT_FILENO) != 0};
  LiveView view(c);
  if (!args.json)
    std::cout << c.bold() << "task " << tasks[0].name << c.reset() << " ("
              << runner.dialect().name() << "): " << tasks[0].prompt << "\n";
  const TaskReport report = args.json ? runner.run(tasks[0], {}, {})
                                      : runner.run(tasks[0], view.on_text(), view.on_step());
  if (!report.error.empty()) throw agent::TaskError(report.error);
  if (args.json) {
    std::cout << dump(report_json(report, runner.dialect().name()), 2) << "\n";
  } else {
    const auto& r = report.result;
    std::cout << c.bold() << agent::outcome_name(r.outcome) << c.reset() << ": " << r.reason
              << "\n";
    if (!r.answer.empty()) std::cout << "answer: " << r.answer << "\n";
    for (const auto& f : report.failures)
      std::cout << c.bad() << "expect " << f.key << ": " << f.reason << c.reset() << "\n";
    std::cout << (report.passed ? c.ok() : c.bad()) << (report.passed ? "PASS" : "FAIL")
              << c.reset() << "  " << r.steps.size() << " steps, " << r.n_prefill
              << " tokens prefilled, " << r.n_generated << " generated, "
              << static_cast<long long>(r.wall_ms) << " ms";
    if (report.trace_id > 0) std::cout << "  (trace run " << report.trace_id << ")";
    std::cout << "\n";
  }
  std::cout.flush();
  return report.passed ? kExitOk : kExitFailure;
}

int run_eval(const RunArgs& args) {
  const auto tasks = agent::load_tasks(args.path);
  Runner runner(args);
  std::vector<TaskReport> reports;
  {
    ProgressBar bar("eval " + args.path);
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      reports.push_back(runner.run(tasks[i], {}, {}));
      bar.update(static_cast<double>(i + 1) / static_cast<double>(tasks.size()));
    }
  }
  std::size_t passed = 0;
  for (const auto& r : reports) passed += r.passed ? 1 : 0;
  const double rate =
      tasks.empty() ? 0.0 : static_cast<double>(passed) / static_cast<double>(tasks.size());
  if (args.json) {
    json per_task = json::array();
    for (const auto& r : reports) per_task.push_back(report_json(r, runner.dialect().name()));
    std::cout << dump({{"suite", args.path},
                       {"dialect", runner.dialect().name()},
                       {"model", args.model},
                       {"tasks", per_task},
                       {"passed", passed},
                       {"total", tasks.size()},
                       {"success_rate", rate}},
                      2)
              << "\n";
  } else {
    std::size_t width = 4;
    for (const auto& t : tasks) width = std::max(width, t.name.size());
    std::printf("%-*s  %-4s  %5s  %7s  %9s  %s\n", static_cast<int>(width), "task", "pass", "steps",
                "tokens", "time_ms", "outcome");
    for (const auto& r : reports) {
      std::printf("%-*s  %-4s  %5zu  %7lld  %9.0f  %s\n", static_cast<int>(width),
                  r.task.name.c_str(), r.passed ? "pass" : "FAIL", r.result.steps.size(),
                  static_cast<long long>(r.result.n_prefill + r.result.n_generated),
                  r.result.wall_ms,
                  r.error.empty() ? std::string(agent::outcome_name(r.result.outcome)).c_str()
                                  : ("error: " + r.error).c_str());
    }
    std::printf("success rate: %zu/%zu (%.1f%%)\n", passed, tasks.size(), 100.0 * rate);
  }
  std::fflush(stdout);
  std::cout.flush();
  return passed == tasks.size() ? kExitOk : kExitFailure;
}

// agentrt chat: each line is a user message, run with the conversation so far (the context is
// kept between turns); lines starting with / are commands.
int run_chat(const RunArgs& args) {
  Runner runner(args);
  for (const auto& name : args.tools)
    if (!runner.registry().find(name))
      throw std::runtime_error("unknown tool \"" + name + "\" in --tools");
  const bool interactive = ::isatty(STDIN_FILENO) != 0;
  const Colors c{.on = ::isatty(STDOUT_FILENO) != 0};
  LiveView view(c);
  auto conversation = runner.start_conversation();
  std::vector<int64_t> runs;
  if (interactive)
    std::cout << "agentrt chat (" << runner.dialect().name()
              << "); /tools, /reset, /trace, /quit\n";
  std::string line;
  for (;;) {
    if (interactive) std::cout << c.bold() << "> " << c.reset() << std::flush;
    if (!std::getline(std::cin, line)) break;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    if (line == "/quit" || line == "/exit") break;
    if (line == "/tools") {
      for (const tools::Tool* tool : runner.registry().list()) {
        const auto& spec = tool->spec();
        if (!args.tools.empty() &&
            std::find(args.tools.begin(), args.tools.end(), spec.name) == args.tools.end())
          continue;
        std::cout << "  " << spec.name << ": " << spec.description << "\n";
      }
    } else if (line == "/reset") {
      conversation = runner.start_conversation();
      std::cout << "conversation reset\n";
    } else if (line == "/trace") {
      if (!runner.traces()) {
        std::cout << "not recording (--no-trace)\n";
      } else {
        std::cout << "trace database " << runner.traces()->path().string() << "; runs:";
        for (int64_t id : runs) std::cout << " " << id;
        std::cout << (runs.empty() ? " none yet\n" : "\n");
      }
    } else if (line.front() == '/') {
      std::cout << "unknown command " << line << "; commands: /tools, /reset, /trace, /quit\n";
    } else {
      view.restart();
      const TaskReport report = runner.chat(*conversation, line, view.on_text(), view.on_step());
      if (report.trace_id > 0) runs.push_back(report.trace_id);
      const auto& r = report.result;
      if (r.outcome == agent::Outcome::answered) {
        std::cout << c.ok() << "answer: " << r.answer << c.reset() << "\n";
      } else {
        std::cout << c.bad() << agent::outcome_name(r.outcome) << ": " << r.reason << c.reset()
                  << "\n";
      }
    }
    std::cout.flush();
  }
  return kExitOk;
}

// The recorded results of a step's valid calls, in order.
std::vector<tools::ToolResult> recorded_results(const agent::StepRecord& step) {
  std::vector<tools::ToolResult> out;
  for (const json& call : step.calls) {
    if (!call.value("valid", false)) continue;
    const json& r = call.at("result");
    out.push_back({r.value("ok", false), r.value("text", std::string()), r.value("data", json()),
                   r.value("truncated", false)});
  }
  return out;
}

// run --replay RUN: the recorded task, dialect, settings and seed, with the recorded tool
// results; reports whether each step's generated token ids (and text) matched.
int run_replay(RunArgs args) {
  std::optional<agent::RunRecord> record;
  std::vector<agent::StepRecord> recorded;
  {
    agent::TraceDb db(agent::TraceDb::path_from_config(load_config(args.tool_options)));
    record = db.find_run(args.replay);
    if (!record)
      throw std::runtime_error("no run " + std::to_string(args.replay) + " in " +
                               db.path().string());
    recorded = db.steps(args.replay);
  }
  const std::string source = "trace run " + std::to_string(args.replay);
  const agent::Task task = agent::task_from_json(record->info.task_json, source, record->info.task);
  args.dialect = record->info.dialect;
  const json& sampling = record->info.sampling;
  args.sampling.temperature = sampling.value("temperature", 0.0f);
  args.sampling.top_k = sampling.value("top_k", 0);
  args.sampling.top_p = sampling.value("top_p", 1.0f);
  args.sampling.min_p = sampling.value("min_p", 0.0f);
  args.sampling.repeat_penalty = sampling.value("repeat_penalty", 1.0f);
  args.sampling.presence_penalty = sampling.value("presence_penalty", 0.0f);
  args.sampling.frequency_penalty = sampling.value("frequency_penalty", 0.0f);
  args.sampling.seed = record->info.seed;
  const json& settings = record->info.settings;
  args.tool_prompt = settings.value("tool_prompt", std::string());
  args.max_tokens = settings.value("max_tokens_per_step", args.max_tokens);
  args.token_budget = settings.value("token_budget", int64_t{0});
  args.deadline_ms = 0;  // a deadline would make the replay depend on the machine's speed
  args.ctx = settings.value("n_ctx", 0);
  if (args.model.empty()) args.model = settings.value("model_path", std::string());
  if (args.model.empty()) throw std::runtime_error(source + " names no model file; give -m");

  Runner runner(args);
  const TaskReport report =
      runner.run(task, {}, {}, [&](int step, const std::vector<tools::CallRequest>& requests) {
        std::vector<tools::ToolResult> results;
        if (step >= 1 && static_cast<std::size_t>(step) <= recorded.size())
          results = recorded_results(recorded[static_cast<std::size_t>(step) - 1]);
        results.resize(requests.size(),
                       tools::ToolResult::failure("replay: no recorded result for this call"));
        return results;
      });
  if (!report.error.empty()) throw agent::TaskError(report.error);

  const auto& steps = report.result.steps;
  const std::size_t n = std::max(steps.size(), recorded.size());
  bool all = true;
  json per_step = json::array();
  for (std::size_t k = 0; k < n; ++k) {
    const bool both = k < steps.size() && k < recorded.size();
    // Token ids when the trace has them; text and count for traces written without ids.
    const bool matched =
        both && steps[k].model_text == recorded[k].model_text &&
        steps[k].n_generated == recorded[k].n_generated &&
        (recorded[k].tokens.empty() || steps[k].generated_tokens == recorded[k].tokens);
    all = all && matched;
    per_step.push_back(
        {{"step", k + 1},
         {"matched", matched},
         {"recorded_tokens", k < recorded.size() ? json(recorded[k].n_generated) : json(nullptr)},
         {"replayed_tokens", k < steps.size() ? json(steps[k].n_generated) : json(nullptr)}});
    if (!args.json) {
      std::cout << "step " << k + 1 << ": "
                << (matched ? "match"
                    : !both
                        ? (k < steps.size() ? "extra step in the replay" : "missing in the replay")
                        : "differs")
                << "\n";
      if (both && !matched)
        std::cout << "  recorded: " << dump(recorded[k].model_text)
                  << "\n  replayed: " << dump(steps[k].model_text) << "\n";
    }
  }
  if (args.json) {
    std::cout << dump({{"run", args.replay},
                       {"replay_run", report.trace_id > 0 ? json(report.trace_id) : json(nullptr)},
                       {"matched", all},
                       {"steps", per_step}},
                      2)
              << "\n";
  } else {
    std::cout << "replay of run " << args.replay << ": "
              << (all ? "every step's tokens matched" : "the replay differs") << "\n";
  }
  std::cout.flush();
  return all ? kExitOk : kExitFailure;
}

struct TraceArgs {
  ToolOptions tool_options;
  bool json = false;
  int limit = 50;
  int64_t run = 0;
};

int trace_list(const TraceArgs& args) {
  const auto config = load_config(args.tool_options);
  agent::TraceDb db(agent::TraceDb::path_from_config(config));
  const auto runs = db.list_runs(args.limit);
  if (args.json) {
    std::cout << dump(json(runs), 2) << "\n";
    return kExitOk;
  }
  std::printf("%6s  %-20s  %-24s  %-7s  %-13s  %5s  %7s  %s\n", "run", "started", "task", "dialect",
              "outcome", "steps", "tokens", "passed");
  for (const auto& r : runs) {
    std::printf("%6lld  %-20s  %-24s  %-7s  %-13s  %5lld  %7lld  %s\n",
                static_cast<long long>(r.id), r.started_at.c_str(), r.info.task.c_str(),
                r.info.dialect.c_str(), r.outcome.empty() ? "(unfinished)" : r.outcome.c_str(),
                static_cast<long long>(r.n_steps),
                static_cast<long long>(r.n_prefill + r.n_generated),
                r.passed ? (*r.passed ? "yes" : "no") : "-");
  }
  return kExitOk;
}

int trace_show(const TraceArgs& args) {
  const auto config = load_config(args.tool_options);
  agent::TraceDb db(agent::TraceDb::path_from_config(config));
  const auto run = db.find_run(args.run);
  if (!run)
    throw std::runtime_error("no run " + std::to_string(args.run) + " in " + db.path().string());
  const auto steps = db.steps(args.run);
  if (args.json) {
    json j = *run;
    j["task_json"] = run->info.task_json;
    j["steps"] = steps;
    std::cout << dump(j, 2) << "\n";
    return kExitOk;
  }
  std::cout << "run " << run->id << ": " << run->info.task << " (" << run->info.dialect << ", "
            << run->info.model << ", seed " << run->info.seed << ", sampling "
            << dump(run->info.sampling) << ")\n"
            << "prompt: " << run->info.prompt << "\n"
            << "started " << run->started_at << ", "
            << (run->finished_at.empty() ? "unfinished" : "finished " + run->finished_at) << "\n";
  for (const auto& s : steps) {
    char line[200];
    std::snprintf(line, sizeof line,
                  "--- step %d (prefilled %lld, generated %lld, context %lld tokens; prefill %.1f "
                  "ms, generate %.1f ms, tools %.1f ms; %s)\n",
                  s.index, static_cast<long long>(s.n_prefill),
                  static_cast<long long>(s.n_generated), static_cast<long long>(s.context_tokens),
                  s.prefill_ms, s.generate_ms, s.tool_ms, s.end.c_str());
    std::cout << line << "prompt delta:\n"
              << s.prompt_delta << "\nmodel:\n"
              << s.model_text << "\n";
    for (const auto& c : s.calls)
      std::cout << "  -> " << c.value("name", "") << " " << dump(c.value("arguments", json()))
                << "\n  <- " << dump(c.value("result", json()).value("text", json(""))) << "\n";
  }
  std::cout << "outcome: " << (run->outcome.empty() ? "(unfinished)" : run->outcome) << " "
            << run->reason << "\n";
  if (!run->answer.empty()) std::cout << "answer: " << run->answer << "\n";
  return kExitOk;
}

void add_run_options(CLI::App* cmd, RunArgs& args) {
  add_tool_options(*cmd, args.tool_options);
  cmd->add_option("-m,--model", args.model,
                  "GGUF model file (default: the shipped models/agentrt-tiny.gguf)");
  cmd->add_option("--dialect", args.dialect,
                  "chatml, moss, react or gemma (default: the model's metadata, chat template or "
                  "architecture)");
  cmd->add_option("--tool-prompt", args.tool_prompt, "full or compact (default: the model's)");
  cmd->add_option("--temp", args.sampling.temperature, "Temperature (0: greedy)");
  cmd->add_option("--top-k", args.sampling.top_k, "Top-k (0: off)");
  cmd->add_option("--top-p", args.sampling.top_p, "Top-p (1: off)");
  cmd->add_option("--seed", args.sampling.seed, "Sampling seed");
  cmd->add_option("-t,--threads", args.threads, "Threads (default: all cores)");
  cmd->add_option("-c,--ctx", args.ctx, "Context length (default: the model's, at most 4096)");
  add_device_option(*cmd, args.device);
  cmd->add_option("-n,--max-tokens", args.max_tokens, "Tokens the model may write per step")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--token-budget", args.token_budget,
                  "Tokens (prefilled + generated) per task; 0: none");
  cmd->add_option("--deadline-ms", args.deadline_ms, "Wall-clock limit per task; 0: none");
  cmd->add_flag("--json", args.json, "Print the report as JSON");
  cmd->add_flag("--no-trace", args.no_trace, "Do not record the run in the trace database");
}

}  // namespace

void add_run_commands(CLI::App& app) {
  auto run_args = std::make_shared<RunArgs>();
  CLI::App* run = app.add_subcommand(
      "run",
      "Run one task file with a model, showing each step; exit 0 when the model answered "
      "and `expect` holds, 1 when not, 2 on an error");
  CLI::Option* task = run->add_option("task", run_args->path, "Task file (.json)");
  add_run_options(run, *run_args);
  run->add_option("--replay", run_args->replay,
                  "Rerun a recorded run (same task, dialect, settings and seed) with its "
                  "recorded tool results; exit 0 when every step's tokens matched")
      ->excludes(task);
  run->callback([run_args] {
    int code = kExitOk;
    if (run_args->replay > 0) {
      code = run_replay(*run_args);
    } else {
      if (run_args->path.empty()) throw CLI::RequiredError("task");
      code = run_task(*run_args);
    }
    if (code != kExitOk) throw ExitCode{code};
  });

  auto eval_args = std::make_shared<RunArgs>();
  CLI::App* eval = app.add_subcommand(
      "eval",
      "Run every task of a suite (folder or .jsonl) and report the success rate; exit 0 "
      "when all pass, 1 when not, 2 on an error");
  eval->add_option("suite", eval_args->path, "Task file, .jsonl suite or folder")->required();
  add_run_options(eval, *eval_args);
  eval->callback([eval_args] {
    if (int code = run_eval(*eval_args); code != kExitOk) throw ExitCode{code};
  });

  auto chat_args = std::make_shared<RunArgs>();
  CLI::App* chat = app.add_subcommand(
      "chat",
      "Talk with the agent: each line of input is a message, run with the conversation "
      "so far; /tools, /reset, /trace, /quit");
  add_run_options(chat, *chat_args);
  chat->add_option("--tools", chat_args->tools, "Tools to offer (default: all)")->delimiter(',');
  chat->callback([chat_args] { run_chat(*chat_args); });

  auto trace_args = std::make_shared<TraceArgs>();
  CLI::App* trace = app.add_subcommand("trace", "Recorded runs (trace.database)");
  trace->require_subcommand(1);
  CLI::App* list = trace->add_subcommand("list", "List recorded runs, newest first");
  add_tool_options(*list, trace_args->tool_options);
  list->add_flag("--json", trace_args->json, "Print as JSON");
  list->add_option("--limit", trace_args->limit, "Runs to list")->check(CLI::PositiveNumber);
  list->callback([trace_args] { trace_list(*trace_args); });
  CLI::App* show = trace->add_subcommand("show", "Show a recorded run and its steps");
  add_tool_options(*show, trace_args->tool_options);
  show->add_option("run", trace_args->run, "Run id (from `agentrt trace list`)")->required();
  show->add_flag("--json", trace_args->json, "Print as JSON");
  show->callback([trace_args] { trace_show(*trace_args); });
}

}  // namespace agentrt::cli
