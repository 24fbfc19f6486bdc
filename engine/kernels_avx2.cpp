// AVX2 kernels (with FMA and F16C), compiled with those target flags and used when the CPU has
// them but not AVX-512 VNNI. One (row, token) dot product at a time: vpmaddubsw needs an unsigned
// operand, so Q8_0 uses |w| and the activation with w's sign.
#include "cpu_gemm.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cstring>

namespace agentrt::engine::cpu {

namespace {

inline float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return _cvtsh_ss(h);
}

inline float hsum(__m256 v) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

inline int hsum_i32(__m256i v) {
  const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i s2 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
  return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xB1)));
}

// ---- activations (same arithmetic as the scalar quantizer) --------------------------------------

inline void quantize_block(const float* x, int8_t* q, int n, float* d) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8)
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const float amax = _mm_cvtss_f32(m4);
  *d = amax / 127.0f;
  const __m256 id = _mm256_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
  for (int i = 0; i < n; i += 32) {
    __m256i v[4];
    for (int j = 0; j < 4; ++j)
      v[j] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), id));
    // Pack 32 int32 to int8 (saturating), then undo the packs' lane interleave.
    const __m256i p16a = _mm256_packs_epi32(v[0], v[1]), p16b = _mm256_packs_epi32(v[2], v[3]);
    const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), _mm256_permutevar8x32_epi32(p8, order));
  }
}

void quantize_q8(const float* x, uint8_t* dst, int64_t n) {
  auto* q = reinterpret_cast<int8_t*>(dst);
  float* d = reinterpret_cast<float*>(dst + n);
  auto* sums = reinterpret_cast<int32_t*>(dst + n + n / 32 * 4);
  for (int64_t b = 0; b < n / 32; ++b) {
    quantize_block(x + 32 * b, q + 32 * b, 32, d + b);
    const __m256i pairs = _mm256_maddubs_epi16(
        _mm256_set1_epi8(1), _mm256_loadu_si256(reinterpret_cast<__m256i*>(q + 32 * b)));
    const __m256i v = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));  // 8 int32
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    sums[b] = _mm_cvtsi128_si32(_mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1)));
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

// ---- dot products -------------------------------------------------------------------------------

// Each dot product asks for the cache lines about 1 KB ahead of the block it reads (rows are
// contiguous, so past a row's end that is the next row): one core's hardware prefetcher alone
// leaves much of its memory bandwidth unused when a product streams weights (see
// kernels_avx512.cpp). Prefetches never fault.
constexpr int kPrefetchAhead = 1024;

template <int kBytes>
inline void prefetch_ahead(const uint8_t* p) {
  for (int i = 0; i < kBytes; i += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchAhead + i), _MM_HINT_T0);
}

inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

float dot_q8_0(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* xd = reinterpret_cast<const float*>(x + n);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b, row += 34) {
    if (b % 2 == 0) prefetch_ahead<68>(row);
    const __m256i w = load256(row + 2), a = load256(x + 32 * b);
    const __m256i p = _mm256_madd_epi16(
        _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w)), ones);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(f16_at(row) * xd[b]), acc);
  }
  return hsum(acc);
}

// Q4_0 and Q5_0: a block's 32 nibbles (elements 0..15 low, 16..31 high) as unsigned weights;
// Q5_0 adds 16 where bit i of the 32-bit word at row + 2 is set (its nibbles start at row + 6):
// the word is broadcast and each byte lane i tests its own bit. The offset (8 or 16) times the
// activations is subtracted.
template <bool kQ5>
float dot_q4_q5(const uint8_t* row, const uint8_t* x, int64_t n) {
  constexpr int kBlock = kQ5 ? 22 : 18, kNibbles = kQ5 ? 6 : 2;
  const auto* xd = reinterpret_cast<const float*>(x + n);
  const __m256i ones = _mm256_set1_epi16(1), low4 = _mm256_set1_epi8(0x0F);
  const __m256i offset = _mm256_set1_epi8(kQ5 ? 16 : 8);
  // Byte lane i selects byte i / 8 of the word and tests bit i % 8 of it.
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                          2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b, row += kBlock) {
    if (b % 4 == 0) prefetch_ahead<4 * kBlock>(row);
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + kNibbles));
    __m256i w = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), low4);  // 0..15
    if constexpr (kQ5) {
      uint32_t qh;
      std::memcpy(&qh, row + 2, 4);
      const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), spread);
      w = _mm256_or_si256(
          w, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit), offset));
    }
    const __m256i a = load256(x + 32 * b);
    const __m256i p16 =
        _mm256_sub_epi16(_mm256_maddubs_epi16(w, a), _mm256_maddubs_epi16(offset, a));
    const __m256i p = _mm256_madd_epi16(p16, ones);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(f16_at(row) * xd[b]), acc);
  }
  return hsum(acc);
}

