#include "documents.h"

#include <agentrt/plugins/search.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "sqlite_util.h"

namespace agentrt::plugins::search {
namespace {

using json = nlohmann::json;

std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits into lines without their "\n" or "\r\n".
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

// "Opening Hours & Prices" -> "opening-hours-prices"; non-ASCII characters are kept.
std::string slug(std::string_view heading) {
  std::string out;
  for (char c : heading) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "section" : out;
}

constexpr size_t kMaxTitleBytes = 200;

std::vector<Document> parse_text(std::string_view name, std::string_view content,
                                 const std::string& stem) {
  Document doc;
  doc.id = stem;
  doc.source = std::string(name);
  const auto lines = lines_of(content);
  size_t first = 0;
  while (first < lines.size() && trim(lines[first]).empty()) ++first;
  if (first < lines.size() && trim(lines[first]).size() <= kMaxTitleBytes &&
      lines.size() > first + 1) {
    doc.title = std::string(trim(lines[first]));
    const size_t body_start =
        static_cast<size_t>(lines[first].data() - content.data()) + lines[first].size();
    doc.text = std::string(trim(content.substr(std::min(body_start, content.size()))));
  } else {
    doc.title = stem;
    doc.text = std::string(trim(content));
  }
  if (doc.text.empty() && doc.title == stem) return {};
  return {std::move(doc)};
}

bool is_fence(std::string_view line) {
  line = trim(line);
  return line.starts_with("```") || line.starts_with("~~~");
}

// The heading text when `line` is an ATX heading of exactly `level` '#'s.
bool heading(std::string_view line, int level, std::string_view& text) {
  size_t n = 0;
  while (n < line.size() && line[n] == '#') ++n;
  if (static_cast<int>(n) != level || (n < line.size() && line[n] != ' ' && line[n] != '\t'))
    return false;
  text = trim(line.substr(n));
  while (!text.empty() && text.back() == '#') text.remove_suffix(1);  // closing #s
  text = trim(text);
  return true;
}

std::vector<Document> parse_markdown(std::string_view name, std::string_view content,
                                     const std::string& stem) {
  const auto lines = lines_of(content);
  std::string h1;
  bool fenced = false;
  for (std::string_view line : lines) {
    if (is_fence(line)) fenced = !fenced;
    std::string_view text;
    if (!fenced && heading(line, 1, text)) {
      h1 = std::string(text);
      break;
    }
  }
  const std::string base_title = h1.empty() ? stem : h1;

  std::vector<Document> docs;
  std::string section_title;  // empty for the text before the first "## "
  std::string section_id;
  std::string body;
  const auto flush = [&] {
    const std::string text(trim(body));
    if (!text.empty() || !section_title.empty()) {
      Document d;
      d.id = section_title.empty() ? stem : section_id;
      d.title = section_title.empty() ? base_title : base_title + " — " + section_title;
      d.text = text;
      d.source = std::string(name) + (section_title.empty() ? "" : "#" + section_id);
      docs.push_back(std::move(d));
    }
    body.clear();
  };
  fenced = false;
  for (std::string_view line : lines) {
    if (is_fence(line)) fenced = !fenced;
    std::string_view text;
    if (!fenced && heading(line, 2, text)) {
      flush();
      section_title = std::string(text);
      section_id = slug(text);
      // Two sections with the same heading still get distinct ids.
      for (int n = 2; std::any_of(docs.begin(), docs.end(),
                                  [&](const Document& d) { return d.id == section_id; });
           ++n)
        section_id = slug(text) + "-" + std::to_string(n);
      continue;
    }
    if (!fenced && heading(line, 1, text) && text == h1) continue;  // already the title
    body.append(line);
    body += '\n';
  }
  flush();
  return docs;
}

std::string string_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return {};
}

std::vector<Document> parse_jsonl(std::string_view name, std::string_view content) {
  std::vector<Document> docs;
  const auto lines = lines_of(content);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = trim(lines[i]);
    if (line.empty()) continue;
    const std::string where = std::string(name) + ":" + std::to_string(i + 1) + ": ";
    const json obj = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (obj.is_discarded()) throw IndexError(where + "not valid JSON");
    if (!obj.is_object()) throw IndexError(where + "expected a JSON object");
    auto text = obj.find("text");
    if (text == obj.end() || !text->is_string())
      throw IndexError(where + "\"text\" must be a string");
    Document d;
    d.text = text->get<std::string>();
    d.id = string_field(obj, "id");
    if (d.id.empty()) d.id = std::to_string(i + 1);
    d.title = string_field(obj, "title");
    if (!obj.contains("title")) d.title = d.id;
    d.source = string_field(obj, "source");
    if (d.source.empty()) d.source = string_field(obj, "url");
    if (d.source.empty()) d.source = std::string(name) + "#" + d.id;
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace

bool is_indexable(const std::filesystem::path& path) {
  const std::string ext = lower_extension(path);
  return ext == ".txt" || ext == ".md" || ext == ".markdown" || ext == ".jsonl";
}

std::vector<Document> parse_documents(const std::filesystem::path& path, std::string_view name,
                                      std::string_view content) {
  // Invalid UTF-8 would break FTS5 offsets and JSON output later; repair it once here.
  const std::string clean = sqlite::sanitize_utf8(content);
  const std::string ext = lower_extension(path);
  const std::string stem = path.stem().string();
  std::vector<Document> docs;
  if (ext == ".jsonl") {
    docs = parse_jsonl(name, clean);
  } else if (ext == ".md" || ext == ".markdown") {
    docs = parse_markdown(name, clean, stem);
  } else if (ext == ".txt") {
    docs = parse_text(name, clean, stem);
  } else {
    throw IndexError(std::string(name) + ": unsupported file type (use .txt, .md or .jsonl)");
  }
  for (Document& d : docs) {
    if (d.title.size() > kMaxTitleBytes)
      d.title = std::string(sqlite::utf8_prefix(d.title, kMaxTitleBytes)) + "…";
    for (std::string* s : {&d.id, &d.title, &d.source, &d.text}) *s = sqlite::sanitize_utf8(*s);
  }
  return docs;
}

}  // namespace agentrt::plugins::search
