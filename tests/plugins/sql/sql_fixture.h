// Shared set-up for the sql plugin tests: a private copy of the example shop database and a
// registry holding the sql tools configured for it.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include <agentrt/plugins/sql.h>
#include <agentrt/tools/config.h>
#include <agentrt/tools/registry.h>

#include "test_support.h"

namespace agentrt::test {

inline std::string read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// FNV-1a: enough to show that not one byte changed.
inline uint64_t fnv1a(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

class SqlFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto shop = binary_dir() / "data" / "shop.db";
    ASSERT_TRUE(std::filesystem::exists(shop)) << "build target agentrt_shop_db first: " << shop;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("agentrt_sql_" + std::string(info->test_suite_name()) + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = dir_ / "shop.db";
    std::filesystem::copy_file(shop, db_);
    config_.set("sql.database", db_.string());
    config_.set("sql.timeout_ms", 300);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Registers the tools with the configuration as it is now.
  void make_tools() {
    registry_ = std::make_unique<tools::Registry>();
    plugins::register_sql(*registry_, config_);
  }
  tools::ToolResult run(const std::string& tool, const nlohmann::json& args,
                        std::chrono::milliseconds deadline = std::chrono::seconds(20),
                        const std::atomic<bool>* cancel = nullptr) {
    if (!registry_) make_tools();
    const tools::Tool* t = registry_->find(tool);
    if (!t) throw std::runtime_error("no tool " + tool);
    tools::ToolContext ctx(std::chrono::steady_clock::now() + deadline, cancel);
    return t->invoke(args, ctx);
  }
  tools::ToolResult sql(const std::string& query) { return run("sql", {{"query", query}}); }

  std::filesystem::path dir_;
  std::filesystem::path db_;
  tools::Config config_;
  std::unique_ptr<tools::Registry> registry_;
};

}  // namespace agentrt::test
