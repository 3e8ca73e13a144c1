#include "isa/assembler.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>

#include "isa/encoding.h"
#include "isa/text.h"

namespace tpu::isa {

std::string format_diagnostic(const Diagnostic& d) {
  std::ostringstream out;
  if (d.line > 0)
    out << d.file << ":" << d.line << ":" << d.column << ": error: " << d.message << "\n";
  else
    out << d.file << ": error: " << d.message << "\n";
  if (!d.source_line.empty()) {
    out << "    " << d.source_line << "\n    ";
    // Reproduce tabs so the caret lines up under the culprit.
    for (int i = 0; i + 1 < d.column && i < static_cast<int>(d.source_line.size()); ++i)
      out << (d.source_line[i] == '\t' ? '\t' : ' ');
    out << '^' << std::string(std::max(0, d.length - 1), '~') << "\n";
  }
  return out.str();
}

namespace {

constexpr size_t kMaxErrors = 100;

// An error at a place in the current line; caught once per statement.
struct LineError {
  int column;
  int length;
  std::string message;
};

[[noreturn]] void fail(int column, int length, std::string message) {
  throw LineError{column, std::max(1, length), std::move(message)};
}

struct Token {
  std::string_view text;
  int column;  // 1-based
  [[noreturn]] void fail(std::string message) const {
    ::tpu::isa::fail(column, static_cast<int>(text.size()), std::move(message));
  }
};

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_identifier(std::string_view s) {
  return !s.empty() && is_ident_start(s[0]) && std::all_of(s.begin(), s.end(), is_ident_char);
}

// Splits a line into operand tokens: separated by blanks or commas, with
// parentheses, brackets and strings kept whole; stops at a comment.
std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> tokens;
  size_t i = 0;
  const size_t n = line.size();
  auto comment_at = [&](size_t k) { return line[k] == ';' || line[k] == '#' || line.substr(k, 2) == "//"; };
  while (i < n) {
    const char c = line[i];
    if (c == ' ' || c == '\t' || c == ',' || c == '\r') {
      ++i;
      continue;
    }
    if (comment_at(i)) break;
    const size_t start = i;
    std::vector<size_t> open;
    while (i < n) {
      const char d = line[i];
      if (d == '"') {
        const size_t quote_at = i++;
        while (i < n && line[i] != '"') i += (line[i] == '\\' && i + 1 < n) ? 2 : 1;
        if (i >= n) fail(static_cast<int>(quote_at) + 1, 1, "unterminated string (add the closing '\"')");
      } else if (d == '(' || d == '[') {
        open.push_back(i);
      } else if (d == ')' || d == ']') {
        const char want = d == ')' ? '(' : '[';
        if (open.empty() || line[open.back()] != want)
          fail(static_cast<int>(i) + 1, 1, std::string("unmatched '") + d + "'");
        open.pop_back();
      } else if (open.empty() && (d == ' ' || d == '\t' || d == ',' || d == '\r' || comment_at(i))) {
        break;
      }
      ++i;
    }
    if (!open.empty()) fail(static_cast<int>(open.back()) + 1, 1, std::string("unclosed '") + line[open.back()] + "'");
    tokens.push_back({line.substr(start, i - start), static_cast<int>(start) + 1});
  }
  return tokens;
}

// Resolves a name inside an expression, or throws a LineError naming it.
using Resolver = std::function<int64_t(std::string_view name, int column)>;

// Integer expressions: + - * / % << >> & | ^ ~, unary minus, parentheses,
// decimal, 0x, 0b and 0o literals (with '_' separators), and names.
class ExprParser {
 public:
  ExprParser(const Token& token, const Resolver& resolve) : s_(token.text), column_(token.column), resolve_(resolve) {}

  int64_t parse() {
    if (s_.empty()) fail(column_, 1, "missing value");
    const int64_t v = parse_binary(0);
    skip_blanks();
    if (pos_ < s_.size()) error_here("unexpected '" + std::string(1, s_[pos_]) + "' in expression");
    return v;
  }

