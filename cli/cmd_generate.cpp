// agentrt generate | inspect | bench: the engine on its own.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "agentrt/engine/model.h"
#include "agentrt/engine/session.h"
#include "commands.h"
#include "options.h"
#include "progress.h"

namespace agentrt::cli {

namespace {

// VmHWM from /proc/self/status, in bytes; -1 where there is none.
int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6)) * 1024;  // "  123 kB"
  }
  return -1;
}

using engine::Model;
using engine::Session;
using engine::Token;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::shared_ptr<const Model> load_model(const std::string& model) {
  const std::string path = model_or_default(model);
  ProgressBar bar("loading " + path);
  engine::LoadOptions options;
  options.progress = [&](double f) { bar.update(f); };
  return Model::load(path, options);
}

std::string human_bytes(uint64_t n) {
  char buf[32];
  if (n >= (1ull << 30)) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", n / double(1ull << 30));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f MiB", n / double(1ull << 20));
  }
  return buf;
}

std::string human_count(int64_t n) {
  char buf[32];
  if (n >= 1000000000) {
    std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  } else if (n >= 1000000) {
    std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f K", n / 1e3);
  }
  return buf;
}

// The type most of the model's 2-D weights use, as llama.cpp names file types ("Q8_0").
std::string dominant_type(const Model& model) {
  std::map<std::string, uint64_t> bytes;
  for (const auto& t : model.file().tensors())
    if (t.ne.size() == 2) bytes[std::string(engine::traits(t.type).name)] += t.n_bytes;
  std::string best;
  uint64_t most = 0;
  for (const auto& [name, n] : bytes)
    if (n > most) most = n, best = name;
  std::transform(best.begin(), best.end(), best.begin(), ::toupper);
  return best;
}

// ---- generate ---------------------------------------------------------------------------------

struct GenerateArgs {
  std::string model;
  std::string prompt;
  int n_predict = 128;
  engine::SamplerParams sampling;
  int threads = 0;
  int ctx = 0;
  engine::Device device = engine::Device::Auto;
  engine::KvType kv_type = engine::KvType::F16;
  bool json = false;
  bool no_eos = false;
  std::string dump_logits;  // raw float32 logits after the prompt, for parity checks
};

