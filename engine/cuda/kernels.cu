// Element-wise, normalisation, RoPE and attention kernels of the CUDA backend (ops.h).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "cuda_check.h"
#include "ops.h"
#include "quant_decode.h"

namespace agentrt::engine::cuda {

namespace {

constexpr unsigned kFullMask = 0xFFFFFFFFu;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// Sum (or max) over the block; every thread gets the result. blockDim.x is a multiple of 32 and
// at most 1024; `scratch` holds 32 values. Ends with a barrier, so scratch can be reused at once.
template <typename T, bool Max>
__device__ T block_reduce(T v, T* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
  if constexpr (Max) {
    v = warp_max(v);
  } else {
    v = warp_sum(v);
  }
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T r = scratch[0];
  for (int w = 1; w < n_warps; ++w) {
    if constexpr (Max) {
      r = fmaxf(r, scratch[w]);
    } else {
      r += scratch[w];
    }
  }
  __syncthreads();
  return r;
}

// As the CPU computes it: g / (1 + exp(-g)) * u (accurate expf; the build has no fast math).
__device__ __forceinline__ float silu_mul(float g, float u) {
  return g / (1.0f + expf(-g)) * u;
}

// ---- embedding rows --------------------------------------------------------------------------

template <QuantKind K>
__device__ void embed_quantized(const uint8_t* row, int64_t n, float* out) {
  constexpr int U = QuantTraits<K>::kUnit;
  for (int64_t u = threadIdx.x; u < n / U; u += blockDim.x) {
    float v[U];
    decode_unit<K>(row, u, v);
#pragma unroll
    for (int j = 0; j < U; ++j) out[u * U + j] = v[j];
  }
}

__device__ __forceinline__ float load_float_elem(TensorType type, const uint8_t* row, int64_t i) {
  if (type == TensorType::F32) return reinterpret_cast<const float*>(row)[i];
  const uint16_t h = reinterpret_cast<const uint16_t*>(row)[i];
  if (type == TensorType::F16) return __half2float(__ushort_as_half(h));
  return __uint_as_float(static_cast<uint32_t>(h) << 16);  // BF16
}

__global__ void embed_kernel(DeviceMatrix table, const int* tokens, float* out) {
  const int t = blockIdx.x;
  const int token = tokens[t];
  const int64_t n = table.n_in;
  float* o = out + t * n;
  if (token < 0 || token >= table.n_out) {
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) o[i] = 0.0f;
    return;
  }
  const uint8_t* row = static_cast<const uint8_t*>(table.data) + token * table.stride;
  switch (table.type) {
    case TensorType::Q8_0:
      return embed_quantized<QuantKind::Q8_0>(row, n, o);
    case TensorType::Q4_0:
      return embed_quantized<QuantKind::Q4_0>(row, n, o);
    case TensorType::Q4_K:
      return embed_quantized<QuantKind::Q4_K>(row, n, o);
    case TensorType::Q6_K:
      return embed_quantized<QuantKind::Q6_K>(row, n, o);
    default:
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        o[i] = load_float_elem(table.type, row, i);
  }
}

// ---- element-wise ----------------------------------------------------------------------------

__global__ void swiglu_kernel(const float* x, int64_t ldx, int n_tok, int64_t n, float* out) {
  const int64_t total = n_tok * n;
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < total;
       k += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = k / n, i = k % n;
    out[k] = silu_mul(x[t * ldx + i], x[t * ldx + n + i]);
  }
}

template <bool BF16>
__global__ void convert_kernel(const float* x, int64_t ldx, int n_tok, int64_t n, bool swiglu,
                               void* dst) {
  const int64_t total = n_tok * n;
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < total;
       k += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = k / n, i = k % n;
    const float v = swiglu ? silu_mul(x[t * ldx + i], x[t * ldx + n + i]) : x[t * ldx + i];
    if constexpr (BF16) {
      static_cast<__nv_bfloat16*>(dst)[k] = __float2bfloat16_rn(v);
    } else {
      static_cast<__half*>(dst)[k] = __float2half_rn(v);
    }
  }
}

template <QuantKind K>
__global__ void dequantize_kernel(DeviceMatrix w, __half* dst) {
  constexpr int U = QuantTraits<K>::kUnit;
  const int64_t units_per_row = w.n_in / U;
  const int64_t total = w.n_out * units_per_row;
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < total;
       k += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = k / units_per_row, u = k % units_per_row;
    float v[U];
    decode_unit<K>(static_cast<const uint8_t*>(w.data) + r * w.stride, u, v);
    // U is even and n_in a multiple of U, so the pair stores are 4-byte aligned.
    __half2* o = reinterpret_cast<__half2*>(dst + r * w.n_in + u * U);
#pragma unroll
    for (int j = 0; j < U / 2; ++j) o[j] = __floats2half2_rn(v[2 * j], v[2 * j + 1]);
  }
}

