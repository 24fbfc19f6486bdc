// AVX-512 kernels (F, BW, VL, DQ, VNNI; F16C, FMA), compiled with those target flags and used
// only when the CPU has them (see kernels_best). Each product is a register tile of R weight rows
// by T tokens, so a weight block is loaded and unpacked once per T tokens and an activation block
// once per R rows; decode is the T = 1 case.
#include "cpu_gemm.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512VNNI__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>

#include <cstring>

// GCC 12 warns falsely inside its own AVX-512 intrinsics (their "undefined" source operands).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace agentrt::engine::cpu {

namespace {

inline float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return _cvtsh_ss(h);
}

// Decode (one token) streams each weight once and does little arithmetic per byte, and one core's
// hardware prefetcher alone leaves a good part of its memory bandwidth unused (Q4_K rows out of
// cache: 4.9 GB/s without, 6.3 with, on a 2.5 GHz Xeon). So the decode tiles ask for the
// cache lines of the block about 1 KB ahead in each row they stream. Prefetches never fault, so
// reading past the last row is harmless.
constexpr int kPrefetchAhead = 1024;

template <int kBytes>
inline void prefetch_block(const uint8_t* p) {
  for (int i = 0; i < kBytes; i += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + i), _MM_HINT_T0);
}

enum class FloatKind { f16, bf16, f32 };

inline float hsum(__m512 v) {
  const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// ---- activations --------------------------------------------------------------------------------

// The same arithmetic as the scalar quantizer (amax / 127, x * (127 / amax), round to nearest
// even), so both produce identical bytes.
inline float absmax(const float* x, int n) {
  __m512 m = _mm512_setzero_ps();
  for (int i = 0; i < n; i += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
  return _mm512_reduce_max_ps(m);
}

inline void quantize_block(const float* x, int8_t* q, int n, float* d) {
  const float amax = absmax(x, n);
  *d = amax / 127.0f;
  const __m512 id = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
  for (int i = 0; i < n; i += 16) {
    const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), id));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtsepi32_epi8(v));
  }
}

void quantize_q8(const float* x, uint8_t* dst, int64_t n) {
  auto* q = reinterpret_cast<int8_t*>(dst);
  float* d = reinterpret_cast<float*>(dst + n);
  auto* sums = reinterpret_cast<int32_t*>(dst + n + n / 32 * 4);
  for (int64_t b = 0; b < n / 32; ++b) {
    quantize_block(x + 32 * b, q + 32 * b, 32, d + b);
    const __m512i w =
        _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<__m256i*>(q + 32 * b)));
    sums[b] = _mm512_reduce_add_epi32(_mm512_madd_epi16(w, _mm512_set1_epi16(1)));
  }
}

void quantize_q8_k(const float* x, uint8_t* dst, int64_t n) {
  auto* blocks = reinterpret_cast<BlockQ8K*>(dst);
  const __m512i ones = _mm512_set1_epi16(1);
  for (int64_t b = 0; b < n / 256; ++b) {
    BlockQ8K& blk = blocks[b];
    quantize_block(x + 256 * b, blk.q, 256, &blk.d);
    // Sums of 16: pairs by maddubs with ones, then 8 adjacent pairs per 16 elements.
    alignas(64) int16_t pairs[128];
    for (int c = 0; c < 4; ++c) {
      const __m512i v = _mm512_loadu_si512(blk.q + 64 * c);
      const __m512i p = _mm512_maddubs_epi16(_mm512_set1_epi8(1), v);
      _mm512_store_si512(pairs + 32 * c, _mm512_madd_epi16(p, ones));  // 16 int32 of 4
    }
    const auto* quads = reinterpret_cast<const int32_t*>(pairs);
    for (int j = 0; j < 16; ++j)
      blk.bsums[j] = static_cast<int16_t>(quads[4 * j] + quads[4 * j + 1] + quads[4 * j + 2] +
                                          quads[4 * j + 3]);
  }
}

// ---- Q8_0, Q4_0 and Q5_0 ------------------------------------------------------------------------
// Two blocks (64 values) per step. Weights become unsigned bytes (Q8_0: q + 128; Q4_0: the
// nibble, 0..15; Q5_0: the nibble plus 16 times its bit of the block's 32-bit word, 0..31) for
// vpdpbusd against signed activations; the offset (128, 8 or 16) times the sum of the
// activations is subtracted through the accumulator's starting value, once per token and step
// for all R rows.
enum class Q32 { q8_0, q4_0, q5_0 };

template <Q32 kType, int R, int T>
void tile_q_32(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
               int64_t ldy) {
  constexpr bool kQ4 = kType != Q32::q8_0;  // nibbles
  constexpr int kBlock = kType == Q32::q8_0 ? 34 : kType == Q32::q4_0 ? 18 : 22;
  constexpr int kNibbles = kType == Q32::q5_0 ? 6 : 2;  // offset of the nibbles in a block
  const int64_t nb = n / 32;
  const __m512i offset = _mm512_set1_epi8(kType == Q32::q8_0   ? static_cast<char>(0x80)
                                          : kType == Q32::q4_0 ? 8
                                                               : 16);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i nibble_shift = _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0);
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b += 2) {
    const bool pair = b + 1 < nb;
    __m512i wq[R];
    __m512 wd[R];
    for (int r = 0; r < R; ++r) {
      const uint8_t* p = w + r * rb + b * kBlock;
      if constexpr (T == 1)
        prefetch_block<2 * kBlock>(p + kPrefetchAhead / (2 * kBlock) * (2 * kBlock));
      if constexpr (kQ4) {
        const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + kNibbles));
        const __m128i q1 =
            pair ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + kBlock + kNibbles))
                 : _mm_setzero_si128();
        const __m512i v =
            _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_broadcastsi128_si256(q0)),
                               _mm256_broadcastsi128_si256(q1), 1);
        wq[r] = _mm512_and_si512(_mm512_srlv_epi64(v, nibble_shift), low4);
        if constexpr (kType == Q32::q5_0) {  // byte i of the pair is element i: bit i of the mask
          uint32_t h0, h1 = 0;
          std::memcpy(&h0, p + 2, 4);
          if (pair) std::memcpy(&h1, p + kBlock + 2, 4);
          const __mmask64 high = static_cast<__mmask64>(h0) | static_cast<__mmask64>(h1) << 32;
          wq[r] = _mm512_or_si512(wq[r], _mm512_maskz_mov_epi8(high, offset));
        }
      } else {
        const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
        const __m256i q1 = pair ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 36))
                                : _mm256_set1_epi8(static_cast<char>(0x80));
        wq[r] = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1), offset);
      }
      const float d1 = pair ? f16_at(p + kBlock) : 0.0f;
      wd[r] = _mm512_insertf32x8(_mm512_set1_ps(f16_at(p)), _mm256_set1_ps(d1), 1);
    }
    for (int t = 0; t < T; ++t) {
      const uint8_t* xq = x + t * xs;
      const float* xd = reinterpret_cast<const float*>(xq + n) + b;
      const __m512i a = pair ? _mm512_loadu_si512(xq + 32 * b)
                             : _mm512_maskz_loadu_epi8(0xFFFFFFFFull, xq + 32 * b);
      const __m512 ad =
          _mm512_insertf32x8(_mm512_set1_ps(xd[0]), _mm256_set1_ps(pair ? xd[1] : 0.0f), 1);
      const __m512i start = _mm512_sub_epi32(
          _mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), offset, a));
      for (int r = 0; r < R; ++r) {
        const __m512i dot = _mm512_dpbusd_epi32(start, wq[r], a);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(wd[r], ad), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[t * ldy + r] = hsum(acc[r][t]);
}

