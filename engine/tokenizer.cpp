// Tokenizer: sentencepiece's BPE encoding, written here over a compact vocabulary (all pieces in
// one buffer, two open-addressing indexes), so a 262k-piece vocabulary costs a few MB of heap
// rather than the sentencepiece library's ModelProto and maps. Around it, what llama.cpp-style
// inference needs: control-token text in prompts (parse_special), and streaming detokenization.
//
// The encoder follows sentencepiece (normalizer.cc, bpe_model.cc, sentencepiece_processor.cc)
// step by step for the vocabularies agentrt reads: the identity normalization (spaces to "▁",
// an optional dummy-prefix "▁", optional removal of extra spaces, and malformed UTF-8 to U+FFFD
// one byte at a time), user-defined pieces kept whole, merges by best score (leftmost on ties),
// UNUSED pieces split back into what they were merged from, and unknown text spelled as byte
// pieces (byte fallback) or one unknown token per run. tests/engine/test_tokenizer.cpp checks it
// against the sentencepiece library on the Llama 2 vocabulary and on random text.
#include "agentrt/engine/tokenizer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
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
constexpr std::string_view kReplacementChar = "\xef\xbf\xbd";  // U+FFFD

// A protobuf wire-format reader, just enough for the ModelProto fields DESIGN.md lists.
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

  float fixed32_float() {
    if (4 > data_.size() - pos_) malformed();
    uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= uint32_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
    pos_ += 4;
    return std::bit_cast<float>(bits);
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

// The length of the UTF-8 sequence at the start of `s` when it is the shortest encoding of a
// Unicode scalar value (no surrogates, nothing past U+10FFFF), else 0: sentencepiece's
// IsValidDecodeUTF8.
size_t valid_utf8_length(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const auto trail = [&](size_t i) { return (byte(i) & 0xc0) == 0x80; };
  const auto scalar = [](uint32_t c) { return c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff); };
  const uint8_t b0 = byte(0);
  uint32_t c = 0;
  size_t n = 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xe0) == 0xc0 && s.size() >= 2 && trail(1)) {
    c = (uint32_t{b0 & 0x1fu} << 6) | (byte(1) & 0x3fu);
    n = c >= 0x80 ? 2 : 0;
  } else if ((b0 & 0xf0) == 0xe0 && s.size() >= 3 && trail(1) && trail(2)) {
    c = (uint32_t{b0 & 0x0fu} << 12) | ((byte(1) & 0x3fu) << 6) | (byte(2) & 0x3fu);
    n = c >= 0x800 ? 3 : 0;
  } else if ((b0 & 0xf8) == 0xf0 && s.size() >= 4 && trail(1) && trail(2) && trail(3)) {
    c = (uint32_t{b0 & 0x07u} << 18) | ((byte(1) & 0x3fu) << 12) | ((byte(2) & 0x3fu) << 6) |
        (byte(3) & 0x3fu);
    n = c >= 0x10000 ? 4 : 0;
  }
  return n != 0 && scalar(c) ? n : 0;
}

// The byte count sentencepiece's BPE model gives one character from its lead byte alone.
size_t lead_byte_length(uint8_t lead) {
  constexpr std::array<uint8_t, 16> kLength = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLength[lead >> 4];
}

// Piece text -> id, open addressing over ids; the pieces live in the owner's buffer.
class PieceIndex {
 public:
  void reserve(size_t n) {
    slots_.assign(std::bit_ceil(std::max<size_t>(16, 2 * n)), -1);
    mask_ = slots_.size() - 1;
  }

  // Adds `id` under `key`; returns false, changing nothing, when the key is already there.
  template <typename PieceOf>
  bool insert(std::string_view key, int32_t id, const PieceOf& piece_of) {
    for (size_t slot = hash(key) & mask_;; slot = (slot + 1) & mask_) {
      if (slots_[slot] < 0) {
        slots_[slot] = id;
        return true;
      }
      if (piece_of(slots_[slot]) == key) return false;
    }
  }

