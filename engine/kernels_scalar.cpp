// The reference kernels: plain loops over the block layouts of tensor_type.cpp, integer sums
// for quantized weights, float64 sums for float ones. The SIMD variants must agree with these up to
// float summation order.
#include <cmath>
#include <cstring>

#include "agentrt/engine/tensor_type.h"
#include "cpu_gemm.h"

namespace agentrt::engine::cpu {

namespace {

float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return fp16_to_fp32(h);
}

// x ≈ d * q with d = amax / 127, q = round-to-nearest-even(x * 127 / amax).
void quantize_block(const float* x, int8_t* q, int n, float* d) {
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  *d = amax / 127.0f;
  const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
  for (int i = 0; i < n; ++i) q[i] = static_cast<int8_t>(std::nearbyint(x[i] * id));
}

void quantize_q8(const float* x, uint8_t* dst, int64_t n) {
  auto* q = reinterpret_cast<int8_t*>(dst);
  float* d = reinterpret_cast<float*>(dst + n);
  auto* sums = reinterpret_cast<int32_t*>(dst + n + n / 32 * 4);
  for (int64_t b = 0; b < n / 32; ++b) {
    quantize_block(x + 32 * b, q + 32 * b, 32, d + b);
    int32_t sum = 0;
    for (int i = 0; i < 32; ++i) sum += q[32 * b + i];
    sums[b] = sum;
  }
}

void quantize_q8_k(const float* x, uint8_t* dst, int64_t n) {
  auto* blocks = reinterpret_cast<BlockQ8K*>(dst);
  for (int64_t b = 0; b < n / 256; ++b) {
    BlockQ8K& blk = blocks[b];
    quantize_block(x + 256 * b, blk.q, 256, &blk.d);
    for (int j = 0; j < 16; ++j) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += blk.q[16 * j + i];
      blk.bsums[j] = static_cast<int16_t>(s);
    }
  }
}

// Blocks of 32 weights. Q8_0: f16 d, 32 int8. Q4_0: f16 d, 16 bytes (element i in the low nibble
// of byte i, element 16 + i in its high nibble), value d * (nibble - 8). Q5_0: f16 d, a
// little-endian 32-bit word whose bit i is element i's fifth bit, then Q4_0's 16 bytes; value
// d * (nibble + 16 * bit - 16).
enum class Q32 { q8_0, q4_0, q5_0 };

template <Q32 kType>
int q32_weight(const uint8_t* block, int i) {
  if constexpr (kType == Q32::q8_0) return static_cast<int8_t>(block[2 + i]);
  const uint8_t* qs = block + (kType == Q32::q5_0 ? 6 : 2);
  const int nibble = (qs[i % 16] >> (i < 16 ? 0 : 4)) & 0xF;
  if constexpr (kType == Q32::q4_0) return nibble - 8;
  const uint32_t qh =
      block[2] | uint32_t{block[3]} << 8 | uint32_t{block[4]} << 16 | uint32_t{block[5]} << 24;
  return nibble + static_cast<int>((qh >> i) & 1) * 16 - 16;
}

template <Q32 kType>
float dot_q_32(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* xq = reinterpret_cast<const int8_t*>(x);
  const auto* xd = reinterpret_cast<const float*>(x + n);
  constexpr int kBlock = kType == Q32::q8_0 ? 34 : kType == Q32::q4_0 ? 18 : 22;
  float sum = 0.0f;
  for (int64_t b = 0; b < n / 32; ++b, row += kBlock) {
    const int8_t* xb = xq + 32 * b;
    int s = 0;
    for (int i = 0; i < 32; ++i) s += q32_weight<kType>(row, i) * xb[i];
    sum += f16_at(row) * xd[b] * static_cast<float>(s);
  }
  return sum;
}

