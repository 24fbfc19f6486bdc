// The CPU backend: the Llama and Gemma 3 forward passes in float32 over quantized weights.
// Reads top to bottom like the architecture (Touvron et al. 2023): embedding, then per layer
// RMSNorm → attention with RoPE and grouped-query KV heads → residual → RMSNorm → SwiGLU FFN →
// residual, then the final norm and the output projection.
// Gemma 3 (Gemma Team 2025) adds, where its weights say so: embeddings scaled by sqrt(n_embd),
// RMSNorm of each query and key head, norms of the attention and FFN outputs before the residual
// adds, GeGLU instead of SwiGLU, NeoX-layout RoPE, and sliding-window layers between global ones.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend.h"
#include "cpu_gemm.h"
#include "cpu_kernels.h"
#include "cpu_weights.h"
#include "thread_pool.h"

namespace agentrt::engine {

namespace {

class CpuContext final : public BackendContext {
 public:
  CpuContext(std::shared_ptr<const Model> model, int n_ctx, int n_threads, KvType kv_type)
      : model_(std::move(model)),
        hp_(model_->hparams()),
        n_ctx_(n_ctx),
        k_ld_((n_ctx + 15) / 16 * 16),
        kv_kind_(kv_type == KvType::F32 ? cpu::KvKind::f32 : cpu::KvKind::f16),
        elt_(kv_type == KvType::F32 ? sizeof(float) : sizeof(uint16_t)),
        pool_(n_threads),
        mats_(cpu::CpuWeights::get(*model_, pool_)) {
    const size_t layers = static_cast<size_t>(hp_.n_layer);
    k_cache_.assign(layers * kv_dim() * k_ld_ * elt_, 0);
    v_cache_.assign(layers * n_ctx_ * kv_dim() * elt_, 0);
  }

  std::string_view name() const override { return "cpu"; }

  // Runs the batch in micro-batches of at most kMicroBatch tokens: the matrix kernels block tokens
  // by 64 anyway, and the activation buffers stay small.
  void eval(std::span<const Token> tokens, int n_past, std::span<float> logits,
            bool all_logits) override {
    const int n = static_cast<int>(tokens.size());
    for (int c0 = 0; c0 < n; c0 += kMicroBatch) {
      const int m = std::min(kMicroBatch, n - c0);
      const bool last = c0 + m == n;
      std::span<float> out;
      if (!logits.empty() && all_logits) {
        out = logits.subspan(static_cast<size_t>(c0) * hp_.n_vocab,
                             static_cast<size_t>(m) * hp_.n_vocab);
      } else if (!logits.empty() && last) {
        out = logits;
      }
      eval_micro(tokens.subspan(static_cast<size_t>(c0), static_cast<size_t>(m)), n_past + c0, out,
                 all_logits);
    }
  }

 private:
  static constexpr int kMicroBatch = 64;