void q4_k_scale_min(const uint8_t* s, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

float dot_q4_k(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* xb = reinterpret_cast<const BlockQ8K*>(x);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  float sum = 0.0f;
  for (int64_t s = 0; s < n / 256; ++s, row += 144) {
    prefetch_ahead<144>(row);
    const BlockQ8K& a = xb[s];
    __m256i isum = _mm256_setzero_si256();
    int summ = 0;
    for (int c = 0; c < 4; ++c) {
      int sc0, m0, sc1, m1;
      q4_k_scale_min(row + 4, 2 * c, &sc0, &m0);
      q4_k_scale_min(row + 4, 2 * c + 1, &sc1, &m1);
      const __m256i q = load256(row + 16 + 32 * c);
      const __m256i lo = _mm256_and_si256(q, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      isum =
          _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(a.q + 64 * c)),
                                                   _mm256_set1_epi16(static_cast<int16_t>(sc0))));
      isum = _mm256_add_epi32(
          isum, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(a.q + 64 * c + 32)),
                                  _mm256_set1_epi16(static_cast<int16_t>(sc1))));
      summ += m0 * (a.bsums[4 * c] + a.bsums[4 * c + 1]) +
              m1 * (a.bsums[4 * c + 2] + a.bsums[4 * c + 3]);
    }
    sum += a.d * (f16_at(row) * static_cast<float>(hsum_i32(isum)) -
                  f16_at(row + 2) * static_cast<float>(summ));
  }
  return sum;
}

float dot_q6_k(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* xb = reinterpret_cast<const BlockQ8K*>(x);
  const __m256i low4 = _mm256_set1_epi8(0x0F), low2 = _mm256_set1_epi8(3);
  float sum = 0.0f;
  for (int64_t s = 0; s < n / 256; ++s, row += 210) {
    prefetch_ahead<210>(row);
    const BlockQ8K& a = xb[s];
    const auto* sc = reinterpret_cast<const int8_t*>(row + 192);
    __m256i isum = _mm256_setzero_si256();
    int offset = 0;
    for (int j = 0; j < 16; ++j) offset += sc[j] * a.bsums[j];
    for (int h = 0; h < 2; ++h) {
      const __m256i qh = load256(row + 128 + 32 * h);
      for (int k = 0; k < 4; ++k) {
        const __m256i l = load256(row + 64 * h + 32 * (k & 1));
        const __m256i lo = _mm256_and_si256(k < 2 ? l : _mm256_srli_epi16(l, 4), low4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), low2);
        const __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
        const int j = 8 * h + 2 * k;  // scales of the two 16s
        const __m256i scales = _mm256_set_m128i(_mm_set1_epi16(sc[j + 1]), _mm_set1_epi16(sc[j]));
        isum = _mm256_add_epi32(
            isum,
            _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a.q + 128 * h + 32 * k)), scales));
      }
    }
    sum += f16_at(row + 208) * a.d * static_cast<float>(hsum_i32(isum) - 32 * offset);
  }
  return sum;
}

float dot_f16(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* xf = reinterpret_cast<const float*>(x);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = load256(row + 2 * i);
    acc0 =
        _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(h)), _mm256_loadu_ps(xf + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)),
                           _mm256_loadu_ps(xf + i + 8), acc1);
  }
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += f16_at(row + 2 * i) * xf[i];
  return sum;
}

float dot_bf16(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* xf = reinterpret_cast<const float*>(x);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i));
    const __m256 w = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    acc = _mm256_fmadd_ps(w, _mm256_loadu_ps(xf + i), acc);
  }
  float sum = hsum(acc);
  for (; i < n; ++i) {
    uint16_t b;
    std::memcpy(&b, row + 2 * i, sizeof b);
    const uint32_t bits = uint32_t{b} << 16;
    float v;
    std::memcpy(&v, &bits, sizeof v);
    sum += v * xf[i];
  }
  return sum;
}

