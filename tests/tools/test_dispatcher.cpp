#include "agentrt/tools/dispatcher.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "fake_tool.h"

namespace agentrt::tools {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using test::echo;
using test::fake_tool;

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Dispatcher, CallsATool) {
  Registry r;
  r.add(fake_tool("echo", echo));
  r.freeze();
  Dispatcher d(r);
  auto result = d.call("echo", {{"a", 1}});
  EXPECT_TRUE(result.ok) << result.text;
  EXPECT_EQ(result.data, json({{"a", 1}}));
  EXPECT_FALSE(result.truncated);
}

TEST(Dispatcher, ParallelCallsOverlapAndKeepOrder) {
  Registry r;
  r.add(fake_tool("slow_a", [](const json&, const ToolContext&) {
    std::this_thread::sleep_for(milliseconds(300));
    return ToolResult::success("a");
  }));
  r.add(fake_tool("slow_b", [](const json&, const ToolContext&) {
    std::this_thread::sleep_for(milliseconds(300));
    return ToolResult::success("b");
  }));
  Dispatcher d(r, {.threads = 2});
  auto start = Clock::now();
  auto results = d.call_many({{"slow_a", json::object()}, {"slow_b", json::object()}});
  auto elapsed = ms_since(start);
  EXPECT_LT(elapsed, 550);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].text, "a");
  EXPECT_EQ(results[1].text, "b");
}

TEST(Dispatcher, ThrowingToolBecomesFailure) {
  Registry r;
  r.add(fake_tool("boom", [](const json&, const ToolContext&) -> ToolResult {
    throw std::runtime_error("division by zero");
  }));
  r.add(fake_tool("weird", [](const json&, const ToolContext&) -> ToolResult { throw 42; }));
  Dispatcher d(r);
  auto result = d.call("boom", json::object());
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(contains(result.text, "division by zero")) << result.text;
  auto weird = d.call("weird", json::object());
  EXPECT_FALSE(weird.ok);
  EXPECT_TRUE(contains(weird.text, "unknown exception")) << weird.text;
  EXPECT_TRUE(d.call("boom", json::object()).text.size() > 0);  // the worker survived
}

TEST(Dispatcher, HungToolTimesOutAndOthersStillRun) {
  Registry r;
  // Shared: the abandoned worker outlives this test's stack frame.
  auto hung_finished = std::make_shared<std::atomic<bool>>(false);
  r.add(fake_tool("hang", [hung_finished](const json&, const ToolContext&) {
    std::this_thread::sleep_for(milliseconds(1500));  // ignores cancellation on purpose
    *hung_finished = true;
    return ToolResult::success("late");
  }));
  r.add(fake_tool("echo", echo));
  auto start = Clock::now();
  {
    Dispatcher d(r, {.threads = 1, .deadline = milliseconds(200)});
    auto result = d.call("hang", json::object());
    auto elapsed = ms_since(start);
    EXPECT_FALSE(result.ok);
    EXPECT_TRUE(contains(result.text, "timed out after 200 ms")) << result.text;
    EXPECT_GE(elapsed, 195);
    EXPECT_LT(elapsed, 500);
    // The only worker is stuck: a replacement serves the next call at once.
    auto t1 = Clock::now();
    auto ok = d.call("echo", {{"x", 1}});
    EXPECT_TRUE(ok.ok) << ok.text;
    EXPECT_LT(ms_since(t1), 300);
    EXPECT_GE(d.worker_count(), 2u);
  }
  // Destroying the dispatcher did not wait for the hung tool.
  EXPECT_LT(ms_since(start), 1000);
  EXPECT_FALSE(hung_finished->load());
}

TEST(Dispatcher, PerCallDeadlineOverridesDefault) {
  Registry r;
  r.add(fake_tool("slow", [](const json&, const ToolContext& ctx) {
    while (!ctx.cancelled()) std::this_thread::sleep_for(milliseconds(5));
    return ToolResult::failure("stopped");
  }));
  Dispatcher d(r);
  auto start = Clock::now();
  auto result = d.call("slow", json::object(), {.deadline = milliseconds(100)});
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(contains(result.text, "timed out after 100 ms")) << result.text;
  EXPECT_LT(ms_since(start), 400);
}

TEST(Dispatcher, HugeOutputIsTruncated) {
  Registry r;
  r.add(fake_tool("flood", [](const json&, const ToolContext&) {
    return ToolResult::success(std::string(50u << 20, 'x'));
  }));
  Dispatcher d(r, {.max_output_bytes = 16384});
  auto result = d.call("flood", json::object());
  EXPECT_TRUE(result.ok);
  EXPECT_TRUE(result.truncated);
  EXPECT_LT(result.text.size(), 16384u + 200u);
  EXPECT_EQ(result.text.substr(0, 16384), std::string(16384, 'x'));
  EXPECT_TRUE(contains(result.text, "output truncated")) << result.text.substr(16384);
  EXPECT_TRUE(contains(result.text, std::to_string(50u << 20))) << result.text.substr(16384);
}

TEST(Dispatcher, TruncationKeepsUtf8Whole) {
  std::string text;
  for (int i = 0; i < 10; ++i) text += "é";  // two bytes each
  EXPECT_TRUE(truncate_output(text, 5));
  EXPECT_EQ(text.substr(0, 4), "éé");
  EXPECT_EQ(text[4], '\n');
  std::string small = "abc";
  EXPECT_FALSE(truncate_output(small, 3));
  EXPECT_EQ(small, "abc");
}

