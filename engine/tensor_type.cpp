// Tensor types: the type table, fp16/bf16 conversions, and row (de)quantization.
//
// Block layouts are ggml's, as documented by the `gguf` Python package (gguf/quants.py,
// gguf/constants.py). dequantize_row is bit-identical to gguf.quants.dequantize in float32;
// tests/data/quant holds vectors made with that package (scripts/gen_quant_vectors.py).
#include <agentrt/engine/tensor_type.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace agentrt::engine {
namespace {

static_assert(std::endian::native == std::endian::little, "GGUF data is little-endian");

constexpr int64_t kQK4_0 = 32;
constexpr int64_t kQK5_0 = 32;
constexpr int64_t kQK8_0 = 32;
constexpr int64_t kQK_K = 256;  // elements per K-quant super-block

// Byte sizes of one block (gguf/constants.py, GGML_QUANT_SIZES).
constexpr size_t kQ4_0Bytes = 2 + kQK4_0 / 2;                          // d, 16 bytes of nibbles
constexpr size_t kQ5_0Bytes = 2 + 4 + kQK5_0 / 2;                      // d, high bits, nibbles
constexpr size_t kQ8_0Bytes = 2 + kQK8_0;                              // d, 32 int8
constexpr size_t kQ4_KBytes = 2 + 2 + 12 + kQK_K / 2;                  // d, dmin, scales, nibbles
constexpr size_t kQ6_KBytes = kQK_K / 2 + kQK_K / 4 + kQK_K / 16 + 2;  // ql, qh, scales, d

constexpr TensorTypeTraits kF32{"f32", 1, 4};
constexpr TensorTypeTraits kF16{"f16", 1, 2};
constexpr TensorTypeTraits kQ4_0{"q4_0", kQK4_0, kQ4_0Bytes};
constexpr TensorTypeTraits kQ5_0{"q5_0", kQK5_0, kQ5_0Bytes};
constexpr TensorTypeTraits kQ8_0{"q8_0", kQK8_0, kQ8_0Bytes};
constexpr TensorTypeTraits kQ4_K{"q4_K", kQK_K, kQ4_KBytes};
constexpr TensorTypeTraits kQ6_K{"q6_K", kQK_K, kQ6_KBytes};
constexpr TensorTypeTraits kBF16{"bf16", 1, 2};

// Every ggml type id as ggml's type_traits names it; ids ggml retired (4, 5, 31-33, 36-38) and
// ids past the table print as "type N".
constexpr std::array<std::string_view, 42> kGgmlTypeNames = {
    "f32",     "f16",   "q4_0",   "q4_1",  "",      "",       "q5_0", "q5_1",    "q8_0",
    "q8_1",    "q2_K",  "q3_K",   "q4_K",  "q5_K",  "q6_K",   "q8_K", "iq2_xxs", "iq2_xs",
    "iq3_xxs", "iq1_s", "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8",   "i16",     "i32",
    "i64",     "f64",   "iq1_m",  "bf16",  "",      "",       "",     "tq1_0",   "tq2_0",
    "",        "",      "",       "mxfp4", "nvfp4", "q1_0",
};

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store_u16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, sizeof v);
}

inline float load_f16(const uint8_t* p) {
  return fp16_to_fp32(load_u16(p));
}

// x, kept from being fused with the operation that follows into an FMA (GCC contracts across
// statements even in ISO mode), where the reference rounds twice and the result must match it.
inline float unfused(float x) {
  volatile float v = x;
  return v;
}

// ---- dequantization: one block at a time, dst gets block_size floats -------------------------

