// agentrt tools | tool: the tool layer on its own, without a model.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "agentrt/tools/dispatcher.h"
#include "agentrt/tools/schema.h"
#include "commands.h"
#include "options.h"

namespace agentrt::cli {
namespace {

using nlohmann::json;

[[noreturn]] void exit_with(int code, const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "agentrt: %s\n", message.c_str());
  throw ExitCode{code};
}

std::string describe_parameter(const std::string& name, const json& schema, bool required) {
  std::string line = "    " + name;
  std::string type;
  if (auto t = schema.find("type"); t != schema.end()) {
    type = t->is_string() ? t->get<std::string>() : t->dump();
  }
  if (auto e = schema.find("enum"); e != schema.end())
    type += (type.empty() ? "" : " ") + e->dump();
  line += " (" + (type.empty() ? std::string("any") : type) + (required ? ", required" : "");
  if (auto d = schema.find("default"); d != schema.end()) line += ", default " + d->dump();
  line += ")";
  if (auto d = schema.find("description"); d != schema.end() && d->is_string()) {
    line += ": " + d->get<std::string>();
  }
  return line;
}

void list_tools(const ToolOptions& options, bool as_json) {
  auto config = load_config(options);
  auto registry = load_tools(options, config);
  if (as_json) {
    json out = json::array();
    for (const auto* tool : registry->list()) {
      const auto& spec = tool->spec();
      out.push_back({{"name", spec.name},
                     {"description", spec.description},
                     {"parameters", spec.parameters}});
    }
    std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return;
  }
  if (registry->size() == 0) {
    std::cout << "no tools (load one with --plugin PATH)\n";
    return;
  }
  for (const auto* tool : registry->list()) {
    const auto& spec = tool->spec();
    std::cout << spec.name << ": " << spec.description << "\n";
    const json& params = spec.parameters;
    json required = params.contains("required") ? params.at("required") : json::array();
    if (auto props = params.find("properties"); props != params.end() && props->is_object()) {
      for (const auto& [name, schema] : props->items()) {
        bool is_required = std::find(required.begin(), required.end(), name) != required.end();
        std::cout << describe_parameter(name, schema, is_required) << "\n";
      }
    }
  }
}

// --batch: one call per stdin line, {"name": N, "arguments": {...}}, and one result per stdout
// line, {"ok", "text", "data", "truncated"}, in order. A line that is not a valid call gets
// {"ok": false, "text": why} and the batch goes on; the exit status is 0 unless stdin fails.
// This is how the training data generator gets real plugin output for many calls at once.
int run_batch(const ToolOptions& options) {
  auto config = load_config(options);
  auto registry = load_tools(options, config);
  tools::Dispatcher dispatcher(*registry, tools::DispatcherOptions::from_config(config));
  std::string line;
  while (std::getline(std::cin, line)) {
    tools::ToolResult result;
    json call = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (call.is_discarded() || !call.is_object() || !call.contains("name") ||
        !call["name"].is_string()) {
      result =
          tools::ToolResult::failure("not a call: expected {\"name\": ..., \"arguments\": {...}}");
    } else {
      const std::string name = call["name"].get<std::string>();
      json args = call.value("arguments", json::object());
      const tools::Tool* tool = registry->find(name);
      if (!tool) {
        result = tools::ToolResult::failure("unknown tool \"" + name + "\"");
      } else if (!args.is_object()) {
        result = tools::ToolResult::failure("arguments must be a JSON object");
      } else if (auto errors = tools::validate(tool->spec().parameters, args); !errors.empty()) {
        result = tools::ToolResult::failure("invalid arguments for tool \"" + name +
                                            "\": " + tools::join_errors(errors));
      } else {
        result = dispatcher.call(name, args);
      }
    }
    std::cout << json(result).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    std::cout.flush();
  }
  return kExitOk;
}

int run_tool(const ToolOptions& options, const std::string& name, const std::string& arguments,
             bool as_json) {
  json args = json::parse(arguments, nullptr, /*allow_exceptions=*/false);
  if (args.is_discarded()) exit_with(kExitError, "invalid JSON arguments: " + arguments);
  if (!args.is_object()) {
    exit_with(kExitError, std::string("arguments must be a JSON object, got ") + args.type_name());
  }
  auto config = load_config(options);
  auto registry = load_tools(options, config);
  // Usage errors (no such tool, arguments that do not fit) exit 2, before anything runs.
  const tools::Tool* tool = registry->find(name);
  if (!tool) {
    std::string available;
    for (const auto& n : registry->names()) available += (available.empty() ? "" : ", ") + n;
    exit_with(kExitError, "unknown tool \"" + name + "\"; available tools: " +
                              (available.empty() ? std::string("(none)") : available));
  }
  if (auto errors = tools::validate(tool->spec().parameters, args); !errors.empty()) {
    exit_with(kExitError,
              "invalid arguments for tool \"" + name + "\": " + tools::join_errors(errors));
  }
  tools::Dispatcher dispatcher(*registry, tools::DispatcherOptions::from_config(config));
  tools::ToolResult result = dispatcher.call(name, args);
  if (as_json) {
    std::cout << json(result).dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else if (result.ok) {
    std::cout << result.text << "\n";
  }
  std::cout.flush();
  if (!result.ok) exit_with(kExitFailure, result.text);
  return kExitOk;
}

}  // namespace

void add_tools_commands(CLI::App& app) {
  {
    auto options = std::make_shared<ToolOptions>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("tools", "List the available tools and their schemas");
    add_tool_options(*cmd, *options);
    cmd->add_flag("--json", *as_json, "Print the tools as a JSON array");
    cmd->callback([options, as_json] { list_tools(*options, *as_json); });
  }
  {
    auto options = std::make_shared<ToolOptions>();
    auto name = std::make_shared<std::string>();
    auto arguments = std::make_shared<std::string>("{}");
    auto as_json = std::make_shared<bool>(false);
    auto batch = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("tool", "Invoke one tool with JSON arguments");
    add_tool_options(*cmd, *options);
    cmd->add_option("name", *name, "Tool name");
    cmd->add_option("arguments", *arguments, "Arguments as a JSON object (default {})");
    cmd->add_flag("--json", *as_json, "Print the whole result object as JSON");
    cmd->add_flag("--batch", *batch,
                  "Read calls from stdin, one {\"name\", \"arguments\"} JSON object a line, and "
                  "print one JSON result a line");
    cmd->callback([options, name, arguments, as_json, batch] {
      if (*batch) {
        if (!name->empty())
          exit_with(kExitError, "--batch reads the calls from stdin; give no name");
        throw ExitCode{run_batch(*options)};
      }
      if (name->empty()) exit_with(kExitError, "tool: a tool name is required (or --batch)");
      int code = run_tool(*options, *name, *arguments, *as_json);
      if (code != kExitOk) throw ExitCode{code};
    });
  }
}

}  // namespace agentrt::cli
