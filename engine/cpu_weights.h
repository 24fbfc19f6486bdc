// The CPU backend's matrices of a model: each one as the model's rows in the mapping, or, for
// Q4_K, Q6_K, Q8_0, Q4_0, Q5_0, F16, BF16 and F32 matrices where the chosen kernels read the r16
// layout (cpu_gemm.h), a packed copy made once per Model and kept with it (Model::derived).
// Internal to engine/.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "agentrt/engine/model.h"
#include "cpu_kernels.h"
#include "thread_pool.h"

namespace agentrt::engine::cpu {

struct LayerMatrices {
  Matrix wq, wk, wv, wo, w_gate, w_down, w_up;
};

class CpuWeights {
 public:
  // The model's matrices for kernels_best(), packed on first use (on `pool`'s threads) and kept
  // as long as the Model, for every context of it. Packing drops the pages of tensor data that
  // the backend no longer reads from the resident set (GgufFile::release_pages), so the process
  // holds one copy; anything that reads them again (another backend) gets them from the file.
  // With AGENTRT_PACK=0 in the environment every matrix stays in the mapping (rows).
  static std::shared_ptr<const CpuWeights> get(const Model& model, ThreadPool& pool);

  const LayerMatrices& layer(int il) const { return layers_[static_cast<size_t>(il)]; }
  const Matrix& output() const { return output_; }
  uint64_t packed_bytes() const { return packed_bytes_; }

  struct Free {
    void operator()(uint8_t* p) const;
  };

 private:
  CpuWeights() = default;
  static std::shared_ptr<const CpuWeights> make(const Model& model, const Kernels& k, bool pack,
                                                ThreadPool& pool);
  std::vector<LayerMatrices> layers_;
  Matrix output_;
  std::unique_ptr<uint8_t[], Free> packed_;
  uint64_t packed_bytes_ = 0;
};

}  // namespace agentrt::engine::cpu
