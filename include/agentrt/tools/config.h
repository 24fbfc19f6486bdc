// Configuration shared by every command and the server: a JSON or TOML file (--config FILE)
// overlaid with `--set section.key=value` overrides. Keys are dotted paths ("sql.database").
//
// Thread-safety: a Config is built at start-up and read-only afterwards; const methods are safe to
// call concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentrt::tools {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Config {
 public:
  Config() = default;
  // Reads FILE (".json" or ".toml"); throws ConfigError naming the file, line and problem.
  static Config from_file(const std::filesystem::path& file);
  // Applies "section.key=value"; value is parsed as JSON when it parses (numbers, true, [..]),
  // otherwise kept as a string. Throws ConfigError on a malformed override.
  void set(std::string_view assignment);
  void set(std::string_view key, nlohmann::json value);

  bool has(std::string_view key) const;
  // Typed getters: the value, the fallback when absent, ConfigError when present with the wrong
  // type.
  std::string get_string(std::string_view key, std::string_view fallback) const;
  int64_t get_int(std::string_view key, int64_t fallback) const;
  double get_double(std::string_view key, double fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;
  // A path; relative paths are resolved against the directory of the config file that set them
  // (or the working directory for --set). "~/" expands to $HOME.
  std::filesystem::path get_path(std::string_view key, const std::filesystem::path& fallback) const;

  const nlohmann::json& root() const { return root_; }

 private:
  const nlohmann::json* lookup(std::string_view key) const;
  bool set_by_override(std::string_view key) const;

  nlohmann::json root_ = nlohmann::json::object();
  std::filesystem::path base_dir_;
  std::vector<std::string> overridden_;  // keys set through set(): paths resolve against the cwd
};

}  // namespace agentrt::tools