float dot_f32(const uint8_t* row, const uint8_t* x, int64_t n) {
  const auto* w = reinterpret_cast<const float*>(row);
  const auto* xf = reinterpret_cast<const float*>(x);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(xf + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(xf + i + 8), acc1);
  }
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += w[i] * xf[i];
  return sum;
}

template <float (*kDot)(const uint8_t*, const uint8_t*, int64_t)>
void gemm(const uint8_t* w, size_t row_bytes, int64_t n_rows, const uint8_t* x, size_t x_stride,
          int n_tok, int64_t n_in, float* y, int64_t ldy) {
  for (int64_t r = 0; r < n_rows; ++r)
    for (int t = 0; t < n_tok; ++t)
      y[t * ldy + r] = kDot(w + r * row_bytes, x + t * x_stride, n_in);
}

// ---- element-wise (see kernels_avx512.cpp for the method) ---------------------------------------

inline __m256 exp8(__m256 x) {
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.7f)), _mm256_set1_ps(-87.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // 2^n: n + 127 into the exponent field (n is within [-126, 128] after the clamp; 2^128 is
  // split as 2^64 * 2^64 so that it stays finite where the true result is).
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(ni, 1);
  const __m256 s1 =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
  const __m256 s2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

// gate * sigmoid(z) * up with z = gate (SiLU) or z = 2 sqrt(2/pi) (gate + 0.044715 gate^3) (the
// tanh GELU: 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u))).
template <bool kGelu>
__m256 gated8(__m256 g, __m256 u) {
  constexpr float kC1 = 2.0f * 0.79788456080286535588f, kC3 = kC1 * 0.044715f;
  __m256 z = g;
  if constexpr (kGelu)
    z = _mm256_mul_ps(
        g, _mm256_fmadd_ps(_mm256_mul_ps(g, g), _mm256_set1_ps(kC3), _mm256_set1_ps(kC1)));
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), z));
  return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

template <bool kGelu>
void gated(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(gate + i, gated8<kGelu>(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i == n) return;
  alignas(32) float g[8] = {}, u[8] = {};
  std::memcpy(g, gate + i, static_cast<size_t>(n - i) * sizeof(float));
  std::memcpy(u, up + i, static_cast<size_t>(n - i) * sizeof(float));
  _mm256_store_ps(g, gated8<kGelu>(_mm256_load_ps(g), _mm256_load_ps(u)));
  std::memcpy(gate + i, g, static_cast<size_t>(n - i) * sizeof(float));
}

float exp_sum(float* x, int64_t n, float max) {
  __m256 sum = _mm256_setzero_ps();
  const __m256 mx = _mm256_set1_ps(max);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mx));
    _mm256_storeu_ps(x + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  float total = hsum(sum);
  for (; i < n; ++i) {
    alignas(32) float v[8] = {x[i] - max};
    _mm256_store_ps(v, exp8(_mm256_load_ps(v)));
    x[i] = v[0];
    total += v[0];
  }
  return total;
}

// ---- attention ----------------------------------------------------------------------------------
// As the AVX-512 kernels with 8-wide vectors; partial vectors go through a small buffer.

inline __m256 load_kv8(const uint16_t* p, int64_t left) {
  if (left >= 8) return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  alignas(16) uint16_t buf[8] = {};
  std::memcpy(buf, p, static_cast<size_t>(left) * sizeof(uint16_t));
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(buf)));
}
inline __m256 load_kv8(const float* p, int64_t left) {
  if (left >= 8) return _mm256_loadu_ps(p);
  alignas(32) float buf[8] = {};
  std::memcpy(buf, p, static_cast<size_t>(left) * sizeof(float));
  return _mm256_load_ps(buf);
}

inline void store8(float* p, __m256 v, int64_t left) {
  if (left >= 8) {
    _mm256_storeu_ps(p, v);
    return;
  }
  alignas(32) float buf[8];
  _mm256_store_ps(buf, v);
  std::memcpy(p, buf, static_cast<size_t>(left) * sizeof(float));
}

