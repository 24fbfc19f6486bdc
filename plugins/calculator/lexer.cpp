#include "lexer.h"

#include <cstdint>

namespace agentrt::plugins::calc {
namespace {

struct CodePoint {
  char32_t value;
  std::size_t position;  // 1-based
};

Result<std::vector<CodePoint>> decode_utf8(std::string_view text, std::size_t max_length) {
  std::vector<CodePoint> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (out.size() >= max_length) {
      return Error{"expression too long (more than " + std::to_string(max_length) + " characters)",
                   0};
    }
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::size_t len = 1;
    char32_t cp = b0;
    if (b0 >= 0x80) {
      if ((b0 & 0xE0) == 0xC0) {
        len = 2, cp = b0 & 0x1F;
      } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, cp = b0 & 0x0F;
      } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, cp = b0 & 0x07;
      } else {
        return Error{"invalid UTF-8", out.size() + 1};
      }
      if (i + len > text.size()) return Error{"invalid UTF-8", out.size() + 1};
      for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(text[i + k]);
        if ((b & 0xC0) != 0x80) return Error{"invalid UTF-8", out.size() + 1};
        cp = (cp << 6) | (b & 0x3F);
      }
    }
    out.push_back({cp, out.size() + 1});
    i += len;
  }
  return out;
}

void append_utf8(std::string& s, char32_t cp) {
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Placeholders for characters that expand to more than one ASCII character; they sit in the
// private-use area so no real input collides with them.
constexpr char32_t kSquare = 0xF8F0;    // ² -> ^2
constexpr char32_t kCube = 0xF8F1;      // ³ -> ^3
constexpr char32_t kPiSign = 0xF8F2;    // π -> pi
constexpr char32_t kRootSign = 0xF8F3;  // √
constexpr char32_t kLessEq = 0xF8F4;    // ≤ ≥ ≠
constexpr char32_t kSpace = U' ';

char32_t normalise(char32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) return c - 0xFEE0;  // full-width ASCII block
  switch (c) {
    case 0x3000:
    case 0x00A0:
    case 0x2009:
    case 0x202F:
    case 0x200B:
    case U'\t':
    case U'\n':
    case U'\r':
      return kSpace;
    case 0x00D7:
    case 0x00B7:
    case 0x22C5:
    case 0x2217:
    case 0x2715:
    case 0x2716:
      return U'*';
    case 0x00F7:
    case 0x2215:
    case 0x2044:
      return U'/';
    case 0x2212:
    case 0x2012:
    case 0x2013:
    case 0xFE63:
      return U'-';
    case 0x3010:
      return U'[';
    case 0x3011:
      return U']';
    case 0x00B2:
      return kSquare;
    case 0x00B3:
      return kCube;
    case 0x03C0:
      return kPiSign;
    case 0x221A:
      return kRootSign;
    case 0x2264:
    case 0x2265:
    case 0x2260:
      return kLessEq;
    default:
      return c;
  }
}

bool is_digit(char32_t c) {
  return c >= U'0' && c <= U'9';
}
bool is_name_start(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || c == U'_' ||
         (c >= 0x80 && c < 0xF8F0) || c > 0xF8FF;
}
bool is_name_char(char32_t c) {
  return is_name_start(c) || is_digit(c);
}

int digit_value(char32_t c) {
  if (is_digit(c)) return static_cast<int>(c - U'0');
  if (c >= U'a' && c <= U'z') return static_cast<int>(c - U'a') + 10;
  if (c >= U'A' && c <= U'Z') return static_cast<int>(c - U'A') + 10;
  return 99;
}

}  // namespace

