// Tokenizer: parity with the original Llama 2 sentencepiece model (through our hand-built
// ModelProto and through a GGUF vocabulary), parse_special, streaming detokenization, and
// malformed GGUF vocabularies.
#include "agentrt/engine/tokenizer.h"

#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agentrt/engine/error.h"
#include "agentrt/engine/gguf.h"
#include "test_support.h"

namespace agentrt::engine {
namespace {

namespace fs = std::filesystem;

const char* const kLlama2Model = "llama2-tokenizer/tokenizer.model";
const char* const kStories = "stories260K/stories260K.gguf";

// Text that is valid UTF-8, so decode(encode(text)) must give it back.
const std::vector<std::string>& parity_texts() {
  static const std::vector<std::string> texts = {
      // ASCII
      "Hello world",
      "Hello, world! How are you today?",
      "The quick brown fox jumps over the lazy dog.",
      "a",
      "I",
      // accented
      "café naïve résumé",
      "über Größe, Straße",
      "España: niño, señor, año",
      "Ångström, Øresund, Œuvre",
      // CJK
      "中文",
      "日本語",
      "中文测试：你好，世界。",
      "日本語のテキストです",
      "한국어 텍스트",
      // emoji (a skin-tone modifier and a ZWJ sequence need byte fallback)
      "🦙👍🏽",
      "I ❤️ llamas 🦙!",
      "👨‍👩‍👧 family",
      // tab, newline, carriage return
      "a\tb\nc\r\nd",
      "\n",
      "\n\n\n",
      "\t\tindented",
      "line one\nline two\n",
      // whitespace runs, leading and trailing spaces
      "a   b",
      "a    b     c",
      " leading",
      "   three leading",
      "trailing ",
      "trailing   ",
      " ",
      "   ",
      " a   b \n\t",
      // digits
      "1234567890",
      "3.14159 2,718 1e-10 -42",
      "2024-01-31 12:34:56",
      // code
      "int main() { return 0; }",
      "def f(x):\n    return x**2  # square\n",
      "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
      "<|im_start|>user\nHi<|im_end|>",
      "<s> </s> <unk> <0x41>",
      "{\"name\": \"calculator\", \"arguments\": {\"expression\": \"3.5^2*pi\"}}",
      // long mixed
      "Llamas (🦙) live in the Andes — Perú, Bolivia — and eat grass. 中文 and 日本語 "
      "too!\n"
      "\tTabs,  double  spaces, and numbers: 3.14, 42, 1e9.\n"
      "Ümlauts: äöü ÄÖÜ ß; accents: é è ê ë; tildes: ñ ã õ. Emoji: "
      "👍🏽🎉✨\n",
  };
  return texts;
}

std::string long_text() {
  std::string text;
  for (const auto& t : parity_texts()) text += t + " ";
  return text + text;
}

// Reads every piece of an original sentencepiece model through the C++ API. This library
// version (0.1.97) has no IsUserDefined; Llama 2 has no user-defined pieces.
SentencepieceVocab vocab_of(const sentencepiece::SentencePieceProcessor& sp) {
  SentencepieceVocab vocab;
  vocab.byte_fallback = false;
  for (int id = 0; id < sp.GetPieceSize(); ++id) {
    vocab.pieces.push_back(sp.IdToPiece(id));
    vocab.scores.push_back(sp.GetScore(id));
    int32_t type = 1;
    if (sp.IsControl(id)) type = 3;
    if (sp.IsUnknown(id)) type = 2;
    if (sp.IsUnused(id)) type = 5;
    if (sp.IsByte(id)) type = 6;
    vocab.types.push_back(type);
    vocab.byte_fallback = vocab.byte_fallback || type == 6;
  }
  vocab.model_type = 2;
  vocab.unk_id = sp.unk_id();
  vocab.bos_id = sp.bos_id();
  vocab.eos_id = sp.eos_id();
  vocab.pad_id = sp.pad_id();
  return vocab;
}

std::vector<int> original_encode(const sentencepiece::SentencePieceProcessor& sp,
                                 std::string_view text) {
  std::vector<int> ids;
  EXPECT_TRUE(sp.Encode(text, &ids).ok());
  return ids;
}

std::string original_decode(const sentencepiece::SentencePieceProcessor& sp,
                            const std::vector<int>& ids) {
  std::string text;
  EXPECT_TRUE(sp.Decode(ids, &text).ok());
  return text;
}

std::string stream(const Tokenizer& tok, const std::vector<Token>& ids) {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) text += tok.token_to_piece(ids[i], i ? ids[i - 1] : -1);
  return text;
}

class Llama2Tokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    AGENTRT_REQUIRE_SHARED(kLlama2Model);
    const auto status = original_.Load((test::shared_data() / kLlama2Model).string());
    ASSERT_TRUE(status.ok()) << status.ToString();
    vocab_ = vocab_of(original_);
  }

  // Every parity text, the long one, and the same with BOS: identical ids, exact round trip.
  void expect_parity(const Tokenizer& tok) {
    ASSERT_EQ(tok.n_vocab(), original_.GetPieceSize());
    std::vector<std::string> texts = parity_texts();
    texts.push_back(long_text());
    texts.push_back("");
    for (const auto& text : texts) {
      SCOPED_TRACE(testing::Message() << "text: \"" << text << "\"");
      const std::vector<int> expected = original_encode(original_, text);
      const std::vector<Token> ids = tok.encode(text, false);
      ASSERT_EQ(ids, expected);
      EXPECT_EQ(tok.decode(ids), text);
      EXPECT_EQ(tok.decode(ids), original_decode(original_, expected));
      EXPECT_EQ(stream(tok, ids), text);

      std::vector<Token> with_bos = tok.encode(text, true);
      ASSERT_FALSE(with_bos.empty());
      EXPECT_EQ(with_bos[0], 1);
      EXPECT_EQ(std::vector<Token>(with_bos.begin() + 1, with_bos.end()), expected);
      EXPECT_EQ(tok.decode(with_bos), text);
    }
  }

  sentencepiece::SentencePieceProcessor original_;
  SentencepieceVocab vocab_;
};

