// agentrt serve: the OpenAI-compatible HTTP server (docs/http-api.md).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "agentrt/agent/trace.h"
#include "agentrt/server/server.h"
#include "commands.h"
#include "options.h"

namespace agentrt::cli {
namespace {

struct ServeArgs {
  ToolOptions tool_options;
  std::string model;  // empty: the default model
  std::string model_id;
  std::string dialect;
  std::string tool_prompt;
  server::ServerOptions server;
  std::vector<std::string> api_keys;
  std::string api_key_file;
  engine::SamplerParams sampling;
  int ctx = 0;
  int threads = 0;
  engine::Device device = engine::Device::Auto;
  int max_tokens = 256;
  std::size_t queue = 16;
  std::size_t slots = 4;
};

// One key a line; blank lines and lines starting with '#' are skipped.
std::vector<std::string> read_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("--api-key-file " + path + ": cannot read it");
  std::vector<std::string> keys;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line.front() != '#') keys.push_back(line);
  }
  if (keys.empty()) throw std::runtime_error("--api-key-file " + path + " holds no key");
  return keys;
}

// The server.* settings of --config / --set (server.host, server.port, server.api_key_file,
// server.queue, server.sessions, server.max_tokens, server.io_threads, server.max_body_bytes),
// for what the command line did not set. Throws tools::ConfigError on a wrong type or range.
void apply_config(const tools::Config& config, const CLI::App& cmd, ServeArgs& args) {
  auto unset = [&](const char* option, const char* key) {
    return cmd.count(option) == 0 && config.has(key);
  };
  auto number = [&](const char* key, int64_t min, int64_t max) {
    const int64_t v = config.get_int(key, min);
    if (v < min || v > max)
      throw tools::ConfigError("config " + std::string(key) + ": must be between " +
                               std::to_string(min) + " and " + std::to_string(max));
    return v;
  };
  if (unset("--host", "server.host")) args.server.host = config.get_string("server.host", "");
  if (unset("--port", "server.port"))
    args.server.port = static_cast<uint16_t>(number("server.port", 0, 65535));
  if (unset("--api-key-file", "server.api_key_file"))
    args.api_key_file = config.get_path("server.api_key_file", {}).string();
  if (unset("--queue", "server.queue"))
    args.queue = static_cast<std::size_t>(number("server.queue", 1, 1 << 20));
  if (unset("--sessions", "server.sessions"))
    args.slots = static_cast<std::size_t>(number("server.sessions", 1, 1024));
  if (unset("--max-tokens", "server.max_tokens"))
    args.max_tokens = static_cast<int>(number("server.max_tokens", 1, 1 << 20));
  if (unset("--io-threads", "server.io_threads"))
    args.server.io_threads = static_cast<int>(number("server.io_threads", 1, 256));
  if (unset("--max-body", "server.max_body_bytes"))
    args.server.max_body_bytes =
        static_cast<std::size_t>(number("server.max_body_bytes", 1, int64_t(1) << 32));
}

void run_serve(ServeArgs& args, const CLI::App& cmd) {
  const tools::Config config = load_config(args.tool_options);
  apply_config(config, cmd, args);
  const bool is_default = args.model.empty();
  args.model = model_or_default(args.model);
  if (!std::filesystem::exists(args.model))
    throw std::runtime_error("model " + args.model + " not found" +
                             (is_default ? " (the default model; pass -m MODEL, or see models/ "
                                           "for how it is made)"
                                         : ""));
  const auto registry = load_tools(args.tool_options, config);
  auto model = engine::Model::load(args.model);
  server::EngineProviderOptions provider_options{
      .model_id = args.model_id,
      .dialect = args.dialect,
      .tool_prompt = args.tool_prompt,
      .session = {.n_ctx = args.ctx, .n_threads = args.threads, .device = args.device}};
  server::ApiOptions api_options;
  api_options.api_keys = args.api_keys;
  if (!args.api_key_file.empty())
    for (auto& k : read_keys(args.api_key_file)) api_options.api_keys.push_back(std::move(k));
  api_options.queue_capacity = args.queue;
  api_options.n_slots = args.slots;
  api_options.default_max_tokens = args.max_tokens;
  api_options.sampling = args.sampling;
  api_options.dispatcher = tools::DispatcherOptions::from_config(config);
  api_options.trace_db = agent::TraceDb::path_from_config(config);
  server::Api api(server::make_engine_provider(model, args.model, provider_options), *registry,
                  api_options);
  args.server.handle_signals = true;
  server::Server http(api, args.server);
  std::printf("agentrt serve: http://%s:%u (model %s, %zu tools, traces %s%s)\n",
              args.server.host.c_str(), http.port(), api.model_id().c_str(), registry->size(),
              api_options.trace_db.c_str(), api_options.api_keys.empty() ? "" : ", API keys on");
  std::fflush(stdout);
  http.run();
  std::printf("agentrt serve: stopped; waiting for model work to finish\n");
  api.drain();
}

}  // namespace

void add_serve_commands(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the OpenAI-compatible HTTP API");
  cmd->add_option("-m,--model", args->model,
                  "GGUF model file (default: the shipped models/agentrt-tiny.gguf)");
  cmd->add_option("--model-id", args->model_id, "Name in /v1/models (default: the file's stem)");
  cmd->add_option("--host", args->server.host, "Address to bind (default 127.0.0.1)");
  cmd->add_option("--port", args->server.port, "Port (default 8080; 0: any free port)");
  cmd->add_option("--api-key", args->api_keys, "Accept this key (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--api-key-file", args->api_key_file, "Accept the keys in this file, one a line")
      ->check(CLI::ExistingFile);
  cmd->add_option("--dialect", args->dialect,
                  "chatml, moss, react or gemma (default: the model's)");
  cmd->add_option("--tool-prompt", args->tool_prompt, "full or compact (default: the model's)");
  cmd->add_option("--temp", args->sampling.temperature,
                  "Temperature when a request sets none (default 0: greedy)");
  cmd->add_option("-c,--ctx", args->ctx, "Context length of each session (default: the model's)");
  cmd->add_option("-t,--threads", args->threads, "Engine threads (default: all cores)");
  add_device_option(*cmd, args->device);
  cmd->add_option("-n,--max-tokens", args->max_tokens,
                  "Tokens per completion or agent step when a request sets none (default 256)");
  cmd->add_option("--queue", args->queue, "Model requests that may wait (default 16; 429 past)");
  cmd->add_option("--sessions", args->slots, "Conversations whose KV cache is kept (default 4)");
  cmd->add_option("--io-threads", args->server.io_threads, "HTTP I/O threads (default 2)");
  cmd->add_option("--max-body", args->server.max_body_bytes, "Largest request body in bytes");
  add_tool_options(*cmd, args->tool_options);
  cmd->callback([args, cmd] { run_serve(*args, *cmd); });
}

}  // namespace agentrt::cli
