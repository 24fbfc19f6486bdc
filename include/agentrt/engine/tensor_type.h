// Tensor element types that agentrt reads, their block layouts, and row conversions.
//
// Block layouts follow ggml/GGUF (public facts of the format): a row of n elements is stored as
// n / block_size blocks of type_size bytes each. Quantized weights stay quantized in memory; these
// functions convert one row at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentrt::engine {

// Values are ggml's type ids, as stored in GGUF tensor infos.
enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q5_0 = 6,
  Q8_0 = 8,
  Q4_K = 12,
  Q6_K = 14,
  BF16 = 30,
};

struct TensorTypeTraits {
  std::string_view name;  // "q4_K", as llama.cpp prints it
  int64_t block_size;     // elements per block
  size_t type_size;       // bytes per block
};

// The type for a ggml type id, or nullopt when agentrt does not support it.
std::optional<TensorType> tensor_type_from_id(uint32_t ggml_type);
// Name of any ggml type id, supported or not ("q5_K", "type 99"), for error messages.
std::string tensor_type_name(uint32_t ggml_type);
const TensorTypeTraits& traits(TensorType type);

// Bytes of one row of n elements. n must be a multiple of the block size.
size_t row_size(TensorType type, int64_t n);

// dst[0..n) = the n values that the row at src encodes. n must be a multiple of the block size.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);

// Encodes n floats as one row of `type` (row_size(type, n) bytes at dst). Round-to-nearest
// reference quantizers: used by tests, tools that write models, and activation quantization.
void quantize_row(TensorType type, const float* src, void* dst, int64_t n);

// Scalar conversions (round to nearest even; NaN preserved).
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);

}  // namespace agentrt::engine
