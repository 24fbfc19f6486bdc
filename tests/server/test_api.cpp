// The handlers without sockets: every endpoint over the scripted model, tool calls and their
// streaming, KV-cache reuse across requests, limits, and a table of malformed requests.
#include <gtest/gtest.h>

#include <map>

#include "server_fixture.h"

namespace agentrt::server::test {
namespace {

using nlohmann::json;

json body_of(const HttpResponse& r) {
  return json::parse(r.body);
}

json user(const std::string& text) {
  return {{"role", "user"}, {"content", text}};
}

TEST(ApiTest, HealthModelsAndTools) {
  Fixture f;
  auto health = call(f.api, "GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(body_of(health)["status"], "ok");
  auto models = body_of(call(f.api, "GET", "/v1/models"));
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "scripted");
  auto tools = body_of(call(f.api, "GET", "/v1/tools"));
  ASSERT_EQ(tools["data"].size(), 2u);
  EXPECT_EQ(tools["data"][0]["function"]["name"], "calculator");
  EXPECT_TRUE(tools["data"][0]["function"]["parameters"].is_object());
}

TEST(ApiTest, InvokeRunsTheToolThroughTheDispatcherWithADeadline) {
  Fixture f;
  auto r = post(f.api, "/v1/tools/calculator/invoke", {{"arguments", {{"expression", "2+3"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["ok"], true);
  EXPECT_EQ(body_of(r)["text"], "5");
  const auto start = std::chrono::steady_clock::now();
  r = post(f.api, "/v1/tools/slow/invoke", {{"arguments", {{"ms", 5000}}}, {"deadline_ms", 50}});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["ok"], false);
  EXPECT_NE(body_of(r)["text"].get<std::string>().find("timed out"), std::string::npos);
}

TEST(ApiTest, ChatAnswersWithContentAndUsage) {
  Fixture f;
  auto r = post(f.api, "/v1/chat/completions", {{"model", "scripted"}, {"messages", {user("Hi")}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json b = body_of(r);
  EXPECT_EQ(b["object"], "chat.completion");
  EXPECT_EQ(b["choices"][0]["message"]["content"], "Hello! I am agentrt, a scripted model.");
  EXPECT_EQ(b["choices"][0]["finish_reason"], "stop");
  EXPECT_GT(b["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_EQ(b["usage"]["completion_tokens"], 38);
  EXPECT_EQ(b["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
}

TEST(ApiTest, MaxTokensCutsTheAnswerWithFinishReasonLength) {
  Fixture f;
  auto b =
      body_of(post(f.api, "/v1/chat/completions", {{"messages", {user("Hi")}}, {"max_tokens", 5}}));
  EXPECT_EQ(b["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(b["choices"][0]["message"]["content"], "Hello");
}

TEST(ApiTest, ToolCallsComeBackWithIdsNotAsContent) {
  Fixture f;
  auto r =
      post(f.api, "/v1/chat/completions",
           {{"messages", {user("What is the weather in Paris?")}}, {"tools", {weather_tool()}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json m = body_of(r)["choices"][0]["message"];
  EXPECT_TRUE(m["content"].is_null());
  ASSERT_EQ(m["tool_calls"].size(), 1u);
  EXPECT_TRUE(m["tool_calls"][0]["id"].get<std::string>().starts_with("call_"));
  EXPECT_EQ(m["tool_calls"][0]["type"], "function");
  EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(m["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            json({{"city", "Paris"}}));
  EXPECT_EQ(body_of(r)["choices"][0]["finish_reason"], "tool_calls");
}

TEST(ApiTest, AFollowUpReusesTheCachedPrefix) {
  Fixture f;
  json messages = {user("What is the weather in Paris?")};
  json request = {{"messages", messages}, {"tools", {weather_tool()}}};
  const json first = body_of(post(f.api, "/v1/chat/completions", request));
  const json assistant = first["choices"][0]["message"];
  messages.push_back(assistant);
  messages.push_back(
      {{"role", "tool"}, {"tool_call_id", assistant["tool_calls"][0]["id"]}, {"content", "sunny"}});
  request["messages"] = messages;
  const json second = body_of(post(f.api, "/v1/chat/completions", request));
  EXPECT_EQ(second["choices"][0]["message"]["content"], "The answer is sunny.");
  // The whole first exchange (its prompt and the model's own text) was reused.
  EXPECT_EQ(
      second["usage"]["prompt_tokens_details"]["cached_tokens"],
      first["usage"]["prompt_tokens"].get<int>() + first["usage"]["completion_tokens"].get<int>());
  EXPECT_GT(second["usage"]["prompt_tokens"].get<int>(),
            second["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>());
}

// Two conversations that share only their system prompt alternate; each keeps its own cache.
TEST(ApiTest, InterleavedConversationsKeepTheirOwnSessions) {
  ApiOptions options;
  options.n_slots = 2;
  Fixture f(options);
  const json system = {{"role", "system"}, {"content", "You are terse."}};
  json a = {system, user("What is the weather in Paris?")};
  json b = {system, user("Hi")};
  auto ask = [&](json& messages, bool tools) {
    json request = {{"messages", messages}};
    if (tools) request["tools"] = {weather_tool()};
    json r = body_of(post(f.api, "/v1/chat/completions", request));
    messages.push_back(r["choices"][0]["message"]);
    return r;
  };
  const json a1 = ask(a, true);
  const json b1 = ask(b, false);
  a.push_back({{"role", "tool"},
               {"tool_call_id", a1["choices"][0]["message"]["tool_calls"][0]["id"]},
               {"content", "rainy"}});
  b.push_back(user("Hi again"));
  const json a2 = ask(a, true);
  const json b2 = ask(b, false);
  EXPECT_EQ(a2["choices"][0]["message"]["content"], "The answer is rainy.");
  auto whole = [](const json& r) {
    return r["usage"]["prompt_tokens"].get<int>() + r["usage"]["completion_tokens"].get<int>();
  };
  EXPECT_EQ(a2["usage"]["prompt_tokens_details"]["cached_tokens"], whole(a1));
  EXPECT_EQ(b2["usage"]["prompt_tokens_details"]["cached_tokens"], whole(b1));
}

TEST(ApiTest, ParallelCallsAndTheirSwitch) {
  Fixture f;
  json request = {{"messages", {user("What is the weather in two cities?")}},
                  {"tools", {weather_tool()}}};
  json m = body_of(post(f.api, "/v1/chat/completions", request))["choices"][0]["message"];
  ASSERT_EQ(m["tool_calls"].size(), 2u);
  EXPECT_NE(m["tool_calls"][0]["id"], m["tool_calls"][1]["id"]);
  EXPECT_EQ(m["content"], "Let me check both.");
  request["parallel_tool_calls"] = false;
  m = body_of(post(f.api, "/v1/chat/completions", request))["choices"][0]["message"];
  EXPECT_EQ(m["tool_calls"].size(), 1u);
}

TEST(ApiTest, ToolChoiceNoneRequiredAndNamed) {
  Fixture f;
  json request = {{"messages", {user("What is the weather in Paris?")}},
                  {"tools", {weather_tool()}},
                  {"tool_choice", "none"}};
  json m = body_of(post(f.api, "/v1/chat/completions", request))["choices"][0]["message"];
  EXPECT_FALSE(m.contains("tool_calls"));
  EXPECT_EQ(m["content"], "Hello! I am agentrt, a scripted model.");
  // A greeting would get no call; required and named force the opening of one.
  request["messages"] = {user("Hi")};
  request["tool_choice"] = "required";
  m = body_of(post(f.api, "/v1/chat/completions", request))["choices"][0]["message"];
  ASSERT_EQ(m["tool_calls"].size(), 1u) << m;
  EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "get_weather");
  request["tool_choice"] = {{"type", "function"}, {"function", {{"name", "get_weather"}}}};
  m = body_of(post(f.api, "/v1/chat/completions", request))["choices"][0]["message"];
  ASSERT_EQ(m["tool_calls"].size(), 1u) << m;
  EXPECT_EQ(json::parse(m["tool_calls"][0]["function"]["arguments"].get<std::string>())["city"],
            "Paris");
}

TEST(ApiTest, StreamingSendsContentDeltasThenDone) {
  Fixture f;
  auto r = post(f.api, "/v1/chat/completions",
                {{"messages", {user("Hi")}},
                 {"stream", true},
                 {"stream_options", {{"include_usage", true}}}});
  ASSERT_EQ(r.status, 200);
  const Events e = sse_events(r.body);
  ASSERT_TRUE(e.done);
  ASSERT_GE(e.data.size(), 4u);
  EXPECT_EQ(e.data[0]["choices"][0]["delta"]["role"], "assistant");
  std::string content;
  int pieces = 0;
  for (const auto& d : e.data) {
    if (d["choices"].empty()) continue;
    const json& delta = d["choices"][0]["delta"];
    if (delta.contains("content") && !delta["content"].get<std::string>().empty()) {
      content += delta["content"].get<std::string>();
      ++pieces;
    }
  }
  EXPECT_EQ(content, "Hello! I am agentrt, a scripted model.");
  EXPECT_GT(pieces, 3);  // incremental, not one block at the end
  EXPECT_EQ(e.data[e.data.size() - 2]["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(e.data.back()["usage"]["completion_tokens"], 38);
}

TEST(ApiTest, StreamingToolCallsAreDeltasNeverContent) {
  Fixture f;
  auto r = post(f.api, "/v1/chat/completions",
                {{"messages", {user("What is the weather in two cities?")}},
                 {"tools", {weather_tool()}},
                 {"stream", true}});
  const Events e = sse_events(r.body);
  ASSERT_TRUE(e.done);
  std::string content;
  std::map<int, std::string> names, args;
  std::string finish;
  for (const auto& d : e.data) {
    const json& choice = d["choices"][0];
    if (choice["finish_reason"].is_string()) finish = choice["finish_reason"];
    const json& delta = choice["delta"];
    if (delta.contains("content")) content += delta["content"].get<std::string>();
    if (delta.contains("tool_calls")) {
      for (const auto& tc : delta["tool_calls"]) {
        const int i = tc["index"];
        if (tc.contains("id")) {
          EXPECT_TRUE(tc["id"].get<std::string>().starts_with("call_"));
        }
        if (tc["function"].contains("name")) names[i] += tc["function"]["name"].get<std::string>();
        args[i] += tc["function"]["arguments"].get<std::string>();
      }
    }
  }
  EXPECT_EQ(content.find("<tool_call>"), std::string::npos) << content;
  EXPECT_EQ(content.substr(0, 18), "Let me check both.");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "get_weather");
  EXPECT_EQ(json::parse(args[1])["city"], "Rome");
  EXPECT_EQ(finish, "tool_calls");
}

TEST(ApiTest, AgentRunsAreRunStoredAndStreamed) {
  Fixture f;
  auto r = post(f.api, "/v1/agent/runs", {{"prompt", "What is 2+3?"}, {"tools", {"calculator"}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json run = body_of(r);
  EXPECT_EQ(run["outcome"], "answered");
  EXPECT_EQ(run["answer"], "The answer is 5.");
  EXPECT_EQ(run["steps"].size(), 2u);
  EXPECT_EQ(run["tools_called"], json({"calculator"}));
  const json trace =
      body_of(call(f.api, "GET", "/v1/agent/runs/" + std::to_string(run["id"].get<int>())));
  EXPECT_EQ(trace["run"]["outcome"], "answered");
  EXPECT_EQ(trace["steps"].size(), 2u);
  EXPECT_EQ(trace["steps"][0]["calls"][0]["name"], "calculator");

  r = post(f.api, "/v1/agent/runs", {{"prompt", "What is 6*7?"}, {"stream", true}});
  const Events e = sse_events(r.body);
  ASSERT_TRUE(e.done);
  ASSERT_EQ(e.data.size(), 4u);
  EXPECT_EQ(e.data[0]["type"], "run.started");
  EXPECT_EQ(e.data[1]["type"], "step");
  EXPECT_EQ(e.data[2]["step"]["answer"], "The answer is 42.");
  EXPECT_EQ(e.data[3]["type"], "run.finished");
  EXPECT_EQ(e.data[3]["outcome"], "answered");
}

TEST(ApiTest, MetricsCountRequestsTokensAndLatencies) {
  Fixture f;
  post(f.api, "/v1/chat/completions", {{"messages", {user("Hi")}}});
  call(f.api, "GET", "/nowhere");
  post(f.api, "/v1/tools/calculator/invoke", {{"arguments", {{"expression", "1+1"}}}});
  const std::string text = call(f.api, "GET", "/metrics").body;
  EXPECT_NE(
      text.find("agentrt_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 1"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("agentrt_http_requests_total{route=\"other\",status=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("agentrt_tokens_generated_total 38"), std::string::npos);
  EXPECT_NE(text.find("agentrt_queue_length 0"), std::string::npos);
  EXPECT_NE(text.find("agentrt_step_duration_seconds_count 1"), std::string::npos);
  EXPECT_NE(text.find("agentrt_tool_duration_seconds_bucket{le=\"+Inf\"} 1"), std::string::npos);
}

TEST(ApiTest, ApiKeysAreRequiredExceptForHealth) {
  ApiOptions options;
  options.api_keys = {"k1", "k2"};
  Fixture f(options);
  EXPECT_EQ(call(f.api, "GET", "/health").status, 200);
  EXPECT_EQ(call(f.api, "GET", "/v1/models").status, 401);
  EXPECT_EQ(call(f.api, "GET", "/v1/models", "", {{"Authorization", "Bearer k3"}}).status, 401);
  EXPECT_EQ(call(f.api, "GET", "/v1/models", "", {{"Authorization", "Bearer k"}}).status, 401);
  EXPECT_EQ(call(f.api, "GET", "/v1/models", "", {{"Authorization", "k2"}}).status, 401);
  EXPECT_EQ(call(f.api, "GET", "/v1/models", "", {{"authorization", "Bearer k2"}}).status, 200);
  const auto denied = call(f.api, "GET", "/nowhere");
  EXPECT_EQ(denied.status, 404);  // no route is no secret
  EXPECT_EQ(body_of(call(f.api, "GET", "/metrics"))["error"]["type"], "authentication_error");
}

TEST(ApiTest, AFullQueueAnswers429AndADrainingServer503) {
  ApiOptions options;
  options.queue_capacity = 1;
  Fixture f(options, ScriptSettings(std::chrono::milliseconds(300)));
  const std::string body = json({{"messages", {user("Hi")}}}).dump();
  auto first = f.api.handle({"POST", "/v1/chat/completions", {}, body});
  f.settings->wait_for_generations(1);  // the engine took it: the queue is empty
  auto second = f.api.handle({"POST", "/v1/chat/completions", {}, body});
  auto third = f.api.handle({"POST", "/v1/chat/completions", {}, body});
  ASSERT_TRUE(first.pending && second.pending);
  EXPECT_EQ(third.status, 429);
  EXPECT_EQ(body_of(third)["error"]["code"], "queue_full");
  EXPECT_EQ(first.pending->wait().status, 200);
  EXPECT_EQ(second.pending->wait().status, 200);
  f.api.drain();
  EXPECT_EQ(call(f.api, "POST", "/v1/chat/completions", body).status, 503);
}

TEST(ApiTest, AConversationLongerThanTheContextIs400) {
  Fixture f({}, ScriptSettings(std::chrono::milliseconds(0), 64));
  auto r = post(f.api, "/v1/chat/completions", {{"messages", {user(std::string(100, 'x'))}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_of(r)["error"]["code"], "context_length_exceeded");
}

struct Malformed {
  const char* what;
  std::string method, target, body;
  int status;
};

TEST(ApiTest, MalformedRequestsGetOpenAIShapedErrors) {
  const std::string tool = weather_tool().dump();
  auto chat = [](const std::string& rest) {
    return R"({"messages": [{"role": "user", "content": "Hi"}])" + rest + "}";
  };
  const std::string call_turn =
      R"({"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]})";
  const std::vector<Malformed> table = {
      {"bad JSON", "POST", "/v1/chat/completions", "{\"messages\": [", 400},
      {"empty body", "POST", "/v1/chat/completions", "", 400},
      {"body is an array", "POST", "/v1/chat/completions", "[]", 400},
      {"missing messages", "POST", "/v1/chat/completions", "{}", 400},
      {"messages not an array", "POST", "/v1/chat/completions", R"({"messages": "Hi"})", 400},
      {"messages empty", "POST", "/v1/chat/completions", R"({"messages": []})", 400},
      {"message not an object", "POST", "/v1/chat/completions", R"({"messages": ["Hi"]})", 400},
      {"unknown role", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": "robot", "content": "x"}]})", 400},
      {"role not a string", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": 1, "content": "x"}]})", 400},
      {"content a number", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": 5}]})", 400},
      {"content missing", "POST", "/v1/chat/completions", R"({"messages": [{"role": "user"}]})",
       400},
      {"image part", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]})",
       400},
      {"temperature a string", "POST", "/v1/chat/completions", chat(R"(, "temperature": "hot")"),
       400},
      {"temperature too high", "POST", "/v1/chat/completions", chat(R"(, "temperature": 5)"), 400},
      {"top_p above 1", "POST", "/v1/chat/completions", chat(R"(, "top_p": 2)"), 400},
      {"max_tokens 0", "POST", "/v1/chat/completions", chat(R"(, "max_tokens": 0)"), 400},
      {"max_tokens a string", "POST", "/v1/chat/completions", chat(R"(, "max_tokens": "10")"), 400},
      {"seed a fraction", "POST", "/v1/chat/completions", chat(R"(, "seed": 1.5)"), 400},
      {"n = 2", "POST", "/v1/chat/completions", chat(R"(, "n": 2)"), 400},
      {"stop a number", "POST", "/v1/chat/completions", chat(R"(, "stop": 3)"), 400},
      {"five stop strings", "POST", "/v1/chat/completions",
       chat(R"(, "stop": ["a","b","c","d","e"])"), 400},
      {"stream not a boolean", "POST", "/v1/chat/completions", chat(R"(, "stream": "yes")"), 400},
      {"tools not an array", "POST", "/v1/chat/completions", chat(R"(, "tools": {})"), 400},
      {"tool type not function", "POST", "/v1/chat/completions",
       chat(R"(, "tools": [{"type": "code"}])"), 400},
      {"tool name with spaces", "POST", "/v1/chat/completions",
       chat(R"(, "tools": [{"type": "function", "function": {"name": "get weather"}}])"), 400},
      {"tool schema not an object schema", "POST", "/v1/chat/completions",
       chat(
           R"(, "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}])"),
       400},
      {"tool schema not JSON object", "POST", "/v1/chat/completions",
       chat(R"(, "tools": [{"type": "function", "function": {"name": "f", "parameters": []}}])"),
       400},
      {"tool given twice", "POST", "/v1/chat/completions",
       chat(", \"tools\": [" + tool + "," + tool + "]"), 400},
      {"tool_choice unknown", "POST", "/v1/chat/completions",
       chat(", \"tools\": [" + tool + R"(], "tool_choice": "sometimes")"), 400},
      {"tool_choice names a tool not offered", "POST", "/v1/chat/completions",
       chat(", \"tools\": [" + tool +
            R"(], "tool_choice": {"type": "function", "function": {"name": "f"}})"),
       400},
      {"tool_choice required without tools", "POST", "/v1/chat/completions",
       chat(R"(, "tool_choice": "required")"), 400},
      {"call arguments not an object", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]})",
       400},
      {"tool result answering no call", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": "x"}, )" + call_turn +
           R"(, {"role": "tool", "tool_call_id": "c9", "content": "r"}]})",
       400},
      {"tool result without an id", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": "x"}, )" + call_turn +
           R"(, {"role": "tool", "content": "r"}]})",
       400},
      {"unknown model", "POST", "/v1/chat/completions", chat(R"(, "model": "gpt-9")"), 404},
      {"GET on a POST route", "GET", "/v1/chat/completions", "", 405},
      {"POST on a GET route", "POST", "/v1/models", "{}", 405},
      {"DELETE on health", "DELETE", "/health", "", 405},
      {"unknown route", "GET", "/v2/anything", "", 404},
      {"agent run without prompt", "POST", "/v1/agent/runs", R"({"tools": ["calculator"]})", 400},
      {"agent run with an unknown tool", "POST", "/v1/agent/runs",
       R"({"prompt": "x", "tools": ["teleport"]})", 400},
      {"agent run with max_steps 0", "POST", "/v1/agent/runs", R"({"prompt": "x", "max_steps": 0})",
       400},
      {"trace of a run that does not exist", "GET", "/v1/agent/runs/999", "", 404},
      {"trace id not a number", "GET", "/v1/agent/runs/abc", "", 404},
      {"invoke an unknown tool", "POST", "/v1/tools/teleport/invoke", "{}", 404},
      {"invoke with arguments failing the schema", "POST", "/v1/tools/calculator/invoke",
       R"({"arguments": {"expr": 1}})", 400},
      {"invoke with arguments not an object", "POST", "/v1/tools/calculator/invoke",
       R"({"arguments": "2+2"})", 400},
  };
  ASSERT_GE(table.size(), 20u);
  Fixture f;
  for (const auto& m : table) {
    const HttpResponse r = call(f.api, m.method, m.target, m.body);
    EXPECT_EQ(r.status, m.status) << m.what << ": " << r.body;
    const json b = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(b.is_object() && b.contains("error")) << m.what << ": " << r.body;
    EXPECT_TRUE(b["error"]["message"].is_string()) << m.what;
    EXPECT_FALSE(b["error"]["message"].get<std::string>().empty()) << m.what;
    EXPECT_TRUE(b["error"]["type"].is_string()) << m.what;
    EXPECT_TRUE(b["error"].contains("param") && b["error"].contains("code")) << m.what;
    if (m.status == 405) {
      ASSERT_FALSE(r.headers.empty()) << m.what;
      EXPECT_EQ(r.headers[0].first, "Allow");
    }
  }
}

}  // namespace
}  // namespace agentrt::server::test
