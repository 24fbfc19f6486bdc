// The `simulate` tool: JSON arguments to a sim::Problem (free-form or a preset), and the outcome
// back to text for the model plus structured data.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "agentrt/plugins/simulate.h"
#include "agentrt/tools/schema.h"
#include "presets.h"

namespace agentrt::plugins {
namespace {

using nlohmann::json;

std::string num(double v, int digits = 10) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string preset_help() {
  std::string out;
  for (const sim::PresetSpec& s : sim::preset_specs()) {
    out += std::string(s.name) + ": " + std::string(s.about) + "; params ";
    bool first = true;
    for (const sim::ParamSpec& p : s.params) {
      out += (first ? "" : ", ") + std::string(p.name);
      if (!p.unit.empty()) out += " (" + std::string(p.unit) + ")";
      first = false;
    }
    out += ". ";
  }
  return out;
}

json make_schema(std::int64_t max_steps, std::int64_t max_samples) {
  json names;
  for (const sim::PresetSpec& s : sim::preset_specs()) names.push_back(std::string(s.name));
  const json numbers = {{"type", "object"}, {"additionalProperties", {{"type", "number"}}}};
  const json strings = {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}};
  auto with = [](json base, const char* description) {
    base["description"] = description;
    return base;
  };
  return {
      {"type", "object"},
      {"properties",
       {{"preset",
         {{"type", "string"},
          {"enum", names},
          {"description", "a named system, instead of equations"}}},
        {"params",
         {{"type", "object"},
          {"additionalProperties", {{"type", "number"}}},
          {"description",
           "preset parameters (SI units; defaults apply to the rest). " + preset_help()}}},
        {"equations",
         with(strings,
              "d(name)/dt = expression in calculator syntax, e.g. {\"y\": \"v\", \"v\": "
              "\"-9.81\"}; t, the variables and parameters may appear")},
        {"initial", with(numbers, "value of every variable at t0")},
        {"parameters", with(numbers, "named constants used in the expressions")},
        {"observe",
         with(strings, "derived quantities to report, e.g. {\"speed\": \"sqrt(vx^2+vy^2)\"}")},
        {"until",
         {{"type", "string"},
          {"description",
           "stop condition, e.g. \"y < 0\", \"x > 10 and t > 1\"; the event "
           "time is located to about 1e-9"}}},
        {"t0", {{"type", "number"}, {"default", 0}, {"description", "start time (s)"}}},
        {"t_end", {{"type", "number"}, {"description", "end time (s)"}}},
        {"duration",
         {{"type", "number"}, {"exclusiveMinimum", 0}, {"description", "t_end - t0 (s)"}}},
        {"samples",
         {{"type", "integer"},
          {"minimum", 2},
          {"maximum", max_samples},
          {"default", std::min<std::int64_t>(21, max_samples)},
          {"description", "trajectory points"}}},
        {"max_steps",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", max_steps},
          {"default", std::min<std::int64_t>(100'000, max_steps)},
          {"description", "bound on integrator steps"}}},
        {"abs_tol",
         {{"type", "number"}, {"exclusiveMinimum", 0}, {"maximum", 1}, {"default", 1e-10}}},
        {"rel_tol",
         {{"type", "number"}, {"exclusiveMinimum", 0}, {"maximum", 1}, {"default", 1e-10}}},
        {"max_step",
         {{"type", "number"}, {"exclusiveMinimum", 0}, {"description", "largest step (s)"}}}}},
      {"additionalProperties", false},
  };
}

template <class T>
std::vector<std::pair<std::string, T>> pairs(const json& args, const char* key) {
  std::vector<std::pair<std::string, T>> out;
  if (const auto it = args.find(key); it != args.end()) {
    for (const auto& [k, v] : it->items()) out.emplace_back(k, v.template get<T>());
  }
  return out;
}

std::string state_text(const sim::Outcome& o, const std::vector<double>& values) {
  std::string out;
  for (std::size_t q = 0; q < o.names.size(); ++q) {
    out += (q ? ", " : "") + o.names[q] + " = " + num(values[q]);
  }
  return out;
}

std::string render(const sim::Outcome& o, const std::string& title, const std::string& until,
                   const std::vector<sim::SummaryItem>& summary) {
  std::string text = title + "simulated t = " + num(o.sample_t.front()) + " to " +
                     num(o.t_final, 12) + " in " + std::to_string(o.steps) + " steps\n";
  if (o.event) text += "event: " + until + " at t = " + num(o.t_final, 12) + "\n";
  text += "final: " + state_text(o, o.final_state) + "\n";
  if (!summary.empty()) {
    text += "results:";
    for (const auto& s : summary) {
      text += " " + s.label + " = " + num(s.value) + (s.unit.empty() ? "" : " " + s.unit) + ";";
    }
    text.back() = '\n';
  }
  text += "extrema:\n";
  for (std::size_t q = 0; q < o.names.size(); ++q) {
    const sim::Extremum& e = o.extrema[q];
    text += "  " + o.names[q] + ": min " + num(e.min) + " at t = " + num(e.t_min) + ", max " +
            num(e.max) + " at t = " + num(e.t_max) + "\n";
  }
  text += "trajectory (t";
  for (const std::string& n : o.names) text += ", " + n;
  text += "):\n";
  const std::size_t n = o.sample_t.size();
  const std::size_t rows = std::min<std::size_t>(n, 11);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t i = rows == 1 ? 0 : (r * (n - 1) + (rows - 1) / 2) / (rows - 1);
    text += "  " + num(o.sample_t[i], 6);
    for (std::size_t q = 0; q < o.names.size(); ++q) text += ", " + num(o.samples[q][i], 6);
    text += "\n";
  }
  if (n > rows) text += "  (" + std::to_string(rows) + " of " + std::to_string(n) + " samples)\n";
  return text;
}

json to_data(const sim::Outcome& o, const std::string& until) {
  json final_state = {{"t", o.t_final}};
  json extrema = json::object();
  json trajectory = {{"t", o.sample_t}};
  for (std::size_t q = 0; q < o.names.size(); ++q) {
    final_state[o.names[q]] = o.final_state[q];
    const sim::Extremum& e = o.extrema[q];
    extrema[o.names[q]] = {{"min", e.min}, {"t_min", e.t_min}, {"max", e.max}, {"t_max", e.t_max}};
    trajectory[o.names[q]] = o.samples[q];
  }
  json event = nullptr;
  if (o.event) {
    json state = final_state;
    state.erase("t");
    event = {{"time", o.t_final}, {"condition", until}, {"state", std::move(state)}};
  }
  return {{"final", std::move(final_state)},
          {"event", std::move(event)},
          {"extrema", std::move(extrema)},
          {"trajectory", std::move(trajectory)},
          {"steps", o.steps}};
}

class SimulateTool final : public tools::Tool {
 public:
  SimulateTool(std::int64_t max_steps, std::int64_t max_samples) {
    spec_.name = "simulate";
    spec_.description =
        "Simulates a dynamical system (ODEs in calculator syntax, or a preset: projectile, "
        "pendulum, spring, orbit, logistic, exponential) and reports the final state, the time "
        "of a stop event, extrema and a sampled trajectory.";
    spec_.parameters = make_schema(max_steps, max_samples);
  }