TEST_F(Llama2Tokenizer, ProtoBuiltFromPiecesEncodesLikeTheOriginal) {
  const auto tok = Tokenizer::from_serialized_proto(build_sentencepiece_proto(vocab_));
  expect_parity(*tok);
  EXPECT_EQ(tok->bos(), 1);
  EXPECT_EQ(tok->eos(), 2);
  EXPECT_EQ(tok->unk(), 0);
  EXPECT_TRUE(tok->is_control(1));
  EXPECT_TRUE(tok->is_control(2));
  EXPECT_FALSE(tok->is_control(0));
  EXPECT_FALSE(tok->is_control(29871));
  EXPECT_EQ(tok->piece(29871), "\xe2\x96\x81");
  EXPECT_EQ(tok->piece(13), "<0x0A>");
  EXPECT_EQ(tok->piece(-1), "");
  EXPECT_EQ(tok->piece(32000), "");
  EXPECT_EQ(tok->find_piece("\xe2\x96\x81the"), original_.PieceToId("\xe2\x96\x81the"));
  EXPECT_EQ(tok->find_piece("</s>"), 2);
  EXPECT_EQ(tok->find_piece("no such piece"), -1);
}

// Golden ids from the Python sentencepiece package on the original tokenizer.model.
TEST_F(Llama2Tokenizer, GoldenIds) {
  const auto tok = Tokenizer::from_serialized_proto(build_sentencepiece_proto(vocab_));
  EXPECT_EQ(tok->encode("Hello world", false), (std::vector<Token>{15043, 3186}));
  EXPECT_EQ(tok->encode("Hello world", true), (std::vector<Token>{1, 15043, 3186}));
  EXPECT_EQ(tok->encode("café 中文 🦙", false),
            (std::vector<Token>{274, 28059, 29871, 30275, 30333, 29871, 243, 162, 169, 156}));
  EXPECT_EQ(tok->encode(" a   b \n\t", false),
            (std::vector<Token>{29871, 263, 259, 289, 29871, 13, 12}));
  EXPECT_EQ(tok->encode("int main() { return 0; }", false),
            (std::vector<Token>{938, 1667, 580, 426, 736, 29871, 29900, 29936, 500}));
}

