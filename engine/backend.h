// The interface every compute backend implements (CPU now, CUDA later). Internal to engine/.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "agentrt/engine/model.h"

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
                                                 int n_threads);

}  // namespace agentrt::engine