template <int NT, int NP, class E>
void scores_rows(const float* q, int64_t qs, const E* kt, int64_t ld, int hd, int n_p, float scale,
                 float* s, int64_t ss) {
  const __m256 vscale = _mm256_set1_ps(scale);
  int j = 0;
  for (; j + 8 * NP <= n_p; j += 8 * NP) {
    __m256 acc[NT][NP];
    for (int t = 0; t < NT; ++t)
      for (int c = 0; c < NP; ++c) acc[t][c] = _mm256_setzero_ps();
    for (int i = 0; i < hd; ++i) {
      __m256 k[NP];
      for (int c = 0; c < NP; ++c) k[c] = load_kv8(kt + i * ld + j + 8 * c, 8);
      for (int t = 0; t < NT; ++t) {
        const __m256 qv = _mm256_set1_ps(q[t * qs + i]);
        for (int c = 0; c < NP; ++c) acc[t][c] = _mm256_fmadd_ps(qv, k[c], acc[t][c]);
      }
    }
    for (int t = 0; t < NT; ++t)
      for (int c = 0; c < NP; ++c)
        _mm256_storeu_ps(s + t * ss + j + 8 * c, _mm256_mul_ps(acc[t][c], vscale));
  }
  for (; j < n_p; j += 8) {
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    for (int i = 0; i < hd; ++i) {
      const __m256 k = load_kv8(kt + i * ld + j, n_p - j);
      for (int t = 0; t < NT; ++t)
        acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(q[t * qs + i]), k, acc[t]);
    }
    for (int t = 0; t < NT; ++t) store8(s + t * ss + j, _mm256_mul_ps(acc[t], vscale), n_p - j);
  }
}

template <class E>
void attn_scores(const float* q, int64_t qs, int n_q, const void* kt_, int64_t ld, int hd, int n_p,
                 float scale, float* s, int64_t ss) {
  const E* kt = static_cast<const E*>(kt_);
  int t = 0;
  for (; t + 4 <= n_q; t += 4)
    scores_rows<4, 2>(q + t * qs, qs, kt, ld, hd, n_p, scale, s + t * ss, ss);
  switch (n_q - t) {
    case 3:
      scores_rows<3, 2>(q + t * qs, qs, kt, ld, hd, n_p, scale, s + t * ss, ss);
      break;
    case 2:
      scores_rows<2, 4>(q + t * qs, qs, kt, ld, hd, n_p, scale, s + t * ss, ss);
      break;
    case 1:
      scores_rows<1, 4>(q + t * qs, qs, kt, ld, hd, n_p, scale, s + t * ss, ss);
      break;
    default:
      break;
  }
}

// Dimensions [0, w) of NT queries, w <= 32, in 8-wide vectors.
template <int NT, class E>
void values_tile(const float* a, int64_t as, const E* v, int64_t vs, int n_p, float* out,
                 int64_t os, int w) {
  const int nc = (w + 7) / 8;
  __m256 acc[NT][4];
  for (int t = 0; t < NT; ++t)
    for (int c = 0; c < 4; ++c) acc[t][c] = _mm256_setzero_ps();
  for (int j = 0; j < n_p; ++j) {
    __m256 vv[4];
    for (int c = 0; c < 4; ++c)
      vv[c] = c < nc ? load_kv8(v + j * vs + 8 * c, w - 8 * c) : _mm256_setzero_ps();
    for (int t = 0; t < NT; ++t) {
      const __m256 av = _mm256_set1_ps(a[t * as + j]);
      for (int c = 0; c < 4; ++c) acc[t][c] = _mm256_fmadd_ps(av, vv[c], acc[t][c]);
    }
  }
  for (int t = 0; t < NT; ++t)
    for (int c = 0; c < nc; ++c) store8(out + t * os + 8 * c, acc[t][c], w - 8 * c);
}

template <class E>
void attn_values(const float* a, int64_t as, int n_q, const void* v_, int64_t vs, int hd, int n_p,
                 float* out, int64_t os) {
  const E* v = static_cast<const E*>(v_);
  for (int i = 0; i < hd; i += 32) {
    const int w = hd - i < 32 ? hd - i : 32;
    int t = 0;
    for (; t + 3 <= n_q; t += 3)
      values_tile<3, E>(a + t * as, as, v + i, vs, n_p, out + t * os + i, os, w);
    for (; t < n_q; ++t) values_tile<1, E>(a + t * as, as, v + i, vs, n_p, out + t * os + i, os, w);
  }
}

