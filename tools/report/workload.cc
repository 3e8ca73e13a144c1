#include "tools/report/workload.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <numeric>
#include <random>
#include <sstream>

#include "isa/text.h"
#include "tools/compiler/compiler.h"

namespace tpu::report {

// FNV-1a: a stable hash for cache keys.
uint64_t fnv1a(const std::string& s, uint64_t h) {
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex(uint64_t key) {
  char name[17];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(key));
  return name;
}

std::string cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/tpusim";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/tpusim";
  return "";
}

namespace {

std::string dir_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// `name` as written in the workload at `path`: absolute, or relative to the workload's folder.
std::string resolve(const std::string& path, const std::string& name) {
  return !name.empty() && name[0] == '/' ? name : dir_of(path) + name;
}


std::string read_text(const std::string& path) { return isa::read_file(path); }

// Each file's name and contents on top of `base`; nullopt when one cannot be read.
std::optional<uint64_t> files_key(uint64_t base, const std::vector<std::string>& files) {
  uint64_t h = base;
  for (const std::string& file : files) {
    std::ifstream f(file, std::ios::binary);
    if (!f) return std::nullopt;
    const std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    h = fnv1a(text, fnv1a(file + '\0' + std::to_string(text.size()) + '\0', h));
  }
  return h;
}

// Every key of `node` must be one of `known`; the first that is not is reported with its line.
void check_keys(const YAML::Node& node, const std::vector<std::string>& known, const std::string& path,
                const std::string& within) {
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::vector<std::string_view> names(known.begin(), known.end());
    throw compiler::ModelError(path + ":" + std::to_string(kv.first.Mark().line + 1) + ": unknown key '" + within +
                               key + "'" + isa::did_you_mean(key, names));
  }
}

}  // namespace

// The running executable's size and modification time: any rebuild (a changed
// compiler) gives new cache keys, so a stale program is never reused.
std::string build_identity() {
  // /proc/self/exe itself, not the path it names: it still reads the running file after a rebuild
  // replaced that path.
  std::error_code ec;
  const std::filesystem::path exe = "/proc/self/exe";
  const auto size = std::filesystem::file_size(exe, ec);
  if (ec) return __DATE__ __TIME__;
  const auto when = std::filesystem::last_write_time(exe, ec).time_since_epoch().count();
  return ec ? std::string(__DATE__ __TIME__) : std::to_string(size) + "@" + std::to_string(when);
}

namespace {

// The values of one workload file, each checked where it is read: a mistake names the file, the
// line and the key path.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& message) const {
    throw compiler::ModelError(path_ + ":" + std::to_string(at.Mark().line + 1) + ": " + message);
  }
  // `node` must be a mapping whose keys are all `known`.
  void mapping(const YAML::Node& node, const std::string& key, const std::vector<std::string>& known) const {
    if (!node.IsMap()) fail(node, (key.empty() ? "a workload" : key) + " must be a mapping of keys to values");
    check_keys(node, known, path_, key.empty() ? "" : key + ".");
  }
  template <class T>
  T value(const YAML::Node& parent, const std::string& within, const char* name, const char* what) const {
    const YAML::Node v = parent[name];
    if (!v) fail(parent, within + name + " is missing: it should be " + what);
    try {
      if (!v.IsScalar()) throw YAML::Exception(v.Mark(), "");
      return v.as<T>();
    } catch (const YAML::Exception&) {
      fail(v, within + name + " should be " + what);
    }
  }
  double number(const YAML::Node& parent, const std::string& within, const char* name, double lo, double hi,
                const char* what) const {
    const double x = value<double>(parent, within, name, what);
    if (!(x >= lo && x <= hi)) fail(parent[name], within + name + " should be " + what);
    return x;
  }
  std::string resolve_existing(const YAML::Node& parent, const std::string& within, const char* name) const {
    const std::string file = resolve(path_, value<std::string>(parent, within, name, "a file name"));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) fail(parent[name], within + name + ": no file " + file);
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

