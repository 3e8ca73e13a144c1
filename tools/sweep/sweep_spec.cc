#include "tools/sweep/sweep_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "isa/text.h"
#include "sim/base/config.h"
#include "sim/base/params.h"
#include "tools/sweep/table_axes.h"

namespace tpu::sweep {

namespace {

namespace fs = std::filesystem;

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  std::string at(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    return path_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& what) const {
    throw SweepError(at(n) + ": " + what);
  }

  // The map's keys, each once, all among `known`.
  void check_keys(const YAML::Node& map, const std::string& section, const std::vector<std::string>& known) const {
    if (!map.IsMap()) fail(map, section + ": expected a map of keys");
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (!seen.insert(key).second) fail(kv.first, section + (section.empty() ? "" : ".") + key + ": given twice");
      if (known.empty()) continue;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::vector<std::string_view> views(known.begin(), known.end());
        fail(kv.first, "unknown key '" + key + "'" + (section.empty() ? "" : " in " + section) +
                           isa::did_you_mean(key, views));
      }
    }
  }

  std::string scalar(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + ": expected a single value");
    return n.Scalar();
  }
  std::vector<std::string> list(const YAML::Node& n, const std::string& what) const {
    if (!n.IsSequence()) fail(n, what + ": expected a list of values, [a, b, ...]");
    if (n.size() == 0) fail(n, what + ": an empty list leaves no points");
    std::vector<std::string> out;
    for (const auto& v : n) out.push_back(scalar(v, what));
    return out;
  }
  double number(const YAML::Node& n, const std::string& what) const {
    const std::string s = scalar(n, what);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) fail(n, what + ": expected a number, got '" + s + "'");
    return v;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const std::vector<sim::ParamKey>& keys() {
  static const std::vector<sim::ParamKey> k = sim::param_keys();
  return k;
}

const sim::ParamKey* find_key(const std::string& path) {
  for (const sim::ParamKey& k : keys())
    if (k.path == path) return &k;
  return nullptr;
}

// A config key used as an axis: it must exist, and no block may give it twice.
// Whether a key takes whole numbers (table entries do not).
bool integer_key(const std::string& path) {
  const sim::ParamKey* k = find_key(path);
  return k != nullptr && k->kind == sim::ParamKey::Kind::integer;
}

void check_axis(const Reader& r, const YAML::Node& key, SweepSpec& spec) {
  const std::string path = key.Scalar();
  if (const auto entry = table_entry(path)) {
    const sim::ChipParams base = sim::read_chip_params(sim::Config::load(spec.config));
    const std::string problem =
        check_table_entry(entry->table_key == "energy.table" ? base.energy.table : base.energy.area_table, entry->path);
    if (!problem.empty()) r.fail(key, problem);
  } else if (find_key(path) == nullptr) {
    std::vector<std::string> names;
    for (const sim::ParamKey& k : keys()) names.push_back(k.path);
    std::vector<std::string_view> views(names.begin(), names.end());
    r.fail(key, "'" + path + "' is not a key of the chip configuration" + isa::did_you_mean(path, views));
  }
  if (spec.where.count(path)) r.fail(key, "'" + path + "' is already an axis (at " + spec.where.at(path) + ")");
  spec.where[path] = r.at(key);
}

