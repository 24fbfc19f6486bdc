// Hostile statements against the read-only sql tool: every one is refused or contained, and the
// database file is byte-identical afterwards (no journal, WAL or side file left either).
#include <set>

#include "sql_fixture.h"

namespace agentrt::test {
namespace {

enum class Outcome {
  kRefused,    // a failure result saying "refused: <why>" before anything ran
  kFailed,     // a failure result: SQLite's own guard (defensive mode, size limit) said no
  kStopped,    // a failure result: the time limit stopped it
  kCapped,     // a success result cut to the row/byte caps
  kContained,  // runs, changes nothing, returns little
};

struct Hostile {
  const char* sql;
  Outcome outcome;
};

constexpr Hostile kHostile[] = {
    {"INSERT INTO customers VALUES (100, 'Eve', 'Nowhere', '2026-01-01')", Outcome::kRefused},
    {"UPDATE products SET price = 0", Outcome::kRefused},
    {"DELETE FROM orders", Outcome::kRefused},
    {"REPLACE INTO products VALUES (1, 'Free Kettle', 'kitchen', 0, 999)", Outcome::kRefused},
    {"INSERT INTO orders SELECT * FROM orders", Outcome::kRefused},
    {"DROP TABLE orders", Outcome::kRefused},
    {"CREATE TABLE evil (x)", Outcome::kRefused},
    {"ALTER TABLE customers ADD COLUMN password TEXT", Outcome::kRefused},
    {"ALTER TABLE customers RENAME TO clients", Outcome::kRefused},
    {"CREATE INDEX evil_ix ON orders (total)", Outcome::kRefused},
    {"CREATE VIEW evil_v AS SELECT * FROM customers", Outcome::kRefused},
    {"CREATE TEMP TABLE scratch (x)", Outcome::kRefused},
    {"CREATE TEMP TRIGGER evil_tr AFTER INSERT ON orders BEGIN DELETE FROM customers; END",
     Outcome::kRefused},
    {"CREATE VIRTUAL TABLE evil_fts USING fts5(body)", Outcome::kRefused},
    {"ATTACH DATABASE 'evil_attached.db' AS evil", Outcome::kRefused},
    {"DETACH DATABASE main", Outcome::kRefused},
    {"PRAGMA writable_schema = 1", Outcome::kRefused},
    {"PRAGMA journal_mode = WAL", Outcome::kRefused},
    {"PRAGMA journal_mode = DELETE", Outcome::kRefused},
    {"PRAGMA query_only = 0", Outcome::kRefused},
    {"PRAGMA locking_mode = EXCLUSIVE", Outcome::kRefused},
    {"PRAGMA user_version = 7", Outcome::kRefused},
    {"PRAGMA wal_checkpoint(TRUNCATE)", Outcome::kRefused},
    {"UPDATE sqlite_master SET sql = 'CREATE TABLE x(y)' WHERE name = 'orders'", Outcome::kFailed},
    {"SELECT load_extension('/tmp/libevil.so')", Outcome::kRefused},
    {"SELECT fts3_tokenizer('simple')", Outcome::kRefused},
    {"VACUUM", Outcome::kRefused},
    {"VACUUM INTO 'evil_copy.db'", Outcome::kRefused},
    {"/* hidden */ vacuum main INTO 'evil_copy2.db'", Outcome::kRefused},
    {"REINDEX", Outcome::kRefused},
    {"ANALYZE", Outcome::kRefused},
    {"BEGIN IMMEDIATE", Outcome::kRefused},
    {"SAVEPOINT s1", Outcome::kRefused},
    {"SELECT 1; DROP TABLE customers", Outcome::kRefused},
    {"SELECT * FROM customers; SELECT * FROM orders", Outcome::kRefused},
    {"/* x */ ;; DELETE FROM orders -- hidden after noise", Outcome::kRefused},
    {"WITH gone AS (SELECT 1) DELETE FROM orders", Outcome::kRefused},
    {"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
     Outcome::kStopped},
    {"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
     "SELECT max(a.x) FROM c a ORDER BY 1",
     Outcome::kStopped},
    {"SELECT randomblob(1000000000)", Outcome::kFailed},
    {"SELECT zeroblob(2000000000)", Outcome::kFailed},
    {"SELECT printf('%.*c', 1000000000, 'x')", Outcome::kFailed},
    {"SELECT format('%1000000000d', 1)", Outcome::kFailed},
    {"SELECT printf('%!.*f', 999999999, 1.0)", Outcome::kFailed},
    {"SELECT replace(hex(zeroblob(100000)), '0', 'a') GLOB '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b'",
     Outcome::kContained},
    {"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
     "SELECT x, hex(randomblob(500)) FROM c",
     Outcome::kCapped},
    {"SELECT * FROM orders a, orders b, orders c", Outcome::kCapped},
};

std::set<std::filesystem::path> listing(const std::filesystem::path& dir) {
  std::set<std::filesystem::path> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename());
  return names;
}

class SqlHostile : public SqlFixture {};

TEST_F(SqlHostile, EveryStatementIsRefusedOrContainedAndTheFileIsUnchanged) {
  ASSERT_GE(std::size(kHostile), 20u);
  const std::string before = read_bytes(db_);
  const uint64_t hash_before = fnv1a(before);
  const auto files_before = listing(dir_);
  // Relative names in ATTACH / VACUUM INTO resolve against the working directory.
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_);

  for (const Hostile& h : kHostile) {
    SCOPED_TRACE(h.sql);
    const auto start = std::chrono::steady_clock::now();
    const auto r = sql(h.sql);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
    switch (h.outcome) {
      case Outcome::kRefused:
        EXPECT_FALSE(r.ok) << r.text;
        EXPECT_TRUE(r.text.starts_with("refused: ")) << r.text;
        break;
      case Outcome::kFailed:
        EXPECT_FALSE(r.ok) << r.text;
        break;
      case Outcome::kStopped:
        EXPECT_FALSE(r.ok) << r.text;
        EXPECT_NE(r.text.find("time limit"), std::string::npos) << r.text;
        break;
      case Outcome::kContained:
        break;
      case Outcome::kCapped:
        ASSERT_TRUE(r.ok) << r.text;
        EXPECT_EQ(r.data["truncated"], true);
        EXPECT_LE(r.text.size(), 16384u + 200u);
        break;
    }
    EXPECT_LT(r.text.size(), 20000u);
  }
  std::filesystem::current_path(cwd);

  EXPECT_EQ(fnv1a(read_bytes(db_)), hash_before);
  EXPECT_TRUE(read_bytes(db_) == before);
  EXPECT_EQ(listing(dir_), files_before);
  // Still a working database.
  EXPECT_EQ(sql("SELECT count(*) FROM orders").data["rows"][0][0], 60);
}

}  // namespace
}  // namespace agentrt::test
