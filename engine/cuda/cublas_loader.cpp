// See cublas_loader.h.
#include "cublas_loader.h"

#include <dlfcn.h>

#include <atomic>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda_check.h"

#define AGENTRT_STRINGIFY_(x) #x
#define AGENTRT_STRINGIFY(x) AGENTRT_STRINGIFY_(x)

namespace agentrt::engine::cuda {
namespace {

// A header whose overloads no longer include these signatures fails to compile here.
[[maybe_unused]] constexpr CublasGemmEx kGemmExMatchesHeader = &cublasGemmEx;
[[maybe_unused]] constexpr CublasGemmStridedBatchedEx kGemmStridedBatchedExMatchesHeader =
    &cublasGemmStridedBatchedEx;

std::atomic<bool> g_loaded{false};

CublasApi load() {
  const std::string soname = "libcublas.so." AGENTRT_STRINGIFY(CUBLAS_VER_MAJOR);
  std::vector<std::string> candidates = {soname};
#ifdef AGENTRT_CUBLAS_DIR
  candidates.push_back(std::string(AGENTRT_CUBLAS_DIR) + "/" + soname);
#endif
  void* lib = nullptr;
  std::string tried;
  for (const std::string& name : candidates) {
    lib = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) break;
    const char* why = ::dlerror();
    tried += (tried.empty() ? "" : "; ") + (why ? std::string(why) : name);
  }
  if (!lib) throw CudaError("cannot load cuBLAS: " + tried);

  CublasApi api{};
  const auto bind = [&](auto& fn, const char* symbol) {
    void* address = ::dlsym(lib, symbol);
    if (!address) throw CudaError(std::string("cuBLAS (") + soname + ") lacks " + symbol);
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(address);
  };
  bind(api.create, "cublasCreate_v2");
  bind(api.destroy, "cublasDestroy_v2");
  bind(api.set_stream, "cublasSetStream_v2");
  bind(api.gemm_ex, "cublasGemmEx");
  bind(api.gemm_strided_batched_ex, "cublasGemmStridedBatchedEx");
  bind(api.status_name, "cublasGetStatusName");
  bind(api.status_string, "cublasGetStatusString");
  g_loaded = true;
  return api;  // the library stays loaded for the life of the process
}

}  // namespace

const CublasApi& cublas() {
  static std::mutex mutex;
  static CublasApi api{};
  static bool done = false;
  const std::lock_guard lock(mutex);
  if (!done) {  // retried after a failure: a later call reports the same error again
    api = load();
    done = true;
  }
  return api;
}

bool cublas_loaded() {
  return g_loaded;
}

}  // namespace agentrt::engine::cuda