// idx[c] for the 4 steps of a super-block: int16 lane i holds `per_step` * c + i / `lanes_per`,
// the scale (sub-block) that lane's products take.
inline void step_scale_index(__m512i idx[4], int per_step, int lanes_per) {
  for (int c = 0; c < 4; ++c) {
    alignas(64) int16_t v[32];
    for (int i = 0; i < 32; ++i) v[i] = static_cast<int16_t>(per_step * c + i / lanes_per);
    idx[c] = _mm512_load_si512(v);
  }
}

// ---- Q4_K ---------------------------------------------------------------------------------------
// Per super-block and row: the 8 six-bit scales become int16 lane multipliers for vpdpwssd over
// vpmaddubsw's pair sums (nibble * activation, at most 2 * 15 * 127), the mins multiply the
// activations' sums of 16.

// Scales (low 4 bytes of the result) and mins (high 4) of sub-blocks 0..7 from the 12 packed
// bytes: sub-blocks 0..3 keep 6 bits of bytes 0..3 / 4..7; 4..7 take their low 4 bits from bytes
// 8..11 and their top 2 bits from the top bits of bytes 0..3 / 4..7.
inline void q4_k_scales(const uint8_t* s, uint64_t* sc, uint64_t* m) {
  uint32_t u0, u1, u2;
  std::memcpy(&u0, s, 4);
  std::memcpy(&u1, s + 4, 4);
  std::memcpy(&u2, s + 8, 4);
  const uint32_t sc_lo = u0 & 0x3F3F3F3F, m_lo = u1 & 0x3F3F3F3F;
  const uint32_t sc_hi = (u2 & 0x0F0F0F0F) | (((u0 >> 6) & 0x03030303) << 4);
  const uint32_t m_hi = ((u2 >> 4) & 0x0F0F0F0F) | (((u1 >> 6) & 0x03030303) << 4);
  *sc = sc_lo | (uint64_t{sc_hi} << 32);
  *m = m_lo | (uint64_t{m_hi} << 32);
}

template <int R, int T>
void tile_q4_k(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
               int64_t ldy) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  // Upper 256 bits (the high nibbles of the same 32 bytes) shift right by 4.
  const __m512i half_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  __m512i sc_idx[4];  // int16 lane i of step c: sub-block 2c + i / 16
  step_scale_index(sc_idx, 2, 16);
  alignas(32) int16_t midx[16];
  for (int i = 0; i < 16; ++i) midx[i] = static_cast<int16_t>(i / 2);
  const __m256i m_idx = _mm256_load_si256(reinterpret_cast<const __m256i*>(midx));

  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const auto* xb = x;
  for (int64_t s = 0; s < n / 256; ++s) {
    __m512i scv[R][4];
    __m256i mv[R];
    float d[R], dmin[R];
    for (int r = 0; r < R; ++r) {
      const uint8_t* p = w + r * rb + s * 144;
      d[r] = f16_at(p);
      dmin[r] = f16_at(p + 2);
      uint64_t sc, m;
      q4_k_scales(p + 4, &sc, &m);
      const __m512i sc16 =
          _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(sc))));
      for (int c = 0; c < 4; ++c) scv[r][c] = _mm512_permutexvar_epi16(sc_idx[c], sc16);
      mv[r] = _mm256_permutexvar_epi16(
          m_idx,
          _mm256_castsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(m)))));
    }
    __m512i isum[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) isum[r][t] = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      __m512i wq[R];
      for (int r = 0; r < R; ++r) {
        const __m256i q = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(w + r * rb + s * 144 + 16 + 32 * c));
        wq[r] = _mm512_and_si512(
            _mm512_srlv_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(q), q, 1), half_shift),
            low4);
      }
      for (int t = 0; t < T; ++t) {
        const auto* blk = reinterpret_cast<const BlockQ8K*>(xb + t * xs) + s;
        const __m512i a = _mm512_loadu_si512(blk->q + 64 * c);
        for (int r = 0; r < R; ++r)
          isum[r][t] = _mm512_dpwssd_epi32(isum[r][t], _mm512_maddubs_epi16(wq[r], a), scv[r][c]);
      }
    }
    for (int t = 0; t < T; ++t) {
      const auto* blk = reinterpret_cast<const BlockQ8K*>(xb + t * xs) + s;
      const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->bsums));
      for (int r = 0; r < R; ++r) {
        const __m256i msum = _mm256_madd_epi16(mv[r], bsums);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][t]), _mm512_set1_ps(d[r] * blk->d),
                                    acc[r][t]);
        acc[r][t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(msum)),
                                     _mm512_set1_ps(dmin[r] * blk->d), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[t * ldy + r] = hsum(acc[r][t]);
}

