// tpusim check: instruction tests users write as assembly. Besides the
// program, a check file holds directives the assembler never sees:
//
//   .config PATH                    chip configuration, relative to the file (default: --config)
//   .set KEY=VALUE                  override a configuration value
//   .expect halt                    the run halts (the default when no fault is expected)
//   .expect fault PC "TEXT"         the run faults at PC with TEXT in the reason
//   .expect cycles MIN MAX          total cycles within [MIN, MAX]
//   .expect counter UNIT.STAT [==|<=|>=] VALUE
//   .expect ub ADDR V, V, ...       int8 values in the unified buffer (V*N: N copies; or: file "NAME")
//   .expect host ADDR V, V, ...     int8 values in host memory
//   .expect acc ROW V, V, ...       int32 accumulator lanes from lane 0
//
// Numbers may be symbols of the program (labels, .equ). Each file runs in its
// own process; the command ends with "N passed, N failed".

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "isa/assembler.h"
#include "isa/text.h"
#include "sim/base/config.h"
#include "sim/base/params.h"
#include "sim/top/isolated_run.h"
#include "tools/cli/commands.h"

namespace tpu::cli {

namespace {

struct Directive {
  int line;
  std::vector<std::string> words;  // the directive and its operands, quotes removed
};

std::string dir_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  bool quoted = false, any = false;
  for (const char c : text) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
      continue;
    }
    if (!quoted && (c == ';' || c == '#')) break;
    if (!quoted && (c == ' ' || c == '\t' || c == ',' || c == '\r')) {
      if (any) words.push_back(cur);
      cur.clear();
      any = false;
      continue;
    }
    cur += c;
    any = true;
  }
  if (any) words.push_back(cur);
  return words;
}

class CheckFile {
 public:
  CheckFile(std::string path, std::string default_config)
      : path_(std::move(path)), config_(std::move(default_config)) {}

  // Returns true when every expectation holds; prints what does not.
  bool run() {
    const isa::AssembleResult assembled = isa::assemble_file(path_);
    for (const auto& [line, text] : assembled.check_directives) directives_.push_back({line, split_words(text)});
    if (!assembled.ok()) {
      for (const auto& d : assembled.errors) std::cout << isa::format_diagnostic(d);
      return fail(0, "does not assemble");
    }
    symbols_ = assembled.symbols;
    sim::Config config = sim::Config::load(config_path());
    for (const Directive& d : directives_)
      if (d.words[0] == ".set") {
        if (d.words.size() != 2) return fail(d.line, ".set takes KEY=VALUE");
        config.set(d.words[1]);
      }
    const sim::ChipParams params = sim::read_chip_params(config);
    sim::IsolatedOptions options;
    for (const Directive& d : directives_) {
      // Host memory is read back only where an expectation looks.
      int64_t base;
      if (d.words[0] != ".expect" || d.words.size() < 4 || d.words[1] != "host" || !value(d, d.words[2], &base))
        continue;
      host_index_[d.line] = options.host_ranges.size();
      std::vector<int64_t> want;
      if (!values(d, 3, &want)) continue;
      options.host_ranges.emplace_back(static_cast<uint64_t>(base), want.size());
    }
    const sim::IsolatedRun run = sim::run_isolated(params, assembled.program, options);
    bool ok = true, fault_expected = false;
    for (const Directive& d : directives_) {
      if (d.words[0] != ".expect") continue;
      fault_expected = fault_expected || (d.words.size() > 1 && d.words[1] == "fault");
      ok = check(d, run, params) && ok;
    }
    if (!fault_expected && !run.halted()) {
      ok = fail(0, "faulted: " + run.result["fault"]["reason"].get<std::string>() + " (pc " +
                       std::to_string(run.result["fault"]["pc"].get<int64_t>()) + ")");
    }
    count_ = 0;
    for (const Directive& d : directives_) count_ += d.words[0] == ".expect";
    cycles_ = run.result["cycles"].get<uint64_t>();
    return ok;
  }

  size_t expectations() const { return count_; }
  uint64_t cycles() const { return cycles_; }

 private:
  std::string config_path() const {
    for (const Directive& d : directives_)
      if (d.words[0] == ".config" && d.words.size() == 2)
        return d.words[1][0] == '/' ? d.words[1] : dir_of(path_) + d.words[1];
    return config_;
  }

