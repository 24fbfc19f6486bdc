// The planning loop (see agent.h for the contract and the context overflow policy).
#include "agentrt/agent/agent.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <span>
#include <stdexcept>

namespace agentrt::agent {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The task's tools as a registry of their own (an unknown name is a TaskError).
std::unique_ptr<tools::Registry> offered_tools(const tools::Registry& all,
                                               std::span<const std::string> names,
                                               const std::string& source) {
  try {
    return all.subset(names);
  } catch (const tools::RegistryError& e) {
    throw TaskError(source + ": " + e.what());
  }
}

std::size_t common_prefix(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// TEXT's lines: the pieces between newlines (a final newline ends the last line).
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return lines;
}

// The first KEEP of LINES and a line saying how many more there were.
std::string first_lines(const std::vector<std::string_view>& lines, std::size_t keep) {
  std::string out;
  for (std::size_t i = 0; i < keep; ++i) out.append(lines[i]).push_back('\n');
  const std::size_t cut = lines.size() - keep;
  out += '[';
  out += std::to_string(cut);
  out += cut == 1 ? " more line" : " more lines";
  out += " cut to fit the context]";
  return out;
}

// Cuts the tool results at MESSAGES[FIRST...] (one per entry of CALLS, in order) when the next
// prompt would leave fewer than RESERVE tokens of MODEL's context free: every result keeps at
// most T lines, the largest T that fits. Leaves them whole when even T = 0 does not fit (the
// next step then reports the full context). Nothing already in the context changes.
void fit_results(const ModelContext& model, const Dialect& dialect,
                 std::span<const tools::ToolSpec> specs, ToolPrompt tool_prompt,
                 std::vector<Message>& messages, std::size_t first, std::vector<StepCall>& calls,
                 int64_t reserve) {
  auto fits = [&] {
    const std::string prompt = dialect.render(
        messages, specs, {.add_generation_prompt = true, .tool_prompt = tool_prompt});
    const std::string_view delta =
        std::string_view(prompt).substr(common_prefix(prompt, model.context()));
    return model.n_tokens() + model.count_tokens(delta) + reserve <= model.n_ctx();
  };
  if (reserve <= 0 || fits()) return;

  std::vector<std::string> whole;  // complete before LINES points into it
  for (std::size_t i = 0; i < calls.size(); ++i) whole.push_back(messages[first + i].content);
  std::vector<std::vector<std::string_view>> lines;
  std::size_t most = 0;
  for (const std::string& text : whole) {
    lines.push_back(split_lines(text));
    most = std::max(most, lines.back().size());
  }
  auto keep = [&](std::size_t t) {
    for (std::size_t i = 0; i < lines.size(); ++i)
      messages[first + i].content = lines[i].size() > t ? first_lines(lines[i], t) : whole[i];
  };
  keep(0);
  if (!fits()) {
    keep(most);
    return;
  }
  std::size_t lo = 0, hi = most - 1;  // fits(lo); the whole results (T = most) do not
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo + 1) / 2;
    keep(mid);
    if (fits()) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  keep(lo);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (lines[i].size() <= lo) continue;
    calls[i].result.text = messages[first + i].content;
    calls[i].result.truncated = true;
  }
}

std::string call_key(const ParsedCall& call) {
  return call.valid() ? call.call.name + "\n" + call.call.arguments.dump() : "!" + call.source;
}

}  // namespace

std::string_view generation_end_name(GenerationEnd end) {
  switch (end) {
    case GenerationEnd::stop_sequence:
      return "stop_sequence";
    case GenerationEnd::eos:
      return "eos";
    case GenerationEnd::max_tokens:
      return "max_tokens";
    case GenerationEnd::context_full:
      return "context_full";
    case GenerationEnd::cancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::answered:
      return "answered";
    case Outcome::max_steps:
      return "max_steps";
    case Outcome::token_budget:
      return "token_budget";
    case Outcome::deadline:
      return "deadline";
    case Outcome::cancelled:
      return "cancelled";
    case Outcome::context_full:
      return "context_full";
    case Outcome::loop:
      return "loop";
  }
  return "unknown";
}

