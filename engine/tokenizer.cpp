// Tokenizer over sentencepiece::SentencePieceProcessor. The processor does the encoding; this
// file adds what llama.cpp-style inference needs around it: a ModelProto built from GGUF
// metadata, control-token text in prompts (parse_special), and streaming detokenization.
#include "agentrt/engine/tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrt/engine/error.h"
#include "agentrt/engine/gguf.h"

namespace agentrt::engine {
namespace {

// sentencepiece's ModelProto.SentencePiece.Type values (also llama.cpp's token types).
enum PieceType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

constexpr std::string_view kSpaceSymbol = "\xe2\x96\x81";  // U+2581, sentencepiece's "▁"
// sentencepiece's default TrainerSpec.unk_surface, what its Decode() writes for <unk>: " ⁇ ".
constexpr std::string_view kUnknownSurface = " \xe2\x81\x87 ";

// NormalizerSpec{add_dummy_prefix: false} as ModelProto field 3. Appended to a serialized
// ModelProto it overrides that one flag: protobuf parsers merge repeated embedded messages.
constexpr std::string_view kNoDummyPrefixSuffix{"\x1a\x02\x18\x00", 4};

// A protobuf wire-format reader, just enough to read back what SentencePieceProcessor does not
// expose (piece types, the trainer's special ids, normalizer flags).
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }

  // Returns {field number, wire type}.
  std::pair<uint32_t, uint32_t> tag() {
    const uint64_t key = varint();
    return {static_cast<uint32_t>(key >> 3), static_cast<uint32_t>(key & 7)};
  }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) malformed();
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      value |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return value;
    }
    malformed();
  }

  std::string_view bytes() {
    const uint64_t size = varint();
    if (size > data_.size() - pos_) malformed();
    const std::string_view out = data_.substr(pos_, size);
    pos_ += size;
    return out;
  }

  void skip(uint32_t wire) {
    switch (wire) {
      case 0:
        varint();
        return;
      case 1:
        advance(8);
        return;
      case 2:
        bytes();
        return;
      case 5:
        advance(4);
        return;
      default:
        malformed();  // groups (3, 4) are not used by sentencepiece
    }
  }

 private:
  void advance(size_t n) {
    if (n > data_.size() - pos_) malformed();
    pos_ += n;
  }
  [[noreturn]] static void malformed() { throw ModelError("malformed sentencepiece ModelProto"); }

  std::string_view data_;
  size_t pos_ = 0;
};

struct ProtoFacts {
  std::vector<int32_t> types;
  int64_t unk_id = 0, bos_id = 1, eos_id = 2;  // TrainerSpec defaults
  bool add_dummy_prefix = true;                // NormalizerSpec defaults
  bool remove_extra_whitespaces = true;
};

ProtoFacts read_proto_facts(std::string_view proto) {
  constexpr uint32_t kVarint = 0, kLengthDelimited = 2;
  ProtoFacts facts;
  WireReader model(proto);
  while (!model.done()) {
    const auto [field, wire] = model.tag();
    if (wire != kLengthDelimited || field < 1 || field > 3) {
      model.skip(wire);
      continue;
    }
    WireReader message(model.bytes());
    int32_t type = kNormal;
    while (!message.done()) {
      const auto [f, w] = message.tag();
      if (w != kVarint) {
        message.skip(w);
        continue;
      }
      const auto value = static_cast<int64_t>(message.varint());
      if (field == 1 && f == 3) type = static_cast<int32_t>(value);
      if (field == 2 && f == 40) facts.unk_id = static_cast<int32_t>(value);
      if (field == 2 && f == 41) facts.bos_id = static_cast<int32_t>(value);
      if (field == 2 && f == 42) facts.eos_id = static_cast<int32_t>(value);
      if (field == 3 && f == 3) facts.add_dummy_prefix = value != 0;
      if (field == 3 && f == 4) facts.remove_extra_whitespaces = value != 0;
    }
    if (field == 1) facts.types.push_back(type);
  }
  return facts;
}

// "<0x41>" -> 0x41, or -1.
int byte_piece_value(std::string_view piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece.back() != '>') return -1;
  int value = 0;
  for (char c : piece.substr(3, 2)) {
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= c - '0';
    } else if (c >= 'A' && c <= 'F') {
      value |= c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      value |= c - 'a' + 10;
    } else {
      return -1;
    }
  }
  return value;
}

std::string replace_space_symbols(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  for (size_t pos = 0; pos < piece.size();) {
    if (piece.substr(pos).starts_with(kSpaceSymbol)) {
      out.push_back(' ');
      pos += kSpaceSymbol.size();
    } else {
      out.push_back(piece[pos++]);
    }
  }
  return out;
}

