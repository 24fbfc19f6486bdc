// The block decoding that the CUDA kernels use (engine/cuda/quant_decode.h), compiled for the
// host: every unit of random rows of every quantized type equals dequantize_row, bit for bit.
// Runs everywhere (label unit), so the decoding math is checked without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "agentrt/engine/tensor_type.h"
#include "cuda/quant_decode.h"

namespace agentrt::engine::cuda {
namespace {

template <QuantKind K>
void check_units(TensorType type, int64_t n, uint64_t seed) {
  constexpr int U = QuantTraits<K>::kUnit;
  ASSERT_EQ(traits(type).block_size, QuantTraits<K>::kBlockElems);
  ASSERT_EQ(traits(type).type_size, static_cast<size_t>(QuantTraits<K>::kBlockBytes));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> src(static_cast<size_t>(n));
  for (float& v : src) v = dist(rng);
  // Some blocks with a large offset or all equal values exercise the scales and mins.
  for (int64_t i = 0; i < std::min<int64_t>(n, 64); ++i) src[static_cast<size_t>(i)] += 3.0f;
  // Aligned like a device row (the Q4_K decoder reads 16 bytes at a time on the device).
  std::vector<uint8_t> row(row_size(type, n) + 16);
  uint8_t* data = row.data() + (16 - reinterpret_cast<uintptr_t>(row.data()) % 16) % 16;
  quantize_row(type, src.data(), data, n);
  std::vector<float> expected(static_cast<size_t>(n));
  dequantize_row(type, data, expected.data(), n);
  for (int64_t u = 0; u < n / U; ++u) {
    float got[U];
    decode_unit<K>(data, u, got);
    for (int j = 0; j < U; ++j) {
      const float e = expected[static_cast<size_t>(u * U + j)];
      ASSERT_EQ(std::memcmp(&got[j], &e, sizeof e), 0)
          << traits(type).name << " unit " << u << " element " << j << ": " << got[j]
          << " != " << e;
    }
  }
}

TEST(QuantUnits, Q8_0MatchesDequantizeRow) {
  check_units<QuantKind::Q8_0>(TensorType::Q8_0, 32 * 13, 1);
}
TEST(QuantUnits, Q4_0MatchesDequantizeRow) {
  check_units<QuantKind::Q4_0>(TensorType::Q4_0, 32 * 11, 2);
}
TEST(QuantUnits, Q4_KMatchesDequantizeRow) {
  check_units<QuantKind::Q4_K>(TensorType::Q4_K, 256 * 5, 3);
}
TEST(QuantUnits, Q6_KMatchesDequantizeRow) {
  check_units<QuantKind::Q6_K>(TensorType::Q6_K, 256 * 7, 4);
}

TEST(QuantUnits, HalfConversionIsExactForEveryBitPattern) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float a = half_bits_to_float(static_cast<uint16_t>(h));
    const float b = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(b)) {
      EXPECT_TRUE(std::isnan(a)) << h;
    } else {
      ASSERT_EQ(std::memcmp(&a, &b, sizeof a), 0) << "half 0x" << std::hex << h;
    }
  }
}

}  // namespace
}  // namespace agentrt::engine::cuda
