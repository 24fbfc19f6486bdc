#include "agentrt/tools/registry.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_tool.h"

namespace agentrt::tools {
namespace {

using test::echo;
using test::fake_tool;

std::string numbered(int i) {
  std::string name = "t";
  name += std::to_string(i);
  return name;
}

TEST(Registry, ListsInRegistrationOrderAndFinds) {
  Registry r;
  r.add(fake_tool("zeta", echo));
  r.add(fake_tool("alpha", echo));
  r.add(fake_tool("mid_2", echo));
  EXPECT_EQ(r.names(), (std::vector<std::string>{"zeta", "alpha", "mid_2"}));
  ASSERT_NE(r.find("alpha"), nullptr);
  EXPECT_EQ(r.find("alpha")->spec().name, "alpha");
  EXPECT_EQ(r.find("beta"), nullptr);
  EXPECT_EQ(r.list().size(), 3u);
  EXPECT_EQ(r.size(), 3u);
}

TEST(Registry, SubsetSharesTheNamedToolsInOrder) {
  Registry r;
  r.add(fake_tool("zeta", echo));
  r.add(fake_tool("alpha", echo));
  r.add(fake_tool("mid_2", echo));
  const std::vector<std::string> names = {"mid_2", "zeta"};
  const auto sub = r.subset(names);
  EXPECT_EQ(sub->names(), names);
  EXPECT_TRUE(sub->frozen());
  EXPECT_EQ(sub->find("zeta"), r.find("zeta"));  // the same tool, shared
  EXPECT_EQ(sub->find("alpha"), nullptr);

  const std::vector<std::string> unknown = {"zeta", "beta"};
  try {
    r.subset(unknown);
    FAIL() << "expected RegistryError";
  } catch (const RegistryError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown tool \"beta\"; available tools: zeta, alpha"),
              std::string::npos)
        << e.what();
  }
  const std::vector<std::string> twice = {"zeta", "zeta"};
  EXPECT_THROW(r.subset(twice), RegistryError);
}

TEST(Registry, RefusesDuplicateNames) {
  Registry r;
  r.add(fake_tool("calc", echo));
  try {
    r.add(fake_tool("calc", echo));
    FAIL() << "duplicate accepted";
  } catch (const RegistryError& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate tool name \"calc\""), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(r.size(), 1u);
}

TEST(Registry, RefusesInvalidNames) {
  Registry r;
  for (const char* bad : {"", "Calc", "1calc", "calc-x", "calc x", "ça"}) {
    EXPECT_THROW(r.add(fake_tool(bad, echo)), RegistryError) << bad;
  }
  EXPECT_THROW(r.add(fake_tool(std::string(65, 'a'), echo)), RegistryError);
  EXPECT_NO_THROW(r.add(fake_tool(std::string(64, 'a'), echo)));
  EXPECT_THROW(r.add(nullptr), RegistryError);
}

TEST(Registry, RefusesUnsupportedSchemas) {
  Registry r;
  EXPECT_THROW(r.add(fake_tool("a", echo, nlohmann::json::array())), RegistryError);
  EXPECT_THROW(r.add(fake_tool("b", echo, {{"type", "string"}})), RegistryError);
  EXPECT_THROW(
      r.add(fake_tool("c", echo, {{"type", "object"}, {"anyOf", nlohmann::json::array()}})),
      RegistryError);
  EXPECT_THROW(r.add(fake_tool(
                   "d", echo, {{"type", "object"}, {"properties", {{"x", {{"type", "integr"}}}}}})),
               RegistryError);
  EXPECT_EQ(r.size(), 0u);
}

TEST(Registry, FreezeRefusesLaterAdds) {
  Registry r;
  r.add(fake_tool("a", echo));
  EXPECT_FALSE(r.frozen());
  r.freeze();
  EXPECT_TRUE(r.frozen());
  EXPECT_THROW(r.add(fake_tool("b", echo)), RegistryError);
  EXPECT_NE(r.find("a"), nullptr);
  r.freeze();  // idempotent
}

TEST(Registry, ConcurrentReads) {
  Registry r;
  for (int i = 0; i < 50; ++i) r.add(fake_tool(numbered(i), echo));
  r.freeze();
  std::vector<std::thread> readers;
  std::atomic<int> found{0};
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&] {
      for (int k = 0; k < 1000; ++k) {
        if (r.find(numbered(k % 50))) ++found;
        (void)r.list();
      }
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(found.load(), 8000);
}

}  // namespace
}  // namespace agentrt::tools