// Two rows by T tokens: as tile_q4_k, but each super-block's integer sums of the two rows are
// folded into one vector (lanes 0-7: row 0, 8-15: row 1) before they are converted and scaled,
// and both rows' mins go through one vpmaddwd in the same layout, so the per-super-block float
// work is shared by the pair and one accumulator per token serves both rows.
template <int T>
void tile_q4_k_pair(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
                    int64_t ldy) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i half_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  __m512i sc_idx[4];
  step_scale_index(sc_idx, 2, 16);
  // int16 lane i: min (i % 16) / 2 of row i / 16 (the 16 mins of both rows in int16 lanes 0-15)
  alignas(64) int16_t midx[32];
  for (int i = 0; i < 32; ++i) midx[i] = static_cast<int16_t>(8 * (i / 16) + (i % 16) / 2);
  const __m512i m_idx = _mm512_load_si512(midx);

  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < n / 256; ++s) {
    const uint8_t* p0 = w + s * 144;
    const uint8_t* p1 = p0 + rb;
    if constexpr (T == 1) {
      constexpr int kAhead = kPrefetchAhead / 144 * 144;
      prefetch_block<144>(p0 + kAhead);
      prefetch_block<144>(p1 + kAhead);
    }
    __m512i scv[2][4];
    uint64_t sc0, m0, sc1, m1;
    q4_k_scales(p0 + 4, &sc0, &m0);
    q4_k_scales(p1 + 4, &sc1, &m1);
    const __m512i sc16_0 =
        _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(sc0))));
    const __m512i sc16_1 =
        _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(sc1))));
    for (int c = 0; c < 4; ++c) {
      scv[0][c] = _mm512_permutexvar_epi16(sc_idx[c], sc16_0);
      scv[1][c] = _mm512_permutexvar_epi16(sc_idx[c], sc16_1);
    }
    const __m512i mins = _mm512_permutexvar_epi16(
        m_idx, _mm512_castsi256_si512(_mm256_cvtepu8_epi16(
                   _mm_set_epi64x(static_cast<long long>(m1), static_cast<long long>(m0)))));
    const __m512 dv = _mm512_insertf32x8(_mm512_set1_ps(f16_at(p0)), _mm256_set1_ps(f16_at(p1)), 1);
    const __m512 dminv =
        _mm512_insertf32x8(_mm512_set1_ps(f16_at(p0 + 2)), _mm256_set1_ps(f16_at(p1 + 2)), 1);
    __m512i isum[2][T];
    for (int t = 0; t < T; ++t) isum[0][t] = isum[1][t] = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0 + 16 + 32 * c));
      const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p1 + 16 + 32 * c));
      const __m512i w0 = _mm512_and_si512(
          _mm512_srlv_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q0, 1), half_shift),
          low4);
      const __m512i w1 = _mm512_and_si512(
          _mm512_srlv_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(q1), q1, 1), half_shift),
          low4);
      for (int t = 0; t < T; ++t) {
        const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
        const __m512i a = _mm512_loadu_si512(blk->q + 64 * c);
        isum[0][t] = _mm512_dpwssd_epi32(isum[0][t], _mm512_maddubs_epi16(w0, a), scv[0][c]);
        isum[1][t] = _mm512_dpwssd_epi32(isum[1][t], _mm512_maddubs_epi16(w1, a), scv[1][c]);
      }
    }
    for (int t = 0; t < T; ++t) {
      const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
      // 128-bit quarters 0, 1 of row 0 and of row 1, plus quarters 2, 3 of each
      const __m512i both = _mm512_add_epi32(_mm512_shuffle_i64x2(isum[0][t], isum[1][t], 0x44),
                                            _mm512_shuffle_i64x2(isum[0][t], isum[1][t], 0xEE));
      const __m512i bs =
          _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->bsums)));
      const __m512 sum = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(_mm512_madd_epi16(mins, bs)), dminv,
                                          _mm512_mul_ps(_mm512_cvtepi32_ps(both), dv));
      acc[t] = _mm512_fmadd_ps(sum, _mm512_set1_ps(blk->d), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    y[t * ldy] = hsum(_mm512_maskz_mov_ps(0x00FF, acc[t]));
    y[t * ldy + 1] = hsum(_mm512_maskz_mov_ps(0xFF00, acc[t]));
  }
}

// ---- Q4_K in groups of 16 rows (r16) ------------------------------------------------------------
// One 64-byte vector of a sub-block quarter holds 4 consecutive weights of each of the 16 rows in
// its low nibbles and the next 4 in its high ones, so vpdpbusd against the token's 4 activations
// broadcast to every lane gives 16 rows' partial sums at once: no horizontal sums, and the scales
// and mins of a sub-block are per-lane float vectors shared by all T tokens. Per token and
// sub-block: 8 vpdpbusd, one conversion and two FMAs for 16 x 32 products.
// start + the 16 rows' sums over 32 weights: wq[2c] holds weights 8c..8c+3 of each row (unsigned),
// wq[2c + 1] weights 8c+4..8c+7; a: the 32 activations. Two chains, so that a token's sums are not
// one latency-bound chain of eight.
inline __m512i dot32_r16(const __m512i wq[8], const int8_t* a, __m512i start) {
  __m512i s0 = start, s1 = _mm512_setzero_si512();
  for (int c = 0; c < 4; ++c) {
    int32_t a0, a1;
    std::memcpy(&a0, a + 8 * c, 4);
    std::memcpy(&a1, a + 8 * c + 4, 4);
    s0 = _mm512_dpbusd_epi32(s0, wq[2 * c], _mm512_set1_epi32(a0));
    s1 = _mm512_dpbusd_epi32(s1, wq[2 * c + 1], _mm512_set1_epi32(a1));
  }
  return _mm512_add_epi32(s0, s1);
}

