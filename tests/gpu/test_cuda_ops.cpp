// Each CUDA kernel (engine/cuda/ops.h) against a float64 reference of the CPU backend's
// arithmetic: NaN/Inf checks, then normalised MSE with a threshold per op and type; odd shapes
// next to round ones; fixed seeds; sentinel guards around every output. Skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "agentrt/engine/tensor_type.h"
#include "cuda/ops.h"
#include "gpu_test_util.h"

namespace agentrt::engine::cuda {
namespace {

using test::GuardedArray;

std::vector<float> random_vector(size_t n, uint64_t seed, float stddev = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// A random (n_out, n_in) matrix of `type`, on the host as the file stores it and expanded to
// float, and on the device with the upload's row stride.
struct TestMatrix {
  std::vector<float> values;  // (n_out, n_in) as the type decodes them
  std::unique_ptr<GuardedArray<uint8_t>> device;
  DeviceMatrix view;

  TestMatrix(TensorType type, int64_t n_in, int64_t n_out, uint64_t seed) {
    const std::vector<float> src = random_vector(static_cast<size_t>(n_in * n_out), seed);
    const size_t row_bytes = row_size(type, n_in), stride = device_row_stride(type, n_in);
    std::vector<uint8_t> rows(stride * static_cast<size_t>(n_out), 0);
    values.resize(src.size());
    for (int64_t r = 0; r < n_out; ++r) {
      quantize_row(type, &src[static_cast<size_t>(r * n_in)], &rows[r * stride], n_in);
      dequantize_row(type, &rows[r * stride], &values[static_cast<size_t>(r * n_in)], n_in);
    }
    (void)row_bytes;
    device = std::make_unique<GuardedArray<uint8_t>>(rows);
    view = DeviceMatrix{type, device->get(), n_in, n_out, stride};
  }
};

double silu_mul(double g, double u) {
  return g / (1.0 + std::exp(-g)) * u;
}

struct MatvecCase {
  TensorType type;
  int64_t n_in, n_out;
};

void PrintTo(const MatvecCase& c, std::ostream* os) {
  *os << traits(c.type).name << " " << c.n_in << "x" << c.n_out;
}

class Matvec : public ::testing::TestWithParam<MatvecCase> {};

TEST_P(Matvec, MatchesReferenceForEveryBatchSizeAndInput) {
  AGENTRT_REQUIRE_CUDA();
  const MatvecCase c = GetParam();
  TestMatrix w(c.type, c.n_in, c.n_out, 11);
  for (int n_tok : {1, 2, 3, 5, 8}) {
    for (bool swiglu : {false, true}) {
      for (bool accumulate : {false, true}) {
        const int64_t ldx = (swiglu ? 2 * c.n_in : c.n_in) + (n_tok % 2);  // odd ld too
        const std::vector<float> x = random_vector(static_cast<size_t>(n_tok * ldx), 12);
        const int64_t ldy = c.n_out + 3;
        const std::vector<float> y0 = random_vector(static_cast<size_t>(n_tok * ldy), 13);
        GuardedArray<float> dx(x), dy(y0);
        matvec(w.view, dx.get(), ldx, n_tok, swiglu, dy.get(), ldy, accumulate, nullptr);
        test::sync_ok();
        std::vector<double> expected(y0.begin(), y0.end());
        for (int t = 0; t < n_tok; ++t) {
          for (int64_t r = 0; r < c.n_out; ++r) {
            double s = 0.0;
            for (int64_t i = 0; i < c.n_in; ++i) {
              const double in =
                  swiglu ? silu_mul(x[t * ldx + i], x[t * ldx + c.n_in + i]) : x[t * ldx + i];
              s += w.values[static_cast<size_t>(r * c.n_in + i)] * in;
            }
            double& e = expected[static_cast<size_t>(t * ldy + r)];
            e = accumulate ? e + s : s;
          }
        }
        const std::vector<float> got = dy.download();
        SCOPED_TRACE(std::string(traits(c.type).name) + " n_tok " + std::to_string(n_tok) +
                     (swiglu ? " swiglu" : "") + (accumulate ? " accumulate" : ""));
        AGENTRT_EXPECT_CLOSE(got, expected, 1e-10);
        EXPECT_TRUE(dy.intact());
        EXPECT_TRUE(dx.intact());
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, Matvec,
    ::testing::Values(MatvecCase{TensorType::F32, 256, 40}, MatvecCase{TensorType::F32, 13, 7},
                      MatvecCase{TensorType::F16, 512, 33}, MatvecCase{TensorType::F16, 11, 5},
                      MatvecCase{TensorType::BF16, 264, 17}, MatvecCase{TensorType::BF16, 7, 13},
                      MatvecCase{TensorType::Q8_0, 32 * 7, 37},
                      MatvecCase{TensorType::Q4_0, 32 * 5, 13},
                      MatvecCase{TensorType::Q4_K, 256 * 3, 11},
                      MatvecCase{TensorType::Q6_K, 256 * 5, 9},
                      MatvecCase{TensorType::Q4_K, 256 * 43, 3}),  // a long row: many units
    [](const auto& param_info) {
      return std::string(traits(param_info.param.type).name) + "_" +
             std::to_string(param_info.param.n_in) + "x" + std::to_string(param_info.param.n_out);
    });

TEST(CudaOps, DequantizeToF16IsTheRoundedDecodedValue) {
  AGENTRT_REQUIRE_CUDA();
  for (TensorType type : {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q4_K, TensorType::Q6_K}) {
    const int64_t n_in = traits(type).block_size == 256 ? 512 : 96, n_out = 7;
    TestMatrix w(type, n_in, n_out, 21);
    GuardedArray<uint16_t> out(static_cast<size_t>(n_in * n_out));
    dequantize_to_f16(w.view, out.get(), nullptr);
    test::sync_ok();
    const std::vector<uint16_t> got = out.download();
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], fp32_to_fp16(w.values[i])) << traits(type).name << " element " << i;
    EXPECT_TRUE(out.intact());
  }
}

TEST(CudaOps, ConvertRowsRoundsToHalfAndBfloat16) {
  AGENTRT_REQUIRE_CUDA();
  const int n_tok = 3;
  const int64_t n = 37, ldx = 2 * n + 1;
  const std::vector<float> x = random_vector(static_cast<size_t>(n_tok * ldx), 31);
  for (bool bf16 : {false, true}) {
    for (bool swiglu : {false, true}) {
      GuardedArray<float> dx(x);
      GuardedArray<uint16_t> out(static_cast<size_t>(n_tok * n));
      convert_rows(dx.get(), ldx, n_tok, n, swiglu, bf16, out.get(), nullptr);
      test::sync_ok();
      const std::vector<uint16_t> got = out.download();
      for (int t = 0; t < n_tok; ++t) {
        for (int64_t i = 0; i < n; ++i) {
          const double v = swiglu ? silu_mul(x[t * ldx + i], x[t * ldx + n + i]) : x[t * ldx + i];
          const float back = bf16 ? bf16_to_fp32(got[t * n + i]) : fp16_to_fp32(got[t * n + i]);
          const double tol = std::abs(v) * (bf16 ? 1.0 / 256 : 1.0 / 2048) + 1e-7;
          ASSERT_NEAR(back, v, tol) << (bf16 ? "bf16" : "f16") << " t " << t << " i " << i;
        }
      }
      EXPECT_TRUE(out.intact());
    }
  }
}

TEST(CudaOps, SwigluRows) {
  AGENTRT_REQUIRE_CUDA();
  const int n_tok = 5;
  const int64_t n = 101, ldx = 2 * n + 3;
  const std::vector<float> x = random_vector(static_cast<size_t>(n_tok * ldx), 41, 3.0f);
  GuardedArray<float> dx(x), out(static_cast<size_t>(n_tok * n));
  swiglu_rows(dx.get(), ldx, n_tok, n, out.get(), nullptr);
  test::sync_ok();
  std::vector<double> expected(static_cast<size_t>(n_tok * n));
  for (int t = 0; t < n_tok; ++t)
    for (int64_t i = 0; i < n; ++i)
      expected[t * n + i] = silu_mul(x[t * ldx + i], x[t * ldx + n + i]);
  AGENTRT_EXPECT_CLOSE(out.download(), expected, 1e-12);
  EXPECT_TRUE(out.intact());
}

TEST(CudaOps, EmbedRowsOfEveryType) {
  AGENTRT_REQUIRE_CUDA();
  for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0,
                          TensorType::Q4_0, TensorType::Q4_K, TensorType::Q6_K}) {
    const int64_t n_in = traits(type).block_size == 256  ? 256
                         : traits(type).block_size == 32 ? 64
                                                         : 45;
    const int64_t n_vocab = 29;
    TestMatrix table(type, n_in, n_vocab, 51);
    const std::vector<int> tokens = {0, 28, 7, 7, 13, -1, 29};  // the last two are out of range
    GuardedArray<int> dt(tokens);
    GuardedArray<float> out(tokens.size() * static_cast<size_t>(n_in));
    embed_rows(table.view, dt.get(), static_cast<int>(tokens.size()), out.get(), nullptr);
    test::sync_ok();
    const std::vector<float> got = out.download();
    for (size_t t = 0; t < tokens.size(); ++t) {
      for (int64_t i = 0; i < n_in; ++i) {
        const bool valid = tokens[t] >= 0 && tokens[t] < n_vocab;
        const float e = valid ? table.values[static_cast<size_t>(tokens[t] * n_in + i)] : 0.0f;
        ASSERT_EQ(got[t * n_in + i], e) << traits(type).name << " token " << t << " i " << i;
      }
    }
    EXPECT_TRUE(out.intact());
  }
}

TEST(CudaOps, RmsNorm) {
  AGENTRT_REQUIRE_CUDA();
  for (int n : {7, 64, 1000, 4096}) {
    const int n_tok = 3;
    const int64_t ld = n + 5;
    const std::vector<float> x = random_vector(static_cast<size_t>(n_tok * ld), 61, 2.0f);
    const std::vector<float> w = random_vector(static_cast<size_t>(n), 62);
    GuardedArray<float> dx(x), dw(w), out(static_cast<size_t>(n_tok * ld));
    rms_norm(dx.get(), ld, dw.get(), n_tok, n, 1e-5f, out.get(), ld, nullptr);
    test::sync_ok();
    const std::vector<float> all = out.download();
    std::vector<float> got;
    std::vector<double> expected;
    for (int t = 0; t < n_tok; ++t) {
      double ss = 0.0;
      for (int i = 0; i < n; ++i) ss += double{x[t * ld + i]} * x[t * ld + i];
      const double scale = 1.0 / std::sqrt(ss / n + 1e-5);
      for (int i = 0; i < n; ++i) {
        got.push_back(all[t * ld + i]);
        expected.push_back(x[t * ld + i] * scale * w[i]);
      }
    }
    SCOPED_TRACE("n = " + std::to_string(n));
    AGENTRT_EXPECT_CLOSE(got, expected, 1e-12);
    EXPECT_TRUE(out.intact());
  }
}

// Reference RoPE of one pair at position pos, as cpu_backend computes it.
void rotate(double& x0, double& x1, int pos, int i, int hd, float base, float scale) {
  const double theta = static_cast<double>(pos) * scale * std::pow(double{base}, -2.0 * i / hd);
  const double c = static_cast<float>(std::cos(theta)), s = static_cast<float>(std::sin(theta));
  const double a = x0 * c - x1 * s, b = x0 * s + x1 * c;
  x0 = a;
  x1 = b;
}

TEST(CudaOps, RopeRotatesQueriesAndStoresKeysAndValues) {
  AGENTRT_REQUIRE_CUDA();
  const AttentionShape shape{6, 2, 10, 23};  // odd context, head size 10
  const int n_tok = 4, pos0 = 17;            // positions 17..20
  const int hd = shape.head_dim, n_q = shape.n_head * hd, n_kv = shape.n_head_kv * hd;
  const int64_t ld = n_q + 2 * n_kv + 2;
  const float base = 10000.0f, scale = 0.5f;
  const std::vector<float> qkv = random_vector(static_cast<size_t>(n_tok * ld), 71);
  const size_t cache = static_cast<size_t>(shape.n_head_kv) * shape.n_ctx * hd;
  const std::vector<float> k0 = random_vector(cache, 72), v0 = random_vector(cache, 73);
  GuardedArray<float> dq(qkv), dk(k0), dv(v0);
  GuardedArray<int> dpos(std::vector<int>{pos0});
  rope_store(dq.get(), ld, n_tok, dpos.get(), dk.get(), dv.get(), shape, base, scale, nullptr);
  test::sync_ok();
  std::vector<double> eq(qkv.begin(), qkv.end()), ek(k0.begin(), k0.end()),
      ev(v0.begin(), v0.end());
  for (int t = 0; t < n_tok; ++t) {
    const int pos = pos0 + t;
    for (int h = 0; h < shape.n_head; ++h)
      for (int i = 0; i < hd / 2; ++i)
        rotate(eq[t * ld + h * hd + 2 * i], eq[t * ld + h * hd + 2 * i + 1], pos, i, hd, base,
               scale);
    for (int g = 0; g < shape.n_head_kv; ++g) {
      for (int i = 0; i < hd / 2; ++i) {
        double x0 = qkv[t * ld + n_q + g * hd + 2 * i], x1 = qkv[t * ld + n_q + g * hd + 2 * i + 1];
        rotate(x0, x1, pos, i, hd, base, scale);
        ek[(g * shape.n_ctx + pos) * hd + 2 * i] = x0;
        ek[(g * shape.n_ctx + pos) * hd + 2 * i + 1] = x1;
      }
      for (int d = 0; d < hd; ++d)
        ev[(g * shape.n_ctx + pos) * hd + d] = qkv[t * ld + n_q + n_kv + g * hd + d];
    }
  }
  AGENTRT_EXPECT_CLOSE(dq.download(), eq, 1e-12);
  AGENTRT_EXPECT_CLOSE(dk.download(), ek, 1e-12);
  AGENTRT_EXPECT_CLOSE(dv.download(), ev, 1e-14);
  EXPECT_TRUE(dq.intact() && dk.intact() && dv.intact());
}

// Causal attention of n_tok queries at positions pos0.. over a cache, in double.
std::vector<double> reference_attention(const std::vector<float>& q, int64_t ldq, int n_tok,
                                        int pos0, const std::vector<float>& k,
                                        const std::vector<float>& v, const AttentionShape& s) {
  const int hd = s.head_dim, group = s.n_head / s.n_head_kv;
  std::vector<double> out(static_cast<size_t>(n_tok) * s.n_head * hd, 0.0);
  for (int t = 0; t < n_tok; ++t) {
    const int n_pos = pos0 + t + 1;
    for (int h = 0; h < s.n_head; ++h) {
      const int g = h / group;
      std::vector<double> score(static_cast<size_t>(n_pos));
      double m = -INFINITY;
      for (int p = 0; p < n_pos; ++p) {
        double dot = 0.0;
        for (int d = 0; d < hd; ++d)
          dot += double{q[t * ldq + h * hd + d]} * k[(g * s.n_ctx + p) * hd + d];
        score[p] = dot / std::sqrt(double(hd));
        m = std::max(m, score[p]);
      }
      double sum = 0.0;
      for (double& x : score) sum += (x = std::exp(x - m));
      for (int p = 0; p < n_pos; ++p)
        for (int d = 0; d < hd; ++d)
          out[(t * s.n_head + h) * hd + d] += score[p] / sum * v[(g * s.n_ctx + p) * hd + d];
    }
  }
  return out;
}

struct AttentionCase {
  AttentionShape shape;
  int n_tok, pos0;
};

void PrintTo(const AttentionCase& c, std::ostream* os) {
  *os << c.shape.n_head << "/" << c.shape.n_head_kv << " heads of " << c.shape.head_dim << ", "
      << c.n_tok << " tokens at " << c.pos0;
}

class AttentionDecode : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(AttentionDecode, MatchesReference) {
  AGENTRT_REQUIRE_CUDA();
  const AttentionCase c = GetParam();
  const AttentionShape& s = c.shape;
  const int hd = s.head_dim;
  const int64_t ldq = s.n_head * hd + 7;
  const std::vector<float> q = random_vector(static_cast<size_t>(c.n_tok * ldq), 81);
  const size_t cache = static_cast<size_t>(s.n_head_kv) * s.n_ctx * hd;
  const std::vector<float> k = random_vector(cache, 82, 2.0f), v = random_vector(cache, 83);
  GuardedArray<float> dq(q), dk(k), dv(v);
  GuardedArray<float> partial(attention_partial_floats(c.n_tok, s));
  const int64_t ldo = s.n_head * hd + 1;
  GuardedArray<float> out(static_cast<size_t>(c.n_tok * ldo));
  GuardedArray<int> dpos(std::vector<int>{c.pos0});
  attention_decode(dq.get(), ldq, c.n_tok, dpos.get(), dk.get(), dv.get(), s, partial.get(),
                   out.get(), ldo, nullptr);
  test::sync_ok();
  const std::vector<double> expected = reference_attention(q, ldq, c.n_tok, c.pos0, k, v, s);
  const std::vector<float> all = out.download();
  std::vector<float> got;
  for (int t = 0; t < c.n_tok; ++t)
    for (int i = 0; i < s.n_head * hd; ++i) got.push_back(all[t * ldo + i]);
  AGENTRT_EXPECT_CLOSE(got, expected, 1e-11);
  EXPECT_TRUE(out.intact() && partial.intact());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionDecode,
    ::testing::Values(AttentionCase{{4, 2, 8, 16}, 1, 0},         // the first token
                      AttentionCase{{8, 8, 64, 300}, 1, 200},     // MHA, two slices
                      AttentionCase{{6, 2, 10, 333}, 3, 329},     // GQA, odd, up to the end
                      AttentionCase{{32, 8, 128, 1024}, 8, 700},  // TinyLlama-like, 8 tokens
                      AttentionCase{{4, 1, 256, 129}, 2, 126}));  // MQA, largest head

TEST(CudaOps, CausalSoftmax) {
  AGENTRT_REQUIRE_CUDA();
  const int n_rows = 5, n_head = 3, n_cols = 300, first_limit = 296;
  const int64_t ld = n_cols + 4;
  const std::vector<float> s0 = random_vector(static_cast<size_t>(n_head * n_rows * ld), 91, 4.0f);
  GuardedArray<float> ds(s0);
  causal_softmax(ds.get(), ld, n_rows, n_head, n_cols, first_limit, nullptr);
  test::sync_ok();
  const std::vector<float> all = ds.download();
  std::vector<float> got;
  std::vector<double> expected;
  for (int h = 0; h < n_head; ++h) {
    for (int t = 0; t < n_rows; ++t) {
      const float* row = &s0[(h * n_rows + t) * ld];
      const int limit = std::min(first_limit + t, n_cols);
      double m = -INFINITY, sum = 0.0;
      for (int j = 0; j < limit; ++j) m = std::max(m, double{row[j]});
      for (int j = 0; j < limit; ++j) sum += std::exp(row[j] - m);
      for (int j = 0; j < n_cols; ++j) {
        got.push_back(all[(h * n_rows + t) * ld + j]);
        expected.push_back(j < limit ? std::exp(row[j] - m) / sum : 0.0);
      }
      for (int j = n_cols; j < ld; ++j)  // the row's padding is left alone
        ASSERT_EQ(all[(h * n_rows + t) * ld + j], row[j]);
    }
  }
  AGENTRT_EXPECT_CLOSE(got, expected, 1e-11);
  EXPECT_TRUE(ds.intact());
}

}  // namespace
}  // namespace agentrt::engine::cuda
