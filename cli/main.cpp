// agentrt: the command-line front end.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"agentrt: a runtime for tool-augmented language-model agents"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "agentrt 0.1.0");
  agentrt::cli::add_generate_commands(app);
  agentrt::cli::add_tools_commands(app);
  agentrt::cli::add_index_commands(app);
  agentrt::cli::add_agent_commands(app);
  agentrt::cli::add_run_commands(app);
  agentrt::cli::add_serve_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? agentrt::cli::kExitOk : agentrt::cli::kExitError;
  } catch (const agentrt::cli::ExitCode& e) {
    return e.code;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "agentrt: %s\n", e.what());
    return agentrt::cli::kExitError;
  }
  return agentrt::cli::kExitOk;
}
