// The `search` plugin: BM25 full-text search (SQLite FTS5) over a document collection, and the
// indexing API behind `agentrt index build`.
//
// Tool:
//   search {query, k?}  the k best documents (default 3) for a free-text query; text lists
//                       "n. title (source)" and a snippet with the matches in **bold**; data is
//                       {results: [{title, snippet, source, id, score}]}.
//
// Index: an SQLite file holding the documents, the files they came from (path, size, mtime,
// content hash) and an FTS5 table whose tokenizer folds case and diacritics, stems English, and
// indexes CJK text as overlapping character bigrams (plus single characters), so Chinese,
// Japanese and Korean queries match without a word segmenter. Title matches weigh more than body
// matches (bm25 weights 3:1). User text never reaches FTS5 syntax: every term is quoted.
//
// Configuration (section "search"):
//   index        path of the index (default: the example index built from
//                examples/data/docs.jsonl at build time)
//   max_k        largest k a call may ask for (default 10)
//   timeout_ms   per-query time limit (default 2000); the dispatcher's deadline also applies
//
// Thread-safety: build_index is for one writer at a time; SearchIndex is not thread-safe (open
// one per thread); the search tool opens the index per call, so calls may run concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::tools {
class Registry;
class Config;
}  // namespace agentrt::tools

namespace agentrt::plugins {

// Registers the `search` tool. Throws tools::ConfigError for a bad value or a configured index
// that does not exist.
void register_search(tools::Registry& registry, const tools::Config& config);

namespace search {

// A source file that cannot be read or parsed, or an index that cannot be opened or is not an
// agentrt index. The message names the file (and line, for JSONL).
class IndexError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Files, not documents: a file is added, updated (its content hash changed), unchanged, or
// removed (indexed before, absent from the sources now).
struct IndexStats {
  int64_t added = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t removed = 0;
  int64_t documents = 0;  // documents in the index afterwards
};

// Makes `index` (created when absent) mirror `sources`: files and folders (searched recursively)
// of .txt, .md/.markdown and .jsonl files.
//   .txt    one document; title = the first line when it is short, else the file name
//   .md     one document per "## " section (the text before the first one is a document too);
//           titles are "<# heading> — <## heading>"
//   .jsonl  one document per line: {"text": ..., "title"?: ..., "id"?: ..., "source"?|"url"?}
// Unchanged files (same size and mtime, or same content hash) are skipped; files indexed before
// but not among the sources now are removed. All or nothing: on error the index is unchanged.
// Throws IndexError.
IndexStats build_index(const std::vector<std::filesystem::path>& sources,
                       const std::filesystem::path& index);

struct SearchHit {
  std::string id;  // the document's id within its file (JSONL id, section slug, ...)
  std::string title;
  std::string snippet;  // a passage around the best matches, matches wrapped in **
  std::string source;   // where the document came from ("url", or "file#id")
  double score = 0;     // BM25, higher is better
};

// A read-only handle on an index. Not thread-safe.
class SearchIndex {
 public:
  // Throws IndexError when the file is missing or not an agentrt index.
  explicit SearchIndex(const std::filesystem::path& index);
  ~SearchIndex();
  SearchIndex(SearchIndex&&) noexcept;
  SearchIndex& operator=(SearchIndex&&) noexcept;

  // The best `k` documents for free text `query` (any text: quotes, operators and punctuation
  // are just characters). `should_stop`, polled while SQLite works, ends the query early; the
  // call then throws IndexError("search stopped"). An empty result is not an error.
  std::vector<SearchHit> search(std::string_view query, int k,
                                const std::function<bool()>& should_stop = {}) const;
  int64_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The FTS5 MATCH expression for free text: each term quoted, terms joined by OR; CJK runs
// become their bigrams. Empty when the text has no searchable term. Exposed for tests.
std::string match_expression(std::string_view query);

}  // namespace search
}  // namespace agentrt::plugins
