// SQLite's printf()/format() build a padded result one character at a time inside a single
// function call, where the progress handler cannot interrupt: printf('%.*c', 1000000000, 'x')
// runs for tens of seconds before the length limit rejects it. The guard replaces both functions
// on a connection with versions that refuse widths and precisions above a bound and otherwise
// let the built-in printf of a private in-memory connection do the formatting.
#pragma once

#include <cstdint>

#include <sqlite3.h>

namespace agentrt::plugins::sql {

// Installs the guarded printf() and format() on `db`. The helper connection lives as long as
// `db`. Throws sqlite::SqliteError when the functions cannot be registered.
void install_printf_guard(sqlite3* db, int64_t max_width);

}  // namespace agentrt::plugins::sql
