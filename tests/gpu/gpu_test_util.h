// Helpers of the GPU tests: skipping without a device, device arrays with sentinel guards, and
// the error metric (normalised MSE, after a NaN/Inf check).
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backend.h"

// Skips the test, saying so, where no CUDA device can be used.
#define AGENTRT_REQUIRE_CUDA()                                                                \
  do {                                                                                        \
    if (const std::string why_ = ::agentrt::engine::cuda_unavailable_reason(); !why_.empty()) \
      GTEST_SKIP() << "skipped: no CUDA device (" << why_ << ")";                             \
  } while (0)

namespace agentrt::test {

// A device array of n elements of T between two guard zones of kGuard elements filled with a
// sentinel byte pattern; intact() says whether a kernel wrote outside [0, n).
template <typename T>
class GuardedArray {
 public:
  static constexpr size_t kGuard = 64;
  static constexpr uint8_t kSentinel = 0xA7;

  explicit GuardedArray(size_t n) : n_(n) {
    const size_t bytes = (n + 2 * kGuard) * sizeof(T);
    if (cudaMalloc(&base_, bytes) != cudaSuccess) throw std::runtime_error("cudaMalloc failed");
    if (cudaMemset(base_, kSentinel, bytes) != cudaSuccess)
      throw std::runtime_error("cudaMemset failed");
  }
  explicit GuardedArray(const std::vector<T>& host) : GuardedArray(host.size()) { upload(host); }
  ~GuardedArray() { cudaFree(base_); }
  GuardedArray(const GuardedArray&) = delete;
  GuardedArray& operator=(const GuardedArray&) = delete;

  T* get() const { return static_cast<T*>(base_) + kGuard; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    EXPECT_EQ(cudaMemcpy(get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    EXPECT_EQ(cudaMemcpy(host.data(), get(), n_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
  bool intact() const {
    std::vector<uint8_t> all((n_ + 2 * kGuard) * sizeof(T));
    if (cudaMemcpy(all.data(), base_, all.size(), cudaMemcpyDeviceToHost) != cudaSuccess)
      return false;
    const size_t g = kGuard * sizeof(T);
    for (size_t i = 0; i < g; ++i)
      if (all[i] != kSentinel || all[all.size() - 1 - i] != kSentinel) return false;
    return true;
  }

 private:
  void* base_ = nullptr;
  size_t n_;
};

// Waits for the kernels and fails the test on an asynchronous error.
inline void sync_ok() {
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
}

template <typename A, typename B>
bool all_finite(const std::vector<A>& got, const std::vector<B>& expected, std::string* where) {
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(static_cast<double>(got[i])) &&
        std::isfinite(static_cast<double>(expected[i]))) {
      *where = "element " + std::to_string(i) + " is " + std::to_string(got[i]);
      return false;
    }
  }
  return true;
}

// sum (got - expected)^2 / sum expected^2.
template <typename A, typename B>
double nmse(const std::vector<A>& got, const std::vector<B>& expected) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = static_cast<double>(got[i]) - static_cast<double>(expected[i]);
    num += d * d;
    den += static_cast<double>(expected[i]) * static_cast<double>(expected[i]);
  }
  return den > 0 ? num / den : num;
}

// NaN/Inf first, then the error metric against the threshold.
#define AGENTRT_EXPECT_CLOSE(got, expected, max_nmse)                               \
  do {                                                                              \
    ASSERT_EQ((got).size(), (expected).size());                                     \
    std::string where_;                                                             \
    ASSERT_TRUE(::agentrt::test::all_finite((got), (expected), &where_)) << where_; \
    EXPECT_LT(::agentrt::test::nmse((got), (expected)), (max_nmse));                \
  } while (0)

}  // namespace agentrt::test
