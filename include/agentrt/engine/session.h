// A session: one conversation with a model. It owns a KV cache and the token history, so each
// append() prefills only the tokens it adds, and generation continues from where the history ends.
//
// Thread-safety: a Session is used by one thread at a time; several sessions may share a Model.
// Errors: a full context is an expected outcome, reported as a value (AppendStatus, StopReason).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agentrt/engine/model.h"
#include "agentrt/engine/sampler.h"

namespace agentrt::engine {

enum class Device { Auto, Cpu, Cuda };

// Element type of the CPU backend's KV cache: F16 (half the memory; llama.cpp's default) or F32
// (keys and values exactly as computed).
enum class KvType { F16, F32 };

struct SessionOptions {
  int n_ctx = 0;      // context length; 0: the model's training context, at most 4096
  int n_threads = 0;  // 0: all cores
  int n_batch = 64;   // prefill processes this many tokens per forward pass
  Device device = Device::Auto;
  KvType kv_type = KvType::F16;  // the CPU backend's; the CUDA backend keeps its own
};

// Work done by one call (prefill and decode), and by the session in total.
struct SessionCounters {
  int64_t n_prefill = 0;  // tokens evaluated by append()
  int64_t n_decode = 0;   // tokens generated (each evaluated once)
  double prefill_ms = 0;
  double decode_ms = 0;
  int64_t n_sample = 0;
  double sample_ms = 0;
};

enum class AppendStatus { Ok, ContextFull };

enum class StopReason { Eos, StopString, MaxTokens, ContextFull, Cancelled };
std::string_view stop_reason_name(StopReason reason);

struct GenerateOptions {
  int max_tokens = 256;
  std::vector<std::string> stop;  // stop strings; the text returned ends before the first match
  bool stop_at_eos = true;        // stop at EOS or another end-of-turn token (is_end_of_generation)
};

struct GenerateResult {
  std::vector<Token> tokens;  // generated tokens (all of them stay in the history)
  std::string text;           // their text, cut before the stop string
  StopReason reason = StopReason::MaxTokens;
  std::string stop_string;  // the stop string that matched, if any
};

// Receives text as it is generated (never part of a stop string, never a broken UTF-8 sequence).
// Return false to cancel.
using TokenCallback = std::function<bool(std::string_view text)>;

class Session {
 public:
  // Allocates the KV cache (n_ctx tokens). Throws ModelError when the device is unavailable or
  // the options are invalid.
  Session(std::shared_ptr<const Model> model, const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Evaluates `tokens` after the history (prefill, in batches of n_batch). Afterwards logits()
  // holds the distribution for the next token. ContextFull leaves the session unchanged.
  AppendStatus append(std::span<const Token> tokens);
  // Tokenizes (with special tokens parsed, BOS when the history is empty) and appends.
  AppendStatus append_text(std::string_view text);

  // Samples up to max_tokens after the history, streaming text to `on_text`.
  GenerateResult generate(const GenerateOptions& options, Sampler& sampler,
                          const TokenCallback& on_text = {});

  // Drops the history after its first n tokens (the KV cache keeps the rest). Afterwards
  // logits() is stale until the next append().
  void truncate(size_t n);
  void reset() { truncate(0); }

  std::span<const float> logits() const;  // (n_vocab) for the token after the history
  const std::vector<Token>& tokens() const { return tokens_; }
  int n_ctx() const { return n_ctx_; }
  const Model& model() const { return *model_; }
  const SessionCounters& counters() const { return total_; }      // since construction
  const SessionCounters& last_counters() const { return last_; }  // of the last call
  std::string_view backend_name() const;

  // Evaluates tokens and returns the logits of every position ((n, n_vocab)); for tests and
  // perplexity. Appends the tokens like append().
  AppendStatus append_all_logits(std::span<const Token> tokens, std::vector<float>& logits_out);

  struct Impl;

 private:
  AppendStatus eval(std::span<const Token> tokens, std::vector<float>* all_logits);
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Impl> impl_;
  std::vector<Token> tokens_;
  int n_ctx_ = 0;
  int n_batch_ = 64;
  SessionCounters total_;
  SessionCounters last_;
};

}  // namespace agentrt::engine
