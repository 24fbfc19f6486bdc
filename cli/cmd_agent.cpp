// agentrt parse: what a dialect makes of model text, without a model (for debugging a new one).
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agentrt/agent/dialect.h"
#include "commands.h"
#include "options.h"

namespace agentrt::cli {
namespace {

using nlohmann::json;

std::unique_ptr<tools::Registry> select_tools(const tools::Registry& all,
                                              const std::vector<std::string>& names) {
  try {
    return all.subset(names);
  } catch (const tools::RegistryError& e) {
    throw std::runtime_error(std::string("--tools: ") + e.what());
  }
}

struct ParseCommand {
  ToolOptions tool_options;
  std::string dialect = "chatml";
  std::vector<std::string> tools;
  bool as_json = false;
  bool hit_token_limit = false;
};

json turn_json(const agent::ParsedTurn& turn, std::string_view dialect) {
  json calls = json::array();
  for (const auto& c : turn.calls) {
    calls.push_back({{"id", c.call.id},
                     {"name", c.call.name},
                     {"arguments", c.call.arguments},
                     {"valid", c.valid()},
                     {"error", c.valid() ? json(nullptr) : json(c.error)},
                     {"source", c.source}});
  }
  return {{"dialect", dialect},
          {"answer", turn.is_answer() ? json(*turn.answer) : json(nullptr)},
          {"truncated", turn.truncated},
          {"thoughts", turn.thoughts},
          {"calls", calls}};
}

void print_turn(const agent::ParsedTurn& turn) {
  if (!turn.thoughts.empty()) std::cout << "thoughts: " << turn.thoughts << "\n";
  if (turn.is_answer()) {
    std::cout << "answer" << (turn.truncated ? " (cut off by the token limit)" : "") << ": "
              << *turn.answer << "\n";
    return;
  }
  if (turn.calls.empty()) std::cout << "no call and no answer yet\n";
  for (std::size_t i = 0; i < turn.calls.size(); ++i) {
    const auto& c = turn.calls[i];
    std::cout << "call " << i + 1 << ": ";
    if (c.valid()) {
      std::cout << c.call.name << " "
                << c.call.arguments.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    } else {
      std::cout << "error: " << c.error << "\n";
    }
  }
}

int run_parse(const ParseCommand& cmd) {
  auto dialect = agent::dialect_by_name(cmd.dialect);
  auto config = load_config(cmd.tool_options);
  auto registry = load_tools(cmd.tool_options, config);
  if (!cmd.tools.empty()) registry = select_tools(*registry, cmd.tools);
  std::ostringstream input;
  input << std::cin.rdbuf();
  const std::string text = input.str();
  agent::ParseOptions options;
  options.hit_token_limit = cmd.hit_token_limit;
  const agent::ParsedTurn turn = dialect->parse(text, registry.get(), options);
  if (cmd.as_json) {
    std::cout
        << turn_json(turn, dialect->name()).dump(2, ' ', false, json::error_handler_t::replace)
        << "\n";
  } else {
    print_turn(turn);
  }
  std::cout.flush();
  return turn.has_errors() ? kExitFailure : kExitOk;
}

}  // namespace

void add_agent_commands(CLI::App& app) {
  auto cmd = std::make_shared<ParseCommand>();
  CLI::App* parse = app.add_subcommand(
      "parse",
      "Parse model text from stdin with a dialect and print the answer or tool calls "
      "(exit 1 when a call is invalid)");
  add_tool_options(*parse, cmd->tool_options);
  parse->add_option("--dialect", cmd->dialect, "chatml, moss, react or gemma (default chatml)")
      ->check(CLI::IsMember(agent::dialect_names()));
  parse->add_option("--tools", cmd->tools, "Only these tools, comma-separated (default: all)")
      ->delimiter(',');
  parse->add_flag("--json", cmd->as_json, "Print the parsed turn as JSON");
  parse->add_flag("--hit-token-limit", cmd->hit_token_limit,
                  "The text ended at the token limit, not at a stop sequence");
  parse->callback([cmd] {
    int code = run_parse(*cmd);
    if (code != kExitOk) throw ExitCode{code};
  });
}

}  // namespace agentrt::cli
