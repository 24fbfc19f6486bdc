#include "cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "cpu_gemm.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace agentrt::engine::cpu {

float dot_f32(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  float sum = 0.0f;
#if defined(__AVX512F__)
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16)
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  // Horizontal sum through memory: GCC 12's _mm512_reduce_add_ps warns falsely (-Wuninitialized).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(acc0, acc1));
  for (float v : lanes) sum += v;
#elif defined(__AVX2__) && defined(__FMA__)
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  sum = _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
#else
  float acc[8] = {};
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  for (float v : acc) sum += v;
#endif
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// The kernel layout of a weight type; std::nullopt for types without their own kernels, whose
// rows would be expanded to float32 and take the f32 path (every type the loader accepts has
// kernels now; the path stays for the next one).
std::optional<WeightKind> weight_kind(TensorType t) {
  switch (t) {
    case TensorType::Q8_0:
      return WeightKind::q8_0;
    case TensorType::Q4_0:
      return WeightKind::q4_0;
    case TensorType::Q5_0:
      return WeightKind::q5_0;
    case TensorType::Q4_K:
      return WeightKind::q4_k;
    case TensorType::Q6_K:
      return WeightKind::q6_k;
    case TensorType::F16:
      return WeightKind::f16;
    case TensorType::BF16:
      return WeightKind::bf16;
    case TensorType::F32:
      return WeightKind::f32;
    default:
      return std::nullopt;
  }
}

namespace {

std::optional<WeightKind> matrix_kind(const Matrix& m) {
  const std::optional<WeightKind> k = weight_kind(m.view.type);
  return m.r16 && k ? r16_kind(*k) : k;
}

// Rows of a type without kernels are expanded this many at a time per thread.
constexpr int64_t kExpandRows = 16;

// Rows go to threads in units of this many, so that row tiles and r16 groups stay whole.
constexpr int64_t kRowUnit = 16;
static_assert(kRowUnit % kR16Rows == 0);
// Batches at least this large quantize their activations on all threads.
constexpr int kParallelQuantizeTokens = 8;

// The engine thread's quantized activations; grows to the largest batch and stays.
struct ActivationBuffers {
  std::vector<uint8_t> q8, q8_k;
};
thread_local ActivationBuffers t_act;

}  // namespace

const Kernels& kernels_best() {
  static const Kernels* const best = [] {
    // AGENTRT_KERNELS=scalar|avx2|avx512vnni picks a narrower variant, to compare them on one
    // machine; one this CPU lacks is ignored.
    if (const char* want = std::getenv("AGENTRT_KERNELS"))
      for (const Kernels* k : {kernels_avx512(), kernels_avx2(), &kernels_scalar()})
        if (k && std::strcmp(k->name, want) == 0) return k;
    if (const Kernels* k = kernels_avx512()) return k;
    if (const Kernels* k = kernels_avx2()) return k;
    return &kernels_scalar();
  }();
  return *best;
}

void matmul(const Matrix& w, const float* x, float* y, int n_tok, ThreadPool& pool) {
  const MatmulOut out{&w, y};
  matmul_many(std::span<const MatmulOut>(&out, 1), x, n_tok, pool);
}

void matmul_many(std::span<const MatmulOut> outs, const float* x, int n_tok, ThreadPool& pool) {
  const Kernels& k = kernels_best();
  const int64_t n_in = outs[0].w->view.n_in;
  bool need[3] = {false, false, false};
  int64_t units = 0, work = 0;
  for (const MatmulOut& o : outs) {
    need[static_cast<int>(act_kind(matrix_kind(*o.w).value_or(WeightKind::f32)))] = true;
    units += (o.w->view.n_out + kRowUnit - 1) / kRowUnit;
    work += o.w->view.n_out * n_in * n_tok;
  }

  // Quantize x once per layout the weights need.
  struct Act {
    const uint8_t* data;
    size_t stride;
  } act[3];
  act[static_cast<int>(ActKind::f32)] = {reinterpret_cast<const uint8_t*>(x),
                                         act_row_bytes(ActKind::f32, n_in)};
  for (ActKind a : {ActKind::q8, ActKind::q8_k}) {
    if (!need[static_cast<int>(a)]) continue;
    std::vector<uint8_t>& buf = a == ActKind::q8 ? t_act.q8 : t_act.q8_k;
    const size_t stride = act_row_bytes(a, n_in);
    if (buf.size() < stride * n_tok) buf.resize(stride * n_tok);
    auto quantize = a == ActKind::q8 ? k.quantize_q8 : k.quantize_q8_k;
    uint8_t* dst = buf.data();
    if (n_tok >= kParallelQuantizeTokens) {
      pool.run([&](int ith, int nth) {
        const auto [t0, t1] = ThreadPool::split(n_tok, ith, nth);
        for (int64_t t = t0; t < t1; ++t) quantize(x + t * n_in, dst + t * stride, n_in);
      });
    } else {
      for (int t = 0; t < n_tok; ++t) quantize(x + t * n_in, dst + t * stride, n_in);
    }
    act[static_cast<int>(a)] = {dst, stride};
  }

  pool.run(
      [&](int ith, int nth) {
        const auto [u0, u1] = ThreadPool::split(units, ith, nth);
        int64_t base = 0;  // units before the current output
        for (const MatmulOut& o : outs) {
          const WeightView& w = o.w->view;
          const int64_t n_units = (w.n_out + kRowUnit - 1) / kRowUnit;
          const int64_t b = std::max(u0, base), e = std::min(u1, base + n_units);
          if (b < e) {
            const int64_t r0 = (b - base) * kRowUnit, r1 = std::min(w.n_out, (e - base) * kRowUnit);
            if (const std::optional<WeightKind> kind = matrix_kind(*o.w)) {
              const Act& a = act[static_cast<int>(act_kind(*kind))];
              k.gemm[static_cast<int>(*kind)](static_cast<const uint8_t*>(w.row(r0)), w.row_bytes,
                                              r1 - r0, a.data, a.stride, n_tok, n_in, o.y + r0,
                                              w.n_out);
            } else {
              thread_local std::vector<float> rows;  // (kExpandRows, n_in)
              rows.resize(static_cast<size_t>(kExpandRows * n_in));
              const Act& a = act[static_cast<int>(ActKind::f32)];
              for (int64_t r = r0; r < r1; r += kExpandRows) {
                const int64_t m = std::min(kExpandRows, r1 - r);
                for (int64_t i = 0; i < m; ++i)
                  dequantize_row(w.type, w.row(r + i), &rows[static_cast<size_t>(i * n_in)], n_in);
                k.gemm[static_cast<int>(WeightKind::f32)](
                    reinterpret_cast<const uint8_t*>(rows.data()), n_in * sizeof(float), m, a.data,
                    a.stride, n_tok, n_in, o.y + r, w.n_out);
              }
            }
          }
          base += n_units;
        }
      },
      work);
}

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