 private:
  struct Op {
    std::string_view text;
    int precedence;
  };
  static constexpr Op kOps[] = {{"|", 1}, {"^", 2}, {"&", 3}, {"<<", 4}, {">>", 4},
                                {"+", 5}, {"-", 5}, {"*", 6}, {"/", 6},  {"%", 6}};

  [[noreturn]] void error_here(std::string message, int length = 1) const {
    fail(column_ + static_cast<int>(pos_), length, std::move(message));
  }
  void skip_blanks() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }

  const Op* peek_op() {
    skip_blanks();
    for (const Op& op : kOps)
      if (s_.substr(pos_, op.text.size()) == op.text) return &op;
    return nullptr;
  }

  int64_t parse_binary(int min_precedence) {
    int64_t lhs = parse_unary();
    while (const Op* op = peek_op()) {
      if (op->precedence < min_precedence) break;
      const size_t op_pos = pos_;
      pos_ += op->text.size();
      const int64_t rhs = parse_binary(op->precedence + 1);
      lhs = apply(*op, lhs, rhs, op_pos);
    }
    return lhs;
  }

  int64_t apply(const Op& op, int64_t a, int64_t b, size_t op_pos) {
    int64_t r = 0;
    bool overflow = false;
    auto at_op = [&](std::string message) {
      fail(column_ + static_cast<int>(op_pos), static_cast<int>(op.text.size()), std::move(message));
    };
    switch (op.text[0]) {
      case '|': return a | b;
      case '^': return a ^ b;
      case '&': return a & b;
      case '+': overflow = __builtin_add_overflow(a, b, &r); break;
      case '-': overflow = __builtin_sub_overflow(a, b, &r); break;
      case '*': overflow = __builtin_mul_overflow(a, b, &r); break;
      case '/':
      case '%':
        if (b == 0) at_op("division by zero");
        if (a == INT64_MIN && b == -1)
          overflow = true;
        else
          r = op.text[0] == '/' ? a / b : a % b;
        break;
      case '<':
      case '>':
        if (b < 0 || b > 63) at_op("shift count " + std::to_string(b) + " is outside 0 to 63");
        if (op.text[0] == '>') return a >> b;
        r = static_cast<int64_t>(static_cast<uint64_t>(a) << b);
        overflow = (r >> b) != a;
        break;
    }
    if (overflow) at_op("expression overflows 64 bits");
    return r;
  }

  int64_t parse_unary() {
    skip_blanks();
    if (pos_ >= s_.size()) error_here("expression ends where a value is expected");
    const char c = s_[pos_];
    if (c == '-' || c == '+' || c == '~') {
      ++pos_;
      const int64_t v = parse_unary();
      if (c == '-') {
        if (v == INT64_MIN) error_here("expression overflows 64 bits");
        return -v;
      }
      return c == '~' ? ~v : v;
    }
    if (c == '(') {
      ++pos_;
      const int64_t v = parse_binary(0);
      skip_blanks();
      if (pos_ >= s_.size() || s_[pos_] != ')') error_here("expected ')'");
      ++pos_;
      return v;
    }
    const size_t start = pos_;
    while (pos_ < s_.size() && is_ident_char(s_[pos_])) ++pos_;
    const std::string_view word = s_.substr(start, pos_ - start);
    if (word.empty()) error_here("unexpected '" + std::string(1, c) + "' where a value is expected");
    const int col = column_ + static_cast<int>(start);
    if (std::isdigit(static_cast<unsigned char>(word[0]))) return parse_number(word, col);
    return resolve_(word, col);
  }

  static int64_t parse_number(std::string_view word, int column) {
    unsigned base = 10;
    std::string_view digits = word;
    if (word.size() > 1 && word[0] == '0' && std::isalpha(static_cast<unsigned char>(word[1]))) {
      const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(word[1])));
      base = p == 'x' ? 16 : p == 'b' ? 2 : p == 'o' ? 8 : 0;
      digits = word.substr(2);
    }
    auto bad = [&]() {
      fail(column, static_cast<int>(word.size()),
           "malformed number '" + std::string(word) + "' (decimal, 0x hex, 0b binary or 0o octal)");
    };
    if (base == 0 || digits.empty()) bad();
    uint64_t v = 0;
    bool any = false;
    for (const char ch : digits) {
      if (ch == '_') continue;
      const int d = std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0'
                    : std::isalpha(static_cast<unsigned char>(ch))
                        ? std::tolower(static_cast<unsigned char>(ch)) - 'a' + 10
                        : 99;
      if (d >= static_cast<int>(base)) bad();
      if (v > (static_cast<uint64_t>(INT64_MAX) - d) / base)
        fail(column, static_cast<int>(word.size()), "number '" + std::string(word) + "' does not fit in 63 bits");
      v = v * base + d;
      any = true;
    }
    if (!any) bad();
    return static_cast<int64_t>(v);
  }

  std::string_view s_;
  int column_;
  const Resolver& resolve_;
  size_t pos_ = 0;
};

