#include "agentrt/tools/config.h"

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace agentrt::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agentrt_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string error_of(const std::string& name, const std::string& text) {
    try {
      Config::from_file(write(name, text));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }
  fs::path dir_;
};

TEST_F(ConfigTest, ReadsJson) {
  auto c = Config::from_file(write("c.json", R"({
    // comments are allowed
    "sql": {"database": "shop.db", "writable": false},
    "tools": {"deadline_ms": 5000, "ratio": 0.5}
  })"));
  EXPECT_EQ(c.get_string("sql.database", ""), "shop.db");
  EXPECT_FALSE(c.get_bool("sql.writable", true));
  EXPECT_EQ(c.get_int("tools.deadline_ms", 0), 5000);
  EXPECT_DOUBLE_EQ(c.get_double("tools.ratio", 0), 0.5);
  EXPECT_DOUBLE_EQ(c.get_double("tools.deadline_ms", 0), 5000.0);
  EXPECT_EQ(c.get_int("tools.missing", 7), 7);
  EXPECT_EQ(c.get_string("nosuch.key", "dflt"), "dflt");
  EXPECT_TRUE(c.has("sql.database"));
  EXPECT_FALSE(c.has("sql.nope"));
  EXPECT_FALSE(c.has("sql.database.deeper"));
}