// Grid-stride launches: enough blocks to fill the GPU, capped so the grid stays small.
int grid_stride_blocks(int64_t total, int threads) {
  const int64_t blocks = (total + threads - 1) / threads;
  return static_cast<int>(blocks < 65536 ? (blocks > 0 ? blocks : 1) : 65536);
}

// ---- RMSNorm ---------------------------------------------------------------------------------

__global__ void rms_norm_kernel(const float* x, int64_t ldx, const float* weight, int n, float eps,
                                float* out, int64_t ldo) {
  __shared__ double scratch[32];
  const float* xr = x + blockIdx.x * ldx;
  float* o = out + blockIdx.x * ldo;
  double ss = 0.0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) ss += static_cast<double>(xr[i]) * xr[i];
  ss = block_reduce<double, false>(ss, scratch);
  const float scale = static_cast<float>(1.0 / sqrt(ss / static_cast<double>(n) + eps));
  for (int i = threadIdx.x; i < n; i += blockDim.x) o[i] = xr[i] * scale * weight[i];
}

// ---- RoPE and the KV cache --------------------------------------------------------------------

// Block (t, head) over the query heads, then the key heads, then the value heads; thread i is
// pair i of the head.
__global__ void rope_store_kernel(float* qkv, int64_t ld, const int* pos0, float* k_cache,
                                  float* v_cache, AttentionShape s, float freq_base,
                                  float freq_scale) {
  const int t = blockIdx.x, head = blockIdx.y, i = threadIdx.x;
  const int hd = s.head_dim;
  const int pos = *pos0 + t;
  if (i >= hd / 2 || pos < 0 || pos >= s.n_ctx) return;
  float* row = qkv + t * ld;
  const int n_q = s.n_head * hd, n_kv = s.n_head_kv * hd;
  if (head >= s.n_head + s.n_head_kv) {  // a value head: copied to the cache
    const int g = head - s.n_head - s.n_head_kv;
    const float* v = row + n_q + n_kv + g * hd;
    float* dst = v_cache + (static_cast<int64_t>(g) * s.n_ctx + pos) * hd;
    dst[2 * i] = v[2 * i];
    dst[2 * i + 1] = v[2 * i + 1];
    return;
  }
  const double p = static_cast<double>(pos) * freq_scale;
  const double theta = p * pow(static_cast<double>(freq_base), -2.0 * i / hd);
  const float c = static_cast<float>(cos(theta)), sn = static_cast<float>(sin(theta));
  if (head < s.n_head) {
    float* pair = row + head * hd + 2 * i;
    const float x0 = pair[0], x1 = pair[1];
    pair[0] = x0 * c - x1 * sn;
    pair[1] = x0 * sn + x1 * c;
  } else {
    const int g = head - s.n_head;
    const float* pair = row + n_q + g * hd + 2 * i;
    const float x0 = pair[0], x1 = pair[1];
    float* dst = k_cache + (static_cast<int64_t>(g) * s.n_ctx + pos) * hd + 2 * i;
    dst[0] = x0 * c - x1 * sn;
    dst[1] = x0 * sn + x1 * c;
  }
}

// ---- attention -------------------------------------------------------------------------------

constexpr int kAttentionThreads = 128;

__host__ __device__ int attention_splits(const AttentionShape& s) {
  return (s.n_ctx + kAttentionSplit - 1) / kAttentionSplit;
}

// Block (split, head, token): scores of the slice's positions, their max m, the sum l of
// exp(score - m) and acc[d] = sum exp(score - m) * v[d], written to partial[0], [1], [2 + d].
__global__ void attention_split_kernel(const float* q, int64_t ldq, const int* pos0,
                                       const float* k_cache, const float* v_cache, AttentionShape s,
                                       float scale, float* partial) {
  __shared__ float q_s[kMaxHeadDim];
  __shared__ float p_s[kAttentionSplit];
  __shared__ float scratch[32];
  const int split = blockIdx.x, h = blockIdx.y, t = blockIdx.z;
  const int hd = s.head_dim;
  const int n_pos = min(*pos0 + t + 1, s.n_ctx);
  const int p0 = split * kAttentionSplit;
  if (p0 >= n_pos) return;  // the combine kernel reads only the slices that hold positions
  const int p1 = min(p0 + kAttentionSplit, n_pos);
  const int g = h / (s.n_head / s.n_head_kv);
  const float* K = k_cache + static_cast<int64_t>(g) * s.n_ctx * hd;
  const float* V = v_cache + static_cast<int64_t>(g) * s.n_ctx * hd;
  const float* qh = q + t * ldq + h * hd;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) q_s[d] = qh[d];
  __syncthreads();

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
  for (int p = p0 + warp; p < p1; p += n_warps) {
    const float* k = K + static_cast<int64_t>(p) * hd;
    float dot = 0.0f;
    for (int d = lane; d < hd; d += 32) dot += q_s[d] * k[d];
    dot = warp_sum(dot);
    if (lane == 0) p_s[p - p0] = dot * scale;
  }
  __syncthreads();

  float m = -INFINITY;
  for (int j = threadIdx.x; j < p1 - p0; j += blockDim.x) m = fmaxf(m, p_s[j]);
  m = block_reduce<float, true>(m, scratch);
  float l = 0.0f;
  for (int j = threadIdx.x; j < p1 - p0; j += blockDim.x) {
    const float e = expf(p_s[j] - m);
    p_s[j] = e;
    l += e;
  }
  l = block_reduce<float, false>(l, scratch);  // its barriers also publish p_s

  const int n_splits = attention_splits(s);
  float* part = partial + ((static_cast<int64_t>(t) * s.n_head + h) * n_splits + split) * (hd + 2);
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float acc = 0.0f;
    for (int p = p0; p < p1; ++p) acc += p_s[p - p0] * V[static_cast<int64_t>(p) * hd + d];
    part[2 + d] = acc;
  }
  if (threadIdx.x == 0) {
    part[0] = m;
    part[1] = l;
  }
}

