#include "random_model.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "agentrt/engine/gguf.h"

namespace agentrt::bench {

using engine::GgufValue;
using engine::GgufValueType;
using engine::GgufWriter;
using engine::TensorType;

namespace {

// Rows of n_in floats drawn from N(0, stddev^2), quantized to `type`.
std::vector<uint8_t> random_matrix(std::mt19937_64& rng, int64_t n_in, int64_t n_out,
                                   TensorType type, double stddev) {
  std::normal_distribution<float> dist(0.0f, static_cast<float>(stddev));
  const size_t row_bytes = engine::row_size(type, n_in);
  std::vector<uint8_t> data(row_bytes * static_cast<size_t>(n_out));
  std::vector<float> row(static_cast<size_t>(n_in));
  for (int64_t r = 0; r < n_out; ++r) {
    for (float& v : row) v = dist(rng);
    engine::quantize_row(type, row.data(), data.data() + r * row_bytes, n_in);
  }
  return data;
}

// The fast path for benchmark models: `distinct` random rows, drawn and quantized on `threads`
// threads (each row from its own generator, so the result does not depend on the thread count),
// then copied to every row r from row (r * 7919) % distinct.
std::vector<uint8_t> pooled_matrix(uint64_t seed, int64_t n_in, int64_t n_out, TensorType type,
                                   double stddev, int distinct, int threads) {
  const size_t row_bytes = engine::row_size(type, n_in);
  const int64_t n_pool = std::min<int64_t>(distinct, n_out);
  std::vector<uint8_t> data(row_bytes * static_cast<size_t>(n_out));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    std::vector<float> row(static_cast<size_t>(n_in));
    for (int64_t r = next++; r < n_out; r = next++) {
      uint8_t* dst = data.data() + static_cast<size_t>(r) * row_bytes;
      if (r < n_pool) {
        std::mt19937_64 rng(seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(r + 1)));
        std::normal_distribution<float> dist(0.0f, static_cast<float>(stddev));
        for (float& v : row) v = dist(rng);
        engine::quantize_row(type, row.data(), dst, n_in);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  const uint8_t* first = data.data();
  for (int64_t r = n_pool; r < n_out; ++r)
    std::memcpy(data.data() + static_cast<size_t>(r) * row_bytes,
                first + static_cast<size_t>((r * 7919) % n_pool) * row_bytes, row_bytes);
  return data;
}

std::vector<uint8_t> norm_vector(std::mt19937_64& rng, int64_t n) {
  std::uniform_real_distribution<float> dist(0.8f, 1.2f);
  std::vector<uint8_t> data(sizeof(float) * static_cast<size_t>(n));
  auto* f = reinterpret_cast<float*>(data.data());
  for (int64_t i = 0; i < n; ++i) f[i] = dist(rng);
  return data;
}

// Synthetic vocabulary: <unk> <s> </s>, the 256 byte tokens, then short generated pieces with
// decreasing scores so that sentencepiece's BPE merges prefer shorter ids.
void add_vocabulary(GgufWriter& w, int n_vocab) {
  std::vector<GgufValue> tokens, scores, types;
  auto add = [&](std::string piece, float score, int32_t type) {
    tokens.push_back(GgufValue::make_string(std::move(piece)));
    scores.push_back(GgufValue::make_f32(score));
    types.push_back(GgufValue::make_i32(type));
  };
  add("<unk>", 0.0f, 2);
  add("<s>", 0.0f, 3);
  add("</s>", 0.0f, 3);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    add(buf, 0.0f, 6);
  }
  const std::string letters = "etaoinshrdlcumwfgypbvkjxqz";
  for (int i = 0; static_cast<int>(tokens.size()) < n_vocab; ++i) {
    // i -> a distinct piece: "▁" + base-26 digits, or the bare digits for odd i.
    std::string word;
    for (int v = i / 2;; v = v / 26 - 1) {
      word.insert(word.begin(), letters[static_cast<size_t>(v % 26)]);
      if (v < 26) break;
    }
    add(i % 2 == 0 ? "\xE2\x96\x81" + word : word, -static_cast<float>(i), 1);
  }
  w.set("tokenizer.ggml.model", GgufValue::make_string("llama"));
  w.set("tokenizer.ggml.tokens", GgufValue::make_array(GgufValueType::STRING, std::move(tokens)));
  w.set("tokenizer.ggml.scores", GgufValue::make_array(GgufValueType::FLOAT32, std::move(scores)));
  w.set("tokenizer.ggml.token_type", GgufValue::make_array(GgufValueType::INT32, std::move(types)));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::make_u32(1));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::make_u32(2));
  w.set("tokenizer.ggml.unknown_token_id", GgufValue::make_u32(0));
}

}  // namespace