namespace {

// The loop itself, over MESSAGES (the conversation so far, ending with the user's turn).
RunResult run_loop(ModelContext& model, const Dialect& dialect, const tools::Registry& registry,
                   std::span<const std::string> tool_names, const std::string& source,
                   std::vector<Message> messages, int max_steps, const RunOptions& options) {
  const auto start = Clock::now();
  std::unique_ptr<tools::Registry> subset;
  if (!tool_names.empty()) subset = offered_tools(registry, tool_names, source);
  const tools::Registry& offered = subset ? *subset : registry;
  const std::vector<tools::ToolSpec> specs = tool_specs(offered);
  tools::Dispatcher dispatcher(offered, options.dispatcher);
  const std::vector<std::string> stop = dialect.stop_sequences();
  const auto deadline =
      options.deadline.count() > 0 ? start + options.deadline : Clock::time_point::max();

  RunResult result;
  result.messages = std::move(messages);
  auto used = [&] { return result.n_prefill + result.n_generated; };
  auto finish = [&](Outcome outcome, std::string reason) {
    result.outcome = outcome;
    result.reason = std::move(reason);
    result.wall_ms = ms_since(start);
    return result;
  };
  // Why the run must stop before doing more work, if it must.
  auto interrupted = [&]() -> std::optional<Outcome> {
    if (options.stop.stop_requested()) return Outcome::cancelled;
    if (Clock::now() >= deadline) return Outcome::deadline;
    return std::nullopt;
  };
  auto interrupted_reason = [&](Outcome outcome) {
    return outcome == Outcome::cancelled
               ? std::string("cancelled")
               : "the deadline of " + std::to_string(options.deadline.count()) + " ms passed";
  };

  std::string last_call;
  int repeats = 0;
  for (int index = 1; index <= max_steps; ++index) {
    if (auto why = interrupted()) return finish(*why, interrupted_reason(*why));
    if (options.token_budget > 0 && used() >= options.token_budget)
      return finish(Outcome::token_budget,
                    "the token budget of " + std::to_string(options.token_budget) + " is spent");

    Step step;
    step.index = index;
    const std::string prompt =
        dialect.render(result.messages, specs,
                       {.add_generation_prompt = true, .tool_prompt = options.tool_prompt});
    // The context should be a prefix of the new render; when the model's last tokens ran past
    // what the dialect records (a token straddling the stop sequence), drop just those.
    if (!prompt.starts_with(model.context())) {
      const std::size_t before = model.context().size();
      model.rewind(common_prefix(prompt, model.context()));
      step.rewound_chars = before - model.context().size();
    }
    step.prompt_delta = prompt.substr(model.context().size());
    const AppendOutcome appended = model.append(step.prompt_delta);
    step.n_prefill = appended.ok ? appended.n_tokens : 0;
    step.prefill_ms = appended.ms;
    result.n_prefill += step.n_prefill;
    result.model_ms += step.prefill_ms;
    if (!appended.ok) {
      step.end = GenerationEnd::context_full;
      step.context_tokens = model.n_tokens();
      result.steps.push_back(step);
      if (options.on_step) options.on_step(result.steps.back());
      return finish(Outcome::context_full, "context full: step " + std::to_string(index) +
                                               " needs " + std::to_string(appended.n_tokens) +
                                               " more tokens, " + std::to_string(model.n_tokens()) +
                                               " of " + std::to_string(model.n_ctx()) +
                                               " are in use");
    }

    int max_tokens = options.max_tokens_per_step;
    if (options.token_budget > 0)
      max_tokens = static_cast<int>(
          std::min<int64_t>(max_tokens, std::max<int64_t>(options.token_budget - used(), 0)));
    GenerationOutcome generated;
    if (max_tokens > 0) {
      generated = model.generate(max_tokens, stop, [&](std::string_view text) {
        if (options.on_text) options.on_text(index, text);
        return !interrupted();
      });
    }
    step.model_text = generated.text;
    step.end = generated.end;
    step.n_generated = generated.n_tokens;
    step.generated_tokens = generated.token_ids;
    step.generate_ms = generated.ms;
    step.context_tokens = model.n_tokens();
    result.n_generated += step.n_generated;
    result.model_ms += step.generate_ms;

    const ParsedTurn turn =
        dialect.parse(generated.text, &offered,
                      {.hit_token_limit = generated.end == GenerationEnd::max_tokens ||
                                          generated.end == GenerationEnd::context_full});
    result.messages.push_back(turn.to_message(generated.text));
    step.answer = turn.answer;
    step.thoughts = turn.thoughts;

    auto end_step = [&] {
      result.steps.push_back(std::move(step));
      if (options.on_step) options.on_step(result.steps.back());
    };
    if (generated.end == GenerationEnd::cancelled) {
      end_step();
      const Outcome why = interrupted().value_or(Outcome::cancelled);
      return finish(why, interrupted_reason(why));
    }
    if (turn.is_answer()) {
      end_step();
      result.answer = *turn.answer;
      return finish(Outcome::answered,
                    turn.truncated ? "answered (cut off by the token limit)" : "answered");
    }

    std::optional<std::string> looping;
    if (turn.calls.empty()) repeats = 0, last_call.clear();
    for (const ParsedCall& call : turn.calls) {
      const std::string key = call_key(call);
      repeats = key == last_call ? repeats + 1 : 1;
      last_call = key;
      if (repeats >= options.loop_repeats && !looping) {
        looping = "loop: the same call (" + (call.valid() ? call.call.name : std::string("error")) +
                  " " + (call.valid() ? call.call.arguments.dump() : call.source) + ") " +
                  std::to_string(repeats) + " times in a row";
      }
    }
    if (looping) {
      end_step();
      return finish(Outcome::loop, *looping);
    }
    if (!turn.calls.empty()) {
      if (auto why = interrupted()) {
        end_step();
        return finish(*why, interrupted_reason(*why));
      }
      std::vector<tools::CallRequest> requests;
      for (const ParsedCall& call : turn.calls)
        if (call.valid()) requests.push_back({call.call.name, call.call.arguments});
      tools::CallOptions call_options;
      call_options.stop = options.stop;
      if (deadline != Clock::time_point::max()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        call_options.deadline = std::max(left, std::chrono::milliseconds(1));
      }
      std::vector<tools::ToolResult> results;
      if (!requests.empty()) {
        const auto tools_start = Clock::now();
        results = options.call_tools ? options.call_tools(index, requests)
                                     : dispatcher.call_many(requests, call_options);
        if (results.size() != requests.size())
          throw std::logic_error("call_tools returned " + std::to_string(results.size()) +
                                 " results for " + std::to_string(requests.size()) + " calls");
        step.tool_ms = ms_since(tools_start);
      }
      result.tool_ms += step.tool_ms;
      const Message& assistant = result.messages.back();
      std::vector<Message> observations;
      std::size_t next_result = 0;
      for (std::size_t i = 0; i < turn.calls.size(); ++i) {
        const ParsedCall& call = turn.calls[i];
        StepCall record{
            .call = assistant.tool_calls.size() > i ? assistant.tool_calls[i] : call.call,
            .valid = call.valid(),
            .result =
                call.valid() ? results.at(next_result++) : tools::ToolResult::failure(call.error)};
        if (record.valid) result.tools_called.push_back(record.call.name);
        observations.push_back(
            Message::tool_result(record.call.name, record.call.id, record.result.text));
        step.calls.push_back(std::move(record));
      }
      const std::size_t first = result.messages.size();
      for (auto& m : observations) result.messages.push_back(std::move(m));
      fit_results(model, dialect, specs, options.tool_prompt, result.messages, first, step.calls,
                  std::min(options.reply_reserve, options.max_tokens_per_step));
    }
    end_step();
    if (generated.end == GenerationEnd::context_full)
      return finish(Outcome::context_full, "context full: the model's turn at step " +
                                               std::to_string(index) + " reached the end of the " +
                                               std::to_string(model.n_ctx()) + "-token context");
  }
  return finish(Outcome::max_steps,
                "no final answer within " + std::to_string(max_steps) + " steps");
}

}  // namespace

RunResult run(ModelContext& model, const Dialect& dialect, const tools::Registry& registry,
              const Task& task, const RunOptions& options) {
  std::vector<Message> messages;
  if (!options.system_prompt.empty()) messages.push_back(Message::system(options.system_prompt));
  messages.push_back(Message::user(task.prompt));
  return run_loop(model, dialect, registry, task.tools, task.source, std::move(messages),
                  task.max_steps > 0 ? task.max_steps : options.max_steps, options);
}

RunResult continue_run(ModelContext& model, const Dialect& dialect, const tools::Registry& registry,
                       std::vector<Message> history, std::string user_message,
                       std::span<const std::string> tools, const RunOptions& options) {
  if (history.empty() && !options.system_prompt.empty())
    history.push_back(Message::system(options.system_prompt));
  history.push_back(Message::user(std::move(user_message)));
  return run_loop(model, dialect, registry, tools, "--tools", std::move(history), options.max_steps,
                  options);
}

}  // namespace agentrt::agent