  template <typename PieceOf>
  int32_t find(std::string_view key, const PieceOf& piece_of) const {
    for (size_t slot = hash(key) & mask_;; slot = (slot + 1) & mask_) {
      const int32_t id = slots_[slot];
      if (id < 0 || piece_of(id) == key) return id;
    }
  }

 private:
  static uint64_t hash(std::string_view key) {  // FNV-1a
    uint64_t h = 0xcbf29ce484222325ull;
    for (char c : key) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
    return h ^ (h >> 29);
  }

  std::vector<int32_t> slots_;
  size_t mask_ = 0;
};

}  // namespace

struct Tokenizer::Impl {
  std::string pieces;          // every piece, back to back
  std::vector<uint32_t> ends;  // piece i is pieces[ends[i-1], ends[i])
  std::vector<float> scores;
  std::vector<int8_t> types;
  PieceIndex mergeable;      // NORMAL, USER_DEFINED and UNUSED pieces (sentencepiece's pieces_)
  PieceIndex reserved;       // CONTROL, UNKNOWN and BYTE pieces (its reserved_id_map_)
  Token unknown_piece = -1;  // the UNKNOWN piece, what unknown text encodes to
  std::array<Token, 256> byte_pieces{};  // <0xNN>, or -1

  bool byte_fallback = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = false;
  bool escape_whitespaces = true;
  bool strip_first_space = true;  // sentencepiece's decoder drops the dummy prefix
  Token bos = -1, eos = -1, unk = -1;
  std::vector<Token> end_of_generation;  // EOS and turn-ending control tokens

  // Lengths of the user-defined pieces, by first byte, longest first, each once: the encoder
  // keeps the longest user-defined piece at a position whole.
  std::array<std::vector<uint32_t>, 256> user_lengths_by_first_byte;
  // Control pieces that parse_special recognises in text, by first byte, longest first.
  std::array<std::vector<Token>, 256> specials_by_first_byte;
  // User-defined pieces holding a plain space (Gemma's runs of spaces, "  " ... ): sentencepiece
  // matches user-defined pieces after turning spaces into "▁", so it can never see these; like
  // llama.cpp, encode() cuts them out of the raw text first. By first byte, longest first.
  std::array<std::vector<Token>, 256> raw_pieces_by_first_byte;
  bool has_raw_pieces = false;

  int n_vocab() const { return static_cast<int>(types.size()); }
  bool valid(Token token) const { return token >= 0 && token < n_vocab(); }
  std::string_view piece(Token id) const {
    const uint32_t begin = id == 0 ? 0 : ends[id - 1];
    return std::string_view(pieces).substr(begin, ends[id] - begin);
  }
  auto piece_of() const {
    return [this](Token id) { return piece(id); };
  }

  // sentencepiece's PieceToId: reserved pieces first, then the others, else the unknown piece.
  Token piece_to_id(std::string_view p) const {
    if (const Token id = reserved.find(p, piece_of()); id >= 0) return id;
    if (const Token id = mergeable.find(p, piece_of()); id >= 0) return id;
    return unknown_piece;
  }

  // --- Building -------------------------------------------------------------------------------

  void add_piece(std::string_view p, float score, int32_t type) {
    if (pieces.size() + p.size() > UINT32_MAX)
      throw ModelError("the vocabulary's pieces exceed 4 GiB");
    pieces.append(p);
    ends.push_back(static_cast<uint32_t>(pieces.size()));
    scores.push_back(score);
    types.push_back(static_cast<int8_t>(type));
  }