  void eval_micro(std::span<const Token> tokens, int n_past, std::span<float> logits,
                  bool all_logits) {
    const int n = static_cast<int>(tokens.size());
    const int n_embd = hp_.n_embd, n_q = q_dim(), n_kv = kv_dim(), n_ff = hp_.n_ff;
    reserve(n);
    const ModelWeights& w = model_->weights();

    // x (n, n_embd): token embeddings
    for (int t = 0; t < n; ++t)
      dequantize_row(w.token_embd.type, w.token_embd.row(tokens[t]), &x_[t * n_embd], n_embd);
    if (hp_.embd_scale != 1.0f)
      for (size_t i = 0; i < static_cast<size_t>(n) * n_embd; ++i) x_[i] *= hp_.embd_scale;

    for (int il = 0; il < hp_.n_layer; ++il) {
      const LayerWeights& l = w.layers[static_cast<size_t>(il)];
      const cpu::LayerMatrices& m = mats_->layer(il);
      // Attention block.
      for (int t = 0; t < n; ++t)
        cpu::rms_norm(&x_[t * n_embd], l.attn_norm.data(), &xb_[t * n_embd], n_embd, hp_.rms_eps);
      // q (n, n_q), k (n, n_kv), v (n, n_kv): one dispatch, xb quantized once
      const cpu::MatmulOut qkv[] = {{&m.wq, q_.data()}, {&m.wk, k_.data()}, {&m.wv, v_.data()}};
      cpu::matmul_many(qkv, xb_.data(), n, pool_);
      if (!l.attn_q_norm.empty()) qk_norm(l, n);
      const bool swa = hp_.is_swa(il);
      const float freq_base = swa ? hp_.rope_freq_base_swa : hp_.rope_freq_base;
      const float freq_scale = swa ? hp_.rope_freq_scale_swa : hp_.rope_freq_scale;
      const auto rope = hp_.rope_layout == RopeLayout::halves ? cpu::rope_halves : cpu::rope;
      for (int t = 0; t < n; ++t) {
        const int pos = n_past + t;
        rope(&q_[t * n_q], hp_.n_head, hp_.head_dim, pos, freq_base, freq_scale);
        rope(&k_[t * n_kv], hp_.n_head_kv, hp_.head_dim, pos, freq_base, freq_scale);
        store_kv(il, pos, &k_[t * n_kv], &v_[t * n_kv]);
      }
      attention(il, n, n_past, swa ? hp_.n_swa : 0);  // att (n, n_q)
      cpu::matmul(m.wo, att_.data(), xb_.data(), n, pool_);
      if (!l.attn_post_norm.empty()) post_norm(l.attn_post_norm, n);
      for (size_t i = 0; i < static_cast<size_t>(n) * n_embd; ++i) x_[i] += xb_[i];

      // Feed-forward block: w_down(act(w_gate x) * w_up x), act = silu (SwiGLU) or gelu (GeGLU).
      for (int t = 0; t < n; ++t)
        cpu::rms_norm(&x_[t * n_embd], l.ffn_norm.data(), &xb_[t * n_embd], n_embd, hp_.rms_eps);
      const cpu::MatmulOut gate_up[] = {{&m.w_gate, hb_.data()}, {&m.w_up, hb2_.data()}};
      cpu::matmul_many(gate_up, xb_.data(), n, pool_);  // hb, hb2 (n, n_ff)
      if (hp_.ffn_activation == FfnActivation::gelu_tanh) {
        cpu::geglu_tanh(hb_.data(), hb2_.data(), static_cast<int64_t>(n) * n_ff);
      } else {
        cpu::swiglu(hb_.data(), hb2_.data(), static_cast<int64_t>(n) * n_ff);
      }
      cpu::matmul(m.w_down, hb_.data(), xb_.data(), n, pool_);  // (n, n_embd)
      if (!l.ffn_post_norm.empty()) post_norm(l.ffn_post_norm, n);
      for (size_t i = 0; i < static_cast<size_t>(n) * n_embd; ++i) x_[i] += xb_[i];
    }

    if (logits.empty()) return;
    // Only the positions whose logits are wanted go through the output projection.
    const int first = all_logits ? 0 : n - 1;
    const int n_out = n - first;
    for (int t = first; t < n; ++t)
      cpu::rms_norm(&x_[t * n_embd], w.output_norm.data(), &xb_[(t - first) * n_embd], n_embd,
                    hp_.rms_eps);
    cpu::matmul(mats_->output(), xb_.data(), logits.data(), n_out, pool_);
    if (const float cap = hp_.final_logit_softcap; cap > 0.0f) {
      for (size_t i = 0; i < static_cast<size_t>(n_out) * hp_.n_vocab; ++i)
        logits[i] = cap * std::tanh(logits[i] / cap);
    }
  }

