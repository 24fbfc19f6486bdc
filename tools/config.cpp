#include "agentrt/tools/config.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "toml_subset.h"

namespace agentrt::tools {
namespace {

using nlohmann::json;

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file.string() + ": cannot open the config file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw ConfigError(file.string() + ": cannot read the config file");
  return buffer.str();
}

int line_of(const std::string& text, std::size_t byte) {
  byte = std::min(byte, text.size());
  int line = 1;
  for (std::size_t i = 0; i < byte; ++i) line += text[i] == '\n';
  return line;
}

json parse_json_file(const std::string& text, const std::string& name) {
  try {
    return json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    int line = line_of(text, e.byte > 0 ? e.byte - 1 : 0);
    std::string what = e.what();
    if (auto colon = what.find("syntax error"); colon != std::string::npos)
      what = what.substr(colon);
    throw ConfigError(name + ":" + std::to_string(line) + ": " + what);
  }
}

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    parts.emplace_back(key.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

bool valid_key(std::string_view key) {
  if (key.empty()) return false;
  for (const auto& part : split_key(key)) {
    if (part.empty()) return false;
    for (char c : part) {
      bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
      if (!ok) return false;
    }
  }
  return true;
}

std::string describe(const json& v) {
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return std::string(v.type_name()) + " " + s;
}

[[noreturn]] void wrong_type(std::string_view key, const char* expected, const json& v) {
  throw ConfigError("config " + std::string(key) + ": expected " + expected + ", got " +
                    describe(v));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::filesystem::path expand_home(const std::string& p) {
  if (p == "~" || p.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    if (home && *home) return std::filesystem::path(home) / p.substr(p.size() > 1 ? 2 : 1);
  }
  return p;
}

}  // namespace

Config Config::from_file(const std::filesystem::path& file) {
  std::string text = read_file(file);
  std::string name = file.string();
  std::string ext = file.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  json root;
  if (ext == ".json") {
    root = parse_json_file(text, name);
  } else if (ext == ".toml") {
    root = detail::parse_toml(text, name);
  } else {
    throw ConfigError(name + ": unknown config format \"" + ext + "\" (use .json or .toml)");
  }
  if (!root.is_object()) throw ConfigError(name + ":1: the top level must be an object");
  Config config;
  config.root_ = std::move(root);
  std::error_code ec;
  auto absolute = std::filesystem::absolute(file, ec);
  config.base_dir_ = (ec ? file : absolute).parent_path();
  return config;
}

void Config::set(std::string_view assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    throw ConfigError("--set " + std::string(assignment) + ": expected section.key=value");
  }
  std::string_view key = trim(assignment.substr(0, eq));
  std::string_view text = trim(assignment.substr(eq + 1));
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || text.empty()) value = std::string(text);
  set(key, std::move(value));
}

void Config::set(std::string_view key, json value) {
  if (!valid_key(key)) {
    throw ConfigError("--set: invalid key \"" + std::string(key) +
                      "\" (expected section.key with letters, digits, _ and -)");
  }
  auto parts = split_key(key);
  json* node = &root_;
  std::string walked;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    walked += (walked.empty() ? "" : ".") + parts[i];
    json& child = (*node)[parts[i]];
    if (child.is_null()) child = json::object();
    if (!child.is_object()) {
      throw ConfigError("--set " + std::string(key) + ": " + walked + " is a " + child.type_name() +
                        ", not a section");
    }
    node = &child;
  }
  (*node)[parts.back()] = std::move(value);
  overridden_.emplace_back(key);
}

const json* Config::lookup(std::string_view key) const {
  const json* node = &root_;
  for (const auto& part : split_key(key)) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(part);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

bool Config::has(std::string_view key) const {
  const json* v = lookup(key);
  return v != nullptr && !v->is_null();
}

std::string Config::get_string(std::string_view key, std::string_view fallback) const {
  const json* v = lookup(key);
  if (!v || v->is_null()) return std::string(fallback);
  if (v->is_string()) return v->get<std::string>();
  // --set cannot tell "2024" from 2024; a scalar is accepted where text is expected.
  if (v->is_number() || v->is_boolean()) return v->dump();
  wrong_type(key, "a string", *v);
}

int64_t Config::get_int(std::string_view key, int64_t fallback) const {
  const json* v = lookup(key);
  if (!v || v->is_null()) return fallback;
  if (v->is_number_unsigned()) {
    auto u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      wrong_type(key, "an integer in range", *v);
    }
    return static_cast<int64_t>(u);
  }
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.2e18) {
      return static_cast<int64_t>(d);
    }
  }
  wrong_type(key, "an integer", *v);
}

double Config::get_double(std::string_view key, double fallback) const {
  const json* v = lookup(key);
  if (!v || v->is_null()) return fallback;
  if (v->is_number()) return v->get<double>();
  wrong_type(key, "a number", *v);
}

bool Config::get_bool(std::string_view key, bool fallback) const {
  const json* v = lookup(key);
  if (!v || v->is_null()) return fallback;
  if (v->is_boolean()) return v->get<bool>();
  wrong_type(key, "true or false", *v);
}

bool Config::set_by_override(std::string_view key) const {
  for (const auto& o : overridden_) {
    if (key == o) return true;
    if (key.size() > o.size() && key.substr(0, o.size()) == o && key[o.size()] == '.') return true;
  }
  return false;
}

std::filesystem::path Config::get_path(std::string_view key,
                                       const std::filesystem::path& fallback) const {
  const json* v = lookup(key);
  if (!v || v->is_null()) return expand_home(fallback.string());
  if (!v->is_string()) wrong_type(key, "a path string", *v);
  std::filesystem::path p = expand_home(v->get<std::string>());
  if (p.is_absolute()) return p;
  if (set_by_override(key) || base_dir_.empty()) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(p, ec);
    return ec ? p : abs;
  }
  return base_dir_ / p;
}

}  // namespace agentrt::tools
