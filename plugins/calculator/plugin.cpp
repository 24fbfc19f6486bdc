// The `calculator` tool.
#include <cmath>

#include "agentrt/plugins/calculator.h"
#include "agentrt/plugins/calculator/value.h"

namespace agentrt::plugins {
namespace calc {

std::string describe(const Error& error) {
  if (error.position == 0) return error.message;
  return error.message + " at position " + std::to_string(error.position);
}

Result<Answer> calculate(std::string_view expression, const CalculateOptions& options) {
  ParseOptions parse_options;
  parse_options.max_length = options.max_length;
  auto tree = parse(expression, parse_options);
  if (!tree) return tree.error();
  Limits limits;
  limits.max_bits = options.max_bits;
  limits.deadline = options.deadline;
  auto value = evaluate(tree.value(), limits);
  if (!value) return value.error();
  const Value& v = value.value();
  Answer answer;
  answer.text = to_text(v);
  answer.exact = v.is_exact();
  answer.fraction = to_fraction(v);
  answer.value = v.to_double();
  return answer;
}

}  // namespace calc

namespace {

class CalculatorTool final : public tools::Tool {
 public:
  explicit CalculatorTool(calc::CalculateOptions options) : options_(options) {
    spec_.name = "calculator";
    spec_.description =
        "Evaluates an arithmetic expression exactly where possible, e.g. 3.5^2*pi, 2^100, "
        "7!/(4!*3!), sqrt(2)/3, 15% * 80.";
    spec_.parameters = {
        {"type", "object"},
        {"properties",
         {{"expression",
           {{"type", "string"},
            {"description",
             "Arithmetic: + - * / // % ^ ** !, sqrt exp ln log log10 log2 sin cos tan (radians) "
             "asin acos atan abs floor ceil round min max factorial gcd lcm, pi, e"}}}}},
        {"required", {"expression"}},
        {"additionalProperties", false},
    };
  }

  const tools::ToolSpec& spec() const override { return spec_; }

  tools::ToolResult invoke(const nlohmann::json& arguments,
                           const tools::ToolContext& ctx) const override {
    const auto it = arguments.find("expression");
    if (it == arguments.end() || !it->is_string()) {
      return tools::ToolResult::failure("calculator needs a string argument 'expression'");
    }
    const std::string& expression = it->get_ref<const std::string&>();
    calc::CalculateOptions options = options_;
    options.deadline = ctx.deadline();
    auto answer = calc::calculate(expression, options);
    if (!answer) return tools::ToolResult::failure(calc::describe(answer.error()));
    const calc::Answer& a = answer.value();
    nlohmann::json data = {{"value", a.text}, {"exact", a.exact}};
    if (!a.fraction.empty()) data["fraction"] = a.fraction;
    if (std::isfinite(a.value)) data["number"] = a.value;
    return tools::ToolResult::success(a.text, std::move(data));
  }

 private:
  tools::ToolSpec spec_;
  calc::CalculateOptions options_;
};

}  // namespace

void register_calculator(tools::Registry& registry, const tools::Config& config) {
  calc::CalculateOptions options;
  const auto max_length = config.get_int("calculator.max_length", 10'000);
  const auto max_bits = config.get_int("calculator.max_bits", 131'072);
  if (max_length < 1 || max_length > 10'000'000) {
    throw tools::ConfigError("calculator.max_length must be between 1 and 10000000");
  }
  if (max_bits < 64 || max_bits > 10'000'000) {
    throw tools::ConfigError("calculator.max_bits must be between 64 and 10000000");
  }
  options.max_length = static_cast<std::size_t>(max_length);
  options.max_bits = static_cast<std::size_t>(max_bits);
  registry.add(std::make_unique<CalculatorTool>(options));
}

}  // namespace agentrt::plugins
