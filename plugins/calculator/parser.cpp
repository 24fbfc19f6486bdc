// Recursive-descent parser for the calculator language; see agentrt/plugins/calculator/ast.h.
#include <algorithm>
#include <array>

#include "agentrt/plugins/calculator/ast.h"
#include "lexer.h"

namespace agentrt::plugins::calc {
namespace {

struct Alias {
  std::string_view name;
  Func func;
};

constexpr std::array<FuncInfo, 31> kFunctions{{
    {Func::kSqrt, "sqrt", 1, 1},
    {Func::kCbrt, "cbrt", 1, 1},
    {Func::kExp, "exp", 1, 1},
    {Func::kLn, "ln", 1, 1},
    {Func::kLog, "log", 1, 2},
    {Func::kLog10, "log10", 1, 1},
    {Func::kLog2, "log2", 1, 1},
    {Func::kSin, "sin", 1, 1},
    {Func::kCos, "cos", 1, 1},
    {Func::kTan, "tan", 1, 1},
    {Func::kAsin, "asin", 1, 1},
    {Func::kAcos, "acos", 1, 1},
    {Func::kAtan, "atan", 1, 1},
    {Func::kAtan2, "atan2", 2, 2},
    {Func::kSinh, "sinh", 1, 1},
    {Func::kCosh, "cosh", 1, 1},
    {Func::kTanh, "tanh", 1, 1},
    {Func::kAsinh, "asinh", 1, 1},
    {Func::kAcosh, "acosh", 1, 1},
    {Func::kAtanh, "atanh", 1, 1},
    {Func::kAbs, "abs", 1, 1},
    {Func::kFloor, "floor", 1, 1},
    {Func::kCeil, "ceil", 1, 1},
    {Func::kRound, "round", 1, 2},
    {Func::kMin, "min", 1, -1},
    {Func::kMax, "max", 1, -1},
    {Func::kFactorial, "factorial", 1, 1},
    {Func::kGcd, "gcd", 1, -1},
    {Func::kLcm, "lcm", 1, -1},
    {Func::kPow, "pow", 2, 2},
    {Func::kSign, "sign", 1, 1},
}};

constexpr std::array<Alias, 13> kAliases{{
    {"arcsin", Func::kAsin},
    {"arccos", Func::kAcos},
    {"arctan", Func::kAtan},
    {"lg", Func::kLog10},
    {"fact", Func::kFactorial},
    {"sgn", Func::kSign},
    {"ceiling", Func::kCeil},
    {"fabs", Func::kAbs},
    {"arsinh", Func::kAsinh},
    {"arcosh", Func::kAcosh},
    {"artanh", Func::kAtanh},
    {"power", Func::kPow},
    {"root", Func::kSqrt},
}};

std::string describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEnd:
      return "the end of the expression";
    case TokenKind::kNumber:
      return "number '" + t.text + "'";
    case TokenKind::kName:
      return "name '" + t.text + "'";
    default:
      return "'" + t.text + "'";
  }
}

bool ends_operand(TokenKind k) {
  switch (k) {
    case TokenKind::kEnd:
    case TokenKind::kRParen:
    case TokenKind::kRBracket:
    case TokenKind::kComma:
    case TokenKind::kPlus:
    case TokenKind::kMinus:
    case TokenKind::kStar:
    case TokenKind::kSlash:
    case TokenKind::kDoubleSlash:
    case TokenKind::kCaret:
    case TokenKind::kPercent:
    case TokenKind::kBang:
    case TokenKind::kComparison:
      return true;
    default:
      return false;
  }
}

