// Each command group registers its subcommands on the root app. A command's callback throws on
// failure; main() catches at exactly one place, prints "agentrt: <message>" and exits non-zero.
#pragma once

#include <CLI/CLI.hpp>

namespace agentrt::cli {

// Exit codes shared by all commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and the answer is "no" (tool error, ...)
inline constexpr int kExitError = 2;    // bad usage, unreadable input, load failure

// Thrown by a command to exit with a specific code after printing its own message.
struct ExitCode {
  int code;
};

void add_generate_commands(CLI::App& app);  // generate, inspect, bench
void add_tools_commands(CLI::App& app);     // tools, tool
void add_index_commands(CLI::App& app);     // index build
void add_agent_commands(CLI::App& app);     // parse
void add_run_commands(CLI::App& app);       // run, eval, trace
void add_serve_commands(CLI::App& app);     // serve

}  // namespace agentrt::cli