// Q4_0 (gguf/quants.py Q4_0): low nibbles are elements 0..15, high nibbles 16..31; x = (q-8)*d.
void dequantize_block_q4_0(const uint8_t* b, float* dst) {
  const float d = load_f16(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    dst[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
    dst[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

// Q5_0 (gguf/quants.py Q5_0): d, then a little-endian 32-bit word whose bit j is the fifth bit of
// element j, then 16 bytes of low nibbles laid out as Q4_0's (elements 0..15 low, 16..31 high);
// x = (q-16)*d.
void dequantize_block_q5_0(const uint8_t* b, float* dst) {
  const float d = load_f16(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, sizeof qh);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    dst[j] = static_cast<float>(lo - 16) * d;
    dst[j + 16] = static_cast<float>(hi - 16) * d;
  }
}

// Q8_0: x = q * d.
void dequantize_block_q8_0(const uint8_t* b, float* dst) {
  const float d = load_f16(b);
  const auto* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) dst[j] = static_cast<float>(qs[j]) * d;
}

// The 6-bit scale and min of sub-block j (0..7) from Q4_K's 12 packed bytes: bytes 0..3 hold the
// scales of sub-blocks 0..3, bytes 4..7 their mins, each with 2 spare high bits that are the top
// bits of sub-blocks 4..7, whose low 4 bits sit in bytes 8..11 (scale low, min high nibble).
inline void q4_k_scale_min(const uint8_t* s, int j, uint8_t& sc, uint8_t& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = static_cast<uint8_t>((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
    m = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// Q4_K (gguf/quants.py Q4_K): 8 sub-blocks of 32; qs holds 4 chunks of 32 bytes, chunk c has
// sub-block 2c in its low nibbles and 2c+1 in its high ones. x = (d*sc)*q - (dmin*m). An f16
// times a 6-bit scale times a 4-bit q has at most 21 significant bits, so the products are exact
// and an FMA gives the reference's result too.
void dequantize_block_q4_k(const uint8_t* b, float* dst) {
  const float d = load_f16(b);
  const float dmin = load_f16(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qs = b + 16;
  for (int c = 0; c < 4; ++c) {
    uint8_t sc0, m0, sc1, m1;
    q4_k_scale_min(scales, 2 * c, sc0, m0);
    q4_k_scale_min(scales, 2 * c + 1, sc1, m1);
    const float d0 = d * static_cast<float>(sc0), min0 = dmin * static_cast<float>(m0);
    const float d1 = d * static_cast<float>(sc1), min1 = dmin * static_cast<float>(m1);
    const uint8_t* q = qs + 32 * c;
    float* y = dst + 64 * c;
    for (int l = 0; l < 32; ++l) {
      y[l] = d0 * static_cast<float>(q[l] & 0x0F) - min0;
      y[l + 32] = d1 * static_cast<float>(q[l] >> 4) - min1;
    }
  }
}

// Q6_K (gguf/quants.py Q6_K): two halves of 128 elements. In half h, element 32k + l (k = 0..3,
// l = 0..31) takes its low 4 bits from ql[64h + l + 32(k&1)] (low nibble for k < 2, high for
// k >= 2) and its high 2 bits from qh[32h + l] >> 2k; 16 int8 scales, one per 16 elements.
// x = (d*scale) * (q-32).
void dequantize_block_q6_k(const uint8_t* b, float* dst) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + kQK_K / 2;
  const auto* sc = reinterpret_cast<const int8_t*>(b + kQK_K / 2 + kQK_K / 4);
  const float d = load_f16(b + kQK_K / 2 + kQK_K / 4 + kQK_K / 16);
  for (int h = 0; h < 2; ++h) {
    for (int k = 0; k < 4; ++k) {
      const uint8_t* low = ql + 64 * h + 32 * (k % 2);
      const int low_shift = 4 * (k / 2), high_shift = 2 * k;
      for (int g = 0; g < 2; ++g) {  // groups of 16 sharing one scale
        const float ds = d * static_cast<float>(sc[8 * h + 2 * k + g]);
        float* y = dst + 128 * h + 32 * k + 16 * g;
        for (int l = 16 * g; l < 16 * g + 16; ++l) {
          const int q =
              ((low[l] >> low_shift) & 0x0F) | (((qh[32 * h + l] >> high_shift) & 3) << 4);
          y[l - 16 * g] = ds * static_cast<float>(q - 32);
        }
      }
    }
  }
}

// ---- quantization: one block at a time, src has block_size floats -----------------------------

// The element of largest magnitude, with its sign (the first one on ties, like ggml).
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (amax < std::fabs(x[i])) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

// Q8_0, as ggml's quantize_row_q8_0_ref and gguf/quants.py: d = amax / 127, q = round(x / d)
// with halves away from zero.
void quantize_block_q8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_u16(b, fp32_to_fp16(d));
  auto* qs = reinterpret_cast<int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) qs[j] = static_cast<int8_t>(std::round(x[j] * id));
}

// Q4_0, as ggml's quantize_row_q4_0_ref and gguf/quants.py: d = -max / 8 with max the signed
// value of largest magnitude, so that it lands exactly on q = 0 (-8) and the 16 levels are all
// used; q = min(15, trunc(x / d + 8.5)).
void quantize_block_q4_0(const float* x, uint8_t* b) {
  const float d = signed_absmax(x, 32) / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_u16(b, fp32_to_fp16(d));
  auto nibble = [id](float v) {
    return static_cast<uint8_t>(std::clamp(static_cast<int>(unfused(v * id) + 8.5f), 0, 15));
  };
  for (int j = 0; j < 16; ++j)
    b[2 + j] = static_cast<uint8_t>(nibble(x[j]) | (nibble(x[j + 16]) << 4));
}

// Q5_0, as ggml's quantize_row_q5_0_ref and gguf/quants.py: d = -max / 16 with max the signed
// value of largest magnitude; q = min(31, trunc(x / d + 16.5)). Layout as in
// dequantize_block_q5_0.
void quantize_block_q5_0(const float* x, uint8_t* b) {
  const float d = signed_absmax(x, 32) / -16.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_u16(b, fp32_to_fp16(d));
  auto q5 = [id](float v) {
    return static_cast<uint32_t>(std::clamp(static_cast<int>(unfused(v * id) + 16.5f), 0, 31));
  };
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    const uint32_t lo = q5(x[j]), hi = q5(x[j + 16]);
    b[6 + j] = static_cast<uint8_t>((lo & 0x0F) | ((hi & 0x0F) << 4));
    qh |= (lo >> 4) << j;
    qh |= (hi >> 4) << (j + 16);
  }
  std::memcpy(b + 2, &qh, sizeof qh);
}

// x ~ scale * q - min with q in [0, nmax]: the K-quant sub-block model.
struct AffineFit {
  float scale;
  float min;
};

inline int affine_q(float v, const AffineFit& f, int nmax) {
  if (f.scale <= 0.0f) return 0;
  return std::clamp(static_cast<int>(std::lround((v + f.min) / f.scale)), 0, nmax);
}

float affine_error(const float* x, int n, const AffineFit& f, int nmax) {
  float err = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float e = f.scale * static_cast<float>(affine_q(x[i], f, nmax)) - f.min - x[i];
    err += e * e;
  }
  return err;
}

// Fits one sub-block: for a few step sizes around (max - min) / nmax, round onto that grid, then
// solve the least-squares line through (q, x) for scale and offset; keeps the fit with the least
// squared error. The offset only shifts down (min >= 0), as the format requires.
AffineFit fit_affine(const float* x, int n, int nmax) {
  float lo = std::min(*std::min_element(x, x + n), 0.0f);
  const float hi = *std::max_element(x, x + n);
  if (!(hi > lo)) return {0.0f, -lo};
  AffineFit best{(hi - lo) / static_cast<float>(nmax), -lo};
  float best_err = affine_error(x, n, best, nmax);
  for (int step = -10; step <= 10; ++step) {
    const float iscale = (static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / (hi - lo);
    double sq = 0, sq2 = 0, sx = 0, sqx = 0;
    for (int i = 0; i < n; ++i) {
      const double q = std::clamp(std::round((x[i] - lo) * iscale), 0.0f, static_cast<float>(nmax));
      sq += q;
      sq2 += q * q;
      sx += x[i];
      sqx += q * x[i];
    }
    const double det = n * sq2 - sq * sq;
    if (det <= 0) continue;
    double scale = (n * sqx - sq * sx) / det;
    double offset = (sx - scale * sq) / n;
    if (offset > 0) {
      offset = 0;
      scale = sqx / sq2;
    }
    if (!(scale > 0)) continue;
    const AffineFit fit{static_cast<float>(scale), static_cast<float>(-offset)};
    const float err = affine_error(x, n, fit, nmax);
    if (err < best_err) {
      best = fit;
      best_err = err;
    }
  }
  return best;
}

inline uint8_t quantize_6bit(float v, float d) {
  if (!(d > 0.0f)) return 0;
  return static_cast<uint8_t>(std::clamp(std::lround(v / d), 0L, 63L));
}

// Q4_K: fits each of the 8 sub-blocks, quantizes their scales and mins to 6 bits against
// d = max scale / 63 and dmin = max min / 63, then rounds every weight with the scales as the
// decoder will see them. Layout as in dequantize_block_q4_k.
void quantize_block_q4_k(const float* x, uint8_t* b) {
  std::array<AffineFit, 8> fits;
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    fits[j] = fit_affine(x + 32 * j, 32, 15);
    max_scale = std::max(max_scale, fits[j].scale);
    max_min = std::max(max_min, fits[j].min);
  }
  const uint16_t d16 = fp32_to_fp16(max_scale / 63.0f);
  const uint16_t dmin16 = fp32_to_fp16(max_min / 63.0f);
  const float d = fp16_to_fp32(d16), dmin = fp16_to_fp32(dmin16);
  // Rounding scale and min separately is not the best pair once both are coarse: try the
  // neighbours too, measured with the final rounding of the weights.
  std::array<uint8_t, 8> sc, mn;
  for (int j = 0; j < 8; ++j) {
    const int sc0 = quantize_6bit(fits[j].scale, d), mn0 = quantize_6bit(fits[j].min, dmin);
    float best_err = std::numeric_limits<float>::infinity();
    for (int s = std::max(sc0 - 1, 0); s <= std::min(sc0 + 1, 63); ++s) {
      for (int m = std::max(mn0 - 1, 0); m <= std::min(mn0 + 1, 63); ++m) {
        const AffineFit f{d * static_cast<float>(s), dmin * static_cast<float>(m)};
        const float err = affine_error(x + 32 * j, 32, f, 15);
        if (err < best_err) {
          best_err = err;
          sc[j] = static_cast<uint8_t>(s);
          mn[j] = static_cast<uint8_t>(m);
        }
      }
    }
  }
  std::memset(b, 0, kQ4_KBytes);
  store_u16(b, d16);
  store_u16(b + 2, dmin16);
  uint8_t* s = b + 4;
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4));
  }
  uint8_t* qs = b + 16;
  for (int j = 0; j < 8; ++j) {
    const AffineFit f{d * static_cast<float>(sc[j]), dmin * static_cast<float>(mn[j])};
    for (int l = 0; l < 32; ++l) {
      const int q = affine_q(x[32 * j + l], f, 15);
      qs[32 * (j / 2) + l] |= static_cast<uint8_t>(q << (4 * (j % 2)));
    }
  }
}

