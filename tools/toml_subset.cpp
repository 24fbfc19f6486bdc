#include "toml_subset.h"

#include <charconv>
#include <cstdlib>
#include <string>
#include <vector>

#include "agentrt/tools/config.h"
#include "text.h"

namespace agentrt::tools::detail {
namespace {

using nlohmann::json;

bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  json parse() {
    json root = json::object();
    json* table = &root;
    while (true) {
      skip_blank_lines();
      if (eof()) break;
      if (peek() == '[') {
        table = &open_table(root);
      } else {
        parse_assignment(*table);
      }
      expect_line_end();
    }
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw ConfigError(name_ + ":" + std::to_string(line_) + ": " + message);
  }
  bool eof() const { return pos_ >= text_.size(); }
  char peek() const { return eof() ? '\0' : text_[pos_]; }
  void advance() {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  void skip_spaces() {
    while (!eof() && (peek() == ' ' || peek() == '\t')) advance();
  }
  void skip_comment() {
    if (peek() == '#')
      while (!eof() && peek() != '\n') advance();
  }
  void skip_blank_lines() {
    while (true) {
      skip_spaces();
      skip_comment();
      if (!eof() && (peek() == '\n' || peek() == '\r')) {
        advance();
        continue;
      }
      return;
    }
  }
  void expect_line_end() {
    skip_spaces();
    skip_comment();
    if (peek() == '\r') advance();
    if (eof()) return;
    if (peek() != '\n') fail(std::string("unexpected '") + peek() + "' after the value");
    advance();
  }

  std::vector<std::string> parse_key() {
    std::vector<std::string> parts;
    while (true) {
      skip_spaces();
      if (peek() == '"') {
        parts.push_back(parse_basic_string());
      } else if (peek() == '\'') {
        parts.push_back(parse_literal_string());
      } else {
        std::string part;
        while (!eof() && is_bare_key_char(peek())) {
          part += peek();
          advance();
        }
        if (part.empty()) fail("expected a key");
        parts.push_back(std::move(part));
      }
      skip_spaces();
      if (peek() != '.') return parts;
      advance();
    }
  }

  static std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : ".") + p;
    return out;
  }

  json& open_table(json& root) {
    advance();  // '['
    if (peek() == '[') fail("arrays of tables ([[...]]) are not supported");
    auto parts = parse_key();
    if (peek() != ']') fail("expected ']' to close the table header");
    advance();
    json* node = &root;
    for (const auto& part : parts) {
      json& child = (*node)[part];
      if (child.is_null()) child = json::object();
      if (!child.is_object()) fail(in_quotes(joined(parts)) + " is already a value, not a table");
      node = &child;
    }
    return *node;
  }

