// POST /v1/agent/runs (a task run server-side through the agent loop, with the plugins) and
// GET /v1/agent/runs/{id} (its stored trace).
#include <algorithm>
#include <charconv>
#include <stop_token>

#include "api_state.h"

namespace agentrt::server {
namespace {

using nlohmann::json;

struct AgentJob {
  agent::Task task;
  agent::RunOptions options;
  engine::SamplerParams sampling;
  bool stream = false;
  std::string prompt;  // the first render, to pick the slot that shares most of it
};

AgentJob read_agent_request(const Api::State& st, const json& body) {
  AgentJob job;
  job.task.prompt = string_field(body, "prompt", "");
  if (job.task.prompt.empty())
    throw RequestError(400, "'prompt' is required", "invalid_request_error",
                       "missing_required_parameter", "prompt");
  job.task.name = string_field(body, "name", "http");
  job.task.source = "request";
  if (const json* t = field(body, "tools")) {
    if (!t->is_array())
      throw RequestError(400, "'tools' must be an array of tool names", "invalid_request_error",
                         "invalid_type", "tools");
    for (const auto& name : *t) {
      if (!name.is_string() || !st.registry.find(name.get<std::string>()))
        throw RequestError(400,
                           "'tools': unknown tool " + dump(name) + "; GET /v1/tools lists them",
                           "invalid_request_error", "tool_not_found", "tools");
      job.task.tools.push_back(name.get<std::string>());
    }
  }
  job.options = st.options.agent;
  job.options.tool_prompt = st.provider->tool_prompt();
  job.options.dispatcher = st.options.dispatcher;
  job.task.max_steps = static_cast<int>(int_field(body, "max_steps", job.options.max_steps, 1, 64));
  job.options.max_tokens_per_step = static_cast<int>(
      int_field(body, "max_tokens_per_step", st.options.default_max_tokens, 1, 1 << 16));
  job.options.token_budget =
      int_field(body, "token_budget", job.options.token_budget, 0, 1LL << 40);
  job.options.deadline = std::chrono::milliseconds(
      int_field(body, "deadline_ms", job.options.deadline.count(), 0, 3600000));
  job.options.system_prompt = string_field(body, "system_prompt", job.options.system_prompt);
  job.sampling = sampling_fields(body, st.options.sampling);
  job.stream = bool_field(body, "stream", false);

  std::vector<agent::Message> messages;
  if (!job.options.system_prompt.empty())
    messages.push_back(agent::Message::system(job.options.system_prompt));
  messages.push_back(agent::Message::user(job.task.prompt));
  std::vector<tools::ToolSpec> specs;
  for (const tools::Tool* t : st.registry.list()) {
    const auto& names = job.task.tools;
    if (names.empty() || std::find(names.begin(), names.end(), t->spec().name) != names.end())
      specs.push_back(t->spec());
  }
  job.prompt = st.provider->dialect().render(
      messages, specs, {.add_generation_prompt = true, .tool_prompt = job.options.tool_prompt});
  return job;
}

json result_json(int64_t id, const agent::Task& task, const agent::RunResult& r) {
  json steps = json::array();
  for (const auto& s : r.steps) steps.push_back(agent::step_record(s));
  return {{"id", id},
          {"object", "agent.run"},
          {"task", task.name},
          {"outcome", agent::outcome_name(r.outcome)},
          {"reason", r.reason},
          {"answer", r.answer},
          {"tools_called", r.tools_called},
          {"steps", steps},
          {"usage", {{"prompt_tokens", r.n_prefill}, {"completion_tokens", r.n_generated}}},
          {"model_ms", r.model_ms},
          {"tool_ms", r.tool_ms},
          {"wall_ms", r.wall_ms}};
}

void run_agent(Api::State& st, AgentJob& job, Pending& pending) {
  // The loop appends what the context lacks of its first render.
  ContextSlot& slot = st.slot_for(job.prompt);
  agent::ModelContext& ctx = slot.context();
  slot.set_sampling(job.sampling);

  int64_t run_id = 0;
  {
    std::lock_guard lock(st.traces_mutex);
    run_id = st.traces->begin_run(
        {.task = job.task.name,
         .prompt = job.task.prompt,
         .task_json = {{"name", job.task.name},
                       {"prompt", job.task.prompt},
                       {"tools", job.task.tools},
                       {"max_steps", job.task.max_steps}},
         .dialect = std::string(st.provider->dialect().name()),
         .model = st.provider->model_id(),
         .sampling = {{"temperature", job.sampling.temperature}, {"top_p", job.sampling.top_p}},
         .seed = job.sampling.seed,
         .settings = {{"system_prompt", job.options.system_prompt},
                      {"max_tokens_per_step", job.options.max_tokens_per_step},
                      {"token_budget", job.options.token_budget},
                      {"source", "http"}}});
  }
  std::stop_source cancel;
  job.options.stop = cancel.get_token();
  job.options.on_text = [&](int, std::string_view) {
    if (pending.cancelled()) cancel.request_stop();
  };
  job.options.on_step = [&](const agent::Step& step) {
    {
      std::lock_guard lock(st.traces_mutex);
      st.traces->add_step(run_id, step);
    }
    st.metrics.add_tokens(step.n_prefill, step.n_generated, 0);
    st.metrics.observe_step(step.model_ms() / 1000.0);
    if (!step.calls.empty()) st.metrics.observe_tool(step.tool_ms / 1000.0);
    if (job.stream) {
      // The JSON is written on the I/O thread, from the step's record.
      pending.write([run_id, record = agent::step_record(step)] {
        return sse({{"type", "step"}, {"run_id", run_id}, {"step", record}});
      });
    }
  };
  if (job.stream) {
    pending.open_stream();
    pending.write([run_id] { return sse({{"type", "run.started"}, {"run_id", run_id}}); });
  }
  auto result = std::make_shared<const agent::RunResult>(
      agent::run(ctx, st.provider->dialect(), st.registry, job.task, job.options));
  {
    std::lock_guard lock(st.traces_mutex);
    st.traces->finish_run(run_id, *result, std::nullopt);
  }
  if (!job.stream) {
    pending.respond([run_id, task = job.task, result] {
      HttpResponse response;
      response.body = dump(result_json(run_id, task, *result));
      return response;
    });
    return;
  }
  pending.write([run_id, task = job.task, result] {
    json out = result_json(run_id, task, *result);
    out.erase("steps");  // each was its own event
    out["type"] = "run.finished";
    return sse(out) + "data: [DONE]\n\n";
  });
  pending.close();
}

}  // namespace

HttpResponse handle_agent_run(Api::State& st, const json& body) {
  auto job = std::make_shared<AgentJob>(read_agent_request(st, body));
  return st.defer_model_work([&st, job](Pending& pending) { run_agent(st, *job, pending); });
}

HttpResponse handle_get_agent_run(Api::State& st, std::string_view id_text) {
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || end != id_text.data() + id_text.size() || id <= 0)
    throw RequestError(404, "no agent run " + std::string(id_text), "invalid_request_error",
                       "not_found");
  std::optional<agent::RunRecord> run;
  std::vector<agent::StepRecord> steps;
  {
    std::lock_guard lock(st.traces_mutex);
    run = st.traces->find_run(id);
    if (run) steps = st.traces->steps(id);
  }
  if (!run)
    throw RequestError(404, "no agent run " + std::to_string(id), "invalid_request_error",
                       "not_found");
  HttpResponse response;
  response.body =
      dump({{"id", id}, {"object", "agent.run.trace"}, {"run", *run}, {"steps", steps}});
  return response;
}

}  // namespace agentrt::server