Result<std::vector<Token>> tokenize(std::string_view text, std::size_t max_length) {
  auto decoded = decode_utf8(text, max_length);
  if (!decoded) return decoded.error();
  std::vector<CodePoint> cps = std::move(decoded).value();
  for (auto& cp : cps) cp.value = normalise(cp.value);

  std::vector<Token> tokens;
  bool space = false;
  const std::size_t n = cps.size();
  std::size_t i = 0;
  auto at = [&](std::size_t k) -> char32_t { return k < n ? cps[k].value : U'\0'; };
  auto push = [&](TokenKind kind, std::string spelling, std::size_t position) {
    tokens.push_back(Token{kind, std::move(spelling), position, space});
    space = false;
  };

  while (i < n) {
    const char32_t c = cps[i].value;
    const std::size_t pos = cps[i].position;
    if (c == kSpace) {
      space = true;
      ++i;
      continue;
    }
    if (is_digit(c) || (c == U'.' && is_digit(at(i + 1)))) {
      std::string number;
      const char32_t base_mark = at(i + 1);
      if (c == U'0' && (base_mark == U'x' || base_mark == U'X' || base_mark == U'b' ||
                        base_mark == U'B' || base_mark == U'o' || base_mark == U'O')) {
        const int base = (base_mark == U'x' || base_mark == U'X')   ? 16
                         : (base_mark == U'b' || base_mark == U'B') ? 2
                                                                    : 8;
        number.push_back('0');
        number.push_back(base == 16 ? 'x' : base == 2 ? 'b' : 'o');
        i += 2;
        while (i < n && digit_value(at(i)) < base) append_utf8(number, cps[i++].value);
        if (number.size() == 2) return Error{"number '" + number + "' has no digits", pos};
        if (i < n && is_name_char(at(i)) && digit_value(at(i)) < 36) {
          return Error{"invalid digit in base-" + std::to_string(base) + " number",
                       cps[i].position};
        }
        push(TokenKind::kNumber, std::move(number), pos);
        continue;
      }
      while (i < n && is_digit(at(i))) number += static_cast<char>(cps[i++].value);
      if (at(i) == U'.') {
        number += '.';
        ++i;
        while (i < n && is_digit(at(i))) number += static_cast<char>(cps[i++].value);
        if (at(i) == U'.' && is_digit(at(i + 1))) {
          return Error{"a number has two decimal points", cps[i].position};
        }
      }
      // An exponent only when digits follow, so `2e` stays 2·e and `2e-3` is 0.002.
      if (at(i) == U'e' || at(i) == U'E') {
        std::size_t k = i + 1;
        if (at(k) == U'+' || at(k) == U'-') ++k;
        if (is_digit(at(k))) {
          number += 'e';
          ++i;
          if (at(i) == U'+' || at(i) == U'-') number += static_cast<char>(cps[i++].value);
          while (i < n && is_digit(at(i))) number += static_cast<char>(cps[i++].value);
        }
      }
      push(TokenKind::kNumber, std::move(number), pos);
      continue;
    }
    if (is_name_start(c)) {
      std::string name;
      while (i < n && is_name_char(at(i))) append_utf8(name, cps[i++].value);
      push(TokenKind::kName, std::move(name), pos);
      continue;
    }
    ++i;
    switch (c) {
      case U'+':
        push(TokenKind::kPlus, "+", pos);
        break;
      case U'-':
        push(TokenKind::kMinus, "-", pos);
        break;
      case U'*':
        if (at(i) == U'*') {
          ++i;
          push(TokenKind::kCaret, "**", pos);
        } else {
          push(TokenKind::kStar, "*", pos);
        }
        break;
      case U'/':
        if (at(i) == U'/') {
          ++i;
          push(TokenKind::kDoubleSlash, "//", pos);
        } else {
          push(TokenKind::kSlash, "/", pos);
        }
        break;
      case U'%':
        push(TokenKind::kPercent, "%", pos);
        break;
      case U'^':
        push(TokenKind::kCaret, "^", pos);
        break;
      case U'!':
        if (at(i) == U'=') {
          ++i;
          push(TokenKind::kComparison, "!=", pos);
        } else {
          push(TokenKind::kBang, "!", pos);
        }
        break;
      case U'(':
        push(TokenKind::kLParen, "(", pos);
        break;
      case U')':
        push(TokenKind::kRParen, ")", pos);
        break;
      case U'[':
        push(TokenKind::kLBracket, "[", pos);
        break;
      case U']':
        push(TokenKind::kRBracket, "]", pos);
        break;
      case U',':
        push(TokenKind::kComma, ",", pos);
        break;
      case U'=':
      case U'<':
      case U'>': {
        std::string op(1, static_cast<char>(c));
        if (at(i) == U'=') {
          op += '=';
          ++i;
        }
        push(TokenKind::kComparison, std::move(op), pos);
        break;
      }
      case kLessEq:
        push(TokenKind::kComparison, "<=", pos);
        break;
      case kSquare:
      case kCube:
        push(TokenKind::kCaret, "^", pos);
        push(TokenKind::kNumber, c == kSquare ? "2" : "3", pos);
        break;
      case kPiSign:
        push(TokenKind::kName, "pi", pos);
        break;
      case kRootSign:
        push(TokenKind::kSqrtSign, "√", pos);
        break;
      default: {
        std::string shown;
        append_utf8(shown, c);
        return Error{"unexpected character '" + shown + "'", pos};
      }
    }
  }
  tokens.push_back(Token{TokenKind::kEnd, "", n + 1, space});
  return tokens;
}

}  // namespace agentrt::plugins::calc
