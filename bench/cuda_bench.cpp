// agentrt-cuda-bench [--prompt N] [--gen N] [--reps N] MODEL.gguf...
// The CUDA backend's speed against the device's own ceilings: first the device-to-device copy
// bandwidth (bytes read + written per second, cudaMemcpy of 2 GiB) and the cuBLAS BF16 GEMM rate
// (8192^3, F32 accumulation), then per model decode at batch 1 (tokens/s, and the weight bytes
// read per token times tokens/s as a share of the copy bandwidth) and prefill of N tokens in one
// batch (tokens/s, and 2 * matrix parameters * N plus causal attention FLOPs per second as a
// share of the GEMM rate). Medians of --reps runs after a warm-up.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "agentrt/engine/model.h"
#include "agentrt/engine/session.h"
#include "backend.h"

namespace {

using agentrt::engine::Model;
using agentrt::engine::Session;
using agentrt::engine::Token;
using Clock = std::chrono::steady_clock;

#define CHECK(call)                                                                           \
  do {                                                                                        \
    if (auto rc_ = (call); rc_ != 0) {                                                        \
      std::fprintf(stderr, "%s failed (%d) at %s:%d\n", #call, int(rc_), __FILE__, __LINE__); \
      std::exit(1);                                                                           \
    }                                                                                         \
  } while (0)

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Bytes read + written per second by cudaMemcpy device to device.
double copy_bandwidth() {
  const size_t bytes = size_t{2} << 30;
  void *a = nullptr, *b = nullptr;
  CHECK(cudaMalloc(&a, bytes));
  CHECK(cudaMalloc(&b, bytes));
  CHECK(cudaMemset(a, 1, bytes));
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  std::vector<double> rates;
  for (int i = 0; i < 6; ++i) {
    CHECK(cudaEventRecord(start));
    CHECK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (i > 0) rates.push_back(2.0 * bytes / (ms * 1e-3));
  }
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  return median(rates);
}

// FLOP/s of an 8192^3 BF16 GEMM with F32 accumulation (random-ish data).
double gemm_peak() {
  const int n = 8192;
  const size_t elems = size_t{n} * n;
  void *a = nullptr, *b = nullptr, *c = nullptr;
  CHECK(cudaMalloc(&a, elems * 2));
  CHECK(cudaMalloc(&b, elems * 2));
  CHECK(cudaMalloc(&c, elems * 2));
  std::vector<uint16_t> host(elems);
  std::mt19937 rng(1);
  for (auto& h : host) h = static_cast<uint16_t>(0x3F80 | (rng() & 0x7F));  // bfloat16 in [1, 2)
  CHECK(cudaMemcpy(a, host.data(), elems * 2, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(b, host.data(), elems * 2, cudaMemcpyHostToDevice));
  cublasHandle_t h;
  CHECK(cublasCreate(&h));
  const float alpha = 1.0f / n, beta = 0.0f;
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  auto run = [&] {
    CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, CUDA_R_16BF, n, b,
                       CUDA_R_16BF, n, &beta, c, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                       CUBLAS_GEMM_DEFAULT));
  };
  for (int i = 0; i < 3; ++i) run();
  CHECK(cudaEventRecord(start));
  const int reps = 10;
  for (int i = 0; i < reps; ++i) run();
  CHECK(cudaEventRecord(stop));
  CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, start, stop));
  CHECK(cublasDestroy(h));
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  CHECK(cudaFree(c));
  return 2.0 * n * n * double(n) * reps / (ms * 1e-3);
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  int n_prompt = 512, n_gen = 128, reps = 3;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--prompt" || arg == "--gen" || arg == "--reps") && i + 1 < argc) {
      const int v = std::atoi(argv[++i]);
      (arg == "--prompt" ? n_prompt : arg == "--gen" ? n_gen : reps) = v;
    } else {
      models.push_back(arg);
    }
  }
  if (const std::string why = agentrt::engine::cuda_unavailable_reason(); !why.empty()) {
    std::printf("skipped: no CUDA device (%s)\n", why.c_str());
    return 0;
  }
  std::printf("device: %s\n", agentrt::engine::cuda_device_description().c_str());
  const double bw = copy_bandwidth();
  const double peak = gemm_peak();
  std::printf(
      "device-to-device copy: %.0f GB/s (read + write); cuBLAS BF16 GEMM 8192^3: %.0f "
      "TFLOP/s\n\n",
      bw / 1e9, peak / 1e12);
  std::printf("| %-28s | %8s | %9s | %8s | %11s | %12s | %9s | %8s |\n", "model", "weights",
              "decode t/s", "GB/s", "% of copy", "prefill t/s", "TFLOP/s", "% of GEMM");
  std::printf("|%s|\n", std::string(113, '-').c_str());
  for (const std::string& path : models) {
    try {
      const auto t_load = Clock::now();
      auto model = Model::load(path);
      const auto& hp = model->hparams();
      const auto& w = model->weights();
      // Bytes one decode step reads: every matrix but the embedding table (one row of it).
      uint64_t matrix_bytes = 0;
      int64_t matrix_params = 0;
      for (const auto& l : w.layers)
        for (const auto* v : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
          matrix_bytes += v->row_bytes * v->n_out;
          matrix_params += v->n_in * v->n_out;
        }
      matrix_bytes += w.output.row_bytes * w.output.n_out;
      const int n_ctx = n_prompt + n_gen + 8;
      Session session(
          model, agentrt::engine::SessionOptions{
                     .n_ctx = n_ctx, .n_batch = n_prompt, .device = agentrt::engine::Device::Cuda});
      const double load_s = seconds_since(t_load);
      std::mt19937 rng(1234);
      std::uniform_int_distribution<Token> pick(3, hp.n_vocab - 1);
      std::vector<Token> prompt(static_cast<size_t>(n_prompt));
      for (Token& t : prompt) t = pick(rng);
      std::vector<double> prefill_rates, decode_rates;
      for (int rep = -1; rep < reps; ++rep) {
        session.reset();
        auto t0 = Clock::now();
        session.append(prompt);
        const double prefill_s = seconds_since(t0);
        t0 = Clock::now();
        for (int i = 0; i < n_gen; ++i)
          session.append(std::span<const Token>(&prompt[static_cast<size_t>(i)], 1));
        const double decode_s = seconds_since(t0);
        if (rep >= 0) {
          prefill_rates.push_back(n_prompt / prefill_s);
          decode_rates.push_back(n_gen / decode_s);
        }
      }
      const double decode = median(decode_rates), prefill = median(prefill_rates);
      // Weights of the prefill (the output projection runs for the last token only) and
      // causal attention: QK^T and PV over (n+1)/2 keys on average.
      const double n = n_prompt;
      const double flop =
          2.0 * matrix_params * n + 4.0 * n * (n + 1) / 2 * hp.head_dim * hp.n_head * hp.n_layer;
      const double achieved_bw = matrix_bytes * decode;
      const double tflops = flop * prefill / n;
      const std::string name = std::filesystem::path(path).stem().string();
      std::printf("| %-28s | %6.2f GB | %9.1f | %8.0f | %10.1f%% | %12.0f | %9.1f | %7.1f%% |\n",
                  name.c_str(), matrix_bytes / 1e9, decode, achieved_bw / 1e9,
                  100.0 * achieved_bw / bw, prefill, tflops / 1e12, 100.0 * tflops / peak);
      std::fprintf(stderr, "  (%s: load and upload %.1f s)\n", name.c_str(), load_s);
      std::fflush(stdout);
    } catch (const std::exception& e) {
      std::printf("| %-28s | error: %s\n", path.c_str(), e.what());
    }
  }
  return 0;
}
