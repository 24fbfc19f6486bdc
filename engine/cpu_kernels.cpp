#include "cpu_kernels.h"

#include <cmath>
#include <cstring>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace agentrt::engine::cpu {

float dot_f32(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  float sum = 0.0f;
#if defined(__AVX512F__)
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16)
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  // Horizontal sum through memory: GCC 12's _mm512_reduce_add_ps warns falsely (-Wuninitialized).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(acc0, acc1));
  for (float v : lanes) sum += v;
#elif defined(__AVX2__) && defined(__FMA__)
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  sum = _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
#else
  float acc[8] = {};
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  for (float v : acc) sum += v;
#endif
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

namespace {

#if defined(__AVX512F__) && defined(__F16C__)
#define AGENTRT_FUSED_DOT 1
// GCC 12 warns falsely inside its own AVX-512 conversion intrinsics (their "undefined" source
// operand); the warning says nothing about this code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

float hsum(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float sum = 0.0f;
  for (float f : lanes) sum += f;
  return sum;
}

float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return _cvtsh_ss(h);
}

// F16 row: n IEEE halves, widened 16 at a time by F16C.
float dot_f16(const uint8_t* row, const float* x, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i));
    acc = _mm512_fmadd_ps(_mm512_cvtph_ps(h), _mm512_loadu_ps(x + i), acc);
  }
  float sum = hsum(acc);
  for (; i < n; ++i) sum += half_at(row + 2 * i) * x[i];
  return sum;
}

// BF16 row: n bfloat16 values, the high halves of float32s.
float dot_bf16(const uint8_t* row, const float* x, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i));
    const __m512 w = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    acc = _mm512_fmadd_ps(w, _mm512_loadu_ps(x + i), acc);
  }
  float sum = hsum(acc);
  for (; i < n; ++i) {
    uint16_t b;
    std::memcpy(&b, row + 2 * i, sizeof b);
    const uint32_t bits = uint32_t{b} << 16;
    float w;
    std::memcpy(&w, &bits, sizeof w);
    sum += w * x[i];
  }
  return sum;
}

// Q8_0 block: f16 scale d, then 32 int8 q; value = d * q.
float dot_q8_0(const uint8_t* row, const float* x, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 32, row += 34, x += 32) {
    const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2));
    const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 18));
    __m512 s = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)), _mm512_loadu_ps(x));
    s = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1)), _mm512_loadu_ps(x + 16), s);
    acc = _mm512_fmadd_ps(_mm512_set1_ps(half_at(row)), s, acc);
  }
  return hsum(acc);
}

// Q4_0 block: f16 scale d, then 16 bytes; low nibbles are elements 0..15, high nibbles 16..31;
// value = d * (nibble - 8).
float dot_q4_0(const uint8_t* row, const float* x, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  const __m512i mask = _mm512_set1_epi32(0xF), eight = _mm512_set1_epi32(8);
  for (int64_t i = 0; i < n; i += 32, row += 18, x += 32) {
    const __m512i q =
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2)));
    const __m512i lo = _mm512_sub_epi32(_mm512_and_si512(q, mask), eight);
    const __m512i hi = _mm512_sub_epi32(_mm512_srli_epi32(q, 4), eight);
    __m512 s = _mm512_mul_ps(_mm512_cvtepi32_ps(lo), _mm512_loadu_ps(x));
    s = _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi), _mm512_loadu_ps(x + 16), s);
    acc = _mm512_fmadd_ps(_mm512_set1_ps(half_at(row)), s, acc);
  }
  return hsum(acc);
}

