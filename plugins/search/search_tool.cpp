// The search tool and its registration.
#include <agentrt/plugins/search.h>

#include <chrono>
#include <memory>

#include <agentrt/tools/config.h>
#include <agentrt/tools/registry.h>

namespace agentrt::plugins {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct SearchOptions {
  std::filesystem::path index;
  int64_t max_k = 10;
  std::chrono::milliseconds timeout{2000};
};

class SearchTool : public tools::Tool {
 public:
  explicit SearchTool(SearchOptions options) : options_(std::move(options)) {
    spec_.name = "search";
    spec_.description =
        "Search the document collection; returns the best matching documents with title, "
        "snippet and source.";
    spec_.parameters = {{"type", "object"},
                        {"properties",
                         {{"query",
                           {{"type", "string"},
                            {"description", "what to look for, in any language"},
                            {"minLength", 1u}}},
                          {"k",
                           {{"type", "integer"},
                            {"description", "how many results"},
                            {"minimum", 1},
                            {"maximum", options_.max_k},
                            {"default", 3}}}}},
                        {"required", {"query"}},
                        {"additionalProperties", false}};
  }

  const tools::ToolSpec& spec() const override { return spec_; }

  tools::ToolResult invoke(const json& arguments, const tools::ToolContext& ctx) const override {
    const std::string query = arguments.at("query").get<std::string>();
    int64_t k = 3;
    if (auto it = arguments.find("k"); it != arguments.end()) k = it->get<int64_t>();
    k = std::clamp<int64_t>(k, 1, options_.max_k);
    const auto deadline = std::min(Clock::now() + options_.timeout, ctx.deadline());
    std::vector<search::SearchHit> hits;
    try {
      search::SearchIndex index(options_.index);
      hits = index.search(query, static_cast<int>(k),
                          [&] { return ctx.cancelled() || Clock::now() >= deadline; });
    } catch (const search::IndexError& e) {
      return tools::ToolResult::failure(e.what());
    }
    json results = json::array();
    std::string text;
    for (size_t i = 0; i < hits.size(); ++i) {
      const auto& h = hits[i];
      text +=
          std::to_string(i + 1) + ". " + h.title + " (" + h.source + ")\n   " + h.snippet + "\n";
      results.push_back({{"id", h.id},
                         {"title", h.title},
                         {"snippet", h.snippet},
                         {"source", h.source},
                         {"score", h.score}});
    }
    if (hits.empty()) text = "No results.";
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return tools::ToolResult::success(std::move(text), json{{"results", std::move(results)}});
  }

 private:
  SearchOptions options_;
  tools::ToolSpec spec_;
};

}  // namespace

void register_search(tools::Registry& registry, const tools::Config& config) {
  SearchOptions o;
  o.index = config.get_path("search.index", AGENTRT_DEFAULT_SEARCH_INDEX);
  // An index the user named must exist; the built-in default is checked when first used.
  if (config.has("search.index") && !std::filesystem::exists(o.index))
    throw tools::ConfigError("search.index: no such file: " + o.index.string() +
                             " (build it with: agentrt index build SOURCES... --out INDEX)");
  o.max_k = config.get_int("search.max_k", o.max_k);
  if (o.max_k < 1 || o.max_k > 100)
    throw tools::ConfigError("search.max_k must be between 1 and 100");
  const int64_t timeout = config.get_int("search.timeout_ms", 2000);
  if (timeout < 1) throw tools::ConfigError("search.timeout_ms must be at least 1");
  o.timeout = std::chrono::milliseconds(timeout);
  registry.add(std::make_unique<SearchTool>(std::move(o)));
}

}  // namespace agentrt::plugins
