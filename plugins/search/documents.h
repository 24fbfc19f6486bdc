// Turning source files into documents (the part of indexing that knows file formats).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::plugins::search {

struct Document {
  std::string id;  // unique within its file
  std::string title;
  std::string text;
  std::string source;  // shown with results
};

// Parses `content` of a file by its extension (.txt, .md/.markdown, .jsonl). `name` is how the
// file is named in sources ("docs/a.md"). Throws IndexError naming the file (and line).
std::vector<Document> parse_documents(const std::filesystem::path& path, std::string_view name,
                                      std::string_view content);

// Whether build_index takes files with this name's extension.
bool is_indexable(const std::filesystem::path& path);

}  // namespace agentrt::plugins::search