  const tools::ToolSpec& spec() const override { return spec_; }

  tools::ToolResult invoke(const json& raw, const tools::ToolContext& ctx) const override {
    if (auto errors = tools::validate(spec_.parameters, raw); !errors.empty()) {
      return tools::ToolResult::failure(tools::join_errors(errors));
    }
    const json args = tools::fill_defaults(spec_.parameters, raw);
    sim::Problem problem;
    std::optional<sim::PresetRun> preset;
    if (args.contains("preset")) {
      for (const char* key : {"equations", "initial", "parameters"}) {
        if (args.contains(key)) {
          return tools::ToolResult::failure(
              std::string("a preset takes params, not '") + key +
              "'; use equations without a preset for a custom system");
        }
      }
      std::map<std::string, double> given;
      for (const auto& [k, v] : pairs<double>(args, "params")) given[k] = v;
      auto run = sim::make_preset(args.at("preset").get<std::string>(), given);
      if (!run) return tools::ToolResult::failure(run.error().message);
      preset = std::move(run).value();
      problem = preset->problem;
    } else {
      if (!args.contains("equations")) {
        return tools::ToolResult::failure(
            "give either a preset (with params) or equations with initial values");
      }
      if (args.contains("params")) {
        return tools::ToolResult::failure(
            "params belong to a preset; use parameters with equations");
      }
      problem.equations = pairs<std::string>(args, "equations");
      problem.initial = pairs<double>(args, "initial");
      problem.parameters = pairs<double>(args, "parameters");
    }
    for (const auto& [name, expr] : pairs<std::string>(args, "observe")) {
      problem.observables.push_back({name, expr, ""});
    }
    const double t0 = args.at("t0").get<double>();
    if (preset) problem.t_end += t0 - problem.t0;
    problem.t0 = t0;
    if (args.contains("t_end") && args.contains("duration")) {
      return tools::ToolResult::failure("give t_end or duration, not both");
    }
    if (args.contains("t_end")) problem.t_end = args.at("t_end").get<double>();
    if (args.contains("duration")) problem.t_end = t0 + args.at("duration").get<double>();
    if (args.contains("until")) problem.until = args.at("until").get<std::string>();

    sim::Options options;
    options.abs_tol = args.at("abs_tol").get<double>();
    options.rel_tol = args.at("rel_tol").get<double>();
    options.samples = args.at("samples").get<std::size_t>();
    options.max_steps = args.at("max_steps").get<std::size_t>();
    if (args.contains("max_step")) options.max_step = args.at("max_step").get<double>();
    options.should_stop = [&ctx] { return ctx.cancelled(); };

    auto outcome = sim::simulate(problem, options);
    if (!outcome) return tools::ToolResult::failure(outcome.error().message);
    const sim::Outcome& o = outcome.value();
    json data = to_data(o, problem.until);
    std::string title;
    std::vector<sim::SummaryItem> summary;
    if (preset) {
      preset->problem.until = problem.until;
      summary = sim::summarize(*preset, o);
      json results = json::object();
      for (const auto& s : summary) results[s.key] = s.value;
      data["preset"] = {{"name", preset->name}, {"params", preset->params}, {"results", results}};
      title = preset->name + " (";
      bool first = true;
      const sim::PresetSpec& spec = *sim::find_preset(preset->name);
      for (const auto& [k, v] : preset->params) {
        title += (first ? "" : ", ") + k + " = " + num(v);
        for (const sim::ParamSpec& ps : spec.params) {
          if (ps.name == k && !ps.unit.empty()) title += " " + std::string(ps.unit);
        }
        first = false;
      }
      title += "): ";
    }
    return tools::ToolResult::success(render(o, title, problem.until, summary), std::move(data));
  }

 private:
  tools::ToolSpec spec_;
};

}  // namespace

void register_simulate(tools::Registry& registry, const tools::Config& config) {
  const auto max_steps = config.get_int("simulate.max_steps", 1'000'000);
  const auto max_samples = config.get_int("simulate.max_samples", 1'000);
  if (max_steps < 1 || max_steps > 1'000'000'000) {
    throw tools::ConfigError("simulate.max_steps must be between 1 and 1000000000");
  }
  if (max_samples < 2 || max_samples > 1'000'000) {
    throw tools::ConfigError("simulate.max_samples must be between 2 and 1000000");
  }
  registry.add(std::make_unique<SimulateTool>(max_steps, max_samples));
}

}  // namespace agentrt::plugins
