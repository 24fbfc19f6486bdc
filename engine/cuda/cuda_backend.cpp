// The CUDA backend: the same Llama forward pass as cpu_backend.cpp, on device 0.
//
// Weights are uploaded once per Model (DeviceModel, shared by every context of that model) in
// their file types: F16/BF16 as they are, quantized types still quantized. Q/K/V and gate/up
// matrices of one type are stacked into one matrix, so each is a single product.
//
// Batches of up to kMaxMatvecTokens tokens (decode) use the matrix-vector kernels (float32
// activations, weights decoded in registers) and split-K attention over the cache. Larger batches
// (prefill) use cuBLAS: F16/BF16 tensor-core GEMMs with float32 accumulation (activations rounded
// to the weight type; quantized weights expanded to F16 first), attention as two batched GEMMs
// around a causal softmax. Models whose layer weights are F32 are computed in plain FP32
// throughout (no TF32), which keeps them as exact as the CPU backend.
//
// Every kernel reads the first position from device memory, so the single-token step is captured
// once in a CUDA graph and replayed for every decoded token.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "backend.h"
#include "cublas_loader.h"
#include "cuda_check.h"
#include "ops.h"

namespace agentrt::engine {

namespace cuda {

namespace {

std::string mib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Device memory owned by one object. reserve() grows it (contents are not kept).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) { reserve(bytes); }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void reserve(size_t bytes) {
    if (bytes <= bytes_) return;
    reset();
    const cudaError_t e = cudaMalloc(&ptr_, bytes);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();  // an allocation failure is not sticky
      ptr_ = nullptr;
      throw CudaError("cannot allocate " + mib(bytes) + " of device memory (" +
                      cudaGetErrorString(e) + ")");
    }
    bytes_ = bytes;
  }
  void reset() {
    if (ptr_) (void)cudaFree(ptr_);  // may fail at process exit; nothing to do about it
    ptr_ = nullptr;
    bytes_ = 0;
  }
  template <typename T = void>
  T* get() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Page-locked host memory, for asynchronous copies.
class PinnedBuffer {
 public:
  explicit PinnedBuffer(size_t bytes) {
    AGENTRT_CUDA_CHECK(cudaMallocHost(&ptr_, std::max<size_t>(bytes, 1)));
  }
  ~PinnedBuffer() { (void)cudaFreeHost(ptr_); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  template <typename T>
  T* get() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
};

struct StreamDeleter {
  void operator()(cudaStream_t s) const { (void)cudaStreamDestroy(s); }
};
struct CublasDeleter {
  void operator()(cublasHandle_t h) const { (void)cuda::cublas().destroy(h); }
};
struct GraphExecDeleter {
  void operator()(cudaGraphExec_t g) const { (void)cudaGraphExecDestroy(g); }
};

// ---- weights on the device ---------------------------------------------------------------------

struct DeviceLayer {
  DeviceBuffer attn_norm;             // (n_embd) f32
  std::vector<DeviceMatrix> qkv;      // stacked (n_q + 2 n_kv, n_embd), or wq, wk, wv
  DeviceMatrix wo;                    // (n_embd, n_q)
  DeviceBuffer ffn_norm;              // (n_embd) f32
  std::vector<DeviceMatrix> gate_up;  // stacked (2 n_ff, n_embd), or gate, up
  DeviceMatrix down;                  // (n_embd, n_ff)
};

class DeviceModel {
 public:
  explicit DeviceModel(std::shared_ptr<const Model> model) : model_(std::move(model)) {
    const ModelWeights& w = model_->weights();
    token_embd_ = upload({&w.token_embd});
    output_ = w.tied_output ? token_embd_ : upload({&w.output});
    output_norm_ = upload_vector(w.output_norm);
    exact_ = true;
    layers_.resize(w.layers.size());
    for (size_t il = 0; il < w.layers.size(); ++il) {
      const LayerWeights& l = w.layers[il];
      DeviceLayer& d = layers_[il];
      d.attn_norm = upload_vector(l.attn_norm);
      d.ffn_norm = upload_vector(l.ffn_norm);
      d.qkv = upload_stacked({&l.wq, &l.wk, &l.wv});
      d.wo = upload({&l.wo});
      d.gate_up = upload_stacked({&l.w_gate, &l.w_up});
      d.down = upload({&l.w_down});
      for (const WeightView* v : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
        exact_ = exact_ && v->type == TensorType::F32;
    }
    AGENTRT_CUDA_CHECK(cudaDeviceSynchronize());
  }

  // The device copy of `model`, uploaded on first use and shared while any context holds it.
  static std::shared_ptr<const DeviceModel> get(const std::shared_ptr<const Model>& model) {
    static std::mutex mutex;
    static std::map<const Model*, std::weak_ptr<const DeviceModel>> cache;
    std::lock_guard lock(mutex);
    std::erase_if(cache, [](const auto& kv) { return kv.second.expired(); });
    if (auto it = cache.find(model.get()); it != cache.end())
      if (auto dm = it->second.lock()) return dm;
    auto dm = std::make_shared<const DeviceModel>(model);
    cache[model.get()] = dm;
    return dm;
  }

  const std::vector<DeviceLayer>& layers() const { return layers_; }
  const DeviceMatrix& token_embd() const { return token_embd_; }
  const DeviceMatrix& output() const { return output_; }
  const float* output_norm() const { return output_norm_.get<float>(); }
  // Every layer matrix is F32: the model is computed in FP32 throughout.
  bool exact() const { return exact_; }
  // Elements of the largest quantized matrix (the F16 scratch a GEMM expands it into).
  int64_t max_quantized_elements() const { return max_quantized_; }

 private:
  // The matrices (same type and n_in) stacked row-wise into one device matrix.
  DeviceMatrix upload(std::initializer_list<const WeightView*> parts) {
    const WeightView& first = **parts.begin();
    const size_t stride = device_row_stride(first.type, first.n_in);
    int64_t rows = 0;
    for (const WeightView* p : parts) rows += p->n_out;
    DeviceBuffer& buf = buffers_.emplace_back(stride * static_cast<size_t>(rows));
    auto* dst = buf.get<uint8_t>();
    for (const WeightView* p : parts) {
      if (stride == p->row_bytes) {
        AGENTRT_CUDA_CHECK(
            cudaMemcpy(dst, p->data, p->row_bytes * p->n_out, cudaMemcpyHostToDevice));
      } else {
        AGENTRT_CUDA_CHECK(cudaMemcpy2D(dst, stride, p->data, p->row_bytes, p->row_bytes,
                                        static_cast<size_t>(p->n_out), cudaMemcpyHostToDevice));
      }
      dst += stride * static_cast<size_t>(p->n_out);
    }
    if (is_quantized(first.type)) max_quantized_ = std::max(max_quantized_, rows * first.n_in);
    return DeviceMatrix{first.type, buf.get(), first.n_in, rows, stride};
  }

  // One stacked matrix when all parts share a type, else one matrix each.
  std::vector<DeviceMatrix> upload_stacked(std::initializer_list<const WeightView*> parts) {
    const WeightView& first = **parts.begin();
    const bool same = std::all_of(parts.begin(), parts.end(), [&](const WeightView* p) {
      return p->type == first.type && p->n_in == first.n_in;
    });
    if (same) return {upload(parts)};
    std::vector<DeviceMatrix> out;
    for (const WeightView* p : parts) out.push_back(upload({p}));
    return out;
  }

  static DeviceBuffer upload_vector(const std::vector<float>& v) {
    DeviceBuffer buf(v.size() * sizeof(float));
    AGENTRT_CUDA_CHECK(
        cudaMemcpy(buf.get(), v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice));
    return buf;
  }

  std::shared_ptr<const Model> model_;
  std::vector<DeviceBuffer> buffers_;  // before the views into them
  std::vector<DeviceLayer> layers_;
  DeviceMatrix token_embd_, output_;
  DeviceBuffer output_norm_;
  bool exact_ = true;
  int64_t max_quantized_ = 0;
};

// ---- one context: KV cache, scratch, stream, cuBLAS handle, decode graph ----------------------

class CudaContext final : public BackendContext {
 public:
  CudaContext(std::shared_ptr<const Model> model, int n_ctx, int max_batch,
              const CudaOptions& options)
      : model_(std::move(model)),
        hp_(model_->hparams()),
        n_ctx_(n_ctx),
        max_batch_(std::max(max_batch, 1)),
        options_(options) {
    if (hp_.head_dim % 2 != 0 || hp_.head_dim > kMaxHeadDim)
      throw CudaError("the CUDA backend needs an even head size of at most " +
                      std::to_string(kMaxHeadDim) + " (this model has " +
                      std::to_string(hp_.head_dim) + ")");
    shape_ = {hp_.n_head, hp_.n_head_kv, hp_.head_dim, n_ctx_};
    n_q_ = hp_.n_head * hp_.head_dim;
    n_kv_ = hp_.n_head_kv * hp_.head_dim;
    n_qkv_ = n_q_ + 2 * n_kv_;

    cudaStream_t stream = nullptr;
    AGENTRT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    stream_.reset(stream);
    cublasHandle_t handle = nullptr;
    AGENTRT_CUBLAS_CHECK(cublas().create(&handle));
    cublas_.reset(handle);
    AGENTRT_CUBLAS_CHECK(cublas().set_stream(handle, stream));

    dm_ = DeviceModel::get(model_);

    const size_t f = sizeof(float), b = static_cast<size_t>(max_batch_);
    const size_t cache = static_cast<size_t>(hp_.n_layer) * n_kv_ * static_cast<size_t>(n_ctx_);
    k_cache_.reserve(cache * f);
    v_cache_.reserve(cache * f);
    tokens_.reserve(b * sizeof(int));
    pos_.reserve(sizeof(int));
    x_.reserve(b * hp_.n_embd * f);
    xn_.reserve(b * hp_.n_embd * f);
    qkv_.reserve(b * n_qkv_ * f);
    att_.reserve(b * n_q_ * f);
    gu_.reserve(b * 2 * static_cast<size_t>(hp_.n_ff) * f);
    partial_.reserve(attention_partial_floats(kMaxMatvecTokens, shape_) * f);
    logits_.reserve(static_cast<size_t>(hp_.n_vocab) * f);
    h_tokens_ = std::make_unique<PinnedBuffer>(b * sizeof(int));
    h_pos_ = std::make_unique<PinnedBuffer>(sizeof(int));
    h_logits_ = std::make_unique<PinnedBuffer>(static_cast<size_t>(hp_.n_vocab) * f);
    // Query rows per attention chunk in prefill: the scores of a chunk (n_head, rows, n_ctx)
    // stay within 256 MiB.
    const int64_t per_row = int64_t{hp_.n_head} * n_ctx_;
    attn_chunk_ =
        static_cast<int>(std::clamp<int64_t>((int64_t{64} << 20) / per_row, 1, max_batch_));
    AGENTRT_CUDA_CHECK(cudaStreamSynchronize(stream));
  }