// A number as a value of a key: whole for an integer key (or a whole value), else exact.
std::string format_number(double v, bool integer) {
  if (!std::isfinite(v) || std::abs(v) >= 9e15) throw SweepError("the value " + std::to_string(v) + " is not usable");
  if (integer || v == std::floor(v)) return std::to_string(static_cast<int64_t>(std::llround(v)));
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

// A sample of a real-valued key, to 6 significant digits: the same text whatever the last bit a
// platform's exp and log give.
std::string format_sample(double v, bool integer) {
  if (integer) return format_number(v, true);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void read_blocks(const Reader& r, const YAML::Node& root, SweepSpec& spec) {
  if (const YAML::Node g = root["grid"]) {
    r.check_keys(g, "grid", {});
    for (const auto& kv : g) {
      check_axis(r, kv.first, spec);
      spec.grid.emplace_back(kv.first.Scalar(), r.list(kv.second, "grid." + kv.first.Scalar()));
    }
  }
  if (const YAML::Node z = root["zip"]) {
    r.check_keys(z, "zip", {});
    for (const auto& kv : z) {
      check_axis(r, kv.first, spec);
      spec.zip.emplace_back(kv.first.Scalar(), r.list(kv.second, "zip." + kv.first.Scalar()));
      if (spec.zip.back().second.size() != spec.zip.front().second.size())
        r.fail(kv.second, "zip." + kv.first.Scalar() + ": " + std::to_string(spec.zip.back().second.size()) +
                              " values, but zip." + spec.zip.front().first + " has " +
                              std::to_string(spec.zip.front().second.size()) + "; zipped axes go in lockstep");
    }
  }
  if (const YAML::Node p = root["points"]) {
    if (!p.IsSequence() || p.size() == 0) r.fail(p, "points: expected a list of points, each a map of keys");
    std::vector<std::string> keys_of_first;
    for (size_t i = 0; i < p.size(); ++i) {
      const YAML::Node point = p[i];
      r.check_keys(point, "points", {});
      std::vector<Assignment> values;
      for (const auto& kv : point) {
        if (i == 0) {
          check_axis(r, kv.first, spec);
          keys_of_first.push_back(kv.first.Scalar());
        } else if (std::find(keys_of_first.begin(), keys_of_first.end(), kv.first.Scalar()) == keys_of_first.end()) {
          r.fail(kv.first, "'" + kv.first.Scalar() + "' is not set by the first point; every point sets the same keys");
        }
        values.emplace_back(kv.first.Scalar(), r.scalar(kv.second, kv.first.Scalar()));
      }
      if (values.size() != keys_of_first.size()) r.fail(point, "every point sets the same keys as the first");
      spec.points.push_back(std::move(values));
    }
  }
  if (const YAML::Node rnd = root["random"]) {
    r.check_keys(rnd, "random", {"seed", "samples", "axes"});
    for (const char* k : {"seed", "samples", "axes"})
      if (!rnd[k]) r.fail(rnd, std::string("random: missing '") + k + "'");
    const double seed = r.number(rnd["seed"], "random.seed");
    if (seed < 0 || seed != std::floor(seed) || seed > 9e15) r.fail(rnd["seed"], "random.seed: expected a whole number from 0");
    spec.seed = static_cast<uint64_t>(seed);
    const double samples = r.number(rnd["samples"], "random.samples");
    if (samples < 1 || samples != std::floor(samples)) r.fail(rnd["samples"], "random.samples: expected a whole number of at least 1");
    spec.samples = static_cast<uint64_t>(samples);
    const YAML::Node axes = rnd["axes"];
    r.check_keys(axes, "random.axes", {});
    for (const auto& kv : axes) {
      check_axis(r, kv.first, spec);
      const std::string what = "random.axes." + kv.first.Scalar();
      r.check_keys(kv.second, what, {"uniform", "log_uniform", "powers_of_two", "choice"});
      if (kv.second.size() != 1) r.fail(kv.second, what + ": give one of uniform, log_uniform, powers_of_two, choice");
      const YAML::const_iterator only = kv.second.begin();
      const std::string kind = only->first.Scalar();
      const YAML::Node args = only->second;
      Sampler s{};
      if (kind == "choice") {
        s.kind = Sampler::Kind::choice;
        s.choices = r.list(args, what + ".choice");
      } else {
        s.kind = kind == "uniform"         ? Sampler::Kind::uniform
                 : kind == "log_uniform"   ? Sampler::Kind::log_uniform
                                           : Sampler::Kind::powers_of_two;
        if (!args.IsSequence() || args.size() != 2) r.fail(args, what + "." + kind + ": expected [low, high]");
        s.lo = r.number(args[0], what);
        s.hi = r.number(args[1], what);
        if (!(s.lo <= s.hi)) r.fail(args, what + "." + kind + ": low is above high");
        if (kind != "uniform" && s.lo <= 0) r.fail(args, what + "." + kind + ": the range must be above 0");
        if (kind == "powers_of_two" && std::floor(std::log2(s.hi)) < std::ceil(std::log2(s.lo)))
          r.fail(args, what + ".powers_of_two: no power of two lies in the range");
      }
      spec.random.emplace_back(kv.first.Scalar(), s);
    }
  }
}

// Uniform in [0, 1), from the top 53 bits, the same on every platform.
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

std::string sample(const Sampler& s, bool integer, std::mt19937_64& rng) {
  const double u = unit(rng);
  switch (s.kind) {
    case Sampler::Kind::choice: return s.choices[std::min(s.choices.size() - 1, static_cast<size_t>(u * s.choices.size()))];
    case Sampler::Kind::uniform:
      if (integer) {
        const double lo = std::ceil(s.lo), hi = std::max(lo, std::floor(s.hi));
        return format_number(std::min(hi, lo + std::floor(u * (hi - lo + 1))), true);
      }
      return format_sample(s.lo + u * (s.hi - s.lo), false);
    case Sampler::Kind::log_uniform:
      return format_sample(std::exp(std::log(s.lo) + u * (std::log(s.hi) - std::log(s.lo))), integer);
    case Sampler::Kind::powers_of_two: {
      const double lo = std::ceil(std::log2(s.lo)), hi = std::floor(std::log2(s.hi));
      return format_number(std::ldexp(1.0, static_cast<int>(std::min(hi, lo + std::floor(u * (hi - lo + 1))))), true);
    }
  }
  return {};
}

std::string describe_values(const std::vector<Assignment>& values) {
  std::string s;
  for (const auto& [k, v] : values) s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s;
}

// The text of a dotted key in a configuration tree, or "" when it has none.
std::string base_value(const YAML::Node& node, const std::string& key) {
  const size_t dot = key.find('.');
  const YAML::Node child = node.IsMap() ? node[key.substr(0, dot)] : YAML::Node();
  if (!child) return {};
  if (dot == std::string::npos) return child.IsScalar() ? child.Scalar() : std::string();
  return base_value(child, key.substr(dot + 1));
}

}  // namespace

SweepSpec load_sweep(const std::string& path) {
  Reader r(path);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw SweepError(path + ": cannot open the sweep file");
  } catch (const YAML::Exception& e) {
    throw SweepError(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  r.check_keys(root, "", {"name", "config", "mode", "workloads", "grid", "zip", "points", "random", "derived",
                          "constraints", "metrics", "means", "objectives"});
  SweepSpec spec;
  spec.path = path;
  const fs::path dir = fs::absolute(fs::path(path)).parent_path();
  spec.name = root["name"] ? r.scalar(root["name"], "name") : fs::path(path).stem().string();
  // It names files, directories and jobs.
  if (spec.name.empty() || spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                               std::string::npos || spec.name[0] == '.')
    r.fail(root["name"] ? root["name"] : root,
           "name: '" + spec.name + "' must be letters, digits, '_', '.' and '-' (not starting with '.')");
  if (!root["config"]) r.fail(root, "missing 'config': the base chip configuration, relative to this file");
  spec.config = (dir / r.scalar(root["config"], "config")).lexically_normal().string();
  if (!fs::exists(spec.config)) r.fail(root["config"], "config: no file " + spec.config);
  if (root["mode"]) {
    const std::string mode = r.scalar(root["mode"], "mode");
    if (mode != "timing" && mode != "values") r.fail(root["mode"], "mode: expected timing or values, got '" + mode + "'");
    spec.timing_only = mode == "timing";
  }
  if (!root["workloads"] || !root["workloads"].IsSequence() || root["workloads"].size() == 0)
    r.fail(root["workloads"] ? root["workloads"] : root, "workloads: expected a list of workload files or {model, batch}");
  for (const auto& w : root["workloads"]) {
    WorkloadRef ref;
    ref.where = r.at(w);
    if (w.IsScalar()) {
      ref.file = (dir / w.Scalar()).lexically_normal().string();
      if (!fs::exists(ref.file)) r.fail(w, "no workload file " + ref.file);
      ref.name = fs::path(ref.file).stem().string();
      ref.id = fs::path(ref.file).lexically_relative(dir).string();
    } else {
      r.check_keys(w, "workloads", {"model", "batch"});
      if (!w["model"] || !w["batch"]) r.fail(w, "a workload without a file gives both model and batch");
      ref.model = (dir / r.scalar(w["model"], "model")).lexically_normal().string();
      if (!fs::exists(ref.model)) r.fail(w["model"], "no model file " + ref.model);
      const double batch = r.number(w["batch"], "batch");
      if (batch < 1 || batch != std::floor(batch)) r.fail(w["batch"], "batch: expected a whole number of at least 1");
      ref.batch = static_cast<int64_t>(batch);
      ref.name = fs::path(ref.model).stem().string() + "@" + std::to_string(ref.batch);
      ref.id = fs::path(ref.model).lexically_relative(dir).string() + "@" + std::to_string(ref.batch);
    }
    for (const WorkloadRef& other : spec.workloads)
      if (other.name == ref.name) r.fail(w, "a second workload named '" + ref.name + "' (first at " + other.where + ")");
    spec.workloads.push_back(ref);
  }
  read_blocks(r, root, spec);
  if (const YAML::Node d = root["derived"]) {
    r.check_keys(d, "derived", {});
    for (const auto& kv : d) {
      check_axis(r, kv.first, spec);
      const std::string text = r.scalar(kv.second, "derived." + kv.first.Scalar());
      // Check the expressions now, so a mistake is named before anything runs.
      for (size_t open = text.find("${"); open != std::string::npos; open = text.find("${", open + 2)) {
        const size_t close = text.find('}', open);
        if (close == std::string::npos) r.fail(kv.second, "derived." + kv.first.Scalar() + ": '${' without its '}'");
        std::vector<std::string> names;
        try {
          names = Expr::parse(text.substr(open + 2, close - open - 2)).names();
        } catch (const ExprError& e) {
          r.fail(kv.second, "derived." + kv.first.Scalar() + ": " + e.what() + " at '" + text.substr(open + 2 + e.column) + "'");
        }
        for (const std::string& name : names) {
          if (find_key(name) == nullptr) {
            std::vector<std::string> all;
            for (const sim::ParamKey& k : keys()) all.push_back(k.path);
            std::vector<std::string_view> views(all.begin(), all.end());
            r.fail(kv.second, "derived." + kv.first.Scalar() + " names '" + name +
                                  "', not a key of the chip configuration" + isa::did_you_mean(name, views));
          }
          // A derived key reads axes and the derived keys above it; one below it has no value yet.
          for (const auto& later : d)
            if (later.first.Scalar() == name && later.first.Mark().line > kv.first.Mark().line)
              r.fail(kv.second, "derived." + kv.first.Scalar() + " reads " + name + ", derived below it (at " +
                                    r.at(later.first) + "); put " + name + " first");
        }
      }
      spec.derived.emplace_back(kv.first.Scalar(), text);
    }
  }
  if (const YAML::Node c = root["constraints"]) {
    if (!c.IsSequence()) r.fail(c, "constraints: expected a list of conditions");
    for (const auto& cond : c) {
      const std::string text = r.scalar(cond, "constraint");
      try {
        Expr e = Expr::parse(text);
        for (const std::string& name : e.names())
          if (find_key(name) == nullptr) {
            std::vector<std::string> names;
            for (const sim::ParamKey& k : keys()) names.push_back(k.path);
            std::vector<std::string_view> views(names.begin(), names.end());
            r.fail(cond, "constraint names '" + name + "', not a key of the chip configuration" +
                             isa::did_you_mean(name, views));
          }
        spec.constraints.emplace_back(text, std::move(e));
        spec.where["constraint " + text] = r.at(cond);
      } catch (const ExprError& e) {
        r.fail(cond, std::string("constraint: ") + e.what() + " at '" + text.substr(e.column) + "'");
      }
    }
  }
  if (const YAML::Node m = root["metrics"]) {
    r.check_keys(m, "metrics", {});
    for (const auto& kv : m) {
      const std::string p = r.scalar(kv.second, "metrics." + kv.first.Scalar());
      if (p.empty() || p.front() == '.' || p.back() == '.' || p.find("..") != std::string::npos)
        r.fail(kv.second, "metrics." + kv.first.Scalar() + ": '" + p + "' is not a dotted path into the run's JSON");
      spec.metrics.emplace_back(kv.first.Scalar(), p);
      spec.where["metric " + kv.first.Scalar()] = r.at(kv.second);
    }
  }
  if (const YAML::Node means = root["means"]) {
    r.check_keys(means, "means", {});
    for (const auto& kv : means) {
      const std::string what = "means." + kv.first.Scalar();
      r.check_keys(kv.second, what, {"metric", "mean", "weights"});
      SweepSpec::Mean m;
      m.name = kv.first.Scalar();
      if (std::any_of(spec.metrics.begin(), spec.metrics.end(), [&](const auto& x) { return x.first == m.name; }))
        r.fail(kv.first, what + ": a metric has that name");
      if (!kv.second["metric"]) r.fail(kv.second, what + ": missing 'metric'");
      m.metric = r.scalar(kv.second["metric"], what + ".metric");
      if (std::none_of(spec.metrics.begin(), spec.metrics.end(), [&](const auto& x) { return x.first == m.metric; })) {
        std::vector<std::string_view> views;
        for (const auto& x : spec.metrics) views.push_back(x.first);
        r.fail(kv.second["metric"], what + ": '" + m.metric + "' is not one of the metrics" + isa::did_you_mean(m.metric, views));
      }
      const std::string kind = kv.second["mean"] ? r.scalar(kv.second["mean"], what + ".mean") : "arithmetic";
      if (kind == "geometric") {
        m.kind = SweepSpec::Mean::Kind::geometric;
      } else if (kind == "weighted") {
        m.kind = SweepSpec::Mean::Kind::weighted;
        const YAML::Node w = kv.second["weights"];
        if (!w) r.fail(kv.second, what + ": a weighted mean states its weights, {workload name: weight}");
        r.check_keys(w, what + ".weights", {});
        m.weights.assign(spec.workloads.size(), 0);
        for (const auto& wkv : w) {
          const auto it = std::find_if(spec.workloads.begin(), spec.workloads.end(),
                                       [&](const WorkloadRef& ref) { return ref.name == wkv.first.Scalar(); });
          if (it == spec.workloads.end()) {
            std::vector<std::string_view> views;
            for (const WorkloadRef& ref : spec.workloads) views.push_back(ref.name);
            r.fail(wkv.first, what + ".weights: no workload named '" + wkv.first.Scalar() + "'" +
                                  isa::did_you_mean(wkv.first.Scalar(), views));
          }
          const double v = r.number(wkv.second, what + ".weights." + wkv.first.Scalar());
          if (v < 0) r.fail(wkv.second, what + ".weights: a weight is not negative");
          m.weights[static_cast<size_t>(it - spec.workloads.begin())] = v;
        }
        if (std::all_of(m.weights.begin(), m.weights.end(), [](double v) { return v == 0; }))
          r.fail(w, what + ".weights: all zero");
      } else if (kind != "arithmetic") {
        r.fail(kv.second["mean"], what + ".mean: expected arithmetic, geometric or weighted, got '" + kind + "'");
      }
      spec.means.push_back(m);
    }
  }
  if (const YAML::Node o = root["objectives"]) {
    r.check_keys(o, "objectives", {"minimize", "maximize"});
    for (const auto& [key, out] : {std::pair{"minimize", &spec.minimize}, std::pair{"maximize", &spec.maximize}}) {
      if (!o[key]) continue;
      for (size_t i = 0; i < o[key].size() || (!o[key].IsSequence() && i == 0); ++i) {
        const YAML::Node n = o[key].IsSequence() ? o[key][i] : o[key];
        const std::string name = r.scalar(n, std::string("objectives.") + key);
        const bool mean = std::any_of(spec.means.begin(), spec.means.end(), [&](const auto& m) { return m.name == name; });
        const bool metric =
            std::any_of(spec.metrics.begin(), spec.metrics.end(), [&](const auto& m) { return m.first == name; });
        if (!mean && !(metric && spec.workloads.size() == 1)) {
          std::vector<std::string_view> views;
          for (const auto& m : spec.means) views.push_back(m.name);
          if (spec.workloads.size() == 1)
            for (const auto& m : spec.metrics) views.push_back(m.first);
          r.fail(n, "objective '" + name + "' is not one of the means" +
                        std::string(spec.workloads.size() == 1 ? " or metrics" : " (with several workloads an objective is a mean over them)") +
                        isa::did_you_mean(name, views));
        }
        out->push_back(name);
        if (!o[key].IsSequence()) break;
      }
    }
  }
  if (product_size(spec) == 0) r.fail(root, "the sweep has no points");
  return spec;
}

sim::ChipParams point_params(const SweepSpec& spec, const Point& point, std::vector<TableCopy>* tables) {
  sim::Config config = sim::Config::load(spec.config);
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> entries;  // by table key
  for (const auto& [key, value] : point.values) {
    if (const auto e = table_entry(key))
      entries[e->table_key].emplace_back(e->path, value);
    else
      config.set(key + "=" + value);
  }
  if (entries.empty()) return sim::read_chip_params(config);
  // The tables the point's configuration names, with its entries set.
  const sim::ChipParams named = sim::read_chip_params(config);
  for (const auto& [table_key, values] : entries) {
    const TableCopy copy =
        table_with(table_key == "energy.table" ? named.energy.table : named.energy.area_table, values);
    config.set(table_key + "=" + copy.file);
    if (tables) tables->push_back(copy);
  }
  return sim::read_chip_params(config);
}

uint64_t product_size(const SweepSpec& spec) {
  uint64_t n = 1;
  for (const auto& [key, values] : spec.grid) n *= values.size();
  if (!spec.zip.empty()) n *= spec.zip.front().second.size();
  if (!spec.points.empty()) n *= spec.points.size();
  if (!spec.random.empty()) n *= spec.samples;
  return n;
}

std::vector<Point> expand(const SweepSpec& spec) {
  // The random samples, drawn once in order, the same for every combination of the other blocks.
  std::vector<std::vector<Assignment>> samples(spec.random.empty() ? 1 : spec.samples);
  std::mt19937_64 rng(spec.seed);
  if (!spec.random.empty())
    for (auto& s : samples)
      for (const auto& [key, sampler] : spec.random)
        s.emplace_back(key, sample(sampler, integer_key(key), rng));
  const size_t zips = spec.zip.empty() ? 1 : spec.zip.front().second.size();
  const size_t given = spec.points.empty() ? 1 : spec.points.size();
  const sim::Config base = sim::Config::load(spec.config);
  std::vector<Point> out;
  const uint64_t total = product_size(spec);
  for (uint64_t n = 0; n < total; ++n) {
    // Odometer: the last block varies fastest; within the grid, the last key.
    uint64_t rest = n;
    const size_t r = rest % samples.size();
    rest /= samples.size();
    const size_t p = rest % given;
    rest /= given;
    const size_t z = rest % zips;
    rest /= zips;
    std::vector<Assignment> grid_values(spec.grid.size());
    for (size_t g = spec.grid.size(); g-- > 0;) {
      const auto& values = spec.grid[g].second;
      grid_values[g] = {spec.grid[g].first, values[rest % values.size()]};
      rest /= values.size();
    }
    Point point;
    point.values = grid_values;
    for (const auto& [key, values] : spec.zip) point.values.emplace_back(key, values[z]);
    if (!spec.points.empty())
      point.values.insert(point.values.end(), spec.points[p].begin(), spec.points[p].end());
    point.values.insert(point.values.end(), samples[r].begin(), samples[r].end());
    // A key's value at this point: set by the point, else the base configuration's.
    const auto value_of = [&](const std::string& key) -> double {
      for (const auto& [k, v] : point.values)
        if (k == key) {
          if (const auto d = parse_number(v)) return *d;
          throw SweepError("'" + key + "' is '" + v + "' at this point, not a number");
        }
      const auto d = parse_number(base_value(base.root(), key));
      if (!d) throw SweepError("'" + key + "' is not a number at this point");
      return *d;
    };
    for (const auto& [key, text] : spec.derived) {
      std::string value;
      size_t at = 0;
      for (size_t open; (open = text.find("${", at)) != std::string::npos;) {
        const size_t close = text.find('}', open);
        value += text.substr(at, open - at);
        try {
          const double v = Expr::parse(text.substr(open + 2, close - open - 2)).eval(value_of);
          value += format_number(v, integer_key(key));
        } catch (const SweepError& e) {
          throw SweepError(spec.where.at(key) + ": derived " + key + " at point " + std::to_string(n) + " (" +
                           describe_values(point.values) + "): " + e.what());
        }
        at = close + 1;
      }
      point.values.emplace_back(key, value + text.substr(at));
    }
    bool kept = true;
    for (const auto& [text, expr] : spec.constraints) {
      try {
        kept = kept && expr.eval(value_of) != 0;
      } catch (const SweepError& e) {
        throw SweepError(spec.where.at("constraint " + text) + ": " + e.what());
      }
    }
    if (!kept) continue;
    point.index = out.size();
    out.push_back(std::move(point));
  }
  if (out.empty() && !spec.constraints.empty())
    throw SweepError(spec.where.at("constraint " + spec.constraints.front().first) + ": the constraints drop all " +
                     std::to_string(total) + " points");
  return out;
}

}  // namespace tpu::sweep
