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

  // Batches of 4 split the prompt unevenly, so batched prefill and the cache both take part.
  Session session(model, SessionOptions{.n_ctx = 64, .n_threads = 2, .n_batch = 4});
  std::vector<float> logits;
  ASSERT_EQ(session.append_all_logits(tokens, logits), AppendStatus::Ok);
  ASSERT_EQ(logits.size(), expected.size());
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
  EXPECT_LT(nmse(logits, expected), 1e-9) << name;
  double max_err = 0.0;
  for (size_t i = 0; i < expected.size(); ++i)
    max_err = std::max(max_err, std::abs(logits[i] - expected[i]));
  EXPECT_LT(max_err, 1e-3) << name;

  // One batch of the whole prompt takes the other matmul path (rows expanded once per batch).
  Session one_batch(model, SessionOptions{.n_ctx = 64, .n_threads = 2, .n_batch = 64});
  std::vector<float> batch_logits;
  ASSERT_EQ(one_batch.append_all_logits(tokens, batch_logits), AppendStatus::Ok);
  EXPECT_LT(nmse(batch_logits, expected), 1e-9) << name;

  // Decoding one token at a time after a partial prefill gives the same last logits.
  Session incremental(model, SessionOptions{.n_ctx = 64, .n_threads = 1});
  ASSERT_EQ(incremental.append(std::span(tokens).first(5)), AppendStatus::Ok);
  for (size_t i = 5; i < tokens.size(); ++i)
    ASSERT_EQ(incremental.append(std::span(tokens).subspan(i, 1)), AppendStatus::Ok);
  const auto last = incremental.logits();
  const size_t n_vocab = last.size();
  ASSERT_EQ(n_vocab, static_cast<size_t>(model->hparams().n_vocab));
  for (size_t i = 0; i < n_vocab; ++i)
    ASSERT_NEAR(last[i], expected[expected.size() - n_vocab + i], 1e-3) << name << " logit " << i;
}

}  // namespace agentrt::test
