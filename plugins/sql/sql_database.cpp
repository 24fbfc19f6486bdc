#include "sql_database.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <optional>

#include <agentrt/tools/config.h>

#include "printf_guard.h"
#include "sqlite_util.h"

namespace agentrt::plugins::sql {
namespace {

using tools::ToolResult;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// Widest printf() field: far more than any report needs, fast to build.
constexpr int64_t kMaxPrintfWidth = 100'000;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view n) { return iequals(n, name); });
}

// What the authorizer decided against, so the refusal names its reason.
struct AuthState {
  bool writable = false;
  std::string refusal;
};

int deny(AuthState& state, std::string_view reason) noexcept {
  try {
    if (state.refusal.empty()) state.refusal = reason;
  } catch (...) {
  }
  return SQLITE_DENY;
}

bool is_write_action(int action) {
  switch (action) {
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VIEW:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW:
    case SQLITE_ALTER_TABLE:
    case SQLITE_REINDEX:
    case SQLITE_ANALYZE:
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      return true;
    default:
      return false;
  }
}

// Default deny: only the actions listed here run. Called by SQLite while it prepares a statement.
int authorize(void* user, int action, const char* arg3, const char* arg4, const char*,
              const char*) noexcept {
  auto& state = *static_cast<AuthState*>(user);
  const std::string_view a3 = arg3 ? arg3 : "";
  const std::string_view a4 = arg4 ? arg4 : "";
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_FUNCTION:
      // fts3_tokenizer() with two arguments can install a tokenizer from a raw pointer.
      if (is_one_of(a4, {"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"}))
        return deny(state, "function " + std::string(a4) + "() is not allowed");
      return SQLITE_OK;
    case SQLITE_PRAGMA:
      // Pragmas that describe an object: their argument is a name, never a new setting.
      if (is_one_of(a3, {"table_info", "table_xinfo", "table_list", "index_list", "index_info",
                         "index_xinfo", "foreign_key_list", "collation_list", "function_list",
                         "module_list", "pragma_list", "database_list", "compile_options"}))
        return SQLITE_OK;
      // Settings that may be read (no argument) but not changed.
      if (a4.empty() &&
          is_one_of(a3, {"user_version", "application_id", "schema_version", "data_version",
                         "page_count", "page_size", "freelist_count", "encoding", "foreign_keys"}))
        return SQLITE_OK;
      return deny(state, "PRAGMA " + std::string(a3) + (a4.empty() ? "" : " with a value") +
                             " is not allowed");
    case SQLITE_UPDATE:
      // Connecting an eponymous virtual table (json_each, pragma_table_info) is checked as an
      // update of sqlite_master's columns. A real update of sqlite_master is still stopped by
      // defensive mode (writable_schema stays refused), and by the read-only open.
      if (iequals(a3, "sqlite_master")) return SQLITE_OK;
      if (state.writable) return SQLITE_OK;
      return deny(state, "the database is read-only (only SELECT queries run)");
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      return deny(state, "ATTACH and DETACH are not allowed");
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
      return deny(state, "virtual tables cannot be created or dropped");
    default:
      if (is_write_action(action)) {
        if (state.writable) return SQLITE_OK;
        return deny(state, "the database is read-only (only SELECT queries run)");
      }
      return deny(state, "this kind of statement is not allowed");
  }
}

struct Connection {
  sqlite::DbPtr db;
  std::unique_ptr<AuthState> auth;
};

Connection connect(const SqlOptions& options) {
  const int flags =
      (options.writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
  Connection c{sqlite::open(options.database, flags), std::make_unique<AuthState>()};
  sqlite3* db = c.db.get();
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, nullptr);
  const auto clamp_int = [](int64_t v) { return static_cast<int>(std::min<int64_t>(v, 1 << 30)); };
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, clamp_int(options.max_value_bytes));
  sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, 100'000);
  sqlite3_limit(db, SQLITE_LIMIT_COLUMN, 1000);
  sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, 200);
  sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, 100);
  sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, 32);
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 10'000);
  sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, 32);
  sqlite3_limit(db, SQLITE_LIMIT_TRIGGER_DEPTH, 10);
  sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, 0);
  sqlite3_busy_timeout(db, 1000);
  install_printf_guard(db, kMaxPrintfWidth);
  if (!options.writable) sqlite::exec(db, "PRAGMA query_only = 1");
  c.auth->writable = options.writable;
  sqlite3_set_authorizer(db, &authorize, c.auth.get());
  return c;
}

