#include "commands.h"
namespace agentrt::cli { void add_generate_commands(CLI::App&) {} }