  bool fail(int line, const std::string& what) {
    std::cout << "  " << path_ << (line ? ":" + std::to_string(line) : "") << ": " << what << "\n";
    return false;
  }

  // A number or a program symbol.
  bool value(const Directive& d, const std::string& word, int64_t* out) {
    try {
      size_t used = 0;
      *out = std::stoll(word, &used, 0);
      if (used == word.size()) return true;
    } catch (const std::exception&) {
    }
    const auto it = symbols_.find(word);
    if (it != symbols_.end()) {
      *out = it->second;
      return true;
    }
    std::vector<std::string_view> names;
    for (const auto& [n, v] : symbols_) names.push_back(n);
    return fail(d.line,
                "'" + word + "' is neither a number nor a symbol of the program" + isa::did_you_mean(word, names));
  }

  // Values, where V*N stands for N copies of V.
  bool values(const Directive& d, size_t from, std::vector<int64_t>* out) {
    for (size_t i = from; i < d.words.size(); ++i) {
      const std::string& word = d.words[i];
      const size_t star = word.find('*');
      int64_t v, n = 1;
      if (!value(d, word.substr(0, star), &v)) return false;
      if (star != std::string::npos && (!value(d, word.substr(star + 1), &n) || n < 0 || n > (1 << 24)))
        return fail(d.line, "bad repeat count in '" + word + "'");
      out->insert(out->end(), static_cast<size_t>(n), v);
    }
    return true;
  }

  template <class T>
  bool compare(const Directive& d, const std::string& what, uint64_t base, const std::vector<int64_t>& want,
               const std::vector<T>& got) {
    for (size_t i = 0; i < want.size(); ++i) {
      if (static_cast<int64_t>(got[i]) == want[i]) continue;
      std::ostringstream s;
      s << "expected " << what << "[" << base + i << "] = " << want[i] << ", got " << static_cast<int64_t>(got[i]);
      return fail(d.line, s.str());
    }
    return true;
  }

