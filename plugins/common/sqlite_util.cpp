#include "sqlite_util.h"

namespace agentrt::plugins::sqlite {

DbPtr open(const std::filesystem::path& file, int flags) {
  const std::string name = std::filesystem::absolute(file).string();
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    const std::string reason = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw SqliteError("cannot open SQLite database " + name + ": " + reason, rc);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

DbPtr open_memory() {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) throw SqliteError("cannot open an in-memory SQLite database", rc);
  return db;
}

void check(sqlite3* db, int rc, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  throw SqliteError(std::string(what) + ": " + sqlite3_errmsg(db), rc);
}

StmtPtr prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  StmtPtr stmt(raw);
  check(db, rc, "SQLite prepare");
  return stmt;
}

void exec(sqlite3* db, const char* sql) {
  check(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), "SQLite exec");
}

void step_done(sqlite3* db, sqlite3_stmt* stmt) {
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) check(db, rc, "SQLite step");
  sqlite3_reset(stmt);
}

std::string_view column_text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  if (!text) return {};
  return {text, static_cast<size_t>(sqlite3_column_bytes(stmt, column))};
}

ProgressGuard::ProgressGuard(sqlite3* db, std::function<bool()> should_stop, int period)
    : db_(db), should_stop_(std::move(should_stop)) {
  sqlite3_progress_handler(db_, period, &ProgressGuard::on_progress, this);
}

ProgressGuard::~ProgressGuard() {
  sqlite3_progress_handler(db_, 0, nullptr, nullptr);
}

int ProgressGuard::on_progress(void* self) noexcept {
  auto* guard = static_cast<ProgressGuard*>(self);
  if (guard->fired_) return 1;
  try {
    guard->fired_ = guard->should_stop_();
  } catch (...) {
    guard->fired_ = true;
  }
  return guard->fired_ ? 1 : 0;
}

char32_t decode_utf8(std::string_view s, size_t i, size_t& length) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  length = 1;
  if (b0 < 0x80) return b0;
  size_t n = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return kReplacement;
  }
  if (i + n > s.size()) return kReplacement;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return kReplacement;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kReplacement;
  length = n;
  return cp;
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    size_t n = 0;
    const char32_t c = decode_utf8(bytes, i, n);
    if (c == kReplacement && n == 1) {
      out += "\xEF\xBF\xBD";
    } else {
      out.append(bytes.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string_view utf8_prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace agentrt::plugins::sqlite
