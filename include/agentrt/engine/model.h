// A loaded model: its hyperparameters, tokenizer and (still quantized, memory-mapped) weights.
//
// A Model is immutable after load and shared by every session that uses it
// (std::shared_ptr<const Model>); it is safe to use from several threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agentrt/engine/error.h"
#include "agentrt/engine/gguf.h"
#include "agentrt/engine/tensor_type.h"
#include "agentrt/engine/tokenizer.h"

namespace agentrt::engine {

struct ModelHParams {
  std::string arch;  // general.architecture ("llama")
  std::string name;  // general.name, may be empty
  int n_vocab = 0;
  int n_ctx_train = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;  // < n_head for grouped-query attention
  int n_ff = 0;
  int head_dim = 0;  // n_embd / n_head
  float rms_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // linear RoPE scaling: positions are multiplied by this
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

 private:
  Model() = default;
  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ModelHParams hparams_;
  ModelWeights weights_;
};

}  // namespace agentrt::engine