inline int symmetric_q(float v, float scale) {
  if (scale == 0.0f) return 0;
  return std::clamp(static_cast<int>(std::lround(v / scale)), -32, 31);
}

float symmetric_error(const float* x, int n, float scale) {
  float err = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float e = scale * static_cast<float>(symmetric_q(x[i], scale)) - x[i];
    err += e * e;
  }
  return err;
}

// Fits x ~ scale * q with q in [-32, 31]: starts from the signed maximum landing on -32 (as
// Q4_0 does), then tries a few nearby grids with the least-squares scale for each.
float fit_symmetric(const float* x, int n) {
  const float max = signed_absmax(x, n);
  if (max == 0.0f) return 0.0f;
  float best = max / -32.0f;
  float best_err = symmetric_error(x, n, best);
  for (int step = -10; step <= 10; ++step) {
    const float iscale = -(32.0f + 0.1f * static_cast<float>(step)) / max;
    double sq2 = 0, sqx = 0;
    for (int i = 0; i < n; ++i) {
      const double q = std::clamp(std::round(x[i] * iscale), -32.0f, 31.0f);
      sq2 += q * q;
      sqx += q * x[i];
    }
    if (sq2 <= 0) continue;
    const auto scale = static_cast<float>(sqx / sq2);
    const float err = symmetric_error(x, n, scale);
    if (err < best_err) {
      best = scale;
      best_err = err;
    }
  }
  return best;
}

