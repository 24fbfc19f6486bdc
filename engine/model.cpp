#include "agentrt/engine/model.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace agentrt::engine {

namespace {

std::string layer_tensor(int layer, const char* what) {
  return "blk." + std::to_string(layer) + "." + what + ".weight";
}

// A 2-D weight of shape (n_out, n_in) as ggml writes it: ne = {n_in, n_out}.
WeightView weight_view(const GgufFile& file, const std::string& name, int64_t n_in, int64_t n_out) {
  const GgufTensorInfo& t = file.require_tensor(name);
  if (t.ne.size() != 2 || t.ne[0] != n_in || t.ne[1] != n_out) {
    std::string shape;
    for (int64_t d : t.ne) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    file.fail("tensor '" + name + "' has shape [" + shape + "], expected [" + std::to_string(n_in) +
              ", " + std::to_string(n_out) + "]");
  }
  WeightView w;
  w.type = t.type;
  w.data = t.data;
  w.n_in = n_in;
  w.n_out = n_out;
  w.row_bytes = row_size(t.type, n_in);
  return w;
}

std::vector<float> vector_f32(const GgufFile& file, const std::string& name, int64_t n) {
  const GgufTensorInfo& t = file.require_tensor(name);
  if (t.n_elements() != n || t.ne[0] != n)
    file.fail("tensor '" + name + "' has " + std::to_string(t.n_elements()) +
              " elements, expected " + std::to_string(n));
  std::vector<float> v(static_cast<size_t>(n));
  dequantize_row(t.type, t.data, v.data(), n);
  return v;
}

int positive_int(const GgufFile& file, const std::string& key, int64_t fallback, int64_t max) {
  const int64_t v = fallback < 0 ? file.require_int(key) : file.get_int(key, fallback);
  if (v <= 0 || v > max)
    file.fail("metadata '" + key + "' = " + std::to_string(v) + " is out of range [1, " +
              std::to_string(max) + "]");
  return static_cast<int>(v);
}

// Gemma 3's layer pattern: the metadata's attention.sliding_window_pattern (an array of per-layer
// flags, or a period), else llama.cpp's default period of 6. With period P, layer il slides
// unless il % P == P - 1 (every P-th layer is global).
std::vector<bool> sliding_layers(const GgufFile& file, const std::string& key, int n_layer) {
  std::vector<bool> swa(static_cast<size_t>(n_layer));
  if (const GgufValue* v = file.find(key); v && v->type == GgufValueType::ARRAY) {
    const GgufArray& flags = file.require_array(key);
    if (flags.size() != swa.size())
      file.fail("metadata '" + key + "' has " + std::to_string(flags.size()) +
                " entries, expected one per layer (" + std::to_string(n_layer) + ")");
    for (size_t il = 0; il < swa.size(); ++il) {
      const GgufValue item = flags.at(il);
      swa[il] = item.type == GgufValueType::BOOL ? item.as_bool(key) : item.as_int(key) != 0;
    }
    return swa;
  }
  const int64_t period = file.get_int(key, 6);
  if (period < 0 || period > 4096)
    file.fail("metadata '" + key + "' = " + std::to_string(period) + " is out of range [0, 4096]");
  for (int il = 0; il < n_layer; ++il)
    swa[static_cast<size_t>(il)] = period == 0 || il % period < period - 1;
  return swa;
}

ModelHParams read_hparams(const GgufFile& file) {
  ModelHParams hp;
  hp.arch = file.require_string("general.architecture");
  if (hp.arch != "llama" && hp.arch != "gemma3")
    file.fail("architecture '" + hp.arch + "' is not supported (supported: llama, gemma3)");
  const bool gemma3 = hp.arch == "gemma3";
  hp.name = file.get_string("general.name", "");
  const std::string a = hp.arch + ".";
  constexpr int64_t kMaxDim = 1 << 20;
  hp.n_ctx_train = positive_int(file, a + "context_length", 2048, 1 << 24);
  hp.n_embd = positive_int(file, a + "embedding_length", -1, kMaxDim);
  hp.n_layer = positive_int(file, a + "block_count", -1, 4096);
  hp.n_ff = positive_int(file, a + "feed_forward_length", -1, kMaxDim);
  hp.n_head = positive_int(file, a + "attention.head_count", -1, 4096);
  hp.n_head_kv = positive_int(file, a + "attention.head_count_kv", hp.n_head, 4096);
  if (hp.n_head % hp.n_head_kv != 0)
    file.fail("head_count " + std::to_string(hp.n_head) + " is not a multiple of head_count_kv " +
              std::to_string(hp.n_head_kv));
  // The head size: attention.key_length where given (Gemma 3: 256 with n_embd 640 and 4 heads),
  // else n_embd / n_head.
  if (file.find(a + "attention.key_length")) {
    hp.head_dim = positive_int(file, a + "attention.key_length", -1, kMaxDim);
    const int64_t v_len = file.get_int(a + "attention.value_length", hp.head_dim);
    if (v_len != hp.head_dim)
      file.fail("attention.value_length " + std::to_string(v_len) + " differs from key_length " +
                std::to_string(hp.head_dim) + "; that is not supported");
  } else {
    if (hp.n_embd % hp.n_head != 0)
      file.fail("embedding_length " + std::to_string(hp.n_embd) + " is not a multiple of " +
                "head_count " + std::to_string(hp.n_head));
    hp.head_dim = hp.n_embd / hp.n_head;
  }
  if (hp.head_dim % 2 != 0) file.fail("head dimension " + std::to_string(hp.head_dim) + " is odd");
  const int64_t n_rot = file.get_int(a + "rope.dimension_count", hp.head_dim);
  if (n_rot != hp.head_dim)
    file.fail("partial rotary embeddings (rope.dimension_count " + std::to_string(n_rot) +
              " != head dimension " + std::to_string(hp.head_dim) + ") are not supported");
  hp.rms_eps = static_cast<float>(
      file.get_float(a + "attention.layer_norm_rms_epsilon", gemma3 ? 1e-6 : 1e-5));
  hp.rope_freq_base = static_cast<float>(file.get_float(a + "rope.freq_base", 10000.0));
  if (!(hp.rms_eps > 0) || !(hp.rope_freq_base > 0))
    file.fail("rms epsilon and rope.freq_base must be positive");

  // Linear RoPE scaling: positions are divided by the factor.
  double factor = 1.0;
  const std::string scaling = file.get_string(a + "rope.scaling.type", "");
  if (scaling == "linear") {
    factor = file.get_float(a + "rope.scaling.factor", 1.0);
  } else if (scaling.empty()) {
    factor = file.get_float(a + "rope.scale_linear", 1.0);
  } else if (scaling != "none") {
    file.fail("rope scaling '" + scaling + "' is not supported (supported: linear)");
  }
  if (factor == 0.0) factor = 1.0;
  if (!(factor > 0)) file.fail("rope scaling factor must be positive");
  hp.rope_freq_scale = static_cast<float>(1.0 / factor);
  hp.attn_scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim));

  if (gemma3) {
    // As llama.cpp runs Gemma 3 (src/llama-model.cpp, src/models/gemma3.cpp): NeoX RoPE, GeGLU,
    // embeddings scaled by sqrt(n_embd), and sliding-window layers with RoPE base 10000 and no
    // scaling. The converter has already added Gemma's +1 to every norm weight.
    hp.rope_layout = RopeLayout::halves;
    hp.ffn_activation = FfnActivation::gelu_tanh;
    hp.embd_scale = std::sqrt(static_cast<float>(hp.n_embd));
    // Gemma 3 27B scales queries by 1/sqrt(n_embd / n_head) (query_pre_attn_scalar), the others
    // by 1/sqrt(head_dim); llama.cpp tells 27B by its 62 layers.
    if (hp.n_layer == 62)
      hp.attn_scale = 1.0f / std::sqrt(static_cast<float>(hp.n_embd / hp.n_head));
    hp.final_logit_softcap = static_cast<float>(file.get_float(a + "final_logit_softcapping", 0.0));
    if (hp.final_logit_softcap < 0 || !std::isfinite(hp.final_logit_softcap))
      file.fail("final_logit_softcapping must be a non-negative number");
    const int64_t n_swa = file.get_int(a + "attention.sliding_window", 0);
    if (n_swa < 0 || n_swa > (int64_t{1} << 24))
      file.fail("attention.sliding_window " + std::to_string(n_swa) + " is out of range");
    if (n_swa > 0) {
      hp.n_swa = static_cast<int>(n_swa);
      hp.swa_layers = sliding_layers(file, a + "attention.sliding_window_pattern", hp.n_layer);
      hp.rope_freq_base_swa = static_cast<float>(file.get_float(a + "rope.freq_base_swa", 10000.0));
      hp.rope_freq_scale_swa = 1.0f;
      if (!(hp.rope_freq_base_swa > 0)) file.fail("rope.freq_base_swa must be positive");
    }
  }
  return hp;
}

}  // namespace

