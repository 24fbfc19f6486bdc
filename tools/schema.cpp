#include "agentrt/tools/schema.h"

#include <cmath>
#include <string>

namespace agentrt::tools {
namespace {

using nlohmann::json;

bool is_integral(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

// The JSON Schema type name of a value, as used in messages ("got string").
std::string type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "unknown";
  }
}

bool has_type(const json& v, const std::string& type) {
  if (type == "integer") return is_integral(v);
  if (type == "number") return v.is_number();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "null") return v.is_null();
  return false;
}

std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string short_dump(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string number_text(const json& v) {
  return short_dump(v);
}

class Validator {
 public:
  explicit Validator(std::vector<std::string>& errors) : errors_(errors) {}

  void check(const json& schema, const json& value, const std::string& path) {
    if (!schema.is_object()) return;  // `true`/`{}`-like: anything goes
    if (!check_type(schema, value, path)) return;
    if (auto it = schema.find("const"); it != schema.end() && *it != value) {
      error(path, "must be " + short_dump(*it) + ", got " + short_dump(value));
    }
    if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
      bool found = false;
      for (const auto& option : *it) found = found || option == value;
      if (!found) {
        std::string options;
        for (const auto& option : *it) {
          if (!options.empty()) options += ", ";
          options += short_dump(option);
        }
        error(path, "must be one of " + options + ", got " + short_dump(value));
      }
    }
    if (value.is_number()) check_number(schema, value, path);
    if (value.is_string()) check_string(schema, value.get_ref<const std::string&>(), path);
    if (value.is_array()) check_array(schema, value, path);
    if (value.is_object()) check_object(schema, value, path);
  }

 private:
  void error(const std::string& path, const std::string& message) {
    errors_.push_back(path + ": " + message);
  }

  bool check_type(const json& schema, const json& value, const std::string& path) {
    auto it = schema.find("type");
    if (it == schema.end()) return true;
    std::vector<std::string> types;
    if (it->is_string()) types.push_back(it->get<std::string>());
    if (it->is_array()) {
      for (const auto& t : *it)
        if (t.is_string()) types.push_back(t.get<std::string>());
    }
    for (const auto& t : types)
      if (has_type(value, t)) return true;
    std::string expected;
    for (std::size_t i = 0; i < types.size(); ++i) {
      if (i > 0) expected += i + 1 == types.size() ? " or " : ", ";
      expected += types[i];
    }
    error(path, "expected " + expected + ", got " + type_of(value));
    return false;
  }

  void check_number(const json& schema, const json& value, const std::string& path) {
    double v = value.get<double>();
    auto bound = [&](const char* key, auto fails, const char* relation) {
      auto it = schema.find(key);
      if (it == schema.end() || !it->is_number()) return;
      if (fails(v, it->template get<double>())) {
        error(path, std::string("must be ") + relation + " " + number_text(*it) + ", got " +
                        number_text(value));
      }
    };
    bound(
        "minimum", [](double x, double b) { return x < b; }, ">=");
    bound(
        "maximum", [](double x, double b) { return x > b; }, "<=");
    bound(
        "exclusiveMinimum", [](double x, double b) { return x <= b; }, ">");
    bound(
        "exclusiveMaximum", [](double x, double b) { return x >= b; }, "<");
  }

  void check_string(const json& schema, const std::string& s, const std::string& path) {
    std::size_t n = code_points(s);
    if (auto it = schema.find("minLength"); it != schema.end() && it->is_number_integer()) {
      if (n < it->get<std::size_t>()) {
        error(path, "must be at least " + it->dump() + " characters, got " + std::to_string(n));
      }
    }
    if (auto it = schema.find("maxLength"); it != schema.end() && it->is_number_integer()) {
      if (n > it->get<std::size_t>()) {
        error(path, "must be at most " + it->dump() + " characters, got " + std::to_string(n));
      }
    }
  }

  void check_array(const json& schema, const json& value, const std::string& path) {
    if (auto it = schema.find("minItems"); it != schema.end() && it->is_number_integer()) {
      if (value.size() < it->get<std::size_t>()) {
        error(path,
              "must have at least " + it->dump() + " items, got " + std::to_string(value.size()));
      }
    }
    if (auto it = schema.find("maxItems"); it != schema.end() && it->is_number_integer()) {
      if (value.size() > it->get<std::size_t>()) {
        error(path,
              "must have at most " + it->dump() + " items, got " + std::to_string(value.size()));
      }
    }
    if (auto it = schema.find("items"); it != schema.end() && it->is_object()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        check(*it, value[i], path + "[" + std::to_string(i) + "]");
      }
    }
  }

  void check_object(const json& schema, const json& value, const std::string& path) {
    static const json kEmpty = json::object();
    auto props_it = schema.find("properties");
    const json& props = props_it != schema.end() && props_it->is_object() ? *props_it : kEmpty;
    if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
      for (const auto& key : *it) {
        if (key.is_string() && !value.contains(key.get_ref<const std::string&>())) {
          error(path + "." + key.get<std::string>(), "missing required property");
        }
      }
    }
    auto extra_it = schema.find("additionalProperties");
    for (const auto& [key, member] : value.items()) {
      std::string member_path = path + "." + key;
      if (auto p = props.find(key); p != props.end()) {
        check(*p, member, member_path);
        continue;
      }
      if (extra_it == schema.end()) continue;
      if (extra_it->is_boolean() && !extra_it->get<bool>()) {
        std::string allowed;
        for (const auto& [name, unused] : props.items()) {
          (void)unused;
          if (!allowed.empty()) allowed += ", ";
          allowed += name;
        }
        error(member_path,
              "unexpected property" + (allowed.empty() ? "" : " (allowed: " + allowed + ")"));
      } else if (extra_it->is_object()) {
        check(*extra_it, member, member_path);
      }
    }
  }

  std::vector<std::string>& errors_;
};