// Q6_K: fits each of the 16 groups of 16, quantizes the group scales to int8 against
// d = -(largest signed scale) / 128, then rounds every weight with the decoded scales. Layout as
// in dequantize_block_q6_k.
void quantize_block_q6_k(const float* x, uint8_t* b) {
  std::array<float, 16> scales;
  for (int g = 0; g < 16; ++g) scales[g] = fit_symmetric(x + 16 * g, 16);
  const uint16_t d16 = fp32_to_fp16(signed_absmax(scales.data(), 16) / -128.0f);
  const float d = fp16_to_fp32(d16);
  std::memset(b, 0, kQ6_KBytes);
  uint8_t* ql = b;
  uint8_t* qh = b + kQK_K / 2;
  auto* sc = reinterpret_cast<int8_t*>(b + kQK_K / 2 + kQK_K / 4);
  store_u16(b + kQK_K / 2 + kQK_K / 4 + kQK_K / 16, d16);
  for (int g = 0; g < 16; ++g) {
    sc[g] = d == 0.0f ? int8_t{0}
                      : static_cast<int8_t>(std::clamp(std::lround(scales[g] / d), -128L, 127L));
  }
  for (int e = 0; e < kQK_K; ++e) {
    const int u = symmetric_q(x[e], d * static_cast<float>(sc[e / 16])) + 32;
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    ql[64 * h + l + 32 * (k % 2)] |= static_cast<uint8_t>((u & 0x0F) << (4 * (k / 2)));
    qh[32 * h + l] |= static_cast<uint8_t>((u >> 4) << (2 * k));
  }
}

