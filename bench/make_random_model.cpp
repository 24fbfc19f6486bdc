// agentrt-random-model OUT.gguf [--type q8_0|q4_k_m|...] [--preset 110m|1.1b|7b|small|tiny]
//                      [--seed N] [--tied] [--threads N] [--distinct-rows N]
// Writes a random-weight llama model for benchmarks and parity checks. The 1.1b and 7b presets
// (TinyLlama's and Llama 2 7B's shapes) draw 256 distinct rows per matrix on all cores, so that a
// 7B file takes seconds rather than an hour; --distinct-rows 0 draws every row.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>

#include "random_model.h"

int main(int argc, char** argv) {
  using agentrt::bench::RandomLlamaSpec;
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: agentrt-random-model OUT.gguf [--type T] [--preset 110m|small|tiny] "
                 "[--seed N] [--tied] [--threads N] [--distinct-rows N]\n");
    return 2;
  }
  try {
    RandomLlamaSpec spec;
    std::string type = "f32";
    for (int i = 2; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--type") {
        type = value();
      } else if (arg == "--seed") {
        spec.seed = std::stoull(value());
      } else if (arg == "--threads") {
        spec.threads = std::stoi(value());
      } else if (arg == "--distinct-rows") {
        spec.distinct_rows = std::stoi(value());
      } else if (arg == "--tied") {
        spec.tied_output = true;
      } else if (arg == "--preset") {
        const std::string p = value();
        if (p == "110m") {  // llama2.c's 110M shape with Llama 2's vocabulary size
          spec.n_vocab = 32000, spec.n_embd = 768, spec.n_layer = 12, spec.n_head = 12,
          spec.n_head_kv = 12, spec.n_ff = 2048, spec.n_ctx = 1024, spec.tied_output = true;
          spec.name = "random-llama-110m";
        } else if (p == "1.1b" || p == "7b") {  // TinyLlama 1.1B, Llama 2 7B
          const bool big = p == "7b";
          spec.n_vocab = 32000, spec.n_embd = big ? 4096 : 2048, spec.n_layer = big ? 32 : 22;
          spec.n_head = 32, spec.n_head_kv = big ? 32 : 4, spec.n_ff = big ? 11008 : 5632;
          spec.n_ctx = big ? 4096 : 2048, spec.name = "random-llama-" + p;
          if (spec.distinct_rows == 0) spec.distinct_rows = 256;
          if (spec.threads <= 1)
            spec.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
        } else if (p == "small") {  // large enough rows for K-quant blocks of 256
          spec.n_vocab = 512, spec.n_embd = 256, spec.n_layer = 3, spec.n_head = 8,
          spec.n_head_kv = 4, spec.n_ff = 512, spec.n_ctx = 256;
        } else if (p != "tiny") {
          throw std::invalid_argument("unknown preset '" + p + "'");
        }
      } else {
        throw std::invalid_argument("unknown argument '" + arg + "'");
      }
    }
    agentrt::bench::set_type_by_name(spec, type);
    agentrt::bench::write_random_llama(argv[1], spec);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agentrt-random-model: %s\n", e.what());
    return 1;
  }
  return 0;
}
