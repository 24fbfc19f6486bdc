// Tensor types: the type table, fp16/bf16 conversions, and row (de)quantization checked against
// vectors made by the `gguf` Python package (tests/data/quant, scripts/gen_quant_vectors.py).
#include <agentrt/engine/tensor_type.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "test_support.h"

namespace agentrt::engine {
namespace {

std::vector<uint8_t> read_file(const std::string& name) {
  const auto path = test::test_data() / "quant" / name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> read_floats(const std::string& name) {
  const std::vector<uint8_t> bytes = read_file(name);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// ---- type table --------------------------------------------------------------------------------

TEST(TensorType, FromIdAcceptsOnlySupportedTypes) {
  EXPECT_EQ(tensor_type_from_id(0), TensorType::F32);
  EXPECT_EQ(tensor_type_from_id(1), TensorType::F16);
  EXPECT_EQ(tensor_type_from_id(2), TensorType::Q4_0);
  EXPECT_EQ(tensor_type_from_id(6), TensorType::Q5_0);
  EXPECT_EQ(tensor_type_from_id(8), TensorType::Q8_0);
  EXPECT_EQ(tensor_type_from_id(12), TensorType::Q4_K);
  EXPECT_EQ(tensor_type_from_id(14), TensorType::Q6_K);
  EXPECT_EQ(tensor_type_from_id(30), TensorType::BF16);
  for (uint32_t id : {3u,  4u,  5u,  7u,  9u,  10u, 11u, 13u, 15u,   16u,
                      23u, 28u, 29u, 31u, 34u, 39u, 41u, 42u, 1000u, 0xFFFFFFFFu})
    EXPECT_FALSE(tensor_type_from_id(id).has_value()) << id;
}

TEST(TensorType, NamesFollowLlamaCpp) {
  EXPECT_EQ(tensor_type_name(0), "f32");
  EXPECT_EQ(tensor_type_name(1), "f16");
  EXPECT_EQ(tensor_type_name(2), "q4_0");
  EXPECT_EQ(tensor_type_name(3), "q4_1");
  EXPECT_EQ(tensor_type_name(8), "q8_0");
  EXPECT_EQ(tensor_type_name(10), "q2_K");
  EXPECT_EQ(tensor_type_name(12), "q4_K");
  EXPECT_EQ(tensor_type_name(13), "q5_K");
  EXPECT_EQ(tensor_type_name(14), "q6_K");
  EXPECT_EQ(tensor_type_name(16), "iq2_xxs");
  EXPECT_EQ(tensor_type_name(23), "iq4_xs");
  EXPECT_EQ(tensor_type_name(29), "iq1_m");
  EXPECT_EQ(tensor_type_name(30), "bf16");
  EXPECT_EQ(tensor_type_name(35), "tq2_0");
  EXPECT_EQ(tensor_type_name(39), "mxfp4");
  EXPECT_EQ(tensor_type_name(4), "type 4");  // retired by ggml
  EXPECT_EQ(tensor_type_name(31), "type 31");
  EXPECT_EQ(tensor_type_name(99), "type 99");
  EXPECT_EQ(tensor_type_name(0xFFFFFFFFu), "type 4294967295");
  for (TensorType t : {TensorType::F32, TensorType::F16, TensorType::Q4_0, TensorType::Q5_0,
                       TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K, TensorType::BF16})
    EXPECT_EQ(traits(t).name, tensor_type_name(static_cast<uint32_t>(t)));
}

TEST(TensorType, TraitsMatchGgufBlockSizes) {
  // gguf/constants.py GGML_QUANT_SIZES.
  struct Case {
    TensorType type;
    int64_t block_size;
    size_t type_size;
  };
  for (const Case& c : {Case{TensorType::F32, 1, 4}, Case{TensorType::F16, 1, 2},
                        Case{TensorType::Q4_0, 32, 18}, Case{TensorType::Q5_0, 32, 22},
                        Case{TensorType::Q8_0, 32, 34}, Case{TensorType::Q4_K, 256, 144},
                        Case{TensorType::Q6_K, 256, 210}, Case{TensorType::BF16, 1, 2}}) {
    EXPECT_EQ(traits(c.type).block_size, c.block_size) << traits(c.type).name;
    EXPECT_EQ(traits(c.type).type_size, c.type_size) << traits(c.type).name;
  }
}

TEST(TensorType, RowSize) {
  EXPECT_EQ(row_size(TensorType::F32, 7), 28u);
  EXPECT_EQ(row_size(TensorType::F16, 13), 26u);
  EXPECT_EQ(row_size(TensorType::BF16, 5), 10u);
  EXPECT_EQ(row_size(TensorType::Q4_0, 4096), 128u * 18u);
  EXPECT_EQ(row_size(TensorType::Q8_0, 64), 68u);
  EXPECT_EQ(row_size(TensorType::Q5_0, 640), 20u * 22u);
  EXPECT_EQ(row_size(TensorType::Q4_K, 2048), 8u * 144u);
  EXPECT_EQ(row_size(TensorType::Q6_K, 256), 210u);
  EXPECT_EQ(row_size(TensorType::Q6_K, 0), 0u);
  EXPECT_THROW(row_size(TensorType::Q4_0, 33), std::invalid_argument);
  EXPECT_THROW(row_size(TensorType::Q4_K, 128), std::invalid_argument);
  EXPECT_THROW(row_size(TensorType::F32, -1), std::invalid_argument);
  EXPECT_THROW(row_size(TensorType::F32, std::numeric_limits<int64_t>::max()),
               std::invalid_argument);
}

TEST(TensorType, ValueOutsideTheEnumIsRefused) {
  const auto bogus = static_cast<TensorType>(3);  // q4_1: a ggml type agentrt does not support
  EXPECT_THROW(traits(bogus), std::invalid_argument);
  EXPECT_THROW(row_size(bogus, 32), std::invalid_argument);
  float out[32];
  const uint8_t in[20] = {};
  EXPECT_THROW(dequantize_row(bogus, in, out, 32), std::invalid_argument);
}

// ---- dequantization against gguf.quants.dequantize ---------------------------------------------

class DequantizeVectors : public testing::TestWithParam<TensorType> {};

TEST_P(DequantizeVectors, BitExactBlockForBlock) {
  const TensorType type = GetParam();
  const TensorTypeTraits& t = traits(type);
  const std::string name(t.name);
  std::string file = name;
  for (char& c : file) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::vector<uint8_t> raw = read_file(file + ".bin");
  const std::vector<float> expected = read_floats(file + ".f32");
  ASSERT_FALSE(raw.empty());
  ASSERT_EQ(raw.size() % t.type_size, 0u);
  const size_t n_blocks = raw.size() / t.type_size;
  ASSERT_EQ(expected.size(), n_blocks * static_cast<size_t>(t.block_size));

  // One block at a time, with sentinels on both sides of the output.
  const auto bs = static_cast<size_t>(t.block_size);
  std::vector<float> out(bs + 2);
  for (size_t b = 0; b < n_blocks; ++b) {
    std::fill(out.begin(), out.end(), -1234.5f);
    dequantize_row(type, raw.data() + b * t.type_size, out.data() + 1, t.block_size);
    ASSERT_EQ(out.front(), -1234.5f);
    ASSERT_EQ(out.back(), -1234.5f);
    for (size_t i = 0; i < bs; ++i)
      ASSERT_EQ(std::bit_cast<uint32_t>(out[1 + i]), std::bit_cast<uint32_t>(expected[b * bs + i]))
          << name << " block " << b << " element " << i << ": " << out[1 + i]
          << " != " << expected[b * bs + i];
  }

  // The whole file as one row.
  std::vector<float> row(expected.size());
  dequantize_row(type, raw.data(), row.data(), static_cast<int64_t>(row.size()));
  EXPECT_EQ(std::memcmp(row.data(), expected.data(), row.size() * sizeof(float)), 0) << name;
}

INSTANTIATE_TEST_SUITE_P(Gguf, DequantizeVectors,
                         testing::Values(TensorType::F16, TensorType::BF16, TensorType::Q4_0,
                                         TensorType::Q5_0, TensorType::Q8_0, TensorType::Q4_K,
                                         TensorType::Q6_K),
                         [](const testing::TestParamInfo<TensorType>& param_info) {
                           return std::string(traits(param_info.param).name);
                         });

TEST(TensorType, DequantizeF32IsACopy) {
  const std::vector<float> x = {1.5f, -0.0f, std::numeric_limits<float>::infinity(), 3e-40f};
  std::vector<float> y(x.size());
  dequantize_row(TensorType::F32, x.data(), y.data(), static_cast<int64_t>(x.size()));
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0);
}

// ---- quantization ------------------------------------------------------------------------------

// Quantizers whose algorithm is ggml's reference must reproduce gguf.quants.quantize's bytes.
class ReferenceQuantizer : public testing::TestWithParam<TensorType> {};

TEST_P(ReferenceQuantizer, MatchesGgufByteForByte) {
  const TensorType type = GetParam();
  const std::string name(traits(type).name);
  const std::vector<float> x = read_floats(name + "_quant_in.f32");
  const std::vector<uint8_t> expected = read_file(name + "_quant.bin");
  ASSERT_FALSE(x.empty());
  const auto n = static_cast<int64_t>(x.size());
  ASSERT_EQ(expected.size(), row_size(type, n));
  std::vector<uint8_t> out(expected.size() + 2, 0xA5);
  quantize_row(type, x.data(), out.data() + 1, n);
  EXPECT_EQ(out.front(), 0xA5);
  EXPECT_EQ(out.back(), 0xA5);
  for (size_t i = 0; i < expected.size(); ++i)
    ASSERT_EQ(out[1 + i], expected[i])
        << name << " byte " << i << " (block " << i / traits(type).type_size << ")";
}

INSTANTIATE_TEST_SUITE_P(Gguf, ReferenceQuantizer,
                         testing::Values(TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0),
                         [](const testing::TestParamInfo<TensorType>& param_info) {
                           return std::string(traits(param_info.param).name);
                         });

struct RoundTripCase {
  TensorType type;
  double max_nmse;  // bound on the normalised MSE of Gaussian data
  float max_err;    // bound on any element's error, relative to its block's largest |x|
};

class RoundTrip : public testing::TestWithParam<RoundTripCase> {};

std::vector<float> gaussian(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// dequantize(quantize(x)) with sentinels around both outputs; returns the decoded row.
std::vector<float> round_trip(TensorType type, const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(row_size(type, n) + 2, 0x5A);
  quantize_row(type, x.data(), q.data() + 1, n);
  EXPECT_EQ(q.front(), 0x5A);
  EXPECT_EQ(q.back(), 0x5A);
  std::vector<float> y(x.size() + 2, -1234.5f);
  dequantize_row(type, q.data() + 1, y.data() + 1, n);
  EXPECT_EQ(y.front(), -1234.5f);
  EXPECT_EQ(y.back(), -1234.5f);
  return {y.begin() + 1, y.end() - 1};
}

double nmse(const std::vector<float>& x, const std::vector<float>& y) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (static_cast<double>(y[i]) - x[i]) * (static_cast<double>(y[i]) - x[i]);
    ref += static_cast<double>(x[i]) * x[i];
  }
  return err / ref;
}

TEST_P(RoundTrip, GaussianErrorIsSmall) {
  const RoundTripCase c = GetParam();
  const int64_t bs = traits(c.type).block_size == 1 ? 256 : traits(c.type).block_size;
  // Several scales, and odd block counts, so no block size or magnitude is special.
  for (const auto& [n_blocks, scale] :
       {std::pair{1, 1.0f}, std::pair{7, 0.02f}, std::pair{13, 30.0f}, std::pair{64, 1.0f}}) {
    const std::vector<float> x =
        gaussian(static_cast<size_t>(n_blocks * bs), static_cast<uint32_t>(n_blocks), scale);
    const std::vector<float> y = round_trip(c.type, x);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << traits(c.type).name;
    const double e = nmse(x, y);
    EXPECT_LT(e, c.max_nmse) << traits(c.type).name << " " << n_blocks << " blocks, sigma "
                             << scale;
    RecordProperty(std::string(traits(c.type).name) + "_nmse_" + std::to_string(n_blocks),
                   std::to_string(e));
  }
}

TEST_P(RoundTrip, ZeroAndConstantBlocks) {
  const TensorType type = GetParam().type;
  const int64_t bs = traits(type).block_size;
  std::vector<float> x(static_cast<size_t>(4 * bs), 0.0f);
  for (float v : round_trip(type, x)) ASSERT_EQ(v, 0.0f) << traits(type).name;
  // A constant block, a block with one spike, and sign flips.
  for (int64_t i = 0; i < bs; ++i) {
    x[static_cast<size_t>(i)] = 0.75f;
    x[static_cast<size_t>(bs + i)] = i == 5 ? -3.0f : 0.0f;
    x[static_cast<size_t>(2 * bs + i)] = i % 2 ? 1.0f : -1.0f;
    x[static_cast<size_t>(3 * bs + i)] = -0.001f * static_cast<float>(i + 1);
  }
  const std::vector<float> y = round_trip(type, x);
  for (size_t b = 0; b < 4; ++b) {
    const auto first = x.begin() + static_cast<std::ptrdiff_t>(b * static_cast<size_t>(bs));
    float amax = 0.0f;
    for (auto it = first; it != first + bs; ++it) amax = std::max(amax, std::fabs(*it));
    for (size_t i = b * static_cast<size_t>(bs); i < (b + 1) * static_cast<size_t>(bs); ++i) {
      ASSERT_TRUE(std::isfinite(y[i]));
      EXPECT_LE(std::fabs(y[i] - x[i]), GetParam().max_err * amax)
          << traits(type).name << " block " << b << " element " << i << ": " << y[i] << " for "
          << x[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, RoundTrip,
    // Measured at most: q8_0 3.2e-5, q4_0 8.1e-3, q5_0 1.8e-3, q4_K 5.0e-3, q6_K 2.9e-4.
    // For q4_K the best possible 16-level affine grid per 32 Gaussian samples,
    // searched by brute force, gives 4.8e-3 already. Q4_0's largest error is a
    // whole step: the level opposite the block's extreme is missing.
    testing::Values(RoundTripCase{TensorType::F32, 1e-30, 0.0f},
                    RoundTripCase{TensorType::F16, 1e-7, 1e-3f},
                    RoundTripCase{TensorType::BF16, 1e-5, 4e-3f},
                    RoundTripCase{TensorType::Q8_0, 1e-4, 0.005f},
                    RoundTripCase{TensorType::Q4_0, 0.01, 0.13f},
                    RoundTripCase{TensorType::Q5_0, 0.0025, 0.07f},
                    RoundTripCase{TensorType::Q4_K, 0.0055, 0.07f},
                    RoundTripCase{TensorType::Q6_K, 0.0005, 0.03f}),
    [](const testing::TestParamInfo<RoundTripCase>& param_info) {
      return std::string(traits(param_info.param.type).name);
    });

// ---- scalar conversions ------------------------------------------------------------------------

uint32_t f32_bits(float f) {
  return std::bit_cast<uint32_t>(f);
}

// Checks convert(x) for every x in f32_conv_in.f32 against the 16-bit patterns in `expected_file`.
void check_conversion(uint16_t (*convert)(float), const std::string& expected_file) {
  const std::vector<float> x = read_floats("f32_conv_in.f32");
  const std::vector<uint8_t> expected = read_file(expected_file);
  ASSERT_FALSE(x.empty());
  ASSERT_EQ(expected.size(), 2 * x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    uint16_t want;
    std::memcpy(&want, &expected[2 * i], 2);
    ASSERT_EQ(convert(x[i]), want)
        << expected_file << ": x = " << x[i] << " (0x" << std::hex << f32_bits(x[i]) << ")";
  }
}

TEST(Fp16, ConvertsFromFloatLikeNumpy) {
  check_conversion(fp32_to_fp16, "f16_from_f32.bin");
}

TEST(Fp16, EdgeCases) {
  EXPECT_EQ(fp32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7BFF);    // largest finite
  EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7BFF);  // just below the tie with infinity
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7C00);    // tie rounds to even: infinity
  EXPECT_EQ(fp32_to_fp16(1e10f), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(-1e10f), 0xFC00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(fp32_to_fp16(0x1p-24f), 0x0001);             // smallest subnormal
  EXPECT_EQ(fp32_to_fp16(0x1p-25f), 0x0000);             // tie between 0 and 1 ulp: even
  EXPECT_EQ(fp32_to_fp16(0x1.000002p-25f), 0x0001);      // just above the tie
  EXPECT_EQ(fp32_to_fp16(0x3p-25f), 0x0002);             // tie between 1 and 2: even
  EXPECT_EQ(fp32_to_fp16(0x1p-14f - 0x1p-25f), 0x0400);  // rounds up into the normals
  EXPECT_EQ(fp32_to_fp16(0x1p-14f - 0x1p-24f), 0x03FF);  // largest subnormal
  EXPECT_EQ(fp32_to_fp16(1.0f + 0x1p-11f), 0x3C00);      // tie: even
  EXPECT_EQ(fp32_to_fp16(1.0f + 0x3p-11f), 0x3C02);      // tie: even (up)
  EXPECT_EQ(fp32_to_fp16(1e-30f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-1e-30f), 0x8000);
  EXPECT_EQ(f32_bits(fp16_to_fp32(0x0001)), f32_bits(0x1p-24f));
  EXPECT_EQ(f32_bits(fp16_to_fp32(0x83FF)), f32_bits(-(0x1p-14f - 0x1p-24f)));
  EXPECT_EQ(fp16_to_fp32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_fp32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(f32_bits(fp16_to_fp32(0x8000)), 0x80000000u);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(nan))));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(-nan))));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(std::numeric_limits<float>::signaling_NaN()))));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7C01)));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0xFE00)));
}