TEST(Dispatcher, HugeDataIsDropped) {
  Registry r;
  r.add(fake_tool("big", [](const json&, const ToolContext&) {
    return ToolResult::success("ok", json(std::string(2u << 20, 'y')));
  }));
  Dispatcher d(r);
  auto result = d.call("big", json::object());
  EXPECT_TRUE(result.ok);
  EXPECT_TRUE(result.truncated);
  EXPECT_TRUE(result.data.is_null());
  EXPECT_TRUE(contains(result.text, "structured data dropped")) << result.text;
}

TEST(Dispatcher, InvalidUtf8IsRepaired) {
  Registry r;
  r.add(fake_tool("bytes", [](const json&, const ToolContext&) {
    return ToolResult::success(std::string("ok \xff\xfe end"));
  }));
  Dispatcher d(r);
  auto result = d.call("bytes", json::object());
  EXPECT_EQ(result.text, "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_NO_THROW((void)json(result.text).dump());
}

TEST(Dispatcher, CancellationReturnsPromptlyAndReachesTheTool) {
  Registry r;
  auto saw_cancel = std::make_shared<std::atomic<bool>>(false);
  r.add(fake_tool("loop", [saw_cancel](const json&, const ToolContext& ctx) {
    while (!ctx.cancelled()) std::this_thread::sleep_for(milliseconds(2));
    *saw_cancel = true;
    return ToolResult::failure("stopped");
  }));
  Dispatcher d(r);
  std::stop_source stop;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(100));
    stop.request_stop();
  });
  auto start = Clock::now();
  auto result = d.call("loop", json::object(), {.stop = stop.get_token()});
  auto elapsed = ms_since(start);
  canceller.join();
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(contains(result.text, "cancelled")) << result.text;
  EXPECT_LT(elapsed, 400);
  for (int i = 0; i < 100 && !*saw_cancel; ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_TRUE(saw_cancel->load());
}

TEST(Dispatcher, CancelAll) {
  Registry r;
  r.add(fake_tool("loop", [](const json&, const ToolContext& ctx) {
    while (!ctx.cancelled()) std::this_thread::sleep_for(milliseconds(2));
    return ToolResult::failure("stopped");
  }));
  Dispatcher d(r);
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(100));
    d.cancel_all();
  });
  auto start = Clock::now();
  auto results = d.call_many({{"loop", json::object()}, {"loop", json::object()}});
  canceller.join();
  EXPECT_LT(ms_since(start), 400);
  for (const auto& res : results) EXPECT_TRUE(contains(res.text, "cancelled")) << res.text;
}

TEST(Dispatcher, UnknownToolNamesTheAvailableOnes) {
  Registry r;
  r.add(fake_tool("calculator", echo));
  r.add(fake_tool("search", echo));
  Dispatcher d(r);
  auto result = d.call("calculater", json::object());
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.text, "unknown tool \"calculater\"; available tools: calculator, search");
}

TEST(Dispatcher, SchemaErrorsAreListedAndDefaultsFilled) {
  Registry r;
  r.add(fake_tool("search", echo, json::parse(R"({"type": "object",
                    "properties": {"query": {"type": "string"},
                                   "k": {"type": "integer", "minimum": 1, "default": 3}},
                    "required": ["query"], "additionalProperties": false})")));
  Dispatcher d(r);
  auto bad = d.call("search", {{"k", "five"}, {"extra", 1}});
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.text,
            "invalid arguments for tool \"search\": arguments.query: missing required property; "
            "arguments.extra: unexpected property (allowed: k, query); arguments.k: expected "
            "integer, got string");
  auto good = d.call("search", {{"query", "x"}});
  EXPECT_TRUE(good.ok) << good.text;
  EXPECT_EQ(good.data, json({{"query", "x"}, {"k", 3}}));
  auto not_object = d.call("search", json::array());
  EXPECT_FALSE(not_object.ok);
  EXPECT_TRUE(contains(not_object.text, "expected object, got array")) << not_object.text;
}

TEST(Dispatcher, RefusesDeeplyNestedArguments) {
  Registry r;
  r.add(fake_tool("echo", echo));
  Dispatcher d(r);
  json deep = json::array();
  for (int i = 0; i < 10000; ++i) deep = json::array({std::move(deep)});
  auto result = d.call("echo", {{"x", std::move(deep)}});
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(contains(result.text, "nested deeper than 64 levels")) << result.text;
}

TEST(Dispatcher, ManyConcurrentCallers) {
  Registry r;
  r.add(fake_tool("echo", echo));
  Dispatcher d(r, {.threads = 3});
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto res = d.call("echo", {{"t", t}, {"i", i}});
        if (res.ok && res.data.at("i") == i) ++ok;
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(ok.load(), 1600);
}

TEST(Dispatcher, OptionsFromConfig) {
  Config c;
  c.set("tools.deadline_ms=5000");
  c.set("tools.max_output_bytes=100");
  auto o = DispatcherOptions::from_config(c);
  EXPECT_EQ(o.deadline, milliseconds(5000));
  EXPECT_EQ(o.max_output_bytes, 100u);
  EXPECT_EQ(o.threads, DispatcherOptions{}.threads);
  c.set("tools.deadline_ms=-1");
  EXPECT_THROW(DispatcherOptions::from_config(c), ConfigError);
  c.set("tools.deadline_ms=soon");
  EXPECT_THROW(DispatcherOptions::from_config(c), ConfigError);
}

}  // namespace
}  // namespace agentrt::tools
