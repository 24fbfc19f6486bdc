// The SQLite trace database (see trace.h).
#include "agentrt/agent/trace.h"

#include <sqlite3.h>

#include <cstdlib>
#include <ctime>
#include <system_error>

namespace agentrt::agent {
namespace {

using nlohmann::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  task TEXT NOT NULL,
  prompt TEXT NOT NULL,
  task_json TEXT NOT NULL,
  dialect TEXT NOT NULL,
  model TEXT NOT NULL,
  sampling TEXT NOT NULL,
  seed INTEGER NOT NULL,
  settings TEXT NOT NULL DEFAULT '{}',
  answer TEXT,
  outcome TEXT,
  reason TEXT,
  passed INTEGER,
  n_steps INTEGER NOT NULL DEFAULT 0,
  n_prefill INTEGER NOT NULL DEFAULT 0,
  n_generated INTEGER NOT NULL DEFAULT 0,
  wall_ms REAL
);
CREATE TABLE IF NOT EXISTS steps (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  prompt_delta TEXT NOT NULL,
  model_text TEXT NOT NULL,
  end_reason TEXT NOT NULL,
  answer TEXT,
  calls TEXT NOT NULL,
  n_prefill INTEGER NOT NULL,
  n_generated INTEGER NOT NULL,
  context_tokens INTEGER NOT NULL,
  prefill_ms REAL NOT NULL,
  generate_ms REAL NOT NULL,
  tool_ms REAL NOT NULL,
  tokens TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (run_id, step)
);
)sql";

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};

// A prepared statement with positional binding; errors throw TraceError with the file's name.
class Statement {
 public:
  Statement(sqlite3* db, const std::filesystem::path& path, const char* sql)
      : db_(db), path_(path) {
    sqlite3_stmt* raw = nullptr;
    check(sqlite3_prepare_v2(db, sql, -1, &raw, nullptr));
    stmt_.reset(raw);
  }
  Statement& bind(std::string_view text) {
    check(sqlite3_bind_text(stmt_.get(), ++next_, text.data(), static_cast<int>(text.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind(int64_t value) {
    check(sqlite3_bind_int64(stmt_.get(), ++next_, value));
    return *this;
  }
  Statement& bind(double value) {
    check(sqlite3_bind_double(stmt_.get(), ++next_, value));
    return *this;
  }
  Statement& bind_null() {
    check(sqlite3_bind_null(stmt_.get(), ++next_));
    return *this;
  }
  bool step() {
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) check(rc);
    return false;
  }
  std::string text(int column) const {
    const auto* p = sqlite3_column_text(stmt_.get(), column);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column)))
             : std::string();
  }
  int64_t integer(int column) const { return sqlite3_column_int64(stmt_.get(), column); }
  double real(int column) const { return sqlite3_column_double(stmt_.get(), column); }
  bool is_null(int column) const { return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL; }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK)
      throw TraceError("trace database " + path_.string() + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  const std::filesystem::path& path_;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
  int next_ = 0;
};

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json parse_or_null(const std::string& text) {
  return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

constexpr const char* kRunColumns =
    "id, started_at, finished_at, task, prompt, task_json, dialect, model, sampling, seed, answer, "
    "outcome, reason, passed, n_steps, n_prefill, n_generated, wall_ms, settings";

RunRecord read_run(const Statement& s) {
  RunRecord r;
  r.id = s.integer(0);
  r.started_at = s.text(1);
  r.finished_at = s.text(2);
  r.info.task = s.text(3);
  r.info.prompt = s.text(4);
  r.info.task_json = parse_or_null(s.text(5));
  r.info.dialect = s.text(6);
  r.info.model = s.text(7);
  r.info.sampling = parse_or_null(s.text(8));
  r.info.seed = static_cast<uint64_t>(s.integer(9));
  r.answer = s.text(10);
  r.outcome = s.text(11);
  r.reason = s.text(12);
  if (!s.is_null(13)) r.passed = s.integer(13) != 0;
  r.n_steps = s.integer(14);
  r.n_prefill = s.integer(15);
  r.n_generated = s.integer(16);
  r.wall_ms = s.real(17);
  r.info.settings = parse_or_null(s.text(18));
  return r;
}

}  // namespace

