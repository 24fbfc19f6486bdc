// Shared by the dialect tests: the sample conversations of tests/data/dialects and file helpers.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agentrt/agent/message.h"
#include "agentrt/tools/tool.h"
#include "test_support.h"

namespace agentrt::agent::test {

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct SampleConversations {
  std::vector<tools::ToolSpec> tools;
  // "circle", "parallel" for every dialect; "moss_none" (MOSS's None commands turn) for moss.
  std::map<std::string, std::vector<Message>> conversations;
};

inline SampleConversations sample_conversations() {
  auto j =
      nlohmann::json::parse(slurp(agentrt::test::test_data() / "dialects" / "conversations.json"));
  SampleConversations out;
  for (const auto& t : j.at("tools")) {
    out.tools.push_back({t.at("name").get<std::string>(), t.at("description").get<std::string>(),
                         t.at("parameters")});
  }
  for (const auto& [name, messages] : j.at("conversations").items()) {
    out.conversations[name] = messages.get<std::vector<Message>>();
  }
  for (const auto& [name, messages] : j.at("moss_conversations").items()) {
    out.conversations["moss_" + name] = messages.get<std::vector<Message>>();
  }
  return out;
}

}  // namespace agentrt::agent::test
