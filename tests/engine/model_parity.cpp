#include "model_parity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "agentrt/engine/model.h"
#include "agentrt/engine/session.h"
#include "reference_forward.h"

namespace agentrt::test {

using engine::AppendStatus;
using engine::Session;
using engine::SessionOptions;

double nmse(const std::vector<float>& a, const std::vector<double>& b) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return num / den;
}

void expect_sessions_match_reference(const std::filesystem::path& path,
                                     const std::vector<engine::Token>& tokens,
                                     const std::string& name) {
  const std::vector<int> ids(tokens.begin(), tokens.end());
  const std::vector<double> expected = reference_logits(path, ids);
  auto model = engine::Model::load(path);
  // Float weights multiply float activations: only summation order differs from the reference.
  // Quantized weights multiply activations rounded to 8 bits per block (the integer dot products
  // of engine/cpu_gemm.h, as llama.cpp does), which the float64 reference does not model: the
  // logits then agree to an NMSE of about 1e-4 (llama.cpp's own mat-mul tests allow 5e-4 per op),
  // while a wrong block layout or scale gives an NMSE near 1.
  const engine::TensorType wq = model->weights().layers.at(0).wq.type;
  const bool int8_activations = wq != engine::TensorType::F32 && wq != engine::TensorType::F16 &&
                                wq != engine::TensorType::BF16;
  // The float32 KV cache keeps keys and values as computed; the float16 one (the default) rounds
  // each to 11 significant bits, which moves the logits of float weights by an NMSE of about 1e-7
  // (a wrong attention layout gives far more).
  for (const engine::KvType kv : {engine::KvType::F32, engine::KvType::F16}) {
    const bool f32 = kv == engine::KvType::F32;
    const std::string what = name + (f32 ? " (KV f32)" : " (KV f16)");
    const double nmse_max = int8_activations ? 1e-3 : f32 ? 1e-9 : 1e-6;
    const double max_err_max = f32 ? 1e-3 : 2e-2;

    // Batches of 4 split the prompt unevenly, so batched prefill and the cache both take part.
    Session session(model, SessionOptions{.n_ctx = 64,
                                          .n_threads = 2,
                                          .n_batch = 4,
                                          .device = engine::Device::Cpu,
                                          .kv_type = kv});
    std::vector<float> logits;
    ASSERT_EQ(session.append_all_logits(tokens, logits), AppendStatus::Ok);
    ASSERT_EQ(logits.size(), expected.size());
    for (float v : logits) ASSERT_TRUE(std::isfinite(v));
    EXPECT_LT(nmse(logits, expected), nmse_max) << what;
    if (!int8_activations) {
      double max_err = 0.0;
      for (size_t i = 0; i < expected.size(); ++i)
        max_err = std::max(max_err, std::abs(logits[i] - expected[i]));
      EXPECT_LT(max_err, max_err_max) << what;
    }

    // One batch of the whole prompt takes the other matmul path (the prefill tiles).
    Session one_batch(model, SessionOptions{.n_ctx = 64,
                                            .n_threads = 2,
                                            .n_batch = 64,
                                            .device = engine::Device::Cpu,
                                            .kv_type = kv});
    std::vector<float> batch_logits;
    ASSERT_EQ(one_batch.append_all_logits(tokens, batch_logits), AppendStatus::Ok);
    EXPECT_LT(nmse(batch_logits, expected), nmse_max) << what;
    // Both paths round the activations (and the cache) the same way, so they agree with each
    // other far more closely than with the reference.
    const std::vector<double> batch_as_double(batch_logits.begin(), batch_logits.end());
    EXPECT_LT(nmse(logits, batch_as_double), 1e-9) << what;

    // Decoding one token at a time after a partial prefill gives the same last logits.
    Session incremental(
        model,
        SessionOptions{.n_ctx = 64, .n_threads = 1, .device = engine::Device::Cpu, .kv_type = kv});
    ASSERT_EQ(incremental.append(std::span(tokens).first(5)), AppendStatus::Ok);
    for (size_t i = 5; i < tokens.size(); ++i)
      ASSERT_EQ(incremental.append(std::span(tokens).subspan(i, 1)), AppendStatus::Ok);
    const auto last = incremental.logits();
    const size_t n_vocab = last.size();
    ASSERT_EQ(n_vocab, static_cast<size_t>(model->hparams().n_vocab));
    const std::vector<float> last_copy(last.begin(), last.end());
    const std::vector<double> batch_last(batch_logits.end() - static_cast<std::ptrdiff_t>(n_vocab),
                                         batch_logits.end());
    EXPECT_LT(nmse(last_copy, batch_last), 1e-9) << what;
    if (!int8_activations) {
      for (size_t i = 0; i < n_vocab; ++i)
        ASSERT_NEAR(last[i], expected[expected.size() - n_vocab + i], max_err_max)
            << what << " logit " << i;
    }
  }
}

}  // namespace agentrt::test