  bool check(const Directive& d, const sim::IsolatedRun& run, const sim::ChipParams& params) {
    const auto& w = d.words;
    const std::string kind = w.size() > 1 ? w[1] : "";
    if (kind == "halt") {
      return run.halted() || fail(d.line, "expected the program to halt; it faulted: " +
                                              run.result["fault"]["reason"].get<std::string>());
    }
    if (kind == "fault") {
      int64_t pc;
      if (w.size() != 4 || !value(d, w[2], &pc)) return fail(d.line, "usage: .expect fault PC \"TEXT\"");
      if (run.halted()) return fail(d.line, "expected a fault at pc " + std::to_string(pc) + "; the program halted");
      const int64_t got = run.result["fault"]["pc"].get<int64_t>();
      const std::string reason = run.result["fault"]["reason"].get<std::string>();
      if (got != pc || reason.find(w[3]) == std::string::npos)
        return fail(d.line, "expected a fault at pc " + std::to_string(pc) + " mentioning \"" + w[3] + "\"; got pc " +
                                std::to_string(got) + ": " + reason);
      return true;
    }
    if (kind == "cycles") {
      int64_t lo, hi;
      if (w.size() != 4 || !value(d, w[2], &lo) || !value(d, w[3], &hi))
        return fail(d.line, "usage: .expect cycles MIN MAX");
      const int64_t c = run.result["cycles"].get<int64_t>();
      return (c >= lo && c <= hi) || fail(d.line, "expected cycles in [" + std::to_string(lo) + ", " +
                                                      std::to_string(hi) + "], got " + std::to_string(c));
    }
    if (kind == "counter") {
      if (w.size() != 4 && w.size() != 5) return fail(d.line, "usage: .expect counter UNIT.STAT [==|<=|>=] VALUE");
      const size_t dot = w[2].find('.');
      const std::string unit = w[2].substr(0, dot), stat = dot == std::string::npos ? "" : w[2].substr(dot + 1);
      const auto& units = run.result["units"];
      if (!units.contains(unit) || !units[unit].contains(stat)) {
        std::vector<std::string> all;
        for (const auto& [u, stats] : units.items())
          for (const auto& [s, v] : stats.items()) all.push_back(u + "." + s);
        std::vector<std::string_view> views(all.begin(), all.end());
        return fail(d.line, "no counter '" + w[2] + "'" + isa::did_you_mean(w[2], views));
      }
      const std::string op = w.size() == 5 ? w[3] : "==";
      int64_t want;
      if (!value(d, w.back(), &want)) return false;
      const int64_t got = units[unit][stat].get<int64_t>();
      const bool ok = op == "==" ? got == want : op == "<=" ? got <= want : op == ">=" ? got >= want : false;
      if (op != "==" && op != "<=" && op != ">=") return fail(d.line, "comparison must be ==, <= or >=");
      return ok ||
             fail(d.line, "expected " + w[2] + " " + op + " " + std::to_string(want) + ", got " + std::to_string(got));
    }
    if (kind == "ub" || kind == "host" || kind == "acc") {
      int64_t base;
      if (w.size() < 4 || !value(d, w[2], &base) || base < 0)
        return fail(d.line, "usage: .expect " + kind + " ADDR V, V, ... (or: file \"NAME\")");
      std::vector<int64_t> want;
      if (w[3] == "file" && kind != "host") {
        if (w.size() != 5) return fail(d.line, "usage: .expect " + kind + " ADDR file \"NAME\"");
        std::ifstream f(dir_of(path_) + w[4], std::ios::binary);
        if (!f) return fail(d.line, "cannot open '" + dir_of(path_) + w[4] + "'");
        for (char c : std::string(std::istreambuf_iterator<char>(f), {})) want.push_back(static_cast<int8_t>(c));
      } else if (!values(d, 3, &want)) {
        return false;
      }
      if (kind == "acc") {
        const uint64_t cols = static_cast<uint64_t>(params.matrix_unit.cols);
        if (static_cast<uint64_t>(base) >= run.acc.size() / cols || want.size() > cols)
          return fail(d.line, "accumulator row or lanes out of range");
        return compare(
            d, "acc row " + std::to_string(base) + " lane", 0, want,
            std::vector<int32_t>(run.acc.begin() + base * cols, run.acc.begin() + base * cols + want.size()));
      }
      if (kind == "ub") {
        if (base + want.size() > run.ub.size()) return fail(d.line, "range outside the unified buffer");
        std::vector<int8_t> got(run.ub.begin() + base, run.ub.begin() + base + static_cast<long>(want.size()));
        return compare(d, "ub", static_cast<uint64_t>(base), want, got);
      }
      const size_t i = host_index_.at(d.line);
      std::vector<int8_t> got(run.host_ranges[i].begin(), run.host_ranges[i].end());
      return compare(d, "host", static_cast<uint64_t>(base), want, got);
    }
    return fail(d.line, "unknown expectation '" + kind + "'" +
                            isa::did_you_mean(kind, {"halt", "fault", "cycles", "counter", "ub", "host", "acc"}));
  }

  std::string path_, config_;
  std::vector<Directive> directives_;
  std::map<std::string, int64_t> symbols_;
  std::map<int, size_t> host_index_;  // line of a host expectation -> its range in the run
  size_t count_ = 0;
  uint64_t cycles_ = 0;
};

struct CheckArgs {
  std::vector<std::string> files;
  std::string config = "configs/tpu_v1.yaml";
};

}  // namespace

void add_check_command(CLI::App& app) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* cmd = app.add_subcommand("check", "Run instruction tests written as assembly with .expect directives");
  cmd->add_option("files", args->files, "Check files (.s)")->required()->check(CLI::ExistingFile);
  cmd->add_option("-c,--config", args->config, "Configuration for files without .config")->check(CLI::ExistingFile);
  cmd->callback([args] {
    int passed = 0, failed = 0;
    for (const std::string& file : args->files) {
      CheckFile check(file, args->config);
      bool ok = false;
      try {
        ok = check.run();
      } catch (const std::exception& e) {
        std::cout << "  " << file << ": " << e.what() << "\n";
      }
      std::cout << (ok ? "PASS " : "FAIL ") << file;
      if (ok) std::cout << " (" << check.expectations() << " expectations, " << check.cycles() << " cycles)";
      std::cout << "\n";
      (ok ? passed : failed) += 1;
    }
    std::cout << passed << " passed, " << failed << " failed\n";
    if (failed) throw CommandExit{1};
  });
}

}  // namespace tpu::cli
