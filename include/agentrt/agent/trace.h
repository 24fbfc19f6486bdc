// The trace database: every run and each of its steps, in SQLite (WAL mode). Each step is
// committed as it finishes, so a killed process loses no finished step.
//
// Tables: runs (task, prompt, the task as JSON, dialect, model, sampling settings and seed,
// answer, outcome, reason, counts, times, passed) and steps (prompt delta, model output, parsed
// calls with their results, timings and counts), keyed by (run_id, step).
//
// Errors: opening, creating or writing throws TraceError naming the file and SQLite's message.
// Thread-safety: a TraceDb is used by one thread at a time; several processes may share a file.
// Ownership: owns its connection (closed by the destructor).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agentrt/agent/agent.h"
#include "agentrt/tools/config.h"

struct sqlite3;

namespace agentrt::agent {

class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a run is started with.
struct RunInfo {
  std::string task;  // the task's name
  std::string prompt;
  nlohmann::json task_json = nlohmann::json::object();  // the task as loaded (for replay)
  std::string dialect;
  std::string model;
  nlohmann::json sampling = nlohmann::json::object();  // temperature, top_k, ...
  uint64_t seed = 0;
  // How the loop was set up (system_prompt, tool_prompt, max_tokens_per_step, token_budget,
  // n_ctx, ...), so that a replay can set it up the same way.
  nlohmann::json settings = nlohmann::json::object();
};

struct RunRecord {
  int64_t id = 0;
  std::string started_at;   // UTC, ISO 8601
  std::string finished_at;  // empty while the run is unfinished (or its process died)
  RunInfo info;
  std::string answer;
  std::string outcome;  // outcome_name(); empty while unfinished
  std::string reason;
  std::optional<bool> passed;  // the task's expectations, when checked
  int64_t n_steps = 0;
  int64_t n_prefill = 0;
  int64_t n_generated = 0;
  double wall_ms = 0;
};

struct StepRecord {
  int index = 0;
  std::string prompt_delta;
  std::string model_text;
  std::string end;  // generation_end_name()
  std::optional<std::string> answer;
  nlohmann::json calls = nlohmann::json::array();  // [{id, name, arguments, valid, result}]
  int64_t n_prefill = 0;
  int64_t n_generated = 0;
  std::vector<int32_t> tokens;  // generated token ids (empty in traces of models without ids)
  int64_t context_tokens = 0;
  double prefill_ms = 0;
  double generate_ms = 0;
  double tool_ms = 0;
};

void to_json(nlohmann::json& j, const RunRecord& run);
void to_json(nlohmann::json& j, const StepRecord& step);
StepRecord step_record(const Step& step);

class TraceDb {
 public:
  // Opens (creating the file, its folders and the tables when needed) in WAL mode.
  explicit TraceDb(const std::filesystem::path& path);
  ~TraceDb();
  TraceDb(const TraceDb&) = delete;
  TraceDb& operator=(const TraceDb&) = delete;

  // $XDG_DATA_HOME/agentrt/traces.db, else ~/.local/share/agentrt/traces.db.
  static std::filesystem::path default_path();
  // trace.database from CONFIG, else default_path().
  static std::filesystem::path path_from_config(const tools::Config& config);

  int64_t begin_run(const RunInfo& info);  // the new run's id
  void add_step(int64_t run_id, const Step& step);
  void finish_run(int64_t run_id, const RunResult& result, std::optional<bool> passed);

  std::vector<RunRecord> list_runs(int limit = 50) const;  // newest first
  std::optional<RunRecord> find_run(int64_t run_id) const;
  std::vector<StepRecord> steps(int64_t run_id) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Closer {
    void operator()(sqlite3* db) const noexcept;
  };
  void exec(const char* sql);
  std::filesystem::path path_;
  std::unique_ptr<sqlite3, Closer> db_;
};

}  // namespace agentrt::agent
