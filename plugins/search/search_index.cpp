// The index file: its schema, incremental building, and queries.
#include <agentrt/plugins/search.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "documents.h"
#include "fts_tokenizer.h"
#include "query.h"
#include "sqlite_util.h"

namespace agentrt::plugins::search {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormat = "agentrt-search-1";
constexpr size_t kSnippetBytes = 240;

// Title matches count three times as much as body matches (bm25 column weights).
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
  id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
  id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files (id), doc_id TEXT NOT NULL,
  title TEXT NOT NULL, body TEXT NOT NULL, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS docs_by_file ON docs (file_id);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5 (
  title, body, content = 'docs', content_rowid = 'id', tokenize = 'porter agentrt_cjk');
CREATE TRIGGER IF NOT EXISTS docs_insert AFTER INSERT ON docs BEGIN
  INSERT INTO docs_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER IF NOT EXISTS docs_delete AFTER DELETE ON docs BEGIN
  INSERT INTO docs_fts (docs_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
INSERT OR IGNORE INTO meta (key, value) VALUES ('format', 'agentrt-search-1');
INSERT INTO docs_fts (docs_fts, rank) VALUES ('rank', 'bm25(3.0, 1.0)');
)sql";

std::string fnv1a_hex(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IndexError("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct SourceFile {
  fs::path path;     // absolute, the key in the files table
  std::string name;  // as shown in sources
};

std::vector<SourceFile> collect(const std::vector<fs::path>& sources) {
  std::vector<SourceFile> files;
  std::set<fs::path> seen;
  const auto add = [&](const fs::path& p, std::string name) {
    const fs::path abs = fs::weakly_canonical(fs::absolute(p));
    if (seen.insert(abs).second) files.push_back({abs, std::move(name)});
  };
  for (const fs::path& source : sources) {
    std::error_code ec;
    if (fs::is_directory(source, ec)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(source, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && is_indexable(it->path())) found.push_back(it->path());
      }
      if (ec) throw IndexError("cannot list " + source.string() + ": " + ec.message());
      std::sort(found.begin(), found.end());
      const fs::path base = fs::absolute(source).lexically_normal().parent_path();
      for (const fs::path& f : found)
        add(f, fs::absolute(f).lexically_normal().lexically_relative(base).generic_string());
    } else if (fs::is_regular_file(source, ec)) {
      if (!is_indexable(source))
        throw IndexError(source.string() + ": unsupported file type (use .txt, .md or .jsonl)");
      add(source, source.filename().string());
    } else {
      throw IndexError("no such file or folder: " + source.string());
    }
  }
  return files;
}

struct Known {
  int64_t id;
  int64_t size;
  int64_t mtime_ns;
  std::string hash;
};

void bind_text(sqlite3_stmt* stmt, int index, std::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

}  // namespace

IndexStats build_index(const std::vector<fs::path>& sources, const fs::path& index) {
  const std::vector<SourceFile> files = collect(sources);
  try {
    if (index.has_parent_path()) fs::create_directories(index.parent_path());
    auto db = sqlite::open(index, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3* h = db.get();
    register_tokenizer(h);
    sqlite::exec(h, "BEGIN IMMEDIATE");
    {
      auto probe = sqlite::prepare(
          h,
          "SELECT count(*) FROM sqlite_schema WHERE name NOT IN "
          "('meta','files','docs','docs_by_file','docs_insert','docs_delete') "
          "AND name NOT LIKE 'docs\\_fts%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
      sqlite3_step(probe.get());
      if (sqlite3_column_int64(probe.get(), 0) > 0)
        throw IndexError(index.string() + " is an SQLite file but not an agentrt search index");
    }
    sqlite::exec(h, kSchema);
    {
      auto format = sqlite::prepare(h, "SELECT value FROM meta WHERE key = 'format'");
      if (sqlite3_step(format.get()) != SQLITE_ROW ||
          sqlite::column_text(format.get(), 0) != kFormat)
        throw IndexError(index.string() + " was built by an incompatible version; delete it");
    }

    std::map<fs::path, Known> known;
    {
      auto q = sqlite::prepare(h, "SELECT id, path, size, mtime_ns, hash FROM files");
      while (sqlite3_step(q.get()) == SQLITE_ROW) {
        known[fs::path(std::string(sqlite::column_text(q.get(), 1)))] =
            Known{sqlite3_column_int64(q.get(), 0), sqlite3_column_int64(q.get(), 2),
                  sqlite3_column_int64(q.get(), 3), std::string(sqlite::column_text(q.get(), 4))};
      }
    }
    auto touch =
        sqlite::prepare(h, "UPDATE files SET size = ?2, mtime_ns = ?3, hash = ?4 WHERE id = ?1");
    auto add_file = sqlite::prepare(
        h, "INSERT INTO files (path, size, mtime_ns, hash) VALUES (?1, ?2, ?3, ?4)");
    auto drop_docs = sqlite::prepare(h, "DELETE FROM docs WHERE file_id = ?1");
    auto drop_file = sqlite::prepare(h, "DELETE FROM files WHERE id = ?1");
    auto add_doc = sqlite::prepare(
        h, "INSERT INTO docs (file_id, doc_id, title, body, source) VALUES (?1, ?2, ?3, ?4, ?5)");

    IndexStats stats;
    std::set<fs::path> present;
    for (const SourceFile& file : files) {
      present.insert(file.path);
      std::error_code ec;
      const auto size = static_cast<int64_t>(fs::file_size(file.path, ec));
      if (ec) throw IndexError("cannot read " + file.path.string() + ": " + ec.message());
      const int64_t mtime = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                fs::last_write_time(file.path).time_since_epoch())
                                .count();
      auto it = known.find(file.path);
      if (it != known.end() && it->second.size == size && it->second.mtime_ns == mtime) {
        ++stats.unchanged;
        continue;
      }
      const std::string content = read_file(file.path);
      const std::string hash = fnv1a_hex(content);
      int64_t file_id = 0;
      if (it != known.end()) {
        file_id = it->second.id;
        sqlite3_bind_int64(touch.get(), 1, file_id);
        sqlite3_bind_int64(touch.get(), 2, size);
        sqlite3_bind_int64(touch.get(), 3, mtime);
        bind_text(touch.get(), 4, hash);
        sqlite::step_done(h, touch.get());
        if (it->second.hash == hash) {  // touched, not changed
          ++stats.unchanged;
          continue;
        }
        sqlite3_bind_int64(drop_docs.get(), 1, file_id);
        sqlite::step_done(h, drop_docs.get());
        ++stats.updated;
      } else {
        bind_text(add_file.get(), 1, file.path.string());
        sqlite3_bind_int64(add_file.get(), 2, size);
        sqlite3_bind_int64(add_file.get(), 3, mtime);
        bind_text(add_file.get(), 4, hash);
        sqlite::step_done(h, add_file.get());
        file_id = sqlite3_last_insert_rowid(h);
        ++stats.added;
      }
      for (const Document& doc : parse_documents(file.path, file.name, content)) {
        sqlite3_bind_int64(add_doc.get(), 1, file_id);
        bind_text(add_doc.get(), 2, doc.id);
        bind_text(add_doc.get(), 3, doc.title);
        bind_text(add_doc.get(), 4, doc.text);
        bind_text(add_doc.get(), 5, doc.source);
        sqlite::step_done(h, add_doc.get());
      }
    }
    for (const auto& [path, k] : known) {
      if (present.count(path)) continue;
      sqlite3_bind_int64(drop_docs.get(), 1, k.id);
      sqlite::step_done(h, drop_docs.get());
      sqlite3_bind_int64(drop_file.get(), 1, k.id);
      sqlite::step_done(h, drop_file.get());
      ++stats.removed;
    }
    // Merging FTS5's segments keeps queries fast after many small changes.
    if (stats.added + stats.updated + stats.removed > 0)
      sqlite::exec(h, "INSERT INTO docs_fts (docs_fts) VALUES ('optimize')");
    auto count = sqlite::prepare(h, "SELECT count(*) FROM docs");
    sqlite3_step(count.get());
    stats.documents = sqlite3_column_int64(count.get(), 0);
    // Readers need the collection size on every open; counting 100,000 rows each time is not free.
    auto store =
        sqlite::prepare(h, "INSERT OR REPLACE INTO meta (key, value) VALUES ('documents', ?1)");
    bind_text(store.get(), 1, std::to_string(stats.documents));
    sqlite::step_done(h, store.get());
    sqlite::exec(h, "COMMIT");
    return stats;
  } catch (const sqlite::SqliteError& e) {
    throw IndexError(index.string() + ": " + e.what());
  }
}

struct SearchIndex::Impl {
  sqlite::DbPtr db;
  sqlite::StmtPtr query;
  sqlite::StmtPtr doc_frequency;
  int64_t n_docs = 0;

  // Terms found in more than this share of the documents are left out of a query that has
  // rarer terms: scoring them means visiting most of the collection, and their BM25 weight
  // (idf = ln((N - n + 0.5) / (n + 0.5))) is small, zero from half the collection on.
  static constexpr double kCommonShare = 0.2;
  // Small collections are cheap to score in full.
  static constexpr int64_t kMinDocsForPruning = 5000;

  // The terms worth scoring; `all_common` is set when every term is common.
  std::vector<std::string> useful_terms(std::vector<std::string> terms, bool& all_common) const;
  std::vector<SearchHit> run(const std::string& expr, int k, const std::vector<std::string>& terms,
                             const std::function<bool()>& should_stop) const;
};

std::vector<std::string> SearchIndex::Impl::useful_terms(std::vector<std::string> terms,
                                                         bool& all_common) const {
  all_common = false;
  if (n_docs < kMinDocsForPruning) return terms;
  const auto limit = static_cast<int64_t>(kCommonShare * static_cast<double>(n_docs));
  std::vector<std::string> kept;
  for (const std::string& term : terms) {
    // A term is as selective as its rarest index token (a phrase needs all of them).
    int64_t df = n_docs;
    for (const std::string& token : index_tokens(db.get(), term)) {
      bind_text(doc_frequency.get(), 1, token);
      df = std::min<int64_t>(df, sqlite3_step(doc_frequency.get()) == SQLITE_ROW
                                     ? sqlite3_column_int64(doc_frequency.get(), 0)
                                     : 0);
      sqlite3_reset(doc_frequency.get());
    }
    if (df <= limit) kept.push_back(term);
  }
  all_common = kept.empty();
  return all_common ? terms : kept;
}

SearchIndex::SearchIndex(const fs::path& index) : impl_(std::make_unique<Impl>()) {
  if (!fs::is_regular_file(index))
    throw IndexError("no search index at " + index.string() +
                     " (build one with: agentrt index build SOURCES... --out " + index.string() +
                     ")");
  try {
    impl_->db = sqlite::open(index, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
    sqlite3* h = impl_->db.get();
    register_tokenizer(h);
    auto format = sqlite::prepare(h, "SELECT value FROM meta WHERE key = 'format'");
    if (sqlite3_step(format.get()) != SQLITE_ROW || sqlite::column_text(format.get(), 0) != kFormat)
      throw IndexError(index.string() + " was built by an incompatible version; rebuild it");
    impl_->query = sqlite::prepare(
        h,
        "SELECT d.doc_id, d.title, d.body, d.source, f.rank FROM "
        "(SELECT rowid, rank FROM docs_fts WHERE docs_fts MATCH ?1 ORDER BY rank LIMIT ?2) AS f "
        "JOIN docs AS d ON d.id = f.rowid ORDER BY f.rank");
    // The temp schema is writable on a read-only connection; the vocabulary table is a view
    // of the index, not a copy.
    sqlite::exec(h, "CREATE VIRTUAL TABLE temp.vocabulary USING fts5vocab(main, docs_fts, row)");
    impl_->doc_frequency = sqlite::prepare(h, "SELECT doc FROM temp.vocabulary WHERE term = ?1");
    auto count = sqlite::prepare(
        h,
        "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'documents'), "
        "(SELECT count(*) FROM docs))");
    sqlite3_step(count.get());
    impl_->n_docs = sqlite3_column_int64(count.get(), 0);
  } catch (const sqlite::SqliteError& e) {
    throw IndexError(index.string() + " is not an agentrt search index: " + e.what());
  }
}

SearchIndex::~SearchIndex() = default;
SearchIndex::SearchIndex(SearchIndex&&) noexcept = default;
SearchIndex& SearchIndex::operator=(SearchIndex&&) noexcept = default;

std::vector<SearchHit> SearchIndex::Impl::run(const std::string& expr, int k,
                                              const std::vector<std::string>& terms,
                                              const std::function<bool()>& should_stop) const {
  sqlite3* h = db.get();
  sqlite3_stmt* stmt = query.get();
  bind_text(stmt, 1, expr);
  sqlite3_bind_int(stmt, 2, k);
  std::optional<sqlite::ProgressGuard> guard;
  if (should_stop) guard.emplace(h, should_stop);
  std::vector<SearchHit> hits;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    SearchHit hit;
    hit.id = sqlite::column_text(stmt, 0);
    hit.title = sqlite::column_text(stmt, 1);
    hit.snippet = make_snippet(sqlite::column_text(stmt, 2), terms, kSnippetBytes);
    hit.source = sqlite::column_text(stmt, 3);
    hit.score = -sqlite3_column_double(stmt, 4);
    hits.push_back(std::move(hit));
  }
  const bool stopped = guard && guard->fired();
  const std::string error = rc == SQLITE_DONE ? "" : sqlite3_errmsg(h);
  guard.reset();
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (stopped) throw IndexError("search stopped (time limit or cancelled)");
  if (rc != SQLITE_DONE) throw IndexError("search failed: " + error);
  return hits;
}

std::vector<SearchHit> SearchIndex::search(std::string_view query, int k,
                                           const std::function<bool()>& should_stop) const {
  const std::vector<std::string> terms = query_terms(query);
  if (terms.empty() || k <= 0) return {};
  std::vector<std::string> used;
  bool all_common = false;
  try {
    used = impl_->useful_terms(terms, all_common);
  } catch (const sqlite::SqliteError& e) {
    throw IndexError(std::string("search failed: ") + e.what());
  }
  const std::string expr = match_expression_of(used);
  // Only common terms: documents that have them in the title come first (they rank high anyway,
  // at a title weight of 3), which spares scoring most of the collection when there are k.
  if (all_common) {
    auto hits = impl_->run("title : (" + expr + ")", k, used, should_stop);
    if (static_cast<int>(hits.size()) == k) return hits;
  }
  return impl_->run(expr, k, used, should_stop);
}

int64_t SearchIndex::size() const {
  return impl_->n_docs;
}

}  // namespace agentrt::plugins::search
