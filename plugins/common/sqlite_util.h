// RAII handles and small helpers for the plugins that use SQLite (sql, search). Internal to
// plugins/; not a public header.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <sqlite3.h>

namespace agentrt::plugins::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

class SqliteError : public std::runtime_error {
 public:
  SqliteError(const std::string& message, int code) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// Opens `file` with `flags` (SQLITE_OPEN_*). The path is made absolute first so that a name
// starting with "file:" is never read as a URI. Throws SqliteError naming the file.
DbPtr open(const std::filesystem::path& file, int flags);

// A private in-memory database. Throws SqliteError.
DbPtr open_memory();

// Prepares one statement; throws SqliteError with SQLite's message.
StmtPtr prepare(sqlite3* db, std::string_view sql);

// Runs SQL that returns no rows (schema set-up, pragmas); throws SqliteError.
void exec(sqlite3* db, const char* sql);

// Steps a statement that returns no rows; throws SqliteError on failure.
void step_done(sqlite3* db, sqlite3_stmt* stmt);

// Throws SqliteError("<what>: <sqlite message>") when rc is not SQLITE_OK/ROW/DONE.
void check(sqlite3* db, int rc, std::string_view what);

std::string_view column_text(sqlite3_stmt* stmt, int column);

// Installs a progress handler that interrupts the running statement once `should_stop` returns
// true (checked every `period` virtual-machine instructions); removes it on destruction.
// `should_stop` must outlive the guard.
class ProgressGuard {
 public:
  ProgressGuard(sqlite3* db, std::function<bool()> should_stop, int period = 1000);
  ~ProgressGuard();
  ProgressGuard(const ProgressGuard&) = delete;
  ProgressGuard& operator=(const ProgressGuard&) = delete;
  bool fired() const { return fired_; }

 private:
  static int on_progress(void* self) noexcept;
  sqlite3* db_;
  std::function<bool()> should_stop_;
  bool fired_ = false;
};

inline constexpr char32_t kReplacement = 0xFFFD;

// The code point at s[i] and its length in bytes. An invalid sequence (overlong, surrogate, past
// U+10FFFF, cut short) decodes as kReplacement with length 1.
char32_t decode_utf8(std::string_view s, size_t i, size_t& length);

// Valid UTF-8 copy of `bytes`: each invalid sequence becomes U+FFFD. JSON output needs this.
std::string sanitize_utf8(std::string_view bytes);

// The longest prefix of valid UTF-8 `text` that fits in `max_bytes` without splitting a code
// point.
std::string_view utf8_prefix(std::string_view text, size_t max_bytes);

}  // namespace agentrt::plugins::sqlite