  // Indexes the pieces added, checking what sentencepiece checks on load.
  void finish(int64_t unk_id, int64_t bos_id, int64_t eos_id) {
    const int n = n_vocab();
    const auto is_mergeable = [](int32_t type) {
      return type == kNormal || type == kUserDefined || type == kUnused;
    };
    const auto n_mergeable = static_cast<size_t>(std::ranges::count_if(types, is_mergeable));
    mergeable.reserve(n_mergeable);
    reserved.reserve(static_cast<size_t>(n) - n_mergeable);
    byte_pieces.fill(-1);
    for (Token id = 0; id < n; ++id) {
      const std::string_view p = piece(id);
      const int32_t type = types[id];
      if (p.empty()) throw ModelError("vocabulary piece " + std::to_string(id) + " is empty");
      if (!(is_mergeable(type) ? mergeable : reserved).insert(p, id, piece_of()))
        throw ModelError("vocabulary piece " + std::to_string(id) + " ('" + std::string(p) +
                         "') is defined twice");
      if (type == kUnknown) {
        if (unknown_piece >= 0)
          throw ModelError("the vocabulary has two UNKNOWN pieces (" +
                           std::to_string(unknown_piece) + " and " + std::to_string(id) + ")");
        unknown_piece = id;
      }
      if (type == kByte) {
        if (!byte_fallback)
          throw ModelError("vocabulary piece " + std::to_string(id) + " ('" + std::string(p) +
                           "') is a BYTE piece, but byte fallback is off");
        if (const int byte = byte_piece_value(p); byte >= 0) byte_pieces[byte] = id;
      }
    }
    if (unknown_piece < 0) throw ModelError("the vocabulary has no UNKNOWN piece");

    const auto id_or_none = [n](int64_t id) {
      return id >= 0 && id < n ? static_cast<Token>(id) : -1;
    };
    unk = id_or_none(unk_id);
    bos = id_or_none(bos_id);
    eos = id_or_none(eos_id);
    strip_first_space = add_dummy_prefix || remove_extra_whitespaces;

    for (Token id = 0; id < n; ++id) {
      const std::string_view p = piece(id);
      const auto first = static_cast<uint8_t>(p[0]);
      if (types[id] == kControl) specials_by_first_byte[first].push_back(id);
      if (types[id] != kUserDefined) continue;
      user_lengths_by_first_byte[first].push_back(static_cast<uint32_t>(p.size()));
      if (p.find(' ') != std::string_view::npos) {
        raw_pieces_by_first_byte[first].push_back(id);
        has_raw_pieces = true;
      }
    }
    for (auto& lengths : user_lengths_by_first_byte) {
      std::ranges::sort(lengths, std::greater<>());
      lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
    }
    for (auto* lists : {&specials_by_first_byte, &raw_pieces_by_first_byte}) {
      for (auto& ids : *lists) {
        std::ranges::stable_sort(
            ids, [&](Token a, Token b) { return piece(a).size() > piece(b).size(); });
      }
    }
    if (eos >= 0) end_of_generation.push_back(eos);
    for (std::string_view name : {"<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>"}) {
      const Token id = reserved.find(name, piece_of());
      if (id >= 0 && id != eos && types[id] == kControl) end_of_generation.push_back(id);
    }
  }

  // --- Encoding -------------------------------------------------------------------------------

  // sentencepiece's Normalizer::Normalize with the identity rules.
  std::string normalize(std::string_view in, bool dummy_prefix) const {
    std::string out;
    if (remove_extra_whitespaces) {
      while (!in.empty() && in.front() == ' ') in.remove_prefix(1);
    }
    if (in.empty()) return out;
    const std::string_view space = escape_whitespaces ? kSpaceSymbol : " ";
    out.reserve(in.size() + in.size() / 2 + 3);
    if (dummy_prefix) out.append(space);
    bool previous_space = remove_extra_whitespaces;
    while (!in.empty()) {
      const size_t n = valid_utf8_length(in);
      const std::string_view c = n ? in.substr(0, n) : kReplacementChar;
      in.remove_prefix(n ? n : 1);
      if (c == " ") {
        if (!previous_space) out.append(space);
        previous_space = remove_extra_whitespaces;
      } else {
        out.append(c);
        previous_space = false;
      }
    }
    if (remove_extra_whitespaces) {
      while (out.ends_with(space)) out.erase(out.size() - space.size());
    }
    return out;
  }

