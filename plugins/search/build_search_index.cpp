// Build-time helper: indexes the example documents (examples/data/docs.jsonl) into the default
// search index. Usage: agentrt_build_search_index OUT.idx SOURCE...
// Builds OUT.idx.tmp from scratch and renames it, so the shipped index never holds stale paths.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <vector>

#include <agentrt/plugins/search.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OUT.idx SOURCE...\n", argv[0]);
    return 2;
  }
  try {
    const std::filesystem::path out = argv[1];
    std::filesystem::path tmp = out;
    tmp += ".tmp";
    std::filesystem::remove(tmp);
    const std::vector<std::filesystem::path> sources(argv + 2, argv + argc);
    const auto stats = agentrt::plugins::search::build_index(sources, tmp);
    std::filesystem::rename(tmp, out);
    std::printf("%lld documents\n", static_cast<long long>(stats.documents));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agentrt_build_search_index: %s\n", e.what());
    return 1;
  }
  return 0;
}
