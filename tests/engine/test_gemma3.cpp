// Gemma 3: the forward pass against the float64 reference on random-weight gemma3 files (always
// runs), and the real Gemma 3 270M (Q4_K_M) against token ids and greedy tokens recorded from
// llama.cpp by scripts/record_gemma3_reference.py, on the Q4_K_M file and on its weights
// dequantized to F32 (runs when scripts/fetch_gemma3.py can find or install the model; skipped,
// saying why, otherwise).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agentrt/engine/gguf.h"
#include "agentrt/engine/model.h"
#include "agentrt/engine/session.h"
#include "model_parity.h"
#include "random_model.h"
#include "test_support.h"

namespace agentrt::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- random-weight gemma3 files against the float64 reference ----------------------------------

struct RandomGemmaCase {
  std::string name;
  std::string type;
  int n_embd, n_head, n_head_kv, head_dim, n_ff, n_layer;
  int n_swa, swa_period;  // swa_period 0: the metadata leaves it to the default (6)
  bool tied;
  float softcap = 0.0f;
};

void PrintTo(const RandomGemmaCase& c, std::ostream* os) {
  *os << c.name;
}

fs::path write_gemma(const RandomGemmaCase& c) {
  bench::RandomLlamaSpec spec;
  bench::set_type_by_name(spec, c.type);
  spec.gemma3 = true;
  spec.n_embd = c.n_embd, spec.n_head = c.n_head, spec.n_head_kv = c.n_head_kv;
  spec.head_dim = c.head_dim, spec.n_ff = c.n_ff, spec.n_layer = c.n_layer;
  spec.n_swa = c.n_swa, spec.swa_period = c.swa_period, spec.tied_output = c.tied;
  spec.final_logit_softcap = c.softcap;
  spec.n_vocab = 300;
  spec.rope_freq_base = 1000000.0f;
  spec.seed = std::hash<std::string>{}(c.name);
  const fs::path path = test::process_temp_dir() / (c.name + ".gguf");
  bench::write_random_llama(path, spec);
  return path;
}

class RandomGemma3Parity : public ::testing::TestWithParam<RandomGemmaCase> {};

TEST_P(RandomGemma3Parity, LogitsMatchFloat64Reference) {
  const RandomGemmaCase& c = GetParam();
  const fs::path path = write_gemma(c);
  EXPECT_EQ(Model::load(path)->weights().tied_output, c.tied);
  // 11 tokens: longer than every window below, so sliding layers drop early positions.
  test::expect_sessions_match_reference(path, {1, 200, 17, 259, 298, 5, 280, 99, 150, 7, 260},
                                        c.name);
}