TEST_F(Llama2Tokenizer, OriginalModelFileLoadsDirectly) {
  std::string bytes;
  ASSERT_TRUE(original_.serialized_model_proto().size() > 0);
  bytes = original_.serialized_model_proto();
  const auto tok = Tokenizer::from_serialized_proto(bytes);
  expect_parity(*tok);
}

TEST_F(Llama2Tokenizer, DecodeMatchesSentencepieceOnRandomStreams) {
  const auto tok = Tokenizer::from_serialized_proto(build_sentencepiece_proto(vocab_));
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> pick(259, 31999);  // past <unk>, <s>, </s> and the bytes
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int> ids;
    if (trial % 2) ids.push_back(1);
    const int n = 1 + trial % 17;
    for (int i = 0; i < n; ++i) ids.push_back(pick(rng));
    const std::vector<Token> tokens(ids.begin(), ids.end());
    EXPECT_EQ(tok->decode(tokens), original_decode(original_, ids)) << "trial " << trial;
    EXPECT_EQ(stream(*tok, tokens), tok->decode(tokens));
  }
}

TEST_F(Llama2Tokenizer, TokenToPiece) {
  const auto tok = Tokenizer::from_serialized_proto(build_sentencepiece_proto(vocab_));
  const Token hello = 15043;  // "▁Hello"
  EXPECT_EQ(tok->token_to_piece(hello), "Hello");
  EXPECT_EQ(tok->token_to_piece(hello, 1), "Hello");
  EXPECT_EQ(tok->token_to_piece(hello, 3186), " Hello");
  EXPECT_EQ(tok->token_to_piece(13, hello), "\n");
  EXPECT_EQ(tok->token_to_piece(0x20 + 3, hello), " ");  // byte token <0x20> is a real space
  EXPECT_EQ(tok->token_to_piece(0x20 + 3), " ");
  EXPECT_EQ(tok->token_to_piece(1), "");
  EXPECT_EQ(tok->token_to_piece(2, hello), "");
  EXPECT_EQ(tok->token_to_piece(0, hello), " \xe2\x81\x87 ");  // <unk>, as sentencepiece decodes
  EXPECT_EQ(tok->token_to_piece(-5), "");
  EXPECT_EQ(tok->token_to_piece(32000), "");
  // "🦙" is four byte tokens; each piece holds one byte of the UTF-8 sequence.
  const std::vector<Token> llama = {243, 162, 169, 156};
  EXPECT_EQ(stream(*tok, llama), "🦙");
  EXPECT_EQ(tok->token_to_piece(243), "\xf0");
}

TEST_F(Llama2Tokenizer, ParseSpecialMapsControlText) {
  const auto tok = Tokenizer::from_serialized_proto(build_sentencepiece_proto(vocab_));
  // Without parse_special, "</s>" is ordinary text.
  const auto plain = tok->encode("Hi</s>", false);
  EXPECT_EQ(plain, original_encode(original_, "Hi</s>"));
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0);
  // With it, "</s>" is EOS and "<s>" BOS; text before keeps the dummy prefix.
  const auto hi = original_encode(original_, "Hi");
  std::vector<Token> expected(hi.begin(), hi.end());
  expected.push_back(2);
  EXPECT_EQ(tok->encode("Hi</s>", false, true), expected);
  EXPECT_EQ(tok->encode("<s>", false, true), (std::vector<Token>{1}));
  EXPECT_EQ(tok->encode("", true, true), (std::vector<Token>{1}));
  EXPECT_EQ(tok->encode("", false, true), (std::vector<Token>{}));
  // Without control text, parse_special changes nothing.
  for (const auto& text : parity_texts()) {
    if (text.find("<s>") != std::string::npos) continue;
    EXPECT_EQ(tok->encode(text, false, true), original_encode(original_, text)) << text;
  }
}

