// The FTS5 tokenizer "agentrt_cjk": unicode61 (case folding, diacritics removed) for everything
// but CJK runs, which become overlapping bigrams. In documents every CJK character is also
// indexed on its own (colocated with the bigram it starts), so one-character query terms match;
// queries use bigrams only, so a multi-character term is a phrase of consecutive bigrams.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>

namespace agentrt::plugins::search {

inline constexpr const char* kTokenizerName = "agentrt_cjk";
// What index tables are created with: Porter stemming over agentrt_cjk.
inline constexpr const char* kTokenizeSpec = "porter agentrt_cjk";

// Registers agentrt_cjk on `db` (needed on every connection that reads or writes an index).
// Throws sqlite::SqliteError when FTS5 is missing.
void register_tokenizer(sqlite3* db);

// The index terms FTS5 makes of `text` in a MATCH query (case-folded, stemmed, CJK bigrams), so
// that their document frequencies can be looked up. Throws sqlite::SqliteError.
std::vector<std::string> index_tokens(sqlite3* db, std::string_view text);

}  // namespace agentrt::plugins::search
