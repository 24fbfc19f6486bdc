// Tools with the built-in plugins' names and argument schemas (calculator, search, solver), so
// dialect tests check unknown tools and schema errors without loading the plugins.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agentrt/tools/registry.h"
#include "agentrt/tools/tool.h"

namespace agentrt::agent::test {

class SchemaOnlyTool final : public tools::Tool {
 public:
  SchemaOnlyTool(std::string name, std::string description, nlohmann::json parameters)
      : spec_{std::move(name), std::move(description), std::move(parameters)} {}
  const tools::ToolSpec& spec() const override { return spec_; }
  tools::ToolResult invoke(const nlohmann::json& arguments,
                           const tools::ToolContext&) const override {
    return tools::ToolResult::success(arguments.dump());
  }

 private:
  tools::ToolSpec spec_;
};

inline nlohmann::json one_string(const std::string& name, bool non_empty = false) {
  nlohmann::json property = {{"type", "string"}};
  if (non_empty) property["minLength"] = 1u;
  return {{"type", "object"},
          {"properties", {{name, property}}},
          {"required", {name}},
          {"additionalProperties", false}};
}

inline std::unique_ptr<tools::Registry> agent_registry() {
  auto registry = std::make_unique<tools::Registry>();
  registry->add(std::make_unique<SchemaOnlyTool>(
      "calculator", "Evaluates an arithmetic expression.", one_string("expression")));
  auto search = one_string("query", true);
  search["properties"]["k"] = {
      {"type", "integer"}, {"minimum", 1u}, {"maximum", 10u}, {"default", 3}};
  registry->add(std::make_unique<SchemaOnlyTool>("search", "Searches the documents.", search));
  registry->add(std::make_unique<SchemaOnlyTool>("solver", "Solves equations and systems.",
                                                 one_string("equation")));
  registry->freeze();
  return registry;
}

}  // namespace agentrt::agent::test
