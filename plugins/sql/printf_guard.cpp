#include "printf_guard.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "sqlite_util.h"

namespace agentrt::plugins::sql {
namespace {

struct Guard {
  sqlite::DbPtr helper;
  int64_t max_width;
};

// Checks every width and precision of `format` (literal digits or '*' arguments) against the
// bound. Returns an error message, or an empty string when the call may run.
std::string check_format(const char* format, int argc, sqlite3_value** argv, int64_t max_width) {
  int next_arg = 1;
  const auto too_big = [&](int64_t v) {
    return "printf width or precision " + std::to_string(v) + " is larger than the limit of " +
           std::to_string(max_width);
  };
  for (const char* p = format; *p; ++p) {
    if (*p != '%') continue;
    ++p;
    if (*p == '%') continue;
    while (*p && std::strchr("-+ #0,!", *p)) ++p;
    for (int part = 0; part < 2; ++part) {  // width, then precision
      if (part == 1) {
        if (*p != '.') break;
        ++p;
      }
      if (*p == '*') {
        const int64_t v = next_arg < argc ? sqlite3_value_int64(argv[next_arg]) : 0;
        ++next_arg;
        ++p;
        if (v > max_width || v < -max_width) return too_big(v);
      } else {
        int64_t v = 0;
        while (std::isdigit(static_cast<unsigned char>(*p))) {
          v = v * 10 + (*p - '0');
          if (v > max_width) return too_big(v);
          ++p;
        }
      }
    }
    while (*p == 'l') ++p;
    if (!*p) break;
    ++next_arg;  // the value this conversion prints
  }
  return {};
}

void guarded_printf(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* guard = static_cast<Guard*>(sqlite3_user_data(ctx));
  if (argc < 1) return sqlite3_result_null(ctx);
  const auto* format = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  if (!format) return sqlite3_result_null(ctx);
  const std::string error = check_format(format, argc, argv, guard->max_width);
  if (!error.empty()) return sqlite3_result_error(ctx, error.c_str(), -1);

  std::string sql = "SELECT printf(?1";
  for (int i = 2; i <= argc; ++i) sql += ",?" + std::to_string(i);
  sql += ")";
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(guard->helper.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK)
    return sqlite3_result_error(ctx, sqlite3_errmsg(guard->helper.get()), -1);
  sqlite::StmtPtr stmt(raw);
  for (int i = 0; i < argc; ++i) sqlite3_bind_value(stmt.get(), i + 1, argv[i]);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW)
    return sqlite3_result_error(ctx, sqlite3_errmsg(guard->helper.get()), -1);
  sqlite3_result_value(ctx, sqlite3_column_value(stmt.get(), 0));
}

}  // namespace

void install_printf_guard(sqlite3* db, int64_t max_width) {
  const int max_length = sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1);
  for (const char* name : {"printf", "format"}) {
    auto guard = std::make_unique<Guard>(Guard{sqlite::open_memory(), max_width});
    sqlite3_limit(guard->helper.get(), SQLITE_LIMIT_LENGTH, max_length);
    // SQLite owns the guard from here on, also when registration fails.
    const int rc = sqlite3_create_function_v2(db, name, -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                              guard.release(), &guarded_printf, nullptr, nullptr,
                                              [](void* p) { delete static_cast<Guard*>(p); });
    if (rc != SQLITE_OK) throw sqlite::SqliteError("cannot register the printf guard", rc);
  }
}

}  // namespace agentrt::plugins::sql