  int q_dim() const { return hp_.n_head * hp_.head_dim; }
  int kv_dim() const { return hp_.n_head_kv * hp_.head_dim; }
  // Element e of the keys of `layer`, KV head `head`, position `pos`, transposed: dimension i of
  // position p at element i * k_ld_ + p.
  uint8_t* kt_at(int layer, int head, int pos) {
    const size_t e = (static_cast<size_t>(layer) * kv_dim() + head * hp_.head_dim) * k_ld_ + pos;
    return &k_cache_[e * elt_];
  }
  uint8_t* v_at(int layer, int pos, int head) {
    const size_t e = (static_cast<size_t>(layer) * n_ctx_ + pos) * kv_dim() + head * hp_.head_dim;
    return &v_cache_[e * elt_];
  }

  // Writes one position's keys and values (n_head_kv * head_dim floats each) to the cache.
  void store_kv(int layer, int pos, const float* k, const float* v) {
    const cpu::Kernels& kern = cpu::kernels_best();
    const int n = kv_dim();
    uint8_t* kt = kt_at(layer, 0, pos);  // dimension d of all heads at element d * k_ld_
    if (kv_kind_ == cpu::KvKind::f32) {
      std::memcpy(v_at(layer, pos, 0), v, sizeof(float) * n);
      auto* kf = reinterpret_cast<float*>(kt);
      for (int d = 0; d < n; ++d) kf[static_cast<size_t>(d) * k_ld_] = k[d];
      return;
    }
    kern.to_f16(v, reinterpret_cast<uint16_t*>(v_at(layer, pos, 0)), n);
    thread_local std::vector<uint16_t> kh;
    kh.resize(static_cast<size_t>(n));
    kern.to_f16(k, kh.data(), n);
    auto* k16 = reinterpret_cast<uint16_t*>(kt);
    for (int d = 0; d < n; ++d) k16[static_cast<size_t>(d) * k_ld_] = kh[d];
  }

  void reserve(int n) {
    if (n <= n_reserved_) return;
    n_reserved_ = n;
    const size_t un = static_cast<size_t>(n);
    x_.resize(un * hp_.n_embd);
    xb_.resize(un * hp_.n_embd);
    q_.resize(un * q_dim());
    k_.resize(un * kv_dim());
    v_.resize(un * kv_dim());
    att_.resize(un * q_dim());
    hb_.resize(un * hp_.n_ff);
    hb2_.resize(un * hp_.n_ff);
  }

  // QK-norm: RMSNorm of every query and key head of the batch, in place.
  void qk_norm(const LayerWeights& l, int n) {
    const int hd = hp_.head_dim;
    for (int t = 0; t < n; ++t) {
      for (int h = 0; h < hp_.n_head; ++h) {
        float* q = &q_[static_cast<size_t>(t) * q_dim() + h * hd];
        cpu::rms_norm(q, l.attn_q_norm.data(), q, hd, hp_.rms_eps);
      }
      for (int h = 0; h < hp_.n_head_kv; ++h) {
        float* k = &k_[static_cast<size_t>(t) * kv_dim() + h * hd];
        cpu::rms_norm(k, l.attn_k_norm.data(), k, hd, hp_.rms_eps);
      }
    }
  }

  // xb (n, n_embd) = RMSNorm(xb) with `weight`: a block's output normed before the residual add.
  void post_norm(const std::vector<float>& weight, int n) {
    const int n_embd = hp_.n_embd;
    for (int t = 0; t < n; ++t)
      cpu::rms_norm(&xb_[t * n_embd], weight.data(), &xb_[t * n_embd], n_embd, hp_.rms_eps);
  }