void to_json(json& j, const RunRecord& r) {
  j = {{"id", r.id},
       {"started_at", r.started_at},
       {"finished_at", r.finished_at.empty() ? json(nullptr) : json(r.finished_at)},
       {"task", r.info.task},
       {"prompt", r.info.prompt},
       {"dialect", r.info.dialect},
       {"model", r.info.model},
       {"sampling", r.info.sampling},
       {"seed", r.info.seed},
       {"settings", r.info.settings},
       {"answer", r.answer},
       {"outcome", r.outcome.empty() ? json(nullptr) : json(r.outcome)},
       {"reason", r.reason},
       {"passed", r.passed ? json(*r.passed) : json(nullptr)},
       {"steps", r.n_steps},
       {"tokens_prefilled", r.n_prefill},
       {"tokens_generated", r.n_generated},
       {"wall_ms", r.wall_ms}};
}

void to_json(json& j, const StepRecord& s) {
  j = {{"step", s.index},
       {"prompt_delta", s.prompt_delta},
       {"model_text", s.model_text},
       {"end", s.end},
       {"answer", s.answer ? json(*s.answer) : json(nullptr)},
       {"calls", s.calls},
       {"tokens_prefilled", s.n_prefill},
       {"tokens_generated", s.n_generated},
       {"generated_token_ids", s.tokens},
       {"context_tokens", s.context_tokens},
       {"prefill_ms", s.prefill_ms},
       {"generate_ms", s.generate_ms},
       {"tool_ms", s.tool_ms}};
}

StepRecord step_record(const Step& step) {
  StepRecord r;
  r.index = step.index;
  r.prompt_delta = step.prompt_delta;
  r.model_text = step.model_text;
  r.end = generation_end_name(step.end);
  r.answer = step.answer;
  for (const StepCall& c : step.calls) {
    r.calls.push_back({{"id", c.call.id},
                       {"name", c.call.name},
                       {"arguments", c.call.arguments},
                       {"valid", c.valid},
                       {"result", c.result}});
  }
  r.n_prefill = step.n_prefill;
  r.n_generated = step.n_generated;
  r.tokens = step.generated_tokens;
  r.context_tokens = step.context_tokens;
  r.prefill_ms = step.prefill_ms;
  r.generate_ms = step.generate_ms;
  r.tool_ms = step.tool_ms;
  return r;
}

void TraceDb::Closer::operator()(sqlite3* db) const noexcept {
  sqlite3_close_v2(db);
}

TraceDb::TraceDb(const std::filesystem::path& path) : path_(path) {
  if (path_.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec)
      throw TraceError("trace database " + path_.string() +
                       ": cannot create its folder: " + ec.message());
  }
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path_.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);
  if (rc != SQLITE_OK)
    throw TraceError("trace database " + path_.string() + ": " +
                     (raw ? sqlite3_errmsg(raw) : "out of memory"));
  sqlite3_busy_timeout(db_.get(), 5000);
  exec("PRAGMA journal_mode=WAL");
  // With WAL, NORMAL still survives a killed process; only a power cut may lose the last commit.
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA foreign_keys=ON");
  exec(kSchema);
  // Databases written before token ids were recorded lack the column.
  sqlite3_stmt* probe = nullptr;
  const int has_tokens =
      sqlite3_prepare_v2(db_.get(), "SELECT tokens FROM steps LIMIT 0", -1, &probe, nullptr);
  sqlite3_finalize(probe);
  if (has_tokens != SQLITE_OK)
    exec("ALTER TABLE steps ADD COLUMN tokens TEXT NOT NULL DEFAULT '[]'");
}

TraceDb::~TraceDb() = default;

void TraceDb::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db_.get());
    sqlite3_free(message);
    throw TraceError("trace database " + path_.string() + ": " + text);
  }
}

std::filesystem::path TraceDb::default_path() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "agentrt" / "traces.db";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : ".") / ".local" / "share" / "agentrt" /
         "traces.db";
}

std::filesystem::path TraceDb::path_from_config(const tools::Config& config) {
  return config.get_path("trace.database", default_path());
}

