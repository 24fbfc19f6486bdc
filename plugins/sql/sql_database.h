// The guarded SQLite connection behind the sql tools: what the tools may run and how results are
// shaped. Internal to the sql plugin (tests include it directly).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <agentrt/tools/tool.h>

namespace agentrt::tools {
class Config;
}

namespace agentrt::plugins::sql {

struct SqlOptions {
  std::filesystem::path database;
  bool writable = false;
  std::chrono::milliseconds timeout{2000};
  int64_t max_rows = 200;
  int64_t max_bytes = 16384;
  int64_t max_cell_bytes = 1000;
  // SQLITE_LIMIT_LENGTH: the largest string or blob a statement may build (randomblob(1e9)).
  int64_t max_value_bytes = 1'000'000;
};

// Reads section "sql" of the configuration; `fallback_database` is used when sql.database is
// absent. Throws tools::ConfigError on bad values.
SqlOptions options_from_config(const tools::Config& config,
                               const std::filesystem::path& fallback_database);

class SqlDatabase {
 public:
  explicit SqlDatabase(SqlOptions options) : options_(std::move(options)) {}

  // Runs exactly one statement. Refusals, SQL errors and time-outs are failure results.
  tools::ToolResult query(std::string_view sql, const tools::ToolContext& ctx) const;
  // Tables and views (all of them, or the one named `table`).
  tools::ToolResult schema(std::string_view table, const tools::ToolContext& ctx) const;

  const SqlOptions& options() const { return options_; }

 private:
  SqlOptions options_;
};

}  // namespace agentrt::plugins::sql
