#include "agentrt/engine/session.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "backend.h"

namespace agentrt::engine {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Length of the longest prefix of text that ends on a UTF-8 character boundary.
size_t complete_utf8_prefix(std::string_view text) {
  size_t n = text.size();
  // Look at most 3 bytes back for the lead byte of a sequence that is not finished yet.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return len > back ? n - back : n;
  }
  return n;
}

// Length of the longest suffix of text that is a proper prefix of some stop string: those bytes
// may still turn out to start a stop string and are held back.
size_t stop_prefix_suffix(std::string_view text, const std::vector<std::string>& stop) {
  size_t best = 0;
  for (const std::string& s : stop) {
    for (size_t len = std::min(s.size() - 1, text.size()); len > best; --len) {
      if (text.substr(text.size() - len) == std::string_view(s).substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

// Device::Cuda uses the CUDA backend or fails saying why; Auto uses it when it can run the model
// and otherwise says once per process, on stderr, why it runs on the CPU.
std::unique_ptr<BackendContext> make_backend(const std::shared_ptr<const Model>& model,
                                             Device device, int n_ctx, int n_batch, int n_threads,
                                             KvType kv_type) {
  if (device != Device::Cpu) {
    const std::string why = cuda_unsupported_reason(*model);
    if (why.empty()) return make_cuda_context(model, n_ctx, n_batch);
    if (device == Device::Cuda) throw ModelError("cannot use the CUDA device: " + why);
#ifdef AGENTRT_HAVE_CUDA  // a build without CUDA has nothing to say
    static std::once_flag notice;
    std::call_once(notice,
                   [&] { std::fprintf(stderr, "agentrt: %s; running on the CPU\n", why.c_str()); });
#endif
  }
  return make_cpu_context(model, n_ctx, n_threads, kv_type);
}

}  // namespace

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::Eos:
      return "eos";
    case StopReason::StopString:
      return "stop";
    case StopReason::MaxTokens:
      return "length";
    case StopReason::ContextFull:
      return "context_full";
    case StopReason::Cancelled:
      return "cancelled";
  }
  return "unknown";
}

struct Session::Impl {
  std::unique_ptr<BackendContext> backend;
  std::vector<float> logits;  // (n_vocab) after the last token of the history
  bool logits_valid = false;
};

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options)
    : model_(std::move(model)), impl_(std::make_unique<Impl>()) {
  const ModelHParams& hp = model_->hparams();
  n_ctx_ = options.n_ctx > 0 ? options.n_ctx : std::min(hp.n_ctx_train, 4096);
  if (n_ctx_ < 1 || n_ctx_ > (1 << 22))
    throw ModelError("context length " + std::to_string(n_ctx_) + " is out of range");
  n_batch_ = std::clamp(options.n_batch, 1, 4096);
  impl_->backend =
      make_backend(model_, options.device, n_ctx_, n_batch_, options.n_threads, options.kv_type);
  impl_->logits.resize(static_cast<size_t>(hp.n_vocab));
}

Session::~Session() = default;

std::string_view Session::backend_name() const {
  return impl_->backend->name();
}

std::span<const float> Session::logits() const {
  return impl_->logits;
}

AppendStatus Session::eval(std::span<const Token> tokens, std::vector<float>* all_logits) {
  if (tokens_.size() + tokens.size() > static_cast<size_t>(n_ctx_))
    return AppendStatus::ContextFull;
  const int n_vocab = model_->hparams().n_vocab;
  for (Token t : tokens)
    if (t < 0 || t >= n_vocab)
      throw std::out_of_range("token id " + std::to_string(t) + " is outside the vocabulary");
  if (all_logits) all_logits->assign(tokens.size() * static_cast<size_t>(n_vocab), 0.0f);
  for (size_t i = 0; i < tokens.size(); i += static_cast<size_t>(n_batch_)) {
    const size_t n = std::min(tokens.size() - i, static_cast<size_t>(n_batch_));
    const bool last = i + n == tokens.size();
    std::span<float> out;
    if (all_logits) {
      out = std::span<float>(*all_logits).subspan(i * n_vocab, n * n_vocab);
    } else if (last) {
      out = impl_->logits;
    }
    impl_->backend->eval(tokens.subspan(i, n), static_cast<int>(tokens_.size()), out,
                         all_logits != nullptr);
    tokens_.insert(tokens_.end(), tokens.begin() + static_cast<std::ptrdiff_t>(i),
                   tokens.begin() + static_cast<std::ptrdiff_t>(i + n));
  }
  if (all_logits && !tokens.empty())
    std::copy(all_logits->end() - n_vocab, all_logits->end(), impl_->logits.begin());
  if (!tokens.empty()) impl_->logits_valid = true;
  return AppendStatus::Ok;
}

