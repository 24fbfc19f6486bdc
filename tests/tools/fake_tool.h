// A Tool built from a lambda, for tests.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agentrt/tools/tool.h"

namespace agentrt::tools::test {

class FakeTool final : public Tool {
 public:
  using Fn = std::function<ToolResult(const nlohmann::json&, const ToolContext&)>;
  FakeTool(std::string name, nlohmann::json parameters, Fn fn)
      : spec_{std::move(name), "a test tool", std::move(parameters)}, fn_(std::move(fn)) {}
  const ToolSpec& spec() const override { return spec_; }
  ToolResult invoke(const nlohmann::json& arguments, const ToolContext& ctx) const override {
    return fn_(arguments, ctx);
  }

 private:
  ToolSpec spec_;
  Fn fn_;
};

inline std::unique_ptr<Tool> fake_tool(std::string name, FakeTool::Fn fn,
                                       nlohmann::json parameters = {{"type", "object"}}) {
  return std::make_unique<FakeTool>(std::move(name), std::move(parameters), std::move(fn));
}

inline ToolResult echo(const nlohmann::json& args, const ToolContext&) {
  return ToolResult::success(args.dump(), args);
}

}  // namespace agentrt::tools::test
