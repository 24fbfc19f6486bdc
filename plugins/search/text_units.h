// How search splits text: UTF-8 decoding and the split between CJK characters (indexed as
// overlapping bigrams, since CJK text has no spaces between words) and everything else (left to
// SQLite's unicode61 tokenizer). The index tokenizer and the query builder share these rules, so
// a query is cut exactly like the documents it must match.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite_util.h"

namespace agentrt::plugins::search {

using sqlite::decode_utf8;

// Han ideographs, kana and Hangul: scripts written without spaces between words.
bool is_cjk(char32_t c);

// Characters that separate query terms: ASCII punctuation and spaces, general punctuation,
// CJK and full-width punctuation.
bool is_separator(char32_t c);

enum class UnitKind { kWord, kCjk };

// One query term: a run of word characters or a run of CJK characters, as bytes of the query.
struct TextUnit {
  UnitKind kind;
  std::string_view text;
};

// Cuts a query into terms at separators and at every change between CJK and other characters.
std::vector<TextUnit> split_units(std::string_view text);

}  // namespace agentrt::plugins::search