INSTANTIATE_TEST_SUITE_P(
    Gemma3, RandomGemma3Parity,
    ::testing::Values(
        // head_dim 32 with n_embd 64 and 4 heads: queries are wider than the residual stream.
        RandomGemmaCase{"f32_wide_heads_window", "f32", 64, 4, 1, 32, 96, 3, 4, 3, true},
        RandomGemmaCase{"q5_0_gqa_window", "q5_0", 64, 4, 2, 32, 128, 3, 3, 2, false},
        RandomGemmaCase{"q8_0_default_pattern", "q8_0", 64, 2, 1, 32, 96, 7, 5, 0, true},
        RandomGemmaCase{"q4_k_m_softcap", "q4_k_m", 256, 4, 2, 64, 256, 2, 4, 2, false, 30.0f},
        RandomGemmaCase{"f16_no_window", "f16", 64, 4, 4, 16, 96, 2, 0, 0, true}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(Gemma3Load, HyperparametersFollowLlamaCpp) {
  const fs::path path =
      write_gemma(RandomGemmaCase{"hparams", "f32", 64, 4, 1, 32, 96, 7, 5, 0, true});
  auto model = Model::load(path);
  const ModelHParams& hp = model->hparams();
  EXPECT_EQ(hp.arch, "gemma3");
  EXPECT_EQ(hp.head_dim, 32);
  EXPECT_EQ(hp.rope_layout, RopeLayout::halves);
  EXPECT_EQ(hp.ffn_activation, FfnActivation::gelu_tanh);
  EXPECT_FLOAT_EQ(hp.embd_scale, 8.0f);
  EXPECT_FLOAT_EQ(hp.attn_scale, 1.0f / std::sqrt(32.0f));
  EXPECT_FLOAT_EQ(hp.rms_eps, 1e-6f);
  EXPECT_EQ(hp.n_swa, 5);
  // Without attention.sliding_window_pattern: period 6, the sixth layer is global.
  const std::vector<bool> swa = {true, true, true, true, true, false, true};
  EXPECT_EQ(hp.swa_layers, swa);
  EXPECT_FLOAT_EQ(hp.rope_freq_base, 1e6f);
  EXPECT_FLOAT_EQ(hp.rope_freq_base_swa, 10000.0f);
  EXPECT_EQ(model->weights().layers[0].attn_q_norm.size(), 32u);
  EXPECT_EQ(model->weights().layers[0].ffn_post_norm.size(), 64u);
}

// ---- the real model against llama.cpp --------------------------------------------------------

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The path of Gemma 3 270M, or "" with `why` set: $AGENTRT_GEMMA3_GGUF, else what
// scripts/fetch_gemma3.py finds or installs (it exits 77 when it cannot).
std::string find_gemma3(std::string& why) {
  if (const char* env = std::getenv("AGENTRT_GEMMA3_GGUF"); env && *env) {
    if (fs::exists(env)) return env;
    why = std::string("AGENTRT_GEMMA3_GGUF names ") + env + ", which does not exist";
    return {};
  }
  const fs::path out = test::process_temp_dir() / "fetch.out";
  const fs::path err = test::process_temp_dir() / "fetch.err";
  const std::string command = std::string(AGENTRT_PYTHON) + " '" + AGENTRT_SOURCE_DIR +
                              "/scripts/fetch_gemma3.py' >'" + out.string() + "' 2>'" +
                              err.string() + "'";
  const int status = std::system(command.c_str());
  std::string path = read_text(out);
  while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
  if (status == 0 && !path.empty() && fs::exists(path)) return path;
  why = "Gemma 3 270M is not available (scripts/fetch_gemma3.py exit " +
        std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "): " + read_text(err);
  return {};
}

class Gemma3Real : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    path_ = find_gemma3(why_);
    if (!path_.empty()) model_ = Model::load(path_);
  }
  static void TearDownTestSuite() { model_.reset(); }
  void SetUp() override {
    if (!model_) GTEST_SKIP() << why_;
  }
  static json reference(const std::string& name) {
    return json::parse(read_text(test::test_data() / "gemma3" / name));
  }
  static inline std::string path_, why_;
  static inline std::shared_ptr<const Model> model_;
};

TEST_F(Gemma3Real, HyperparametersOfThe270MModel) {
  const ModelHParams& hp = model_->hparams();
  EXPECT_EQ(hp.arch, "gemma3");
  EXPECT_EQ(hp.n_vocab, 262144);
  EXPECT_EQ(hp.n_embd, 640);
  EXPECT_EQ(hp.n_layer, 18);
  EXPECT_EQ(hp.n_head, 4);
  EXPECT_EQ(hp.n_head_kv, 1);
  EXPECT_EQ(hp.head_dim, 256);
  EXPECT_EQ(hp.n_swa, 512);
  for (int il = 0; il < hp.n_layer; ++il) EXPECT_EQ(hp.is_swa(il), il % 6 != 5) << il;
  EXPECT_TRUE(model_->weights().tied_output);
  EXPECT_EQ(model_->tokenizer().bos(), 2);
  EXPECT_EQ(model_->tokenizer().eos(), 1);
  EXPECT_EQ(model_->tokenizer().find_piece("<start_of_turn>"), 105);
  EXPECT_EQ(model_->tokenizer().find_piece("<end_of_turn>"), 106);
}

