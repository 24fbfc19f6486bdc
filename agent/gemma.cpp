// gemma: Gemma's chat turns (<start_of_turn>user / model ... <end_of_turn>) with the chatml
// tool-call convention (<tool_call> JSON blocks, <tool_response> results). Gemma has no system
// role: the system text and the tool block open the first user turn, as Gemma's own chat
// template puts a system message there. docs/dialects.md.
#include <string>

#include "agentrt/agent/dialect.h"
#include "dialect_common.h"

namespace agentrt::agent {
namespace {

constexpr std::string_view kUser = "<start_of_turn>user\n";
constexpr std::string_view kModel = "<start_of_turn>model\n";
constexpr std::string_view kEnd = "<end_of_turn>";

class GemmaDialect final : public Dialect {
 public:
  std::string_view name() const override { return "gemma"; }

  std::string render(std::span<const Message> messages, std::span<const tools::ToolSpec> tools,
                     const RenderOptions& options) const override {
    // A user turn is left open after the system prefix (the first user message completes it)
    // and after a results group (more results may follow); whatever comes next closes it.
    enum class Open { none, system_prefix, results };
    std::string out;
    Open open = Open::none;
    std::size_t first = 0;
    std::string system;
    if (!messages.empty() && messages[0].role == Role::system) {
      system = messages[0].content;
      first = 1;
    }
    system = detail::tool_call_system_text(std::move(system), tools, options.tool_prompt);
    if (!system.empty()) {
      out.append(kUser).append(system).append("\n\n");
      open = Open::system_prefix;
    }
    auto close_user_turn = [&] {
      if (open != Open::none) out.append(kEnd).append("\n");
      open = Open::none;
    };
    for (std::size_t i = first; i < messages.size(); ++i) {
      const Message& m = messages[i];
      switch (m.role) {
        case Role::tool:
          if (open == Open::results) {
            out += "\n";
          } else if (open == Open::none) {
            out += kUser;
          }
          out += detail::tool_response_block(m);
          open = Open::results;
          break;
        case Role::assistant:
          close_user_turn();
          out.append(kModel).append(detail::tool_call_assistant_body(m)).append(end_of_turn(m));
          break;
        default:  // user, and later system messages: Gemma reads both as the user's
          if (open == Open::results) close_user_turn();
          if (open == Open::none) out += kUser;
          out.append(m.content).append(kEnd).append("\n");
          open = Open::none;
      }
    }
    if (options.add_generation_prompt) {
      close_user_turn();
      out += kModel;
    }
    return out;
  }

  std::vector<std::string> stop_sequences() const override {
    return {std::string(kEnd), "<start_of_turn>"};
  }

  std::string end_of_turn(const Message&) const override { return std::string(kEnd) + "\n"; }

  ParsedTurn parse(std::string_view text, const tools::Registry* registry,
                   const ParseOptions& options) const override {
    return detail::parse_tool_call_text(text, kEnd, registry, options);
  }
};

}  // namespace

std::unique_ptr<Dialect> make_gemma_dialect() {
  return std::make_unique<GemmaDialect>();
}

}  // namespace agentrt::agent
