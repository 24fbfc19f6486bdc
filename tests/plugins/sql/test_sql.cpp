// The sql plugin on the example shop database: queries, schema listing, caps, time limits,
// configuration and the writable mode.
#include <atomic>
#include <thread>

#include <sqlite3.h>

#include "sql_fixture.h"

namespace agentrt::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

class SqlTest : public SqlFixture {};

TEST_F(SqlTest, RegistersTwoToolsWithValidSchemas) {
  make_tools();
  EXPECT_EQ(registry_->names(), (std::vector<std::string>{"sql", "sql_schema"}));
  EXPECT_NE(registry_->find("sql")->spec().description.find("'shop'"), std::string::npos);
}

TEST_F(SqlTest, CountsAndJoins) {
  auto r = sql("SELECT count(*) AS n FROM customers");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "n\n16\n(1 row)");
  EXPECT_EQ(r.data["columns"], json::array({"n"}));
  EXPECT_EQ(r.data["rows"], json::array({json::array({16})}));
  EXPECT_EQ(r.data["truncated"], false);

  r =
      sql("SELECT c.city, round(sum(o.total), 2) AS revenue FROM orders o "
          "JOIN customers c ON c.id = o.customer_id GROUP BY c.city ORDER BY revenue DESC LIMIT 2");
  ASSERT_TRUE(r.ok) << r.text;
  ASSERT_EQ(r.data["rows"].size(), 2u);
  EXPECT_EQ(r.data["columns"], json::array({"city", "revenue"}));
  EXPECT_TRUE(r.data["rows"][0][1].is_number_float());
  EXPECT_GE(r.data["rows"][0][1].get<double>(), r.data["rows"][1][1].get<double>());
  EXPECT_TRUE(r.text.starts_with("city\trevenue\n")) << r.text;
  EXPECT_TRUE(r.text.ends_with("(2 rows)")) << r.text;
}

TEST_F(SqlTest, ValuesOfEveryType) {
  auto r = sql("SELECT 1 AS i, 2.5 AS f, NULL AS n, 'a\tb' AS t, x'00ff10' AS b");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "i\tf\tn\tt\tb\n1\t2.5\tNULL\ta\\tb\t<blob 3 bytes>\n(1 row)");
  EXPECT_EQ(r.data["rows"][0], json::parse(R"([1, 2.5, null, "a\tb", "<blob 3 bytes>"])"));
  // SUM over floats prints the way a person writes it, not 233.95000000000002.
  r = sql("SELECT sum(price) FROM products WHERE category = 'outdoor'");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_NE(r.text.find("\n233.95\n"), std::string::npos) << r.text;
}

TEST_F(SqlTest, PrintfStillFormats) {
  auto r =
      sql("SELECT printf('%.2f|%5d|%-3s|%%|%c', 3.14159, 42, 'ab', 'xyz'), format('%.*c', 3, 'z')");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.data["rows"][0][0], "3.14|   42|ab |%|x");
  EXPECT_EQ(r.data["rows"][0][1], "zzz");
  r = sql("SELECT printf('%.*c', 200000, 'x')");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("larger than the limit"), std::string::npos) << r.text;
}

TEST_F(SqlTest, EmptyResultAndSqlErrorAreReadable) {
  auto r = sql("SELECT name FROM customers WHERE city = 'Nowhere'");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.text, "name\n(0 rows)");
  r = sql("SELECT nme FROM customers");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("no such column: nme"), std::string::npos) << r.text;
  r = sql("  -- only a comment\n ;");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("empty query"), std::string::npos);
}

TEST_F(SqlTest, TrailingSemicolonAndCommentAreOneStatement) {
  auto r = sql("SELECT 1; -- done\n /* really */ ;");
  EXPECT_TRUE(r.ok) << r.text;
}

TEST_F(SqlTest, SchemaListsTablesAndColumns) {
  auto r = run("sql_schema", json::object());
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_NE(r.text.find("CREATE TABLE customers"), std::string::npos);
  EXPECT_NE(r.text.find("CREATE TABLE orders"), std::string::npos);
  ASSERT_EQ(r.data["tables"].size(), 3u);
  const auto& customers = r.data["tables"][0];
  EXPECT_EQ(customers["name"], "customers");
  EXPECT_EQ(
      customers["columns"][0],
      json::parse(R"({"name": "id", "type": "INTEGER", "not_null": false, "primary_key": true})"));

  r = run("sql_schema", {{"table", "Products"}});
  ASSERT_TRUE(r.ok) << r.text;
  ASSERT_EQ(r.data["tables"].size(), 1u);
  EXPECT_EQ(r.data["tables"][0]["columns"].size(), 5u);

  r = run("sql_schema", {{"table", "users"}});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("customers, orders, products"), std::string::npos) << r.text;
}