TEST_F(Llama2Tokenizer, ConcurrentEncodeAndDecode) {
  const auto tok = Tokenizer::from_serialized_proto(build_sentencepiece_proto(vocab_));
  const std::string text = long_text();
  const std::vector<Token> expected = tok->encode(text, true, true);
  const std::string expected_text = tok->decode(expected);  // without "<s>", "</s>"
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const auto ids = tok->encode(text, true, true);
        if (ids != expected || tok->decode(ids) != expected_text) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(mismatches.size(), 0));
}

void add_piece(SentencepieceVocab& vocab, std::string piece, float score, int32_t type) {
  vocab.pieces.push_back(std::move(piece));
  vocab.scores.push_back(score);
  vocab.types.push_back(type);
}

// A small vocabulary with ChatML control tokens: every ASCII letter, "▁", a few merges.
SentencepieceVocab chat_vocab() {
  SentencepieceVocab vocab;
  const auto add = [&](std::string piece, float score, int32_t type) {
    add_piece(vocab, std::move(piece), score, type);
  };
  add("<unk>", 0, 2);
  add("<s>", 0, 3);
  add("</s>", 0, 3);
  add("<|im_start|>", 0, 3);
  add("<|im_end|>", 0, 3);
  add("<|im", 0, 3);  // a shorter control piece sharing a prefix: the longest must win
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    add(name, 0, 6);
  }
  float score = -1;
  for (const char* merge : {"\xe2\x96\x81u", "us", "er", "\xe2\x96\x81user", "use", "user",
                            "\xe2\x96\x81us", "\xe2\x96\x81use", "\xe2\x96\x81H", "Hi"}) {
    add(merge, score, 1);
    score -= 1;
  }
  for (const char* c : {"\xe2\x96\x81", "u", "s", "e", "r", "H", "i", "a", "y", "t"}) {
    add(c, score, 1);
    score -= 1;
  }
  return vocab;
}

TEST(Tokenizer, ParseSpecialSplitsAtControlPieces) {
  const auto tok = Tokenizer::from_serialized_proto(build_sentencepiece_proto(chat_vocab()));
  const Token im_start = tok->find_piece("<|im_start|>");
  const Token im_end = tok->find_piece("<|im_end|>");
  const Token user = tok->find_piece("user");
  const Token space_user = tok->find_piece("\xe2\x96\x81user");
  const Token newline = tok->find_piece("<0x0A>");
  ASSERT_EQ(im_start, 3);
  ASSERT_EQ(im_end, 4);
  ASSERT_GE(user, 0);
  ASSERT_GE(space_user, 0);
  EXPECT_TRUE(tok->is_control(im_start));
  EXPECT_TRUE(tok->is_control(im_end));

  // Text after a special token gets no dummy prefix: "user", not "▁user".
  const std::string chat = "<|im_start|>user\nHi<|im_end|>";
  const auto ids = tok->encode(chat, true, true);
  ASSERT_GE(ids.size(), 6u);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(ids[1], im_start);
  EXPECT_EQ(ids[2], user);
  EXPECT_EQ(ids[3], newline);
  EXPECT_EQ(ids.back(), im_end);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), im_start), 1);

  // Text at the start keeps it, even before a special token.
  const auto leading = tok->encode("user<|im_end|>", false, true);
  EXPECT_EQ(leading, (std::vector<Token>{space_user, im_end}));

  // Without parse_special the control text is spelled out.
  const auto plain = tok->encode(chat, false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), im_start), 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), im_end), 0);
  EXPECT_EQ(tok->decode(plain), chat);

  // Streaming equals decode; control tokens decode to nothing.
  EXPECT_EQ(stream(*tok, ids), tok->decode(ids));
  EXPECT_EQ(tok->decode(ids), "user\nHi");
  EXPECT_EQ(tok->token_to_piece(im_end, user), "");

  // Adjacent specials, a prefix of one ("<|im" alone is a control piece too), unterminated text.
  EXPECT_EQ(tok->encode("<|im_end|><|im_start|>", false, true),
            (std::vector<Token>{im_end, im_start}));
  EXPECT_EQ(tok->encode("<|im", false, true), (std::vector<Token>{5}));
  const auto partial = tok->encode("<|im_sta", false, true);
  EXPECT_EQ(partial.front(), 5);
  EXPECT_EQ(tok->decode(partial), "_sta");
}

