// Tensor types: the type table, fp16/bf16 conversions, and row (de)quantization checked against
// vectors made by the `gguf` Python package (tests/data/quant, scripts/gen_quant_vectors.py).
#include <agentrt/engine/tensor_type.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
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
  EXPECT_EQ(tensor_type_from_id(8), TensorType::Q8_0);
  EXPECT_EQ(tensor_type_from_id(12), TensorType::Q4_K);
  EXPECT_EQ(tensor_type_from_id(14), TensorType::Q6_K);
  EXPECT_EQ(tensor_type_from_id(30), TensorType::BF16);
  for (uint32_t id : {3u,  4u,  5u,  6u,  7u,  9u,  10u, 11u, 13u,   15u,        16u,
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
  for (TensorType t : {TensorType::F32, TensorType::F16, TensorType::Q4_0, TensorType::Q8_0,
                       TensorType::Q4_K, TensorType::Q6_K, TensorType::BF16})
    EXPECT_EQ(traits(t).name, tensor_type_name(static_cast<uint32_t>(t)));
}

TEST(TensorType, TraitsMatchGgufBlockSizes) {
  // gguf/constants.py GGML_QUANT_SIZES.
  struct Case {
    TensorType type;
    int64_t block_size;
    size_t type_size;
  };
  for (const Case& c :
       {Case{TensorType::F32, 1, 4}, Case{TensorType::F16, 1, 2}, Case{TensorType::Q4_0, 32, 18},
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
  EXPECT_EQ(row_size(TensorType::Q4_K, 2048), 8u * 144u);
  EXPECT_EQ(row_size(TensorType::Q6_K, 256), 210u);
  EXPECT_EQ(row_size(TensorType::Q6_K, 0), 0u);
  EXPECT_THROW(row_size(TensorType::Q4_0, 33), std::invalid_argument);
  EXPECT_THROW(row_size(TensorType::Q4_K, 128), std::invalid_argument);
  EXPECT_THROW(row_size(TensorType::F32, -1), std::invalid_argument);
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
                                         TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K),
                         [](const testing::TestParamInfo<TensorType>& param_info) {
                           return std::string(traits(param_info.param).name);
                         });

TEST(TensorType, DequantizeF32IsACopy) {
  const std::vector<float> x = {1.5f, -0.0f, std::numeric_limits<float>::infinity(), 3e-40f};
  std::vector<float> y(x.size());
  dequantize_row(TensorType::F32, x.data(), y.data(), static_cast<int64_t>(x.size()));
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0);
}

}  // namespace
}  // namespace agentrt::engine
