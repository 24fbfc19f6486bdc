// The CUDA backend end to end: the stories260K golden greedy tokens, and random llama models of
// every tensor type against the CPU backend (greedy tokens, prefill and decode logits), the
// decode graph against direct launches, and the fallback where there is no device.
//
// Tolerances (docs/engine.md, "CUDA backend"): decode runs in float32 on the file's weights, so
// its greedy tokens equal the CPU's for 64 tokens (F32, F16: exactly; other types: up to the first
// step where the CPU's top two logits are within 1e-3 of each other, a tie that summation order
// may break either way). Prefill rounds activations to the weight type for tensor-core GEMMs:
// logits within NMSE 1e-8 of the CPU for F32 models, 2e-4 for F16 and quantized, 4e-3 for BF16.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "agentrt/engine/model.h"
#include "agentrt/engine/session.h"
#include "backend.h"
#include "gpu_test_util.h"
#include "random_model.h"
#include "test_support.h"

namespace agentrt::engine {
namespace {

namespace fs = std::filesystem;

SessionOptions on(Device device, int n_ctx, int n_batch = 64) {
  return SessionOptions{.n_ctx = n_ctx, .n_threads = 2, .n_batch = n_batch, .device = device};
}

std::vector<int> read_ids(const fs::path& json) {
  std::ifstream in(json);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const size_t open = text.find('[', text.find("\"generated_token_ids\"")),
               close = text.find(']', open);
  std::vector<int> ids;
  const std::string list = text.substr(open + 1, close - open - 1);
  const std::regex number("-?[0-9]+");
  for (auto it = std::sregex_iterator(list.begin(), list.end(), number);
       it != std::sregex_iterator(); ++it)
    ids.push_back(std::stoi(it->str()));
  return ids;
}

TEST(CudaStories260K, GreedyFromBosMatchesAll256ReferenceTokens) {
  AGENTRT_REQUIRE_CUDA();
  AGENTRT_REQUIRE_SHARED("stories260K/stories260K.gguf");
  const fs::path dir = test::shared_data() / "stories260K";
  const std::vector<int> expected = read_ids(dir / "greedy_from_bos.json");
  ASSERT_EQ(expected.size(), 256u);
  auto model = Model::load(dir / "stories260K.gguf");
  Session session(model, on(Device::Cuda, 512));
  ASSERT_EQ(session.backend_name(), "cuda");
  const Token bos = model->tokenizer().bos();
  ASSERT_EQ(session.append(std::span<const Token>(&bos, 1)), AppendStatus::Ok);
  Sampler greedy(SamplerParams{});
  GenerateOptions options;
  options.max_tokens = 256;
  options.stop_at_eos = false;
  const GenerateResult result = session.generate(options, greedy);
  ASSERT_EQ(result.tokens.size(), 256u);
  for (size_t i = 0; i < 256; ++i)
    ASSERT_EQ(result.tokens[i], expected[i]) << "first difference at index " << i;

  // The same sequence in one prefill batch (cuBLAS path, FP32 for this F32 model): at every
  // position the largest logit is the next golden token.
  Session prefill(model, on(Device::Cuda, 512, 512));
  std::vector<Token> prompt = {bos};
  prompt.insert(prompt.end(), expected.begin(), expected.end() - 1);
  std::vector<float> logits;
  ASSERT_EQ(prefill.append_all_logits(prompt, logits), AppendStatus::Ok);
  const size_t n_vocab = static_cast<size_t>(model->hparams().n_vocab);
  for (size_t i = 0; i < prompt.size(); ++i) {
    const auto row = logits.begin() + static_cast<std::ptrdiff_t>(i * n_vocab);
    const auto best = std::max_element(row, row + static_cast<std::ptrdiff_t>(n_vocab)) - row;
    ASSERT_EQ(best, expected[i]) << "prefill row " << i;
  }
}

// Greedy decoding by hand, recording the margin between the top two logits at each step.
struct Greedy {
  std::vector<Token> tokens;
  std::vector<float> margins;
};

Greedy greedy(Session& session, int n) {
  Greedy g;
  for (int i = 0; i < n; ++i) {
    const auto logits = session.logits();
    Token next = 0;
    float first = -INFINITY, second = -INFINITY;
    for (size_t k = 0; k < logits.size(); ++k) {
      if (logits[k] > first) {
        second = first;
        first = logits[k];
        next = static_cast<Token>(k);
      } else if (logits[k] > second) {
        second = logits[k];
      }
    }
    g.margins.push_back(first - second);
    g.tokens.push_back(next);
    if (session.append(std::span<const Token>(&next, 1)) != AppendStatus::Ok) break;
  }
  return g;
}

// Equal tokens, or (when !strict) equal up to a step where the CPU's choice was a near-tie.
void expect_same_greedy(const Greedy& cpu, const Greedy& gpu, bool strict) {
  ASSERT_EQ(cpu.tokens.size(), gpu.tokens.size());
  for (size_t i = 0; i < cpu.tokens.size(); ++i) {
    if (cpu.tokens[i] == gpu.tokens[i]) continue;
    if (strict) FAIL() << "tokens differ at step " << i;
    EXPECT_LT(cpu.margins[i], 1e-3f) << "tokens differ at step " << i << " where the CPU's top "
                                     << "two logits are " << cpu.margins[i] << " apart";
    return;
  }
}

struct TypeCase {
  std::string type;
  bool strict;     // greedy tokens must be equal
  double prefill;  // NMSE bound of prefill logits against the CPU
};

void PrintTo(const TypeCase& c, std::ostream* os) {
  *os << c.type;
}

class CudaRandomModel : public ::testing::TestWithParam<TypeCase> {
 protected:
  void SetUp() override {
    AGENTRT_REQUIRE_CUDA();
    const TypeCase& c = GetParam();
    bench::RandomLlamaSpec spec;  // K-quant rows need n_in % 256 == 0
    bench::set_type_by_name(spec, c.type);
    spec.n_vocab = 512, spec.n_embd = 256, spec.n_layer = 3, spec.n_head = 8;
    spec.n_head_kv = 2, spec.n_ff = 512, spec.n_ctx = 256;
    spec.seed = std::hash<std::string>{}(c.type) % 1000;
    path_ = test::process_temp_dir() / ("cuda-" + c.type + ".gguf");
    bench::write_random_llama(path_, spec);
    model_ = Model::load(path_);
  }
  fs::path path_;
  std::shared_ptr<const Model> model_;
};

TEST_P(CudaRandomModel, Greedy64TokensFromBosMatchCpu) {
  Session cpu(model_, on(Device::Cpu, 128));
  Session gpu(model_, on(Device::Cuda, 128));
  ASSERT_EQ(gpu.backend_name(), "cuda");
  const Token bos = model_->tokenizer().bos();
  ASSERT_EQ(cpu.append(std::span<const Token>(&bos, 1)), AppendStatus::Ok);
  ASSERT_EQ(gpu.append(std::span<const Token>(&bos, 1)), AppendStatus::Ok);
  AGENTRT_EXPECT_CLOSE(std::vector<float>(gpu.logits().begin(), gpu.logits().end()),
                       std::vector<float>(cpu.logits().begin(), cpu.logits().end()), 1e-9);
  expect_same_greedy(greedy(cpu, 64), greedy(gpu, 64), GetParam().strict);
}

TEST_P(CudaRandomModel, PrefillLogitsAndContinuationMatchCpu) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<Token> pick(3, model_->hparams().n_vocab - 1);
  std::vector<Token> prompt(45);
  for (Token& t : prompt) t = pick(rng);
  prompt[0] = model_->tokenizer().bos();
  // Batches of 20: two GEMM batches and one of 5 tokens (matrix-vector kernels) after them.
  Session cpu(model_, on(Device::Cpu, 160, 20));
  Session gpu(model_, on(Device::Cuda, 160, 20));
  std::vector<float> cpu_logits, gpu_logits;
  ASSERT_EQ(cpu.append_all_logits(prompt, cpu_logits), AppendStatus::Ok);
  ASSERT_EQ(gpu.append_all_logits(prompt, gpu_logits), AppendStatus::Ok);
  AGENTRT_EXPECT_CLOSE(gpu_logits, cpu_logits, GetParam().prefill);
  expect_same_greedy(greedy(cpu, 64), greedy(gpu, 64), false);
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, CudaRandomModel,
    ::testing::Values(TypeCase{"f32", true, 1e-8}, TypeCase{"f16", true, 2e-4},
                      TypeCase{"bf16", false, 4e-3}, TypeCase{"q8_0", false, 2e-4},
                      TypeCase{"q4_0", false, 2e-4}, TypeCase{"q4_k", false, 2e-4},
                      TypeCase{"q6_k", false, 2e-4}, TypeCase{"q4_k_m", false, 2e-4}),
    [](const auto& param_info) { return param_info.param.type; });

// A model of odd sizes (head size 8, 5 query heads over 1 KV head, n_ff 72) and a context longer
// than several attention slices and prefill chunks.
TEST(CudaOddModel, LongContextMatchesCpu) {
  AGENTRT_REQUIRE_CUDA();
  bench::RandomLlamaSpec spec;
  spec.n_vocab = 301, spec.n_embd = 40, spec.n_layer = 2, spec.n_head = 5, spec.n_head_kv = 1;
  spec.n_ff = 72, spec.n_ctx = 700, spec.tied_output = true, spec.seed = 5;
  const fs::path path = test::process_temp_dir() / "cuda-odd.gguf";
  bench::write_random_llama(path, spec);
  auto model = Model::load(path);
  std::mt19937 rng(3);
  std::uniform_int_distribution<Token> pick(3, spec.n_vocab - 1);
  std::vector<Token> prompt(530);
  for (Token& t : prompt) t = pick(rng);
  Session cpu(model, on(Device::Cpu, 700, 256));
  Session gpu(model, on(Device::Cuda, 700, 256));
  std::vector<float> cpu_logits, gpu_logits;
  ASSERT_EQ(cpu.append_all_logits(prompt, cpu_logits), AppendStatus::Ok);
  ASSERT_EQ(gpu.append_all_logits(prompt, gpu_logits), AppendStatus::Ok);
  AGENTRT_EXPECT_CLOSE(gpu_logits, cpu_logits, 1e-8);
  expect_same_greedy(greedy(cpu, 40), greedy(gpu, 40), true);
}

TEST(CudaContext, GraphReplayEqualsDirectLaunches) {
  AGENTRT_REQUIRE_CUDA();
  bench::RandomLlamaSpec spec;
  bench::set_type_by_name(spec, "q4_k_m");
  spec.n_embd = 256, spec.n_ff = 512, spec.n_head = 8, spec.n_head_kv = 4;
  const fs::path path = test::process_temp_dir() / "cuda-graph.gguf";
  bench::write_random_llama(path, spec);
  auto model = Model::load(path);
  auto graphed = make_cuda_context(model, 300, 8, CudaOptions{.use_graph = true});
  auto direct = make_cuda_context(model, 300, 8, CudaOptions{.use_graph = false});
  const size_t n_vocab = static_cast<size_t>(model->hparams().n_vocab);
  std::vector<float> a(n_vocab), b(n_vocab);
  // 200 steps: the attention crosses slice boundaries while the graph is replayed.
  for (int pos = 0; pos < 200; ++pos) {
    const Token t = static_cast<Token>(3 + (pos * 37) % 500);
    graphed->eval(std::span<const Token>(&t, 1), pos, a, false);
    direct->eval(std::span<const Token>(&t, 1), pos, b, false);
    ASSERT_EQ(std::memcmp(a.data(), b.data(), n_vocab * sizeof(float)), 0) << "step " << pos;
  }
}

TEST(CudaContext, SessionsShareWeightsButNotCaches) {
  AGENTRT_REQUIRE_CUDA();
  bench::RandomLlamaSpec spec;
  const fs::path path = test::process_temp_dir() / "cuda-share.gguf";
  bench::write_random_llama(path, spec);
  auto model = Model::load(path);
  const std::vector<Token> a = {1, 40, 41, 42}, b = {1, 300, 301};
  Session first(model, on(Device::Cuda, 64));
  Session second(model, on(Device::Cuda, 64));
  Session alone(model, on(Device::Cuda, 64));
  ASSERT_EQ(first.append(a), AppendStatus::Ok);
  ASSERT_EQ(second.append(b), AppendStatus::Ok);
  ASSERT_EQ(first.append(std::vector<Token>{50}), AppendStatus::Ok);
  ASSERT_EQ(alone.append(a), AppendStatus::Ok);
  ASSERT_EQ(alone.append(std::vector<Token>{50}), AppendStatus::Ok);
  const auto x = first.logits(), y = alone.logits();
  ASSERT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0);
}

// Where no device can be used: an explicit --device cuda is a clear error, auto runs on the CPU.
TEST(CudaFallback, WithoutDeviceAutoRunsOnCpuAndCudaIsAnError) {
  const std::string why = cuda_unavailable_reason();
  if (why.empty()) GTEST_SKIP() << "a CUDA device is present";
  bench::RandomLlamaSpec spec;
  const fs::path path = test::process_temp_dir() / "cuda-fallback.gguf";
  bench::write_random_llama(path, spec);
  auto model = Model::load(path);
  Session automatic(model, on(Device::Auto, 32));
  EXPECT_EQ(automatic.backend_name(), "cpu");
  try {
    Session explicit_cuda(model, on(Device::Cuda, 32));
    FAIL() << "Device::Cuda without a device did not throw";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace agentrt::engine