void to_f16(const float* x, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(
        reinterpret_cast<__m128i*>(dst + i),
        _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  if (i < n) {
    alignas(32) float buf[8] = {};
    std::memcpy(buf, x + i, static_cast<size_t>(n - i) * sizeof(float));
    alignas(16) uint16_t h[8];
    _mm_store_si128(
        reinterpret_cast<__m128i*>(h),
        _mm256_cvtps_ph(_mm256_load_ps(buf), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    std::memcpy(dst + i, h, static_cast<size_t>(n - i) * sizeof(uint16_t));
  }
}

// ---- packed groups of 16 rows (r16, cpu_gemm.h) -------------------------------------------------
// A 256-bit vector takes half of a packed 64-byte vector: 4 consecutive weights of 8 rows, half h
// holding rows 8h..8h+7. Without vpdpbusd, vpmaddubsw makes int16 sums of adjacent products and
// vpmaddwd with ones widens them; up to kAdd16 vpmaddubsw results are added in int16 first, as
// far as the weights' range keeps them from overflowing (Q4_K, Q4_0, Q5_0: 4; Q6_K: 2). Q8_0 is
// multiplied signed (below).

// The 8 rows' sums over 32 weights: wq[2c] holds weights 8c..8c+3 of each row (unsigned), wq[2c+1]
// weights 8c+4..8c+7; a: the 32 activations.
template <int kAdd16>
inline __m256i dot32_r8(const __m256i wq[8], const int8_t* a) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i sum = _mm256_setzero_si256();
  for (int c0 = 0; c0 < 8; c0 += kAdd16) {
    __m256i s16 = _mm256_setzero_si256();
    for (int c = c0; c < c0 + kAdd16; ++c) {
      int32_t a4;
      std::memcpy(&a4, a + 4 * c, 4);
      s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(wq[c], _mm256_set1_epi32(a4)));
    }
    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(s16, ones));
  }
  return sum;
}

// Half h (8 rows) of the 64-byte vector at p.
inline __m256i half_at(const uint8_t* p, int h) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * h));
}
inline __m256 f16x8_at(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256i u8x8_at(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

// Unpacks the 8 weight vectors of a 32-weight block: the nibble vectors at nib (4 x 64 bytes).
inline void nibbles_r8(const uint8_t* nib, int h, __m256i wq[8]) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int c = 0; c < 4; ++c) {
    const __m256i v = half_at(nib + 64 * c, h);
    wq[2 * c] = _mm256_and_si256(v, low4);
    wq[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
  }
}

template <int T>
void tile_q4_k_r8(const uint8_t* g, int h, const uint8_t* x, size_t xs, int64_t n, float* y,
                  int64_t ldy) {
  const __m256i k15 = _mm256_set1_epi32(0x0F), k48 = _mm256_set1_epi32(0x30);
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t s = 0; s < n / 256; ++s) {
    const uint8_t* p = g + s * kQ4kR16Block;
    if constexpr (T == 1) prefetch_ahead<kQ4kR16Block / 2>(p + 1152 * h);
    const __m256 d = f16x8_at(p + 16 * h), dmin = f16x8_at(p + 32 + 16 * h);
    __m256 f[T];
    for (int t = 0; t < T; ++t) f[t] = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      const __m256i lsc = u8x8_at(p + 64 + 16 * i + 8 * h), lm = u8x8_at(p + 128 + 16 * i + 8 * h),
                    hi = u8x8_at(p + 192 + 16 * i + 8 * h);
      const __m256i sc[2] = {_mm256_or_si256(_mm256_and_si256(lsc, k15),
                                             _mm256_and_si256(_mm256_slli_epi32(hi, 4), k48)),
                             _mm256_or_si256(_mm256_srli_epi32(lsc, 4), _mm256_and_si256(hi, k48))};
      const __m256i mn[2] = {_mm256_or_si256(_mm256_and_si256(lm, k15),
                                             _mm256_and_si256(_mm256_slli_epi32(hi, 2), k48)),
                             _mm256_or_si256(_mm256_srli_epi32(lm, 4),
                                             _mm256_and_si256(_mm256_srli_epi32(hi, 2), k48))};
      for (int e = 0; e < 2; ++e) {
        const int j = 2 * i + e;
        const __m256 scf = _mm256_mul_ps(_mm256_cvtepi32_ps(sc[e]), d);
        const __m256 mf = _mm256_mul_ps(_mm256_cvtepi32_ps(mn[e]), dmin);
        __m256i wq[8];
        nibbles_r8(p + 256 + 256 * j, h, wq);
        for (int t = 0; t < T; ++t) {
          const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
          const __m256i dot = dot32_r8<4>(wq, blk->q + 32 * j);
          f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scf, f[t]);
          f[t] = _mm256_fnmadd_ps(
              mf, _mm256_set1_ps(static_cast<float>(blk->bsums[2 * j] + blk->bsums[2 * j + 1])),
              f[t]);
        }
      }
    }
    for (int t = 0; t < T; ++t) {
      const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
      acc[t] = _mm256_fmadd_ps(f[t], _mm256_set1_ps(blk->d), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy + 8 * h, acc[t]);
}