std::shared_ptr<const Model> Model::load(const std::filesystem::path& path,
                                         const LoadOptions& options) {
  std::shared_ptr<Model> model(new Model());
  model->file_ = GgufFile::open(path);
  const GgufFile& file = *model->file_;
  model->hparams_ = read_hparams(file);
  model->tokenizer_ = Tokenizer::from_gguf(file);
  ModelHParams& hp = model->hparams_;

  const GgufTensorInfo& embd = file.require_tensor("token_embd.weight");
  if (embd.ne.size() != 2) file.fail("tensor 'token_embd.weight' is not 2-dimensional");
  hp.n_vocab = static_cast<int>(embd.ne[1]);
  if (hp.n_vocab != model->tokenizer_->n_vocab())
    file.fail("token_embd.weight has " + std::to_string(hp.n_vocab) +
              " rows but the vocabulary has " + std::to_string(model->tokenizer_->n_vocab()) +
              " tokens");

  const int64_t n_q = int64_t{hp.n_head} * hp.head_dim;
  const int64_t n_kv = int64_t{hp.n_head_kv} * hp.head_dim;
  ModelWeights& w = model->weights_;
  w.token_embd = weight_view(file, "token_embd.weight", hp.n_embd, hp.n_vocab);
  w.output_norm = vector_f32(file, "output_norm.weight", hp.n_embd);
  if (file.find_tensor("output.weight")) {
    w.output = weight_view(file, "output.weight", hp.n_embd, hp.n_vocab);
  } else {
    w.output = w.token_embd;
    w.tied_output = true;
  }
  w.layers.resize(static_cast<size_t>(hp.n_layer));
  for (int il = 0; il < hp.n_layer; ++il) {
    LayerWeights& l = w.layers[static_cast<size_t>(il)];
    l.attn_norm = vector_f32(file, layer_tensor(il, "attn_norm"), hp.n_embd);
    l.wq = weight_view(file, layer_tensor(il, "attn_q"), hp.n_embd, n_q);
    l.wk = weight_view(file, layer_tensor(il, "attn_k"), hp.n_embd, n_kv);
    l.wv = weight_view(file, layer_tensor(il, "attn_v"), hp.n_embd, n_kv);
    l.wo = weight_view(file, layer_tensor(il, "attn_output"), n_q, hp.n_embd);
    l.ffn_norm = vector_f32(file, layer_tensor(il, "ffn_norm"), hp.n_embd);
    l.w_gate = weight_view(file, layer_tensor(il, "ffn_gate"), hp.n_embd, hp.n_ff);
    l.w_down = weight_view(file, layer_tensor(il, "ffn_down"), hp.n_ff, hp.n_embd);
    l.w_up = weight_view(file, layer_tensor(il, "ffn_up"), hp.n_embd, hp.n_ff);
    if (hp.arch == "gemma3") {
      l.attn_q_norm = vector_f32(file, layer_tensor(il, "attn_q_norm"), hp.head_dim);
      l.attn_k_norm = vector_f32(file, layer_tensor(il, "attn_k_norm"), hp.head_dim);
      l.attn_post_norm = vector_f32(file, layer_tensor(il, "post_attention_norm"), hp.n_embd);
      l.ffn_post_norm = vector_f32(file, layer_tensor(il, "post_ffw_norm"), hp.n_embd);
    }
  }

  // Everything the model needs from the metadata is read: its pages can leave memory.
  file.release_metadata_pages();
  if (options.prefetch) {
    file.prefetch([&](uint64_t done, uint64_t total) {
      if (options.progress && total > 0) options.progress(static_cast<double>(done) / total);
    });
  }
  return model;
}

std::string Model::chat_dialect() const {
  return file_->get_string("agentrt.chat.dialect", "");
}

std::string Model::chat_tool_prompt() const {
  return file_->get_string("agentrt.chat.tool_prompt", "");
}

int64_t Model::n_params() const {
  int64_t n = 0;
  for (const GgufTensorInfo& t : file_->tensors()) n += t.n_elements();
  return n;
}

uint64_t Model::weight_bytes() const {
  uint64_t n = 0;
  for (const GgufTensorInfo& t : file_->tensors()) n += t.n_bytes;
  return n;
}

std::shared_ptr<const void> Model::derived(
    const std::string& key, const std::function<std::shared_ptr<const void>()>& make) const {
  std::lock_guard lock(derived_mutex_);
  auto found = derived_.find(key);
  if (found == derived_.end()) found = derived_.emplace(key, make()).first;
  return found->second;
}

}  // namespace agentrt::engine
