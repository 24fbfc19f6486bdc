// CPU kernels of the forward pass. Internal to engine/.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "agentrt/engine/model.h"
#include "cpu_gemm.h"
#include "thread_pool.h"

namespace agentrt::engine::cpu {

// sum_i a[i] * b[i] in float32 (SIMD where the build targets it).
float dot_f32(const float* a, const float* b, int64_t n);

// The kernel layout of a weight type (cpu_gemm.h); std::nullopt for types without kernels.
std::optional<WeightKind> weight_kind(TensorType t);

// A weight matrix as the kernels read it: the model's rows, or its packed r16 copy (cpu_gemm.h;
// view.data then points at the first group, view.type stays the file's type).
struct Matrix {
  WeightView view;
  bool r16 = false;
};

// y = x · Wᵀ for a batch: x (n_tok, w.n_in), y (n_tok, w.n_out). Quantized weights multiply x
// quantized to 8 bits (cpu_gemm.h); rows are split over the pool's threads, and a batch runs in
// tiles of several rows by several tokens, so prefill reads each weight once per token block.
void matmul(const Matrix& w, const float* x, float* y, int n_tok, ThreadPool& pool);

// One output of matmul_many: y (n_tok, w->n_out).
struct MatmulOut {
  const Matrix* w;
  float* y;
};

// Several products of the same input (q/k/v, gate/up) in one pool dispatch, x quantized once.
// Every w must have the same view.n_in.
void matmul_many(std::span<const MatmulOut> outs, const float* x, int n_tok, ThreadPool& pool);

// out = x / rms(x) * weight, for one vector of n elements. out may alias x.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);

// Rotates consecutive pairs (v[2i], v[2i+1]) of each of n_head heads of head_dim elements by
// pos * freq_scale * base^(-2i/head_dim) (RoPE, Su et al. 2021, as Llama applies it).
void rope(float* v, int n_head, int head_dim, int pos, float freq_base, float freq_scale);

// As rope(), but rotating the pairs (v[i], v[i + head_dim/2]) (GPT-NeoX's layout, which Gemma
// uses; llama.cpp's "neox" RoPE).
void rope_halves(float* v, int n_head, int head_dim, int pos, float freq_base, float freq_scale);

// In place: x = softmax(x) over n elements.
void softmax(float* x, int64_t n);

// In place: gate = silu(gate) * up, n elements.
void swiglu(float* gate, const float* up, int64_t n);

// In place: gate = gelu(gate) * up, n elements, with GELU's tanh approximation
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (Gemma's GeGLU).
void geglu_tanh(float* gate, const float* up, int64_t n);

}  // namespace agentrt::engine::cpu