  // Causal attention of the n new tokens over the cache. Query head h reads KV head
  // h / (n_head / n_head_kv). With a window (n_swa > 0), position p sees only positions
  // p - n_swa + 1 .. p. Work goes out in (head, block of kQueryBlock tokens) units: a block's
  // scores against the positions any of its tokens sees in one product, each token's softmax over
  // its own positions (the others weigh zero), then the weighted sum of the values.
  void attention(int layer, int n, int n_past, int n_swa) {
    constexpr int kQueryBlock = 16;
    const int hd = hp_.head_dim, n_head = hp_.n_head;
    const int group = hp_.n_head / hp_.n_head_kv;
    const float scale = hp_.attn_scale;
    const int n_blocks = (n + kQueryBlock - 1) / kQueryBlock;
    const cpu::Kernels& kern = cpu::kernels_best();
    const int kv = static_cast<int>(kv_kind_);
    auto first_visible = [&](int t) { return n_swa > 0 ? std::max(0, n_past + t + 1 - n_swa) : 0; };
    pool_.run(
        [&](int ith, int nth) {
          thread_local std::vector<float> scores;  // (kQueryBlock, n_ctx)
          scores.resize(static_cast<size_t>(kQueryBlock) * n_ctx_);
          const auto [j0, j1] =
              ThreadPool::split(static_cast<int64_t>(n_blocks) * n_head, ith, nth);
          for (int64_t j = j0; j < j1; ++j) {
            const int h = static_cast<int>(j / n_blocks), b = static_cast<int>(j % n_blocks);
            const int kvh = h / group;
            const int t0 = b * kQueryBlock, nq = std::min(kQueryBlock, n - t0);
            const int pa = first_visible(t0), pb = n_past + t0 + nq;  // positions [pa, pb)
            kern.attn_scores[kv](&q_[static_cast<size_t>(t0) * q_dim() + h * hd], q_dim(), nq,
                                 kt_at(layer, kvh, pa), k_ld_, hd, pb - pa, scale, scores.data(),
                                 n_ctx_);
            for (int t = 0; t < nq; ++t) {
              float* row = &scores[static_cast<size_t>(t) * n_ctx_];
              const int a = first_visible(t0 + t) - pa, e = n_past + t0 + t + 1 - pa;
              std::fill(row, row + a, 0.0f);
              cpu::softmax(row + a, e - a);
              std::fill(row + e, row + (pb - pa), 0.0f);
            }
            kern.attn_values[kv](scores.data(), n_ctx_, nq, v_at(layer, pa, kvh), kv_dim(), hd,
                                 pb - pa, &att_[static_cast<size_t>(t0) * q_dim() + h * hd],
                                 q_dim());
          }
        },
        int64_t{2} * n * n_head * (n_past + n) * hd);
  }

  std::shared_ptr<const Model> model_;
  const ModelHParams& hp_;
  int n_ctx_;
  int k_ld_;  // n_ctx rounded up to 16: the row length of the transposed keys
  cpu::KvKind kv_kind_;
  size_t elt_;  // bytes per cache element
  ThreadPool pool_;
  std::shared_ptr<const cpu::CpuWeights> mats_;  // after pool_, which packs them
  // The KV cache, float16 (as llama.cpp's default) or float32 elements.
  std::vector<uint8_t> k_cache_;  // (n_layer, n_head_kv * head_dim, k_ld_): keys transposed
  std::vector<uint8_t> v_cache_;  // (n_layer, n_ctx, n_head_kv * head_dim)
  int n_reserved_ = 0;
  std::vector<float> x_;    // (n, n_embd) residual stream
  std::vector<float> xb_;   // (n, n_embd) normed input / block output
  std::vector<float> q_;    // (n, n_head * head_dim)
  std::vector<float> k_;    // (n, n_head_kv * head_dim)
  std::vector<float> v_;    // (n, n_head_kv * head_dim)
  std::vector<float> att_;  // (n, n_head * head_dim)
  std::vector<float> hb_;   // (n, n_ff)
  std::vector<float> hb2_;  // (n, n_ff)
};

}  // namespace

std::unique_ptr<BackendContext> make_cpu_context(std::shared_ptr<const Model> model, int n_ctx,
                                                 int n_threads, KvType kv_type) {
  return std::make_unique<CpuContext>(std::move(model), n_ctx, n_threads, kv_type);
}

}  // namespace agentrt::engine
