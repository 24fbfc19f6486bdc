// Tokenizer: sentencepiece BPE vocabularies, read from a GGUF's tokenizer.ggml.* arrays (or a
// serialized sentencepiece ModelProto), encoded exactly as the sentencepiece library encodes them
// (see tokenizer.cpp) without linking it.
//
// Thread-safety: all methods are const and safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::engine {

class GgufFile;
using Token = int32_t;

class Tokenizer {
 public:
  // Reads the vocabulary from `file` (tokenizer.ggml.model must be "llama"). Throws ModelError
  // naming the file when the vocabulary is missing or inconsistent (no UNKNOWN piece, a piece
  // defined twice, an empty piece: what sentencepiece refuses too).
  static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& file);
  // Loads a serialized sentencepiece ModelProto (a tokenizer.model file; tests, tools): a BPE
  // model with the identity normalization. Throws ModelError.
  static std::unique_ptr<Tokenizer> from_serialized_proto(std::string_view proto);
  ~Tokenizer();

  // Text to ids. With add_bos, BOS comes first. With parse_special, the text of control tokens
  // (e.g. "<|im_start|>", "</s>"; longest match first) maps to those tokens instead of being
  // spelled out, and only text at the very start gets the dummy-prefix space (as in llama.cpp);
  // without it, such text is tokenized as ordinary characters (safe for untrusted input).
  // User-defined pieces are matched in any text, with or without parse_special, as sentencepiece
  // itself (and llama.cpp) does; those that hold plain spaces (Gemma's "  ", "   ", ...), which
  // sentencepiece cannot see, are cut out of the raw text first, as llama.cpp does.
  std::vector<Token> encode(std::string_view text, bool add_bos, bool parse_special = false) const;

  // The bytes `token` contributes to the text when it follows `previous` in a stream
  // (previous < 0 means it is the first token after BOS or the start): "▁" becomes a space, byte
  // tokens <0xNN> become that byte, control tokens (BOS, EOS) give "" unless they were user text
  // in the vocabulary, and the space added by add_dummy_prefix is dropped at the start (previous
  // < 0 or BOS). The unknown token gives " \u2047 " (U+2047 between spaces), as sentencepiece's
  // Decode does. Ids outside [0, n_vocab) give "".
  // Concatenating the pieces of a stream gives decode() of it; a piece may hold part of a UTF-8
  // sequence. decode() equals sentencepiece's Decode for valid UTF-8 text, optionally after BOS.
  std::string token_to_piece(Token token, Token previous = -1) const;
  std::string decode(std::span<const Token> tokens) const;

  int n_vocab() const;
  Token bos() const;
  Token eos() const;
  Token unk() const;
  bool is_control(Token token) const;  // CONTROL type (BOS, EOS, <|im_end|>, ...)
  // Tokens that end a model's turn: EOS, and the control tokens that chat formats end a turn
  // with (<end_of_turn>, <|im_end|>, <|eot_id|>, <|end|>), as llama.cpp's end-of-generation set.
  // Control tokens decode to "", so a stop string could never see them.
  bool is_end_of_generation(Token token) const;
  std::string_view piece(Token token) const;  // the raw vocabulary entry, e.g. "▁the", "<0x0A>"
  // Token of a raw vocabulary entry, or -1.
  Token find_piece(std::string_view piece) const;

 private:
  Tokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Encodes a sentencepiece ModelProto holding only the fields DESIGN.md lists, which both
// Tokenizer::from_serialized_proto and the sentencepiece library load. Exposed for tests.
// Throws std::invalid_argument when pieces, scores and types differ in length.
struct SentencepieceVocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int32_t> types;  // 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE
  int model_type = 2;          // 2 BPE, 1 UNIGRAM
  bool byte_fallback = true;
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = false;
  bool escape_whitespaces = true;
};
std::string build_sentencepiece_proto(const SentencepieceVocab& vocab);

}  // namespace agentrt::engine