// One tool call's connection, stopped at the configured time limit or the call's deadline,
// whichever comes first, or when the call is cancelled.
struct Call {
  Call(const SqlOptions& options, const tools::ToolContext& ctx)
      : conn(connect(options)),
        deadline(std::min(Clock::now() + options.timeout, ctx.deadline())),
        guard(conn.db.get(), [this, &ctx] { return ctx.cancelled() || Clock::now() >= deadline; }) {
  }
  sqlite3* db() const { return conn.db.get(); }
  ToolResult stopped(std::chrono::milliseconds limit) const;

  Connection conn;
  Clock::time_point deadline;
  sqlite::ProgressGuard guard;
};

// Skips whitespace, ';' and comments.
std::string_view skip_noise(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const char ch = s[i];
    if (std::isspace(static_cast<unsigned char>(ch)) || ch == ';') {
      ++i;
    } else if (s.substr(i, 2) == "--") {
      const size_t end = s.find('\n', i);
      i = end == std::string_view::npos ? s.size() : end + 1;
    } else if (s.substr(i, 2) == "/*") {
      const size_t end = s.find("*/", i + 2);
      i = end == std::string_view::npos ? s.size() : end + 2;
    } else {
      break;
    }
  }
  return s.substr(i);
}

bool starts_with_keyword(std::string_view sql, std::string_view keyword) {
  sql = skip_noise(sql);
  if (sql.size() < keyword.size() || !iequals(sql.substr(0, keyword.size()), keyword)) return false;
  return sql.size() == keyword.size() ||
         !(std::isalnum(static_cast<unsigned char>(sql[keyword.size()])) ||
           sql[keyword.size()] == '_');
}

// The model reads a tab-separated table: tabs and line breaks inside values are escaped.
void append_tsv_cell(std::string& out, std::string_view value) {
  for (char ch : value) {
    if (ch == '\t') {
      out += "\\t";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\r') {
      out += "\\r";
    } else {
      out += ch;
    }
  }
}

// One value as text for the table and as JSON for programs.
std::string cell(sqlite3_stmt* stmt, int column, size_t max_cell_bytes, json& value) {
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_INTEGER: {
      const int64_t v = sqlite3_column_int64(stmt, column);
      value = v;
      return std::to_string(v);
    }
    case SQLITE_FLOAT: {
      value = sqlite3_column_double(stmt, column);
      return std::string(sqlite::column_text(stmt, column));  // SQLite's %!.15g reads well
    }
    case SQLITE_NULL:
      value = nullptr;
      return "NULL";
    case SQLITE_BLOB: {
      std::string text = "<blob " + std::to_string(sqlite3_column_bytes(stmt, column)) + " bytes>";
      value = text;
      return text;
    }
    default: {
      std::string text = sqlite::sanitize_utf8(sqlite::column_text(stmt, column));
      if (text.size() > max_cell_bytes) {
        text = std::string(sqlite::utf8_prefix(text, max_cell_bytes)) + "…";
      }
      value = text;
      return text;
    }
  }
}

// Opens `call`; returns the failure to report when the database cannot be opened.
std::optional<ToolResult> open_call(std::optional<Call>& call, const SqlOptions& options,
                                    const tools::ToolContext& ctx) {
  try {
    call.emplace(options, ctx);
    return std::nullopt;
  } catch (const std::exception& e) {
    return ToolResult::failure(e.what());
  }
}

ToolResult Call::stopped(std::chrono::milliseconds limit) const {
  if (Clock::now() >= deadline)
    return ToolResult::failure("query stopped: it ran past the time limit (" +
                               std::to_string(limit.count()) + " ms); narrow it or add a LIMIT");
  return ToolResult::failure("query cancelled");
}

}  // namespace