AppendStatus Session::append(std::span<const Token> tokens) {
  last_ = {};
  const auto start = Clock::now();
  const AppendStatus status = eval(tokens, nullptr);
  if (status == AppendStatus::Ok) {
    last_.n_prefill = static_cast<int64_t>(tokens.size());
    last_.prefill_ms = ms_since(start);
    total_.n_prefill += last_.n_prefill;
    total_.prefill_ms += last_.prefill_ms;
  }
  return status;
}

AppendStatus Session::append_all_logits(std::span<const Token> tokens,
                                        std::vector<float>& logits_out) {
  last_ = {};
  const auto start = Clock::now();
  const AppendStatus status = eval(tokens, &logits_out);
  if (status == AppendStatus::Ok) {
    last_.n_prefill = static_cast<int64_t>(tokens.size());
    last_.prefill_ms = ms_since(start);
    total_.n_prefill += last_.n_prefill;
    total_.prefill_ms += last_.prefill_ms;
  }
  return status;
}

AppendStatus Session::append_text(std::string_view text) {
  const std::vector<Token> tokens =
      model_->tokenizer().encode(text, /*add_bos=*/tokens_.empty(), /*parse_special=*/true);
  return append(tokens);
}

void Session::truncate(size_t n) {
  if (n >= tokens_.size()) return;
  tokens_.resize(n);
  impl_->logits_valid = false;
}

GenerateResult Session::generate(const GenerateOptions& options, Sampler& sampler,
                                 const TokenCallback& on_text) {
  GenerateResult result;
  SessionCounters counters;
  const Tokenizer& tok = model_->tokenizer();

  // After truncate() the logits belong to a dropped token: recompute them from the last one.
  if (!impl_->logits_valid) {
    if (tokens_.empty()) {
      result.reason = StopReason::MaxTokens;
      last_ = counters;
      return result;
    }
    const Token last = tokens_.back();
    tokens_.pop_back();
    const auto start = Clock::now();
    eval(std::span<const Token>(&last, 1), nullptr);
    counters.n_prefill = 1;
    counters.prefill_ms = ms_since(start);
  }

  std::string text;    // everything generated so far
  size_t emitted = 0;  // bytes of text already given to on_text
  bool cancelled = false;
  auto emit = [&](size_t end) {
    if (end > emitted && !cancelled) {
      if (on_text && !on_text(std::string_view(text).substr(emitted, end - emitted)))
        cancelled = true;
      emitted = end;
    }
  };

  result.reason = StopReason::MaxTokens;
  for (int i = 0; i < options.max_tokens; ++i) {
    auto start = Clock::now();
    const Token next = sampler.sample(impl_->logits, tokens_);
    counters.n_sample += 1;
    counters.sample_ms += ms_since(start);
    if (options.stop_at_eos && tok.is_end_of_generation(next)) {
      result.reason = StopReason::Eos;
      break;
    }
    const Token previous = tokens_.empty() || tokens_.back() == tok.bos() ? -1 : tokens_.back();
    start = Clock::now();
    if (eval(std::span<const Token>(&next, 1), nullptr) == AppendStatus::ContextFull) {
      result.reason = StopReason::ContextFull;
      break;
    }
    counters.n_decode += 1;
    counters.decode_ms += ms_since(start);
    result.tokens.push_back(next);
    text += tok.token_to_piece(next, previous);

    // A stop string may straddle tokens: search the tail that could hold a new match.
    size_t stop_at = std::string::npos;
    for (const std::string& s : options.stop) {
      if (s.empty()) continue;
      const size_t from = emitted > s.size() ? emitted - s.size() : 0;
      const size_t p = text.find(s, from);
      if (p != std::string::npos && p < stop_at) {
        stop_at = p;
        result.stop_string = s;
      }
    }
    if (stop_at != std::string::npos) {
      text.resize(stop_at);
      emit(stop_at);
      result.reason = StopReason::StopString;
      break;
    }
    const size_t safe = complete_utf8_prefix(
        std::string_view(text).substr(0, text.size() - stop_prefix_suffix(text, options.stop)));
    emit(safe);
    if (cancelled) {
      result.reason = StopReason::Cancelled;
      break;
    }
  }
  if (result.reason != StopReason::StopString && result.reason != StopReason::Cancelled)
    emit(text.size());
  if (cancelled) result.reason = StopReason::Cancelled;
  result.text = std::move(text);

  last_ = counters;
  total_.n_prefill += counters.n_prefill;
  total_.prefill_ms += counters.prefill_ms;
  total_.n_decode += counters.n_decode;
  total_.decode_ms += counters.decode_ms;
  total_.n_sample += counters.n_sample;
  total_.sample_ms += counters.sample_ms;
  return result;
}

}  // namespace agentrt::engine
