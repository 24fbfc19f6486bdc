// Decoding of quantized blocks in "units" of contiguous elements, shared by the CUDA kernels
// (matrix-vector products, embedding rows, dequantization for GEMMs) and compiled by the host
// compiler too, so that tests check it against dequantize_row on the CPU.
//
// A row of n elements is n / unit_size(type) units; unit u holds elements [u * U, (u + 1) * U).
// Layouts as in tensor_type.cpp (ggml's): Q8_0 and Q4_0 decode one block of 32 per unit, Q4_K one
// 32-byte chunk of nibbles (64 elements: two sub-blocks) per unit, Q6_K 32 elements per unit.
// Loads are 16-bit (Q8_0, Q4_0 and Q6_K blocks are only 2-byte aligned) except Q4_K's nibbles,
// read 16 bytes at a time: its 144-byte blocks keep the 16-byte alignment of the row.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#define AGENTRT_HD __host__ __device__ __forceinline__
#else
#define AGENTRT_HD inline
#endif
// Unrolled in device code; the host compiler (which also compiles these) knows no such pragma.
#if defined(__CUDA_ARCH__)
#define AGENTRT_UNROLL _Pragma("unroll")
#else
#define AGENTRT_UNROLL
#endif

namespace agentrt::engine::cuda {

// Elements per unit and bytes per block of the quantized types (ggml type ids).
enum class QuantKind : int { Q4_0 = 2, Q8_0 = 8, Q4_K = 12, Q6_K = 14 };

template <QuantKind K>
struct QuantTraits;
template <>
struct QuantTraits<QuantKind::Q4_0> {
  static constexpr int kUnit = 32, kBlockElems = 32, kBlockBytes = 18;
};
template <>
struct QuantTraits<QuantKind::Q8_0> {
  static constexpr int kUnit = 32, kBlockElems = 32, kBlockBytes = 34;
};
template <>
struct QuantTraits<QuantKind::Q4_K> {
  static constexpr int kUnit = 64, kBlockElems = 256, kBlockBytes = 144;
};
template <>
struct QuantTraits<QuantKind::Q6_K> {
  static constexpr int kUnit = 32, kBlockElems = 256, kBlockBytes = 210;
};

AGENTRT_HD uint16_t load_u16(const uint8_t* p) {
#if defined(__CUDA_ARCH__)
  return *reinterpret_cast<const uint16_t*>(p);  // 2-byte aligned: every field used is
#else
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
#endif
}

// IEEE half to float, the same value on host and device (exact conversion).
AGENTRT_HD float half_bits_to_float(uint16_t h) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(h));
#else
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0) {
    float f = static_cast<float>(mant) * 0x1p-24f;  // zero or subnormal, exact
    std::memcpy(&bits, &f, sizeof bits);
    bits |= sign;
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

// The 6-bit scale and min of Q4_K sub-block j (0..7) from its 12 packed bytes.
AGENTRT_HD void q4_k_scale_min(const uint8_t* s, int j, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Decodes unit u of a row at `row` into out[0..kUnit).
template <QuantKind K>
AGENTRT_HD void decode_unit(const uint8_t* row, int64_t u, float* out);

template <>
AGENTRT_HD void decode_unit<QuantKind::Q8_0>(const uint8_t* row, int64_t u, float* out) {
  const uint8_t* b = row + u * 34;
  const float d = half_bits_to_float(load_u16(b));
  AGENTRT_UNROLL
  for (int j = 0; j < 16; ++j) {
    const uint16_t two = load_u16(b + 2 + 2 * j);
    out[2 * j] = static_cast<float>(static_cast<int8_t>(two & 0xFF)) * d;
    out[2 * j + 1] = static_cast<float>(static_cast<int8_t>(two >> 8)) * d;
  }
}

template <>
AGENTRT_HD void decode_unit<QuantKind::Q4_0>(const uint8_t* row, int64_t u, float* out) {
  const uint8_t* b = row + u * 18;
  const float d = half_bits_to_float(load_u16(b));
  AGENTRT_UNROLL
  for (int j = 0; j < 8; ++j) {
    const uint16_t two = load_u16(b + 2 + 2 * j);
    const int q0 = two & 0xFF, q1 = two >> 8;
    out[2 * j] = static_cast<float>((q0 & 0x0F) - 8) * d;
    out[2 * j + 16] = static_cast<float>((q0 >> 4) - 8) * d;
    out[2 * j + 1] = static_cast<float>((q1 & 0x0F) - 8) * d;
    out[2 * j + 17] = static_cast<float>((q1 >> 4) - 8) * d;
  }
}

// Unit u = chunk c of block u / 4: 32 bytes of nibbles, sub-block 2c in the low nibbles (elements
// 64c..64c+31 of the block) and 2c+1 in the high ones. x = (d*sc)*q - dmin*m.
template <>
AGENTRT_HD void decode_unit<QuantKind::Q4_K>(const uint8_t* row, int64_t u, float* out) {
  const uint8_t* b = row + (u / 4) * 144;
  const int c = static_cast<int>(u % 4);
  const float d = half_bits_to_float(load_u16(b));
  const float dmin = half_bits_to_float(load_u16(b + 2));
  int sc0, m0, sc1, m1;
  q4_k_scale_min(b + 4, 2 * c, sc0, m0);
  q4_k_scale_min(b + 4, 2 * c + 1, sc1, m1);
  const float d0 = d * static_cast<float>(sc0), min0 = dmin * static_cast<float>(m0);
  const float d1 = d * static_cast<float>(sc1), min1 = dmin * static_cast<float>(m1);
  uint32_t q[8];
#if defined(__CUDA_ARCH__)
  const uint4* p = reinterpret_cast<const uint4*>(b + 16 + 32 * c);
  const uint4 a = p[0], bb = p[1];
  q[0] = a.x, q[1] = a.y, q[2] = a.z, q[3] = a.w, q[4] = bb.x, q[5] = bb.y, q[6] = bb.z,
  q[7] = bb.w;
#else
  std::memcpy(q, b + 16 + 32 * c, sizeof q);
#endif
  AGENTRT_UNROLL
  for (int w = 0; w < 8; ++w) {
    AGENTRT_UNROLL
    for (int k = 0; k < 4; ++k) {
      const uint32_t byte = (q[w] >> (8 * k)) & 0xFFu;
      out[4 * w + k] = d0 * static_cast<float>(byte & 0x0F) - min0;
      out[32 + 4 * w + k] = d1 * static_cast<float>(byte >> 4) - min1;
    }
  }
}

// Unit u = (half h, quarter k) of block u / 8: elements 128h + 32k + l take their low 4 bits from
// ql[64h + 32(k&1) + l] (nibble k/2) and their high 2 bits from qh[32h + l] >> 2k; scales
// sc[8h + 2k] for l < 16 and sc[8h + 2k + 1] after. x = d*sc*(q - 32).
template <>
AGENTRT_HD void decode_unit<QuantKind::Q6_K>(const uint8_t* row, int64_t u, float* out) {
  const uint8_t* b = row + (u / 8) * 210;
  const int h = static_cast<int>((u % 8) / 4), k = static_cast<int>(u % 4);
  const uint8_t* ql = b + 64 * h + 32 * (k & 1);
  const uint8_t* qh = b + 128 + 32 * h;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half_bits_to_float(load_u16(b + 208));
  const float ds0 = d * static_cast<float>(sc[8 * h + 2 * k]);
  const float ds1 = d * static_cast<float>(sc[8 * h + 2 * k + 1]);
  const int low_shift = 4 * (k / 2), high_shift = 2 * k;
  AGENTRT_UNROLL
  for (int j = 0; j < 16; ++j) {
    const uint16_t lo2 = load_u16(ql + 2 * j), hi2 = load_u16(qh + 2 * j);
    AGENTRT_UNROLL
    for (int e = 0; e < 2; ++e) {
      const int l = 2 * j + e;
      const int lo = ((lo2 >> (8 * e)) >> low_shift) & 0x0F;
      const int hi = ((hi2 >> (8 * e)) >> high_shift) & 3;
      const int q = (lo | (hi << 4)) - 32;
      out[l] = (l < 16 ? ds0 : ds1) * static_cast<float>(q);
    }
  }
}

}  // namespace agentrt::engine::cuda