// Block (head, token): out = sum_s exp(m_s - M) acc_s / sum_s exp(m_s - M) l_s over the slices
// that hold positions.
__global__ void attention_combine_kernel(const int* pos0, AttentionShape s, const float* partial,
                                         float* out, int64_t ldo) {
  const int h = blockIdx.x, t = blockIdx.y;
  const int hd = s.head_dim;
  const int n_pos = min(*pos0 + blockIdx.y + 1, s.n_ctx);
  const int n_used = (n_pos + kAttentionSplit - 1) / kAttentionSplit;
  const int n_splits = attention_splits(s);
  const float* part = partial + (static_cast<int64_t>(t) * s.n_head + h) * n_splits * (hd + 2);
  float m = -INFINITY;
  for (int k = 0; k < n_used; ++k) m = fmaxf(m, part[k * (hd + 2)]);
  float l = 0.0f;
  for (int k = 0; k < n_used; ++k) l += part[k * (hd + 2) + 1] * expf(part[k * (hd + 2)] - m);
  const float inv = 1.0f / l;
  float* o = out + t * ldo + h * hd;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float acc = 0.0f;
    for (int k = 0; k < n_used; ++k)
      acc += part[k * (hd + 2) + 2 + d] * expf(part[k * (hd + 2)] - m);
    o[d] = acc * inv;
  }
}

__global__ void causal_softmax_kernel(float* s, int64_t ld, int n_rows, int n_cols,
                                      int first_limit) {
  __shared__ float scratch[32];
  const int t = blockIdx.x, h = blockIdx.y;
  float* row = s + (static_cast<int64_t>(h) * n_rows + t) * ld;
  const int limit = min(first_limit + t, n_cols);
  float m = -INFINITY;
  for (int j = threadIdx.x; j < limit; j += blockDim.x) m = fmaxf(m, row[j]);
  m = block_reduce<float, true>(m, scratch);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < limit; j += blockDim.x) {
    const float e = expf(row[j] - m);
    row[j] = e;
    sum += e;
  }
  sum = block_reduce<float, false>(sum, scratch);
  const float inv = 1.0f / sum;
  for (int j = threadIdx.x; j < n_cols; j += blockDim.x) row[j] = j < limit ? row[j] * inv : 0.0f;
}

}  // namespace

// ---- launchers -------------------------------------------------------------------------------

bool is_quantized(TensorType type) {
  return type == TensorType::Q8_0 || type == TensorType::Q4_0 || type == TensorType::Q4_K ||
         type == TensorType::Q6_K;
}

size_t device_row_stride(TensorType type, int64_t n_in) {
  const size_t bytes = row_size(type, n_in);
  return is_quantized(type) ? bytes : (bytes + 15) / 16 * 16;
}

void embed_rows(const DeviceMatrix& table, const int* tokens, int n_tok, float* out,
                cudaStream_t stream) {
  if (n_tok <= 0) return;
  embed_kernel<<<n_tok, 256, 0, stream>>>(table, tokens, out);
  AGENTRT_CUDA_CHECK_LAUNCH();
}

void swiglu_rows(const float* x, int64_t ldx, int n_tok, int64_t n, float* out,
                 cudaStream_t stream) {
  if (n_tok <= 0 || n <= 0) return;
  swiglu_kernel<<<grid_stride_blocks(n_tok * n, 256), 256, 0, stream>>>(x, ldx, n_tok, n, out);
  AGENTRT_CUDA_CHECK_LAUNCH();
}

