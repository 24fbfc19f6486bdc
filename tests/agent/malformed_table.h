// Table-driven checks of what a dialect makes of malformed model output.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "agent_tools.h"
#include "agentrt/agent/dialect.h"

namespace agentrt::agent::test {

struct Malformed {
  Malformed(std::string name_, std::string text_, std::vector<std::string> calls_,
            std::optional<std::string> answer_ = std::nullopt, bool cut_ = false)
      : name(std::move(name_)),
        text(std::move(text_)),
        calls(std::move(calls_)),
        answer(std::move(answer_)),
        cut(cut_) {}
  std::string name;
  std::string text;
  // One entry per parsed call: "" for a valid call, else a substring its error must contain.
  std::vector<std::string> calls;
  std::optional<std::string> answer;  // the final answer expected, when the turn is one
  bool cut = false;                   // generation hit the token limit
};

inline void check_malformed(const Dialect& dialect, const std::vector<Malformed>& table) {
  auto registry = agent_registry();
  for (const auto& row : table) {
    SCOPED_TRACE(row.name);
    ParsedTurn turn;
    ParseOptions options;
    options.hit_token_limit = row.cut;
    ASSERT_NO_THROW(turn = dialect.parse(row.text, registry.get(), options));
    ASSERT_EQ(turn.calls.size(), row.calls.size());
    for (std::size_t i = 0; i < row.calls.size(); ++i) {
      if (row.calls[i].empty()) {
        EXPECT_TRUE(turn.calls[i].valid()) << "call " << i << ": " << turn.calls[i].error;
      } else {
        EXPECT_NE(turn.calls[i].error.find(row.calls[i]), std::string::npos)
            << "call " << i << " error: " << turn.calls[i].error;
      }
    }
    if (row.answer) {
      ASSERT_TRUE(turn.is_answer());
      EXPECT_EQ(*turn.answer, *row.answer);
      EXPECT_EQ(turn.truncated, row.cut);
    } else {
      EXPECT_FALSE(turn.answer.has_value());
    }
    // Without a registry nothing throws either.
    EXPECT_NO_THROW(dialect.parse(row.text, nullptr, options));
  }
}

inline std::string nested_arguments(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

}  // namespace agentrt::agent::test