// `6.6%-6.7%` and `15% * 80` are percentages; `7 % 3` and `7 % -3` are remainders. A sign after
// the `%` reads as a percentage only when the `%` is attached to its number.
bool is_percent_sign(const Token& percent, const Token& after) {
  if (after.kind == TokenKind::kPlus || after.kind == TokenKind::kMinus) {
    return !percent.space_before;
  }
  return ends_operand(after.kind);
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const ParseOptions& options)
      : tokens_(std::move(tokens)), options_(options) {}

  Result<Tree> run() {
    if (!options_.allow_variables) {
      for (const Token& t : tokens_) {
        if (t.kind == TokenKind::kComparison) {
          return Error{t.text == "=" || t.text == "=="
                           ? "'" + t.text +
                                 "' makes this an equation; the calculator evaluates "
                                 "expressions (use the solver for equations)"
                           : "comparison '" + t.text +
                                 "' is not supported; the calculator "
                                 "evaluates arithmetic expressions",
                       t.position};
        }
      }
    }
    std::uint32_t root = 0;
    if (!expression(root)) return std::move(error_);
    const Token& t = peek();
    if (t.kind != TokenKind::kEnd) {
      if (t.kind == TokenKind::kComma) {
        return Error{
            "',' outside a function's arguments (write numbers without thousands "
            "separators, e.g. 1000000)",
            t.position};
      }
      if (t.kind == TokenKind::kRParen || t.kind == TokenKind::kRBracket) {
        return Error{"unmatched '" + t.text + "'", t.position};
      }
      if (t.kind == TokenKind::kNumber) {
        return Error{"missing operator before " + describe(t), t.position};
      }
      return Error{"unexpected " + describe(t), t.position};
    }
    tree_.root = root;
    return std::move(tree_);
  }

 private:
  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool fail(std::string message, std::size_t position) {
    error_ = Error{std::move(message), position};
    return false;
  }
  std::uint32_t add(Node node) {
    tree_.nodes.push_back(std::move(node));
    return static_cast<std::uint32_t>(tree_.nodes.size() - 1);
  }
  std::uint32_t add(NodeKind kind, std::vector<std::uint32_t> args, std::size_t position) {
    Node node;
    node.kind = kind;
    node.args = std::move(args);
    node.position = position;
    return add(std::move(node));
  }

  // Depth guard: recursion is bounded so hostile nesting is an error, not a stack overflow.
  class Deeper {
   public:
    explicit Deeper(Parser& p) : p_(p) { ++p_.depth_; }
    ~Deeper() { --p_.depth_; }
    Deeper(const Deeper&) = delete;
    Deeper& operator=(const Deeper&) = delete;
    bool ok(std::size_t position) {
      if (p_.depth_ <= p_.options_.max_depth) return true;
      return p_.fail("expression nested too deeply (more than " +
                         std::to_string(p_.options_.max_depth) + " levels)",
                     position);
    }

   private:
    Parser& p_;
  };

  bool expression(std::uint32_t& out) {
    if (!term(out)) return false;
    while (peek().kind == TokenKind::kPlus || peek().kind == TokenKind::kMinus) {
      const Token& op = next();
      std::uint32_t rhs = 0;
      if (!term(rhs)) return false;
      out = add(op.kind == TokenKind::kPlus ? NodeKind::kAdd : NodeKind::kSub, {out, rhs},
                op.position);
    }
    return true;
  }

  bool term(std::uint32_t& out) {
    if (!unary(out)) return false;
    for (;;) {
      const Token& t = peek();
      NodeKind kind;
      std::size_t position = t.position;
      switch (t.kind) {
        case TokenKind::kStar:
          kind = NodeKind::kMul;
          next();
          break;
        case TokenKind::kSlash:
          kind = NodeKind::kDiv;
          next();
          break;
        case TokenKind::kDoubleSlash:
          kind = NodeKind::kFloorDiv;
          next();
          break;
        case TokenKind::kPercent:
          kind = NodeKind::kMod;
          next();
          break;
        case TokenKind::kName:
        case TokenKind::kLParen:
        case TokenKind::kLBracket:
        case TokenKind::kSqrtSign:
          kind = NodeKind::kMul;  // implicit multiplication: 2pi, 3(4+5), 3/4x = (3/4)x
          break;
        case TokenKind::kNumber:
          return fail("missing operator before " + describe(t), t.position);
        default:
          return true;
      }
      std::uint32_t rhs = 0;
      if (!unary(rhs)) return false;
      out = add(kind, {out, rhs}, position);
    }
  }

  bool unary(std::uint32_t& out) {
    Deeper guard(*this);
    const Token& t = peek();
    if (!guard.ok(t.position)) return false;
    if (t.kind == TokenKind::kMinus || t.kind == TokenKind::kPlus) {
      next();
      std::uint32_t operand = 0;
      if (!unary(operand)) return false;
      out = t.kind == TokenKind::kMinus ? add(NodeKind::kNegate, {operand}, t.position) : operand;
      return true;
    }
    return power(out);
  }

  bool power(std::uint32_t& out) {
    if (!postfix(out)) return false;
    if (peek().kind == TokenKind::kCaret) {
      const Token& op = next();
      std::uint32_t exponent = 0;
      if (!unary(exponent)) return false;  // right-associative, and 2^-1 works
      out = add(NodeKind::kPow, {out, exponent}, op.position);
    }
    return true;
  }

  bool postfix(std::uint32_t& out) {
    if (!primary(out)) return false;
    for (;;) {
      const Token& t = peek();
      if (t.kind == TokenKind::kBang) {
        next();
        out = add(NodeKind::kFactorial, {out}, t.position);
      } else if (t.kind == TokenKind::kPercent && is_percent_sign(t, peek(1))) {
        next();
        out = add(NodeKind::kPercent, {out}, t.position);
      } else {
        return true;
      }
    }
  }

  bool group(std::uint32_t& out, TokenKind close) {
    const Token& open = next();
    if (!expression(out)) return false;
    const Token& t = peek();
    if (t.kind != close) {
      if (t.kind == TokenKind::kEnd) {
        return fail("'" + open.text + "' is never closed", open.position);
      }
      if (t.kind == TokenKind::kComma) {
        return fail(
            "',' outside a function's arguments (write numbers without thousands "
            "separators, e.g. 1000000)",
            t.position);
      }
      return fail("expected '" + std::string(close == TokenKind::kRParen ? ")" : "]") +
                      "' but found " + describe(t),
                  t.position);
    }
    next();
    return true;
  }

  bool call(const FuncInfo& info, const Token& name, std::uint32_t& out) {
    const TokenKind close =
        peek().kind == TokenKind::kLParen ? TokenKind::kRParen : TokenKind::kRBracket;
    next();
    std::vector<std::uint32_t> args;
    if (peek().kind != close) {
      for (;;) {
        std::uint32_t arg = 0;
        if (!expression(arg)) return false;
        args.push_back(arg);
        if (peek().kind == TokenKind::kComma) {
          next();
          continue;
        }
        break;
      }
    }
    if (peek().kind != close) {
      const Token& t = peek();
      if (t.kind == TokenKind::kEnd) {
        return fail("'(' after '" + name.text + "' is never closed", name.position);
      }
      return fail("expected ',' or ')' in the arguments of " + std::string(info.name) +
                      " but found " + describe(t),
                  t.position);
    }
    next();
    const int n = static_cast<int>(args.size());
    if (n < info.min_args || (info.max_args >= 0 && n > info.max_args)) {
      std::string expected = info.min_args == info.max_args ? std::to_string(info.min_args)
                             : info.max_args < 0 ? "at least " + std::to_string(info.min_args)
                                                 : std::to_string(info.min_args) + " or " +
                                                       std::to_string(info.max_args);
      return fail(std::string(info.name) + " takes " + expected + " argument" +
                      (expected == "1" ? "" : "s") + ", got " + std::to_string(n),
                  name.position);
    }
    Node node;
    node.kind = NodeKind::kCall;
    node.func = info.func;
    node.args = std::move(args);
    node.position = name.position;
    out = add(std::move(node));
    return true;
  }

  bool is_override(const std::string& name) const {
    return std::find(options_.variable_overrides.begin(), options_.variable_overrides.end(),
                     name) != options_.variable_overrides.end();
  }

  bool primary(std::uint32_t& out) {
    Deeper guard(*this);
    const Token& t = peek();
    if (!guard.ok(t.position)) return false;
    switch (t.kind) {
      case TokenKind::kNumber: {
        next();
        Node node;
        node.kind = NodeKind::kNumber;
        node.text = t.text;
        node.position = t.position;
        out = add(std::move(node));
        return true;
      }
      case TokenKind::kLParen:
        return group(out, TokenKind::kRParen);
      case TokenKind::kLBracket:
        return group(out, TokenKind::kRBracket);
      case TokenKind::kSqrtSign: {
        next();
        std::uint32_t operand = 0;
        if (!postfix(operand)) return false;
        Node node;
        node.kind = NodeKind::kCall;
        node.func = Func::kSqrt;
        node.args = {operand};
        node.position = t.position;
        out = add(std::move(node));
        return true;
      }
      case TokenKind::kName:
        return name(out);
      case TokenKind::kEnd:
        return fail("the expression ends where a number was expected", t.position);
      default:
        return fail("expected a number, a name or '(' but found " + describe(t), t.position);
    }
  }

  bool name(std::uint32_t& out) {
    const Token& t = next();
    const bool opens = peek().kind == TokenKind::kLParen ||
                       (peek().kind == TokenKind::kLBracket && !peek().space_before);
    if (!is_override(t.text)) {
      if (const FuncInfo* info = find_function(t.text)) {
        if (opens) return call(*info, t, out);
        return fail(
            "function '" + t.text + "' needs its argument in parentheses: " + t.text + "(...)",
            t.position);
      }
      if (t.text == "pi" || t.text == "e") {
        Node node;
        node.kind = NodeKind::kConstant;
        node.constant = t.text == "pi" ? Constant::kPi : Constant::kE;
        node.position = t.position;
        out = add(std::move(node));
        return true;
      }
    }
    // With variables allowed, `x(x+1)` is a product, but a longer name directly followed by '('
    // is a call of a function we do not have (factor(...), det(...)).
    const bool looks_like_call = opens && !peek().space_before && t.text.size() > 1 &&
                                 std::find(options_.split_names.begin(), options_.split_names.end(),
                                           t.text) == options_.split_names.end();
    if (!options_.allow_variables || looks_like_call) {
      if (opens) return fail("unknown function '" + t.text + "'", t.position);
      return fail("unknown name '" + t.text + "'", t.position);
    }
    const bool split = std::find(options_.split_names.begin(), options_.split_names.end(),
                                 t.text) != options_.split_names.end();
    const std::size_t parts = split ? t.text.size() : 1;
    for (std::size_t k = 0; k < parts; ++k) {
      Node node;
      node.kind = NodeKind::kVariable;
      node.text = split ? t.text.substr(k, 1) : t.text;
      node.position = t.position + k;
      const std::uint32_t factor = add(std::move(node));
      out = k == 0 ? factor : add(NodeKind::kMul, {out, factor}, t.position + k);
    }
    return true;
  }

  std::vector<Token> tokens_;
  const ParseOptions& options_;
  std::size_t pos_ = 0;
  std::size_t depth_ = 0;
  Tree tree_;
  Error error_;
};

}  // namespace

const FuncInfo* find_function(std::string_view name) {
  for (const FuncInfo& f : kFunctions) {
    if (f.name == name) return &f;
  }
  for (const Alias& a : kAliases) {
    if (a.name == name) return &function_info(a.func);
  }
  return nullptr;
}

const FuncInfo& function_info(Func func) {
  for (const FuncInfo& f : kFunctions) {
    if (f.func == func) return f;
  }
  return kFunctions[0];  // unreachable: every Func has an entry
}

Result<Tree> parse(std::string_view text, const ParseOptions& options) {
  auto tokens = tokenize(text, options.max_length);
  if (!tokens) return tokens.error();
  if (tokens.value().size() == 1) return Error{"the expression is empty", 0};
  Parser parser(std::move(tokens).value(), options);
  return parser.run();
}

std::vector<std::string> variables_of(const Tree& tree) {
  std::vector<std::string> names;
  for (const Node& node : tree.nodes) {
    if (node.kind == NodeKind::kVariable &&
        std::find(names.begin(), names.end(), node.text) == names.end()) {
      names.push_back(node.text);
    }
  }
  return names;
}

}  // namespace agentrt::plugins::calc
