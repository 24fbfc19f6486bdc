// A loaded model: its hyperparameters, tokenizer and (still quantized, memory-mapped) weights.
//
// A Model is immutable after load and shared by every session that uses it
// (std::shared_ptr<const Model>); it is safe to use from several threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agentrt/engine/error.h"
#include "agentrt/engine/gguf.h"
#include "agentrt/engine/tensor_type.h"
#include "agentrt/engine/tokenizer.h"

namespace agentrt::engine {

// How a layer's feed-forward block gates: silu(gate) * up (Llama's SwiGLU) or
// gelu_tanh(gate) * up (Gemma's GeGLU, GELU with the tanh approximation).
enum class FfnActivation { silu, gelu_tanh };

// Which elements RoPE rotates together: (2i, 2i+1) (Llama, llama.cpp's "norm") or
// (i, i + head_dim/2) (GPT-NeoX, Gemma; llama.cpp's "neox").
enum class RopeLayout { adjacent_pairs, halves };

struct ModelHParams {
  std::string arch;  // general.architecture ("llama", "gemma3")
  std::string name;  // general.name, may be empty
  int n_vocab = 0;
  int n_ctx_train = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;  // < n_head for grouped-query attention
  int n_ff = 0;
  int head_dim = 0;  // n_embd / n_head, or attention.key_length where the file gives it
  float rms_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // linear RoPE scaling: positions are multiplied by this

  // Architecture details; the defaults are Llama's.
  RopeLayout rope_layout = RopeLayout::adjacent_pairs;
  FfnActivation ffn_activation = FfnActivation::silu;
  float embd_scale = 1.0f;  // token embeddings are multiplied by this (Gemma: sqrt(n_embd))
  float attn_scale = 0.0f;  // scores = q·k * attn_scale; set at load (1/sqrt(head_dim) for both)
  float final_logit_softcap = 0.0f;  // > 0: logits = cap * tanh(logits / cap)
  // Sliding-window attention: a layer with swa_layers[il] set lets position p attend only to
  // positions p - n_swa + 1 .. p, and rotates with its own RoPE base and scale. Empty: no layer
  // slides (Llama).
  int n_swa = 0;
  std::vector<bool> swa_layers;  // (n_layer) or empty
  float rope_freq_base_swa = 10000.0f;
  float rope_freq_scale_swa = 1.0f;

  bool is_swa(int layer) const {
    return !swa_layers.empty() && swa_layers[static_cast<size_t>(layer)];
  }
};

// A weight matrix as the file stores it: n_out rows of n_in elements, each row row_bytes long.
struct WeightView {
  TensorType type = TensorType::F32;
  const void* data = nullptr;  // (n_out, row_bytes), borrowed from the mapping
  int64_t n_in = 0;
  int64_t n_out = 0;
  size_t row_bytes = 0;
  const void* row(int64_t i) const { return static_cast<const uint8_t*>(data) + i * row_bytes; }
};

struct LayerWeights {
  std::vector<float> attn_norm;  // (n_embd)
  WeightView wq;                 // (n_head * head_dim, n_embd)
  WeightView wk;                 // (n_head_kv * head_dim, n_embd)
  WeightView wv;                 // (n_head_kv * head_dim, n_embd)
  WeightView wo;                 // (n_embd, n_head * head_dim)
  std::vector<float> ffn_norm;   // (n_embd)
  WeightView w_gate;             // (n_ff, n_embd)
  WeightView w_down;             // (n_embd, n_ff)
  WeightView w_up;               // (n_ff, n_embd)
  // Gemma 3 only (empty for Llama): RMSNorm of each query and key head (QK-norm), and norms of
  // the attention and feed-forward outputs before they join the residual stream.
  std::vector<float> attn_q_norm;     // (head_dim)
  std::vector<float> attn_k_norm;     // (head_dim)
  std::vector<float> attn_post_norm;  // (n_embd)
  std::vector<float> ffn_post_norm;   // (n_embd)
};

struct ModelWeights {
  WeightView token_embd;  // (n_vocab, n_embd)
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;  // (n_embd)
  WeightView output;               // (n_vocab, n_embd); token_embd when the output is tied
  bool tied_output = false;
};

struct LoadOptions {
  // Called with the fraction of weight data read so far (0..1) while the loader touches the
  // mapping; the CLI draws a progress bar with it. May be empty.
  std::function<void(double)> progress;
  bool prefetch = true;  // read all weights at load rather than on first use
};

class Model {
 public:
  // Maps and validates `path`, checks that the architecture is supported and every tensor has
  // the expected shape. Throws ModelError naming the file and the problem.
  static std::shared_ptr<const Model> load(const std::filesystem::path& path,
                                           const LoadOptions& options = {});

  const ModelHParams& hparams() const { return hparams_; }
  const ModelWeights& weights() const { return weights_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const GgufFile& file() const { return *file_; }
  // agentrt.chat.dialect / agentrt.chat.tool_prompt, or "" when the file does not say.
  std::string chat_dialect() const;
  std::string chat_tool_prompt() const;
  // Parameters and bytes of weight data.
  int64_t n_params() const;
  uint64_t weight_bytes() const;

  // Data a backend derives from the weights once and keeps for the Model's lifetime (the CPU
  // backend's packed matrices): the value stored under `key`, made by `make` on first use. The
  // Model's own state does not change. Thread-safe; `make` runs under the Model's lock.
  std::shared_ptr<const void> derived(
      const std::string& key, const std::function<std::shared_ptr<const void>()>& make) const;

 private:
  Model() = default;
  mutable std::mutex derived_mutex_;
  mutable std::map<std::string, std::shared_ptr<const void>, std::less<>> derived_;
  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ModelHParams hparams_;
  ModelWeights weights_;
};

}  // namespace agentrt::engine