TEST_F(Gemma3Real, TokenIdsMatchLlamaCpp) {
  const json ref = reference("tokenize.json");
  const Tokenizer& tok = model_->tokenizer();
  ASSERT_GE(ref.at("cases").size(), 5u);
  for (const json& c : ref.at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    EXPECT_EQ(tok.encode(text, true, false), c.at("ids").get<std::vector<Token>>()) << text;
    EXPECT_EQ(tok.encode(text, true, true), c.at("ids_parse_special").get<std::vector<Token>>())
        << text;
    // Decoding gives the text back (the vocabulary has every byte, so nothing is lost).
    const std::vector<Token> ids = tok.encode(text, false, false);
    EXPECT_EQ(tok.decode(ids), text);
  }
}

// Greedy tokens from `prompt` (encoded as the reference says) on `model`; the number of leading
// tokens identical to the reference's (printed).
size_t greedy_same(const std::shared_ptr<const Model>& model, const json& c,
                   std::vector<Token>& ours, std::vector<Token>& expected) {
  const std::string prompt = c.at("prompt").get<std::string>();
  const std::vector<Token> prompt_tokens =
      model->tokenizer().encode(prompt, true, c.at("parse_special").get<bool>());
  EXPECT_EQ(prompt_tokens, c.at("prompt_tokens").get<std::vector<Token>>()) << prompt;
  expected = c.at("greedy_tokens").get<std::vector<Token>>();
  EXPECT_GE(expected.size(), 32u);

  Session session(model, SessionOptions{.n_ctx = 512, .n_threads = 2});
  EXPECT_EQ(session.append(prompt_tokens), AppendStatus::Ok);
  Sampler greedy(SamplerParams{});
  GenerateOptions options;
  options.max_tokens = static_cast<int>(expected.size());
  options.stop_at_eos = false;
  ours = session.generate(options, greedy).tokens;
  size_t same = 0;
  while (same < expected.size() && same < ours.size() && ours[same] == expected[same]) ++same;
  std::printf("%-40s %zu of %zu greedy tokens identical to llama.cpp\n",
              json(prompt.substr(0, 36)).dump().c_str(), same, expected.size());
  return same;
}

// On the same weights in F32, llama.cpp rounds no activation to 8 bits, and its logits agree
// with agentrt's to 0.001-0.013 RMS (the logits' RMS is 5-11): every greedy token must be
// identical. The file is written here from the Q4_K_M one with dequantize_row, as the recording
// script wrote its own with the gguf package.
TEST_F(Gemma3Real, GreedyTokensOnDequantizedWeightsMatchLlamaCpp) {
  const fs::path f32_path = test::process_temp_dir() / "gemma3-270m-f32.gguf";
  {
    const auto file = GgufFile::open(path_);
    GgufWriter writer(file->alignment());
    for (const auto& [key, value] : file->metadata()) writer.set(key, value);
    writer.set("general.file_type", GgufValue::make_u32(0));  // all F32
    std::vector<float> values;
    for (const GgufTensorInfo& t : file->tensors()) {
      values.resize(static_cast<size_t>(t.n_elements()));
      const size_t row_bytes = row_size(t.type, t.ne[0]);
      for (int64_t r = 0; r < t.n_rows(); ++r)
        dequantize_row(t.type, static_cast<const uint8_t*>(t.data) + r * row_bytes,
                       &values[static_cast<size_t>(r * t.ne[0])], t.ne[0]);
      writer.add_tensor(t.name, t.ne, TensorType::F32,
                        std::span(reinterpret_cast<const uint8_t*>(values.data()),
                                  values.size() * sizeof(float)));
    }
    writer.write(f32_path);
  }
  const std::shared_ptr<const Model> model = Model::load(f32_path);
  const json ref = reference("greedy_f32.json");
  ASSERT_EQ(ref.at("cases").size(), 5u);
  for (const json& c : ref.at("cases")) {
    std::vector<Token> ours, expected;
    const size_t same = greedy_same(model, c, ours, expected);
    EXPECT_EQ(ours, expected) << "prompt " << c.at("prompt").dump()
                              << ": first difference at token " << same;
  }
  fs::remove(f32_path);
}

