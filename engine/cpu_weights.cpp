#include "cpu_weights.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#include "cpu_gemm.h"

namespace agentrt::engine::cpu {

namespace {

constexpr size_t kQ4kBlock = 144;  // one row's super-block: d, dmin, 12 scale bytes, 128 nibbles

// Scale and min (6 bits each) of sub-block j from Q4_K's 12 packed bytes.
void scale_min(const uint8_t* s, int j, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

}  // namespace

void pack_q4_k_r16(const uint8_t* rows, size_t row_bytes, int64_t n_in, uint8_t* dst) {
  for (int64_t s = 0; s < n_in / 256; ++s) {
    uint8_t* o = dst + s * kQ4kR16Block;
    for (int r = 0; r < kR16Rows; ++r) {
      const uint8_t* b = rows + r * row_bytes + s * kQ4kBlock;
      std::memcpy(o + 2 * r, b, 2);
      std::memcpy(o + 32 + 2 * r, b + 2, 2);
      uint8_t sc[8], m[8];
      for (int j = 0; j < 8; ++j) scale_min(b + 4, j, &sc[j], &m[j]);
      for (int i = 0; i < 4; ++i) {
        const int e = 2 * i, f = 2 * i + 1;
        o[64 + 16 * i + r] = static_cast<uint8_t>((sc[e] & 0xF) | (sc[f] & 0xF) << 4);
        o[128 + 16 * i + r] = static_cast<uint8_t>((m[e] & 0xF) | (m[f] & 0xF) << 4);
        o[192 + 16 * i + r] = static_cast<uint8_t>(sc[e] >> 4 | (m[e] >> 4) << 2 |
                                                   (sc[f] >> 4) << 4 | (m[f] >> 4) << 6);
      }
      for (int j = 0; j < 8; ++j) {
        // Sub-block j: the low (even j) or high (odd j) nibbles of bytes 32 (j / 2) .. + 31.
        const uint8_t* q = b + 16 + 32 * (j / 2);
        const int shift = 4 * (j % 2);
        for (int g = 0; g < 4; ++g) {  // weights 8g .. 8g + 7 of the sub-block, 8 at a time
          uint64_t v;
          std::memcpy(&v, q + 8 * g, 8);
          v = (v >> shift) & 0x0F0F0F0F0F0F0F0Full;
          const auto out = static_cast<uint32_t>(v | (v >> 32) << 4);
          std::memcpy(o + 256 + 256 * j + 64 * g + 4 * r, &out, 4);
        }
      }
    }
  }
}

void unpack_q4_k_r16(const uint8_t* group, size_t row_bytes, int64_t n_in, int r, uint8_t* dst) {
  (void)row_bytes;
  for (int64_t s = 0; s < n_in / 256; ++s) {
    const uint8_t* o = group + s * kQ4kR16Block;
    uint8_t* b = dst + s * kQ4kBlock;
    std::memcpy(b, o + 2 * r, 2);
    std::memcpy(b + 2, o + 32 + 2 * r, 2);
    uint8_t sc[8], m[8];
    for (int i = 0; i < 4; ++i) {
      const uint8_t lo_sc = o[64 + 16 * i + r], lo_m = o[128 + 16 * i + r],
                    hi = o[192 + 16 * i + r];
      sc[2 * i] = static_cast<uint8_t>((lo_sc & 0xF) | (hi & 3) << 4);
      m[2 * i] = static_cast<uint8_t>((lo_m & 0xF) | ((hi >> 2) & 3) << 4);
      sc[2 * i + 1] = static_cast<uint8_t>((lo_sc >> 4) | ((hi >> 4) & 3) << 4);
      m[2 * i + 1] = static_cast<uint8_t>((lo_m >> 4) | ((hi >> 6) & 3) << 4);
    }
    uint8_t* s12 = b + 4;
    for (int j = 0; j < 4; ++j) {
      s12[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
      s12[j + 4] = static_cast<uint8_t>(m[j] | (m[j + 4] >> 4) << 6);
      s12[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
    }
    uint8_t* qs = b + 16;
    std::memset(qs, 0, 128);
    for (int j = 0; j < 8; ++j)
      for (int g = 0; g < 4; ++g)
        for (int k = 0; k < 4; ++k) {
          const uint8_t v = o[256 + 256 * j + 64 * g + 4 * r + k];
          for (int half = 0; half < 2; ++half) {
            const int w = 32 * j + 8 * g + k + 4 * half;
            qs[32 * (w / 64) + w % 32] |=
                static_cast<uint8_t>(((v >> (4 * half)) & 0xF) << (4 * ((w / 32) % 2)));
          }
        }
  }
}

void CpuWeights::Free::operator()(uint8_t* p) const {
  std::free(p);
}

std::shared_ptr<const CpuWeights> CpuWeights::get(const std::shared_ptr<const Model>& model,
                                                  ThreadPool& pool) {
  static std::mutex mutex;
  static std::map<const Model*, std::weak_ptr<const CpuWeights>> cache;
  std::lock_guard lock(mutex);
  for (auto it = cache.begin(); it != cache.end();)  // forget models whose weights are gone
    it = it->second.expired() ? cache.erase(it) : std::next(it);
  if (auto found = cache.find(model.get()); found != cache.end())
    if (auto shared = found->second.lock()) return shared;

  std::shared_ptr<CpuWeights> cw(new CpuWeights());
  cw->model_ = model;
  const ModelWeights& w = model->weights();
  const bool can_pack = kernels_best().gemm[static_cast<int>(WeightKind::q4_k_r16)] != nullptr;
  auto packs = [&](const WeightView& v) {
    return can_pack && v.type == TensorType::Q4_K && v.n_out % kR16Rows == 0 && v.n_in % 256 == 0;
  };

  // One allocation for every packed matrix, 64-byte aligned groups.
  std::vector<std::pair<const WeightView*, Matrix*>> todo;
  cw->layers_.resize(w.layers.size());
  for (size_t il = 0; il < w.layers.size(); ++il) {
    const LayerWeights& l = w.layers[il];
    LayerMatrices& m = cw->layers_[il];
    const std::pair<const WeightView*, Matrix*> pairs[] = {
        {&l.wq, &m.wq},         {&l.wk, &m.wk},         {&l.wv, &m.wv},    {&l.wo, &m.wo},
        {&l.w_gate, &m.w_gate}, {&l.w_down, &m.w_down}, {&l.w_up, &m.w_up}};
    for (const auto& [view, matrix] : pairs) {
      matrix->view = *view;
      if (packs(*view)) todo.emplace_back(view, matrix);
    }
  }
  cw->output_.view = w.output;
  // A tied output is also the embedding table, which is read by rows.
  if (!w.tied_output && packs(w.output)) todo.emplace_back(&w.output, &cw->output_);

  uint64_t total = 0;
  for (const auto& [view, matrix] : todo)
    total += (static_cast<uint64_t>(view->n_out) * view->row_bytes + 63) / 64 * 64;
  if (total > 0) {
    void* p = std::aligned_alloc(64, total);
    if (!p) throw std::bad_alloc();
    cw->packed_.reset(static_cast<uint8_t*>(p));
    cw->packed_bytes_ = total;
  }
  uint8_t* next = cw->packed_.get();
  for (const auto& [view, matrix] : todo) {
    const uint64_t bytes = static_cast<uint64_t>(view->n_out) * view->row_bytes;
    const int64_t groups = view->n_out / kR16Rows;
    const size_t group_bytes = kR16Rows * view->row_bytes;
    const auto* src = static_cast<const uint8_t*>(view->data);
    uint8_t* dst = next;
    pool.run([&](int ith, int nth) {
      const auto [g0, g1] = ThreadPool::split(groups, ith, nth);
      for (int64_t g = g0; g < g1; ++g)
        pack_q4_k_r16(src + g * group_bytes, view->row_bytes, view->n_in, dst + g * group_bytes);
    });
    model->file().release_pages(src, bytes);
    matrix->view.data = dst;
    matrix->r16 = true;
    next += (bytes + 63) / 64 * 64;
  }
  cache[model.get()] = cw;
  return cw;
}

}  // namespace agentrt::engine::cpu