template <int T>
void tile_q6_k_r8(const uint8_t* g, int h, const uint8_t* x, size_t xs, int64_t n, float* y,
                  int64_t ldy) {
  const __m256i bits45 = _mm256_set1_epi8(0x30);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t s = 0; s < n / 256; ++s) {
    const uint8_t* p = g + s * kQ6kR16Block;
    if constexpr (T == 1) prefetch_ahead<kQ6kR16Block / 2>(p + 1680 * h);
    const __m256 d = f16x8_at(p + 16 * h);
    __m256 f[T];
    for (int t = 0; t < T; ++t) f[t] = _mm256_setzero_ps();
    for (int j = 0; j < 8; ++j) {
      __m256i wq[8];
      nibbles_r8(p + 288 + 256 * j, h, wq);
      for (int q = 0; q < 2; ++q) {  // the top bits of weights 16q .. 16q + 15 of the sub-block
        const __m256i hv = half_at(p + 2336 + 128 * j + 64 * q, h);
        const __m256i moved[4] = {_mm256_slli_epi16(hv, 4), _mm256_slli_epi16(hv, 2), hv,
                                  _mm256_srli_epi16(hv, 2)};
        for (int i = 0; i < 4; ++i)
          wq[4 * q + i] = _mm256_or_si256(wq[4 * q + i], _mm256_and_si256(moved[i], bits45));
      }
      __m256 scf[2];
      for (int q = 0; q < 2; ++q)
        scf[q] = _mm256_mul_ps(
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(
                reinterpret_cast<const __m128i*>(p + 32 + 16 * (2 * j + q) + 8 * h)))),
            d);
      for (int t = 0; t < T; ++t) {
        const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
        const int8_t* a = blk->q + 32 * j;
        for (int q = 0; q < 2; ++q) {
          __m256i s16 = _mm256_setzero_si256(),
                  sum = _mm256_set1_epi32(-32 * blk->bsums[2 * j + q]);
          for (int i = 0; i < 4; ++i) {
            int32_t a4;
            std::memcpy(&a4, a + 16 * q + 4 * i, 4);
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(wq[4 * q + i], _mm256_set1_epi32(a4)));
            if (i % 2 == 1) {  // two products of up to 63 * 127 * 2 fit int16; four do not
              sum = _mm256_add_epi32(sum, _mm256_madd_epi16(s16, ones));
              s16 = _mm256_setzero_si256();
            }
          }
          f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), scf[q], f[t]);
        }
      }
    }
    for (int t = 0; t < T; ++t) {
      const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
      acc[t] = _mm256_fmadd_ps(f[t], _mm256_set1_ps(blk->d), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy + 8 * h, acc[t]);
}

// Q8_0, Q4_0 and Q5_0. Q8_0's weights are signed again (q + 128 would saturate vpmaddubsw):
// |w| times the activation with w's sign, as llama.cpp's AVX2 kernels multiply signed bytes.
enum class Q32R8 { q8_0, q4_0, q5_0 };

inline __m256i dot32_signed_r8(const __m256i w[8], const __m256i aw[8], const int8_t* a) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i sum = _mm256_setzero_si256();
  for (int c = 0; c < 8; ++c) {  // pairs of up to 2 * 128 * 127: no int16 sums of two
    int32_t a4;
    std::memcpy(&a4, a + 4 * c, 4);
    const __m256i xs = _mm256_sign_epi8(_mm256_set1_epi32(a4), w[c]);
    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(aw[c], xs), ones));
  }
  return sum;
}