  // The longest user-defined piece that `s` starts with, or 0.
  size_t user_defined_prefix(std::string_view s) const {
    for (uint32_t length : user_lengths_by_first_byte[static_cast<uint8_t>(s[0])]) {
      if (length > s.size()) continue;
      const Token id = mergeable.find(s.substr(0, length), piece_of());
      if (id >= 0 && types[id] == kUserDefined) return length;
    }
    return 0;
  }

  // sentencepiece's bpe::Model::Encode and the id pass of SentencePieceProcessor::Encode.
  void encode_into(std::vector<Token>& out, std::string_view raw, bool dummy_prefix) const {
    if (raw.empty()) return;
    const std::string normalized = normalize(raw, dummy_prefix && add_dummy_prefix);
    const std::string_view s = normalized;
    if (s.empty()) return;

    struct Symbol {
      int prev, next;
      bool frozen;
      uint32_t begin, size;  // in s; size 0 once merged into its left neighbour
    };
    std::vector<Symbol> symbols;
    symbols.reserve(s.size());
    for (size_t pos = 0; pos < s.size();) {
      size_t n = user_defined_prefix(s.substr(pos));
      const bool frozen = n > 0;
      if (!frozen) n = std::min(s.size() - pos, lead_byte_length(static_cast<uint8_t>(s[pos])));
      const int index = static_cast<int>(symbols.size());
      symbols.push_back({index - 1, pos + n < s.size() ? index + 1 : -1, frozen,
                         static_cast<uint32_t>(pos), static_cast<uint32_t>(n)});
      pos += n;
    }
    const auto text_of = [&](const Symbol& sym) { return s.substr(sym.begin, sym.size); };

    struct Pair {
      int left, right;
      float score;
      size_t size;
    };
    const auto lower = [](const Pair& a, const Pair& b) {  // the best pair is on top
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    };
    std::priority_queue<Pair, std::vector<Pair>, decltype(lower)> agenda(lower);
    // What each UNUSED piece made here was merged from, to split it back.
    std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> unmerge;
    const auto consider = [&](int left, int right) {
      if (left < 0 || right < 0 || symbols[left].frozen || symbols[right].frozen) return;
      const std::string_view merged =
          s.substr(symbols[left].begin, symbols[left].size + symbols[right].size);
      const Token id = mergeable.find(merged, piece_of());
      if (id < 0) return;
      agenda.push({left, right, scores[id], merged.size()});
      if (types[id] == kUnused) unmerge[merged] = {text_of(symbols[left]), text_of(symbols[right])};
    };
    for (size_t i = 1; i < symbols.size(); ++i)
      consider(static_cast<int>(i) - 1, static_cast<int>(i));

    while (!agenda.empty()) {
      const Pair top = agenda.top();
      agenda.pop();
      Symbol& left = symbols[top.left];
      Symbol& right = symbols[top.right];
      if (left.size == 0 || right.size == 0 || left.size + right.size != top.size) continue;
      left.size += right.size;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = top.left;
      right.size = 0;
      consider(left.prev, top.left);
      consider(top.left, left.next);
    }

    const size_t start = out.size();
    const auto emit = [&](std::string_view piece_text, Token id) {
      if (types[id] == kUnknown) {
        if (byte_fallback) {
          for (char c : piece_text) {
            const Token b = byte_pieces[static_cast<uint8_t>(c)];
            out.push_back(b >= 0 ? b : unknown_piece);
          }
          return;
        }
        if (!out.empty() && out.back() == id && out.size() > start) return;  // one per run
      }
      out.push_back(id);
    };
    const auto resegment = [&](auto& self, std::string_view w) -> void {
      const Token id = piece_to_id(w);
      if (types[id] == kUnused) {
        if (const auto it = unmerge.find(w); it != unmerge.end()) {
          self(self, it->second.first);
          self(self, it->second.second);
          return;
        }
      }
      emit(w, id);
    };
    for (int i = 0; i >= 0; i = symbols[i].next) resegment(resegment, text_of(symbols[i]));
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
        const std::string_view p = piece(id);
        if (p.size() > best_size && text.starts_with(p)) {
          best = id;
          best_size = p.size();
          break;
        }
      }
    }
    return best;
  }
};

