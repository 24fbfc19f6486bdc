// Serializes a sentencepiece ModelProto by hand (protobuf wire format), holding only the fields
// that sentencepiece's encoder and decoder read; see DESIGN.md "Model files" for the field list.
#include <bit>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "agentrt/engine/tokenizer.h"

namespace agentrt::engine {
namespace {

enum WireType : uint32_t { kVarint = 0, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(std::string& out, uint32_t field, WireType wire) {
  put_varint(out, (uint64_t{field} << 3) | wire);
}

// Protobuf int32 fields carry negative values sign-extended to 64 bits (ten bytes).
void put_int32(std::string& out, uint32_t field, int32_t v) {
  put_tag(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(static_cast<int64_t>(v)));
}

void put_bool(std::string& out, uint32_t field, bool v) {
  put_tag(out, field, kVarint);
  put_varint(out, v ? 1 : 0);
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_tag(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

void put_float(std::string& out, uint32_t field, float v) {
  put_tag(out, field, kFixed32);
  uint32_t bits = std::bit_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) {  // little-endian, whatever the host
    out.push_back(static_cast<char>(bits & 0xff));
    bits >>= 8;
  }
}

}  // namespace

std::string build_sentencepiece_proto(const SentencepieceVocab& vocab) {
  const size_t n = vocab.pieces.size();
  if (vocab.scores.size() != n || vocab.types.size() != n)
    throw std::invalid_argument(
        "build_sentencepiece_proto: pieces, scores and types differ in length");

  std::string out;
  std::string message;
  for (size_t i = 0; i < n; ++i) {  // ModelProto.pieces = 1 (SentencePiece)
    message.clear();
    put_bytes(message, 1, vocab.pieces[i]);  // piece
    put_float(message, 2, vocab.scores[i]);  // score
    put_int32(message, 3, vocab.types[i]);   // type
    put_bytes(out, 1, message);
  }

  message.clear();  // ModelProto.trainer_spec = 2 (TrainerSpec)
  put_int32(message, 3, vocab.model_type);
  put_int32(message, 4, static_cast<int32_t>(n));  // vocab_size
  put_bool(message, 35, vocab.byte_fallback);
  put_int32(message, 40, vocab.unk_id);
  put_int32(message, 41, vocab.bos_id);
  put_int32(message, 42, vocab.eos_id);
  put_int32(message, 43, vocab.pad_id);
  put_bytes(out, 2, message);

  message.clear();                    // ModelProto.normalizer_spec = 3 (NormalizerSpec)
  put_bytes(message, 1, "identity");  // name
  put_bool(message, 3, vocab.add_dummy_prefix);
  put_bool(message, 4, vocab.remove_extra_whitespaces);
  put_bool(message, 5, vocab.escape_whitespaces);
  put_bytes(out, 3, message);
  return out;
}

}  // namespace agentrt::engine
