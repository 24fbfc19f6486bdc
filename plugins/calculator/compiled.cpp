// calc::Expression: trees compiled to a flat stack program with constant subtrees folded.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "agentrt/plugins/calculator.h"
#include "agentrt/plugins/calculator/value.h"

namespace agentrt::plugins::calc {

enum class Expression::Op : std::uint8_t {
  kConst,
  kVar,
  kNeg,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kFloorDiv,
  kMod,
  kPow,
  kFactorial,
  kCall,
};

namespace {

double python_mod(double x, double y) {
  double r = std::fmod(x, y);
  if (r != 0.0 && ((r < 0) != (y < 0))) r += y;
  return r;
}

double round_half_away(double x, double digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

double gcd_double(double a, double b) {
  a = std::abs(std::round(a));
  b = std::abs(std::round(b));
  while (b > 0.5) {
    const double t = std::fmod(a, b);
    a = b;
    b = t;
  }
  return a;
}

// Applies FUNC to args[0..n).
double call(Func func, const double* a, std::uint32_t n) {
  const double x = a[0];
  switch (func) {
    case Func::kSqrt:
      return std::sqrt(x);
    case Func::kCbrt:
      return std::cbrt(x);
    case Func::kExp:
      return std::exp(x);
    case Func::kLn:
      return x > 0 ? std::log(x) : NAN;
    case Func::kLog:
      return n == 2 ? std::log(x) / std::log(a[1]) : std::log(x);
    case Func::kLog10:
      return std::log10(x);
    case Func::kLog2:
      return std::log2(x);
    case Func::kSin:
      return std::sin(x);
    case Func::kCos:
      return std::cos(x);
    case Func::kTan:
      return std::tan(x);
    case Func::kAsin:
      return std::asin(x);
    case Func::kAcos:
      return std::acos(x);
    case Func::kAtan:
      return std::atan(x);
    case Func::kAtan2:
      return std::atan2(x, a[1]);
    case Func::kSinh:
      return std::sinh(x);
    case Func::kCosh:
      return std::cosh(x);
    case Func::kTanh:
      return std::tanh(x);
    case Func::kAsinh:
      return std::asinh(x);
    case Func::kAcosh:
      return std::acosh(x);
    case Func::kAtanh:
      return std::atanh(x);
    case Func::kAbs:
      return std::abs(x);
    case Func::kSign:
      return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;
    case Func::kFloor:
      return std::floor(x);
    case Func::kCeil:
      return std::ceil(x);
    case Func::kRound:
      return round_half_away(x, n == 2 ? a[1] : 0.0);
    case Func::kMin:
      return *std::min_element(a, a + n);
    case Func::kMax:
      return *std::max_element(a, a + n);
    case Func::kFactorial:
      return std::tgamma(x + 1.0);
    case Func::kGcd:
      return std::accumulate(a, a + n, 0.0, gcd_double);
    case Func::kLcm: {
      double acc = 1.0;
      for (std::uint32_t i = 0; i < n; ++i) {
        const double v = std::abs(std::round(a[i]));
        if (v == 0) return 0.0;
        acc = acc / gcd_double(acc, v) * v;
      }
      return acc;
    }
    case Func::kPow:
      return std::pow(x, a[1]);
  }
  return NAN;
}

double binary(Expression::Op op, double x, double y) {
  switch (op) {
    case Expression::Op::kAdd:
      return x + y;
    case Expression::Op::kSub:
      return x - y;
    case Expression::Op::kMul:
      return x * y;
    case Expression::Op::kDiv:
      return x / y;
    case Expression::Op::kFloorDiv:
      return std::floor(x / y);
    case Expression::Op::kMod:
      return python_mod(x, y);
    case Expression::Op::kPow:
      return std::pow(x, y);
    default:
      return NAN;
  }
}

struct Compiler {
  const Tree& tree;
  std::span<const std::string> variables;
  std::vector<Expression::Instr> program;
  std::vector<double> constants;
  std::vector<char> is_constant;  // per node
  std::vector<double> folded;     // per node, when constant
  std::size_t depth = 0;
  std::size_t max_depth = 0;
  std::vector<double> args;  // scratch for fold()

  void push(Expression::Op op, std::uint32_t arg, int stack_change) {
    program.push_back({op, arg});
    depth = static_cast<std::size_t>(static_cast<long long>(depth) + stack_change);
    max_depth = std::max(max_depth, depth);
  }

  static Expression::Op op_of(NodeKind k) {
    switch (k) {
      case NodeKind::kNegate:
        return Expression::Op::kNeg;
      case NodeKind::kAdd:
        return Expression::Op::kAdd;
      case NodeKind::kSub:
        return Expression::Op::kSub;
      case NodeKind::kMul:
        return Expression::Op::kMul;
      case NodeKind::kDiv:
        return Expression::Op::kDiv;
      case NodeKind::kFloorDiv:
        return Expression::Op::kFloorDiv;
      case NodeKind::kMod:
        return Expression::Op::kMod;
      case NodeKind::kPow:
        return Expression::Op::kPow;
      case NodeKind::kFactorial:
        return Expression::Op::kFactorial;
      default:
        return Expression::Op::kCall;
    }
  }

  // Bottom-up pass: which subtrees are constant, and their values.
  Result<bool> fold() {
    is_constant.assign(tree.nodes.size(), 0);
    folded.assign(tree.nodes.size(), 0.0);
    for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
      const Node& node = tree.nodes[i];
      switch (node.kind) {
        case NodeKind::kNumber: {
          auto v = number_literal(node.text);
          if (!v) return Error{v.error().message, node.position};
          is_constant[i] = 1;
          folded[i] = v.value().to_double();
          continue;
        }
        case NodeKind::kConstant:
          is_constant[i] = 1;
          folded[i] = constant_value(node.constant).to_double();
          continue;
        case NodeKind::kVariable: {
          bool known = false;
          for (const std::string& v : variables) known = known || v == node.text;
          if (!known) return Error{"unknown name '" + node.text + "'", node.position};
          continue;
        }
        default:
          break;
      }
      bool all = true;
      args.clear();
      for (std::uint32_t a : node.args) {
        all = all && is_constant[a];
        args.push_back(folded[a]);
      }
      if (!all) continue;
      is_constant[i] = 1;
      folded[i] = apply_node(node, args.data());
    }
    return true;
  }

  static double apply_node(const Node& node, const double* a) {
    switch (node.kind) {
      case NodeKind::kNegate:
        return -a[0];
      case NodeKind::kFactorial:
        return std::tgamma(a[0] + 1.0);
      case NodeKind::kPercent:
        return a[0] / 100.0;
      case NodeKind::kCall:
        return call(node.func, a, static_cast<std::uint32_t>(node.args.size()));
      default:
        return binary(op_of(node.kind), a[0], a[1]);
    }
  }

  void emit(std::uint32_t i) {
    const Node& node = tree.nodes[i];
    if (is_constant[i]) {
      constants.push_back(folded[i]);
      push(Expression::Op::kConst, static_cast<std::uint32_t>(constants.size() - 1), 1);
      return;
    }
    if (node.kind == NodeKind::kVariable) {
      std::uint32_t slot = 0;
      while (variables[slot] != node.text) ++slot;
      push(Expression::Op::kVar, slot, 1);
      return;
    }
    for (std::uint32_t a : node.args) emit(a);
    const auto n = static_cast<int>(node.args.size());
    switch (node.kind) {
      case NodeKind::kPercent:
        constants.push_back(0.01);
        push(Expression::Op::kConst, static_cast<std::uint32_t>(constants.size() - 1), 1);
        push(Expression::Op::kMul, 0, -1);
        return;
      case NodeKind::kCall:
        push(Expression::Op::kCall,
             static_cast<std::uint32_t>(node.func) | (static_cast<std::uint32_t>(n) << 8), 1 - n);
        return;
      case NodeKind::kNegate:
      case NodeKind::kFactorial:
        push(op_of(node.kind), 0, 0);
        return;
      default:
        push(op_of(node.kind), 0, -1);
        return;
    }
  }
};

}  // namespace

Result<Expression> Expression::compile(std::string_view text,
                                       std::span<const std::string> variables) {
  ParseOptions options;
  options.allow_variables = true;
  auto tree = parse(text, options);
  if (!tree) return tree.error();
  return compile(tree.value(), variables);
}

Result<Expression> Expression::compile(const Tree& tree, std::span<const std::string> variables) {
  if (tree.nodes.empty()) return Error{"the expression is empty", 0};
  Compiler c{tree, variables, {}, {}, {}, {}, 0, 0, {}};
  auto folded = c.fold();
  if (!folded) return folded.error();
  c.emit(tree.root);
  Expression e;
  e.program_ = std::move(c.program);
  e.constants_ = std::move(c.constants);
  e.max_stack_ = c.max_depth;
  e.n_variables_ = variables.size();
  return e;
}

double Expression::evaluate(std::span<const double> values) const {
  // The hot loop: called per ODE right-hand-side evaluation.
  std::array<double, 64> small{};
  std::vector<double> large;
  double* stack = small.data();
  if (max_stack_ > small.size()) {
    large.resize(max_stack_);
    stack = large.data();
  }
  std::size_t top = 0;  // number of values on the stack
  for (const Instr& in : program_) {
    switch (in.op) {
      case Op::kConst:
        stack[top++] = constants_[in.arg];
        break;
      case Op::kVar:
        stack[top++] = values[in.arg];
        break;
      case Op::kNeg:
        stack[top - 1] = -stack[top - 1];
        break;
      case Op::kAdd:
        --top;
        stack[top - 1] += stack[top];
        break;
      case Op::kSub:
        --top;
        stack[top - 1] -= stack[top];
        break;
      case Op::kMul:
        --top;
        stack[top - 1] *= stack[top];
        break;
      case Op::kDiv:
        --top;
        stack[top - 1] /= stack[top];
        break;
      case Op::kFloorDiv:
      case Op::kMod:
      case Op::kPow:
        --top;
        stack[top - 1] = binary(in.op, stack[top - 1], stack[top]);
        break;
      case Op::kFactorial:
        stack[top - 1] = std::tgamma(stack[top - 1] + 1.0);
        break;
      case Op::kCall: {
        const std::uint32_t n = in.arg >> 8;
        const auto func = static_cast<Func>(in.arg & 0xFF);
        top -= n;
        stack[top] = call(func, stack + top, n);
        ++top;
        break;
      }
    }
  }
  return stack[0];
}

}  // namespace agentrt::plugins::calc