void load_processor(sentencepiece::SentencePieceProcessor& processor, std::string_view proto) {
  const auto status = processor.LoadFromSerializedProto(proto);
  if (!status.ok())
    throw ModelError("sentencepiece rejected the vocabulary: " + std::string(status.message()));
}

}  // namespace

struct Tokenizer::Impl {
  std::string proto;
  sentencepiece::SentencePieceProcessor processor;
  // The same model with add_dummy_prefix off, for text that follows a special token; null when
  // the model adds no dummy prefix anyway.
  std::unique_ptr<sentencepiece::SentencePieceProcessor> no_prefix_processor;

  std::vector<int32_t> types;
  std::vector<std::string> surfaces;           // what each token decodes to in mid-stream
  std::vector<bool> starts_with_space_symbol;  // surface begins with a space from "▁"
  bool strip_first_space = true;               // sentencepiece's decoder drops the dummy prefix
  Token bos = -1, eos = -1, unk = -1;
  std::vector<Token> end_of_generation;  // EOS and turn-ending control tokens

  // Control pieces that parse_special recognises in text, by first byte, longest first.
  std::array<std::vector<Token>, 256> specials_by_first_byte;
  // User-defined pieces holding a plain space (Gemma's runs of spaces, "  " ... ): sentencepiece
  // matches user-defined pieces after turning spaces into "▁", so it can never see these; like
  // llama.cpp, encode() cuts them out of the raw text first. By first byte, longest first.
  std::array<std::vector<Token>, 256> raw_pieces_by_first_byte;
  bool has_raw_pieces = false;

  int n_vocab() const { return static_cast<int>(types.size()); }
  bool valid(Token token) const { return token >= 0 && token < n_vocab(); }

  void encode_into(std::vector<Token>& out, std::string_view text, bool dummy_prefix) const {
    if (text.empty()) return;
    const auto& p = dummy_prefix || !no_prefix_processor ? processor : *no_prefix_processor;
    std::vector<int> ids;
    const auto status = p.Encode(text, &ids);
    // Encode only fails on an unloaded model; a loaded one accepts any bytes.
    if (!status.ok()) throw std::runtime_error("sentencepiece Encode: " + status.ToString());
    out.insert(out.end(), ids.begin(), ids.end());
  }

  // The longest piece that `text` starts with among the control pieces (with parse_special) and
  // the raw user-defined ones, or -1.
  Token match_special(std::string_view text, bool parse_special) const {
    const auto first = static_cast<uint8_t>(text.front());
    Token best = -1;
    size_t best_size = 0;
    for (const auto* ids : {parse_special ? &specials_by_first_byte[first] : nullptr,
                            &raw_pieces_by_first_byte[first]}) {
      if (!ids) continue;
      for (Token id : *ids) {  // longest first: the first match is this list's longest
        const std::string& piece = processor.IdToPiece(id);
        if (piece.size() > best_size && text.starts_with(piece)) {
          best = id;
          best_size = piece.size();
          break;
        }
      }
    }
    return best;
  }
};