const char* const kKnownTypes[] = {"string", "number", "integer", "boolean",
                                   "object", "array",  "null"};
const char* const kUnsupported[] = {"$ref",
                                    "anyOf",
                                    "oneOf",
                                    "allOf",
                                    "not",
                                    "pattern",
                                    "if",
                                    "patternProperties",
                                    "dependentSchemas"};

void check_schema_node(const json& schema, const std::string& path, std::vector<std::string>& out) {
  if (schema.is_boolean()) return;
  if (!schema.is_object()) {
    out.push_back(path + ": a schema must be an object, got " + type_of(schema));
    return;
  }
  for (const char* key : kUnsupported) {
    if (schema.contains(key)) out.push_back(path + ": unsupported keyword \"" + key + "\"");
  }
  if (auto it = schema.find("type"); it != schema.end()) {
    auto check_one = [&](const json& t) {
      bool known = false;
      if (t.is_string())
        for (const char* k : kKnownTypes) known = known || t == k;
      if (!known) out.push_back(path + ".type: unknown type " + short_dump(t));
    };
    if (it->is_array()) {
      for (const auto& t : *it) check_one(t);
    } else {
      check_one(*it);
    }
  }
  if (auto it = schema.find("properties"); it != schema.end()) {
    if (!it->is_object()) {
      out.push_back(path + ".properties: must be an object");
    } else {
      for (const auto& [key, sub] : it->items()) check_schema_node(sub, path + "." + key, out);
    }
  }
  if (auto it = schema.find("required"); it != schema.end()) {
    bool ok = it->is_array();
    if (ok)
      for (const auto& k : *it) ok = ok && k.is_string();
    if (!ok) out.push_back(path + ".required: must be an array of strings");
  }
  if (auto it = schema.find("enum"); it != schema.end() && (!it->is_array() || it->empty())) {
    out.push_back(path + ".enum: must be a non-empty array");
  }
  for (const char* key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
    if (auto it = schema.find(key); it != schema.end() && !it->is_number()) {
      out.push_back(path + "." + key + ": must be a number");
    }
  }
  for (const char* key : {"minLength", "maxLength", "minItems", "maxItems"}) {
    // A literal 1 in C++ is a signed JSON integer; "1" parsed from text is unsigned. Both count.
    if (auto it = schema.find(key);
        it != schema.end() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
      out.push_back(path + "." + key + ": must be a non-negative integer");
    }
  }
  if (auto it = schema.find("items"); it != schema.end()) check_schema_node(*it, path + "[]", out);
  if (auto it = schema.find("additionalProperties"); it != schema.end() && !it->is_boolean()) {
    check_schema_node(*it, path + ".additionalProperties", out);
  }
}

}  // namespace

std::vector<std::string> validate(const json& schema, const json& value, std::string_view root) {
  std::vector<std::string> errors;
  Validator(errors).check(schema, value, std::string(root));
  return errors;
}

json fill_defaults(const json& schema, json value) {
  if (!schema.is_object()) return value;
  if (value.is_object()) {
    if (auto props = schema.find("properties"); props != schema.end() && props->is_object()) {
      for (const auto& [key, sub] : props->items()) {
        if (!sub.is_object()) continue;
        if (auto member = value.find(key); member != value.end()) {
          *member = fill_defaults(sub, std::move(*member));
        } else if (auto def = sub.find("default"); def != sub.end()) {
          value[key] = *def;
        }
      }
    }
  } else if (value.is_array()) {
    if (auto items = schema.find("items"); items != schema.end() && items->is_object()) {
      for (auto& element : value) element = fill_defaults(*items, std::move(element));
    }
  }
  return value;
}

std::vector<std::string> check_schema(const json& schema) {
  std::vector<std::string> out;
  if (!schema.is_object()) {
    out.push_back("parameters: must be a JSON object schema, got " + type_of(schema));
    return out;
  }
  if (auto it = schema.find("type"); it != schema.end() && *it != "object") {
    out.push_back("parameters.type: must be \"object\" (arguments are a JSON object)");
  }
  check_schema_node(schema, "parameters", out);
  return out;
}

std::string join_errors(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += "; ";
    out += e;
  }
  return out;
}

}  // namespace agentrt::tools
