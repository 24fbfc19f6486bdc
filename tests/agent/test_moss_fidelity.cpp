// MOSS fidelity: every conversation of ../shared/data/moss/conversations parses to exactly the
// calls its <|Commands|> segments write, and its messages render back to the original text byte
// for byte. Messages are built the way the agent loop builds them: from the parse of the model's
// text, keeping that text (Message::raw) only where the canonical rendering differs; the test
// reports how many turns needed it.
#include <gtest/gtest.h>

#include <iostream>
#include <regex>

#include "agent_tools.h"
#include "agentrt/agent/dialect.h"
#include "dialect_test_util.h"

namespace agentrt::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Written {
  std::string source, api;
  std::vector<std::string> args;
};

// An independent reading of a commands segment: Name("..."[, "..."]) items, or None.
std::vector<Written> written_calls(const std::string& commands) {
  std::vector<Written> out;
  if (commands.starts_with("None")) return out;
  static const std::regex call(
      R"re(([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*("(?:[^"\\]|\\.)*"(?:\s*,\s*"(?:[^"\\]|\\.)*")*)\s*\))re");
  static const std::regex literal(R"re("((?:[^"\\]|\\.)*)")re");
  for (std::sregex_iterator it(commands.begin(), commands.end(), call), end; it != end; ++it) {
    Written w{(*it)[0].str(), (*it)[1].str(), {}};
    const std::string args = (*it)[2].str();
    for (std::sregex_iterator a(args.begin(), args.end(), literal); a != end; ++a) {
      w.args.push_back((*a)[1].str());
    }
    out.push_back(std::move(w));
  }
  return out;
}

json expected_arguments(const Written& w, std::string* tool) {
  static const std::map<std::string, std::pair<std::string, std::string>> kApis = {
      {"Search", {"search", "query"}},
      {"Calculate", {"calculator", "expression"}},
      {"Solve", {"solver", "equation"}},
      {"Text2Image", {"text2image", "description"}}};
  auto it = kApis.find(w.api);
  if (it == kApis.end()) {
    *tool = w.api;
    return {{"input", w.args.size() == 1 ? json(w.args[0]) : json(w.args)}};
  }
  *tool = it->second.first;
  std::string value = w.args.at(0);
  for (std::size_t i = 1; i < w.args.size(); ++i) value += "; " + w.args[i];
  return {{it->second.second, value}};
}

std::string inner(const std::string& segment, std::string_view head, std::string_view tail) {
  EXPECT_TRUE(segment.starts_with(head) && segment.ends_with(tail)) << segment.substr(0, 80);
  return segment.substr(head.size(), segment.size() - head.size() - tail.size());
}

// Splits a <|Results|> body into one result per call, each after "<call> => " (Calculate) or
// "<call> =>\n" (Search, Solve) as the moss dialect writes them; nullopt when it does not fit.
std::optional<std::vector<Message>> split_results(const std::string& body, const Message& commands,
                                                  const Dialect& moss) {
  if (commands.tool_calls.empty() || !body.starts_with("\n") || !body.ends_with("\n")) {
    return std::nullopt;
  }
  // The echo of each call is how the dialect renders a result with empty content.
  std::vector<std::string> heads;
  for (const auto& call : commands.tool_calls) {
    std::vector<Message> probe{Message::system("\n"), commands,
                               Message::tool_result(call.name, call.id, "")};
    std::string text = moss.render(probe, {}, {});
    const auto at = text.rfind("<|Results|>:\n");
    if (at == std::string::npos) return std::nullopt;
    heads.push_back(text.substr(at + 13));
  }
  std::vector<Message> out;
  std::size_t pos = 1;
  for (std::size_t i = 0; i < heads.size(); ++i) {
    if (body.compare(pos, heads[i].size(), heads[i]) != 0) return std::nullopt;
    pos += heads[i].size();
    std::size_t end = body.size() - 1;
    if (i + 1 < heads.size()) {
      end = body.find("\n" + heads[i + 1], pos);
      if (end == std::string::npos) return std::nullopt;
    }
    const auto& call = commands.tool_calls[i];
    out.push_back(Message::tool_result(call.name, call.id, body.substr(pos, end - pos)));
    pos = end + 1;
  }
  return out;
}

TEST(MossFidelity, EveryConversationParsesAndRendersBack) {
  AGENTRT_REQUIRE_SHARED("moss/conversations");
  auto moss = dialect_by_name("moss");
  auto registry = test::agent_registry();
  std::vector<fs::path> files;
  for (const auto& e :
       fs::directory_iterator(agentrt::test::shared_data() / "moss/conversations")) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());

  int turns = 0, commands_ok = 0, calls_total = 0, exact = 0, canonical_conversations = 0;
  int raw_commands = 0, raw_results = 0, raw_answers = 0, meta_ok = 0;
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    const json conv = json::parse(test::slurp(file));
    const std::string meta = conv.at("meta_instruction").get<std::string>();
    std::string original = meta;
    std::vector<Message> messages{Message::system(meta)};
    bool canonical = true;

    // The default meta instruction for the enabled tools is MOSS's own.
    std::vector<tools::ToolSpec> offered;
    for (std::string api : {"Search", "Calculate", "Solve", "Text2Image"}) {
      if (meta.find("API: " + api + "(") == std::string::npos) continue;
      std::string tool;
      offered.push_back({"", "", json::object()});
      expected_arguments({"", api, {""}}, &tool);
      offered.back().name = tool;
    }
    std::vector<Message> no_system;
    if (moss->render(no_system, offered, {}) == meta) ++meta_ok;

    const int n = conv.at("num_turns").get<int>();
    for (int t = 1; t <= n; ++t) {
      const json& turn = conv.at("chat").at("turn_" + std::to_string(t));
      auto seg = [&](const char* key) { return turn.at(key).get<std::string>(); };
      ++turns;
      messages.push_back(Message::user(inner(seg("Human"), "<|Human|>: ", "<eoh>\n")));
      original += seg("Human");
      EXPECT_EQ(moss->render(messages, {}, {}), original);

      // The model's first generation: thoughts and commands, up to the <eoc> stop sequence.
      const std::string generated = seg("Inner Thoughts") + seg("Commands");
      const std::string model_text = generated.substr(0, generated.size() - 6);
      ParsedTurn parsed = moss->parse(model_text, registry.get());
      const auto written = written_calls(inner(seg("Commands"), "<|Commands|>: ", "<eoc>\n"));
      calls_total += static_cast<int>(written.size());
      bool same = parsed.calls.size() == written.size() && !parsed.answer;
      for (std::size_t i = 0; same && i < written.size(); ++i) {
        std::string tool;
        json args = expected_arguments(written[i], &tool);
        const auto& c = parsed.calls[i];
        const bool known = tool == "search" || tool == "calculator" || tool == "solver";
        const bool arity_ok = written[i].api == "Solve" || written[i].args.size() == 1;
        same = c.source == written[i].source && c.call.name == tool && c.call.arguments == args &&
               c.valid() == (known && arity_ok);
        EXPECT_TRUE(same) << written[i].source << " parsed as " << c.call.name << " "
                          << c.call.arguments.dump() << " error: " << c.error;
      }
      EXPECT_TRUE(same) << "turn " << t << ": " << model_text;
      commands_ok += same;

      messages.push_back(Message::calls({}, parsed.thoughts));
      for (std::size_t i = 0; i < parsed.calls.size(); ++i) {
        messages.back().tool_calls.push_back(parsed.calls[i].call);
      }
      original += generated;
      if (moss->render(messages, {}, {}) != original) {
        messages.back() = parsed.to_message(model_text);
        ++raw_commands;
      }
      EXPECT_EQ(moss->render(messages, {}, {}), original);

      // The runtime's results, then the generation prompt.
      const std::string results = seg("Tool Responses");
      const std::string body = inner(results, "<|Results|>:", "<eor>\n");
      const Message commands = messages.back();
      original += results;
      RenderOptions prompt;
      prompt.add_generation_prompt = true;
      bool results_ok = false;
      if (commands.tool_calls.empty() && body == "\nNone\n") {
        results_ok = moss->render(messages, {}, prompt) == original;
      } else if (auto split = split_results(body, commands, *moss)) {
        messages.insert(messages.end(), split->begin(), split->end());
        results_ok = moss->render(messages, {}, prompt) == original;
        if (!results_ok) messages.resize(messages.size() - split->size());
      }
      if (!results_ok) {
        Message recorded = Message::tool_result(
            commands.tool_calls.empty() ? "" : commands.tool_calls[0].name, "", "");
        recorded.raw = body;
        messages.push_back(std::move(recorded));
        ++raw_results;
      }
      EXPECT_EQ(moss->render(messages, {}, prompt), original);

      // The model's second generation: the answer, up to <eom>.
      const std::string answer_text = seg("MOSS").substr(0, seg("MOSS").size() - 6);
      ParsedTurn answer = moss->parse(answer_text, registry.get());
      ASSERT_TRUE(answer.is_answer()) << answer_text;
      messages.push_back(Message::answer(*answer.answer));
      original += seg("MOSS");
      if (moss->render(messages, {}, {}) != original) {
        messages.back() = answer.to_message(answer_text);
        ++raw_answers;
      }
      EXPECT_EQ(moss->render(messages, {}, {}), original);
      if (messages.back().raw || commands.raw || !results_ok) canonical = false;
    }
    const bool byte_exact = moss->render(messages, {}, {}) == original;
    EXPECT_TRUE(byte_exact);
    exact += byte_exact;
    canonical_conversations += byte_exact && canonical;
  }
  std::cout << "MOSS fidelity: " << files.size() << " conversations, " << turns << " turns, "
            << calls_total << " calls\n"
            << "  commands parsed exactly as written: " << commands_ok << "/" << turns << " turns\n"
            << "  rendered byte for byte: " << exact << "/" << files.size() << " conversations ("
            << canonical_conversations << " from parsed fields alone; model text kept for "
            << raw_commands << " commands, " << raw_results << " results blocks, " << raw_answers
            << " answers)\n"
            << "  default meta instruction equals the file's: " << meta_ok << "/" << files.size()
            << "\n";
  RecordProperty("conversations", static_cast<int>(files.size()));
  RecordProperty("byte_exact", exact);
  RecordProperty("canonical", canonical_conversations);
  EXPECT_EQ(commands_ok, turns);
  EXPECT_EQ(exact, static_cast<int>(files.size()));
  EXPECT_EQ(meta_ok, static_cast<int>(files.size()));
}

}  // namespace
}  // namespace agentrt::agent