namespace {

// cos and sin of pair i's angle pos * freq_scale * base^(-2i/head_dim) at position pos, for
// i < head_dim / 2: cos at [2i], sin at [2i + 1]. Every layer's q and k of a position share them,
// so a token computes head_dim / 2 of each instead of 2 * n_layer times that. A table per
// (head_dim, base, scale): Gemma 3's local and global layers alternate between two bases.
const float* rope_cos_sin(int head_dim, int pos, float freq_base, float freq_scale) {
  struct Table {
    int head_dim;
    float base, scale;
    std::vector<float> cos_sin;  // (positions, head_dim)
  };
  thread_local std::vector<Table> tables;
  Table* table = nullptr;
  for (Table& t : tables)
    if (t.head_dim == head_dim && t.base == freq_base && t.scale == freq_scale) table = &t;
  if (!table) {
    if (tables.size() == 4) tables.erase(tables.begin());
    table = &tables.emplace_back(Table{head_dim, freq_base, freq_scale, {}});
  }
  const size_t need = static_cast<size_t>(pos + 1) * head_dim;
  for (size_t have = table->cos_sin.size(); have < need; have += head_dim) {
    const double p = static_cast<double>(have / head_dim) * freq_scale;
    for (int i = 0; i < head_dim / 2; ++i) {
      const double theta = p * std::pow(static_cast<double>(freq_base), -2.0 * i / head_dim);
      table->cos_sin.push_back(static_cast<float>(std::cos(theta)));
      table->cos_sin.push_back(static_cast<float>(std::sin(theta)));
    }
  }
  return &table->cos_sin[static_cast<size_t>(pos) * head_dim];
}

}  // namespace

void rope(float* v, int n_head, int head_dim, int pos, float freq_base, float freq_scale) {
  const float* cs = rope_cos_sin(head_dim, pos, freq_base, freq_scale);
  for (int h = 0; h < n_head; ++h) {
    float* head = v + h * head_dim;
    for (int i = 0; i < head_dim / 2; ++i) {
      const float c = cs[2 * i], s = cs[2 * i + 1];
      const float x0 = head[2 * i], x1 = head[2 * i + 1];
      head[2 * i] = x0 * c - x1 * s;
      head[2 * i + 1] = x0 * s + x1 * c;
    }
  }
}

void rope_halves(float* v, int n_head, int head_dim, int pos, float freq_base, float freq_scale) {
  const float* cs = rope_cos_sin(head_dim, pos, freq_base, freq_scale);
  const int half = head_dim / 2;
  for (int h = 0; h < n_head; ++h) {
    float* head = v + h * head_dim;
    for (int i = 0; i < half; ++i) {
      const float c = cs[2 * i], s = cs[2 * i + 1];
      const float x0 = head[i], x1 = head[i + half];
      head[i] = x0 * c - x1 * s;
      head[i + half] = x0 * s + x1 * c;
    }
  }
}

void softmax(float* x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  const float inv = 1.0f / kernels_best().exp_sum(x, n, max);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(float* gate, const float* up, int64_t n) {
  kernels_best().swiglu(gate, up, n);
}

void geglu_tanh(float* gate, const float* up, int64_t n) {
  kernels_best().geglu_tanh(gate, up, n);
}

}  // namespace agentrt::engine::cpu
