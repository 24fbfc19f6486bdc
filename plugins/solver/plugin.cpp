// The `solver` tool.
#include "agentrt/plugins/solver.h"

#include "agentrt/plugins/calculator.h"

namespace agentrt::plugins {
namespace {

nlohmann::json number_json(const solver::Number& n) {
  nlohmann::json j = {{"value", n.re}, {"text", n.text}};
  if (n.im != 0) j["imag"] = n.im;
  if (!n.exact.empty()) j["exact"] = n.exact;
  return j;
}

const char* status_name(solver::Status s) {
  switch (s) {
    case solver::Status::kSolved:
      return "solved";
    case solver::Status::kNoSolution:
      return "no_solution";
    case solver::Status::kUnderdetermined:
      return "underdetermined";
  }
  return "unknown";
}

class SolverTool final : public tools::Tool {
 public:
  SolverTool() {
    spec_.name = "solver";
    spec_.description =
        "Solves equations and systems, e.g. x+y=32;x-y=14 or 900/x^2 - x^2 = 0 (linear systems, "
        "polynomials with real and complex roots, one-unknown nonlinear equations).";
    spec_.parameters = {
        {"type", "object"},
        {"properties",
         {{"equation",
           {{"type", "string"},
            {"description",
             "Equations separated by ';' or ',', optionally ending with the expression asked "
             "for: '4*pi*r^2=384; r'"}}}}},
        {"required", {"equation"}},
        {"additionalProperties", false},
    };
  }

  const tools::ToolSpec& spec() const override { return spec_; }

  tools::ToolResult invoke(const nlohmann::json& arguments,
                           const tools::ToolContext& ctx) const override {
    const auto it = arguments.find("equation");
    if (it == arguments.end() || !it->is_string()) {
      return tools::ToolResult::failure("solver needs a string argument 'equation'");
    }
    auto outcome = solver::solve(it->get_ref<const std::string&>(), ctx.deadline());
    if (!outcome) return tools::ToolResult::failure(calc::describe(outcome.error()));
    const solver::Outcome& o = outcome.value();
    nlohmann::json solutions = nlohmann::json::array();
    for (const auto& s : o.solutions) {
      nlohmann::json values = nlohmann::json::object();
      for (const auto& [name, n] : s.values) values[name] = number_json(n);
      nlohmann::json entry = {{"values", values}};
      if (!s.targets.empty()) {
        nlohmann::json targets = nlohmann::json::array();
        for (const auto& t : s.targets) targets.push_back(number_json(t));
        entry["targets"] = targets;
      }
      solutions.push_back(std::move(entry));
    }
    nlohmann::json data = {
        {"status", status_name(o.status)}, {"unknowns", o.unknowns}, {"solutions", solutions}};
    if (!o.targets.empty()) data["targets"] = o.targets;
    if (!o.note.empty()) data["note"] = o.note;
    return tools::ToolResult::success(o.text, std::move(data));
  }

 private:
  tools::ToolSpec spec_;
};

}  // namespace

void register_solver(tools::Registry& registry, const tools::Config& /*config: no settings*/) {
  registry.add(std::make_unique<SolverTool>());
}

}  // namespace agentrt::plugins