__m512 bytes_to_ps(__m512i v) {
  return _mm512_cvtepi32_ps(v);
}
__m512i load_u8x16(const uint8_t* p) {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Q4_K super-block of 256 (layout in tensor_type.cpp): x = (d*sc)*q - dmin*m per sub-block of 32,
// so a sub-block contributes d*sc * sum(q*x) - dmin*m * sum(x).
float dot_q4_k(const uint8_t* row, const float* x, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  const __m512i mask = _mm512_set1_epi32(0xF);
  for (int64_t i = 0; i < n; i += 256, row += 144, x += 256) {
    const float d = half_at(row), dmin = half_at(row + 2);
    const uint8_t* s = row + 4;
    for (int c = 0; c < 4; ++c) {
      uint8_t sc[2], m[2];
      for (int h = 0; h < 2; ++h) {
        const int j = 2 * c + h;
        sc[h] =
            j < 4 ? s[j] & 63 : static_cast<uint8_t>((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
        m[h] = j < 4 ? s[j + 4] & 63 : static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
      }
      const uint8_t* q = row + 16 + 32 * c;
      const float* xs = x + 64 * c;
      const __m512i q0 = load_u8x16(q), q1 = load_u8x16(q + 16);
      const __m512 x0 = _mm512_loadu_ps(xs), x1 = _mm512_loadu_ps(xs + 16);
      const __m512 x2 = _mm512_loadu_ps(xs + 32), x3 = _mm512_loadu_ps(xs + 48);
      __m512 lo = _mm512_mul_ps(bytes_to_ps(_mm512_and_si512(q0, mask)), x0);
      lo = _mm512_fmadd_ps(bytes_to_ps(_mm512_and_si512(q1, mask)), x1, lo);
      __m512 hi = _mm512_mul_ps(bytes_to_ps(_mm512_srli_epi32(q0, 4)), x2);
      hi = _mm512_fmadd_ps(bytes_to_ps(_mm512_srli_epi32(q1, 4)), x3, hi);
      acc = _mm512_fmadd_ps(_mm512_set1_ps(d * sc[0]), lo, acc);
      acc = _mm512_fmadd_ps(_mm512_set1_ps(d * sc[1]), hi, acc);
      acc = _mm512_fmadd_ps(_mm512_set1_ps(-dmin * m[0]), _mm512_add_ps(x0, x1), acc);
      acc = _mm512_fmadd_ps(_mm512_set1_ps(-dmin * m[1]), _mm512_add_ps(x2, x3), acc);
    }
  }
  return hsum(acc);
}

// Q6_K super-block of 256 (layout in tensor_type.cpp): element 128h + 32k + l has low bits from
// ql[64h + l + 32(k&1)] (nibble k/2) and high bits from qh[32h + l] >> 2k; x = d*sc*(q - 32)
// with one int8 scale per 16 elements.
float dot_q6_k(const uint8_t* row, const float* x, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi32(0xF), low2 = _mm512_set1_epi32(3);
  const __m512i bias = _mm512_set1_epi32(32);
  for (int64_t i = 0; i < n; i += 256, row += 210, x += 256) {
    const uint8_t* ql = row;
    const uint8_t* qh = row + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(row + 192);
    const float d = half_at(row + 208);
    for (int h = 0; h < 2; ++h) {
      for (int g = 0; g < 2; ++g) {
        const __m512i low[2] = {load_u8x16(ql + 64 * h + 16 * g),
                                load_u8x16(ql + 64 * h + 32 + 16 * g)};
        const __m512i high = load_u8x16(qh + 32 * h + 16 * g);
        for (int k = 0; k < 4; ++k) {
          const __m512i lo_bits =
              _mm512_and_si512(_mm512_srli_epi32(low[k % 2], 4 * (k / 2)), low4);
          const __m512i hi_bits =
              _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(high, 2 * k), low2), 4);
          const __m512i q = _mm512_sub_epi32(_mm512_or_si512(lo_bits, hi_bits), bias);
          const __m512 prod =
              _mm512_mul_ps(bytes_to_ps(q), _mm512_loadu_ps(x + 128 * h + 32 * k + 16 * g));
          acc = _mm512_fmadd_ps(_mm512_set1_ps(d * sc[8 * h + 2 * k + g]), prod, acc);
        }
      }
    }
  }
  return hsum(acc);
}
#pragma GCC diagnostic pop
#endif

// Batches up to this size read F16, BF16 and quantized rows directly (fused dot products); larger
// ones expand each row once and reuse it for every token.
constexpr int kFusedMaxTokens = 4;

}  // namespace