Workload load_workload(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw compiler::ModelError(path + ": cannot open the workload");
  } catch (const YAML::ParserException& e) {
    throw compiler::ModelError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  const Reader in(path);
  Workload w;
  w.file = path;
  try {
    in.mapping(root, "", {"name", "model", "batch", "input", "input_density", "seed", "deadline_ms", "reference", "note"});
    w.model = resolve(path, in.value<std::string>(root, "", "model", "the model file"));
    w.name = root["name"] ? in.value<std::string>(root, "", "name", "a name") : w.model;
    if (root["batch"]) w.batch = in.value<int64_t>(root, "", "batch", "a whole number of inferences");
    if (root["input"]) {
      w.input = in.value<std::string>(root, "", "input", "`synthetic` or a file of input bytes");
      if (w.input != "synthetic") w.input = resolve(path, w.input);
    }
    if (root["input_density"]) {
      if (w.input != "synthetic")
        throw compiler::ModelError(path + ":" + std::to_string(root["input_density"].Mark().line + 1) +
                                   ": input_density goes with `input: synthetic` (a file's bytes are as they are)");
      w.input_density =
          in.number(root, "", "input_density", 0, 1, "the fraction of input elements that are non-zero, in [0, 1]");
    }
    if (root["seed"]) w.seed = in.value<uint64_t>(root, "", "seed", "a whole number");
    if (root["deadline_ms"])
      w.deadline_ms = in.number(root, "", "deadline_ms", 0, 1e12, "a positive number of milliseconds");
    if (const YAML::Node ref = root["reference"]) {
      in.mapping(ref, "reference", {"tops", "band", "source", "counters", "power_w", "power_source"});
      if (ref["tops"] || !ref["power_w"])  // a reference states TOPS, power, or both
        w.reference_tops = in.number(ref, "reference.", "tops", 1e-9, 1e9, "the published TOPS, a positive number");
      if (ref["power_w"])
        w.reference_power_w =
            in.number(ref, "reference.", "power_w", 1e-9, 1e9, "the measured power in watts, a positive number");
      if (ref["power_source"])
        w.reference_power_source = in.value<std::string>(ref, "reference.", "power_source", "a citation");
      if (const YAML::Node band = ref["band"]) {
        const char* what = "[low, high]: the simulated TOPS' difference from the published, as fractions, low < high";
        if (!band.IsSequence() || band.size() != 2) in.fail(band, std::string("reference.band should be ") + what);
        double lo = 0, hi = 0;
        try {
          lo = band[0].as<double>();
          hi = band[1].as<double>();
        } catch (const YAML::Exception&) {
          in.fail(band, std::string("reference.band should be ") + what);
        }
        if (!(lo > -1 && lo < hi && hi < 1e6)) in.fail(band, std::string("reference.band should be ") + what);
        w.band = std::pair{lo, hi};
      }
      if (ref["source"]) w.reference_source = in.value<std::string>(ref, "reference.", "source", "a citation");
      if (const YAML::Node counters = ref["counters"]) {
        std::vector<std::string> known{"source"};
        for (const auto& c : kTable3Counters) known.push_back(c.key);
        in.mapping(counters, "reference.counters", known);
        if (counters["source"])
          w.reference_counters_source = in.value<std::string>(counters, "reference.counters.", "source", "a citation");
        for (const auto& c : kTable3Counters)
          if (counters[c.key])
            w.reference_counters.emplace_back(
                c.key, in.number(counters, "reference.counters.", c.key, 0, 100, "a share in percent, 0 to 100"));
      }
    }
    if (const YAML::Node note = root["note"]) {
      in.mapping(note, "note", {"config", "text"});
      std::string text = in.value<std::string>(note, "note.", "text", "the explanation");
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
      w.note = Workload::Note{text, in.resolve_existing(note, "note.", "config")};
    }
  } catch (const YAML::Exception& e) {
    throw compiler::ModelError(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return w;
}

// A program is cached under the hash of the chip's compile target, the batch, the build and the name and contents of
// every file its compile read: the model and the weight files it names. Which files those are only
// the compile knows, so a list of them, kept under the hash of all but the files, names them for
// the next run, which finds the program without compiling.
isa::Program workload_program(const Workload& w, const sim::ChipParams& chip, bool timing_only) {
  // The chip as the compiler sees it, so chips differing only in what it does not read share programs.
  // The compiler's own source is not hashed; the build identity stands in for it.
  const uint64_t base = fnv1a(compiler::CompileTarget::of(chip).key(),
                              fnv1a(w.model + "@" + std::to_string(w.batch) + (timing_only ? "@timing@" : "@") +
                                    build_identity()));
  const std::string dir = cache_dir();
  const std::string list = dir.empty() ? "" : dir + "/" + hex(base) + ".files";
  auto program_file = [&](uint64_t key) { return dir + "/" + hex(key) + ".tpb"; };
  if (!list.empty() && std::filesystem::exists(list)) {
    std::vector<std::string> files;
    std::istringstream lines(read_text(list));
    for (std::string line; std::getline(lines, line);) files.push_back(line);
    const std::optional<uint64_t> key = files_key(base, files);
    if (key && std::filesystem::exists(program_file(*key))) {
      try {
        return isa::load_program(program_file(*key));
      } catch (const isa::ProgramError&) {
        // A damaged cache entry is simply rebuilt.
      }
    }
  }
  compiler::CompileOptions options;
  options.batch = w.batch;
  options.timing_only = timing_only;
  const compiler::Compiled c = compiler::compile_model(w.model, chip, options);
  const std::vector<std::string>& files = c.graph->files_read;
  const std::optional<uint64_t> key = files_key(base, files);
  if (!list.empty() && key) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::string names;
    for (const std::string& file : files) names += file + "\n";
    if (!ec) {
      try {
        isa::save_program(c.lowered.program, program_file(*key));
        isa::write_file_atomically(list, names);
      } catch (const isa::ProgramError&) {
        // Caching is best effort.
      }
    }
  }
  return c.lowered.program;
}

std::vector<std::pair<std::string, std::vector<uint8_t>>> workload_inputs(const Workload& w, const isa::Program& p) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> inputs;
  std::mt19937_64 rng(w.seed);
  for (const isa::TensorDesc& t : p.tensors) {
    if (t.role != isa::TensorRole::kInput) continue;
    const size_t bytes = static_cast<size_t>(t.elements()) * isa::dtype_bytes(t.dtype);
    std::vector<uint8_t> data(bytes);
    if (w.input == "synthetic" && w.input_density) {
      if (t.dtype != isa::DType::kI8)
        throw compiler::ModelError(w.file + ": input_density needs int8 inputs; tensor '" + t.name + "' is " +
                                   std::string(isa::to_string(t.dtype)));
      // Exactly round(density x n) elements differ from the tensor's zero point, at seeded places,
      // each drawn as below but never the zero point.
      std::vector<size_t> order(data.size());
      std::iota(order.begin(), order.end(), size_t{0});
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);  // Fisher-Yates, the same on any library
      const size_t nonzero = static_cast<size_t>(std::llround(*w.input_density * double(data.size())));
      std::fill(data.begin(), data.end(), static_cast<uint8_t>(static_cast<int8_t>(t.zero_point)));
      for (size_t i = 0; i < nonzero; ++i) {
        int v = t.zero_point;
        while (v == t.zero_point) v = static_cast<int>(rng() % 128) - 64;
        data[order[i]] = static_cast<uint8_t>(static_cast<int8_t>(v));
      }
    } else if (w.input == "synthetic") {
      for (uint8_t& b : data) b = static_cast<uint8_t>(static_cast<int8_t>(static_cast<int>(rng() % 128) - 64));
    } else {
      const std::string text = read_text(w.input);
      if (text.size() != bytes)
        throw compiler::ModelError(w.file + ": input file " + w.input + " has " + std::to_string(text.size()) +
                                   " bytes; tensor '" + t.name + "' needs " + std::to_string(bytes));
      data.assign(text.begin(), text.end());
    }
    inputs.emplace_back(t.name, std::move(data));
  }
  return inputs;
}

