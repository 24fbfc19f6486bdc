// The CUDA kernels of the forward pass, as host functions that launch them on a stream. Every
// pointer is device memory; every launch is checked (AGENTRT_CUDA_CHECK_LAUNCH). Internal to
// engine/; tests/gpu checks each one against the CPU kernels.
//
// Shapes are row-major: "x (n_tok, n) rows ldx apart" means element i of token t is x[t*ldx + i].
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "agentrt/engine/tensor_type.h"

namespace agentrt::engine::cuda {

// A weight matrix in device memory: n_out rows of n_in elements of `type`, `stride` bytes apart
// (row_size(type, n_in) rounded up to 16 bytes for F32/F16/BF16; the row size for quantized
// types). data is 256-byte aligned (cudaMalloc).
struct DeviceMatrix {
  TensorType type = TensorType::F32;
  const void* data = nullptr;
  int64_t n_in = 0;
  int64_t n_out = 0;
  size_t stride = 0;
};

bool is_quantized(TensorType type);
// Bytes between rows of a matrix of `type` with n_in columns, as uploads lay it out.
size_t device_row_stride(TensorType type, int64_t n_in);

// Batches up to this many tokens use the matrix-vector kernels (weights read once for all of
// them, F32 activations); larger ones go through cuBLAS.
constexpr int kMaxMatvecTokens = 8;
constexpr int kMaxHeadDim = 256;

// y[t*ldy + r] = (accumulate ? y[t*ldy + r] : 0) + sum_i W[r][i] * in_t[i] for t < n_tok <=
// kMaxMatvecTokens, with in_t[i] = x[t*ldx + i], or with swiglu
// in_t[i] = silu(x[t*ldx + i]) * x[t*ldx + n_in + i]. Float32 accumulation.
void matvec(const DeviceMatrix& w, const float* x, int64_t ldx, int n_tok, bool swiglu, float* y,
            int64_t ldy, bool accumulate, cudaStream_t stream);

// dst (n_out, n_in) IEEE halves = W, for the quantized types (a GEMM operand).
void dequantize_to_f16(const DeviceMatrix& w, void* dst, cudaStream_t stream);

// dst (n_tok, n) halves (or bfloat16 when bf16) = in_t as in matvec (swiglu optional).
void convert_rows(const float* x, int64_t ldx, int n_tok, int64_t n, bool swiglu, bool bf16,
                  void* dst, cudaStream_t stream);

// out (n_tok, n) = silu(x[t*ldx + i]) * x[t*ldx + n + i].
void swiglu_rows(const float* x, int64_t ldx, int n_tok, int64_t n, float* out,
                 cudaStream_t stream);

// out (n_tok, table.n_in) = the rows tokens[0..n_tok) of the table, as float32. A token outside
// [0, n_out) gives a row of zeros (the caller validates tokens; this only keeps reads in bounds).
void embed_rows(const DeviceMatrix& table, const int* tokens, int n_tok, float* out,
                cudaStream_t stream);

// out_t = x_t / rms(x_t) * weight (n elements; sums of squares in double, as the CPU does).
void rms_norm(const float* x, int64_t ldx, const float* weight, int n_tok, int n, float eps,
              float* out, int64_t ldo, cudaStream_t stream);

struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;  // even, <= kMaxHeadDim
  int n_ctx = 0;     // positions in the cache
};

// qkv (n_tok, n_head*hd + 2*n_head_kv*hd) rows ld apart, token t at position *pos + t: rotates
// the query heads in place (RoPE on consecutive pairs, angles in double as the CPU computes
// them) and writes the rotated keys and the values to the caches, whose layout is
// (n_head_kv, n_ctx, head_dim) for one layer. Positions >= n_ctx are skipped.
void rope_store(float* qkv, int64_t ld, int n_tok, const int* pos, float* k_cache, float* v_cache,
                const AttentionShape& shape, float freq_base, float freq_scale,
                cudaStream_t stream);

// Split-K ("flash decoding") attention for n_tok <= kMaxMatvecTokens queries (rows ldq apart;
// token t at position *pos + t attends to positions 0..*pos+t of the cache). Each block covers a
// slice of kAttentionSplit positions for one (token, head); a second kernel combines the slices.
// The grid covers the whole cache, so the launch does not depend on *pos (CUDA-graph safe).
// partial: attention_partial_floats(n_tok, shape) floats of scratch. out (n_tok, n_head*hd).
constexpr int kAttentionSplit = 128;
size_t attention_partial_floats(int n_tok, const AttentionShape& shape);
void attention_decode(const float* q, int64_t ldq, int n_tok, const int* pos, const float* k_cache,
                      const float* v_cache, const AttentionShape& shape, float* partial, float* out,
                      int64_t ldo, cudaStream_t stream);

// Rows s[(h*n_rows + t)*ld + j], h < n_head, t < n_rows, j < n_cols: softmax over
// j < first_limit + t (the causal prefix of token t), zeros after.
void causal_softmax(float* s, int64_t ld, int n_rows, int n_head, int n_cols, int first_limit,
                    cudaStream_t stream);

}  // namespace agentrt::engine::cuda