enum class Section { kText, kDram, kHost };
const char* section_name(Section s) { return s == Section::kText ? ".text" : s == Section::kDram ? ".dram" : ".host"; }

struct Symbol {
  int64_t value;
  int line;
};

struct SourceLine {
  int number;
  std::string_view text;
};

struct PendingInsn {
  const InsnSpec* spec;
  size_t pc;
  SourceLine line;
  Token mnemonic;
  std::vector<Token> operands;
};

struct PendingData {
  Section section;
  uint64_t addr;
  unsigned size;
  Token expr;
  SourceLine line;
};

struct PendingTensor {
  SourceLine line;
  Token head;
  std::vector<Token> args;
};

struct Placement {
  uint64_t addr;
  uint64_t size;
  int line;
  int column;
};

const std::vector<std::string_view>& directive_names() {
  static const std::vector<std::string_view> names = {".text",   ".dram", ".host",   ".org",  ".align",
                                                      ".byte",   ".half", ".word",   ".quad", ".fill",
                                                      ".incbin", ".equ",  ".tensor", ".meta", ".insn"};
  return names;
}

unsigned data_size(std::string_view directive) {
  if (directive == ".byte") return 1;
  if (directive == ".half") return 2;
  if (directive == ".word") return 4;
  if (directive == ".quad") return 8;
  return 0;
}

std::string unquote(const Token& t) {
  const std::string_view s = t.text;
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') t.fail("expected a double-quoted string");
  std::string out;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    const char e = s[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'x': {
        const std::string hex(s.substr(i + 1, 2));
        if (hex.size() != 2 || !std::isxdigit(static_cast<unsigned char>(hex[0])) ||
            !std::isxdigit(static_cast<unsigned char>(hex[1])))
          fail(t.column + static_cast<int>(i) - 1, 2, "'\\x' needs two hex digits");
        out += static_cast<char>(std::stoi(hex, nullptr, 16));
        i += 2;
        break;
      }
      default: fail(t.column + static_cast<int>(i) - 1, 2, std::string("unknown escape '\\") + e + "'");
    }
  }
  return out;
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

class Assembler {
 public:
  Assembler(std::string_view source, std::string filename) : source_(source), filename_(std::move(filename)) {}

