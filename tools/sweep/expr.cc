#include "tools/sweep/expr.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace tpu::sweep {

struct Expr::Node {
  enum class Kind { number, name, unary_minus, binary } kind = Kind::number;
  double number = 0;
  std::string name;
  std::string op;
  std::shared_ptr<const Node> a, b;
};

namespace {

using NodePtr = std::shared_ptr<const Expr::Node>;

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  NodePtr parse_all(std::vector<std::string>& names) {
    names_ = &names;
    NodePtr n = parse_or();
    skip_space();
    if (pos_ != s_.size()) throw ExprError(pos_, "unexpected '" + s_.substr(pos_, 1) + "'");
    return n;
  }

 private:
  // Precedence, loosest first: || then && then comparisons then + - then * /.
  NodePtr parse_or() { return binary_level({"||"}, &Parser::parse_and); }
  NodePtr parse_and() { return binary_level({"&&"}, &Parser::parse_compare); }
  NodePtr parse_compare() { return binary_level({"<=", ">=", "==", "!=", "<", ">"}, &Parser::parse_sum); }
  NodePtr parse_sum() { return binary_level({"+", "-"}, &Parser::parse_product); }
  NodePtr parse_product() { return binary_level({"*", "/"}, &Parser::parse_unary); }

  NodePtr binary_level(const std::vector<std::string>& ops, NodePtr (Parser::*next)()) {
    NodePtr left = (this->*next)();
    for (;;) {
      skip_space();
      const std::string* found = nullptr;
      for (const std::string& op : ops)
        if (s_.compare(pos_, op.size(), op) == 0) {
          found = &op;
          break;
        }
      if (found == nullptr) return left;
      pos_ += found->size();
      auto n = std::make_shared<Expr::Node>();
      n->kind = Expr::Node::Kind::binary;
      n->op = *found;
      n->a = left;
      n->b = (this->*next)();
      left = n;
    }
  }

  NodePtr parse_unary() {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '-') {
      ++pos_;
      auto n = std::make_shared<Expr::Node>();
      n->kind = Expr::Node::Kind::unary_minus;
      n->a = parse_unary();
      return n;
    }
    return parse_atom();
  }

  NodePtr parse_atom() {
    skip_space();
    if (pos_ >= s_.size()) throw ExprError(pos_, "expected a number, a config key or '(' at the end");
    const char c = s_[pos_];
    if (c == '(') {
      const size_t open = pos_++;
      NodePtr n = parse_or();
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ')') throw ExprError(open, "'(' without its ')'");
      ++pos_;
      return n;
    }
    auto n = std::make_shared<Expr::Node>();
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      const size_t start = pos_;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
                                  ((s_[pos_] == '+' || s_[pos_] == '-') && (s_[pos_ - 1] == 'e' || s_[pos_ - 1] == 'E'))))
        ++pos_;
      const std::string text = s_.substr(start, pos_ - start);
      const std::optional<double> v = parse_number(text);
      if (!v) throw ExprError(start, "'" + text + "' is not a number");
      n->number = *v;
      return n;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = pos_;
      while (pos_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' || s_[pos_] == '.'))
        ++pos_;
      n->kind = Expr::Node::Kind::name;
      n->name = s_.substr(start, pos_ - start);
      if (std::find(names_->begin(), names_->end(), n->name) == names_->end()) names_->push_back(n->name);
      return n;
    }
    throw ExprError(pos_, "unexpected '" + std::string(1, c) + "'");
  }

  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }

  const std::string& s_;
  size_t pos_ = 0;
  std::vector<std::string>* names_ = nullptr;
};

double eval_node(const Expr::Node& n, const std::function<double(const std::string&)>& value_of) {
  switch (n.kind) {
    case Expr::Node::Kind::number: return n.number;
    case Expr::Node::Kind::name: return value_of(n.name);
    case Expr::Node::Kind::unary_minus: return -eval_node(*n.a, value_of);
    case Expr::Node::Kind::binary: break;
  }
  const double a = eval_node(*n.a, value_of), b = eval_node(*n.b, value_of);
  const std::string& op = n.op;
  if (op == "+") return a + b;
  if (op == "-") return a - b;
  if (op == "*") return a * b;
  if (op == "/") return b == 0 ? NAN : a / b;
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  if (op == ">=") return a >= b;
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  if (op == "&&") return (a != 0) && (b != 0);
  return (a != 0) || (b != 0);  // ||
}

}  // namespace

std::optional<double> parse_number(std::string text) {
  double scale = 1;
  for (const auto& [suffix, factor] : {std::pair<const char*, double>{"KiB", 1024.0}, {"MiB", 1048576.0},
                                       {"GiB", 1073741824.0}})
    if (text.size() > 3 && text.compare(text.size() - 3, 3, suffix) == 0) {
      text.resize(text.size() - 3);
      scale = factor;
      break;
    }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) return std::nullopt;
  return v * scale;
}

Expr Expr::parse(const std::string& text) {
  Expr e;
  e.root_ = Parser(text).parse_all(e.names_);
  return e;
}

double Expr::eval(const std::function<double(const std::string&)>& value_of) const {
  return eval_node(*root_, value_of);
}

}  // namespace tpu::sweep
