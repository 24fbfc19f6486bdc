// Matrix-vector products for decode (ops.h: matvec): one warp per weight row, the weights read
// once for up to kMaxMatvecTokens activation vectors, quantized blocks decoded in registers.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda_check.h"
#include "ops.h"
#include "quant_decode.h"

namespace agentrt::engine::cuda {

namespace {

constexpr int kRowsPerBlock = 8;  // warps per block, one row each
constexpr unsigned kFullMask = 0xFFFFFFFFu;

struct MatvecArgs {
  const uint8_t* w;
  int64_t n_in;
  int64_t n_out;
  size_t stride;
  const float* x;
  int64_t ldx;
  int n_tok;
  bool swiglu;
  bool vec_x;  // x rows allow float4 loads (16-byte aligned, n_in and ldx multiples of 4)
  float* y;
  int64_t ldy;
  bool accumulate;
};

__device__ __forceinline__ float silu_mul(float g, float u) {
  return g / (1.0f + expf(-g)) * u;
}

__device__ __forceinline__ float input_at(const MatvecArgs& a, int t, int64_t i) {
  const float* row = a.x + t * a.ldx;
  return a.swiglu ? silu_mul(row[i], row[a.n_in + i]) : row[i];
}

// in_t[i .. i+8) into v; i is a multiple of 8.
__device__ __forceinline__ void input8(const MatvecArgs& a, int t, int64_t i, float* v) {
  const float* row = a.x + t * a.ldx;
  if (a.vec_x) {
    const float4 p = *reinterpret_cast<const float4*>(row + i);
    const float4 q = *reinterpret_cast<const float4*>(row + i + 4);
    v[0] = p.x, v[1] = p.y, v[2] = p.z, v[3] = p.w, v[4] = q.x, v[5] = q.y, v[6] = q.z, v[7] = q.w;
    if (a.swiglu) {
      const float4 r = *reinterpret_cast<const float4*>(row + a.n_in + i);
      const float4 s = *reinterpret_cast<const float4*>(row + a.n_in + i + 4);
      const float u[8] = {r.x, r.y, r.z, r.w, s.x, s.y, s.z, s.w};
#pragma unroll
      for (int j = 0; j < 8; ++j) v[j] = silu_mul(v[j], u[j]);
    }
  } else {
#pragma unroll
    for (int j = 0; j < 8; ++j) v[j] = input_at(a, t, i + j);
  }
}

// Eight weights of a float-type row from one 16-byte load (two for F32); i is a multiple of 8.
template <TensorType T>
__device__ __forceinline__ void weights8(const uint8_t* row, int64_t i, float* w) {
  if constexpr (T == TensorType::F32) {
    const float4 p = reinterpret_cast<const float4*>(row)[i / 4];
    const float4 q = reinterpret_cast<const float4*>(row)[i / 4 + 1];
    w[0] = p.x, w[1] = p.y, w[2] = p.z, w[3] = p.w, w[4] = q.x, w[5] = q.y, w[6] = q.z, w[7] = q.w;
  } else {
    const uint4 p = reinterpret_cast<const uint4*>(row)[i / 8];
    const uint32_t words[4] = {p.x, p.y, p.z, p.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if constexpr (T == TensorType::F16) {
        const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&words[j]));
        w[2 * j] = f.x;
        w[2 * j + 1] = f.y;
      } else {  // BF16: the high halves of float32s
        w[2 * j] = __uint_as_float(words[j] << 16);
        w[2 * j + 1] = __uint_as_float(words[j] & 0xFFFF0000u);
      }
    }
  }
}

template <TensorType T>
__device__ __forceinline__ float weight1(const uint8_t* row, int64_t i) {
  if constexpr (T == TensorType::F32) {
    return reinterpret_cast<const float*>(row)[i];
  } else if constexpr (T == TensorType::F16) {
    return __half2float(reinterpret_cast<const __half*>(row)[i]);
  } else {
    return __uint_as_float(static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(row)[i]) << 16);
  }
}

template <int NT>
__device__ __forceinline__ void finish(const MatvecArgs& a, int64_t r, float* acc) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int t = 0; t < NT; ++t) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) acc[t] += __shfl_xor_sync(kFullMask, acc[t], o);
  }
  if (lane == 0) {
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      if (t < a.n_tok) {
        float* y = a.y + t * a.ldy + r;
        *y = a.accumulate ? *y + acc[t] : acc[t];
      }
    }
  }
}