nlohmann::json workload_verdict(const Workload& w, const nlohmann::json& result) {
  nlohmann::json v = nlohmann::json::object();
  const bool halted = result["status"] == "halted";
  if (w.deadline_ms || w.reference_tops || w.reference_power_w) v["completed"] = halted;
  if (w.deadline_ms) {
    const double ms = result["latency_us"].get<double>() / 1000;
    v["deadline_ms"] = *w.deadline_ms;
    v["latency_ms"] = ms;
    v["deadline_met"] = halted && ms <= *w.deadline_ms;
  }
  if (w.reference_tops && halted) {  // a faulted run's throughput means nothing
    const double tops = result["throughput"]["tops"].get<double>();
    v["reference_tops"] = *w.reference_tops;
    v["reference_source"] = w.reference_source;
    v["tops_difference"] = (tops - *w.reference_tops) / *w.reference_tops;
  }
  if (w.reference_power_w && halted) {
    const double power = result["energy"]["average_power_w"].get<double>();
    v["reference_power_w"] = *w.reference_power_w;
    v["reference_power_source"] = w.reference_power_source;
    v["power_w"] = power;
    v["power_difference"] = (power - *w.reference_power_w) / *w.reference_power_w;
  }
  return v;
}

std::string verdict_text(const Workload& w, const nlohmann::json& verdict) {
  std::string s;
  char line[256];
  if (verdict.contains("completed") && !verdict["completed"].get<bool>()) {
    std::snprintf(line, sizeof line, "%s did not complete (the program faulted): no deadline or throughput verdict.\n",
                  w.name.c_str());
    return line;
  }
  if (verdict.contains("deadline_ms")) {
    std::snprintf(line, sizeof line, "%s latency %.3f ms against its %g ms deadline: %s.\n", w.name.c_str(),
                  verdict["latency_ms"].get<double>(), verdict["deadline_ms"].get<double>(),
                  verdict["deadline_met"].get<bool>() ? "met" : "missed");
    s += line;
  }
  if (verdict.contains("reference_tops")) {
    std::snprintf(line, sizeof line, "%s measured %g TOPS (%s): simulated %+.1f%%.\n", w.name.c_str(),
                  verdict["reference_tops"].get<double>(), verdict["reference_source"].get<std::string>().c_str(),
                  100 * verdict["tops_difference"].get<double>());
    s += line;
  }
  if (verdict.contains("reference_power_w")) {
    std::snprintf(line, sizeof line, "%s measured %g W (%s): simulated %.2f W (%+.1f%%).\n", w.name.c_str(),
                  verdict["reference_power_w"].get<double>(),
                  verdict["reference_power_source"].get<std::string>().c_str(), verdict["power_w"].get<double>(),
                  100 * verdict["power_difference"].get<double>());
    s += line;
  }
  return s;
}

}  // namespace tpu::report
