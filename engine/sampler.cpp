#include "agentrt/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace agentrt::engine {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

Sampler::Sampler(const SamplerParams& params) : params_(params) {
  reseed(params.seed);
}

void Sampler::reseed(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : state_) s = splitmix64(x);
}

// xoshiro256** (Blackman & Vigna 2018); the top 53 bits make a double in [0, 1).
double Sampler::next_uniform() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return static_cast<double>(result >> 11) * 0x1.0p-53;
}

Token Sampler::sample(std::span<const float> logits, std::span<const Token> history) {
  const size_t n_vocab = logits.size();
  candidates_.resize(n_vocab);
  for (size_t i = 0; i < n_vocab; ++i) candidates_[i] = {logits[i], static_cast<Token>(i)};

  // Penalties over the recent window (llama.cpp semantics: repeat penalty divides positive
  // logits and multiplies negative ones; presence and frequency subtract).
  const bool penalise = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                        params_.frequency_penalty != 0.0f;
  if (penalise && params_.penalty_last_n != 0 && !history.empty()) {
    const size_t window = params_.penalty_last_n < 0
                              ? history.size()
                              : std::min(history.size(), size_t(params_.penalty_last_n));
    std::unordered_map<Token, int> counts;
    for (Token t : history.subspan(history.size() - window)) ++counts[t];
    for (const auto& [token, count] : counts) {
      if (token < 0 || static_cast<size_t>(token) >= n_vocab) continue;
      float& l = candidates_[static_cast<size_t>(token)].logit;
      l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
      l -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(count);
    }
  }

  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  if (params_.temperature <= 0.0f) {
    return std::min_element(candidates_.begin(), candidates_.end(), by_logit)->id;
  }

  // Top-k first (cheap partial sort), then sort what remains.
  size_t n = n_vocab;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    n = static_cast<size_t>(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(n),
                      candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }

  // Softmax at the temperature, in double for stable cumulative sums.
  probs_.resize(n);
  const double max = candidates_[0].logit;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double p = std::exp((candidates_[i].logit - max) / params_.temperature);
    probs_[i] = static_cast<float>(p);
    sum += p;
  }
  for (size_t i = 0; i < n; ++i) probs_[i] = static_cast<float>(probs_[i] / sum);

  // Min-p: keep tokens at least min_p times as likely as the best one.
  if (params_.min_p > 0.0f) {
    const float threshold = params_.min_p * probs_[0];
    size_t keep = 1;
    while (keep < n && probs_[keep] >= threshold) ++keep;
    n = keep;
  }
  // Top-p (nucleus, Holtzman et al. 2019): the smallest prefix whose mass reaches top_p.
  if (params_.top_p < 1.0f) {
    double mass = 0.0;
    size_t keep = 0;
    while (keep < n) {
      mass += probs_[keep++];
      if (mass >= params_.top_p) break;
    }
    n = std::max<size_t>(keep, 1);
  }

  double total = 0.0;
  for (size_t i = 0; i < n; ++i) total += probs_[i];
  const double r = next_uniform() * total;
  double acc = 0.0;
  for (size_t i = 0; i < n; ++i) {
    acc += probs_[i];
    if (r < acc) return candidates_[i].id;
  }
  return candidates_[n - 1].id;
}

}  // namespace agentrt::engine