TEST(Tokenizer, WithoutDummyPrefix) {
  SentencepieceVocab vocab = chat_vocab();
  vocab.add_dummy_prefix = false;
  const auto tok = Tokenizer::from_serialized_proto(build_sentencepiece_proto(vocab));
  const auto ids = tok->encode("user user", false);
  EXPECT_EQ(ids.front(), tok->find_piece("user"));
  EXPECT_EQ(tok->decode(ids), "user user");
  EXPECT_EQ(tok->token_to_piece(tok->find_piece("\xe2\x96\x81user")), " user");
}

TEST(Tokenizer, RejectsBadProtos) {
  EXPECT_THROW(Tokenizer::from_serialized_proto("not a protobuf \xff\xff"), ModelError);
  SentencepieceVocab no_unknown = chat_vocab();
  no_unknown.types[0] = 1;
  EXPECT_THROW(Tokenizer::from_serialized_proto(build_sentencepiece_proto(no_unknown)), ModelError);
  SentencepieceVocab ragged = chat_vocab();
  ragged.scores.pop_back();
  EXPECT_THROW(build_sentencepiece_proto(ragged), std::invalid_argument);
}

// --- agentrt's encoder against the sentencepiece library, on random text ----------------------

// Random text from fragments that exercise the encoder's cases: spaces and runs of them, "▁"
// itself, multi-byte characters, malformed UTF-8 (a lone lead byte, a stray continuation byte,
// an overlong form, a surrogate), U+FFFD itself, control characters, and the given pieces of the
// vocabulary under test.
std::string random_text(std::mt19937& rng, const std::vector<std::string>& extra) {
  static const std::vector<std::string> fragments = {"a",
                                                     "b",
                                                     "e",
                                                     "r",
                                                     "s",
                                                     "u",
                                                     "t",
                                                     "the",
                                                     "user",
                                                     "Hi",
                                                     "H",
                                                     "i",
                                                     " ",
                                                     "  ",
                                                     "   ",
                                                     "\t",
                                                     "\n",
                                                     "\r\n",
                                                     "\xe2\x96\x81",
                                                     "\xc3\xa9",
                                                     "\xe4\xb8\xad",
                                                     "\xf0\x9f\xa6\x99",
                                                     "\xff",
                                                     "\xc3",
                                                     "\x80",
                                                     "\xc0\xaf",
                                                     "\xed\xa0\x80",
                                                     "\xef\xbf\xbd",
                                                     "0",
                                                     "42",
                                                     ".",
                                                     "<0x41>",
                                                     "<s>",
                                                     "<|im_end|>",
                                                     std::string(1, '\0')};
  std::uniform_int_distribution<size_t> count(0, 24);
  std::uniform_int_distribution<size_t> pick(0, fragments.size() + extra.size() - 1);
  std::string text;
  for (size_t n = count(rng); n > 0; --n) {
    const size_t i = pick(rng);
    text += i < fragments.size() ? fragments[i] : extra[i - fragments.size()];
  }
  return text;
}

void expect_same_ids_on_random_text(const sentencepiece::SentencePieceProcessor& reference,
                                    const Tokenizer& tok, const std::vector<std::string>& extra,
                                    int trials) {
  std::mt19937 rng(20261129);
  for (int trial = 0; trial < trials; ++trial) {
    const std::string text = random_text(rng, extra);
    ASSERT_EQ(tok.encode(text, false), original_encode(reference, text))
        << "trial " << trial << ", text \"" << text << "\"";
  }
}

TEST_F(Llama2Tokenizer, RandomTextEncodesLikeTheOriginal) {
  const auto tok = Tokenizer::from_serialized_proto(build_sentencepiece_proto(vocab_));
  expect_same_ids_on_random_text(original_, *tok, {"\xe2\x96\x81the", "ing", "tion"}, 3000);
}