TEST_F(SqlTest, RowCapSaysTheResultWasCut) {
  config_.set("sql.max_rows", 5);
  auto r = sql("SELECT * FROM orders ORDER BY id");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.data["rows"].size(), 5u);
  EXPECT_EQ(r.data["truncated"], true);
  EXPECT_NE(r.text.find("result cut: the first 5 rows"), std::string::npos) << r.text;
  // Exactly max_rows rows is not a cut.
  r = sql("SELECT id FROM orders ORDER BY id LIMIT 5");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.data["truncated"], false);
}

TEST_F(SqlTest, ByteAndCellCaps) {
  config_.set("sql.max_bytes", 300);
  config_.set("sql.max_cell_bytes", 20);
  auto r = sql("SELECT o.*, c.name FROM orders o JOIN customers c ON c.id = o.customer_id");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.data["truncated"], true);
  EXPECT_LE(r.text.size(), 300u + 120u);  // the table plus the one-line note
  EXPECT_NE(r.text.find("300-byte limit"), std::string::npos) << r.text;

  r = sql("SELECT replace(hex(zeroblob(50)), '00', '\xE6\x97\xA5')");  // 50 three-byte characters
  ASSERT_TRUE(r.ok) << r.text;
  const std::string cell = r.data["rows"][0][0];
  EXPECT_TRUE(cell.ends_with("…"));
  EXPECT_LE(cell.size(), 20u + 3u);
  EXPECT_EQ(cell.size() % 3, 0u);  // cut on a character boundary
}

constexpr const char* kEndless =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

TEST_F(SqlTest, EndlessQueryStopsAtConfiguredTimeLimit) {
  const auto start = Clock::now();
  auto r = sql(kEndless);
  const auto took = Clock::now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("time limit (300 ms)"), std::string::npos) << r.text;
  EXPECT_GE(took, std::chrono::milliseconds(290));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

TEST_F(SqlTest, EndlessQueryStopsAtCallDeadlineAndOnCancel) {
  config_.set("sql.timeout_ms", 60000);
  auto start = Clock::now();
  auto r = run("sql", {{"query", kEndless}}, std::chrono::milliseconds(150));
  EXPECT_FALSE(r.ok);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(2000));

  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  start = Clock::now();
  r = run("sql", {{"query", kEndless}}, std::chrono::seconds(60), &cancel);
  canceller.join();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find("cancelled"), std::string::npos) << r.text;
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(2000));
}

TEST_F(SqlTest, InvalidUtf8InTheDatabaseComesBackValid) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "UPDATE customers SET name = CAST(x'41ff42' AS TEXT) WHERE id = 1",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto r = sql("SELECT name FROM customers WHERE id = 1");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.data["rows"][0][0],
            "A\xEF\xBF\xBD"
            "B");
  EXPECT_NO_THROW((void)r.data.dump());
}

TEST_F(SqlTest, WritableModeWritesButKeepsTheGuards) {
  config_.set("sql.writable", true);
  auto r = sql(
      "INSERT INTO customers (name, city, joined) VALUES ('Test Person', 'Oslo', '2026-01-01')");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "OK, 1 row changed");
  r = sql("SELECT count(*) FROM customers");
  EXPECT_EQ(r.data["rows"][0][0], 17);
  r = sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
  EXPECT_TRUE(r.ok) << r.text;
  for (const char* refused :
       {"ATTACH DATABASE 'other.db' AS other", "PRAGMA writable_schema = 1",
        "SELECT load_extension('libevil')", "VACUUM INTO 'copy.db'",
        "CREATE VIRTUAL TABLE f USING fts5(x)", "UPDATE sqlite_master SET sql = 'x'",
        "INSERT INTO notes (body) VALUES ('a'); DELETE FROM customers"}) {
    r = sql(refused);
    EXPECT_FALSE(r.ok) << refused;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "other.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "copy.db"));
  EXPECT_EQ(sql("SELECT count(*) FROM customers").data["rows"][0][0], 17);
}

TEST_F(SqlTest, ConfigurationErrorsStopStartUp) {
  config_.set("sql.database", (dir_ / "missing.db").string());
  tools::Registry registry;
  EXPECT_THROW(plugins::register_sql(registry, config_), tools::ConfigError);
  config_.set("sql.database", db_.string());
  config_.set("sql.max_rows", 0);
  EXPECT_THROW(plugins::register_sql(registry, config_), tools::ConfigError);
  config_.set("sql.max_rows", "many");
  EXPECT_THROW(plugins::register_sql(registry, config_), tools::ConfigError);
}

TEST_F(SqlTest, ConcurrentCallsEachGetTheirOwnConnection) {
  make_tools();
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 20; ++k) {
        auto r = sql("SELECT count(*) FROM orders");
        if (r.ok && r.data["rows"][0][0].get<int>() > 0) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 160);
}

}  // namespace
}  // namespace agentrt::test