// Q4_K: 6-bit scale and min of sub-block j (8 of 32 per super-block), packed in 12 bytes.
void q4_k_scale_min(const uint8_t* s, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q4_K super-block (144 bytes): f16 d, f16 dmin, 12 scale bytes, 128 bytes of nibbles; element
// 64c + l (l < 32) is the low nibble of q[32c + l], 64c + 32 + l its high nibble; value
// d * sc * q - dmin * m.
float dot_q4_k(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* xb = reinterpret_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t s = 0; s < n / 256; ++s, row += 144) {
    const BlockQ8K& a = xb[s];
    int sumi = 0, summ = 0;
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      q4_k_scale_min(row + 4, j, &sc, &m);
      const uint8_t* q = row + 16 + 32 * (j / 2);
      int dot = 0;
      for (int l = 0; l < 32; ++l) dot += ((q[l] >> (4 * (j % 2))) & 0xF) * a.q[32 * j + l];
      sumi += sc * dot;
      summ += m * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
    }
    sum +=
        a.d * (f16_at(row) * static_cast<float>(sumi) - f16_at(row + 2) * static_cast<float>(summ));
  }
  return sum;
}

// Q6_K super-block (210 bytes): ql[128], qh[64], int8 scales[16], f16 d. Element 128h + 32k + l
// takes its low 4 bits from ql[64h + 32(k&1) + l] (nibble k/2) and its high 2 bits from
// qh[32h + l] >> 2k; value d * scales[e / 16] * (q - 32).
float dot_q6_k(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* xb = reinterpret_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t s = 0; s < n / 256; ++s, row += 210) {
    const BlockQ8K& a = xb[s];
    const uint8_t* ql = row;
    const uint8_t* qh = row + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(row + 192);
    int sumi = 0;
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, k = (e % 128) / 32, l = e % 32;
      const int lo = (ql[64 * h + 32 * (k & 1) + l] >> (4 * (k / 2))) & 0xF;
      const int hi = (qh[32 * h + l] >> (2 * k)) & 3;
      sumi += sc[e / 16] * ((lo | (hi << 4)) - 32) * a.q[e];
    }
    sum += f16_at(row + 208) * a.d * static_cast<float>(sumi);
  }
  return sum;
}

float dot_f16(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* xf = reinterpret_cast<const float*>(x);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(f16_at(row + 2 * i)) * xf[i];
  return static_cast<float>(sum);
}

float dot_bf16(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* xf = reinterpret_cast<const float*>(x);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, sizeof h);
    sum += static_cast<double>(bf16_to_fp32(h)) * xf[i];
  }
  return static_cast<float>(sum);
}

float dot_f32(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* w = reinterpret_cast<const float*>(row);
  const auto* xf = reinterpret_cast<const float*>(x);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(w[i]) * xf[i];
  return static_cast<float>(sum);
}

template <float (*kDot)(const uint8_t*, const uint8_t*, int64_t)>
void gemm(const uint8_t* w, size_t row_bytes, int64_t n_rows, const uint8_t* x, size_t x_stride,
          int n_tok, int64_t n_in, float* y, int64_t ldy) {
  for (int t = 0; t < n_tok; ++t)
    for (int64_t r = 0; r < n_rows; ++r)
      y[t * ldy + r] = kDot(w + r * row_bytes, x + t * x_stride, n_in);
}

// Q4_K packed in groups of 16 rows (r16, cpu_gemm.h), read in place.
float dot_q4_k_r16(const uint8_t* group, int r, const uint8_t* x, int64_t n) {
  const auto* xb = reinterpret_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t s = 0; s < n / 256; ++s) {
    const uint8_t* o = group + s * kQ4kR16Block;
    const BlockQ8K& a = xb[s];
    int sumi = 0, summ = 0;
    for (int j = 0; j < 8; ++j) {
      const int i = j / 2, lo_sc = o[64 + 16 * i + r], lo_m = o[128 + 16 * i + r],
                hi = o[192 + 16 * i + r];
      const int sc = j % 2 == 0 ? (lo_sc & 0xF) | (hi & 3) << 4 : lo_sc >> 4 | ((hi >> 4) & 3) << 4;
      const int m = j % 2 == 0 ? (lo_m & 0xF) | ((hi >> 2) & 3) << 4 : lo_m >> 4 | (hi >> 6) << 4;
      int dot = 0;
      for (int g = 0; g < 4; ++g)
        for (int k = 0; k < 4; ++k) {
          const uint8_t v = o[256 + 256 * j + 64 * g + 4 * r + k];
          dot += (v & 0xF) * a.q[32 * j + 8 * g + k] + (v >> 4) * a.q[32 * j + 8 * g + 4 + k];
        }
      sumi += sc * dot;
      summ += m * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
    }
    sum += a.d * (f16_at(o + 2 * r) * static_cast<float>(sumi) -
                  f16_at(o + 32 + 2 * r) * static_cast<float>(summ));
  }
  return sum;
}

