// The sql and sql_schema tools and their registration.
#include <agentrt/plugins/sql.h>

#include <filesystem>
#include <memory>

#include <agentrt/tools/config.h>
#include <agentrt/tools/registry.h>

#include "sql_database.h"

namespace agentrt::plugins {
namespace {

using json = nlohmann::json;

class SqlTool : public tools::Tool {
 public:
  explicit SqlTool(std::shared_ptr<const sql::SqlDatabase> db) : db_(std::move(db)) {
    const std::string name = db_->options().database.stem().string();
    spec_.name = "sql";
    spec_.description = "Run one SQLite query on the '" + name + "' database" +
                        (db_->options().writable ? "" : " (read-only: SELECT only)") +
                        "; call sql_schema first to see its tables.";
    spec_.parameters = {{"type", "object"},
                        {"properties",
                         {{"query",
                           {{"type", "string"},
                            {"description", "one SQL statement in SQLite's dialect"},
                            {"minLength", 1u}}}}},
                        {"required", {"query"}},
                        {"additionalProperties", false}};
  }
  const tools::ToolSpec& spec() const override { return spec_; }
  tools::ToolResult invoke(const json& arguments, const tools::ToolContext& ctx) const override {
    return db_->query(arguments.at("query").get<std::string>(), ctx);
  }

 private:
  std::shared_ptr<const sql::SqlDatabase> db_;
  tools::ToolSpec spec_;
};

class SqlSchemaTool : public tools::Tool {
 public:
  explicit SqlSchemaTool(std::shared_ptr<const sql::SqlDatabase> db) : db_(std::move(db)) {
    spec_.name = "sql_schema";
    spec_.description =
        "List the tables of the sql tool's database with their columns (CREATE statements).";
    spec_.parameters = {
        {"type", "object"},
        {"properties",
         {{"table", {{"type", "string"}, {"description", "only this table or view"}}}}},
        {"additionalProperties", false}};
  }
  const tools::ToolSpec& spec() const override { return spec_; }
  tools::ToolResult invoke(const json& arguments, const tools::ToolContext& ctx) const override {
    std::string table;
    if (auto it = arguments.find("table"); it != arguments.end()) table = it->get<std::string>();
    return db_->schema(table, ctx);
  }

 private:
  std::shared_ptr<const sql::SqlDatabase> db_;
  tools::ToolSpec spec_;
};

}  // namespace

void register_sql(tools::Registry& registry, const tools::Config& config) {
  auto options = sql::options_from_config(config, AGENTRT_DEFAULT_SQL_DATABASE);
  // A database the user named must exist; the built-in default is checked when first used.
  if (config.has("sql.database") && !std::filesystem::exists(options.database))
    throw tools::ConfigError("sql.database: no such file: " + options.database.string());
  auto db = std::make_shared<const sql::SqlDatabase>(std::move(options));
  registry.add(std::make_unique<SqlTool>(db));
  registry.add(std::make_unique<SqlSchemaTool>(db));
}

}  // namespace agentrt::plugins