void matmul(const WeightView& w, const float* x, float* y, int n_tok, ThreadPool& pool) {
  const int64_t n_in = w.n_in, n_out = w.n_out;
#ifdef AGENTRT_FUSED_DOT
  float (*fused)(const uint8_t*, const float*, int64_t) = nullptr;
  if (n_tok <= kFusedMaxTokens) {
    if (w.type == TensorType::F16) fused = dot_f16;
    if (w.type == TensorType::BF16) fused = dot_bf16;
    if (w.type == TensorType::Q8_0) fused = dot_q8_0;
    if (w.type == TensorType::Q4_0) fused = dot_q4_0;
    if (w.type == TensorType::Q4_K) fused = dot_q4_k;
    if (w.type == TensorType::Q6_K) fused = dot_q6_k;
  }
  if (fused) {
    pool.run(
        [&](int ith, int nth) {
          const auto [r0, r1] = ThreadPool::split(n_out, ith, nth);
          for (int64_t r = r0; r < r1; ++r) {
            const auto* row = static_cast<const uint8_t*>(w.row(r));
            for (int t = 0; t < n_tok; ++t) y[t * n_out + r] = fused(row, x + t * n_in, n_in);
          }
        },
        n_in * n_out * n_tok);
    return;
  }
#endif
  pool.run(
      [&](int ith, int nth) {
        const auto [r0, r1] = ThreadPool::split(n_out, ith, nth);
        thread_local std::vector<float> row_f32;  // (n_in) the current row, expanded
        if (w.type != TensorType::F32 && static_cast<int64_t>(row_f32.size()) < n_in)
          row_f32.resize(static_cast<size_t>(n_in));
        for (int64_t r = r0; r < r1; ++r) {
          const float* row;
          if (w.type == TensorType::F32) {
            row = static_cast<const float*>(w.row(r));
          } else {
            dequantize_row(w.type, w.row(r), row_f32.data(), n_in);
            row = row_f32.data();
          }
          for (int t = 0; t < n_tok; ++t) y[t * n_out + r] = dot_f32(row, x + t * n_in, n_in);
        }
      },
      n_in * n_out * n_tok);
}

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void rope(float* v, int n_head, int head_dim, int pos, float freq_base, float freq_scale) {
  const double p = static_cast<double>(pos) * freq_scale;
  for (int i = 0; i < head_dim / 2; ++i) {
    const double theta = p * std::pow(static_cast<double>(freq_base), -2.0 * i / head_dim);
    const float c = static_cast<float>(std::cos(theta)), s = static_cast<float>(std::sin(theta));
    for (int h = 0; h < n_head; ++h) {
      float* pair = v + h * head_dim + 2 * i;
      const float x0 = pair[0], x1 = pair[1];
      pair[0] = x0 * c - x1 * s;
      pair[1] = x0 * s + x1 * c;
    }
  }
}

void rope_halves(float* v, int n_head, int head_dim, int pos, float freq_base, float freq_scale) {
  const double p = static_cast<double>(pos) * freq_scale;
  const int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    const double theta = p * std::pow(static_cast<double>(freq_base), -2.0 * i / head_dim);
    const float c = static_cast<float>(std::cos(theta)), s = static_cast<float>(std::sin(theta));
    for (int h = 0; h < n_head; ++h) {
      float* head = v + h * head_dim;
      const float x0 = head[i], x1 = head[i + half];
      head[i] = x0 * c - x1 * s;
      head[i + half] = x0 * s + x1 * c;
    }
  }
}

void softmax(float* x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void geglu_tanh(float* gate, const float* up, int64_t n) {
  constexpr float kSqrt2OverPi = 0.79788456080286535588f;
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    gate[i] = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + 0.044715f * x * x))) * up[i];
  }
}

}  // namespace agentrt::engine::cpu
