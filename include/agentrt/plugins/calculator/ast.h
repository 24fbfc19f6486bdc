// The calculator's expression language as a syntax tree, for plugins that reuse it (the solver
// builds equations from it, the simulator compiles right-hand sides from it).
//
// Language (see plugins/calculator/README.md): numbers (`12`, `0.45`, `.5`, `6e8`, `0x1F`, `0b101`,
// `0o17`),
// + - * / // % ^ ** (right-associative, binds tighter than unary minus: -2^2 = -4), postfix !
// and percent (`6.6%` = 0.066 when nothing that could be an operand follows the `%`; otherwise
// `%` is the remainder), implicit multiplication with the same precedence as `*` (`2pi`,
// `3(4+5)`, `3/4x` = (3/4)·x), function calls, ( ) and [ ] for grouping. Unicode is normalised
// first: full-width digits, letters and operators, × ÷ · − √ π ² ³.
//
// Errors are values: parse() never throws on user input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace agentrt::plugins::calc {

// A problem with an expression. position is the 1-based character (code point) position in the
// text the caller passed, or 0 when the problem has no position (a result that is too large).
struct Error {
  std::string message;
  std::size_t position = 0;
};

// Either a value or an Error. A minimal stand-in for C++23 std::expected.
template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

enum class Func : std::uint8_t {
  kSqrt,
  kCbrt,
  kExp,
  kLn,
  kLog,
  kLog10,
  kLog2,
  kSin,
  kCos,
  kTan,
  kAsin,
  kAcos,
  kAtan,
  kAtan2,
  kSinh,
  kCosh,
  kTanh,
  kAsinh,
  kAcosh,
  kAtanh,
  kAbs,
  kFloor,
  kCeil,
  kRound,
  kMin,
  kMax,
  kFactorial,
  kGcd,
  kLcm,
  kPow,
  kSign,
};

struct FuncInfo {
  Func func;
  std::string_view name;  // canonical name
  int min_args;
  int max_args;  // -1: any number >= min_args
};

// The function called NAME (aliases such as arcsin included), or nullptr.
const FuncInfo* find_function(std::string_view name);
const FuncInfo& function_info(Func func);

enum class Constant : std::uint8_t { kPi, kE };

enum class NodeKind : std::uint8_t {
  kNumber,    // literal; text holds the normalised spelling
  kConstant,  // constant
  kVariable,  // name (only when the parse allowed unknown names)
  kNegate,    // -a[0]
  kAdd,
  kSub,
  kMul,
  kDiv,
  kFloorDiv,
  kMod,
  kPow,        // a[0] op a[1]
  kFactorial,  // a[0]!
  kPercent,    // a[0]% = a[0]/100
  kCall,       // func(args...)
};

struct Node {
  NodeKind kind = NodeKind::kNumber;
  Func func = Func::kSqrt;            // kCall
  Constant constant = Constant::kPi;  // kConstant
  std::string text;                   // kNumber: literal spelling; kVariable: name
  std::vector<std::uint32_t> args;    // child node indices in Tree::nodes
  std::size_t position = 0;           // 1-based code point position in the original text
};

// Nodes are stored in one vector; children always precede their parent, and root is the last
// node, so a forward pass over nodes evaluates bottom-up without recursion.
struct Tree {
  std::vector<Node> nodes;
  std::uint32_t root = 0;
  const Node& at(std::uint32_t i) const { return nodes[i]; }
};

struct ParseOptions {
  // Names that are not functions or constants become kVariable instead of an error.
  bool allow_variables = false;
  // Names that parse as variables even though they are constants (the solver lets `e` be one).
  std::vector<std::string> variable_overrides;
  // Names read as the product of their letters (the solver's `xy` = x·y when x and y are
  // variables too).
  std::vector<std::string> split_names;
  std::size_t max_length = 100'000;  // code points
  std::size_t max_depth = 256;       // nesting of parentheses, unary operators and powers
};

Result<Tree> parse(std::string_view text, const ParseOptions& options = {});

// Names of the variables a tree uses, in order of first appearance.
std::vector<std::string> variables_of(const Tree& tree);

}  // namespace agentrt::plugins::calc
