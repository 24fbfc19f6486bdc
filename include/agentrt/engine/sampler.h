// Token sampling: greedy, temperature, top-k, top-p, min-p, and repetition / presence /
// frequency penalties. The random state lives in the Sampler, so the same seed reproduces a run.
//
// Thread-safety: a Sampler is used by one session at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "agentrt/engine/tokenizer.h"

namespace agentrt::engine {

struct SamplerParams {
  float temperature = 0.0f;        // <= 0: greedy (argmax after penalties)
  int top_k = 0;                   // 0: off
  float top_p = 1.0f;              // 1: off
  float min_p = 0.0f;              // 0: off; keep tokens with p >= min_p * p_max
  float repeat_penalty = 1.0f;     // 1: off; CTRL-style, divides positive logits
  float presence_penalty = 0.0f;   // subtracted once per token present in the window
  float frequency_penalty = 0.0f;  // subtracted per occurrence in the window
  int penalty_last_n = 64;         // window of recent tokens the penalties look at
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);
  // Chooses the next token from `logits` (n_vocab) given the tokens so far. Deterministic for a
  // given seed, logits and history.
  Token sample(std::span<const float> logits, std::span<const Token> history);
  const SamplerParams& params() const { return params_; }
  void reseed(uint64_t seed);

 private:
  double next_uniform();  // [0, 1), from the generator's bits (platform independent)
  SamplerParams params_;
  uint64_t state_[4];  // xoshiro256** state
  struct Candidate {
    float logit;
    Token id;
  };
  std::vector<Candidate> candidates_;  // scratch, (n_vocab)
  std::vector<float> probs_;           // scratch
};

}  // namespace agentrt::engine