template <Q32R8 kType, int T>
void tile_q32_r8(const uint8_t* g, int h, const uint8_t* x, size_t xs, int64_t n, float* y,
                 int64_t ldy) {
  constexpr bool kQ5 = kType == Q32R8::q5_0;
  constexpr size_t kBlock = kType == Q32R8::q8_0 ? 544 : kQ5 ? 352 : 288;
  constexpr int kOffset = kQ5 ? 16 : 8;
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* p = g + b * kBlock;
    if constexpr (T == 1) prefetch_ahead<kBlock>(p);
    const __m256 d = f16x8_at(p + 16 * h);
    __m256i wq[8], aw[8];
    if constexpr (kType == Q32R8::q8_0) {
      for (int c = 0; c < 8; ++c) {
        wq[c] = _mm256_xor_si256(half_at(p + 32 + 64 * c, h),
                                 _mm256_set1_epi8(static_cast<char>(0x80)));
        aw[c] = _mm256_abs_epi8(wq[c]);
      }
    } else {
      nibbles_r8(p + (kQ5 ? 96 : 32), h, wq);
    }
    if constexpr (kQ5) {
      const __m256i hv = half_at(p + 32, h);
      const __m256i moved[8] = {_mm256_slli_epi16(hv, 4),
                                _mm256_slli_epi16(hv, 3),
                                _mm256_slli_epi16(hv, 2),
                                _mm256_slli_epi16(hv, 1),
                                hv,
                                _mm256_srli_epi16(hv, 1),
                                _mm256_srli_epi16(hv, 2),
                                _mm256_srli_epi16(hv, 3)};
      for (int c = 0; c < 8; ++c) wq[c] = _mm256_or_si256(wq[c], _mm256_and_si256(moved[c], bit4));
    }
    for (int t = 0; t < T; ++t) {
      const uint8_t* xq = x + t * xs;
      const auto* a = reinterpret_cast<const int8_t*>(xq) + 32 * b;
      const float xd = reinterpret_cast<const float*>(xq + n)[b];
      __m256i dot;
      if constexpr (kType == Q32R8::q8_0) {
        dot = dot32_signed_r8(wq, aw, a);
      } else {
        const int32_t xsum = reinterpret_cast<const int32_t*>(xq + n + n / 32 * 4)[b];
        dot = _mm256_sub_epi32(dot32_r8<4>(wq, a), _mm256_set1_epi32(kOffset * xsum));
      }
      acc[t] =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(d, _mm256_set1_ps(xd)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy + 8 * h, acc[t]);
}

// Float r16 (F16, BF16, F32), half h: weight k of 8 rows per vector, times each token's
// activation k broadcast.
enum class FloatR8 { f16, bf16, f32 };

template <FloatR8 kKind>
inline __m256 load8_r16(const uint8_t* p) {
  if constexpr (kKind == FloatR8::f32) return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (kKind == FloatR8::f16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

template <FloatR8 kKind, int T>
void tile_float_r8(const uint8_t* g, int h, const uint8_t* x, size_t xs, int64_t n, float* y,
                   int64_t ldy) {
  constexpr int kEs = kKind == FloatR8::f32 ? 4 : 2;
  constexpr int kStride = kR16Rows * kEs;  // bytes per k
  constexpr int U = T >= 4 ? 1 : T == 1 ? 4 : 2;
  __m256 acc[U][T];
  for (int u = 0; u < U; ++u)
    for (int t = 0; t < T; ++t) acc[u][t] = _mm256_setzero_ps();
  const uint8_t* w = g + 8 * kEs * h;
  int64_t k = 0;
  for (; k + U <= n; k += U)
    for (int u = 0; u < U; ++u) {
      const __m256 wv = load8_r16<kKind>(w + kStride * (k + u));
      for (int t = 0; t < T; ++t)
        acc[u][t] = _mm256_fmadd_ps(
            wv, _mm256_set1_ps(reinterpret_cast<const float*>(x + t * xs)[k + u]), acc[u][t]);
    }
  for (; k < n; ++k) {
    const __m256 wv = load8_r16<kKind>(w + kStride * k);
    for (int t = 0; t < T; ++t)
      acc[0][t] = _mm256_fmadd_ps(wv, _mm256_set1_ps(reinterpret_cast<const float*>(x + t * xs)[k]),
                                  acc[0][t]);
  }
  for (int t = 0; t < T; ++t) {
    __m256 sum = acc[0][t];
    for (int u = 1; u < U; ++u) sum = _mm256_add_ps(sum, acc[u][t]);
    _mm256_storeu_ps(y + t * ldy + 8 * h, sum);
  }
}

template <FloatR8 kKind>
struct TileFloatR8 {
  template <int T>
  struct Tile {
    static void run(const uint8_t* g, int h, const uint8_t* x, size_t xs, int64_t n, float* y,
                    int64_t ldy) {
      tile_float_r8<kKind, T>(g, h, x, xs, n, y, ldy);
    }
  };
};

template <int T>
struct TileQ4kR8 {
  static void run(const uint8_t* g, int h, const uint8_t* x, size_t xs, int64_t n, float* y,
                  int64_t ldy) {
    tile_q4_k_r8<T>(g, h, x, xs, n, y, ldy);
  }
};
template <int T>
struct TileQ6kR8 {
  static void run(const uint8_t* g, int h, const uint8_t* x, size_t xs, int64_t n, float* y,
                  int64_t ldy) {
    tile_q6_k_r8<T>(g, h, x, xs, n, y, ldy);
  }
};
template <Q32R8 kType>
struct TileQ32R8 {
  template <int T>
  struct Tile {
    static void run(const uint8_t* g, int h, const uint8_t* x, size_t xs, int64_t n, float* y,
                    int64_t ldy) {
      tile_q32_r8<kType, T>(g, h, x, xs, n, y, ldy);
    }
  };
};

// Groups, each as two halves of 8 rows, by up to 4 tokens, in blocks of 64 tokens.
template <template <int> class kTile>
void gemm_r16(const uint8_t* w, size_t rb, int64_t n_rows, const uint8_t* x, size_t xs, int n_tok,
              int64_t n, float* y, int64_t ldy) {
  using Tile = void (*)(const uint8_t*, int, const uint8_t*, size_t, int64_t, float*, int64_t);
  static constexpr Tile kTiles[] = {kTile<1>::run, kTile<2>::run, kTile<3>::run, kTile<4>::run};
  const size_t group_bytes = kR16Rows * rb;
  constexpr int kTokenBlock = 64;
  for (int t0 = 0; t0 < n_tok; t0 += kTokenBlock) {
    const int t1 = n_tok - t0 < kTokenBlock ? n_tok : t0 + kTokenBlock;
    for (int64_t r = 0; r < n_rows; r += kR16Rows)
      for (int h = 0; h < 2; ++h)
        for (int t = t0; t < t1; t += 4) {
          const int m = t1 - t < 4 ? t1 - t : 4;
          kTiles[m - 1](w + r / kR16Rows * group_bytes, h, x + t * xs, xs, n, y + t * ldy + r, ldy);
        }
  }
}

const Kernels kAvx2 = {
    "avx2",
    quantize_q8,
    quantize_q8_k,
    {gemm<dot_q8_0>, gemm<dot_q4_q5<false>>, gemm<dot_q4_q5<true>>, gemm<dot_q4_k>, gemm<dot_q6_k>,
     gemm<dot_f16>, gemm<dot_bf16>, gemm<dot_f32>, gemm_r16<TileQ4kR8>,
     gemm_r16<TileQ32R8<Q32R8::q8_0>::Tile>, gemm_r16<TileQ32R8<Q32R8::q4_0>::Tile>,
     gemm_r16<TileQ32R8<Q32R8::q5_0>::Tile>, gemm_r16<TileQ6kR8>,
     gemm_r16<TileFloatR8<FloatR8::f16>::Tile>, gemm_r16<TileFloatR8<FloatR8::bf16>::Tile>,
     gemm_r16<TileFloatR8<FloatR8::f32>::Tile>},
    gated<false>,
    gated<true>,
    exp_sum,
    {attn_scores<uint16_t>, attn_scores<float>},
    {attn_values<uint16_t>, attn_values<float>},
    to_f16,
};

}  // namespace

const Kernels* kernels_avx2() {
  const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                  __builtin_cpu_supports("f16c");
  return ok ? &kAvx2 : nullptr;
}

}  // namespace agentrt::engine::cpu

#else  // the compiler was not given the AVX2 flags (another architecture)

namespace agentrt::engine::cpu {
const Kernels* kernels_avx2() {
  return nullptr;
}
}  // namespace agentrt::engine::cpu

#endif