Tokenizer::Tokenizer() : impl_(std::make_unique<Impl>()) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_serialized_proto(std::string proto) {
  std::unique_ptr<Tokenizer> tokenizer(new Tokenizer());
  Impl& impl = *tokenizer->impl_;
  load_processor(impl.processor, proto);
  ProtoFacts facts = read_proto_facts(proto);
  const int n = impl.processor.GetPieceSize();
  if (static_cast<size_t>(n) != facts.types.size())
    throw ModelError("sentencepiece ModelProto: piece count disagrees with sentencepiece");
  if (facts.add_dummy_prefix) {
    impl.no_prefix_processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
    load_processor(*impl.no_prefix_processor, proto + std::string(kNoDummyPrefixSuffix));
  }

  const auto id_or_none = [n](int64_t id) {
    return id >= 0 && id < n ? static_cast<Token>(id) : -1;
  };
  impl.bos = id_or_none(facts.bos_id);
  impl.eos = id_or_none(facts.eos_id);
  impl.unk = id_or_none(facts.unk_id);
  impl.strip_first_space = facts.add_dummy_prefix || facts.remove_extra_whitespaces;
  impl.types = std::move(facts.types);

  impl.surfaces.resize(n);
  impl.starts_with_space_symbol.resize(n);
  for (Token id = 0; id < n; ++id) {
    const std::string& piece = impl.processor.IdToPiece(id);
    switch (impl.types[id]) {
      case kControl:
        if (!piece.empty()) {
          impl.specials_by_first_byte[static_cast<uint8_t>(piece[0])].push_back(id);
        }
        break;  // decodes to nothing
      case kUnknown:
        impl.surfaces[id] = kUnknownSurface;
        break;
      case kUserDefined:
        if (piece.find(' ') != std::string::npos) {
          impl.raw_pieces_by_first_byte[static_cast<uint8_t>(piece[0])].push_back(id);
          impl.has_raw_pieces = true;
        }
        impl.surfaces[id] = replace_space_symbols(piece);
        impl.starts_with_space_symbol[id] = piece.starts_with(kSpaceSymbol);
        break;
      case kByte:
        if (const int byte = byte_piece_value(piece); byte >= 0) {
          impl.surfaces[id] = std::string(1, static_cast<char>(byte));
          break;
        }
        [[fallthrough]];
      default:
        impl.surfaces[id] = replace_space_symbols(piece);
        impl.starts_with_space_symbol[id] = piece.starts_with(kSpaceSymbol);
    }
  }
  if (impl.eos >= 0) impl.end_of_generation.push_back(impl.eos);
  for (std::string_view name : {"<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>"}) {
    const Token id = impl.processor.PieceToId(name);
    if (id >= 0 && id < n && id != impl.eos && impl.types[id] == kControl &&
        impl.processor.IdToPiece(id) == name)
      impl.end_of_generation.push_back(id);
  }
  for (auto* lists : {&impl.specials_by_first_byte, &impl.raw_pieces_by_first_byte}) {
    for (auto& ids : *lists) {
      std::ranges::stable_sort(ids, [&](Token a, Token b) {
        return impl.processor.IdToPiece(a).size() > impl.processor.IdToPiece(b).size();
      });
    }
  }
  impl.proto = std::move(proto);
  return tokenizer;
}

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
  const std::string& model = file.require_string("tokenizer.ggml.model");
  if (model != "llama") {
    file.fail("tokenizer.ggml.model is '" + model +
              "'; only 'llama' (sentencepiece) vocabularies are supported");
  }

  // Checks an optional per-token array up front, so that the item conversions below cannot fail
  // with a message that lacks the file name.
  const auto per_token_array = [&](std::string_view key, size_t n,
                                   auto accepts) -> const GgufArray* {
    if (!file.find(key)) return nullptr;
    const GgufArray& array = file.require_array(key);
    if (!accepts(array.element_type)) {
      file.fail(std::string(key) + " holds " +
                std::string(gguf_value_type_name(array.element_type)) + " items");
    }
    if (array.items.size() != n) {
      file.fail(std::string(key) + " has " + std::to_string(array.items.size()) +
                " entries but tokenizer.ggml.tokens has " + std::to_string(n));
    }
    return &array;
  };
  const auto is_string = [](GgufValueType t) { return t == GgufValueType::STRING; };
  const auto is_float = [](GgufValueType t) {
    return t == GgufValueType::FLOAT32 || t == GgufValueType::FLOAT64;
  };
  const auto is_int = [](GgufValueType t) {
    return t != GgufValueType::FLOAT32 && t != GgufValueType::FLOAT64 && t != GgufValueType::BOOL &&
           t != GgufValueType::STRING && t != GgufValueType::ARRAY;
  };

  if (!file.find("tokenizer.ggml.tokens")) file.fail("tokenizer.ggml.tokens is missing");
  const size_t n = file.require_array("tokenizer.ggml.tokens").items.size();
  if (n == 0) file.fail("tokenizer.ggml.tokens is empty");
  if (n > static_cast<size_t>(INT32_MAX)) file.fail("tokenizer.ggml.tokens is too long");
  const GgufArray& tokens = *per_token_array("tokenizer.ggml.tokens", n, is_string);
  const GgufArray* scores = per_token_array("tokenizer.ggml.scores", n, is_float);
  const GgufArray* types = per_token_array("tokenizer.ggml.token_type", n, is_int);

  // Absent or out-of-range ids (GGUF writes 0xFFFFFFFF for "none") mean "no such token".
  const auto token_id = [&](std::string_view key, int64_t fallback) -> int32_t {
    const int64_t id = file.get_int(key, fallback);
    return id >= 0 && static_cast<size_t>(id) < n ? static_cast<int32_t>(id) : -1;
  };

  SentencepieceVocab vocab;
  vocab.model_type = 2;  // BPE: llama.cpp's "llama" vocabulary is sentencepiece BPE
  vocab.pieces.reserve(n);
  vocab.scores.reserve(n);
  vocab.types.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string context = "tokenizer.ggml item " + std::to_string(i);
    vocab.pieces.push_back(tokens.items[i].as_string(context));
    vocab.scores.push_back(scores ? static_cast<float>(scores->items[i].as_float(context)) : 0.0f);
    int64_t type = types ? types->items[i].as_int(context) : int64_t{kNormal};
    if (type == 0) type = kNormal;  // llama.cpp's LLAMA_TOKEN_TYPE_UNDEFINED
    if (type < kNormal || type > kByte) {
      file.fail("tokenizer.ggml.token_type[" + std::to_string(i) + "] is " + std::to_string(type) +
                ", not a sentencepiece piece type (1..6)");
    }
    vocab.types.push_back(static_cast<int32_t>(type));
  }

  const auto first_unknown = std::ranges::find(vocab.types, kUnknown);
  vocab.unk_id =
      token_id("tokenizer.ggml.unknown_token_id",
               first_unknown != vocab.types.end() ? first_unknown - vocab.types.begin() : 0);
  vocab.bos_id = token_id("tokenizer.ggml.bos_token_id", 1);
  vocab.eos_id = token_id("tokenizer.ggml.eos_token_id", 2);
  vocab.pad_id = token_id("tokenizer.ggml.padding_token_id", -1);
  if (!types) {
    // Without types, infer what sentencepiece needs: one UNKNOWN, control BOS/EOS, byte pieces.
    for (size_t i = 0; i < n; ++i) {
      if (byte_piece_value(vocab.pieces[i]) >= 0) vocab.types[i] = kByte;
    }
    for (int32_t id : {vocab.bos_id, vocab.eos_id}) {
      if (id >= 0) vocab.types[id] = kControl;
    }
    if (vocab.unk_id >= 0) vocab.types[vocab.unk_id] = kUnknown;
  }
  // sentencepiece needs its unk_id to be an UNKNOWN piece; llama.cpp's converter types Gemma 3's
  // <unk> CONTROL. A vocabulary without any unknown piece is still refused.
  if (vocab.unk_id >= 0 && first_unknown == vocab.types.end() &&
      vocab.types[vocab.unk_id] == kControl)
    vocab.types[vocab.unk_id] = kUnknown;
  // sentencepiece refuses BYTE pieces unless byte_fallback is on, and with it on it needs them.
  vocab.byte_fallback = std::ranges::find(vocab.types, kByte) != vocab.types.end();
  vocab.add_dummy_prefix = file.get_bool("tokenizer.ggml.add_space_prefix", true);
  vocab.remove_extra_whitespaces = false;
  vocab.escape_whitespaces = true;

  try {
    return from_serialized_proto(build_sentencepiece_proto(vocab));
  } catch (const ModelError& e) {
    file.fail(e.what());
  }
}