  std::string_view name() const override { return "cuda"; }

  void eval(std::span<const Token> tokens, int n_past, std::span<float> logits,
            bool all_logits) override {
    const int n_total = static_cast<int>(tokens.size());
    if (n_past < 0 || n_past + n_total > n_ctx_)
      throw std::out_of_range("eval past the end of the context");
    const size_t n_vocab = static_cast<size_t>(hp_.n_vocab);
    for (int i = 0; i < n_total; i += max_batch_) {
      const int n = std::min(max_batch_, n_total - i);
      std::span<float> out;
      if (!logits.empty()) {
        if (all_logits) {
          out = logits.subspan(static_cast<size_t>(i) * n_vocab, static_cast<size_t>(n) * n_vocab);
        } else if (i + n == n_total) {
          out = logits.first(n_vocab);
        }
      }
      eval_batch(tokens.subspan(static_cast<size_t>(i), static_cast<size_t>(n)), n_past + i, out,
                 all_logits);
    }
  }

 private:
  cudaStream_t stream() const { return stream_.get(); }
  // The longest input row of any product (the size of the activation scratch for GEMMs).
  size_t max_n_in() const { return static_cast<size_t>(std::max({hp_.n_embd, n_q_, hp_.n_ff})); }
  float* k_cache(int layer) const {
    return k_cache_.get<float>() + static_cast<size_t>(layer) * n_kv_ * n_ctx_;
  }
  float* v_cache(int layer) const {
    return v_cache_.get<float>() + static_cast<size_t>(layer) * n_kv_ * n_ctx_;
  }