void run_generate(const GenerateArgs& args) {
  const auto load_start = Clock::now();
  auto model = load_model(args.model);
  const double load_ms = ms_since(load_start);
  Session session(model, engine::SessionOptions{.n_ctx = args.ctx,
                                                .n_threads = args.threads,
                                                .device = args.device,
                                                .kv_type = args.kv_type});

  // The prompt is user text: special-token text in it is spelled out, not parsed. An empty
  // prompt is BOS alone.
  const std::vector<Token> prompt =
      model->tokenizer().encode(args.prompt, /*add_bos=*/true, /*parse_special=*/false);
  if (session.append(prompt) == engine::AppendStatus::ContextFull)
    throw std::runtime_error("the prompt (" + std::to_string(prompt.size()) +
                             " tokens) does not fit the context of " +
                             std::to_string(session.n_ctx()) + " tokens");
  const engine::SessionCounters prefill = session.last_counters();
  if (!args.dump_logits.empty()) {
    const auto logits = session.logits();
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(args.dump_logits.c_str(), "wb"),
                                                      &std::fclose);
    if (!f || std::fwrite(logits.data(), sizeof(float), logits.size(), f.get()) != logits.size() ||
        std::fflush(f.get()) != 0)
      throw std::runtime_error(args.dump_logits + ": cannot write logits");
  }

  engine::Sampler sampler(args.sampling);
  engine::GenerateOptions options;
  options.max_tokens = args.n_predict;
  options.stop_at_eos = !args.no_eos;
  if (!args.json) {
    std::fputs(args.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  const engine::GenerateResult result =
      session.generate(options, sampler, [&](std::string_view text) {
        if (!args.json) {
          std::fwrite(text.data(), 1, text.size(), stdout);
          std::fflush(stdout);
        }
        return true;
      });
  const engine::SessionCounters decode = session.last_counters();
  auto per_second = [](int64_t n, double ms) { return ms > 0 ? n * 1000.0 / ms : 0.0; };

  if (args.json) {
    json out = {
        {"model", model_or_default(args.model)},
        {"prompt", args.prompt},
        {"prompt_tokens", prompt},
        {"tokens", result.tokens},
        {"text", result.text},
        {"stop_reason", engine::stop_reason_name(result.reason)},
        {"timings",
         {{"load_ms", load_ms},
          {"prefill_tokens", prefill.n_prefill},
          {"prefill_ms", prefill.prefill_ms},
          {"prefill_tokens_per_s", per_second(prefill.n_prefill, prefill.prefill_ms)},
          {"decode_tokens", decode.n_decode},
          {"decode_ms", decode.decode_ms},
          {"decode_tokens_per_s", per_second(decode.n_decode, decode.decode_ms)},
          {"sample_ms", decode.sample_ms}}},
    };
    std::printf("%s\n", out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("\n");
  std::fprintf(stderr,
               "\nprefill: %lld tokens in %.1f ms (%.1f tok/s) | decode: %lld tokens in %.1f ms "
               "(%.1f tok/s) | stop: %s\n",
               static_cast<long long>(prefill.n_prefill), prefill.prefill_ms,
               per_second(prefill.n_prefill, prefill.prefill_ms),
               static_cast<long long>(decode.n_decode), decode.decode_ms,
               per_second(decode.n_decode, decode.decode_ms),
               std::string(engine::stop_reason_name(result.reason)).c_str());
}

// ---- inspect ----------------------------------------------------------------------------------

void run_inspect(const std::string& path, bool as_json) {
  engine::LoadOptions options;
  options.prefetch = false;
  auto model = Model::load(path, options);
  const auto& hp = model->hparams();
  const auto& tok = model->tokenizer();
  std::map<std::string, std::pair<int, uint64_t>> by_type;
  for (const auto& t : model->file().tensors()) {
    auto& entry = by_type[std::string(engine::traits(t.type).name)];
    entry.first += 1;
    entry.second += t.n_bytes;
  }
  json types = json::object();
  for (const auto& [name, e] : by_type) types[name] = {{"count", e.first}, {"bytes", e.second}};
  json out = {
      {"file", path},
      {"file_size", model->file().file_size()},
      {"gguf_version", model->file().version()},
      {"architecture", hp.arch},
      {"name", hp.name},
      {"file_type", dominant_type(*model)},
      {"parameters", model->n_params()},
      {"hparams",
       {{"n_vocab", hp.n_vocab},
        {"n_ctx_train", hp.n_ctx_train},
        {"n_embd", hp.n_embd},
        {"n_layer", hp.n_layer},
        {"n_head", hp.n_head},
        {"n_head_kv", hp.n_head_kv},
        {"n_ff", hp.n_ff},
        {"head_dim", hp.head_dim},
        {"rms_eps", hp.rms_eps},
        {"rope_freq_base", hp.rope_freq_base},
        {"rope_freq_scale", hp.rope_freq_scale},
        {"tied_output", model->weights().tied_output}}},
      {"tokenizer",
       {{"model", model->file().get_string("tokenizer.ggml.model", "")},
        {"n_vocab", tok.n_vocab()},
        {"bos", tok.bos()},
        {"eos", tok.eos()},
        {"unk", tok.unk()}}},
      {"chat", {{"dialect", model->chat_dialect()}, {"tool_prompt", model->chat_tool_prompt()}}},
      {"tensors", {{"count", model->file().tensors().size()}, {"by_type", types}}},
  };
  if (as_json) {
    std::printf("%s\n", out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("file          %s (%s, GGUF v%u)\n", path.c_str(),
              human_bytes(model->file().file_size()).c_str(), model->file().version());
  std::printf("architecture  %s%s%s\n", hp.arch.c_str(),
              hp.name.empty() ? "" : "  name: ", hp.name.c_str());
  std::printf("parameters    %s (%s, mostly %s)\n", human_count(model->n_params()).c_str(),
              human_bytes(model->weight_bytes()).c_str(), dominant_type(*model).c_str());
  std::printf("layers        %d   embd %d   ff %d   heads %d   kv heads %d   head dim %d\n",
              hp.n_layer, hp.n_embd, hp.n_ff, hp.n_head, hp.n_head_kv, hp.head_dim);
  std::printf("context       %d   rope base %g   rope scale %g   rms eps %g   output %s\n",
              hp.n_ctx_train, hp.rope_freq_base, hp.rope_freq_scale, hp.rms_eps,
              model->weights().tied_output ? "tied" : "untied");
  std::printf("tokenizer     %s, %d tokens, bos %d, eos %d\n",
              model->file().get_string("tokenizer.ggml.model", "?").c_str(), tok.n_vocab(),
              tok.bos(), tok.eos());
  if (!model->chat_dialect().empty())
    std::printf("chat          dialect %s, tool prompt %s\n", model->chat_dialect().c_str(),
                model->chat_tool_prompt().c_str());
  std::printf("tensors       %zu:", model->file().tensors().size());
  for (const auto& [name, e] : by_type)
    std::printf("  %s %d (%s)", name.c_str(), e.first, human_bytes(e.second).c_str());
  std::printf("\n");
}

// ---- bench ------------------------------------------------------------------------------------

struct BenchArgs {
  std::string model;
  std::vector<int> prompt_sizes = {128, 512};
  int n_gen = 64;
  std::vector<int> threads;
  int reps = 5;
  engine::Device device = engine::Device::Auto;
  engine::KvType kv_type = engine::KvType::F16;
  bool json = false;
};

struct Stats {
  double median, min, max;
};

Stats stats(std::vector<double> v) {
  if (v.empty()) return {0, 0, 0};
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {median, v.front(), v.back()};
}

void run_bench(const BenchArgs& args) {
  auto model = load_model(args.model);
  const auto& hp = model->hparams();
  std::mt19937 rng(1234);
  std::uniform_int_distribution<Token> pick(3, hp.n_vocab - 1);
  auto random_tokens = [&](int n) {
    std::vector<Token> t(static_cast<size_t>(n));
    for (Token& x : t) x = pick(rng);
    return t;
  };
  const std::vector<int> thread_counts =
      args.threads.empty() ? std::vector<int>{static_cast<int>(std::thread::hardware_concurrency())}
                           : args.threads;
  const std::string model_desc = hp.name.empty() ? hp.arch : hp.name;
  json results = json::array();
  if (!args.json) {
    std::printf("| %-28s | %10s | %8s | %7s | %7s | %8s | %22s |\n", "model", "size", "params",
                "backend", "threads", "test", "t/s (median, min-max)");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(30, '-').c_str(),
                std::string(12, '-').c_str(), std::string(10, '-').c_str(),
                std::string(9, '-').c_str(), std::string(9, '-').c_str(),
                std::string(10, '-').c_str(), std::string(24, '-').c_str());
  }
  for (int threads : thread_counts) {
    std::vector<std::pair<std::string, int>> tests;
    for (int p : args.prompt_sizes)
      if (p > 0) tests.emplace_back("pp" + std::to_string(p), p);
    if (args.n_gen > 0) tests.emplace_back("tg" + std::to_string(args.n_gen), args.n_gen);
    for (const auto& [test, n] : tests) {
      const bool prefill = test.starts_with("pp");
      const int n_ctx = std::max(n + 1, 16);
      Session session(model, engine::SessionOptions{.n_ctx = n_ctx,
                                                    .n_threads = threads,
                                                    .n_batch = 512,
                                                    .device = args.device,
                                                    .kv_type = args.kv_type});
      std::vector<double> rates;
      for (int rep = -1; rep < args.reps; ++rep) {  // rep -1 warms up
        session.reset();
        const std::vector<Token> tokens = random_tokens(n);
        double ms;
        if (prefill) {
          session.append(tokens);
          ms = session.last_counters().prefill_ms;
        } else {
          const Token bos = model->tokenizer().bos();
          session.append(std::span<const Token>(&bos, 1));
          const auto start = Clock::now();
          for (int i = 0; i < n; ++i) session.append(std::span<const Token>(&tokens[i], 1));
          ms = ms_since(start);
        }
        if (rep >= 0) rates.push_back(n * 1000.0 / ms);
      }
      const Stats s = stats(rates);
      results.push_back({{"model", model_desc},
                         {"file_type", dominant_type(*model)},
                         {"size_bytes", model->weight_bytes()},
                         {"parameters", model->n_params()},
                         {"backend", std::string(session.backend_name())},
                         {"threads", threads},
                         {"test", test},
                         {"tokens", n},
                         {"reps", args.reps},
                         {"tokens_per_s_median", s.median},
                         {"tokens_per_s_min", s.min},
                         {"tokens_per_s_max", s.max},
                         {"samples", rates}});
      if (!args.json) {
        char rate[64];
        std::snprintf(rate, sizeof rate, "%.2f (%.2f-%.2f)", s.median, s.min, s.max);
        std::printf("| %-28s | %10s | %8s | %7s | %7d | %8s | %22s |\n",
                    (model_desc + " " + dominant_type(*model)).c_str(),
                    human_bytes(model->weight_bytes()).c_str(),
                    human_count(model->n_params()).c_str(),
                    std::string(session.backend_name()).c_str(), threads, test.c_str(), rate);
        std::fflush(stdout);
      }
    }
  }
  if (args.json) {
    json out{{"results", results}};
    // This process's own peak resident memory (VmHWM): unlike the rusage a parent sees, it does
    // not count a parent's pages the process shared between fork and exec.
    if (const int64_t peak = peak_rss_bytes(); peak >= 0) out["peak_rss_bytes"] = peak;
    std::printf("%s\n", out.dump(2).c_str());
  }
}

}  // namespace

void add_generate_commands(CLI::App& app) {
  auto gen_args = std::make_shared<GenerateArgs>();
  CLI::App* gen = app.add_subcommand("generate", "Generate text from a prompt with a GGUF model");
  gen->add_option("-m,--model", gen_args->model,
                  "GGUF model file (default: the shipped models/agentrt-tiny.gguf)");
  gen->add_option("-p,--prompt", gen_args->prompt, "Prompt text (empty: start from BOS)");
  gen->add_option("-n,--n-predict", gen_args->n_predict, "Tokens to generate")
      ->check(CLI::Range(0, 1 << 20));
  gen->add_option("--temp", gen_args->sampling.temperature, "Temperature (0: greedy)")
      ->check(CLI::Range(0.0f, 100.0f));
  gen->add_option("--top-k", gen_args->sampling.top_k, "Top-k (0: off)")
      ->check(CLI::NonNegativeNumber);
  gen->add_option("--top-p", gen_args->sampling.top_p, "Top-p (1: off)")
      ->check(CLI::Range(0.0f, 1.0f));
  gen->add_option("--min-p", gen_args->sampling.min_p, "Min-p (0: off)")
      ->check(CLI::Range(0.0f, 1.0f));
  gen->add_option("--repeat-penalty", gen_args->sampling.repeat_penalty,
                  "Repetition penalty (1: off)");
  gen->add_option("--presence-penalty", gen_args->sampling.presence_penalty, "Presence penalty");
  gen->add_option("--frequency-penalty", gen_args->sampling.frequency_penalty, "Frequency penalty");
  gen->add_option("--seed", gen_args->sampling.seed, "Sampling seed");
  gen->add_option("-t,--threads", gen_args->threads, "Threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  gen->add_option("-c,--ctx", gen_args->ctx, "Context length (default: the model's, at most 4096)")
      ->check(CLI::NonNegativeNumber);
  add_device_option(*gen, gen_args->device);
  add_kv_type_option(*gen, gen_args->kv_type);
  gen->add_flag("--ignore-eos", gen_args->no_eos, "Keep generating after EOS");
  gen->add_flag("--json", gen_args->json, "Print token ids, text and timings as JSON");
  gen->add_option("--dump-logits", gen_args->dump_logits,
                  "Write the logits after the prompt (float32, n_vocab) to this file");
  gen->callback([gen_args] { run_generate(*gen_args); });

  auto inspect_path = std::make_shared<std::string>();
  auto inspect_json = std::make_shared<bool>(false);
  CLI::App* inspect = app.add_subcommand("inspect", "Show a GGUF model's architecture and tensors");
  inspect->add_option("model", *inspect_path, "GGUF model file")->required();
  inspect->add_flag("--json", *inspect_json, "Print as JSON");
  inspect->callback([=] { run_inspect(*inspect_path, *inspect_json); });

  auto bench_args = std::make_shared<BenchArgs>();
  CLI::App* bench = app.add_subcommand("bench", "Measure prefill and decode speed");
  bench->add_option("-m,--model", bench_args->model, "GGUF model file")->required();
  bench->add_option("-p,--n-prompt", bench_args->prompt_sizes, "Prompt sizes (pp tests)")
      ->delimiter(',');
  bench->add_option("-n,--n-gen", bench_args->n_gen, "Tokens to generate (tg test; 0: skip)")
      ->check(CLI::NonNegativeNumber);
  bench->add_option("-t,--threads", bench_args->threads, "Thread counts")->delimiter(',');
  bench->add_option("-r,--repetitions", bench_args->reps, "Repetitions")
      ->check(CLI::Range(1, 1000));
  add_device_option(*bench, bench_args->device);
  add_kv_type_option(*bench, bench_args->kv_type);
  bench->add_flag("--json", bench_args->json, "Print results as JSON");
  bench->callback([bench_args] { run_bench(*bench_args); });
}

}  // namespace agentrt::cli