// Q6_K packed in groups of 16 rows (r16, cpu_gemm.h), read in place.
float dot_q6_k_r16(const uint8_t* group, int r, const uint8_t* x, int64_t n) {
  const auto* xb = reinterpret_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t s = 0; s < n / 256; ++s) {
    const uint8_t* o = group + s * kQ6kR16Block;
    const BlockQ8K& a = xb[s];
    int sumi = 0;
    for (int j16 = 0; j16 < 16; ++j16) {
      const int j = j16 / 2, h = j16 % 2;
      int dot = 0;
      for (int i = 0; i < 4; ++i)  // weights 32j + 16h + 8(i / 2) + 4(i % 2) + k
        for (int k = 0; k < 4; ++k) {
          const int g = 2 * h + i / 2;
          const int lo = (o[288 + 256 * j + 64 * g + 4 * r + k] >> (4 * (i % 2))) & 0xF;
          const int hi = (o[2336 + 128 * j + 64 * h + 4 * r + k] >> (2 * i)) & 3;
          dot += ((lo | hi << 4) - 32) * a.q[32 * j + 16 * h + 8 * (i / 2) + 4 * (i % 2) + k];
        }
      sumi += static_cast<int8_t>(o[32 + 16 * j16 + r]) * dot;
    }
    sum += a.d * f16_at(o + 2 * r) * static_cast<float>(sumi);
  }
  return sum;
}

// Q8_0, Q4_0, Q5_0 packed in groups of 16 rows (r16, cpu_gemm.h), read in place.
template <Q32 kType>
float dot_q32_r16(const uint8_t* group, int r, const uint8_t* x, int64_t n) {
  constexpr size_t kBlock = kType == Q32::q8_0 ? 544 : kType == Q32::q4_0 ? 288 : 352;
  const auto* xq = reinterpret_cast<const int8_t*>(x);
  const auto* xd = reinterpret_cast<const float*>(x + n);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* o = group + b * kBlock;
    int dot = 0;
    for (int k = 0; k < 32; ++k) {
      int w;
      if constexpr (kType == Q32::q8_0) {
        w = o[32 + 64 * (k / 4) + 4 * r + k % 4] - 128;
      } else {
        const int g = k / 8, half = (k % 8) / 4, i = k % 4;
        const uint8_t* nib = o + (kType == Q32::q5_0 ? 96 : 32);
        w = (nib[64 * g + 4 * r + i] >> (4 * half)) & 0xF;
        if constexpr (kType == Q32::q5_0) {
          w |= ((o[32 + 4 * r + i] >> (2 * g + half)) & 1) << 4;
          w -= 16;
        } else {
          w -= 8;
        }
      }
      dot += w * xq[32 * b + k];
    }
    sum += f16_at(o + 2 * r) * xd[b] * static_cast<float>(dot);
  }
  return sum;
}

// F16, BF16, F32 packed in groups of 16 rows (r16, cpu_gemm.h), read in place; float64 sums as
// the row products.
template <WeightKind kKind>
float dot_float_r16(const uint8_t* group, int r, const uint8_t* x, int64_t n) {
  const auto* xf = reinterpret_cast<const float*>(x);
  double sum = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    float w;
    if constexpr (kKind == WeightKind::f32) {
      std::memcpy(&w, group + 4 * (kR16Rows * k + r), 4);
    } else {
      const uint8_t* p = group + 2 * (kR16Rows * k + r);
      if constexpr (kKind == WeightKind::f16) {
        w = f16_at(p);
      } else {
        uint16_t h;
        std::memcpy(&h, p, 2);
        w = bf16_to_fp32(h);
      }
    }
    sum += static_cast<double>(w) * xf[k];
  }
  return static_cast<float>(sum);
}