// On the Q4_K_M file both engines round activations to 8 bits before the integer dot products,
// and 8-bit rounding turns any small difference (another order of float sums, llama.cpp's float16
// GELU) into a larger one: a few roundings flip, and the flips grow through the 18 layers. The
// two engines' logits end 0.13-0.95 RMS apart (the logits' own RMS is 5-11), where the same
// weights in F32 give 0.001-0.013. llama.cpp is no closer to itself: evaluating the next 12
// tokens in the prompt's batch instead of one at a time moves its logits there 0.1-0.5 RMS, and
// fed the prompt one token at a time, its greedy continuations of the first five prompts keep
// only 11, 23, 15, 40 and 8 of their 40 tokens (scripts/record_gemma3_reference.py records that
// decoding, and one that evaluates the whole sequence again at each step, for each prompt).
//
// So exact agreement on the quantized file is a matter of chance at each near-tie, for either
// engine. Two checks. Free-running, at least five of the nineteen prompts (chosen before either
// engine ran them) must give llama.cpp's continuation for 32 tokens or more: at recording,
// agentrt's did on 6 and llama.cpp's own n_batch 1 decoding on 8 (the counts move with any
// change to the order of float sums; a real bug in the forward pass drops them all). And each
// position on its own, teacher-forced: agentrt reads llama.cpp's greedy tokens and must pick the
// same next token at every position where llama.cpp's best leads its second by kNearTie or more.
TEST_F(Gemma3Real, GreedyContinuationsMatchLlamaCppOnAtLeastFivePrompts) {
  const json ref = reference("greedy.json");
  int identical = 0;
  for (const json& c : ref.at("cases")) {
    std::vector<Token> ours, expected;
    const size_t same = greedy_same(model_, c, ours, expected);
    std::printf("    (llama.cpp's other two decodings agree with it on %zu)\n",
                c.at("llama_cpp_stable").get<size_t>());
    identical += same >= 32;
  }
  std::printf("%d of %zu continuations identical to llama.cpp's for 32 tokens or more\n", identical,
              ref.at("cases").size());
  EXPECT_GE(identical, 5);
}

constexpr double kNearTie = 1.0;

TEST_F(Gemma3Real, TeacherForcedGreedyMatchesLlamaCppExceptNearTies) {
  const json ref = reference("greedy.json");
  ASSERT_GE(ref.at("cases").size(), 5u);
  int agree = 0, total = 0;
  for (const json& c : ref.at("cases")) {
    const std::string prompt = c.at("prompt").get<std::string>();
    const std::vector<Token> prompt_tokens =
        model_->tokenizer().encode(prompt, true, c.at("parse_special").get<bool>());
    ASSERT_EQ(prompt_tokens, c.at("prompt_tokens").get<std::vector<Token>>()) << prompt;
    const auto expected = c.at("greedy_tokens").get<std::vector<Token>>();
    const auto margins = c.at("margins").get<std::vector<double>>();
    ASSERT_GE(expected.size(), 32u);
    ASSERT_EQ(margins.size(), expected.size());

    Session session(model_, SessionOptions{.n_ctx = 512, .n_threads = 2});
    ASSERT_EQ(session.append(prompt_tokens), AppendStatus::Ok);
    int same = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::span<const float> logits = session.logits();
      const auto ours = static_cast<Token>(std::ranges::max_element(logits) - logits.begin());
      if (ours == expected[i]) {
        ++same;
      } else {
        EXPECT_LT(margins[i], kNearTie)
            << "prompt " << json(prompt).dump() << ", position " << i << ": agentrt's best is "
            << ours << ", llama.cpp's " << expected[i] << " with a lead of " << margins[i];
      }
      ASSERT_EQ(session.append(std::span(&expected[i], 1)), AppendStatus::Ok);
    }
    std::printf("%-40s %d of %zu positions pick llama.cpp's greedy token\n",
                json(prompt.substr(0, 36)).dump().c_str(), same, expected.size());
    agree += same;
    total += static_cast<int>(expected.size());
  }
  // Near-ties are rare: most positions agree.
  EXPECT_GE(agree, total * 9 / 10);
}

}  // namespace
}  // namespace agentrt::engine
