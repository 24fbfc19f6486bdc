// EngineContext: the loop's text-level view of an engine::Session. It keeps, for each token in
// the session, how much of the context text is covered once that token is in, so that a rewind
// drops whole tokens and never re-evaluates what stays.
#include <algorithm>
#include <chrono>
#include <limits>

#include "agentrt/agent/agent.h"

namespace agentrt::agent {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMidChunk = std::numeric_limits<std::size_t>::max();

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

GenerationEnd end_of(engine::StopReason reason) {
  switch (reason) {
    case engine::StopReason::Eos:
      return GenerationEnd::eos;
    case engine::StopReason::StopString:
      return GenerationEnd::stop_sequence;
    case engine::StopReason::MaxTokens:
      return GenerationEnd::max_tokens;
    case engine::StopReason::ContextFull:
      return GenerationEnd::context_full;
    case engine::StopReason::Cancelled:
      return GenerationEnd::cancelled;
  }
  return GenerationEnd::max_tokens;
}

}  // namespace

EngineContext::EngineContext(engine::Session& session, engine::Sampler& sampler,
                             std::string description)
    : session_(session), sampler_(sampler), description_(std::move(description)) {
  session_.reset();
}

int64_t EngineContext::n_tokens() const {
  return static_cast<int64_t>(session_.tokens().size());
}
int64_t EngineContext::n_ctx() const {
  return session_.n_ctx();
}

void EngineContext::keep_tokens(std::size_t n) {
  session_.truncate(n);
  ends_.resize(n);
  text_.resize(n == 0 ? 0 : ends_[n - 1]);
}

void EngineContext::rewind(std::size_t n_chars) {
  std::size_t keep = ends_.size();
  while (keep > 0 && (ends_[keep - 1] == kMidChunk || ends_[keep - 1] > n_chars)) --keep;
  keep_tokens(keep);
}

std::vector<engine::Token> EngineContext::tokenize(std::string_view text) const {
  const engine::Tokenizer& tokenizer = session_.model().tokenizer();
  if (session_.tokens().empty())
    return tokenizer.encode(text, /*add_bos=*/true, /*parse_special=*/true);
  // Text in the middle of a conversation must not get sentencepiece's dummy-prefix space: encode
  // it behind the BOS piece (which parse_special reads as one token) and drop that.
  const std::string bos(tokenizer.piece(tokenizer.bos()));
  std::vector<engine::Token> tokens = tokenizer.encode(bos + std::string(text), false, true);
  if (!tokens.empty() && tokens.front() == tokenizer.bos()) {
    tokens.erase(tokens.begin());
    return tokens;
  }
  return tokenizer.encode(text, false, true);
}

int64_t EngineContext::count_tokens(std::string_view text) const {
  return text.empty() ? 0 : static_cast<int64_t>(tokenize(text).size());
}

AppendOutcome EngineContext::append(std::string_view text) {
  AppendOutcome out;
  if (text.empty()) return out;
  const auto start = Clock::now();
  const std::vector<engine::Token> tokens = tokenize(text);
  out.n_tokens = static_cast<int64_t>(tokens.size());
  if (session_.append(tokens) != engine::AppendStatus::Ok) {
    out.ok = false;
    out.ms = ms_since(start);
    return out;
  }
  text_ += text;
  ends_.resize(ends_.size() + tokens.size(), kMidChunk);
  if (!tokens.empty()) ends_.back() = text_.size();
  out.ms = ms_since(start);
  return out;
}

GenerationOutcome EngineContext::generate(int max_tokens, const std::vector<std::string>& stop,
                                          const std::function<bool(std::string_view)>& on_text) {
  GenerationOutcome out;
  const auto start = Clock::now();
  const int64_t room = n_ctx() - n_tokens();
  if (room <= 0) {
    out.end = GenerationEnd::context_full;
    return out;
  }
  engine::GenerateOptions options;
  options.max_tokens = static_cast<int>(std::min<int64_t>(max_tokens, room));
  options.stop = stop;
  const std::size_t before = session_.tokens().size();
  const engine::Tokenizer& tokenizer = session_.model().tokenizer();
  const engine::Token previous =
      before == 0 || session_.tokens().back() == tokenizer.bos() ? -1 : session_.tokens().back();
  engine::GenerateResult result = session_.generate(options, sampler_, on_text);
  out.text = std::move(result.text);
  out.end = end_of(result.reason);
  if (out.end == GenerationEnd::max_tokens && options.max_tokens < max_tokens)
    out.end = GenerationEnd::context_full;
  out.n_tokens = static_cast<int64_t>(result.tokens.size());
  out.token_ids.assign(result.tokens.begin(), result.tokens.end());

  // Keep the generated tokens whose text is a prefix of the model text plus its stop sequence
  // (what the dialect renders next); the rest (EOS, text past the stop) is dropped.
  const std::string target = out.text + result.stop_string;
  const std::size_t base = text_.size();
  std::string generated;
  std::size_t kept = 0;
  engine::Token prev = previous;
  for (engine::Token token : result.tokens) {
    if (token == tokenizer.eos()) break;
    const std::string piece = tokenizer.token_to_piece(token, prev);
    if (target.compare(generated.size(), piece.size(), piece) != 0 ||
        generated.size() + piece.size() > target.size())
      break;
    generated += piece;
    ends_.push_back(base + generated.size());
    prev = token;
    ++kept;
  }
  session_.truncate(before + kept);
  text_ += generated;
  out.ms = ms_since(start);
  return out;
}

}  // namespace agentrt::agent
