// cuBLAS, loaded with dlopen the first time a CUDA context needs it, not at program start: linked
// as a shared library, libcublas and libcublasLt (hundreds of MB) were mapped into every process
// of a CUDA build, costing about 150 MB of resident memory even where the model ran on the CPU.
// Internal to engine/cuda.
#pragma once

#include <cublas_v2.h>

namespace agentrt::engine::cuda {

// The cuBLAS entry points the CUDA backend calls, with the header's own signatures (for the two
// that C++ overloads, the library's own: compute type cublasComputeType_t; cublas_loader.cpp
// checks both against the header).
using CublasGemmEx = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                                        int, int, const void*, const void*, cudaDataType, int,
                                        const void*, cudaDataType, int, const void*, void*,
                                        cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
using CublasGemmStridedBatchedEx = cublasStatus_t (*)(
    cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*, const void*,
    cudaDataType, int, long long, const void*, cudaDataType, int, long long, const void*, void*,
    cudaDataType, int, long long, int, cublasComputeType_t, cublasGemmAlgo_t);

struct CublasApi {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetStream_v2) set_stream;
  CublasGemmEx gemm_ex;
  CublasGemmStridedBatchedEx gemm_strided_batched_ex;
  decltype(&cublasGetStatusName) status_name;
  decltype(&cublasGetStatusString) status_string;
};

// Loads libcublas.so.<major of the headers> on the first call (from the loader's search path,
// else from the toolkit's library directory at build time) and returns its entry points.
// Thread-safe. Throws CudaError, saying what was tried, when the library or a symbol is missing.
const CublasApi& cublas();

// Whether cuBLAS is mapped into this process now (for tests: a CPU-only run must not load it).
bool cublas_loaded();

}  // namespace agentrt::engine::cuda