void set_type_by_name(RandomLlamaSpec& spec, const std::string& name) {
  static const std::pair<const char*, TensorType> kTypes[] = {
      {"f32", TensorType::F32},   {"f16", TensorType::F16},   {"bf16", TensorType::BF16},
      {"q8_0", TensorType::Q8_0}, {"q4_0", TensorType::Q4_0}, {"q5_0", TensorType::Q5_0},
      {"q4_k", TensorType::Q4_K}, {"q6_k", TensorType::Q6_K}};
  spec.q4_k_m = false;
  if (name == "q4_k_m") {
    spec.type = TensorType::Q4_K;
    spec.q4_k_m = true;
    return;
  }
  for (const auto& [n, t] : kTypes) {
    if (name == n) {
      spec.type = t;
      return;
    }
  }
  throw std::invalid_argument("unknown tensor type '" + name +
                              "' (f32, f16, bf16, q8_0, q4_0, q5_0, q4_k, q6_k, q4_k_m)");
}

void write_random_llama(const std::filesystem::path& path, const RandomLlamaSpec& spec) {
  if (spec.n_vocab < 259) throw std::invalid_argument("n_vocab must be at least 259");
  const int head_dim = spec.head_dim > 0 ? spec.head_dim : spec.n_embd / spec.n_head;
  if ((spec.head_dim == 0 && spec.n_embd % spec.n_head != 0) || spec.n_head % spec.n_head_kv != 0 ||
      head_dim % 2 != 0)
    throw std::invalid_argument("n_embd, n_head and n_head_kv do not make whole, even heads");
  const std::string arch = spec.gemma3 ? "gemma3" : "llama";
  const std::string a = arch + ".";
  std::mt19937_64 rng(spec.seed);
  GgufWriter w;
  w.set("general.architecture", GgufValue::make_string(arch));
  w.set("general.name", GgufValue::make_string(spec.name));
  w.set(a + "context_length", GgufValue::make_u32(static_cast<uint32_t>(spec.n_ctx)));
  w.set(a + "embedding_length", GgufValue::make_u32(static_cast<uint32_t>(spec.n_embd)));
  w.set(a + "block_count", GgufValue::make_u32(static_cast<uint32_t>(spec.n_layer)));
  w.set(a + "feed_forward_length", GgufValue::make_u32(static_cast<uint32_t>(spec.n_ff)));
  w.set(a + "attention.head_count", GgufValue::make_u32(static_cast<uint32_t>(spec.n_head)));
  w.set(a + "attention.head_count_kv", GgufValue::make_u32(static_cast<uint32_t>(spec.n_head_kv)));
  if (spec.gemma3) {
    w.set(a + "attention.key_length", GgufValue::make_u32(static_cast<uint32_t>(head_dim)));
    w.set(a + "attention.value_length", GgufValue::make_u32(static_cast<uint32_t>(head_dim)));
    w.set(a + "attention.layer_norm_rms_epsilon", GgufValue::make_f32(1e-6f));
    if (spec.n_swa > 0)
      w.set(a + "attention.sliding_window", GgufValue::make_u32(static_cast<uint32_t>(spec.n_swa)));
    if (spec.swa_period > 0)
      w.set(a + "attention.sliding_window_pattern",
            GgufValue::make_u32(static_cast<uint32_t>(spec.swa_period)));
    if (spec.final_logit_softcap > 0)
      w.set(a + "final_logit_softcapping", GgufValue::make_f32(spec.final_logit_softcap));
  } else {
    w.set(a + "rope.dimension_count", GgufValue::make_u32(static_cast<uint32_t>(head_dim)));
    w.set(a + "attention.layer_norm_rms_epsilon", GgufValue::make_f32(1e-5f));
  }
  w.set(a + "rope.freq_base", GgufValue::make_f32(spec.rope_freq_base));
  if (spec.rope_scale_linear != 1.0f) {
    w.set(a + "rope.scaling.type", GgufValue::make_string("linear"));
    w.set(a + "rope.scaling.factor", GgufValue::make_f32(spec.rope_scale_linear));
  }
  add_vocabulary(w, spec.n_vocab);

  const int64_t n_embd = spec.n_embd, n_ff = spec.n_ff;
  const int64_t n_q = int64_t{spec.n_head} * head_dim, n_kv = int64_t{spec.n_head_kv} * head_dim;
  const TensorType big = spec.q4_k_m ? TensorType::Q6_K : spec.type;
  const TensorType embd_type = spec.embd_type.value_or(spec.type);
  const TensorType output_type = spec.output_type.value_or(big);
  // Weights scaled so activations keep unit size through the layers: N(0, 1/n_in).
  auto generate = [&](int64_t n_in, int64_t n_out, TensorType type, double stddev) {
    if (spec.distinct_rows > 0)
      return pooled_matrix(rng(), n_in, n_out, type, stddev, spec.distinct_rows,
                           std::max(spec.threads, 1));
    return random_matrix(rng, n_in, n_out, type, stddev);
  };
  auto matrix = [&](const std::string& name, int64_t n_in, int64_t n_out, TensorType type) {
    w.add_tensor(name, {n_in, n_out}, type,
                 generate(n_in, n_out, type, 1.0 / std::sqrt(double(n_in))));
  };
  auto norm = [&](const std::string& name, int64_t n) {
    w.add_tensor(name, {n}, TensorType::F32, norm_vector(rng, n));
  };
  // Gemma scales embeddings up by sqrt(n_embd): draw them that much smaller.
  const double embd_std = spec.gemma3 ? 1.0 / std::sqrt(double(n_embd)) : 1.0;
  w.add_tensor("token_embd.weight", {n_embd, spec.n_vocab}, embd_type,
               generate(n_embd, spec.n_vocab, embd_type, embd_std));
  for (int il = 0; il < spec.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    norm(p + "attn_norm.weight", n_embd);
    matrix(p + "attn_q.weight", n_embd, n_q, spec.type);
    matrix(p + "attn_k.weight", n_embd, n_kv, spec.type);
    matrix(p + "attn_v.weight", n_embd, n_kv, big);
    matrix(p + "attn_output.weight", n_q, n_embd, spec.type);
    norm(p + "ffn_norm.weight", n_embd);
    matrix(p + "ffn_gate.weight", n_embd, n_ff, spec.type);
    matrix(p + "ffn_down.weight", n_ff, n_embd, big);
    matrix(p + "ffn_up.weight", n_embd, n_ff, spec.type);
    if (spec.gemma3) {
      norm(p + "attn_q_norm.weight", head_dim);
      norm(p + "attn_k_norm.weight", head_dim);
      norm(p + "post_attention_norm.weight", n_embd);
      norm(p + "post_ffw_norm.weight", n_embd);
    }
  }
  norm("output_norm.weight", n_embd);
  if (!spec.tied_output) matrix("output.weight", n_embd, spec.n_vocab, output_type);
  w.write(path);
}

}  // namespace agentrt::bench