// ---- whole rows, and the type table ------------------------------------------------------------

template <void (*Block)(const uint8_t*, float*), const TensorTypeTraits& T>
void dequantize_blocks(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / T.block_size; ++i)
    Block(src + static_cast<size_t>(i) * T.type_size, dst + i * T.block_size);
}

template <void (*Block)(const float*, uint8_t*), const TensorTypeTraits& T>
void quantize_blocks(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / T.block_size; ++i)
    Block(src + i * T.block_size, dst + static_cast<size_t>(i) * T.type_size);
}

void copy_f32_from_bytes(const uint8_t* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void copy_f32_to_bytes(const float* src, uint8_t* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

// dst[0..n) = Convert of the n 16-bit values at src. Copying through a local chunk tells the
// compiler that the bytes and dst do not alias, so the conversion loop vectorizes.
template <float (*Convert)(uint16_t)>
void decode_halves(const uint8_t* src, float* dst, int64_t n) {
  constexpr int64_t kChunk = 64;
  std::array<uint16_t, kChunk> h;
  int64_t i = 0;
  for (; i + kChunk <= n; i += kChunk) {
    std::memcpy(h.data(), src + 2 * i, sizeof h);
    for (int64_t j = 0; j < kChunk; ++j) dst[i + j] = Convert(h[static_cast<size_t>(j)]);
  }
  for (; i < n; ++i) dst[i] = Convert(load_u16(src + 2 * i));
}

template <uint16_t (*Convert)(float)>
void encode_halves(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, Convert(src[i]));
}

// The type table: every supported type with its block layout and row codecs (the counterpart of
// ggml's type_traits).
struct SupportedType {
  TensorType type;
  const TensorTypeTraits& traits;
  void (*dequantize)(const uint8_t* src, float* dst, int64_t n);
  void (*quantize)(const float* src, uint8_t* dst, int64_t n);
};

constexpr std::array<SupportedType, 8> kSupportedTypes = {{
    {TensorType::F32, kF32, copy_f32_from_bytes, copy_f32_to_bytes},
    {TensorType::F16, kF16, decode_halves<fp16_to_fp32>, encode_halves<fp32_to_fp16>},
    {TensorType::Q4_0, kQ4_0, dequantize_blocks<dequantize_block_q4_0, kQ4_0>,
     quantize_blocks<quantize_block_q4_0, kQ4_0>},
    {TensorType::Q5_0, kQ5_0, dequantize_blocks<dequantize_block_q5_0, kQ5_0>,
     quantize_blocks<quantize_block_q5_0, kQ5_0>},
    {TensorType::Q8_0, kQ8_0, dequantize_blocks<dequantize_block_q8_0, kQ8_0>,
     quantize_blocks<quantize_block_q8_0, kQ8_0>},
    {TensorType::Q4_K, kQ4_K, dequantize_blocks<dequantize_block_q4_k, kQ4_K>,
     quantize_blocks<quantize_block_q4_k, kQ4_K>},
    {TensorType::Q6_K, kQ6_K, dequantize_blocks<dequantize_block_q6_k, kQ6_K>,
     quantize_blocks<quantize_block_q6_k, kQ6_K>},
    {TensorType::BF16, kBF16, decode_halves<bf16_to_fp32>, encode_halves<fp32_to_bf16>},
}};

const SupportedType* find_supported(uint32_t ggml_type) {
  for (const SupportedType& t : kSupportedTypes)
    if (static_cast<uint32_t>(t.type) == ggml_type) return &t;
  return nullptr;
}

// The entry of a TensorType; only a value cast from outside the enumerators is missing.
const SupportedType& supported(TensorType type) {
  if (const SupportedType* t = find_supported(static_cast<uint32_t>(type))) return *t;
  throw std::invalid_argument("unknown tensor type " + std::to_string(static_cast<uint32_t>(type)));
}

}  // namespace