SqlOptions options_from_config(const tools::Config& config,
                               const std::filesystem::path& fallback_database) {
  SqlOptions o;
  o.database = config.get_path("sql.database", fallback_database);
  o.writable = config.get_bool("sql.writable", false);
  const auto positive = [&](std::string_view key, int64_t fallback, int64_t minimum) {
    const int64_t v = config.get_int(key, fallback);
    if (v < minimum)
      throw tools::ConfigError(std::string(key) + " must be at least " + std::to_string(minimum) +
                               " (got " + std::to_string(v) + ")");
    return v;
  };
  o.timeout = std::chrono::milliseconds(positive("sql.timeout_ms", 2000, 1));
  o.max_rows = positive("sql.max_rows", o.max_rows, 1);
  o.max_bytes = positive("sql.max_bytes", o.max_bytes, 256);
  o.max_cell_bytes = positive("sql.max_cell_bytes", o.max_cell_bytes, 16);
  o.max_value_bytes = positive("sql.max_value_bytes", o.max_value_bytes, 1024);
  return o;
}

ToolResult SqlDatabase::query(std::string_view sql, const tools::ToolContext& ctx) const {
  if (skip_noise(sql).empty()) return ToolResult::failure("empty query: write one SQL statement");
  // VACUUM INTO writes a copy of the database to any path, even from a read-only connection.
  if (starts_with_keyword(sql, "VACUUM"))
    return ToolResult::failure("refused: VACUUM is not allowed");
  // REINDEX of a table without indexes passes the authorizer; it is maintenance, not a query.
  if (!options_.writable && starts_with_keyword(sql, "REINDEX"))
    return ToolResult::failure("refused: the database is read-only (only SELECT queries run)");

  std::optional<Call> call;
  if (auto failed = open_call(call, options_, ctx)) return *failed;
  sqlite3* db = call->db();

  // Empty statements (";;") before the real one prepare to nothing; step over them.
  sqlite::StmtPtr stmt;
  const char* tail = sql.data();
  const char* const end = sql.data() + sql.size();
  while (!stmt && tail < end) {
    sqlite3_stmt* raw = nullptr;
    const char* start = tail;
    const int rc = sqlite3_prepare_v2(db, start, static_cast<int>(end - start), &raw, &tail);
    stmt.reset(raw);
    if (rc != SQLITE_OK) {
      if (!call->conn.auth->refusal.empty())
        return ToolResult::failure("refused: " + call->conn.auth->refusal);
      return ToolResult::failure("SQL error: " + sqlite::sanitize_utf8(sqlite3_errmsg(db)));
    }
    if (tail == start) break;
  }
  if (!stmt) return ToolResult::failure("empty query: write one SQL statement");
  const std::string_view rest(tail, static_cast<size_t>(end - tail));
  if (!skip_noise(rest).empty())
    return ToolResult::failure(
        "refused: only one statement per call (remove everything after the first ';')");
  if (!options_.writable && !sqlite3_stmt_readonly(stmt.get()))
    return ToolResult::failure(
        "refused: the statement would change the database, which is read-only");

  const int n_cols = sqlite3_column_count(stmt.get());
  json columns = json::array();
  std::string text;
  for (int i = 0; i < n_cols; ++i) {
    const char* name = sqlite3_column_name(stmt.get(), i);
    std::string col = sqlite::sanitize_utf8(name ? name : "");
    if (i) text += '\t';
    append_tsv_cell(text, col);
    columns.push_back(std::move(col));
  }
  text += '\n';

  json rows = json::array();
  int64_t n_rows = 0;
  std::string cut;
  const size_t max_cell = static_cast<size_t>(options_.max_cell_bytes);
  for (;;) {
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      if (call->guard.fired()) return call->stopped(options_.timeout);
      return ToolResult::failure("SQL error: " + sqlite::sanitize_utf8(sqlite3_errmsg(db)));
    }
    if (n_rows == options_.max_rows) {
      cut = "the first " + std::to_string(n_rows) + " rows are shown (sql.max_rows)";
      break;
    }
    std::string line;
    json row = json::array();
    for (int i = 0; i < n_cols; ++i) {
      json value;
      const std::string shown = cell(stmt.get(), i, max_cell, value);
      if (i) line += '\t';
      append_tsv_cell(line, shown);
      row.push_back(std::move(value));
    }
    line += '\n';
    if (text.size() + line.size() > static_cast<size_t>(options_.max_bytes)) {
      cut = "the first " + std::to_string(n_rows) + " rows are shown (" +
            std::to_string(options_.max_bytes) + "-byte limit, sql.max_bytes)";
      break;
    }
    text += line;
    rows.push_back(std::move(row));
    ++n_rows;
  }

  if (n_cols == 0) {
    const int64_t changes = sqlite3_changes64(db);
    return ToolResult::success(
        "OK, " + std::to_string(changes) + (changes == 1 ? " row changed" : " rows changed"),
        json{{"columns", json::array()},
             {"rows", json::array()},
             {"truncated", false},
             {"changes", changes}});
  }
  if (cut.empty()) {
    text += "(" + std::to_string(n_rows) + (n_rows == 1 ? " row)" : " rows)");
  } else {
    text += "(result cut: " + cut + "; add a LIMIT, a WHERE clause or an aggregate)";
  }
  return ToolResult::success(std::move(text), json{{"columns", std::move(columns)},
                                                   {"rows", std::move(rows)},
                                                   {"truncated", !cut.empty()}});
}

