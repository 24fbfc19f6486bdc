// Errors the engine reports by exception: load-time and configuration failures.
// Expected run-time outcomes (a full KV cache, a stop string) are values, not exceptions.
#pragma once

#include <stdexcept>
#include <string>

namespace agentrt::engine {

// A model file that cannot be used: missing, corrupt, hostile or unsupported.
// what() names the file and the problem, e.g. "model.gguf: tensor 'x' extends past end of file".
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace agentrt::engine