// A vocabulary with what Llama 2's lacks: user-defined pieces (kept whole, never merged), an
// UNUSED piece (split back into what it was merged from), no byte pieces (unknown text becomes
// one <unk> per run), and sentencepiece's removal of extra whitespace.
SentencepieceVocab exotic_vocab(bool remove_extra_whitespaces) {
  SentencepieceVocab vocab;
  vocab.byte_fallback = false;
  vocab.remove_extra_whitespaces = remove_extra_whitespaces;
  const auto add = [&](std::string piece, float score, int32_t type) {
    add_piece(vocab, std::move(piece), score, type);
  };
  add("<unk>", 0, 2);
  add("<s>", 0, 3);
  add("</s>", 0, 3);
  add("<tag>", 0, 4);            // user-defined
  add("us", 0, 4);               // user-defined, also a merge result
  add("\xe2\x96\x81the", 0, 4);  // user-defined starting with "▁"
  add("\xe2\x96\x81u", -1, 5);   // unused: merged, then split back
  float score = -2;
  for (const char* merge : {"er", "\xe2\x96\x81use", "use", "user", "th", "he", "the", "ab",
                            "\xe2\x96\x81\xe2\x96\x81", "\xe4\xb8\xad\xe6\x96\x87"}) {
    add(merge, score, 1);
    score -= 1;
  }
  for (const char* c : {"\xe2\x96\x81", "u", "s", "e", "r", "t", "h", "a", "b", "<", ">", "g",
                        "\xe4\xb8\xad", "\xe6\x96\x87", "\xef\xbf\xbd"}) {
    add(c, score, 1);
    score -= 1;
  }
  return vocab;
}

TEST(Tokenizer, RandomTextEncodesLikeSentencepieceOnUserDefinedAndUnusedPieces) {
  for (const bool remove_extra : {false, true}) {
    SCOPED_TRACE(remove_extra ? "remove_extra_whitespaces" : "spaces kept");
    const std::string proto = build_sentencepiece_proto(exotic_vocab(remove_extra));
    sentencepiece::SentencePieceProcessor reference;
    ASSERT_TRUE(reference.LoadFromSerializedProto(proto).ok());
    const auto tok = Tokenizer::from_serialized_proto(proto);
    expect_same_ids_on_random_text(reference, *tok,
                                   {"<tag>", "<ta", "the", "\xe4\xb8\xad\xe6\x96\x87"}, 3000);
    // The cases spelled out: a user-defined piece stays whole, an unused one is split.
    EXPECT_EQ(tok->encode("user", false), original_encode(reference, "user"));
    EXPECT_EQ(tok->encode("<tag>the us", false), original_encode(reference, "<tag>the us"));
  }
}

// --- GGUF vocabularies -------------------------------------------------------------------------

// A GGUF holding `vocab` the way llama.cpp's converters write it.
GgufWriter vocab_gguf(const SentencepieceVocab& vocab) {
  std::vector<GgufValue> tokens, scores, types;
  for (size_t i = 0; i < vocab.pieces.size(); ++i) {
    tokens.push_back(GgufValue::make_string(vocab.pieces[i]));
    scores.push_back(GgufValue::make_f32(vocab.scores[i]));
    types.push_back(GgufValue::make_i32(vocab.types[i]));
  }
  GgufWriter writer;
  writer.set("general.architecture", GgufValue::make_string("llama"));
  writer.set("tokenizer.ggml.model", GgufValue::make_string("llama"));
  writer.set("tokenizer.ggml.tokens", GgufValue::make_array(GgufValueType::STRING, tokens));
  writer.set("tokenizer.ggml.scores", GgufValue::make_array(GgufValueType::FLOAT32, scores));
  writer.set("tokenizer.ggml.token_type", GgufValue::make_array(GgufValueType::INT32, types));
  writer.set("tokenizer.ggml.unknown_token_id", GgufValue::make_u32(vocab.unk_id));
  writer.set("tokenizer.ggml.bos_token_id", GgufValue::make_u32(vocab.bos_id));
  writer.set("tokenizer.ggml.eos_token_id", GgufValue::make_u32(vocab.eos_id));
  writer.set("tokenizer.ggml.padding_token_id", GgufValue::make_u32(0xFFFFFFFFu));
  return writer;
}