template <int T>
void tile_q4_k_r16(const uint8_t* g, const uint8_t* x, size_t xs, int64_t n, float* y,
                   int64_t ldy) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i k15 = _mm512_set1_epi32(0x0F), k48 = _mm512_set1_epi32(0x30);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < n / 256; ++s) {
    const uint8_t* p = g + s * kQ4kR16Block;
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    const __m512 dmin =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)));
    // Sums of 32 activations per sub-block, as floats, per token.
    alignas(32) float bsum[T][8];
    for (int t = 0; t < T; ++t) {
      const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
      const __m256i b16 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->bsums));
      _mm256_store_ps(bsum[t], _mm256_cvtepi32_ps(_mm256_madd_epi16(b16, _mm256_set1_epi16(1))));
    }
    __m512 f[T];
    for (int t = 0; t < T; ++t) f[t] = _mm512_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      const __m512i lsc =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 64 + 16 * i)));
      const __m512i lm =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 128 + 16 * i)));
      const __m512i hi =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 192 + 16 * i)));
      const __m512i sc[2] = {_mm512_or_si512(_mm512_and_si512(lsc, k15),
                                             _mm512_and_si512(_mm512_slli_epi32(hi, 4), k48)),
                             _mm512_or_si512(_mm512_srli_epi32(lsc, 4), _mm512_and_si512(hi, k48))};
      const __m512i mn[2] = {_mm512_or_si512(_mm512_and_si512(lm, k15),
                                             _mm512_and_si512(_mm512_slli_epi32(hi, 2), k48)),
                             _mm512_or_si512(_mm512_srli_epi32(lm, 4),
                                             _mm512_and_si512(_mm512_srli_epi32(hi, 2), k48))};
      for (int h = 0; h < 2; ++h) {
        const int j = 2 * i + h;
        const __m512 scf = _mm512_mul_ps(_mm512_cvtepi32_ps(sc[h]), d);
        const __m512 mf = _mm512_mul_ps(_mm512_cvtepi32_ps(mn[h]), dmin);
        const uint8_t* q = p + 256 + 256 * j;
        if constexpr (T == 1) prefetch_block<256>(q + kPrefetchAhead);
        __m512i wq[8];
        for (int c = 0; c < 4; ++c) {
          const __m512i v = _mm512_loadu_si512(q + 64 * c);
          wq[2 * c] = _mm512_and_si512(v, low4);
          wq[2 * c + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
        }
        for (int t = 0; t < T; ++t) {
          const int8_t* a = (reinterpret_cast<const BlockQ8K*>(x + t * xs) + s)->q + 32 * j;
          f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot32_r16(wq, a, _mm512_setzero_si512())), scf,
                                 f[t]);
          f[t] = _mm512_fnmadd_ps(mf, _mm512_set1_ps(bsum[t][j]), f[t]);
        }
      }
    }
    for (int t = 0; t < T; ++t) {
      const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
      acc[t] = _mm512_fmadd_ps(f[t], _mm512_set1_ps(blk->d), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// Q6_K r16: per sub-block of 32, the 8 weight vectors are the nibbles of Q4_K's layout with their
// top 2 bits merged in from two vectors (vpternlogd); the two halves of 16 weights have their own
// int8 scales, so each gets its own sums: 4 vpdpbusd from a start of -32 times the activations'
// sum of 16, then a conversion and an FMA with the 16 rows' scales.
template <int T>
void tile_q6_k_r16(const uint8_t* g, const uint8_t* x, size_t xs, int64_t n, float* y,
                   int64_t ldy) {
  const __m512i low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < n / 256; ++s) {
    const uint8_t* p = g + s * kQ6kR16Block;
    if constexpr (T == 1) prefetch_block<kQ6kR16Block>(p + kQ6kR16Block);
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    __m512 f[T];
    for (int t = 0; t < T; ++t) f[t] = _mm512_setzero_ps();
    for (int j = 0; j < 8; ++j) {
      __m512i wq[8];
      for (int c = 0; c < 4; ++c) {
        const __m512i v = _mm512_loadu_si512(p + 288 + 256 * j + 64 * c);
        wq[2 * c] = _mm512_and_si512(v, low4);
        wq[2 * c + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      }
      for (int h = 0; h < 2; ++h) {
        const __m512i hv = _mm512_loadu_si512(p + 2336 + 128 * j + 64 * h);
        const __m512i moved[4] = {_mm512_slli_epi16(hv, 4), _mm512_slli_epi16(hv, 2), hv,
                                  _mm512_srli_epi16(hv, 2)};
        for (int i = 0; i < 4; ++i)  // wq | (moved & 0x30)
          wq[4 * h + i] = _mm512_ternarylogic_epi32(wq[4 * h + i], moved[i], bits45, 0xF8);
      }
      __m512 scf[2];
      for (int h = 0; h < 2; ++h)
        scf[h] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(
                                   reinterpret_cast<const __m128i*>(p + 32 + 16 * (2 * j + h))))),
                               d);
      for (int t = 0; t < T; ++t) {
        const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
        const int8_t* a = blk->q + 32 * j;
        for (int h = 0; h < 2; ++h) {
          __m512i sum = _mm512_set1_epi32(-32 * blk->bsums[2 * j + h]);
          for (int i = 0; i < 4; ++i) {
            int32_t a4;
            std::memcpy(&a4, a + 16 * h + 4 * i, 4);
            sum = _mm512_dpbusd_epi32(sum, wq[4 * h + i], _mm512_set1_epi32(a4));
          }
          f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scf[h], f[t]);
        }
      }
    }
    for (int t = 0; t < T; ++t) {
      const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
      acc[t] = _mm512_fmadd_ps(f[t], _mm512_set1_ps(blk->d), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// Float r16 (F16, BF16, F32): one vector holds weight k of all 16 rows, so each token's
// activation k, broadcast, multiplies it into the 16 rows' sums: an outer product per k, no
// horizontal sums. With fewer than 4 tokens, U independent sums per token keep the FMA chains
// short.
template <FloatKind kKind>
inline __m512 load16_r16(const uint8_t* p) {
  if constexpr (kKind == FloatKind::f32) return _mm512_loadu_ps(p);
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if constexpr (kKind == FloatKind::f16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

template <FloatKind kKind, int T>
void tile_float_r16(const uint8_t* g, const uint8_t* x, size_t xs, int64_t n, float* y,
                    int64_t ldy) {
  constexpr int kStride = kR16Rows * (kKind == FloatKind::f32 ? 4 : 2);  // bytes per k
  constexpr int U = T >= 4 ? 1 : T == 1 ? 4 : 2;
  __m512 acc[U][T];
  for (int u = 0; u < U; ++u)
    for (int t = 0; t < T; ++t) acc[u][t] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + U <= n; k += U) {
    if constexpr (T == 1)
      _mm_prefetch(reinterpret_cast<const char*>(g + kStride * k + kPrefetchAhead), _MM_HINT_T0);
    for (int u = 0; u < U; ++u) {
      const __m512 w = load16_r16<kKind>(g + kStride * (k + u));
      for (int t = 0; t < T; ++t)
        acc[u][t] = _mm512_fmadd_ps(
            w, _mm512_set1_ps(reinterpret_cast<const float*>(x + t * xs)[k + u]), acc[u][t]);
    }
  }
  for (; k < n; ++k) {
    const __m512 w = load16_r16<kKind>(g + kStride * k);
    for (int t = 0; t < T; ++t)
      acc[0][t] = _mm512_fmadd_ps(w, _mm512_set1_ps(reinterpret_cast<const float*>(x + t * xs)[k]),
                                  acc[0][t]);
  }
  for (int t = 0; t < T; ++t) {
    __m512 sum = acc[0][t];
    for (int u = 1; u < U; ++u) sum = _mm512_add_ps(sum, acc[u][t]);
    _mm512_storeu_ps(y + t * ldy, sum);
  }
}

// ---- Q8_0, Q4_0, Q5_0 in groups of 16 rows (r16) ------------------------------------------------
// As tile_q4_k_r16 for blocks of 32: per token and block, 8 vpdpbusd of the unsigned weights
// (Q8_0: q + 128; Q4_0: the nibble; Q5_0: nibble + 16 * bit) against broadcast activations give
// 16 rows' sums; the offset (128, 8 or 16) times the block's activation sum, which the Q8 layout
// carries, is subtracted once, and the row scales times the token's scale weight the block.
template <Q32 kType, int T>
void tile_q32_r16(const uint8_t* g, const uint8_t* x, size_t xs, int64_t n, float* y, int64_t ldy) {
  constexpr size_t kBlock = kType == Q32::q8_0 ? 544 : kType == Q32::q4_0 ? 288 : 352;
  constexpr int kOffset = kType == Q32::q8_0 ? 128 : kType == Q32::q4_0 ? 8 : 16;
  constexpr int kNibbles = kType == Q32::q5_0 ? 96 : 32;
  const __m512i low4 = _mm512_set1_epi8(0x0F), bit4 = _mm512_set1_epi8(0x10);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* p = g + b * kBlock;
    if constexpr (T == 1) prefetch_block<kBlock>(p + kPrefetchAhead / kBlock * kBlock);
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    __m512i wq[8];  // wq[2c]: weights 8c..8c+3 of each row, wq[2c + 1]: 8c+4..8c+7
    if constexpr (kType == Q32::q8_0) {
      for (int c = 0; c < 8; ++c) wq[c] = _mm512_loadu_si512(p + 32 + 64 * c);
    } else {
      for (int c = 0; c < 4; ++c) {
        const __m512i v = _mm512_loadu_si512(p + kNibbles + 64 * c);
        wq[2 * c] = _mm512_and_si512(v, low4);
        wq[2 * c + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      }
      if constexpr (kType == Q32::q5_0) {
        // Bit 2c (2c + 1) of each byte of the high-bit vector to bit 4 of wq[2c] (wq[2c + 1]);
        // shifts of 16-bit lanes, masked to bit 4 of each byte, move bits within their byte.
        const __m512i h = _mm512_loadu_si512(p + 32);
        const __m512i moved[8] = {_mm512_slli_epi16(h, 4),
                                  _mm512_slli_epi16(h, 3),
                                  _mm512_slli_epi16(h, 2),
                                  _mm512_slli_epi16(h, 1),
                                  h,
                                  _mm512_srli_epi16(h, 1),
                                  _mm512_srli_epi16(h, 2),
                                  _mm512_srli_epi16(h, 3)};
        for (int c = 0; c < 8; ++c)  // wq | (moved & bit4)
          wq[c] = _mm512_ternarylogic_epi32(wq[c], moved[c], bit4, 0xF8);
      }
    }
    for (int t = 0; t < T; ++t) {
      const uint8_t* xq = x + t * xs;
      const int8_t* a = reinterpret_cast<const int8_t*>(xq) + 32 * b;
      const float xd = reinterpret_cast<const float*>(xq + n)[b];
      const int32_t xsum = reinterpret_cast<const int32_t*>(xq + n + n / 32 * 4)[b];
      const __m512i dot = dot32_r16(wq, a, _mm512_set1_epi32(-kOffset * xsum));
      acc[t] =
          _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(d, _mm512_set1_ps(xd)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// Groups by tokens: up to 8 tokens per tile, in blocks of 64 tokens as gemm() below.
template <template <int> class kTile>
void gemm_r16(const uint8_t* w, size_t rb, int64_t n_rows, const uint8_t* x, size_t xs, int n_tok,
              int64_t n, float* y, int64_t ldy) {
  using Tile = void (*)(const uint8_t*, const uint8_t*, size_t, int64_t, float*, int64_t);
  static constexpr Tile kTiles[] = {kTile<1>::run, kTile<2>::run, kTile<3>::run, kTile<4>::run,
                                    kTile<5>::run, kTile<6>::run, kTile<7>::run, kTile<8>::run};
  const size_t group_bytes = kR16Rows * rb;
  constexpr int kTokenBlock = 64;
  for (int t0 = 0; t0 < n_tok; t0 += kTokenBlock) {
    const int t1 = n_tok - t0 < kTokenBlock ? n_tok : t0 + kTokenBlock;
    for (int64_t r = 0; r < n_rows; r += kR16Rows)
      for (int t = t0; t < t1; t += 8) {
        const int m = t1 - t < 8 ? t1 - t : 8;
        kTiles[m - 1](w + r / kR16Rows * group_bytes, x + t * xs, xs, n, y + t * ldy + r, ldy);
      }
  }
}

template <int T>
struct TileQ4kR16 {
  static void run(const uint8_t* g, const uint8_t* x, size_t xs, int64_t n, float* y, int64_t ldy) {
    tile_q4_k_r16<T>(g, x, xs, n, y, ldy);
  }
};
template <int T>
struct TileQ6kR16 {
  static void run(const uint8_t* g, const uint8_t* x, size_t xs, int64_t n, float* y, int64_t ldy) {
    tile_q6_k_r16<T>(g, x, xs, n, y, ldy);
  }
};
template <FloatKind kKind>
struct TileFloatR16 {
  template <int T>
  struct Tile {
    static void run(const uint8_t* g, const uint8_t* x, size_t xs, int64_t n, float* y,
                    int64_t ldy) {
      tile_float_r16<kKind, T>(g, x, xs, n, y, ldy);
    }
  };
};
template <Q32 kType>
struct TileQ32R16 {
  template <int T>
  struct Tile {
    static void run(const uint8_t* g, const uint8_t* x, size_t xs, int64_t n, float* y,
                    int64_t ldy) {
      tile_q32_r16<kType, T>(g, x, xs, n, y, ldy);
    }
  };
};

// ---- Q6_K ---------------------------------------------------------------------------------------
// Step c covers elements 64c..64c+63 = (h = c / 2, k = 2(c % 2) and k + 1): low bits from the 64
// bytes ql[64h..] (low nibbles for even c, high for odd), high bits from the 32 bytes qh[32h..]
// (bits 0-1 / 2-3 for even c, 4-5 / 6-7 for odd). q (0..63) times the activation by vpmaddubsw,
// times the int8 scale of each 16 by vpdpwssd; the -32 offset is -32 * scale * (sum of 16).
// The 64 six-bit values (0..63) of step c of the super-block at p.
inline __m512i q6_k_step(const uint8_t* p, int c) {
  const __m512i low4 = _mm512_set1_epi8(0x0F), low2 = _mm512_set1_epi8(3);
  const int h = c / 2;
  const __m512i l = _mm512_loadu_si512(p + 64 * h);
  const __m512i lo =
      (c % 2 == 0) ? _mm512_and_si512(l, low4) : _mm512_and_si512(_mm512_srli_epi16(l, 4), low4);
  const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * h));
  const __m512i hv = _mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1);
  // bits 0-1 / 2-3 of qh for even steps, 4-5 / 6-7 for odd ones (per 256-bit half)
  const __m512i shift = (c % 2 == 0)
                            ? _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1)
                            : _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
  const __m512i hi = _mm512_and_si512(_mm512_srlv_epi16(hv, shift), low2);
  return _mm512_or_si512(lo, _mm512_slli_epi16(hi, 4));
}

template <int R, int T>
void tile_q6_k(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
               int64_t ldy) {
  __m512i sc_idx[4];  // int16 lane i of step c: scale 4c + i / 8
  step_scale_index(sc_idx, 4, 8);
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < n / 256; ++s) {
    __m512i scv[R][4];
    __m256i off[R];  // -32 * scale, int16 per 16
    float d[R];
    for (int r = 0; r < R; ++r) {
      const uint8_t* p = w + r * rb + s * 210;
      d[r] = f16_at(p + 208);
      const __m256i sc16 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 192)));
      for (int c = 0; c < 4; ++c)
        scv[r][c] = _mm512_permutexvar_epi16(sc_idx[c], _mm512_castsi256_si512(sc16));
      off[r] = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 5));
    }
    __m512i isum[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) isum[r][t] = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      __m512i wq[R];
      for (int r = 0; r < R; ++r) {
        wq[r] = q6_k_step(w + r * rb + s * 210, c);
      }
      for (int t = 0; t < T; ++t) {
        const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
        const __m512i a = _mm512_loadu_si512(blk->q + 64 * c);
        for (int r = 0; r < R; ++r)
          isum[r][t] = _mm512_dpwssd_epi32(isum[r][t], _mm512_maddubs_epi16(wq[r], a), scv[r][c]);
      }
    }
    for (int t = 0; t < T; ++t) {
      const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
      const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->bsums));
      for (int r = 0; r < R; ++r) {
        const __m512i total =
            _mm512_add_epi32(isum[r][t], _mm512_zextsi256_si512(_mm256_madd_epi16(off[r], bsums)));
        acc[r][t] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_set1_ps(d[r] * blk->d), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[t * ldy + r] = hsum(acc[r][t]);
}

