// Writes llama- (or gemma3-) architecture GGUF files with random weights, for tests and
// benchmarks: any of the supported tensor types, GQA or MHA, tied or untied output, odd sizes,
// and a synthetic sentencepiece vocabulary (specials, 256 byte tokens, generated pieces).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "agentrt/engine/tensor_type.h"

namespace agentrt::bench {

struct RandomLlamaSpec {
  int n_vocab = 512;  // >= 259 (3 specials + 256 bytes)
  int n_embd = 64;
  int n_layer = 2;
  int n_head = 4;
  int n_head_kv = 2;
  int n_ff = 128;
  int n_ctx = 256;
  engine::TensorType type = engine::TensorType::F32;  // the layers' matrices
  // Llama.cpp's Q4_K_M recipe: Q4_K matrices except attn_v, ffn_down and output in Q6_K.
  bool q4_k_m = false;
  std::optional<engine::TensorType> embd_type;    // default: `type`
  std::optional<engine::TensorType> output_type;  // default: `type`
  bool tied_output = false;
  float rope_freq_base = 10000.0f;
  float rope_scale_linear = 1.0f;  // > 1 writes rope.scaling.type = linear
  uint64_t seed = 1;
  std::string name = "random-llama";
  // For benchmark-sized models (billions of weights): when > 0, each matrix holds only this many
  // distinct random rows (quantized once, then repeated in a scrambled order), generated on
  // `threads` threads. The default (0) draws every row, sequentially, as tests expect.
  int distinct_rows = 0;
  int threads = 1;
  // gemma3: Gemma 3's extra tensors (QK-norm, post-attention and post-FFN norms) and metadata,
  // with head_dim (attention.key_length; 0: n_embd / n_head) and, when n_swa > 0, sliding-window
  // layers every swa_period (attention.sliding_window_pattern; 0: not written, llama.cpp's
  // default of 6 applies).
  bool gemma3 = false;
  int head_dim = 0;
  int n_swa = 0;
  int swa_period = 0;
  float final_logit_softcap = 0.0f;  // > 0: written as final_logit_softcapping
};

// Parses "f32", "q8_0", "q4_k_m", ... into the type fields of spec. Throws std::invalid_argument.
void set_type_by_name(RandomLlamaSpec& spec, const std::string& name);

// Throws std::runtime_error on I/O failure, std::invalid_argument on an impossible spec.
void write_random_llama(const std::filesystem::path& path, const RandomLlamaSpec& spec);

}  // namespace agentrt::bench