TEST(Fp16, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      ASSERT_EQ(h & 0x7C00u, 0x7C00u);
      ASSERT_NE(h & 0x03FFu, 0u);
      ASSERT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(f)))) << std::hex << h;
    } else {
      ASSERT_EQ(fp32_to_fp16(f), h) << std::hex << h;
    }
  }
}

#if defined(__FLT16_MAX__)
// The compiler's _Float16 conversion is an independent, correctly rounded reference.
TEST(Fp16, MatchesCompilerFloat16OnRandomBits) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2'000'000; ++i) {
    const float f = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    if (std::isnan(f)) continue;
    const auto ref = std::bit_cast<uint16_t>(static_cast<_Float16>(f));
    ASSERT_EQ(fp32_to_fp16(f), ref) << f << " (0x" << std::hex << f32_bits(f) << ")";
  }
}
#endif

TEST(Bf16, ConvertsFromFloatLikeGguf) {
  check_conversion(fp32_to_bf16, "bf16_from_f32.bin");
}

TEST(Bf16, EdgeCases) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_bf16(1.0f + 0x1p-8f), 0x3F80);                     // tie: even
  EXPECT_EQ(fp32_to_bf16(1.0f + 0x3p-8f), 0x3F82);                     // tie: even (up)
  EXPECT_EQ(fp32_to_bf16(1.0f + 0x1.02p-8f), 0x3F81);                  // above the tie
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds to infinity
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(fp32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(fp32_to_bf16(0x1p-133f), 0x0001);  // bf16 keeps float's subnormals
  // NaN stays NaN, even one whose payload lies only in the bits that are dropped.
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(std::bit_cast<float>(0x7F800001u)))));
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(std::bit_cast<float>(0xFFFFFFFFu)))));
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(f32_bits(bf16_to_fp32(0x3F80)), 0x3F800000u);
  EXPECT_EQ(f32_bits(bf16_to_fp32(0xFF81)), 0xFF810000u);  // payload kept
}

TEST(Bf16, EveryBf16RoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_fp32(static_cast<uint16_t>(h));
    ASSERT_EQ(f32_bits(f), h << 16);
    if (std::isnan(f))
      ASSERT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(f))));
    else
      ASSERT_EQ(fp32_to_bf16(f), h) << std::hex << h;
  }
}

}  // namespace
}  // namespace agentrt::engine
