// Tables of expressions and the text a person expects.
#include <gtest/gtest.h>

#include "agentrt/plugins/calculator.h"

namespace agentrt::plugins::calc {
namespace {

struct Case {
  const char* expression;
  const char* expected;
};

class Calculates : public ::testing::TestWithParam<Case> {};

TEST_P(Calculates, Text) {
  const Case& c = GetParam();
  auto r = calculate(c.expression);
  ASSERT_TRUE(r.ok()) << c.expression << ": " << describe(r.error());
  EXPECT_EQ(r.value().text, c.expected) << c.expression;
}

INSTANTIATE_TEST_SUITE_P(
    Arithmetic, Calculates,
    ::testing::Values(
        Case{"1+2", "3"}, Case{"(3/2)*(2*6+(3-1)*3)", "27"}, Case{"3/7", "0.4285714285714286"},
        Case{"1/3", "0.3333333333333333"}, Case{"2/3", "0.6666666666666667"}, Case{"1/8", "0.125"},
        Case{"-1/8", "-0.125"}, Case{"50/(2*7)", "3.571428571428571"}, Case{"400*(1-0.45)", "220"},
        Case{"0.1+0.2", "0.3"}, Case{"4*6.5*0.9", "23.4"},
        Case{"2^100", "1267650600228229401496703205376"}, Case{"2**10", "1024"},
        Case{"2^-2", "0.25"}, Case{"-2^2", "-4"}, Case{"(-2)^2", "4"}, Case{"2^3^2", "512"},
        Case{"10^16", "10000000000000000"}, Case{"10^-7", "1e-7"},
        Case{"1/3*10^20", "3.333333333333333e19"}, Case{"7 % 3", "1"}, Case{"-7 % 3", "2"},
        Case{"7 % -3", "-2"}, Case{"7.5 % 2", "1.5"}, Case{"30 // 1^2", "30"},
        Case{"-7 // 2", "-4"}, Case{"6.6%-6.7%", "-0.001"}, Case{"5.9%-(-3.5%)", "0.094"},
        Case{"15% * 80", "12"}, Case{"50%", "0.5"}, Case{"5!", "120"}, Case{"7!/(4!*(7-4)!)", "35"},
        Case{"0!", "1"}, Case{"3!!", "720"}, Case{"factorial(20)", "2432902008176640000"},
        Case{"6e8-4e8", "200000000"}, Case{"1.5e3", "1500"}, Case{"2e-3", "0.002"},
        Case{"0b01101000", "104"}, Case{"0x1F", "31"}, Case{"0o17", "15"}, Case{".5+.25", "0.75"},
        Case{"2pi", "6.283185307179586"}, Case{"3(4+5)", "27"},
        Case{"2sqrt(2)", "2.8284271247461903"}, Case{"(1+2)(3+4)", "21"},
        Case{"1/2pi", "1.5707963267948966"}, Case{"2 pi", "6.283185307179586"},
        Case{"sqrt(16)", "4"}, Case{"sqrt(16/9)", "1.333333333333333"},
        Case{"sqrt(2)", "1.4142135623730951"}, Case{"sqrt(2)^2", "2"}, Case{"125^(1/3)", "5"},
        Case{"8^(1/3)", "2"}, Case{"(-8)^(1/3)", "-2"}, Case{"4^(3/2)", "8"}, Case{"cbrt(27)", "3"},
        Case{"pow(12, 1/3)", "2.2894284851066637"}, Case{"exp(0)", "1"},
        Case{"exp(1)", "2.718281828459045"}, Case{"ln(e)", "1"},
        Case{"log(100)", "4.605170185988092"}, Case{"log10(1000)", "3"}, Case{"log2(8)", "3"},
        Case{"log(8, 2)", "3"}, Case{"log(1000, 10)", "3"}, Case{"lg(100)", "2"},
        Case{"sin(0)", "0"}, Case{"cos(0)", "1"}, Case{"sin(pi/2)", "1"},
        Case{"sin(30)", "-0.9880316240928618"}, Case{"tan(pi/4)", "1"},
        Case{"asin(1)", "1.5707963267948966"}, Case{"atan2(1, 1)", "0.7853981633974483"},
        Case{"abs(-3/4)", "0.75"}, Case{"floor(-2.5)", "-3"}, Case{"ceil(500/375)", "2"},
        Case{"round(2.5)", "3"}, Case{"round(-2.5)", "-3"}, Case{"round(3.14159, 2)", "3.14"},
        Case{"min(3, 1, 2)", "1"}, Case{"max(3, 1/2, 2)", "3"}, Case{"gcd(12, 18)", "6"},
        Case{"lcm(4, 6, 10)", "60"}, Case{"floor((500-80-90-95)/110)+3", "5"},
        Case{"sqrt[(41-10)(41-20)(41-30)(41-22)]", "368.86176272419453"}, Case{"１２＋３４", "46"},
        Case{"３×４", "12"}, Case{"12÷4", "3"}, Case{"2·3", "6"}, Case{"（1＋2）×3", "9"},
        Case{"5−2", "3"}, Case{"√16", "4"}, Case{"3²", "9"}, Case{"2³", "8"},
        Case{"π", "3.141592653589793"}, Case{"2π", "6.283185307179586"}, Case{"  1 +\t2 ", "3"},
        Case{"--2", "2"}, Case{"+3", "3"}, Case{"0^0", "1"}, Case{"0^15", "0"},
        Case{"(732673-710231)/710231", "0.03159817017280293"}, Case{"1e-7", "1e-7"},
        Case{"123456789012345678901234567890 + 1", "123456789012345678901234567891"},
        Case{"2^100 / 2^98", "4"}, Case{"1/(2^60)", "8.673617379884035e-19"}));

struct Failing {
  const char* expression;
  const char* message;  // a substring of the error
};

class Refuses : public ::testing::TestWithParam<Failing> {};

TEST_P(Refuses, WithMessage) {
  const Failing& c = GetParam();
  auto r = calculate(c.expression);
  ASSERT_FALSE(r.ok()) << c.expression << " gave " << r.value().text;
  EXPECT_NE(describe(r.error()).find(c.message), std::string::npos)
      << c.expression << ": " << describe(r.error());
}

INSTANTIATE_TEST_SUITE_P(
    Errors, Refuses,
    ::testing::Values(
        Failing{"2*apples", "unknown name 'apples' at position 3"},
        Failing{"CubeRoot(12)", "unknown function 'CubeRoot' at position 1"},
        Failing{"中国太阳能装置数量 - 日本太阳能装置数量",
                "unknown name '中国太阳能装置数量' at position 1"},
        Failing{"x - 0.8x = 24 - 19.2", "equation"}, Failing{"1700>=1600", "comparison '>='"},
        Failing{"-9 == 1 - 8", "equation"}, Failing{"1/0", "division by zero at position 2"},
        Failing{"5 % 0", "division by zero"}, Failing{"sqrt(-1)", "no real value"},
        Failing{"ln(0)", "only defined for positive"}, Failing{"(-8)^(1/2)", "no real value"},
        Failing{"asin(2)", "[-1, 1]"}, Failing{"(-3)!", "negative integer"}, Failing{"", "empty"},
        Failing{"1 +", "ends"}, Failing{"(1+2", "never closed"}, Failing{"1+2)", "unmatched ')'"},
        Failing{"1,000", "thousands"}, Failing{"sqrt 4", "parentheses"},
        Failing{"min()", "at least 1 argument"}, Failing{"atan2(1)", "takes 2 arguments"},
        Failing{"2 3", "missing operator"}, Failing{"1 $ 2", "unexpected character '$'"},
        Failing{"gcd(1.5, 3)", "integer"}, Failing{"max([<|1|>], [<|2|>])", "unexpected"},
        Failing{"d/dx (4 * 900 / x^2 + x^2)", "unknown name 'd'"},
        Failing{"if 2000000 > (a:=1000000+b)", "unexpected character ':'"},
        Failing{"147227.31亿美元*6.474", "unknown name '亿美元' at position 10"},
        Failing{"1.2.3", "two decimal points"}, Failing{"0b102", "invalid digit"}));

TEST(Calculate, StructuredAnswer) {
  auto r = calculate("3/7");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().exact);
  EXPECT_EQ(r.value().fraction, "3/7");
  EXPECT_DOUBLE_EQ(r.value().value, 3.0 / 7.0);
  auto f = calculate("sqrt(2)");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f.value().exact);
  EXPECT_EQ(f.value().fraction, "");
}

TEST(Calculate, HugeExactIntegers) {
  auto r = calculate("2^10000");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().text.size(), 3011u);
  EXPECT_EQ(r.value().text.substr(0, 6), "199506");
  auto f = calculate("100!");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.value().text.size(), 158u);
  EXPECT_EQ(f.value().text.substr(0, 10), "9332621544");
}

}  // namespace
}  // namespace agentrt::plugins::calc