  void eval_batch(std::span<const Token> tokens, int n_past, std::span<float> out,
                  bool all_logits) {
    const int n = static_cast<int>(tokens.size());
    const size_t n_vocab = static_cast<size_t>(hp_.n_vocab);
    static_assert(sizeof(Token) == sizeof(int));
    // The previous eval ended with a synchronize, so the pinned buffers are free.
    std::memcpy(h_tokens_->get<int>(), tokens.data(), static_cast<size_t>(n) * sizeof(int));
    *h_pos_->get<int>() = n_past;
    AGENTRT_CUDA_CHECK(cudaMemcpyAsync(tokens_.get(), h_tokens_->get<int>(),
                                       static_cast<size_t>(n) * sizeof(int), cudaMemcpyHostToDevice,
                                       stream()));
    AGENTRT_CUDA_CHECK(cudaMemcpyAsync(pos_.get(), h_pos_->get<int>(), sizeof(int),
                                       cudaMemcpyHostToDevice, stream()));
    const int n_rows = out.empty() ? 0 : all_logits ? n : 1;
    if (n == 1 && n_rows == 1 && options_.use_graph && !graph_failed_) {
      decode_with_graph();
    } else {
      forward(n, n_past, n_rows);
    }
    if (n_rows == 1) {
      AGENTRT_CUDA_CHECK(cudaMemcpyAsync(h_logits_->get<float>(), logits_.get(),
                                         n_vocab * sizeof(float), cudaMemcpyDeviceToHost,
                                         stream()));
      AGENTRT_CUDA_CHECK(cudaStreamSynchronize(stream()));
      std::memcpy(out.data(), h_logits_->get<float>(), n_vocab * sizeof(float));
    } else if (n_rows > 1) {
      AGENTRT_CUDA_CHECK(cudaMemcpyAsync(out.data(), logits_all_.get(),
                                         static_cast<size_t>(n_rows) * n_vocab * sizeof(float),
                                         cudaMemcpyDeviceToHost, stream()));
      AGENTRT_CUDA_CHECK(cudaStreamSynchronize(stream()));
    } else {
      AGENTRT_CUDA_CHECK(cudaStreamSynchronize(stream()));
    }
  }