// ---- type lookups ------------------------------------------------------------------------------

std::optional<TensorType> tensor_type_from_id(uint32_t ggml_type) {
  if (const SupportedType* t = find_supported(ggml_type)) return t->type;
  return std::nullopt;
}

std::string tensor_type_name(uint32_t ggml_type) {
  if (ggml_type < kGgmlTypeNames.size() && !kGgmlTypeNames[ggml_type].empty())
    return std::string(kGgmlTypeNames[ggml_type]);
  return "type " + std::to_string(ggml_type);
}

const TensorTypeTraits& traits(TensorType type) {
  return supported(type).traits;
}

size_t row_size(TensorType type, int64_t n) {
  const TensorTypeTraits& t = traits(type);
  if (n < 0 || n % t.block_size != 0)
    throw std::invalid_argument("row of " + std::to_string(n) +
                                " elements is not a whole number of " + std::string(t.name) +
                                " blocks of " + std::to_string(t.block_size));
  const auto n_blocks = static_cast<size_t>(n / t.block_size);
  if (n_blocks > std::numeric_limits<size_t>::max() / t.type_size)
    throw std::invalid_argument("row of " + std::to_string(n) + " " + std::string(t.name) +
                                " elements does not fit in memory");
  return n_blocks * t.type_size;
}

// ---- scalar conversions -----------------------------------------------------------------------

// Both candidates are computed and one selected, without branches, so that row loops vectorize.
float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t bits = h & 0x7FFFu;  // exponent and mantissa
  const uint32_t exp = bits >> 10;
  // Normal: rebias the exponent by 127 - 15. Inf/NaN: all-ones exponent, payload (and the
  // signalling bit) kept, as numpy does.
  const uint32_t wide = (bits << 13) + (exp == 0x1F ? 0x70000000u : 0x38000000u);
  // Zero or subnormal: mantissa * 2^-24, exact in float.
  const uint32_t small = std::bit_cast<uint32_t>(static_cast<float>(bits) * 0x1p-24f);
  return std::bit_cast<float>(sign | (exp == 0 ? small : wide));
}

uint16_t fp32_to_fp16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u)  // NaN: made quiet, with the top bits of its payload
    return static_cast<uint16_t>(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
  if (ax >= 0x477FF000u)  // 65520 and above round (ties to even) to infinity
    return static_cast<uint16_t>(sign | 0x7C00u);
  if (ax < 0x38800000u) {
    // Below 2^-14: result is subnormal (or rounds up to the smallest normal). Adding 0.5 puts the
    // value's 2^-24 units in the low mantissa bits, and the FPU rounds to nearest even.
    const float shifted = std::bit_cast<float>(ax) + 0.5f;
    return static_cast<uint16_t>(sign | (std::bit_cast<uint32_t>(shifted) - 0x3F000000u));
  }
  // Normal: rebias the exponent (-112 << 23) and round the 13 dropped bits to nearest even; a
  // mantissa carry correctly bumps the exponent.
  const uint32_t odd = (ax >> 13) & 1u;
  return static_cast<uint16_t>(sign | ((ax + 0xC8000FFFu + odd) >> 13));
}

float bf16_to_fp32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

// As gguf/quants.py BF16 (ggml_compute_fp32_to_bf16): NaN becomes a quiet NaN with the top of its
// payload, everything else rounds to nearest even.
uint16_t fp32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);
  return static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

// ---- rows -------------------------------------------------------------------------------------

void dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
  const SupportedType& t = supported(type);
  assert(n >= 0 && n % t.traits.block_size == 0);
  t.dequantize(static_cast<const uint8_t*>(src), dst, n);
}

void quantize_row(TensorType type, const float* src, void* dst, int64_t n) {
  const SupportedType& t = supported(type);
  assert(n >= 0 && n % t.traits.block_size == 0);
  t.quantize(src, static_cast<uint8_t*>(dst), n);
}

}  // namespace agentrt::engine
