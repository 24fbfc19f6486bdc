// Unicode normalisation and tokenizing of calculator expressions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "agentrt/plugins/calculator/ast.h"

namespace agentrt::plugins::calc {

enum class TokenKind {
  kNumber,
  kName,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kDoubleSlash,
  kPercent,
  kCaret,
  kBang,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kSqrtSign,    // √, applies to the operand that follows
  kComparison,  // = == != < > <= >= (refused by the calculator with a pointed message)
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;           // normalised spelling (ASCII for operators, digits and Latin names)
  std::size_t position = 0;   // 1-based code point position in the original text
  bool space_before = false;  // whitespace separated it from the previous token
};

// Splits TEXT into tokens, ending with kEnd. Full-width forms, × ÷ · − √ π and superscript
// digits are mapped to their ASCII meaning first. Invalid UTF-8, stray characters and input
// longer than max_length code points are errors.
Result<std::vector<Token>> tokenize(std::string_view text, std::size_t max_length);

}  // namespace agentrt::plugins::calc
