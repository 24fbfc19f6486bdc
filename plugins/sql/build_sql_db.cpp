// Build-time helper: turns an SQL script (examples/data/shop.sql) into a SQLite database file.
// Usage: agentrt_build_sql_db SCRIPT.sql OUT.db
// Writes OUT.db.tmp first and renames it, so an interrupted build never leaves half a database.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sqlite_util.h"

namespace sqlite = agentrt::plugins::sqlite;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SCRIPT.sql OUT.db\n", argv[0]);
    return 2;
  }
  try {
    const std::filesystem::path script = argv[1];
    const std::filesystem::path out = argv[2];
    std::ifstream in(script, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + script.string());
    std::ostringstream sql;
    sql << in.rdbuf();
    if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
    std::filesystem::path tmp = out;
    tmp += ".tmp";
    std::filesystem::remove(tmp);
    {
      auto db = sqlite::open(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
      sqlite::exec(db.get(), "BEGIN");
      sqlite::exec(db.get(), sql.str().c_str());
      sqlite::exec(db.get(), "COMMIT");
    }
    std::filesystem::rename(tmp, out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agentrt_build_sql_db: %s\n", e.what());
    return 1;
  }
  return 0;
}
