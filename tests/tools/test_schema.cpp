#include "agentrt/tools/schema.h"

#include <gtest/gtest.h>

namespace agentrt::tools {
namespace {

using nlohmann::json;

struct Case {
  const char* name;
  const char* schema;
  const char* value;
  std::vector<std::string> errors;  // exactly these, in order
};

const json kObject = json::parse(R"({
  "type": "object",
  "properties": {
    "k": {"type": "integer", "minimum": 1, "maximum": 10},
    "x": {"type": "number", "exclusiveMinimum": 0},
    "s": {"type": "string", "minLength": 2, "maxLength": 4},
    "unit": {"type": "string", "enum": ["km", "mi"]},
    "flag": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
    "point": {"type": "object", "properties": {"lat": {"type": "number"}},
              "required": ["lat"], "additionalProperties": false},
    "maybe": {"type": ["string", "null"]}
  },
  "required": ["k"],
  "additionalProperties": false
})");

class SchemaTable : public ::testing::TestWithParam<Case> {};

TEST_P(SchemaTable, Validates) {
  const Case& c = GetParam();
  json schema = std::string(c.schema) == "object" ? kObject : json::parse(c.schema);
  auto errors = validate(schema, json::parse(c.value));
  EXPECT_EQ(errors, c.errors) << "case " << c.name << ": " << join_errors(errors);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SchemaTable,
    ::testing::Values(
        Case{"valid_minimal", "object", R"({"k": 3})", {}},
        Case{"valid_full",
             "object",
             R"({"k": 10, "x": 0.5, "s": "ab", "unit": "mi", "flag": true, "tags": ["a"],
                 "point": {"lat": 1.5}, "maybe": null})",
             {}},
        Case{"integer_got_string",
             "object",
             R"({"k": "3"})",
             {"arguments.k: expected integer, got string"}},
        Case{"integer_got_fraction",
             "object",
             R"({"k": 3.5})",
             {"arguments.k: expected integer, got number"}},
        Case{"integer_accepts_3_0", "object", R"({"k": 3.0})", {}},
        Case{"number_accepts_integer", "object", R"({"k": 1, "x": 7})", {}},
        Case{"missing_required", "object", R"({})", {"arguments.k: missing required property"}},
        Case{"below_minimum", "object", R"({"k": 0})", {"arguments.k: must be >= 1, got 0"}},
        Case{"above_maximum", "object", R"({"k": 11})", {"arguments.k: must be <= 10, got 11"}},
        Case{"exclusive_minimum",
             "object",
             R"({"k": 1, "x": 0})",
             {"arguments.x: must be > 0, got 0"}},
        Case{"string_too_short",
             "object",
             R"({"k": 1, "s": "a"})",
             {"arguments.s: must be at least 2 characters, got 1"}},
        Case{"string_too_long",
             "object",
             R"({"k": 1, "s": "abcde"})",
             {"arguments.s: must be at most 4 characters, got 5"}},
        Case{"length_counts_code_points", "object", R"({"k": 1, "s": "日本語"})", {}},
        Case{"enum_mismatch",
             "object",
             R"({"k": 1, "unit": "ft"})",
             {"arguments.unit: must be one of \"km\", \"mi\", got \"ft\""}},
        Case{"boolean_got_number",
             "object",
             R"({"k": 1, "flag": 1})",
             {"arguments.flag: expected boolean, got integer"}},
        Case{"array_item_type",
             "object",
             R"({"k": 1, "tags": ["a", 2]})",
             {"arguments.tags[1]: expected string, got integer"}},
        Case{"array_too_short",
             "object",
             R"({"k": 1, "tags": []})",
             {"arguments.tags: must have at least 1 items, got 0"}},
        Case{"array_too_long",
             "object",
             R"({"k": 1, "tags": ["a", "b", "c"]})",
             {"arguments.tags: must have at most 2 items, got 3"}},
        Case{"nested_missing",
             "object",
             R"({"k": 1, "point": {}})",
             {"arguments.point.lat: missing required property"}},
        Case{"nested_extra",
             "object",
             R"({"k": 1, "point": {"lat": 1, "lon": 2}})",
             {"arguments.point.lon: unexpected property (allowed: lat)"}},
        Case{"additional_false",
             "object",
             R"({"k": 1, "zzz": true})",
             {"arguments.zzz: unexpected property (allowed: flag, k, maybe, point, s, tags, "
              "unit, x)"}},
        Case{"additional_true",
             R"({"type": "object", "additionalProperties": true})",
             R"({"anything": [1, 2]})",
             {}},
        Case{"additional_absent_allows",
             R"({"type": "object", "properties": {}})",
             R"({"anything": 1})",
             {}},
        Case{"additional_schema",
             R"({"type": "object", "additionalProperties": {"type": "number"}})",
             R"({"a": 1, "b": "x"})",
             {"arguments.b: expected number, got string"}},
        Case{"type_union",
             "object",
             R"({"k": 1, "maybe": 5})",
             {"arguments.maybe: expected string or null, got integer"}},
        Case{"not_an_object", "object", R"([1, 2])", {"arguments: expected object, got array"}},
        Case{"null_arguments", "object", R"(null)", {"arguments: expected object, got null"}},
        Case{"several_errors",
             "object",
             R"({"k": "a", "s": 3, "unit": "x"})",
             {"arguments.k: expected integer, got string",
              "arguments.s: expected string, got integer",
              "arguments.unit: must be one of \"km\", \"mi\", got \"x\""}},
        Case{"const",
             R"({"type": "object", "properties": {"v": {"const": 2}}})",
             R"({"v": 3})",
             {"arguments.v: must be 2, got 3"}}),
    [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

TEST(Schema, FillsDefaults) {
  json schema = json::parse(R"({
    "type": "object",
    "properties": {
      "k": {"type": "integer", "default": 5},
      "q": {"type": "string"},
      "opts": {"type": "object", "properties": {"deep": {"type": "boolean", "default": true}}}
    }})");
  json filled = fill_defaults(schema, json::parse(R"({"q": "x", "opts": {}})"));
  EXPECT_EQ(filled, json::parse(R"({"q": "x", "k": 5, "opts": {"deep": true}})"));
  // A present value is never overwritten.
  EXPECT_EQ(fill_defaults(schema, json::parse(R"({"k": 1})")).at("k"), 1);
}

TEST(Schema, ChecksSchemas) {
  EXPECT_TRUE(check_schema(json::parse(R"({"type": "object"})")).empty());
  EXPECT_TRUE(check_schema(kObject).empty());
  EXPECT_FALSE(check_schema(json::parse(R"({"type": "array"})")).empty());
  EXPECT_FALSE(check_schema(json::parse(R"({"type": "object", "required": "k"})")).empty());
  EXPECT_FALSE(
      check_schema(json::parse(R"({"type": "object", "properties": {"a": {"minLength": -1}}})"))
          .empty());
  // Bounds written as C++ literals are signed JSON integers and just as valid.
  const json built = {{"type", "object"},
                      {"properties", {{"a", {{"type", "string"}, {"minLength", 1}}}}}};
  EXPECT_TRUE(check_schema(built).empty());
  auto problems =
      check_schema(json::parse(R"({"type": "object", "properties": {"a": {"pattern": "x"}}})"));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "parameters.a: unsupported keyword \"pattern\"");
}

}  // namespace
}  // namespace agentrt::tools
