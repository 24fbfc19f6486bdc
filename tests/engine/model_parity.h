// The checks a random-weight model file must pass against the float64 reference
// (reference_forward.h): batched prefill in uneven batches, one whole batch, and token-by-token
// decoding after a partial prefill all give the reference's logits.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "agentrt/engine/tokenizer.h"

namespace agentrt::test {

// Normalised mean squared error sum((a-b)^2) / sum(b^2), ggml's metric for kernel checks.
double nmse(const std::vector<float>& a, const std::vector<double>& b);

// Loads `path` and runs the three ways of evaluating `tokens` through CPU Sessions, with gtest
// expectations labelled with `name`: NMSE below 1e-9 and every logit within 1e-3 for float
// weights; NMSE below 1e-3 for quantized weights (int8 activations); and the three ways within
// NMSE 1e-9 of each other.
void expect_sessions_match_reference(const std::filesystem::path& path,
                                     const std::vector<engine::Token>& tokens,
                                     const std::string& name);

}  // namespace agentrt::test
