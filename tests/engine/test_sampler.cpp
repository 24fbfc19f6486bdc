#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "agentrt/engine/sampler.h"

namespace agentrt::engine {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.5f, -1.0f, 0.0f, 2.9f};

TEST(Sampler, GreedyPicksTheLargestLogit) {
  Sampler s(SamplerParams{});
  EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, GreedyBreaksTiesByLowestId) {
  Sampler s(SamplerParams{});
  const std::vector<float> tied = {0.5f, 2.0f, 2.0f};
  EXPECT_EQ(s.sample(tied, {}), 1);
}

TEST(Sampler, SameSeedSameSequenceOtherSeedOtherSequence) {
  SamplerParams p;
  p.temperature = 1.5f;
  p.seed = 42;
  auto draw = [&](uint64_t seed) {
    p.seed = seed;
    Sampler s(p);
    std::vector<Token> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(kLogits, {}));
    return out;
  };
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
}

TEST(Sampler, TopKOneAndTinyTopPAreGreedy) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 1;
  Sampler k1(p);
  p.top_k = 0;
  p.top_p = 0.01f;
  Sampler tiny_p(p);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(k1.sample(kLogits, {}), 1);
    EXPECT_EQ(tiny_p.sample(kLogits, {}), 1);
  }
}

TEST(Sampler, TopKRestrictsToTheKBest) {
  SamplerParams p;
  p.temperature = 5.0f;
  p.top_k = 3;
  Sampler s(p);
  for (int i = 0; i < 500; ++i) {
    const Token t = s.sample(kLogits, {});
    EXPECT_TRUE(t == 1 || t == 5 || t == 2) << t;
  }
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.min_p = 0.5f;  // keeps p >= 0.5 p(1): ids 1 (e^3), 5 (e^2.9), 2 (e^2.5 = 0.61 e^3)
  Sampler s(p);
  for (int i = 0; i < 500; ++i) {
    const Token t = s.sample(kLogits, {});
    EXPECT_TRUE(t == 1 || t == 5 || t == 2) << t;
  }
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.seed = 7;
  Sampler s(p);
  const int n = 40000;
  std::map<Token, int> counts;
  for (int i = 0; i < n; ++i) ++counts[s.sample(kLogits, {})];
  double z = 0.0;
  for (float l : kLogits) z += std::exp(l);
  for (size_t id = 0; id < kLogits.size(); ++id) {
    const double expected = std::exp(kLogits[id]) / z;
    const double got = static_cast<double>(counts[static_cast<Token>(id)]) / n;
    // Four standard deviations of a binomial proportion.
    EXPECT_NEAR(got, expected, 4 * std::sqrt(expected * (1 - expected) / n) + 1e-4) << id;
  }
}

TEST(Sampler, RepeatPenaltyMovesGreedyOffARepeatedToken) {
  SamplerParams p;
  p.repeat_penalty = 1.5f;  // 3.0 / 1.5 = 2.0 < 2.9
  Sampler s(p);
  const std::vector<Token> history = {1};
  EXPECT_EQ(s.sample(kLogits, history), 5);
}

TEST(Sampler, PresenceAndFrequencyPenaltiesSubtract) {
  SamplerParams p;
  p.presence_penalty = 0.05f;
  p.frequency_penalty = 0.05f;
  Sampler s(p);
  // Token 1 seen twice: 3.0 - 0.05 - 2 * 0.05 = 2.85 < 2.9, so token 5 wins.
  const std::vector<Token> twice = {1, 1};
  EXPECT_EQ(s.sample(kLogits, twice), 5);
}

TEST(Sampler, PenaltyWindowOnlyLooksAtRecentTokens) {
  SamplerParams p;
  p.repeat_penalty = 1.5f;
  p.penalty_last_n = 2;
  Sampler s(p);
  const std::vector<Token> history = {1, 4, 4};  // token 1 is outside the window
  EXPECT_EQ(s.sample(kLogits, history), 1);
}

}  // namespace
}  // namespace agentrt::engine
