// Checks for every CUDA runtime and cuBLAS call: a failure throws CudaError naming the call, the
// error and the file:line. Internal to engine/.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "agentrt/engine/error.h"

namespace agentrt::engine::cuda {

// A failed CUDA or cuBLAS call (out of device memory, a fault in a kernel, a lost device). A
// ModelError, so that every entry point reports it where it reports a model it cannot use.
class CudaError : public ModelError {
 public:
  using ModelError::ModelError;
};

[[noreturn]] void throw_cuda_error(cudaError_t error, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file,
                                     int line);

}  // namespace agentrt::engine::cuda

#define AGENTRT_CUDA_CHECK(call)                                                          \
  do {                                                                                    \
    const cudaError_t agentrt_err_ = (call);                                              \
    if (agentrt_err_ != cudaSuccess)                                                      \
      ::agentrt::engine::cuda::throw_cuda_error(agentrt_err_, #call, __FILE__, __LINE__); \
  } while (0)

#define AGENTRT_CUBLAS_CHECK(call)                                                         \
  do {                                                                                     \
    const cublasStatus_t agentrt_st_ = (call);                                             \
    if (agentrt_st_ != CUBLAS_STATUS_SUCCESS)                                              \
      ::agentrt::engine::cuda::throw_cublas_error(agentrt_st_, #call, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: a bad configuration (grid, shared memory) is reported here; faults
// inside the kernel surface at the next synchronizing call.
#define AGENTRT_CUDA_CHECK_LAUNCH() AGENTRT_CUDA_CHECK(cudaGetLastError())