  // The single-token step, captured on first use. A capture that fails (it should not) is
  // reported once and the step runs without a graph from then on.
  void decode_with_graph() {
    if (!graph_) {
      AGENTRT_CUDA_CHECK(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal));
      std::string error;
      try {
        forward(1, -1, 1);
      } catch (const CudaError& e) {
        error = e.what();
      }
      cudaGraph_t graph = nullptr;
      const cudaError_t end = cudaStreamEndCapture(stream(), &graph);
      cudaGraphExec_t exec = nullptr;
      cudaError_t inst = cudaSuccess;
      if (error.empty() && end == cudaSuccess) inst = cudaGraphInstantiate(&exec, graph, 0);
      if (graph) (void)cudaGraphDestroy(graph);
      if (error.empty() && end != cudaSuccess) error = cudaGetErrorString(end);
      if (error.empty() && inst != cudaSuccess) error = cudaGetErrorString(inst);
      if (!error.empty()) {
        (void)cudaGetLastError();
        std::fprintf(stderr, "agentrt: CUDA graph capture failed (%s); decoding without a graph\n",
                     error.c_str());
        graph_failed_ = true;
        forward(1, -1, 1);
        return;
      }
      graph_.reset(exec);
    }
    AGENTRT_CUDA_CHECK(cudaGraphLaunch(graph_.get(), stream()));
  }

