// CUDA error reporting and device detection.
#include <cstdio>
#include <string>

#include "backend.h"
#include "cublas_loader.h"
#include "cuda_check.h"

namespace agentrt::engine {

namespace cuda {

void throw_cuda_error(cudaError_t error, const char* call, const char* file, int line) {
  throw CudaError(std::string("CUDA error ") + cudaGetErrorName(error) + " (" +
                  cudaGetErrorString(error) + ") in " + call + " at " + file + ":" +
                  std::to_string(line));
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  throw CudaError(std::string("cuBLAS error ") + cublas().status_name(status) + " (" +
                  cublas().status_string(status) + ") in " + call + " at " + file + ":" +
                  std::to_string(line));
}

}  // namespace cuda

namespace {

struct Probe {
  std::string unavailable;  // empty when device 0 can be used
  std::string device;       // "NVIDIA H200 (sm_90, 139.8 GiB)"
};

Probe probe() {
  Probe p;
  int n = 0;
  // Without a driver (libcuda.so.1 absent) or device this fails; the runtime is linked
  // statically, so nothing else needed the driver before.
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    p.unavailable = std::string("no CUDA device or driver (") + cudaGetErrorString(err) + ")";
    return p;
  }
  if (n <= 0) {
    p.unavailable = "no CUDA device";
    return p;
  }
  cudaDeviceProp prop{};
  if (const cudaError_t e = cudaGetDeviceProperties(&prop, 0); e != cudaSuccess) {
    (void)cudaGetLastError();
    p.unavailable = std::string("cannot query CUDA device 0 (") + cudaGetErrorString(e) + ")";
    return p;
  }
  char detail[64];
  std::snprintf(detail, sizeof detail, " (sm_%d%d, %.1f GiB)", prop.major, prop.minor,
                static_cast<double>(prop.totalGlobalMem) / (1u << 30));
  const std::string desc = std::string(prop.name) + detail;
  p.device = desc;
  if (prop.major < 8) {
    p.unavailable = std::string("CUDA device ") + desc +
                    " is older than compute capability 8.0, which this build targets";
    return p;
  }
  // Only with a usable device: a process that stays on the CPU never maps cuBLAS.
  try {
    (void)cuda::cublas();
  } catch (const cuda::CudaError& e) {
    p.unavailable = e.what();
  }
  return p;
}

const Probe& cached_probe() {
  static const Probe p = probe();
  return p;
}

}  // namespace

std::string cuda_unavailable_reason() {
  return cached_probe().unavailable;
}

std::string cuda_device_description() {
  return cached_probe().device;
}

}  // namespace agentrt::engine