std::vector<Token> Tokenizer::encode(std::string_view text, bool add_bos,
                                     bool parse_special) const {
  const Impl& impl = *impl_;
  std::vector<Token> ids;
  ids.reserve(text.size() / 3 + 2);
  if (add_bos && impl.bos >= 0) ids.push_back(impl.bos);
  if (!parse_special && !impl.has_raw_pieces) {
    impl.encode_into(ids, text, true);
    return ids;
  }
  // As llama.cpp does, only text at the very start gets the dummy prefix; text that follows a
  // special token is encoded as it stands.
  size_t segment_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const Token special = impl.match_special(text.substr(pos), parse_special);
    if (special < 0) {
      ++pos;
      continue;
    }
    impl.encode_into(ids, text.substr(segment_start, pos - segment_start), segment_start == 0);
    ids.push_back(special);
    pos += impl.processor.IdToPiece(special).size();
    segment_start = pos;
  }
  impl.encode_into(ids, text.substr(segment_start), segment_start == 0);
  return ids;
}

std::string Tokenizer::token_to_piece(Token token, Token previous) const {
  const Impl& impl = *impl_;
  if (!impl.valid(token)) return {};
  const std::string& surface = impl.surfaces[token];
  const bool at_start = previous < 0 || (previous == impl.bos && impl.bos >= 0);
  if (at_start && impl.strip_first_space && impl.starts_with_space_symbol[token])
    return surface.substr(1);
  return surface;
}

std::string Tokenizer::decode(std::span<const Token> tokens) const {
  std::string text;
  Token previous = -1;
  for (Token token : tokens) {
    text += token_to_piece(token, previous);
    previous = token;
  }
  return text;
}

int Tokenizer::n_vocab() const {
  return impl_->n_vocab();
}
Token Tokenizer::bos() const {
  return impl_->bos;
}
Token Tokenizer::eos() const {
  return impl_->eos;
}
Token Tokenizer::unk() const {
  return impl_->unk;
}

bool Tokenizer::is_control(Token token) const {
  return impl_->valid(token) && impl_->types[token] == kControl;
}

bool Tokenizer::is_end_of_generation(Token token) const {
  return std::ranges::find(impl_->end_of_generation, token) != impl_->end_of_generation.end();
}

std::string_view Tokenizer::piece(Token token) const {
  if (!impl_->valid(token)) return {};
  return impl_->processor.IdToPiece(token);
}

Token Tokenizer::find_piece(std::string_view piece) const {
  const Token id = impl_->processor.PieceToId(piece);
  return impl_->valid(id) && impl_->processor.IdToPiece(id) == piece ? id : -1;
}

const std::string& Tokenizer::serialized_proto() const {
  return impl_->proto;
}

}  // namespace agentrt::engine