Tokenizer::Tokenizer() : impl_(std::make_unique<Impl>()) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_serialized_proto(std::string_view proto) {
  constexpr uint32_t kVarint = 0, kLengthDelimited = 2, kFixed32 = 5;
  std::unique_ptr<Tokenizer> tokenizer(new Tokenizer());
  Impl& impl = *tokenizer->impl_;
  // ModelProto defaults, where the fields are absent.
  int64_t model_type = 1, unk_id = 0, bos_id = 1, eos_id = 2;
  bool byte_fallback = false;
  std::string_view charsmap;
  impl.add_dummy_prefix = impl.remove_extra_whitespaces = impl.escape_whitespaces = true;

  WireReader model(proto);
  while (!model.done()) {
    const auto [field, wire] = model.tag();
    if (wire != kLengthDelimited || field < 1 || field > 3) {
      model.skip(wire);
      continue;
    }
    WireReader message(model.bytes());
    std::string_view piece;
    float score = 0;
    int64_t type = kNormal;
    while (!message.done()) {
      const auto [f, w] = message.tag();
      if (field == 1 && f == 1 && w == kLengthDelimited) {
        piece = message.bytes();
      } else if (field == 1 && f == 2 && w == kFixed32) {
        score = message.fixed32_float();
      } else if (field == 3 && f == 2 && w == kLengthDelimited) {
        charsmap = message.bytes();
      } else if (w == kVarint) {
        const auto value = static_cast<int64_t>(message.varint());
        if (field == 1 && f == 3) type = value;
        if (field == 2 && f == 3) model_type = value;
        if (field == 2 && f == 35) byte_fallback = value != 0;
        if (field == 2 && f == 40) unk_id = static_cast<int32_t>(value);
        if (field == 2 && f == 41) bos_id = static_cast<int32_t>(value);
        if (field == 2 && f == 42) eos_id = static_cast<int32_t>(value);
        if (field == 3 && f == 3) impl.add_dummy_prefix = value != 0;
        if (field == 3 && f == 4) impl.remove_extra_whitespaces = value != 0;
        if (field == 3 && f == 5) impl.escape_whitespaces = value != 0;
      } else {
        message.skip(w);
      }
    }
    if (field != 1) continue;
    if (type < kNormal || type > kByte)
      throw ModelError("sentencepiece ModelProto: piece " + std::to_string(impl.n_vocab()) +
                       " has type " + std::to_string(type) + ", not 1..6");
    impl.add_piece(piece, score, static_cast<int32_t>(type));
  }
  if (model_type != 2)
    throw ModelError("sentencepiece ModelProto: model type " + std::to_string(model_type) +
                     "; only BPE (2) vocabularies are supported");
  if (!charsmap.empty())
    throw ModelError(
        "sentencepiece ModelProto: a normalization rule (precompiled_charsmap) is set; only the "
        "identity normalization is supported");
  if (impl.n_vocab() == 0) throw ModelError("sentencepiece ModelProto: no pieces");
  impl.byte_fallback = byte_fallback;
  impl.finish(unk_id, bos_id, eos_id);
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
    if (array.size() != n) {
      file.fail(std::string(key) + " has " + std::to_string(array.size()) +
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
  const size_t n = file.require_array("tokenizer.ggml.tokens").size();
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

  std::unique_ptr<Tokenizer> tokenizer(new Tokenizer());
  Impl& impl = *tokenizer->impl_;
  impl.ends.reserve(n);
  impl.scores.reserve(n);
  impl.types.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string context = "tokenizer.ggml item " + std::to_string(i);
    const float score = scores ? static_cast<float>(scores->at(i).as_float(context)) : 0.0f;
    int64_t type = types ? types->at(i).as_int(context) : int64_t{kNormal};
    if (type == 0) type = kNormal;  // llama.cpp's LLAMA_TOKEN_TYPE_UNDEFINED
    if (type < kNormal || type > kByte) {
      file.fail("tokenizer.ggml.token_type[" + std::to_string(i) + "] is " + std::to_string(type) +
                ", not a sentencepiece piece type (1..6)");
    }
    impl.add_piece(tokens.string_at(i, context), score, static_cast<int32_t>(type));
  }

  const auto first_unknown = std::ranges::find(impl.types, kUnknown);
  const int32_t unk_id =
      token_id("tokenizer.ggml.unknown_token_id",
               first_unknown != impl.types.end() ? first_unknown - impl.types.begin() : 0);
  const int32_t bos_id = token_id("tokenizer.ggml.bos_token_id", 1);
  const int32_t eos_id = token_id("tokenizer.ggml.eos_token_id", 2);
  if (!types) {
    // Without types, infer what sentencepiece needs: one UNKNOWN, control BOS/EOS, byte pieces.
    for (Token id = 0; id < impl.n_vocab(); ++id) {
      if (byte_piece_value(impl.piece(id)) >= 0) impl.types[id] = kByte;
    }
    for (int32_t id : {bos_id, eos_id}) {
      if (id >= 0) impl.types[id] = kControl;
    }
    if (unk_id >= 0) impl.types[unk_id] = kUnknown;
  }
  // sentencepiece needs its unk_id to be an UNKNOWN piece; llama.cpp's converter types Gemma 3's
  // <unk> CONTROL. A vocabulary without any unknown piece is still refused.
  if (unk_id >= 0 && first_unknown == impl.types.end() && impl.types[unk_id] == kControl)
    impl.types[unk_id] = kUnknown;
  // sentencepiece refuses BYTE pieces unless byte_fallback is on, and with it on it needs them.
  impl.byte_fallback = std::ranges::find(impl.types, kByte) != impl.types.end();
  impl.add_dummy_prefix = file.get_bool("tokenizer.ggml.add_space_prefix", true);
  impl.remove_extra_whitespaces = false;
  impl.escape_whitespaces = true;

  try {
    impl.finish(unk_id, bos_id, eos_id);
  } catch (const ModelError& e) {
    file.fail(e.what());
  }
  return tokenizer;
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
    pos += impl.piece(special).size();
    segment_start = pos;
  }
  impl.encode_into(ids, text.substr(segment_start), segment_start == 0);
  return ids;
}

std::string Tokenizer::token_to_piece(Token token, Token previous) const {
  const Impl& impl = *impl_;
  if (!impl.valid(token)) return {};
  const std::string_view p = impl.piece(token);
  switch (impl.types[token]) {
    case kControl:
      return {};
    case kUnknown:
      return std::string(kUnknownSurface);
    case kByte:
      if (const int byte = byte_piece_value(p); byte >= 0)
        return std::string(1, static_cast<char>(byte));
      break;
    default:
      break;
  }
  const bool at_start = previous < 0 || (previous == impl.bos && impl.bos >= 0);
  if (at_start && impl.strip_first_space && p.starts_with(kSpaceSymbol))
    return replace_space_symbols(p.substr(kSpaceSymbol.size()));
  return replace_space_symbols(p);
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
  return impl_->piece(token);
}

Token Tokenizer::find_piece(std::string_view piece) const {
  const Impl& impl = *impl_;
  if (const Token id = impl.reserved.find(piece, impl.piece_of()); id >= 0) return id;
  return impl.mergeable.find(piece, impl.piece_of());
}

}  // namespace agentrt::engine