int64_t TraceDb::begin_run(const RunInfo& info) {
  Statement s(db_.get(), path_,
              "INSERT INTO runs (started_at, task, prompt, task_json, dialect, model, sampling, "
              "seed, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(utc_now())
      .bind(info.task)
      .bind(info.prompt)
      .bind(dump(info.task_json))
      .bind(info.dialect)
      .bind(info.model)
      .bind(dump(info.sampling))
      .bind(static_cast<int64_t>(info.seed))
      .bind(dump(info.settings));
  s.step();
  return sqlite3_last_insert_rowid(db_.get());
}

void TraceDb::add_step(int64_t run_id, const Step& step) {
  const StepRecord r = step_record(step);
  Statement s(db_.get(), path_,
              "INSERT OR REPLACE INTO steps (run_id, step, prompt_delta, model_text, end_reason, "
              "answer, calls, n_prefill, n_generated, context_tokens, prefill_ms, generate_ms, "
              "tool_ms, tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(run_id)
      .bind(static_cast<int64_t>(r.index))
      .bind(r.prompt_delta)
      .bind(r.model_text)
      .bind(r.end);
  if (r.answer) {
    s.bind(*r.answer);
  } else {
    s.bind_null();
  }
  s.bind(dump(r.calls))
      .bind(r.n_prefill)
      .bind(r.n_generated)
      .bind(r.context_tokens)
      .bind(r.prefill_ms)
      .bind(r.generate_ms)
      .bind(r.tool_ms)
      .bind(json(r.tokens).dump());
  s.step();
  Statement u(db_.get(), path_,
              "UPDATE runs SET n_steps = n_steps + 1, n_prefill = n_prefill + ?, n_generated = "
              "n_generated + ? WHERE id = ?");
  u.bind(r.n_prefill).bind(r.n_generated).bind(run_id);
  u.step();
}

void TraceDb::finish_run(int64_t run_id, const RunResult& result, std::optional<bool> passed) {
  Statement s(db_.get(), path_,
              "UPDATE runs SET finished_at = ?, answer = ?, outcome = ?, reason = ?, passed = ?, "
              "n_steps = ?, n_prefill = ?, n_generated = ?, wall_ms = ? WHERE id = ?");
  s.bind(utc_now()).bind(result.answer).bind(outcome_name(result.outcome)).bind(result.reason);
  if (passed) {
    s.bind(static_cast<int64_t>(*passed));
  } else {
    s.bind_null();
  }
  s.bind(static_cast<int64_t>(result.steps.size()))
      .bind(result.n_prefill)
      .bind(result.n_generated)
      .bind(result.wall_ms)
      .bind(run_id);
  s.step();
}

std::vector<RunRecord> TraceDb::list_runs(int limit) const {
  Statement s(
      db_.get(), path_,
      (std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY id DESC LIMIT ?").c_str());
  s.bind(static_cast<int64_t>(limit));
  std::vector<RunRecord> runs;
  while (s.step()) runs.push_back(read_run(s));
  return runs;
}

std::optional<RunRecord> TraceDb::find_run(int64_t run_id) const {
  Statement s(db_.get(), path_,
              (std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?").c_str());
  s.bind(run_id);
  if (!s.step()) return std::nullopt;
  return read_run(s);
}

std::vector<StepRecord> TraceDb::steps(int64_t run_id) const {
  Statement s(db_.get(), path_,
              "SELECT step, prompt_delta, model_text, end_reason, answer, calls, n_prefill, "
              "n_generated, context_tokens, prefill_ms, generate_ms, tool_ms, tokens FROM steps "
              "WHERE run_id = ? ORDER BY step");
  s.bind(run_id);
  std::vector<StepRecord> out;
  while (s.step()) {
    StepRecord r;
    r.index = static_cast<int>(s.integer(0));
    r.prompt_delta = s.text(1);
    r.model_text = s.text(2);
    r.end = s.text(3);
    if (!s.is_null(4)) r.answer = s.text(4);
    r.calls = parse_or_null(s.text(5));
    r.n_prefill = s.integer(6);
    r.n_generated = s.integer(7);
    r.context_tokens = s.integer(8);
    r.prefill_ms = s.real(9);
    r.generate_ms = s.real(10);
    r.tool_ms = s.real(11);
    if (const json ids = parse_or_null(s.text(12)); ids.is_array()) {
      for (const json& id : ids)
        if (id.is_number_integer()) r.tokens.push_back(id.get<int32_t>());
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace agentrt::agent