// Two rows by T tokens: as tile_q6_k, with the pair's integer sums folded into one vector per
// token (lanes 0-7: row 0, 8-15: row 1, as in tile_q4_k_pair) and both rows' -32 offsets added in
// that layout by one vpmaddwd, before a single conversion and scaling.
template <int T>
void tile_q6_k_pair(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
                    int64_t ldy) {
  __m512i sc_idx[4];  // int16 lane i of step c: scale 4c + i / 8
  step_scale_index(sc_idx, 4, 8);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < n / 256; ++s) {
    const uint8_t* p[2] = {w + s * 210, w + rb + s * 210};
    if constexpr (T == 1) {
      constexpr int kAhead = kPrefetchAhead / 210 * 210;
      prefetch_block<210>(p[0] + kAhead);
      prefetch_block<210>(p[1] + kAhead);
    }
    __m512i scv[2][4];
    __m256i sc16[2];
    for (int r = 0; r < 2; ++r) {
      sc16[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p[r] + 192)));
      for (int c = 0; c < 4; ++c)
        scv[r][c] = _mm512_permutexvar_epi16(sc_idx[c], _mm512_castsi256_si512(sc16[r]));
    }
    // -32 * scale of every 16, row 0's then row 1's
    const __m512i off = _mm512_sub_epi16(
        _mm512_setzero_si512(),
        _mm512_slli_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(sc16[0]), sc16[1], 1), 5));
    const __m512 dv = _mm512_insertf32x8(_mm512_set1_ps(f16_at(p[0] + 208)),
                                         _mm256_set1_ps(f16_at(p[1] + 208)), 1);
    __m512i isum[2][T];
    for (int t = 0; t < T; ++t) isum[0][t] = isum[1][t] = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      __m512i wq[2];
      for (int r = 0; r < 2; ++r) {
        wq[r] = q6_k_step(p[r], c);
      }
      for (int t = 0; t < T; ++t) {
        const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
        const __m512i a = _mm512_loadu_si512(blk->q + 64 * c);
        isum[0][t] = _mm512_dpwssd_epi32(isum[0][t], _mm512_maddubs_epi16(wq[0], a), scv[0][c]);
        isum[1][t] = _mm512_dpwssd_epi32(isum[1][t], _mm512_maddubs_epi16(wq[1], a), scv[1][c]);
      }
    }
    for (int t = 0; t < T; ++t) {
      const auto* blk = reinterpret_cast<const BlockQ8K*>(x + t * xs) + s;
      const __m512i both = _mm512_add_epi32(_mm512_shuffle_i64x2(isum[0][t], isum[1][t], 0x44),
                                            _mm512_shuffle_i64x2(isum[0][t], isum[1][t], 0xEE));
      const __m512i bs =
          _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->bsums)));
      const __m512i total = _mm512_add_epi32(both, _mm512_madd_epi16(off, bs));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_mul_ps(dv, _mm512_set1_ps(blk->d)),
                               acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    y[t * ldy] = hsum(_mm512_maskz_mov_ps(0x00FF, acc[t]));
    y[t * ldy + 1] = hsum(_mm512_maskz_mov_ps(0xFF00, acc[t]));
  }
}