void convert_rows(const float* x, int64_t ldx, int n_tok, int64_t n, bool swiglu, bool bf16,
                  void* dst, cudaStream_t stream) {
  if (n_tok <= 0 || n <= 0) return;
  const int blocks = grid_stride_blocks(n_tok * n, 256);
  if (bf16) {
    convert_kernel<true><<<blocks, 256, 0, stream>>>(x, ldx, n_tok, n, swiglu, dst);
  } else {
    convert_kernel<false><<<blocks, 256, 0, stream>>>(x, ldx, n_tok, n, swiglu, dst);
  }
  AGENTRT_CUDA_CHECK_LAUNCH();
}

void dequantize_to_f16(const DeviceMatrix& w, void* dst, cudaStream_t stream) {
  auto* out = static_cast<__half*>(dst);
  auto launch = [&](auto kernel, int unit) {
    const int blocks = grid_stride_blocks(w.n_out * (w.n_in / unit), 256);
    kernel<<<blocks, 256, 0, stream>>>(w, out);
  };
  switch (w.type) {
    case TensorType::Q8_0:
      launch(dequantize_kernel<QuantKind::Q8_0>, QuantTraits<QuantKind::Q8_0>::kUnit);
      break;
    case TensorType::Q4_0:
      launch(dequantize_kernel<QuantKind::Q4_0>, QuantTraits<QuantKind::Q4_0>::kUnit);
      break;
    case TensorType::Q4_K:
      launch(dequantize_kernel<QuantKind::Q4_K>, QuantTraits<QuantKind::Q4_K>::kUnit);
      break;
    case TensorType::Q6_K:
      launch(dequantize_kernel<QuantKind::Q6_K>, QuantTraits<QuantKind::Q6_K>::kUnit);
      break;
    default:
      throw CudaError("dequantize_to_f16: " + std::string(traits(w.type).name) +
                      " is not a quantized type");
  }
  AGENTRT_CUDA_CHECK_LAUNCH();
}

void rms_norm(const float* x, int64_t ldx, const float* weight, int n_tok, int n, float eps,
              float* out, int64_t ldo, cudaStream_t stream) {
  if (n_tok <= 0) return;
  rms_norm_kernel<<<n_tok, n >= 1024 ? 512 : 128, 0, stream>>>(x, ldx, weight, n, eps, out, ldo);
  AGENTRT_CUDA_CHECK_LAUNCH();
}

void rope_store(float* qkv, int64_t ld, int n_tok, const int* pos, float* k_cache, float* v_cache,
                const AttentionShape& shape, float freq_base, float freq_scale,
                cudaStream_t stream) {
  if (n_tok <= 0) return;
  const dim3 grid(static_cast<unsigned>(n_tok),
                  static_cast<unsigned>(shape.n_head + 2 * shape.n_head_kv));
  const int threads = (shape.head_dim / 2 + 31) / 32 * 32;
  rope_store_kernel<<<grid, threads, 0, stream>>>(qkv, ld, pos, k_cache, v_cache, shape, freq_base,
                                                  freq_scale);
  AGENTRT_CUDA_CHECK_LAUNCH();
}

size_t attention_partial_floats(int n_tok, const AttentionShape& shape) {
  return static_cast<size_t>(n_tok) * shape.n_head * attention_splits(shape) * (shape.head_dim + 2);
}

void attention_decode(const float* q, int64_t ldq, int n_tok, const int* pos, const float* k_cache,
                      const float* v_cache, const AttentionShape& shape, float* partial, float* out,
                      int64_t ldo, cudaStream_t stream) {
  if (n_tok <= 0) return;
  const float scale = 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  const dim3 grid(static_cast<unsigned>(attention_splits(shape)),
                  static_cast<unsigned>(shape.n_head), static_cast<unsigned>(n_tok));
  attention_split_kernel<<<grid, kAttentionThreads, 0, stream>>>(q, ldq, pos, k_cache, v_cache,
                                                                 shape, scale, partial);
  AGENTRT_CUDA_CHECK_LAUNCH();
  const dim3 grid2(static_cast<unsigned>(shape.n_head), static_cast<unsigned>(n_tok));
  attention_combine_kernel<<<grid2, kAttentionThreads, 0, stream>>>(pos, shape, partial, out, ldo);
  AGENTRT_CUDA_CHECK_LAUNCH();
}

void causal_softmax(float* s, int64_t ld, int n_rows, int n_head, int n_cols, int first_limit,
                    cudaStream_t stream) {
  if (n_rows <= 0 || n_head <= 0) return;
  const dim3 grid(static_cast<unsigned>(n_rows), static_cast<unsigned>(n_head));
  causal_softmax_kernel<<<grid, 256, 0, stream>>>(s, ld, n_rows, n_cols, first_limit);
  AGENTRT_CUDA_CHECK_LAUNCH();
}

}  // namespace agentrt::engine::cuda