  AssembleResult run() {
    layout();
    check_placements(Section::kDram);
    check_placements(Section::kHost);
    for (const PendingInsn& p : insns_) statement(p.line, [&] { emit_insn(p); });
    for (const PendingData& d : data_) statement(d.line, [&] { emit_data(d); });
    for (const PendingTensor& t : tensors_) statement(t.line, [&] { tensor(t.head, t.args); });
    std::stable_sort(result_.errors.begin(), result_.errors.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    if (result_.errors.size() > kMaxErrors) result_.errors.resize(kMaxErrors);
    if (!result_.ok()) result_.program = Program{};
    for (const auto& [name, sym] : symbols_) result_.symbols[name] = sym.value;
    return std::move(result_);
  }

 private:
  // Runs one statement, turning a LineError into a diagnostic.
  template <class F>
  void statement(const SourceLine& line, F&& body) {
    try {
      body();
    } catch (const LineError& e) {
      result_.errors.push_back({filename_, line.number, e.column, e.length, e.message, std::string(line.text)});
    }
  }

  // ---------------------------------------------------------------- pass 1

  void layout() {
    int number = 0;
    size_t start = 0;
    while (start <= source_.size()) {
      size_t end = source_.find('\n', start);
      if (end == std::string_view::npos) end = source_.size();
      std::string_view text = source_.substr(start, end - start);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      const SourceLine line{++number, text};
      statement(line, [&] { layout_line(line); });
      if (end == source_.size()) break;
      start = end + 1;
    }
  }

  void layout_line(const SourceLine& line) {
    const size_t first_char = line.text.find_first_not_of(" \t");
    if (first_char != std::string_view::npos) {
      const std::string_view head = line.text.substr(first_char);
      for (const char* d : {".expect", ".config", ".set"}) {
        const size_t n = std::strlen(d);
        if (head.substr(0, n) == d && (head.size() == n || head[n] == ' ' || head[n] == '\t')) {
          result_.check_directives.emplace_back(line.number, std::string(head));
          return;
        }
      }
    }
    std::vector<Token> tokens = tokenize(line.text);
    size_t first = 0;
    if (!tokens.empty() && tokens[0].text.size() > 1 && tokens[0].text.back() == ':') {
      const Token& label = tokens[0];
      const std::string_view name = label.text.substr(0, label.text.size() - 1);
      if (!is_identifier(name)) label.fail("label '" + std::string(name) + "' is not an identifier");
      define(label, name, static_cast<int64_t>(location()), line.number);
      first = 1;
    }
    if (first >= tokens.size()) return;
    const Token head = tokens[first];
    const std::vector<Token> args(tokens.begin() + static_cast<long>(first) + 1, tokens.end());
    if (head.text[0] == '.')
      directive(line, head, args);
    else
      instruction(line, head, args);
  }

  void instruction(const SourceLine& line, const Token& head, const std::vector<Token>& args) {
    const InsnSpec* spec = find_insn(head.text);
    if (spec == nullptr) {
      std::vector<std::string_view> names;
      for (const auto& insn : kInsns) names.push_back(insn.mnemonic);
      head.fail("unknown mnemonic '" + std::string(head.text) + "'" + did_you_mean(head.text, names));
    }
    if (section_ != Section::kText)
      head.fail("instruction '" + std::string(head.text) + "' in the " + section_name(section_) +
                " section; instructions belong in .text (add '.text' before it)");
    insns_.push_back({spec, result_.program.text.size(), line, head, args});
    result_.program.text.emplace_back();
  }

  void directive(const SourceLine& line, const Token& head, const std::vector<Token>& args) {
    const std::string_view d = head.text;
    auto need_args = [&](size_t lo, size_t hi, const char* usage) {
      if (args.size() < lo || args.size() > hi)
        head.fail("'" + std::string(d) + "' takes " + usage + " (got " + std::to_string(args.size()) + " operands)");
    };
    auto need_data_section = [&]() {
      if (section_ == Section::kText)
        head.fail("'" + std::string(d) + "' places data, which belongs in .dram or .host (add one of them before it)");
    };
    if (d == ".text" || d == ".dram" || d == ".host") {
      need_args(0, 0, "no operands");
      section_ = d == ".text" ? Section::kText : d == ".dram" ? Section::kDram : Section::kHost;
    } else if (d == ".org") {
      need_args(1, 1, "one address");
      if (section_ == Section::kText)
        head.fail("'.org' applies to .dram and .host; .text is laid out in instruction order");
      loc(section_) = address(args[0], eval(args[0]));
    } else if (d == ".align") {
      need_args(1, 1, "one power of two");
      need_data_section();
      const int64_t a = eval(args[0]);
      if (a < 1 || (a & (a - 1)) != 0) args[0].fail("alignment " + std::to_string(a) + " is not a power of two");
      loc(section_) = (loc(section_) + a - 1) / a * a;
    } else if (const unsigned size = data_size(d)) {
      need_data_section();
      if (args.empty()) head.fail("'" + std::string(d) + "' needs at least one value");
      const uint64_t start = loc(section_);
      for (const Token& t : args) data_.push_back({section_, start + (&t - args.data()) * size, size, t, line});
      place(head, args.size() * uint64_t{size}, line.number);
    } else if (d == ".fill") {
      need_args(2, 3, "count, value[, size]");
      need_data_section();
      const int64_t count = eval(args[0]);
      const int64_t value = eval(args[1]);
      const int64_t size = args.size() == 3 ? eval(args[2]) : 1;
      if (size != 1 && size != 2 && size != 4 && size != 8) args[2].fail("fill size must be 1, 2, 4 or 8");
      if (count < 0 || count > (int64_t{1} << 30)) args[0].fail("fill count must lie in 0 to 2^30");
      check_data_value(args[1], value, static_cast<unsigned>(size));
      std::vector<uint8_t> bytes;
      bytes.reserve(static_cast<size_t>(count * size));
      for (int64_t i = 0; i < count; ++i)
        for (int64_t b = 0; b < size; ++b)
          bytes.push_back(static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * b)));
      write_bytes(head, bytes, line.number);
    } else if (d == ".incbin") {
      need_args(1, 3, "\"path\"[, offset[, length]]");
      need_data_section();
      incbin(head, args, line.number);
    } else if (d == ".equ") {
      need_args(2, 2, "a name and a value");
      if (!is_identifier(args[0].text)) args[0].fail("'" + std::string(args[0].text) + "' is not an identifier");
      define(args[0], args[0].text, eval(args[1]), line.number);
    } else if (d == ".tensor") {
      tensors_.push_back({line, head, args});
    } else if (d == ".meta") {
      need_args(2, 2, "a key and a quoted value");
      const std::string key = args[0].text[0] == '"' ? unquote(args[0]) : std::string(args[0].text);
      result_.program.metadata.emplace_back(key, unquote(args[1]));
    } else if (d == ".insn") {
      need_args(1, 1, "one raw word in hex");
      if (section_ != Section::kText) head.fail("'.insn' belongs in .text");
      result_.program.text.push_back(raw_word(args[0]));
    } else {
      head.fail("unknown directive '" + std::string(d) + "'" + did_you_mean(d, directive_names()));
    }
  }

  void incbin(const Token& head, const std::vector<Token>& args, int line) {
    const std::string rel = unquote(args[0]);
    const std::string path = !rel.empty() && rel[0] == '/' ? rel : directory_of(filename_) + rel;
    std::ifstream f(path, std::ios::binary);
    if (!f) args[0].fail("cannot open '" + path + "' (" + std::strerror(errno) + ")");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const int64_t offset = args.size() > 1 ? eval(args[1]) : 0;
    if (offset < 0 || static_cast<uint64_t>(offset) > bytes.size())
      args[1].fail("offset " + std::to_string(offset) + " is outside the file (" + std::to_string(bytes.size()) +
                   " bytes)");
    const int64_t length = args.size() > 2 ? eval(args[2]) : static_cast<int64_t>(bytes.size()) - offset;
    if (length < 0 || static_cast<uint64_t>(offset + length) > bytes.size())
      args[2].fail("length " + std::to_string(length) + " runs past the end of the file (" +
                   std::to_string(bytes.size()) + " bytes)");
    write_bytes(head, std::vector<uint8_t>(bytes.begin() + offset, bytes.begin() + offset + length), line);
  }

  Word raw_word(const Token& t) {
    std::string_view hex = t.text;
    if (hex.substr(0, 2) != "0x" || hex.size() == 2 || hex.size() > 2 + kWordBytes * 2)
      t.fail("'.insn' takes 0x followed by 1 to " + std::to_string(kWordBytes * 2) + " hex digits");
    hex.remove_prefix(2);
    Word w;
    for (size_t i = 0; i < hex.size(); ++i) {
      const char c = hex[hex.size() - 1 - i];
      if (!std::isxdigit(static_cast<unsigned char>(c))) t.fail("'" + std::string(1, c) + "' is not a hex digit");
      const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
      w.set(static_cast<unsigned>(4 * i), 4, static_cast<uint64_t>(v));
    }
    return w;
  }

  void write_bytes(const Token& head, const std::vector<uint8_t>& bytes, int line) {
    const uint64_t at = loc(section_);
    place(head, bytes.size(), line);
    image(section_).write(at, bytes);
  }

  // Records that `size` bytes go at the current location, and advances it.
  void place(const Token& head, uint64_t size, int line) {
    const uint64_t at = loc(section_);
    if (at + size < at) head.fail("data runs past the end of the 64-bit address space");
    if (size) placements(section_).push_back({at, size, line, head.column});
    loc(section_) = at + size;
  }

  void check_placements(Section s) {
    std::vector<Placement> p = placements(s);
    std::stable_sort(p.begin(), p.end(), [](const Placement& a, const Placement& b) { return a.addr < b.addr; });
    for (size_t i = 1; i < p.size(); ++i) {
      const Placement& prev = p[i - 1];
      const Placement& cur = p[i];
      if (cur.addr < prev.addr + prev.size) {
        const Placement& later = cur.line >= prev.line ? cur : prev;
        const Placement& earlier = cur.line >= prev.line ? prev : cur;
        const SourceLine line{later.line, line_text(later.line)};
        statement(line, [&] {
          char buf[160];
          std::snprintf(buf, sizeof buf, "data at 0x%llx (%llu bytes) in %s overlaps data placed at line %d",
                        static_cast<unsigned long long>(later.addr), static_cast<unsigned long long>(later.size),
                        section_name(s), earlier.line);
          fail(later.column, 1, buf);
        });
      }
    }
  }

  std::string_view line_text(int number) const {
    size_t start = 0;
    for (int i = 1; i < number; ++i) start = source_.find('\n', start) + 1;
    const size_t end = source_.find('\n', start);
    std::string_view t = source_.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!t.empty() && t.back() == '\r') t.remove_suffix(1);
    return t;
  }

  void define(const Token& at, std::string_view name, int64_t value, int line) {
    const auto [it, inserted] = symbols_.emplace(std::string(name), Symbol{value, line});
    if (!inserted)
      at.fail("symbol '" + std::string(name) + "' is already defined at line " + std::to_string(it->second.line));
  }

  // ---------------------------------------------------------------- evaluation

  // Names resolve within `enumeration` first (as a value, or as a bit for masks), then as symbols.
  Resolver resolver(const FieldSpec* field) const {
    return [this, field](std::string_view name, int column) -> int64_t {
      if (field != nullptr && field->enumeration != nullptr) {
        if (const EnumValueSpec* v = field->enumeration->find(name)) {
          if (field->kind != FieldKind::kMask) return v->value;
          if (v->value >= field->width)
            fail(column, static_cast<int>(name.size()),
                 "'" + std::string(name) + "' cannot be named in '" + std::string(field->name) + "' (" +
                     describe_range(*field) + ")");
          return int64_t{1} << v->value;
        }
      }
      const auto it = symbols_.find(std::string(name));
      if (it != symbols_.end()) return it->second.value;
      std::vector<std::string_view> candidates;
      for (const auto& [sym, unused] : symbols_) candidates.push_back(sym);
      std::string what = "undefined symbol '" + std::string(name) + "'";
      if (field != nullptr && field->enumeration != nullptr) {
        candidates.clear();
        for (const auto& v : field->enumeration->values) candidates.push_back(v.name);
        what = "'" + std::string(name) + "' is not " + describe_range(*field);
      }
      fail(column, static_cast<int>(name.size()), what + did_you_mean(name, candidates));
    };
  }

  // In pass 1 only the symbols defined above are visible; in pass 2, all.
  int64_t eval(const Token& t, const FieldSpec* field = nullptr) const {
    return ExprParser(t, resolver(field)).parse();
  }

  static uint64_t address(const Token& t, int64_t v) {
    if (v < 0) t.fail("address " + std::to_string(v) + " is negative");
    return static_cast<uint64_t>(v);
  }

  static void check_data_value(const Token& t, int64_t v, unsigned size) {
    if (size == 8) return;
    const int64_t lo = -(int64_t{1} << (8 * size - 1));
    const int64_t hi = (int64_t{1} << (8 * size)) - 1;
    if (v < lo || v > hi)
      t.fail("value " + std::to_string(v) + " does not fit in " + std::to_string(size) + " byte" +
             (size > 1 ? "s" : "") + " (" + std::to_string(lo) + " to " + std::to_string(hi) + ")");
  }

  // ---------------------------------------------------------------- pass 2

  void emit_data(const PendingData& d) {
    const int64_t v = eval(d.expr);
    check_data_value(d.expr, v, d.size);
    uint8_t bytes[8];
    for (unsigned b = 0; b < d.size; ++b) bytes[b] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * b));
    image(d.section).write(d.addr, bytes, d.size);
  }

  void emit_insn(const PendingInsn& p) {
    Instruction insn = make_instruction(*p.spec);
    const Span<FieldSpec> fields = insn.fields();
    std::array<int, kMaxFields> given_at{};  // column where each field was given, 0 if not
    size_t next_positional = 0;
    for (const Token& op : p.operands) {
      const size_t eq = op.text.find('=');
      int index = -1;
      Token value = op;
      if (eq != std::string_view::npos) {
        const std::string_view name = op.text.substr(0, eq);
        index = insn.field_index(name);
        if (index < 0) {
          std::vector<std::string_view> names;
          for (const auto& f : fields) names.push_back(f.name);
          fail(op.column, static_cast<int>(eq),
               "'" + std::string(p.spec->mnemonic) + "' has no operand '" + std::string(name) + "'" +
                   did_you_mean(name, names) + operand_list(*p.spec));
        }
        value = Token{op.text.substr(eq + 1), op.column + static_cast<int>(eq) + 1};
        if (value.text.empty()) fail(value.column - 1, 1, "missing value after '='");
      } else if (const int flag = insn.field_index(op.text);
                 flag >= 0 && fields[static_cast<size_t>(flag)].kind == FieldKind::kFlag) {
        index = flag;
      } else {
        while (next_positional < fields.size &&
               (fields[next_positional].kind == FieldKind::kFlag || given_at[next_positional] != 0))
          ++next_positional;
        if (next_positional >= fields.size)
          op.fail("too many operands for '" + std::string(p.spec->mnemonic) + "'" + operand_list(*p.spec));
        index = static_cast<int>(next_positional);
      }
      const FieldSpec& f = fields[static_cast<size_t>(index)];
      if (given_at[static_cast<size_t>(index)] != 0)
        op.fail("operand '" + std::string(f.name) + "' is given twice (first at column " +
                std::to_string(given_at[static_cast<size_t>(index)]) + ")");
      given_at[static_cast<size_t>(index)] = op.column;
      const int64_t v = (value.text == f.name && f.kind == FieldKind::kFlag) ? 1 : eval(value, &f);
      const std::string problem = check_value(f, v);
      if (!problem.empty()) value.fail(problem);
      insn.values[static_cast<size_t>(index)] = v;
    }
    std::string missing;
    for (size_t i = 0; i < fields.size; ++i)
      if (fields[i].required() && given_at[i] == 0)
        missing += (missing.empty() ? "" : ", ") + std::string(fields[i].name);
    if (!missing.empty())
      p.mnemonic.fail("'" + std::string(p.spec->mnemonic) + "' is missing " + missing + operand_list(*p.spec));
    result_.program.text[p.pc] = encode(insn);
  }

  static std::string operand_list(const InsnSpec& spec) {
    std::string s = " (operands:";
    for (const auto& f : spec.format->fields) s += " " + std::string(f.name) + (f.required() ? "" : "?");
    return s + ")";
  }

  void tensor(const Token& head, const std::vector<Token>& args) {
    if (args.size() < 5) {
      const Token& at = args.empty() ? head : args.back();
      at.fail("'.tensor' needs: NAME input|output DTYPE [dims] host|ub|dram=ADDR [scale=F] [zp=N]");
    }
    TensorDesc t;
    t.name = args[0].text[0] == '"' ? unquote(args[0]) : std::string(args[0].text);
    if (t.name.empty()) args[0].fail("tensor name is empty");
    for (const TensorDesc& other : result_.program.tensors)
      if (other.name == t.name) args[0].fail("tensor '" + t.name + "' is declared twice");
    const auto role = parse_role(args[1].text);
    if (!role) args[1].fail("tensor role must be 'input' or 'output'");
    t.role = *role;
    const auto dtype = parse_dtype(args[2].text);
    if (!dtype)
      args[2].fail("unknown dtype '" + std::string(args[2].text) + "'" + did_you_mean(args[2].text, dtype_names()) +
                   " (i8, u8, i16, i32, f32)");
    t.dtype = *dtype;
    t.shape = shape(args[3]);
    bool have_addr = false, have_scale = false, have_zp = false;
    for (size_t i = 4; i < args.size(); ++i) {
      const Token& a = args[i];
      const size_t eq = a.text.find('=');
      const std::string_view key = a.text.substr(0, eq);
      const Token value{eq == std::string_view::npos ? std::string_view() : a.text.substr(eq + 1),
                        a.column + static_cast<int>(eq) + 1};
      if (eq == std::string_view::npos || value.text.empty())
        a.fail("expected key=value (host=, ub=, dram=, scale=, zp=)");
      bool* seen = nullptr;
      if (const auto space = parse_space(key)) {
        seen = &have_addr;
        t.space = *space;
        t.addr = address(value, eval(value));
      } else if (key == "scale") {
        seen = &have_scale;
        t.scale = real(value);
      } else if (key == "zp") {
        seen = &have_zp;
        const int64_t zp = eval(value);
        if (zp < INT32_MIN || zp > INT32_MAX) value.fail("zero point does not fit in 32 bits");
        t.zero_point = static_cast<int32_t>(zp);
      } else {
        a.fail("unknown tensor attribute '" + std::string(key) + "'" +
               did_you_mean(key, {"host", "ub", "dram", "scale", "zp"}));
      }
      if (*seen) a.fail("tensor attribute '" + std::string(key) + "' is given twice (or two addresses)");
      *seen = true;
    }
    if (!have_addr) args.back().fail("tensor '" + t.name + "' needs an address: host=, ub= or dram=");
    result_.program.tensors.push_back(std::move(t));
  }

  std::vector<int64_t> shape(const Token& t) const {
    if (t.text.size() < 2 || t.text.front() != '[' || t.text.back() != ']') t.fail("expected a shape such as [1,784]");
    std::vector<int64_t> dims;
    const std::string_view inner = t.text.substr(1, t.text.size() - 2);
    if (inner.find_first_not_of(" \t") == std::string_view::npos) return dims;  // a scalar: []
    for (size_t start = 0;;) {
      const size_t end = std::min(inner.find(',', start), inner.size());
      const Token piece{inner.substr(start, end - start), t.column + 1 + static_cast<int>(start)};
      const int64_t d = eval(piece);
      if (d < 0) piece.fail("dimension " + std::to_string(d) + " is negative");
      dims.push_back(d);
      if (dims.size() > 255) t.fail("shape has more than 255 dimensions");
      if (end == inner.size()) return dims;
      start = end + 1;
    }
  }

  static double real(const Token& t) {
    const std::string s(t.text);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || errno != 0 || !std::isfinite(v))
      t.fail("malformed number '" + s + "' (expected a finite real such as 0.5 or 1e-3)");
    return v;
  }

  // ---------------------------------------------------------------- state

  uint64_t location() const {
    return section_ == Section::kText ? result_.program.text.size() : locs_[static_cast<int>(section_)];
  }
  uint64_t& loc(Section s) { return locs_[static_cast<int>(s)]; }
  MemoryImage& image(Section s) { return s == Section::kDram ? result_.program.dram : result_.program.host; }
  std::vector<Placement>& placements(Section s) { return placements_[s == Section::kDram ? 0 : 1]; }

  std::string_view source_;
  std::string filename_;
  AssembleResult result_;
  Section section_ = Section::kText;
  uint64_t locs_[3] = {};
  std::map<std::string, Symbol> symbols_;
  std::vector<PendingInsn> insns_;
  std::vector<PendingData> data_;
  std::vector<PendingTensor> tensors_;
  std::vector<Placement> placements_[2];
};

}  // namespace

AssembleResult assemble(std::string_view source, const std::string& filename) {
  return Assembler(source, filename).run();
}

AssembleResult assemble_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    AssembleResult r;
    r.errors.push_back({path, 0, 0, 1, std::string("cannot open (") + std::strerror(errno) + ")", ""});
    return r;
  }
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return assemble(text, path);
}

}  // namespace tpu::isa
