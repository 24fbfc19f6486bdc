// The CUDA entry points of a build without the CUDA backend.
#include "backend.h"

namespace agentrt::engine {

std::string cuda_unavailable_reason() {
  return "this build has no CUDA backend (configure with AGENTRT_CUDA=ON and a CUDA toolkit)";
}

std::string cuda_device_description() {
  return {};
}

std::string cuda_unsupported_reason(const Model&) {
  return cuda_unavailable_reason();
}

std::unique_ptr<BackendContext> make_cuda_context(std::shared_ptr<const Model>, int, int,
                                                  const CudaOptions&) {
  throw ModelError(cuda_unavailable_reason());
}

}  // namespace agentrt::engine