// Writes `writer` to a file named after the running test; removes it when done.
class TempGguf {
 public:
  explicit TempGguf(const GgufWriter& writer, std::string_view tag = "") {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::path(testing::TempDir()) / (std::string(info->test_suite_name()) + "." +
                                            info->name() + std::string(tag) + ".gguf");
    writer.write(path_);
  }
  ~TempGguf() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::unique_ptr<Tokenizer> load_gguf(const fs::path& path) {
  return Tokenizer::from_gguf(*GgufFile::open(path));
}

TEST_F(Llama2Tokenizer, GgufVocabularyEncodesLikeTheOriginal) {
  const TempGguf file(vocab_gguf(vocab_));
  const auto tok = load_gguf(file.path());
  expect_parity(*tok);
  EXPECT_EQ(tok->bos(), 1);
  EXPECT_EQ(tok->eos(), 2);
  EXPECT_EQ(tok->unk(), 0);
  EXPECT_TRUE(tok->is_control(2));
}

// Only tokens (no scores, no types): types are inferred, and byte fallback still works.
TEST(TokenizerGguf, TokensOnly) {
  SentencepieceVocab vocab = chat_vocab();
  GgufWriter writer;
  std::vector<GgufValue> tokens;
  for (const auto& piece : vocab.pieces) tokens.push_back(GgufValue::make_string(piece));
  writer.set("tokenizer.ggml.model", GgufValue::make_string("llama"));
  writer.set("tokenizer.ggml.tokens", GgufValue::make_array(GgufValueType::STRING, tokens));
  const TempGguf file(writer);
  const auto tok = load_gguf(file.path());
  EXPECT_EQ(tok->n_vocab(), static_cast<int>(vocab.pieces.size()));
  EXPECT_EQ(tok->bos(), 1);
  EXPECT_EQ(tok->eos(), 2);
  EXPECT_TRUE(tok->is_control(1));
  EXPECT_FALSE(tok->is_control(3));  // no types: <|im_start|> is ordinary text
  const std::string text = "user ü\n";
  EXPECT_EQ(tok->decode(tok->encode(text, true)), text);
}

TEST(TokenizerGguf, AddSpacePrefixFalse) {
  GgufWriter writer = vocab_gguf(chat_vocab());
  writer.set("tokenizer.ggml.add_space_prefix", GgufValue::make_bool(false));
  const TempGguf file(writer);
  const auto tok = load_gguf(file.path());
  EXPECT_EQ(tok->encode("user", false), (std::vector<Token>{tok->find_piece("user")}));
  EXPECT_EQ(tok->decode(tok->encode(" user", false)), " user");
}

TEST(TokenizerGguf, ChatVocabularyParsesSpecials) {
  const TempGguf file(vocab_gguf(chat_vocab()));
  const auto tok = load_gguf(file.path());
  const auto ids = tok->encode("<|im_start|>user\nHi<|im_end|>", false, true);
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_EQ(ids[0], 3);
  EXPECT_EQ(ids[1], tok->find_piece("user"));
  EXPECT_EQ(ids[4], 4);
}

// Ids from the Python sentencepiece package, given a ModelProto built (by a separate Python
// encoder) from the `gguf` package's reading of the same file.
TEST(TokenizerGguf, Stories260K) {
  AGENTRT_REQUIRE_SHARED(kStories);
  const auto tok = load_gguf(test::shared_data() / kStories);
  EXPECT_EQ(tok->n_vocab(), 512);
  EXPECT_EQ(tok->bos(), 1);
  EXPECT_EQ(tok->eos(), 2);
  EXPECT_EQ(tok->unk(), 0);
  EXPECT_TRUE(tok->is_control(1));
  EXPECT_EQ(tok->piece(3), "<0x00>");
  const struct {
    std::string text;
    std::vector<Token> ids;
  } cases[] = {
      {"Once upon a time, there was a little girl.",
       {482, 82,  508, 499, 496, 482, 120, 488, 114, 508, 267, 482, 119,
        108, 112, 496, 47,  482, 119, 500, 496, 502, 496, 269, 501, 118,
        267, 482, 111, 108, 119, 119, 111, 496, 263, 108, 502, 111, 49}},
      {"Hello world", {482, 75, 496, 111, 111, 114, 269, 114, 502, 111, 497}},
      {"caf\xc3\xa9 \xf0\x9f\xa6\x99\n", {265, 501, 494, 198, 172, 482, 243, 162, 169, 156, 13}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const auto ids = tok->encode(c.text, false);
    EXPECT_EQ(ids, c.ids);
    EXPECT_EQ(tok->decode(ids), c.text);
    EXPECT_EQ(stream(*tok, ids), c.text);
    const auto with_bos = tok->encode(c.text, true);
    EXPECT_EQ(with_bos.front(), 1);
    EXPECT_EQ(tok->decode(with_bos), c.text);
  }
}

TEST(TokenizerGguf, MalformedVocabulariesAreModelErrors) {
  const SentencepieceVocab good = chat_vocab();
  const size_t n = good.pieces.size();
  const auto strings = [](size_t count) {
    std::vector<GgufValue> items;
    for (size_t i = 0; i < count; ++i) items.push_back(GgufValue::make_string(std::to_string(i)));
    return GgufValue::make_array(GgufValueType::STRING, items);
  };
  const auto floats = [](size_t count) {
    return GgufValue::make_array(GgufValueType::FLOAT32,
                                 std::vector<GgufValue>(count, GgufValue::make_f32(0)));
  };
  const auto ints = [](size_t count, int32_t v) {
    return GgufValue::make_array(GgufValueType::INT32,
                                 std::vector<GgufValue>(count, GgufValue::make_i32(v)));
  };
  SentencepieceVocab duplicate = good;
  duplicate.pieces[10] = duplicate.pieces[11];

  // The good vocabulary with one key replaced, or a file with nothing but that key.
  const auto with = [&](const char* key, GgufValue value) {
    GgufWriter writer = vocab_gguf(good);
    writer.set(key, std::move(value));
    return writer;
  };
  const auto only = [](const char* key, GgufValue value) {
    GgufWriter writer;
    writer.set(key, std::move(value));
    return writer;
  };

  const struct {
    const char* name;
    GgufWriter writer;
    const char* expected;  // a part of what()
  } cases[] = {
      {"wrong model name", with("tokenizer.ggml.model", GgufValue::make_string("gpt2")), "'gpt2'"},
      {"no model name", only("tokenizer.ggml.tokens", strings(n)), "tokenizer.ggml.model"},
      {"no tokens", only("tokenizer.ggml.model", GgufValue::make_string("llama")),
       "tokenizer.ggml.tokens"},
      {"empty tokens", with("tokenizer.ggml.tokens", strings(0)), "tokenizer.ggml.tokens is empty"},
      {"tokens not strings", with("tokenizer.ggml.tokens", ints(n, 1)), "tokenizer.ggml.tokens"},
      {"scores shorter", with("tokenizer.ggml.scores", floats(n - 1)), "tokenizer.ggml.scores has"},
      {"scores not floats", with("tokenizer.ggml.scores", strings(n)),
       "tokenizer.ggml.scores holds"},
      {"types longer", with("tokenizer.ggml.token_type", ints(n + 1, 1)),
       "tokenizer.ggml.token_type has"},
      {"type out of range", with("tokenizer.ggml.token_type", ints(n, 9)),
       "tokenizer.ggml.token_type[0] is 9"},
      {"no unknown piece", with("tokenizer.ggml.token_type", ints(n, 1)), "no UNKNOWN piece"},
      {"duplicate piece", vocab_gguf(duplicate), "defined twice"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const TempGguf file(c.writer, std::string(".") + std::to_string(&c - cases));
    const auto gguf = GgufFile::open(file.path());
    try {
      Tokenizer::from_gguf(*gguf);
      ADD_FAILURE() << "no ModelError";
    } catch (const ModelError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(file.path().string()), std::string::npos) << what;
      EXPECT_NE(what.find(c.expected), std::string::npos) << what;
    }
  }
}

}  // namespace
}  // namespace agentrt::engine
