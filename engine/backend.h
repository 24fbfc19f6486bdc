// The interface every compute backend implements (CPU now, CUDA later). Internal to engine/.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "agentrt/engine/model.h"
#include "agentrt/engine/session.h"

namespace agentrt::engine {

// Per-session state of a backend: its KV cache and scratch buffers.
class BackendContext {
 public:
  virtual ~BackendContext() = default;
  virtual std::string_view name() const = 0;
  // Evaluates tokens[0..n) at positions n_past..n_past+n-1, writing their keys and values to the
  // cache. When `logits` is not empty it receives the logits of the last token (n_vocab) or, when
  // all_logits, of every token ((n, n_vocab)). Requires n_past + n <= n_ctx.
  virtual void eval(std::span<const Token> tokens, int n_past, std::span<float> logits,
                    bool all_logits) = 0;
};

std::unique_ptr<BackendContext> make_cpu_context(std::shared_ptr<const Model> model, int n_ctx,
                                                 int n_threads, KvType kv_type = KvType::F16);

// ---- the CUDA backend (engine/cuda/; stubs when the build has no CUDA) ----

// Empty when device 0 can run this build's kernels, else why not ("this build has no CUDA
// backend", "no CUDA device or driver (...)"). Probes once per process.
std::string cuda_unavailable_reason();
// "NVIDIA H200 (sm_90, 139.8 GiB)", or empty without a device.
std::string cuda_device_description();
// Empty when the CUDA backend computes this model, else why not (it supports llama only).
std::string cuda_unsupported_reason(const Model& model);

struct CudaOptions {
  bool use_graph = true;  // capture the single-token decode step in a CUDA graph
};

// A context on device 0 for up to max_batch tokens per eval(). The model's weights are uploaded
// once per Model and shared by its contexts; the KV cache (n_ctx) is the context's own. Throws
// ModelError (cuda::CudaError) when the device cannot hold them or a CUDA call fails.
std::unique_ptr<BackendContext> make_cuda_context(std::shared_ptr<const Model> model, int n_ctx,
                                                  int max_batch, const CudaOptions& options = {});

}  // namespace agentrt::engine