  // The forward pass of n tokens at positions *pos_ ..; n_past is the same value on the host,
  // used only by the prefill path (n > kMaxMatvecTokens). Logits of the last n_rows tokens go
  // to logits_ (one row) or logits_all_.
  void forward(int n, int n_past, int n_rows) {
    const int n_embd = hp_.n_embd, n_ff = hp_.n_ff;
    embed_rows(dm_->token_embd(), tokens_.get<int>(), n, x_.get<float>(), stream());
    for (int il = 0; il < hp_.n_layer; ++il) {
      const DeviceLayer& l = dm_->layers()[static_cast<size_t>(il)];
      // Attention block.
      rms_norm(x_.get<float>(), n_embd, l.attn_norm.get<float>(), n, n_embd, hp_.rms_eps,
               xn_.get<float>(), n_embd, stream());
      matmul_parts(l.qkv, xn_.get<float>(), n_embd, n, qkv_.get<float>(), n_qkv_);
      rope_store(qkv_.get<float>(), n_qkv_, n, pos_.get<int>(), k_cache(il), v_cache(il), shape_,
                 hp_.rope_freq_base, hp_.rope_freq_scale, stream());
      attention(il, n, n_past);  // att (n, n_q)
      matmul(l.wo, att_.get<float>(), n_q_, n, false, x_.get<float>(), n_embd, true);
      // Feed-forward block: x += w_down(silu(w_gate x) * w_up x).
      rms_norm(x_.get<float>(), n_embd, l.ffn_norm.get<float>(), n, n_embd, hp_.rms_eps,
               xn_.get<float>(), n_embd, stream());
      matmul_parts(l.gate_up, xn_.get<float>(), n_embd, n, gu_.get<float>(), 2 * n_ff);
      matmul(l.down, gu_.get<float>(), 2 * int64_t{n_ff}, n, true, x_.get<float>(), n_embd, true);
    }
    if (n_rows == 0) return;
    const int first = n - n_rows;
    rms_norm(x_.get<float>() + static_cast<size_t>(first) * n_embd, n_embd, dm_->output_norm(),
             n_rows, n_embd, hp_.rms_eps, xn_.get<float>(), n_embd, stream());
    float* out = logits_.get<float>();
    if (n_rows > 1) {
      logits_all_.reserve(static_cast<size_t>(max_batch_) * hp_.n_vocab * sizeof(float));
      out = logits_all_.get<float>();
    }
    matmul(dm_->output(), xn_.get<float>(), n_embd, n_rows, false, out, hp_.n_vocab, false);
  }

  // y[:, offset ..] for each part in turn (the columns of a stacked matrix).
  void matmul_parts(const std::vector<DeviceMatrix>& parts, const float* x, int64_t ldx, int n,
                    float* y, int64_t ldy) {
    int64_t offset = 0;
    for (const DeviceMatrix& w : parts) {
      matmul(w, x, ldx, n, false, y + offset, ldy, false);
      offset += w.n_out;
    }
  }

