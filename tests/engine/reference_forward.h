// A plain float64 Llama / Gemma 3 forward pass, written separately from the engine's optimised
// code, as the reference its logits are held to. It reads the GGUF itself and expands every weight
// to double; slow and memory-hungry, meant for small models only.
#pragma once

#include <filesystem>
#include <vector>

namespace agentrt::test {

// Logits ((n_tokens, n_vocab), row-major) of every position of `tokens`, evaluated from an empty
// context.
std::vector<double> reference_logits(const std::filesystem::path& model,
                                     const std::vector<int>& tokens);

}  // namespace agentrt::test