template <float (*kDot)(const uint8_t*, int, const uint8_t*, int64_t)>
void gemm_r16(const uint8_t* w, size_t row_bytes, int64_t n_rows, const uint8_t* x, size_t x_stride,
              int n_tok, int64_t n_in, float* y, int64_t ldy) {
  for (int t = 0; t < n_tok; ++t)
    for (int64_t r = 0; r < n_rows; ++r)
      y[t * ldy + r] = kDot(w + r / kR16Rows * kR16Rows * row_bytes, static_cast<int>(r % kR16Rows),
                            x + t * x_stride, n_in);
}

void swiglu(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// GELU's tanh form as x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3): the same function as
// 0.5 x (1 + tanh(u)) without the cancellation in 1 + tanh(u) for negative x.
void geglu_tanh(float* gate, const float* up, int64_t n) {
  constexpr float kC1 = 2.0f * 0.79788456080286535588f, kC3 = kC1 * 0.044715f;
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    gate[i] = x / (1.0f + std::exp(-x * (kC1 + kC3 * x * x))) * up[i];
  }
}

float exp_sum(float* x, int64_t n, float max) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  return sum;
}

inline float kv_at(const uint16_t* p, int64_t i) {
  return fp16_to_fp32(p[i]);
}
inline float kv_at(const float* p, int64_t i) {
  return p[i];
}

// Float64 sums, positions and dimensions in order.
template <class E>
void attn_scores(const float* q, int64_t qs, int n_q, const void* kt_, int64_t ld, int hd, int n_p,
                 float scale, float* s, int64_t ss) {
  const E* kt = static_cast<const E*>(kt_);
  for (int t = 0; t < n_q; ++t)
    for (int j = 0; j < n_p; ++j) {
      double sum = 0.0;
      for (int i = 0; i < hd; ++i)
        sum += static_cast<double>(q[t * qs + i]) * kv_at(kt, i * ld + j);
      s[t * ss + j] = static_cast<float>(sum) * scale;
    }
}

template <class E>
void attn_values(const float* a, int64_t as, int n_q, const void* v_, int64_t vs, int hd, int n_p,
                 float* out, int64_t os) {
  const E* v = static_cast<const E*>(v_);
  for (int t = 0; t < n_q; ++t)
    for (int i = 0; i < hd; ++i) {
      double sum = 0.0;
      for (int j = 0; j < n_p; ++j)
        sum += static_cast<double>(a[t * as + j]) * kv_at(v, j * vs + i);
      out[t * os + i] = static_cast<float>(sum);
    }
}

void to_f16(const float* x, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(x[i]);
}

const Kernels kScalar = {
    "scalar",
    quantize_q8,
    quantize_q8_k,
    {gemm<dot_q_32<Q32::q8_0>>, gemm<dot_q_32<Q32::q4_0>>, gemm<dot_q_32<Q32::q5_0>>,
     gemm<dot_q4_k>, gemm<dot_q6_k>, gemm<dot_f16>, gemm<dot_bf16>, gemm<dot_f32>,
     gemm_r16<dot_q4_k_r16>, gemm_r16<dot_q32_r16<Q32::q8_0>>, gemm_r16<dot_q32_r16<Q32::q4_0>>,
     gemm_r16<dot_q32_r16<Q32::q5_0>>, gemm_r16<dot_q6_k_r16>,
     gemm_r16<dot_float_r16<WeightKind::f16>>, gemm_r16<dot_float_r16<WeightKind::bf16>>,
     gemm_r16<dot_float_r16<WeightKind::f32>>},
    swiglu,
    geglu_tanh,
    exp_sum,
    {attn_scores<uint16_t>, attn_scores<float>},
    {attn_values<uint16_t>, attn_values<float>},
    to_f16,
};

}  // namespace

const Kernels& kernels_scalar() {
  return kScalar;
}

}  // namespace agentrt::engine::cpu