  void parse_assignment(json& table) {
    auto parts = parse_key();
    if (peek() != '=') fail("expected '=' after key \"" + joined(parts) + "\"");
    advance();
    skip_spaces();
    json* node = &table;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      json& child = (*node)[parts[i]];
      if (child.is_null()) child = json::object();
      if (!child.is_object()) fail(in_quotes(parts[i]) + " is already a value, not a table");
      node = &child;
    }
    if (node->contains(parts.back())) fail("duplicate key \"" + joined(parts) + "\"");
    (*node)[parts.back()] = parse_value();
  }

  json parse_value() {
    if (eof() || peek() == '\n' || peek() == '#') fail("expected a value");
    char c = peek();
    if (c == '"') {
      if (text_.substr(pos_, 3) == "\"\"\"") fail("multi-line strings are not supported");
      return parse_basic_string();
    }
    if (c == '\'') {
      if (text_.substr(pos_, 3) == "'''") fail("multi-line strings are not supported");
      return parse_literal_string();
    }
    if (c == '[') return parse_array();
    if (c == '{') return parse_inline_table();
    return parse_scalar();
  }

  std::string parse_basic_string() {
    advance();  // opening quote
    std::string out;
    while (true) {
      if (eof() || peek() == '\n') fail("unterminated string");
      char c = peek();
      advance();
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (eof()) fail("unterminated string");
      char e = peek();
      advance();
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case 'u':
        case 'U': {
          std::size_t n = e == 'u' ? 4 : 8;
          if (pos_ + n > text_.size()) fail("truncated \\" + std::string(1, e) + " escape");
          std::string hex(text_.substr(pos_, n));
          unsigned long cp = 0;
          auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + n, cp, 16);
          if (ec != std::errc() || ptr != hex.data() + n || cp > 0x10FFFF ||
              (cp >= 0xD800 && cp <= 0xDFFF)) {
            fail("invalid unicode escape \\" + std::string(1, e) + hex);
          }
          for (std::size_t i = 0; i < n; ++i) advance();
          append_utf8(out, cp);
          break;
        }
        default:
          fail(std::string("invalid escape \\") + e);
      }
    }
  }

  std::string parse_literal_string() {
    advance();
    std::string out;
    while (true) {
      if (eof() || peek() == '\n') fail("unterminated string");
      char c = peek();
      advance();
      if (c == '\'') return out;
      out += c;
    }
  }

  json parse_array() {
    advance();  // '['
    json out = json::array();
    while (true) {
      skip_blank_lines();
      if (eof()) fail("unterminated array");
      if (peek() == ']') {
        advance();
        return out;
      }
      out.push_back(parse_value());
      skip_blank_lines();
      if (eof()) fail("unterminated array");
      if (peek() == ',') {
        advance();
      } else if (peek() != ']') {
        fail("expected ',' or ']' in array");
      }
    }
  }

  json parse_inline_table() {
    advance();  // '{'
    json out = json::object();
    skip_spaces();
    if (peek() == '}') {
      advance();
      return out;
    }
    while (true) {
      parse_assignment(out);
      skip_spaces();
      if (peek() == '}') {
        advance();
        return out;
      }
      if (peek() != ',') fail("expected ',' or '}' in inline table");
      advance();
    }
  }

  json parse_scalar() {
    std::string token;
    while (!eof()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ']' || c == '}' ||
          c == '#')
        break;
      token += c;
      advance();
    }
    if (token == "true") return true;
    if (token == "false") return false;
    std::string digits;
    for (std::size_t i = 0; i < token.size(); ++i) {
      if (token[i] != '_') {
        digits += token[i];
        continue;
      }
      bool between_digits = i > 0 && i + 1 < token.size() && std::isdigit(token[i - 1] & 0xFF) &&
                            std::isdigit(token[i + 1] & 0xFF);
      if (!between_digits) fail("invalid number \"" + token + "\"");
    }
    if (digits.empty()) fail("expected a value");
    bool is_float = digits.find_first_of(".eE") != std::string::npos && digits.rfind("0x", 0) != 0;
    const char* begin = digits.data();
    const char* end = digits.data() + digits.size();
    if (*begin == '+') ++begin;
    if (is_float) {
      double d = 0;
      auto [ptr, ec] = std::from_chars(begin, end, d);
      if (ec != std::errc() || ptr != end) {
        fail("invalid value \"" + token + "\" (strings need quotes)");
      }
      return d;
    }
    int64_t v = 0;
    int base = 10;
    if (end - begin > 2 && begin[0] == '0' &&
        (begin[1] == 'x' || begin[1] == 'o' || begin[1] == 'b')) {
      base = begin[1] == 'x' ? 16 : begin[1] == 'o' ? 8 : 2;
      begin += 2;
    }
    auto [ptr, ec] = std::from_chars(begin, end, v, base);
    if (ec == std::errc::result_out_of_range) fail("integer out of range \"" + token + "\"");
    if (ec != std::errc() || ptr != end) {
      fail("invalid value \"" + token + "\" (strings need quotes)");
    }
    return v;
  }

  std::string_view text_;
  const std::string& name_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

json parse_toml(std::string_view text, const std::string& name) {
  return Parser(text, name).parse();
}

}  // namespace agentrt::tools::detail
