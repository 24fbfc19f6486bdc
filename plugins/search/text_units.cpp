#include "text_units.h"

namespace agentrt::plugins::search {

bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) ||    // CJK unified ideographs
         (c >= 0x3400 && c <= 0x4DBF) ||    // extension A
         (c >= 0x20000 && c <= 0x3134F) ||  // extensions B-G
         (c >= 0xF900 && c <= 0xFAFF) ||    // compatibility ideographs
         (c >= 0x3040 && c <= 0x30FF) ||    // hiragana, katakana
         (c >= 0x31F0 && c <= 0x31FF) ||    // katakana phonetic extensions
         (c >= 0xAC00 && c <= 0xD7AF) ||    // Hangul syllables
         (c >= 0x1100 && c <= 0x11FF) ||    // Hangul jamo
         (c >= 0x3130 && c <= 0x318F);      // Hangul compatibility jamo
}

bool is_separator(char32_t c) {
  if (c < 0x80) {
    return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
  }
  return (c >= 0x2000 && c <= 0x206F) ||  // general punctuation
         (c >= 0x3000 && c <= 0x303F) ||  // CJK symbols and punctuation
         (c >= 0xFE30 && c <= 0xFE4F) ||  // CJK compatibility forms
         (c >= 0xFF00 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
         (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65) ||  // full-width punctuation
         c == 0x00A0 || c == 0x00AB || c == 0x00BB || c == 0x00B7 || c == 0xFFFD;
}

std::vector<TextUnit> split_units(std::string_view text) {
  std::vector<TextUnit> units;
  size_t start = 0;
  bool open = false;
  UnitKind kind = UnitKind::kWord;
  const auto close = [&](size_t end) {
    if (open) units.push_back({kind, text.substr(start, end - start)});
    open = false;
  };
  for (size_t i = 0; i < text.size();) {
    size_t n = 0;
    const char32_t c = decode_utf8(text, i, n);
    if (is_separator(c)) {
      close(i);
    } else {
      const UnitKind k = is_cjk(c) ? UnitKind::kCjk : UnitKind::kWord;
      if (open && k != kind) close(i);
      if (!open) {
        open = true;
        start = i;
        kind = k;
      }
    }
    i += n;
  }
  close(text.size());
  return units;
}

}  // namespace agentrt::plugins::search
