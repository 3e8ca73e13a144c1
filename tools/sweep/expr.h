#pragma once

// Expressions of a sweep file: constraints (`matrix_unit.rows *
// matrix_unit.cols <= 262144`) and derived axes (`${matrix_unit.rows * 2}`).
// Numbers (with an optional KiB, MiB or GiB), dotted names of config keys,
// + - * / and parentheses, comparisons (< <= > >= == !=), && and ||. A
// comparison is 1 or 0. Parsed once; evaluated per point.

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tpu::sweep {

// A mistake in an expression, at `column` (0-based) of its text.
class ExprError : public std::runtime_error {
 public:
  ExprError(size_t column, const std::string& what) : std::runtime_error(what), column(column) {}
  size_t column;
};

// A number as sweep files write it: a decimal with an optional KiB, MiB or GiB; nothing when it is not one.
std::optional<double> parse_number(std::string text);

class Expr {
 public:
  // Throws ExprError.
  static Expr parse(const std::string& text);

  // The names it reads, in order of first use.
  const std::vector<std::string>& names() const { return names_; }
  // Its value, reading each name through `value_of`.
  double eval(const std::function<double(const std::string&)>& value_of) const;

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
  std::vector<std::string> names_;
};

}  // namespace tpu::sweep