// ---- F16, BF16, F32 -----------------------------------------------------------------------------
// 16 values per step; a row's 16 are widened once for all T tokens.

template <FloatKind kKind>
inline __m512 load_row16(const uint8_t* row, int64_t i, __mmask16 mask) {
  if constexpr (kKind == FloatKind::f32) {
    return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(row) + i);
  } else {
    const __m256i h = _mm256_maskz_loadu_epi16(mask, row + 2 * i);
    if constexpr (kKind == FloatKind::f16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

template <FloatKind kKind, int R, int T>
void tile_float(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
                int64_t ldy) {
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask =
        n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 wv[R];
    for (int r = 0; r < R; ++r) wv[r] = load_row16<kKind>(w + r * rb, i, mask);
    for (int t = 0; t < T; ++t) {
      const __m512 a = _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(x + t * xs) + i);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], a, acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[t * ldy + r] = hsum(acc[r][t]);
}

// ---- driver -------------------------------------------------------------------------------------

using TileFn = void (*)(const uint8_t*, size_t, const uint8_t*, size_t, int64_t, float*, int64_t);

// Covers rows x tokens with R x T tiles (R x 1, 1 x T and 1 x 1 at the edges). Tokens go in
// blocks of 64 so that a block's activations stay in L2 while the rows stream past. Batches
// narrower than T (decode) take 2 rows at a time: memory-bound there, and fewer concurrent
// row streams measured faster than 4.
template <int R, int T, TileFn kTile, TileFn kTileR1, TileFn kTile1T, TileFn kTile11,
          TileFn kTile21>
void gemm(const uint8_t* w, size_t rb, int64_t n_rows, const uint8_t* x, size_t xs, int n_tok,
          int64_t n, float* y, int64_t ldy) {
  if (n_tok < T) {
    for (int t = 0; t < n_tok; ++t) {
      int64_t r = 0;
      for (; r + 2 <= n_rows; r += 2)
        kTile21(w + r * rb, rb, x + t * xs, xs, n, y + t * ldy + r, ldy);
      for (; r < n_rows; ++r) kTile11(w + r * rb, rb, x + t * xs, xs, n, y + t * ldy + r, ldy);
    }
    return;
  }
  constexpr int kTokenBlock = 64;
  for (int t0 = 0; t0 < n_tok; t0 += kTokenBlock) {
    const int t1 = n_tok - t0 < kTokenBlock ? n_tok : t0 + kTokenBlock;
    int64_t r = 0;
    for (; r + R <= n_rows; r += R) {
      int t = t0;
      for (; t + T <= t1; t += T) kTile(w + r * rb, rb, x + t * xs, xs, n, y + t * ldy + r, ldy);
      for (; t < t1; ++t) kTileR1(w + r * rb, rb, x + t * xs, xs, n, y + t * ldy + r, ldy);
    }
    for (; r < n_rows; ++r) {
      int t = t0;
      for (; t + T <= t1; t += T) kTile1T(w + r * rb, rb, x + t * xs, xs, n, y + t * ldy + r, ldy);
      for (; t < t1; ++t) kTile11(w + r * rb, rb, x + t * xs, xs, n, y + t * ldy + r, ldy);
    }
  }
}

template <template <int, int> class Tile, int R, int T>
constexpr GemmFn make_gemm() {
  return gemm<R, T, Tile<R, T>::run, Tile<R, 1>::run, Tile<1, T>::run, Tile<1, 1>::run,
              Tile<2, 1>::run>;
}

template <int R, int T>
struct TileQ8_0 {
  static void run(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
                  int64_t ldy) {
    tile_q_32<Q32::q8_0, R, T>(w, rb, x, xs, n, y, ldy);
  }
};
template <int R, int T>
struct TileQ4_0 {
  static void run(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
                  int64_t ldy) {
    tile_q_32<Q32::q4_0, R, T>(w, rb, x, xs, n, y, ldy);
  }
};
template <int R, int T>
struct TileQ5_0 {
  static void run(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
                  int64_t ldy) {
    tile_q_32<Q32::q5_0, R, T>(w, rb, x, xs, n, y, ldy);
  }
};
template <int R, int T>
struct TileQ4_K {
  static void run(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
                  int64_t ldy) {
    if constexpr (R == 2) {
      tile_q4_k_pair<T>(w, rb, x, xs, n, y, ldy);
    } else {
      tile_q4_k<R, T>(w, rb, x, xs, n, y, ldy);
    }
  }
};
template <int R, int T>
struct TileQ6_K {
  static void run(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
                  int64_t ldy) {
    if constexpr (R == 2) {
      tile_q6_k_pair<T>(w, rb, x, xs, n, y, ldy);
    } else {
      tile_q6_k<R, T>(w, rb, x, xs, n, y, ldy);
    }
  }
};
template <FloatKind kKind>
struct FloatTiles {
  template <int R, int T>
  struct Tile {
    static void run(const uint8_t* w, size_t rb, const uint8_t* x, size_t xs, int64_t n, float* y,
                    int64_t ldy) {
      tile_float<kKind, R, T>(w, rb, x, xs, n, y, ldy);
    }
  };
};

// ---- element-wise ------------------------------------------------------------------------------

// exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln(2) / 2, exp(r) by its Taylor polynomial
// of degree 6 (relative error below 2e-7 there); ln 2 split in two for an exact reduction.
inline __m512 exp16(__m512 x) {
  x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.7f)), _mm512_set1_ps(-87.3f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// gate * sigmoid(z) * up with z = gate (SiLU) or z = 2 sqrt(2/pi) (gate + 0.044715 gate^3) (the
// tanh GELU: 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u))).
template <bool kGelu>
void gated(float* gate, const float* up, int64_t n) {
  constexpr float kC1 = 2.0f * 0.79788456080286535588f, kC3 = kC1 * 0.044715f;
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m =
        n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    __m512 z = g;
    if constexpr (kGelu)
      z = _mm512_mul_ps(
          g, _mm512_fmadd_ps(_mm512_mul_ps(g, g), _mm512_set1_ps(kC3), _mm512_set1_ps(kC1)));
    const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), z));
    const __m512 s = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

