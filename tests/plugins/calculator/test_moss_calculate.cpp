// Measurement on MOSS's real Calculate() calls (../shared/data/moss/calculate.jsonl): where MOSS
// returned a number we must return the same number (relative 1e-9); where MOSS refused, we
// compute the valid arithmetic and refuse the rest (words, unknown names, equations).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agentrt/plugins/calculator.h"
#include "test_support.h"

namespace agentrt::plugins::calc {
namespace {

// MOSS's result as a number, when it is one ("'270.0'", "56"); refusals are "No result." etc.
bool moss_number(std::string result, double& out) {
  if (result.size() >= 2 && result.front() == '\'' && result.back() == '\'') {
    result = result.substr(1, result.size() - 2);
  }
  if (result.empty()) return false;
  char* end = nullptr;
  out = std::strtod(result.c_str(), &end);
  return end == result.c_str() + result.size();
}

// MOSS-refused inputs that are not arithmetic: we must refuse them too. Every other input MOSS
// refused is valid arithmetic that we compute.
const std::set<std::string> kNotArithmetic = {
    // unbalanced parentheses
    "sqrt((16+12+8*sqrt(5))/2*(16+12+8*sqrt(5))/2-16*(16+12+8*sqrt(5))/2)*(16+12+8*sqrt(5))/2-16*"
    "(16+12+8*sqrt(5))/2)*(16+12+8*sqrt(5))/2-12*(16+12+8*sqrt(5))/2)*(16+12+8*sqrt(5))/2-8*sqrt("
    "5)*(16+12+8*sqrt(5))/2)",
    "-9 == 1 - 8",
    "x - 0.8x = 24 - 19.2",
    "3*(7-3*y)-2*y",
    "pass_rate = (250-8)/250*100; unqualified_parts = (1-pass_rate/100)*600;",
    "sqrt((2/3*x)^2 + x^2)/x",
    "1700>=1600",
    "2*3.14*r=50",
    "(a+b)+(b+c)-b",
    "b=14-c;a=10-c-b",
    "中国太阳能装置数量 - 日本太阳能装置数量",
    "if 2000000 > (a:=1000000+b) and b>=0 and b<=1000000 else 0",
    "其他公司收益与阿里巴巴集团收益相差多少",
    "209366亿美元/328.2万人",
    "五环路长度",
    "GDP of South Korea * percentage of GDP that comes from exports * percentage of the main "
    "exports",
    "1987/上海总面积",
    "max([<|1|>], [<|2|>], [<|3|>], [<|4|>])",
    "max([<|1|>], [<|2|>])",
    "每天应该摄入多少维生素D",
    "10*9.8*橘子密度",
    "d/dx (4 * 900 / x^2 + x^2)",
    "鸡蛋单价*10",
    "2*CubeRoot(12)^2+2*CubeRoot(12)^2+2*CubeRoot(12)^2",
    "2*(2*4x+2*x*4x+2*x*2x)",
    "(x+2) + (x+5) + (x+4)",
    "9*x-25",
    "特斯拉超级充电站充电速率*特斯拉车辆电池容量/特斯拉车辆百公里耗电量",
    "distance/45",
    "(c-b)*f=15",
    "c-d+f",
    "c-b",
    // MOSS gave numbers for these two, but they are not arithmetic (see
    // plugins/calculator/README.md)
    "1坦桑尼亚先令等于多少美元",
    "147227.31亿美元*6.474",
    // valid arithmetic beyond our bounds: 301,030 digits
    "2^1000000",
};

TEST(MossCalculate, MatchRate) {
  AGENTRT_REQUIRE_SHARED("moss/calculate.jsonl");
  std::ifstream in(test::shared_data() / "moss/calculate.jsonl");
  std::string line;
  int records = 0, moss_numbers = 0, matched = 0, moss_refused = 0, computed_refused = 0,
      refused_ok = 0, wrong_refusal = 0, wrong_compute = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line);
    const std::string arg = record.at("argument").get<std::string>();
    const std::string result = record.at("result").get<std::string>();
    ++records;
    auto ours = calculate(arg);
    double expected = 0;
    const bool should_refuse = kNotArithmetic.count(arg) > 0;
    if (moss_number(result, expected)) {
      ++moss_numbers;
      const bool match = ours.ok() && std::abs(ours.value().value - expected) <=
                                          1e-9 * std::max(1.0, std::abs(expected));
      if (match) {
        ++matched;
      } else {
        std::printf("  MISMATCH %-40s MOSS %-22s ours %s\n", arg.c_str(), result.c_str(),
                    ours.ok() ? ours.value().text.c_str() : describe(ours.error()).c_str());
        EXPECT_TRUE(should_refuse) << "unexpected mismatch on " << arg;
        EXPECT_FALSE(ours.ok()) << arg;
      }
      continue;
    }
    ++moss_refused;
    if (should_refuse) {
      if (ours.ok()) {
        ++wrong_compute;
        ADD_FAILURE() << "computed non-arithmetic " << arg << " = " << ours.value().text;
      } else {
        ++refused_ok;
        std::printf("  refused  %-40.40s %s\n", arg.c_str(), describe(ours.error()).c_str());
      }
    } else if (ours.ok()) {
      ++computed_refused;
      std::printf("  computed %-40.40s = %.60s (MOSS: %s)\n", arg.c_str(),
                  ours.value().text.c_str(), result.c_str());
    } else {
      ++wrong_refusal;
      ADD_FAILURE() << "refused valid arithmetic " << arg << ": " << describe(ours.error());
    }
  }
  std::printf(
      "MOSS calculate: %d records; MOSS returned a number in %d, we match %d (%.1f%%); MOSS "
      "refused %d: we computed %d valid ones and refused %d non-arithmetic ones\n",
      records, moss_numbers, matched, 100.0 * matched / std::max(1, moss_numbers), moss_refused,
      computed_refused, refused_ok);
  EXPECT_GT(records, 200);
  EXPECT_GE(static_cast<double>(matched) / moss_numbers, 0.98);
  EXPECT_EQ(wrong_refusal, 0);
  EXPECT_EQ(wrong_compute, 0);
}

}  // namespace
}  // namespace agentrt::plugins::calc
