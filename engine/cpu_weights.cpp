#include "cpu_weights.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string_view>

#include "cpu_gemm.h"

namespace agentrt::engine::cpu {

namespace {

constexpr size_t kQ4kBlock = 144;

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

void pack_q4_k(const uint8_t* rows, size_t row_bytes, int64_t n_in, uint8_t* dst) {
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

void unpack_q4_k(const uint8_t* group, int64_t n_in, int r, uint8_t* dst) {
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

// Q6_K super-block (210 bytes): ql[128], qh[64], int8 scales[16], f16 d. Weight 128h + 32k + l
// (l < 32) takes its low 4 bits from ql[64h + 32(k % 2) + l] (nibble k / 2) and its top 2 bits
// from qh[32h + l] >> 2k.
constexpr size_t kQ6kBlock = 210;

// The weight whose top 2 bits are bits 2i..2i+1 of byte b (of each row's 4) in the top-bits
// vector of sub-block j, half h. (The nibbles lie as Q4_K's.)
int q6_k_r16_weight_of_bits(int j, int h, int i, int b) {
  return 32 * j + 16 * h + 8 * (i / 2) + 4 * (i % 2) + b;
}

void pack_q6_k(const uint8_t* rows, size_t row_bytes, int64_t n_in, uint8_t* dst) {
  for (int64_t s = 0; s < n_in / 256; ++s) {
    uint8_t* o = dst + s * kQ6kR16Block;
    for (int r = 0; r < kR16Rows; ++r) {
      const uint8_t* b = rows + r * row_bytes + s * kQ6kBlock;
      std::memcpy(o + 2 * r, b + 208, 2);
      for (int j = 0; j < 16; ++j) o[32 + 16 * j + r] = b[192 + j];
      uint8_t q[256];  // the 6-bit values
      for (int h = 0; h < 2; ++h)
        for (int k = 0; k < 4; ++k) {
          const uint8_t* ql = b + 64 * h + 32 * (k % 2);
          const uint8_t* qh = b + 128 + 32 * h;
          for (int l = 0; l < 32; ++l)
            q[128 * h + 32 * k + l] = static_cast<uint8_t>(((ql[l] >> (4 * (k / 2))) & 0xF) |
                                                           ((qh[l] >> (2 * k)) & 3) << 4);
        }
      for (int j = 0; j < 8; ++j) {
        for (int g = 0; g < 4; ++g) {  // nibbles of weights 32j + 8g .. + 7, as pack_q4_k
          uint64_t v;
          std::memcpy(&v, q + 32 * j + 8 * g, 8);
          v &= 0x0F0F0F0F0F0F0F0Full;
          const auto out = static_cast<uint32_t>(v | (v >> 32) << 4);
          std::memcpy(o + 288 + 256 * j + 64 * g + 4 * r, &out, 4);
        }
        for (int h = 0; h < 2; ++h) {  // top bits of weights 32j + 16h + {0, 4, 8, 12} + b
          uint64_t lo, hi;
          std::memcpy(&lo, q + 32 * j + 16 * h, 8);
          std::memcpy(&hi, q + 32 * j + 16 * h + 8, 8);
          lo = (lo >> 4) & 0x0303030303030303ull;
          hi = (hi >> 4) & 0x0303030303030303ull;
          const auto out = static_cast<uint32_t>(lo | (lo >> 32) << 2 | hi << 4 | (hi >> 32) << 6);
          std::memcpy(o + 2336 + 128 * j + 64 * h + 4 * r, &out, 4);
        }
      }
    }
  }
}

void unpack_q6_k(const uint8_t* group, int64_t n_in, int r, uint8_t* dst) {
  for (int64_t s = 0; s < n_in / 256; ++s) {
    const uint8_t* o = group + s * kQ6kR16Block;
    uint8_t* b = dst + s * kQ6kBlock;
    std::memcpy(b + 208, o + 2 * r, 2);
    for (int j = 0; j < 16; ++j) b[192 + j] = o[32 + 16 * j + r];
    uint8_t q[256];
    for (int j = 0; j < 8; ++j) {
      for (int g = 0; g < 4; ++g)
        for (int k = 0; k < 4; ++k) {
          const uint8_t v = o[288 + 256 * j + 64 * g + 4 * r + k];
          q[32 * j + 8 * g + k] = v & 0xF;
          q[32 * j + 8 * g + 4 + k] = v >> 4;
        }
      for (int h = 0; h < 2; ++h)
        for (int k = 0; k < 4; ++k)
          for (int i = 0; i < 4; ++i)
            q[q6_k_r16_weight_of_bits(j, h, i, k)] |= static_cast<uint8_t>(
                ((o[2336 + 128 * j + 64 * h + 4 * r + k] >> (2 * i)) & 3) << 4);
    }
    std::memset(b, 0, 192);
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, k = (e % 128) / 32, l = e % 32;
      b[64 * h + 32 * (k % 2) + l] |= static_cast<uint8_t>((q[e] & 0xF) << (4 * (k / 2)));
      b[128 + 32 * h + l] |= static_cast<uint8_t>((q[e] >> 4) << (2 * k));
    }
  }
}

// Blocks of 32: Q8_0 (f16 d, 32 int8), Q4_0 (f16 d, 16 bytes: weight i < 16 in the low nibble of
// byte i, 16 + i in its high nibble), Q5_0 (f16 d, a 32-bit word of fifth bits, Q4_0's bytes).
int q32_nibble(const uint8_t* qs, int k) {
  return k < 16 ? qs[k] & 0xF : qs[k - 16] >> 4;
}

void pack_q32(WeightKind kind, const uint8_t* rows, size_t row_bytes, int64_t n_in, uint8_t* dst) {
  const size_t block = row_bytes / static_cast<size_t>(n_in / 32);
  const size_t out = kR16Rows * block;
  for (int64_t s = 0; s < n_in / 32; ++s) {
    uint8_t* o = dst + s * out;
    for (int r = 0; r < kR16Rows; ++r) {
      const uint8_t* b = rows + r * row_bytes + s * block;
      std::memcpy(o + 2 * r, b, 2);
      if (kind == WeightKind::q8_0) {
        for (int k = 0; k < 32; ++k) o[32 + 64 * (k / 4) + 4 * r + k % 4] = b[2 + k] ^ 0x80;
        continue;
      }
      const uint8_t* qs = b + (kind == WeightKind::q5_0 ? 6 : 2);
      uint8_t* nib = o + (kind == WeightKind::q5_0 ? 96 : 32);
      for (int g = 0; g < 4; ++g)
        for (int k = 0; k < 4; ++k)
          nib[64 * g + 4 * r + k] =
              static_cast<uint8_t>(q32_nibble(qs, 8 * g + k) | q32_nibble(qs, 8 * g + 4 + k) << 4);
      if (kind == WeightKind::q5_0) {
        uint32_t qh;
        std::memcpy(&qh, b + 2, 4);
        for (int k = 0; k < 4; ++k) {
          uint8_t bits = 0;
          for (int g = 0; g < 4; ++g)
            bits |= static_cast<uint8_t>(((qh >> (8 * g + k)) & 1) << (2 * g) |
                                         ((qh >> (8 * g + 4 + k)) & 1) << (2 * g + 1));
          o[32 + 4 * r + k] = bits;
        }
      }
    }
  }
}

void unpack_q32(WeightKind kind, const uint8_t* group, size_t row_bytes, int64_t n_in, int r,
                uint8_t* dst) {
  const size_t block = row_bytes / static_cast<size_t>(n_in / 32);
  for (int64_t s = 0; s < n_in / 32; ++s) {
    const uint8_t* o = group + s * kR16Rows * block;
    uint8_t* b = dst + s * block;
    std::memcpy(b, o + 2 * r, 2);
    if (kind == WeightKind::q8_0) {
      for (int k = 0; k < 32; ++k) b[2 + k] = o[32 + 64 * (k / 4) + 4 * r + k % 4] ^ 0x80;
      continue;
    }
    uint8_t* qs = b + (kind == WeightKind::q5_0 ? 6 : 2);
    const uint8_t* nib = o + (kind == WeightKind::q5_0 ? 96 : 32);
    std::memset(qs, 0, 16);
    uint32_t qh = 0;
    for (int g = 0; g < 4; ++g)
      for (int k = 0; k < 4; ++k)
        for (int half = 0; half < 2; ++half) {
          const int w = 8 * g + 4 * half + k;
          const int v = (nib[64 * g + 4 * r + k] >> (4 * half)) & 0xF;
          qs[w % 16] |= static_cast<uint8_t>(v << (w < 16 ? 0 : 4));
          if (kind == WeightKind::q5_0)
            qh |= static_cast<uint32_t>((o[32 + 4 * r + k] >> (2 * g + half)) & 1) << w;
        }
    if (kind == WeightKind::q5_0) std::memcpy(b + 2, &qh, 4);
  }
}

}  // namespace

void pack_r16(WeightKind row_kind, const uint8_t* rows, size_t row_bytes, int64_t n_in,
              uint8_t* dst) {
  if (r16_block_weights(row_kind) == 1) {  // float: element size row_bytes / n_in
    const size_t es = row_bytes / static_cast<size_t>(n_in);
    for (int r = 0; r < kR16Rows; ++r)
      for (int64_t k = 0; k < n_in; ++k)
        std::memcpy(dst + (kR16Rows * k + r) * es, rows + r * row_bytes + k * es, es);
  } else if (row_kind == WeightKind::q4_k) {
    pack_q4_k(rows, row_bytes, n_in, dst);
  } else if (row_kind == WeightKind::q6_k) {
    pack_q6_k(rows, row_bytes, n_in, dst);
  } else {
    pack_q32(row_kind, rows, row_bytes, n_in, dst);
  }
}

void unpack_r16(WeightKind row_kind, const uint8_t* group, size_t row_bytes, int64_t n_in, int r,
                uint8_t* dst) {
  if (r16_block_weights(row_kind) == 1) {
    const size_t es = row_bytes / static_cast<size_t>(n_in);
    for (int64_t k = 0; k < n_in; ++k)
      std::memcpy(dst + k * es, group + (kR16Rows * k + r) * es, es);
  } else if (row_kind == WeightKind::q4_k) {
    unpack_q4_k(group, n_in, r, dst);
  } else if (row_kind == WeightKind::q6_k) {
    unpack_q6_k(group, n_in, r, dst);
  } else {
    unpack_q32(row_kind, group, row_bytes, n_in, r, dst);
  }
}

void CpuWeights::Free::operator()(uint8_t* p) const {
  std::free(p);
}

std::shared_ptr<const CpuWeights> CpuWeights::get(const Model& model, ThreadPool& pool) {
  const Kernels& k = kernels_best();
  // AGENTRT_PACK=0 keeps every matrix in the mapping: file pages that the kernel can reclaim and
  // processes can share, at the row kernels' speed.
  const char* pack_env = std::getenv("AGENTRT_PACK");
  const bool pack = !(pack_env && std::string_view(pack_env) == "0");
  return std::static_pointer_cast<const CpuWeights>(
      model.derived(std::string("cpu.matrices.") + k.name + (pack ? "" : ".rows"),
                    [&] { return std::shared_ptr<const void>(make(model, k, pack, pool)); }));
}

std::shared_ptr<const CpuWeights> CpuWeights::make(const Model& model, const Kernels& k, bool pack,
                                                   ThreadPool& pool) {
  std::shared_ptr<CpuWeights> cw(new CpuWeights());
  const ModelWeights& w = model.weights();
  auto packs = [&](const WeightView& v) {
    if (!pack) return false;
    const std::optional<WeightKind> kind = weight_kind(v.type);
    return kind && has_r16(*kind) && k.gemm[static_cast<int>(r16_kind(*kind))] != nullptr &&
           v.n_out % kR16Rows == 0 && v.n_in % r16_block_weights(*kind) == 0;
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
  // Packed a few megabytes at a time, each chunk's source pages dropped when it is done, so the
  // resident set grows by one chunk rather than by the largest matrix (the output projection).
  const GgufFile& file = model.file();
  constexpr uint64_t kChunkBytes = uint64_t{4} << 20;
  uint8_t* next = cw->packed_.get();
  for (const auto& [view, matrix] : todo) {
    const uint64_t bytes = static_cast<uint64_t>(view->n_out) * view->row_bytes;
    const int64_t groups = view->n_out / kR16Rows;
    const size_t group_bytes = kR16Rows * view->row_bytes;
    const int64_t chunk = std::max<int64_t>(1, static_cast<int64_t>(kChunkBytes / group_bytes));
    const auto* src = static_cast<const uint8_t*>(view->data);
    const WeightKind kind = *weight_kind(view->type);
    uint8_t* dst = next;
    for (int64_t c0 = 0; c0 < groups; c0 += chunk) {
      const int64_t c1 = std::min(groups, c0 + chunk);
      pool.run([&](int ith, int nth) {
        const auto [g0, g1] = ThreadPool::split(c1 - c0, ith, nth);
        for (int64_t g = c0 + g0; g < c0 + g1; ++g)
          pack_r16(kind, src + g * group_bytes, view->row_bytes, view->n_in, dst + g * group_bytes);
      });
      file.release_pages(src + c0 * group_bytes, static_cast<uint64_t>(c1 - c0) * group_bytes);
    }
    matrix->view.data = dst;
    matrix->r16 = true;
    next += (bytes + 63) / 64 * 64;
  }

  // Then every page of tensor data this backend does not read from the mapping goes too: the
  // pages the packed matrices shared with their neighbours, and the norms, which the Model keeps
  // as vectors. What stays: the embedding table and the matrices left in rows.
  if (!todo.empty()) {
    std::vector<std::pair<const uint8_t*, uint64_t>> kept = {
        {static_cast<const uint8_t*>(w.token_embd.data),
         static_cast<uint64_t>(w.token_embd.n_out) * w.token_embd.row_bytes}};
    auto keep = [&](const Matrix& m) {
      if (!m.r16)
        kept.emplace_back(static_cast<const uint8_t*>(m.view.data),
                          static_cast<uint64_t>(m.view.n_out) * m.view.row_bytes);
    };
    for (const LayerMatrices& m : cw->layers_)
      for (const Matrix* x : {&m.wq, &m.wk, &m.wv, &m.wo, &m.w_gate, &m.w_down, &m.w_up}) keep(*x);
    keep(cw->output_);
    std::sort(kept.begin(), kept.end());
    const uint8_t* from = file.tensor_data();
    for (const auto& [p, n] : kept) {
      if (p > from) file.release_pages(from, static_cast<uint64_t>(p - from));
      from = std::max(from, p + n);
    }
    const uint8_t* end = file.tensor_data() + file.tensor_data_bytes();
    if (end > from) file.release_pages(from, static_cast<uint64_t>(end - from));
  }
  return cw;
}

}  // namespace agentrt::engine::cpu