float exp_sum(float* x, int64_t n, float max) {
  __m512 sum = _mm512_setzero_ps();
  const __m512 mx = _mm512_set1_ps(max);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m =
        n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mx));
    _mm512_mask_storeu_ps(x + i, m, e);
    sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(m, e));
  }
  return hsum(sum);
}

// ---- attention ----------------------------------------------------------------------------------
// Scores: a tile of NT queries by NP vectors of 16 positions; per dimension one row of 16 keys
// per vector, times each query's value broadcast. Values: a tile of NT queries by NC vectors of
// 16 dimensions; per position the value vectors once, times each query's weight broadcast.

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

inline __m512 load_kv16(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
inline __m512 load_kv16(const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}

// Positions [0, n_p) for NT queries, NP vectors at a time, the rest one (masked) vector at a time.
template <int NT, int NP, class E>
void scores_rows(const float* q, int64_t qs, const E* kt, int64_t ld, int hd, int n_p, float scale,
                 float* s, int64_t ss) {
  const __m512 vscale = _mm512_set1_ps(scale);
  int j = 0;
  for (; j + 16 * NP <= n_p; j += 16 * NP) {
    __m512 acc[NT][NP];
    for (int t = 0; t < NT; ++t)
      for (int c = 0; c < NP; ++c) acc[t][c] = _mm512_setzero_ps();
    for (int i = 0; i < hd; ++i) {
      __m512 k[NP];
      for (int c = 0; c < NP; ++c) k[c] = load_kv16(kt + i * ld + j + 16 * c, 0xFFFF);
      for (int t = 0; t < NT; ++t) {
        const __m512 qv = _mm512_set1_ps(q[t * qs + i]);
        for (int c = 0; c < NP; ++c) acc[t][c] = _mm512_fmadd_ps(qv, k[c], acc[t][c]);
      }
    }
    for (int t = 0; t < NT; ++t)
      for (int c = 0; c < NP; ++c)
        _mm512_storeu_ps(s + t * ss + j + 16 * c, _mm512_mul_ps(acc[t][c], vscale));
  }
  for (; j < n_p; j += 16) {
    const __mmask16 m = tail_mask(n_p - j);
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
    for (int i = 0; i < hd; ++i) {
      const __m512 k = load_kv16(kt + i * ld + j, m);
      for (int t = 0; t < NT; ++t)
        acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(q[t * qs + i]), k, acc[t]);
    }
    for (int t = 0; t < NT; ++t)
      _mm512_mask_storeu_ps(s + t * ss + j, m, _mm512_mul_ps(acc[t], vscale));
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

// Dimensions [0, 16 * NC) (the last vector masked by `last`) for NT queries.
template <int NT, int NC, class E>
void values_tile(const float* a, int64_t as, const E* v, int64_t vs, int n_p, float* out,
                 int64_t os, __mmask16 last) {
  __m512 acc[NT][NC];
  for (int t = 0; t < NT; ++t)
    for (int c = 0; c < NC; ++c) acc[t][c] = _mm512_setzero_ps();
  for (int j = 0; j < n_p; ++j) {
    __m512 vv[NC];
    for (int c = 0; c < NC; ++c)
      vv[c] = load_kv16(v + j * vs + 16 * c, c == NC - 1 ? last : static_cast<__mmask16>(0xFFFF));
    for (int t = 0; t < NT; ++t) {
      const __m512 av = _mm512_set1_ps(a[t * as + j]);
      for (int c = 0; c < NC; ++c) acc[t][c] = _mm512_fmadd_ps(av, vv[c], acc[t][c]);
    }
  }
  for (int t = 0; t < NT; ++t)
    for (int c = 0; c < NC; ++c)
      _mm512_mask_storeu_ps(out + t * os + 16 * c,
                            c == NC - 1 ? last : static_cast<__mmask16>(0xFFFF), acc[t][c]);
}

template <class E>
using ValuesTileFn = void (*)(const float*, int64_t, const E*, int64_t, int, float*, int64_t,
                              __mmask16);

template <int NT, class E>
constexpr ValuesTileFn<E> values_tile_for(int nc) {
  return nc == 1   ? values_tile<NT, 1, E>
         : nc == 2 ? values_tile<NT, 2, E>
         : nc == 3 ? values_tile<NT, 3, E>
                   : values_tile<NT, 4, E>;
}

template <class E>
void attn_values(const float* a, int64_t as, int n_q, const void* v_, int64_t vs, int hd, int n_p,
                 float* out, int64_t os) {
  const E* v = static_cast<const E*>(v_);
  for (int i = 0; i < hd; i += 64) {
    const int nc = ((hd - i < 64 ? hd - i : 64) + 15) / 16;
    const __mmask16 last = tail_mask(hd - i - 16 * (nc - 1));
    int t = 0;
    for (; t + 4 <= n_q; t += 4)
      values_tile_for<4, E>(nc)(a + t * as, as, v + i, vs, n_p, out + t * os + i, os, last);
    const int left = n_q - t;
    if (left == 0) continue;
    const ValuesTileFn<E> fn = left == 1   ? values_tile_for<1, E>(nc)
                               : left == 2 ? values_tile_for<2, E>(nc)
                                           : values_tile_for<3, E>(nc);
    fn(a + t * as, as, v + i, vs, n_p, out + t * os + i, os, last);
  }
}

void to_f16(const float* x, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(dst + i, m, h);
  }
}

const Kernels kAvx512 = {
    "avx512vnni",
    quantize_q8,
    quantize_q8_k,
    {make_gemm<TileQ8_0, 4, 4>(), make_gemm<TileQ4_0, 4, 4>(), make_gemm<TileQ5_0, 4, 4>(),
     make_gemm<TileQ4_K, 2, 8>(), make_gemm<TileQ6_K, 2, 4>(),
     make_gemm<FloatTiles<FloatKind::f16>::Tile, 4, 4>(),
     make_gemm<FloatTiles<FloatKind::bf16>::Tile, 4, 4>(),
     make_gemm<FloatTiles<FloatKind::f32>::Tile, 4, 4>(), gemm_r16<TileQ4kR16>,
     gemm_r16<TileQ32R16<Q32::q8_0>::Tile>, gemm_r16<TileQ32R16<Q32::q4_0>::Tile>,
     gemm_r16<TileQ32R16<Q32::q5_0>::Tile>, gemm_r16<TileQ6kR16>,
     gemm_r16<TileFloatR16<FloatKind::f16>::Tile>, gemm_r16<TileFloatR16<FloatKind::bf16>::Tile>,
     gemm_r16<TileFloatR16<FloatKind::f32>::Tile>},
    gated<false>,
    gated<true>,
    exp_sum,
    {attn_scores<uint16_t>, attn_scores<float>},
    {attn_values<uint16_t>, attn_values<float>},
    to_f16,
};

}  // namespace

const Kernels* kernels_avx512() {
  const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma") &&
                  __builtin_cpu_supports("f16c");
  return ok ? &kAvx512 : nullptr;
}

}  // namespace agentrt::engine::cpu

#pragma GCC diagnostic pop

#else  // the compiler was not given the AVX-512 flags (another architecture)

namespace agentrt::engine::cpu {
const Kernels* kernels_avx512() {
  return nullptr;
}
}  // namespace agentrt::engine::cpu

#endif
