// agentrt index build: turns text, Markdown and JSONL files into a search index for the search
// tool (incrementally: unchanged files are skipped, removed ones dropped).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agentrt/plugins/search.h"
#include "commands.h"

namespace agentrt::cli {
namespace {

struct IndexBuildOptions {
  std::vector<std::string> sources;
  std::string out;
  bool json = false;
};

void run_index_build(const IndexBuildOptions& o) {
  const std::vector<std::filesystem::path> sources(o.sources.begin(), o.sources.end());
  const auto stats = plugins::search::build_index(sources, o.out);
  if (o.json) {
    std::cout << nlohmann::json{{"index", o.out},           {"added", stats.added},
                                {"updated", stats.updated}, {"unchanged", stats.unchanged},
                                {"removed", stats.removed}, {"documents", stats.documents}}
                     .dump()
              << "\n";
    return;
  }
  std::printf("%s: %lld added, %lld updated, %lld unchanged, %lld removed; %lld documents\n",
              o.out.c_str(), static_cast<long long>(stats.added),
              static_cast<long long>(stats.updated), static_cast<long long>(stats.unchanged),
              static_cast<long long>(stats.removed), static_cast<long long>(stats.documents));
}

}  // namespace

void add_index_commands(CLI::App& app) {
  auto* index = app.add_subcommand("index", "Build search indexes for the search tool");
  index->require_subcommand(1);
  auto options = std::make_shared<IndexBuildOptions>();
  auto* build = index->add_subcommand(
      "build",
      "Index .txt, .md and .jsonl files (folders are searched recursively) into INDEX; "
      "only changed files are re-read, and files no longer listed are removed");
  build->add_option("sources", options->sources, "files and folders to index")->required();
  build->add_option("--out,-o", options->out, "the index file (created when absent)")->required();
  build->add_flag("--json", options->json, "print the counts as JSON");
  build->callback([options] { run_index_build(*options); });
}

}  // namespace agentrt::cli
