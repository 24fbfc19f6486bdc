// Matrix products of weight rows (any supported tensor type) with activations, one set of kernels
// per instruction set, chosen at start-up from what the CPU supports. Internal to engine/.
//
// Quantized weights multiply activations that are quantized to 8 bits first, so the inner loops
// are integer dot products (AVX-512 VNNI vpdpbusd/vpdpwssd, AVX2 vpmaddubsw):
//   Q8_0, Q4_0, Q5_0 weights: "Q8" activation rows, int8 values with a per-32 float scale and
//   int32 sum;
//   Q4_K, Q6_K weights: "Q8_K" activation rows, a per-256 scale, int8 values and per-16 sums.
// F16, BF16 and F32 weights multiply float activations.
//
// Quantized and float weights also have packed layouts, "r16" (below): 16 rows
// interleaved so that one 64-byte vector holds 4 consecutive weights of each row. The CPU backend
// packs a model's matrices into them once, where the chosen kernels have a product for the packed
// kind.
//
// The kernel files (kernels_*.cpp) are compiled with their own target flags; they include only
// this header, <cstdint>/<cstring> and intrinsics, and define everything else with internal
// linkage, so that no inline function compiled for one instruction set is shared with another.
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentrt::engine::cpu {

// Weight types with kernels, in the order of Kernels::gemm.
enum class WeightKind : int {
  q8_0,
  q4_0,
  q5_0,
  q4_k,
  q6_k,
  f16,
  bf16,
  f32,
  q4_k_r16,
  q8_0_r16,
  q4_0_r16,
  q5_0_r16,
  q6_k_r16,
  f16_r16,
  bf16_r16,
  f32_r16,
  count
};

// Activation layout a weight kind multiplies.
enum class ActKind : int { q8, q8_k, f32 };

// Element types of the KV cache, in the order of Kernels::attn_scores / attn_values.
enum class KvKind : int { f16, f32 };

// One Q8_K block of 256 activations: x ≈ d * q; bsums[j] = sum of q[16j .. 16j+16).
struct BlockQ8K {
  float d;
  int16_t bsums[16];
  int8_t q[256];
};

// Bytes of one activation row of n values in layout `a` (n a multiple of 32, or of 256 for q8_k).
constexpr size_t act_row_bytes(ActKind a, int64_t n) {
  switch (a) {
    case ActKind::q8:  // n int8 values, n / 32 float scales, then n / 32 int32 sums of 32 values
      return static_cast<size_t>(n + n / 32 * 8);
    case ActKind::q8_k:
      return static_cast<size_t>(n / 256) * sizeof(BlockQ8K);
    case ActKind::f32:
      break;
  }
  return static_cast<size_t>(n) * sizeof(float);
}

constexpr ActKind act_kind(WeightKind k) {
  switch (k) {
    case WeightKind::q8_0:
    case WeightKind::q4_0:
    case WeightKind::q5_0:
    case WeightKind::q8_0_r16:
    case WeightKind::q4_0_r16:
    case WeightKind::q5_0_r16:
      return ActKind::q8;
    case WeightKind::q4_k:
    case WeightKind::q6_k:
    case WeightKind::q4_k_r16:
    case WeightKind::q6_k_r16:
      return ActKind::q8_k;
    default:  // the float kinds, packed or not
      return ActKind::f32;
  }
}

// ---- packed layouts: groups of 16 rows (r16) ----
// A group holds the same bytes as its 16 rows, rearranged by blocks: block s of the group (a
// Q4_K super-block of 256 weights, or a block of 32) takes r16_block_bytes(kind) bytes at
// s * r16_block_bytes(kind).
//
// Q4_K (2304 bytes):
//   [0, 32)       d of rows 0..15 (float16), then [32, 64) dmin of rows 0..15;
//   [64, 128)     byte 16i + r: the low 4 bits of row r's scale 2i (low nibble) and 2i+1 (high);
//   [128, 192)    the same for the mins;
//   [192, 256)    byte 16i + r: the top 2 bits of row r's scale 2i (bits 0-1), min 2i (2-3),
//                 scale 2i+1 (4-5) and min 2i+1 (6-7);
//   [256, 2304)   sub-block j (32 weights: 256 bytes at 256 + 256j), quarter g (64 bytes at
//                 + 64g), row r (4 bytes at + 4r), byte b: weight 32j + 8g + b in the low nibble,
//                 32j + 8g + 4 + b in the high one.
//   Weight k of row r is d * scale * q - dmin * min, as in Q4_K.
// Q6_K (3360 bytes):
//   [0, 32)       d of rows 0..15 (float16);
//   [32, 288)     byte 16j + r: row r's int8 scale of the 16 weights 16j..16j+15;
//   [288, 2336)   the low 4 bits of the 6-bit values (0..63), laid out as Q4_K's nibbles;
//   [2336, 3360)  their top 2 bits: sub-block j (128 bytes at 2336 + 128j), half h (64 bytes at
//                 + 64h), row r (4 bytes), byte b: bits 2i..2i+1 for i = 0..3 are those of weight
//                 32j + 16h + 8(i / 2) + 4(i % 2) + b;
//   weight k of row r is d * scale * (q - 32), as in Q6_K.
// F16, BF16, F32 (16 elements per weight index k): the 16 rows' weight k, row 0 first.
// Q8_0 (544 bytes): [0, 32) d of rows 0..15 (float16); [32, 544) quad c (64 bytes at 32 + 64c),
//   row r (4 bytes at + 4r), byte b: weight 4c + b plus 128, as an unsigned byte.
// Q4_0 (288 bytes): [0, 32) d; [32, 288) quarter g (64 bytes), row r (4 bytes), byte b: weight
//   8g + b in the low nibble, 8g + 4 + b in the high one (0..15, value d * (q - 8)).
// Q5_0 (352 bytes): [0, 32) d; [32, 96) row r's 32 fifth bits in its 4 bytes: byte b, bit 2g is
//   weight 8g + b's, bit 2g + 1 weight 8g + 4 + b's; [96, 352) the nibbles as Q4_0 (value
//   d * (q - 16)).
constexpr int kR16Rows = 16;
constexpr size_t kQ4kR16Block = 2304;  // 16 rows x 144 bytes
constexpr size_t kQ6kR16Block = 3360;  // 16 rows x 210 bytes

// The packed kind of a row kind, if it has one.
constexpr bool has_r16(WeightKind k) {
  return k == WeightKind::q4_k || k == WeightKind::q6_k || k == WeightKind::q8_0 ||
         k == WeightKind::q4_0 || k == WeightKind::q5_0 || k == WeightKind::f16 ||
         k == WeightKind::bf16 || k == WeightKind::f32;
}
constexpr WeightKind r16_kind(WeightKind k) {
  switch (k) {
    case WeightKind::q8_0:
      return WeightKind::q8_0_r16;
    case WeightKind::q4_0:
      return WeightKind::q4_0_r16;
    case WeightKind::q5_0:
      return WeightKind::q5_0_r16;
    case WeightKind::q6_k:
      return WeightKind::q6_k_r16;
    case WeightKind::f16:
      return WeightKind::f16_r16;
    case WeightKind::bf16:
      return WeightKind::bf16_r16;
    case WeightKind::f32:
      return WeightKind::f32_r16;
    default:
      return WeightKind::q4_k_r16;
  }
}
// Weights per block of a packed kind's row kind (256, 32, or 1 for the float kinds).
constexpr int64_t r16_block_weights(WeightKind row_kind) {
  switch (row_kind) {
    case WeightKind::q4_k:
    case WeightKind::q6_k:
      return 256;
    case WeightKind::f16:
    case WeightKind::bf16:
    case WeightKind::f32:
      return 1;
    default:
      return 32;
  }
}

// Rearranges the 16 rows at `rows` (row_bytes apart, n_in weights each, of a kind with has_r16)
// into one r16 group of 16 * row_bytes bytes at dst.
void pack_r16(WeightKind row_kind, const uint8_t* rows, size_t row_bytes, int64_t n_in,
              uint8_t* dst);
// The inverse for row r (0..15) of the group: writes its row_bytes bytes to dst.
void unpack_r16(WeightKind row_kind, const uint8_t* group, size_t row_bytes, int64_t n_in, int r,
                uint8_t* dst);

// y[t * ldy + r] = (row r of w) · (activation row t of x), for r < n_rows and t < n_tok.
// w: n_rows rows of row_bytes bytes; x: n_tok activation rows, x_stride bytes apart, in the
// layout act_kind(kind) gives; n_in: elements per row. For the r16 kinds, w holds n_rows / 16
// groups (n_rows a multiple of 16) of 16 * row_bytes bytes, and row_bytes is that of one row of
// the row kind.
using GemmFn = void (*)(const uint8_t* w, size_t row_bytes, int64_t n_rows, const uint8_t* x,
                        size_t x_stride, int n_tok, int64_t n_in, float* y, int64_t ldy);

struct Kernels {
  const char* name;  // "scalar", "avx2", "avx512vnni"
  // One activation row of n floats into the q8 / q8_k layout.
  void (*quantize_q8)(const float* x, uint8_t* dst, int64_t n);
  void (*quantize_q8_k)(const float* x, uint8_t* dst, int64_t n);
  // nullptr for the r16 kinds where the variant has no product for the packed layout (AVX2): the
  // backend keeps the rows then.
  GemmFn gemm[static_cast<int>(WeightKind::count)];
  // In place: gate[i] = silu(gate[i]) * up[i].
  void (*swiglu)(float* gate, const float* up, int64_t n);
  // In place: gate[i] = gelu(gate[i]) * up[i], GELU's tanh form, which is x * sigmoid(2u) with
  // u = sqrt(2/pi) (x + 0.044715 x^3).
  void (*geglu_tanh)(float* gate, const float* up, int64_t n);
  // In place: x[i] = exp(x[i] - max); returns the sum of the new x.
  float (*exp_sum)(float* x, int64_t n, float max);

  // Attention over a KV cache of float16 or float32 elements (kv: KvKind), strides in elements.
  // Keys are stored transposed (a head's dimension i of position j at kt[i * ld + j]), so that one
  // vector holds the scores of consecutive positions; values are rows (position j's head at
  // v + j * vs).
  // s[t * ss + j] = scale * sum_i q[t * qs + i] * kt[i * ld + j], for t < n_q, j < n_p, i < hd.
  void (*attn_scores[2])(const float* q, int64_t qs, int n_q, const void* kt, int64_t ld, int hd,
                         int n_p, float scale, float* s, int64_t ss);
  // out[t * os + i] = sum_j a[t * as + j] * v[j * vs + i], for t < n_q, i < hd, j < n_p.
  void (*attn_values[2])(const float* a, int64_t as, int n_q, const void* v, int64_t vs, int hd,
                         int n_p, float* out, int64_t os);
  // dst[i] = x[i] as float16, rounded to nearest even.
  void (*to_f16)(const float* x, uint16_t* dst, int64_t n);
};

// The portable reference: plain loops, exact integer sums. Always available.
const Kernels& kernels_scalar();
// nullptr when the build has no such variant or the CPU lacks the instructions.
const Kernels* kernels_avx2();
const Kernels* kernels_avx512();

// The fastest variant this CPU supports (decided once).
const Kernels& kernels_best();

}  // namespace agentrt::engine::cpu