// F32, F16, BF16 rows: lane j reads elements 8j.. of every 256-element stretch (one coalesced
// 512-byte read per warp for 16-bit types). Rows whose length or alignment does not allow that
// take the element-by-element path.
template <TensorType T, int NT>
__global__ void __launch_bounds__(kRowsPerBlock * 32) matvec_float_kernel(MatvecArgs a) {
  const int64_t r = int64_t{blockIdx.x} * kRowsPerBlock + threadIdx.x / 32;
  if (r >= a.n_out) return;  // whole warps leave together
  const int lane = threadIdx.x % 32;
  const uint8_t* row = a.w + r * a.stride;
  float acc[NT] = {};
  if (a.n_in % 8 == 0) {
#pragma unroll 2
    for (int64_t i = 8 * lane; i < a.n_in; i += 256) {
      float w[8];
      weights8<T>(row, i, w);
#pragma unroll
      for (int t = 0; t < NT; ++t) {
        if (t < a.n_tok) {
          float v[8];
          input8(a, t, i, v);
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[t] += w[j] * v[j];
        }
      }
    }
  } else {
    for (int64_t i = lane; i < a.n_in; i += 32) {
      const float w = weight1<T>(row, i);
#pragma unroll
      for (int t = 0; t < NT; ++t)
        if (t < a.n_tok) acc[t] += w * input_at(a, t, i);
    }
  }
  finish<NT>(a, r, acc);
}

// Quantized rows: lane j decodes units j, j+32, ... (32 or 64 elements each) in registers.
template <QuantKind K, int NT>
__global__ void __launch_bounds__(kRowsPerBlock * 32) matvec_quant_kernel(MatvecArgs a) {
  constexpr int U = QuantTraits<K>::kUnit;
  const int64_t r = int64_t{blockIdx.x} * kRowsPerBlock + threadIdx.x / 32;
  if (r >= a.n_out) return;
  const int lane = threadIdx.x % 32;
  const uint8_t* row = a.w + r * a.stride;
  const int64_t n_units = a.n_in / U;
  float acc[NT] = {};
  for (int64_t u = lane; u < n_units; u += 32) {
    float w[U];
    decode_unit<K>(row, u, w);
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      if (t < a.n_tok) {
        float s = 0.0f;
#pragma unroll
        for (int j = 0; j < U; j += 8) {
          float v[8];
          input8(a, t, u * U + j, v);
#pragma unroll
          for (int k = 0; k < 8; ++k) s += w[j + k] * v[k];
        }
        acc[t] += s;
      }
    }
  }
  finish<NT>(a, r, acc);
}

template <int NT>
void launch(const DeviceMatrix& w, const MatvecArgs& a, cudaStream_t stream) {
  const auto blocks = static_cast<unsigned>((w.n_out + kRowsPerBlock - 1) / kRowsPerBlock);
  const unsigned threads = kRowsPerBlock * 32;
  switch (w.type) {
    case TensorType::F32:
      matvec_float_kernel<TensorType::F32, NT><<<blocks, threads, 0, stream>>>(a);
      break;
    case TensorType::F16:
      matvec_float_kernel<TensorType::F16, NT><<<blocks, threads, 0, stream>>>(a);
      break;
    case TensorType::BF16:
      matvec_float_kernel<TensorType::BF16, NT><<<blocks, threads, 0, stream>>>(a);
      break;
    case TensorType::Q8_0:
      matvec_quant_kernel<QuantKind::Q8_0, NT><<<blocks, threads, 0, stream>>>(a);
      break;
    case TensorType::Q4_0:
      matvec_quant_kernel<QuantKind::Q4_0, NT><<<blocks, threads, 0, stream>>>(a);
      break;
    case TensorType::Q4_K:
      matvec_quant_kernel<QuantKind::Q4_K, NT><<<blocks, threads, 0, stream>>>(a);
      break;
    case TensorType::Q6_K:
      matvec_quant_kernel<QuantKind::Q6_K, NT><<<blocks, threads, 0, stream>>>(a);
      break;
    case TensorType::Q5_0:  // never uploaded: cuda_unsupported_reason keeps such models on the CPU
      return;
  }
  AGENTRT_CUDA_CHECK_LAUNCH();
}

}  // namespace

void matvec(const DeviceMatrix& w, const float* x, int64_t ldx, int n_tok, bool swiglu, float* y,
            int64_t ldy, bool accumulate, cudaStream_t stream) {
  if (n_tok <= 0 || w.n_out <= 0) return;
  if (n_tok > kMaxMatvecTokens)
    throw CudaError("matvec: " + std::to_string(n_tok) + " tokens, at most " +
                    std::to_string(kMaxMatvecTokens));
  MatvecArgs a{};
  a.w = static_cast<const uint8_t*>(w.data);
  a.n_in = w.n_in;
  a.n_out = w.n_out;
  a.stride = w.stride;
  a.x = x;
  a.ldx = ldx;
  a.n_tok = n_tok;
  a.swiglu = swiglu;
  a.vec_x = reinterpret_cast<uintptr_t>(x) % 16 == 0 && ldx % 4 == 0 && w.n_in % 8 == 0;
  a.y = y;
  a.ldy = ldy;
  a.accumulate = accumulate;
  if (n_tok == 1) return launch<1>(w, a, stream);
  if (n_tok == 2) return launch<2>(w, a, stream);
  if (n_tok <= 4) return launch<4>(w, a, stream);
  return launch<8>(w, a, stream);
}

}  // namespace agentrt::engine::cuda