  // y (n, w.n_out) rows ldy apart (+)= in · Wᵀ, in as in ops.h matvec.
  void matmul(const DeviceMatrix& w, const float* x, int64_t ldx, int n, bool swiglu, float* y,
              int64_t ldy, bool accumulate) {
    if (n <= kMaxMatvecTokens) {
      cuda::matvec(w, x, ldx, n, swiglu, y, ldy, accumulate, stream());
      return;
    }
    if (n > max_batch_) throw CudaError("matmul: batch larger than the context's maximum");
    if (swiglu) {
      act_.reserve(static_cast<size_t>(max_batch_) * hp_.n_ff * sizeof(float));
      swiglu_rows(x, ldx, n, w.n_in, act_.get<float>(), stream());
      x = act_.get<float>();
      ldx = w.n_in;
    }
    const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    const int m = static_cast<int>(w.n_out), k = static_cast<int>(w.n_in);
    if (w.type == TensorType::F32) {
      AGENTRT_CUBLAS_CHECK(cublas().gemm_ex(
          cublas_.get(), CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w.data, CUDA_R_32F,
          static_cast<int>(w.stride / sizeof(float)), x, CUDA_R_32F, static_cast<int>(ldx), &beta,
          y, CUDA_R_32F, static_cast<int>(ldy), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      return;
    }
    const bool bf16 = w.type == TensorType::BF16;
    x16_.reserve(static_cast<size_t>(max_batch_) * max_n_in() * 2);
    convert_rows(x, ldx, n, w.n_in, false, bf16, x16_.get(), stream());
    const void* a = w.data;
    int lda = static_cast<int>(w.stride / 2);
    if (is_quantized(w.type)) {
      wdq_.reserve(static_cast<size_t>(dm_->max_quantized_elements()) * 2);
      dequantize_to_f16(w, wdq_.get(), stream());
      a = wdq_.get();
      lda = k;
    }
    const cudaDataType type = bf16 ? CUDA_R_16BF : CUDA_R_16F;
    AGENTRT_CUBLAS_CHECK(cublas().gemm_ex(
        cublas_.get(), CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, a, type, lda, x16_.get(), type, k,
        &beta, y, CUDA_R_32F, static_cast<int>(ldy), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }

  // Causal attention of the n new tokens (queries in qkv_) over the layer's cache, into att_.
  void attention(int layer, int n, int n_past) {
    if (n <= kMaxMatvecTokens) {
      attention_decode(qkv_.get<float>(), n_qkv_, n, pos_.get<int>(), k_cache(layer),
                       v_cache(layer), shape_, partial_.get<float>(), att_.get<float>(), n_q_,
                       stream());
      return;
    }
    // Prefill, per chunk of query rows: S_h = scale * Q_h K_gᵀ for every head h (KV head
    // g = h / group), a causal softmax over each row, then O_h = P_h V_g. In cuBLAS's
    // column-major terms K_g is (hd x n_kv) with ld hd, Q_h (hd x rows) with ld n_qkv, S_h
    // (n_kv x rows) with ld n_kv. Heads h = g * group + j for one j form one strided batch.
    const int hd = hp_.head_dim, group = hp_.n_head / hp_.n_head_kv;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    const float one = 1.0f, zero = 0.0f;
    const cublasComputeType_t compute =
        dm_->exact() ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32;
    const long long cache_stride = static_cast<long long>(n_ctx_) * hd;
    scores_.reserve(static_cast<size_t>(hp_.n_head) * attn_chunk_ * n_ctx_ * sizeof(float));
    float* s = scores_.get<float>();
    for (int c0 = 0; c0 < n; c0 += attn_chunk_) {
      const int rows = std::min(attn_chunk_, n - c0);
      const int n_kv = n_past + c0 + rows;  // keys the last row of the chunk sees
      const long long head_stride = static_cast<long long>(rows) * n_kv;
      const float* q = qkv_.get<float>() + static_cast<size_t>(c0) * n_qkv_;
      for (int j = 0; j < group; ++j) {
        AGENTRT_CUBLAS_CHECK(cublas().gemm_strided_batched_ex(
            cublas_.get(), CUBLAS_OP_T, CUBLAS_OP_N, n_kv, rows, hd, &scale, k_cache(layer),
            CUDA_R_32F, hd, cache_stride, q + j * hd, CUDA_R_32F, n_qkv_,
            static_cast<long long>(group) * hd, &zero, s + j * head_stride, CUDA_R_32F, n_kv,
            group * head_stride, hp_.n_head_kv, compute, CUBLAS_GEMM_DEFAULT));
      }
      causal_softmax(s, n_kv, rows, hp_.n_head, n_kv, n_past + c0 + 1, stream());
      float* o = att_.get<float>() + static_cast<size_t>(c0) * n_q_;
      for (int j = 0; j < group; ++j) {
        AGENTRT_CUBLAS_CHECK(cublas().gemm_strided_batched_ex(
            cublas_.get(), CUBLAS_OP_N, CUBLAS_OP_N, hd, rows, n_kv, &one, v_cache(layer),
            CUDA_R_32F, hd, cache_stride, s + j * head_stride, CUDA_R_32F, n_kv,
            group * head_stride, &zero, o + j * hd, CUDA_R_32F, n_q_,
            static_cast<long long>(group) * hd, hp_.n_head_kv, compute, CUBLAS_GEMM_DEFAULT));
      }
    }
  }

  std::shared_ptr<const Model> model_;
  const ModelHParams& hp_;
  int n_ctx_;
  int max_batch_;
  CudaOptions options_;
  AttentionShape shape_;
  int n_q_ = 0, n_kv_ = 0, n_qkv_ = 0;
  int attn_chunk_ = 1;

  // Declared first, destroyed last: the buffers below are freed while the stream still exists.
  std::unique_ptr<CUstream_st, StreamDeleter> stream_;
  std::unique_ptr<cublasContext, CublasDeleter> cublas_;
  std::shared_ptr<const DeviceModel> dm_;
  DeviceBuffer k_cache_, v_cache_;  // (n_layer, n_head_kv, n_ctx, head_dim)
  DeviceBuffer tokens_;             // (max_batch) token ids
  DeviceBuffer pos_;                // (1) position of the first token
  DeviceBuffer x_;                  // (max_batch, n_embd) residual stream
  DeviceBuffer xn_;                 // (max_batch, n_embd) normed input
  DeviceBuffer qkv_;                // (max_batch, n_q + 2 n_kv)
  DeviceBuffer att_;                // (max_batch, n_q)
  DeviceBuffer gu_;                 // (max_batch, 2 n_ff) gate then up
  DeviceBuffer partial_;            // split-K attention partials
  DeviceBuffer logits_;             // (n_vocab) of one token
  // Grown on first use by the prefill path only (never captured in the graph).
  DeviceBuffer act_;         // (max_batch, n_ff) swiglu output
  DeviceBuffer x16_;         // (max_batch, n_in) activations as F16/BF16
  DeviceBuffer wdq_;         // quantized matrix expanded to F16
  DeviceBuffer scores_;      // (n_head, attn_chunk, n_ctx)
  DeviceBuffer logits_all_;  // (max_batch, n_vocab)
  std::unique_ptr<PinnedBuffer> h_tokens_, h_pos_, h_logits_;
  std::unique_ptr<CUgraphExec_st, GraphExecDeleter> graph_;
  bool graph_failed_ = false;
};

}  // namespace

}  // namespace cuda

std::string cuda_unsupported_reason(const Model& model) {
  if (std::string why = cuda_unavailable_reason(); !why.empty()) return why;
  const ModelHParams& hp = model.hparams();
  if (hp.arch != "llama")
    return "the CUDA backend supports the llama architecture, not '" + hp.arch + "'";
  const ModelWeights& w = model.weights();
  for (const LayerWeights& l : w.layers)
    for (const WeightView* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
      if (m->type == TensorType::Q5_0) return "the CUDA backend has no Q5_0 kernels";
  if (w.output.type == TensorType::Q5_0 || w.token_embd.type == TensorType::Q5_0)
    return "the CUDA backend has no Q5_0 kernels";
  if (hp.head_dim % 2 != 0 || hp.head_dim > cuda::kMaxHeadDim)
    return "the CUDA backend needs an even head size of at most " +
           std::to_string(cuda::kMaxHeadDim);
  return {};
}

std::unique_ptr<BackendContext> make_cuda_context(std::shared_ptr<const Model> model, int n_ctx,
                                                  int max_batch, const CudaOptions& options) {
  if (std::string why = cuda_unsupported_reason(*model); !why.empty()) throw ModelError(why);
  return std::make_unique<cuda::CudaContext>(std::move(model), n_ctx, max_batch, options);
}

}  // namespace agentrt::engine