ToolResult SqlDatabase::schema(std::string_view table, const tools::ToolContext& ctx) const {
  std::optional<Call> call;
  if (auto failed = open_call(call, options_, ctx)) return *failed;
  sqlite3* db = call->db();
  try {
    auto objects =
        sqlite::prepare(db,
                        "SELECT type, name, sql FROM sqlite_schema WHERE type IN ('table', 'view') "
                        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name");
    auto info =
        sqlite::prepare(db, "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)");
    json tables = json::array();
    std::string text;
    std::vector<std::string> names;
    while (sqlite3_step(objects.get()) == SQLITE_ROW) {
      const std::string name = sqlite::sanitize_utf8(sqlite::column_text(objects.get(), 1));
      names.push_back(name);
      if (!table.empty() && !iequals(name, table)) continue;
      json t{{"type", sqlite::column_text(objects.get(), 0)},
             {"name", name},
             {"sql", sqlite::sanitize_utf8(sqlite::column_text(objects.get(), 2))},
             {"columns", json::array()}};
      sqlite3_bind_text(info.get(), 1, name.c_str(), static_cast<int>(name.size()),
                        SQLITE_TRANSIENT);
      while (sqlite3_step(info.get()) == SQLITE_ROW) {
        t["columns"].push_back({{"name", sqlite::sanitize_utf8(sqlite::column_text(info.get(), 0))},
                                {"type", sqlite::sanitize_utf8(sqlite::column_text(info.get(), 1))},
                                {"not_null", sqlite3_column_int(info.get(), 2) != 0},
                                {"primary_key", sqlite3_column_int(info.get(), 3) != 0}});
      }
      sqlite3_reset(info.get());
      text += t["sql"].get<std::string>() + ";\n";
      tables.push_back(std::move(t));
    }
    if (call->guard.fired()) return call->stopped(options_.timeout);
    if (tables.empty()) {
      if (table.empty())
        return ToolResult::success("(the database has no tables)", {{"tables", tables}});
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      return ToolResult::failure("no table or view named '" + sqlite::sanitize_utf8(table) +
                                 "'; there are: " + (known.empty() ? "none" : known));
    }
    return ToolResult::success(std::move(text), json{{"tables", std::move(tables)}});
  } catch (const sqlite::SqliteError& e) {
    return ToolResult::failure(sqlite::sanitize_utf8(e.what()));
  }
}

}  // namespace agentrt::plugins::sql