TEST_F(ConfigTest, ReadsToml) {
  auto c = Config::from_file(write("c.toml", R"(# agentrt config
title = "demo"   # trailing comment

[sql]
database = "shop.db"
writable = false
max_rows = 1_000

[search]
index = 'docs.idx'
k = 5
weights = [1.5, 2,
  3]   # across lines
names = ["a", "b#c"]

[tools.limits]
deadline_ms = 2500
"quoted key" = "q\t\u00e9"
point = { x = 1, y = -2.5e0 }
hex = 0x1F
)"));
  EXPECT_EQ(c.get_string("title", ""), "demo");
  EXPECT_EQ(c.get_string("sql.database", ""), "shop.db");
  EXPECT_FALSE(c.get_bool("sql.writable", true));
  EXPECT_EQ(c.get_int("sql.max_rows", 0), 1000);
  EXPECT_EQ(c.get_string("search.index", ""), "docs.idx");
  EXPECT_EQ(c.root().at("search").at("weights"), json::parse("[1.5, 2, 3]"));
  EXPECT_EQ(c.root().at("search").at("names"), json::parse(R"(["a", "b#c"])"));
  EXPECT_EQ(c.get_int("tools.limits.deadline_ms", 0), 2500);
  EXPECT_EQ(c.root().at("tools").at("limits").at("quoted key"), "q\t\u00e9");
  EXPECT_EQ(c.root().at("tools").at("limits").at("point"), json::parse(R"({"x": 1, "y": -2.5})"));
  EXPECT_EQ(c.get_int("tools.limits.hex", 0), 31);
}

struct BadToml {
  const char* text;
  const char* expected;  // substring of the message, after "c.toml:"
};

TEST_F(ConfigTest, TomlErrorsNameFileAndLine) {
  const BadToml cases[] = {
      {"a = 1\nb = \n", "c.toml:2: expected a value"},
      {"a = 1\n\n[sql\n", "c.toml:3: expected ']'"},
      {"x = \"open\n", "c.toml:1: unterminated string"},
      {"[s]\nk = 1\nk = 2\n", "c.toml:3: duplicate key \"k\""},
      {"k = bare\n", "c.toml:1: invalid value \"bare\" (strings need quotes)"},
      {"k = 1 2\n", "c.toml:1: unexpected '2' after the value"},
      {"[[items]]\n", "c.toml:1: arrays of tables"},
      {"k = [1, 2\n\n", "unterminated array"},
      {"k = \"\"\"multi\"\"\"\n", "c.toml:1: multi-line strings are not supported"},
      {"a = 1\na.b = 2\n", "c.toml:2: \"a\" is already a value"},
      {"k = \"\\q\"\n", "c.toml:1: invalid escape \\q"},
      {"k = 99999999999999999999\n", "c.toml:1: integer out of range"},
      {"= 3\n", "c.toml:1: expected a key"},
  };
  for (const auto& c : cases) {
    std::string message = error_of("c.toml", c.text);
    EXPECT_NE(message.find(c.expected), std::string::npos)
        << "input: " << c.text << "\nmessage: " << message;
    EXPECT_NE(message.find((dir_ / "c.toml").string()), std::string::npos) << message;
  }
}

TEST_F(ConfigTest, JsonErrorsNameFileAndLine) {
  std::string message = error_of("c.json", "{\n  \"a\": 1,\n  \"b\": ,\n}\n");
  EXPECT_NE(message.find("c.json:3:"), std::string::npos) << message;
  message = error_of("c.json", "[1, 2]");
  EXPECT_NE(message.find("top level must be an object"), std::string::npos) << message;
}

TEST_F(ConfigTest, FileErrors) {
  EXPECT_NE(error_of("c.yaml", "a: 1").find("unknown config format"), std::string::npos);
  try {
    Config::from_file(dir_ / "missing.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json: cannot open"), std::string::npos);
  }
}

TEST_F(ConfigTest, SetOverridesAndParsesValues) {
  auto c = Config::from_file(write("c.json", R"({"sql": {"database": "a.db", "max_rows": 10}})"));
  c.set("sql.database=shop.db");
  c.set("sql.max_rows = 500");
  c.set("sql.writable=true");
  c.set("search.fields=[\"title\", \"text\"]");
  c.set("tools.deadline_ms=5000");
  c.set("misc.empty=");
  c.set("misc.url=http://x/?a=b");
  EXPECT_EQ(c.get_string("sql.database", ""), "shop.db");
  EXPECT_EQ(c.get_int("sql.max_rows", 0), 500);
  EXPECT_TRUE(c.get_bool("sql.writable", false));
  EXPECT_EQ(c.root().at("search").at("fields"), json::parse(R"(["title", "text"])"));
  EXPECT_EQ(c.get_int("tools.deadline_ms", 0), 5000);
  EXPECT_EQ(c.get_string("misc.empty", "x"), "");
  EXPECT_EQ(c.get_string("misc.url", ""), "http://x/?a=b");
  // A number where text is expected is accepted (the shell cannot tell them apart).
  c.set("search.index=2024");
  EXPECT_EQ(c.get_string("search.index", ""), "2024");
}

TEST_F(ConfigTest, SetErrors) {
  Config c;
  EXPECT_THROW(c.set("no_equals_sign"), ConfigError);
  EXPECT_THROW(c.set("=5"), ConfigError);
  EXPECT_THROW(c.set("a..b=5"), ConfigError);
  EXPECT_THROW(c.set("a b=5"), ConfigError);
  c.set("a=5");
  try {
    c.set("a.b=1");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("a is a number"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigTest, WrongTypesAreErrors) {
  Config c;
  c.set("tools.deadline_ms=\"soon\"");
  c.set("tools.ratio=1.5");
  c.set("tools.flag=1");
  c.set("tools.list=[1]");
  EXPECT_THROW(c.get_int("tools.deadline_ms", 0), ConfigError);
  EXPECT_THROW(c.get_int("tools.ratio", 0), ConfigError);
  EXPECT_THROW(c.get_bool("tools.flag", false), ConfigError);
  EXPECT_THROW(c.get_string("tools.list", ""), ConfigError);
  EXPECT_THROW(c.get_double("tools.deadline_ms", 0), ConfigError);
  try {
    c.get_int("tools.deadline_ms", 0);
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "config tools.deadline_ms: expected an integer, got string \"soon\"");
  }
}

TEST_F(ConfigTest, PathsResolveAgainstTheirOrigin) {
  auto c = Config::from_file(write("c.toml",
                                   "[sql]\ndatabase = \"data/shop.db\"\n"
                                   "abs = \"/tmp/x.db\"\nhome = \"~/y.db\"\n"));
  EXPECT_EQ(c.get_path("sql.database", ""), dir_ / "data/shop.db");
  EXPECT_EQ(c.get_path("sql.abs", ""), fs::path("/tmp/x.db"));
  if (const char* home = std::getenv("HOME"); home && *home) {
    EXPECT_EQ(c.get_path("sql.home", ""), fs::path(home) / "y.db");
  }
  c.set("sql.database=rel.db");
  EXPECT_EQ(c.get_path("sql.database", ""), fs::current_path() / "rel.db");
  EXPECT_EQ(c.get_path("sql.none", "examples/data/shop.db"), fs::path("examples/data/shop.db"));
  c.set("sql.bad=3");
  EXPECT_THROW(c.get_path("sql.bad", ""), ConfigError);
}

}  // namespace
}  // namespace agentrt::tools
