// The `sql` plugin: read-only (unless configured writable) SQL over one SQLite database.
//
// Tools:
//   sql {query}          runs exactly one statement; returns a tab-separated table with a header
//                        line for the model and {columns, rows, truncated} as data.
//   sql_schema {table?}  lists the tables and views with their columns (CREATE statements for
//                        the model, {tables: [{name, type, sql, columns}]} as data).
//
// Configuration (section "sql"):
//   database      path of the SQLite file (default: the example shop database built from
//                 examples/data/shop.sql at build time)
//   writable      false (default): the file is opened SQLITE_OPEN_READONLY and an authorizer
//                 admits only reads; true: writes are allowed, ATTACH, extensions and
//                 non-read PRAGMAs stay refused
//   timeout_ms    per-statement time limit (default 2000); the dispatcher's deadline also applies
//   max_rows      rows returned per call (default 200)
//   max_bytes     bytes of text returned per call (default 16384)
//   max_cell_bytes  bytes shown of one value (default 1000)
//   max_value_bytes the largest string or blob a statement may build (default 1000000)
//
// Errors: register_sql throws tools::ConfigError when a configured value has the wrong type or
// a configured database does not exist. Tool calls report every SQL problem as a failure result.
// Thread-safety: each call opens its own connection, so calls may run concurrently.
#pragma once

namespace agentrt::tools {
class Registry;
class Config;
}  // namespace agentrt::tools

namespace agentrt::plugins {

void register_sql(tools::Registry& registry, const tools::Config& config);

}  // namespace agentrt::plugins
