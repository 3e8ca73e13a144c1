#include "sim/base/params.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "isa/text.h"

namespace tpu::sim {

namespace {

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Reads every field from the config, collecting all problems.
class ParamReader : public ParamVisitor {
 public:
  explicit ParamReader(const Config& config) : config_(config) { stack_.push_back({config.root(), "", {}}); }

  void field(const char* key, int64_t& v, const char* unit, const char*, int64_t min, int64_t max) override {
    std::string path;
    const YAML::Node node = child(key, &path);
    if (!node) return;
    const auto parsed = parse_integer(node.Scalar());
    if (!parsed)
      return problem(path, "expected an integer (optionally with KiB, MiB or GiB), got '" + node.Scalar() + "'");
    if (*parsed < min || *parsed > max)
      return problem(path, std::to_string(*parsed) + " is out of range (" + std::to_string(min) + " to " +
                               std::to_string(max) + " " + unit + ")");
    v = *parsed;
  }

  void field(const char* key, double& v, const char* unit, const char*, double min, double max) override {
    std::string path;
    const YAML::Node node = child(key, &path);
    if (!node) return;
    const std::string& text = node.Scalar();
    char* end = nullptr;
    const double d = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(d))
      return problem(path, "expected a number, got '" + text + "'");
    if (d < min || d > max)
      return problem(path,
                     text + " is out of range (" + number_text(min) + " to " + number_text(max) + " " + unit + ")");
    v = d;
  }

  void field(const char* key, std::string& v, const char*, const std::vector<std::string>& choices) override {
    std::string path;
    const YAML::Node node = child(key, &path);
    if (!node) return;
    const std::string& text = node.Scalar();
    if (!choices.empty() && std::find(choices.begin(), choices.end(), text) == choices.end()) {
      std::string list;
      std::vector<std::string_view> views;
      for (const auto& c : choices) {
        list += (list.empty() ? "" : ", ") + c;
        views.push_back(c);
      }
      return problem(path, "'" + text + "' is not one of " + list + isa::did_you_mean(text, views));
    }
    v = text;
  }

  void begin(const char* key, const char*) override {
    std::string path;
    YAML::Node node = lookup(key, &path);
    if (node && !node.IsMap()) {
      problem(path, "expected a section of settings");
      node = YAML::Node();
    }
    stack_.push_back({node, path, {}});
  }

  void end() override {
    const Frame frame = stack_.back();
    stack_.pop_back();
    check_unknown(frame);
  }

  std::vector<std::string> finish() {
    check_unknown(stack_.back());
    return errors_;
  }

 private:
  struct Frame {
    YAML::Node node;  // undefined when the section is missing
    std::string path;
    std::vector<std::string> known;
  };

  YAML::Node lookup(const char* key, std::string* path) {
    Frame& f = stack_.back();
    f.known.emplace_back(key);
    *path = f.path.empty() ? key : f.path + "." + key;
    if (!f.node) return YAML::Node();
    return f.node[key];
  }

  // The scalar at key, or an undefined node after reporting why not.
  YAML::Node child(const char* key, std::string* path) {
    const bool section_present = static_cast<bool>(stack_.back().node);
    YAML::Node node = lookup(key, path);
    if (!node) {
      // A missing section is reported once, when it closes.
      if (section_present) problem(*path, "missing (set it in the configuration or with --set " + *path + "=...)");
      return YAML::Node();
    }
    if (!node.IsScalar()) {
      problem(*path, "expected a single value");
      return YAML::Node();
    }
    return node;
  }

  void check_unknown(const Frame& frame) {
    if (!frame.node) {
      if (!frame.path.empty()) problem(frame.path, "missing section");
      return;
    }
    std::vector<std::string_view> known(frame.known.begin(), frame.known.end());
    for (const auto& kv : frame.node) {
      const std::string key = kv.first.as<std::string>();
      if (std::find(frame.known.begin(), frame.known.end(), key) != frame.known.end()) continue;
      const std::string path = frame.path.empty() ? key : frame.path + "." + key;
      problem(path, "unknown key" + isa::did_you_mean(key, known));
    }
  }

  static std::optional<int64_t> parse_integer(const std::string& text) {
    static const std::pair<const char*, int64_t> kSuffixes[] = {
        {"KiB", int64_t{1} << 10}, {"MiB", int64_t{1} << 20}, {"GiB", int64_t{1} << 30}, {"", 1}};
    for (const auto& [suffix, scale] : kSuffixes) {
      const size_t n = std::strlen(suffix);
      if (text.size() <= n || text.compare(text.size() - n, n, suffix) != 0) continue;
      const std::string digits = text.substr(0, text.size() - n);
      size_t used = 0;
      int64_t v = 0;
      try {
        v = std::stoll(digits, &used, 0);
      } catch (const std::exception&) {
        return std::nullopt;
      }
      if (used != digits.size() || std::abs(v) > (int64_t{1} << 62) / scale) return std::nullopt;
      return v * scale;
    }
    return std::nullopt;
  }

  void problem(const std::string& path, const std::string& what) {
    errors_.push_back(config_.origin(path) + ": " + path + ": " + what);
  }

  const Config& config_;
  std::vector<Frame> stack_;
  std::vector<std::string> errors_;
};

// Writes the fields as a JSON tree.
class JsonWriter : public ParamVisitor {
 public:
  explicit JsonWriter(nlohmann::json& root) { stack_.push_back(&root); }
  void field(const char* key, int64_t& v, const char*, const char*, int64_t, int64_t) override {
    (*stack_.back())[key] = v;
  }
  void field(const char* key, double& v, const char*, const char*, double, double) override {
    (*stack_.back())[key] = v;
  }
  void field(const char* key, std::string& v, const char*, const std::vector<std::string>&) override {
    (*stack_.back())[key] = v;
  }
  void begin(const char* key, const char*) override { stack_.push_back(&(*stack_.back())[key]); }
  void end() override { stack_.pop_back(); }

 private:
  std::vector<nlohmann::json*> stack_;
};

// Lists the fields' paths.
class KeyLister : public ParamVisitor {
 public:
  explicit KeyLister(std::vector<ParamKey>& out) : out_(out) {}
  void field(const char* key, int64_t&, const char*, const char*, int64_t min, int64_t max) override {
    out_.push_back({ParamKey::Kind::integer, path(key), static_cast<double>(min), static_cast<double>(max), {}});
  }
  void field(const char* key, double&, const char*, const char*, double min, double max) override {
    out_.push_back({ParamKey::Kind::real, path(key), min, max, {}});
  }
  void field(const char* key, std::string&, const char*, const std::vector<std::string>& choices) override {
    out_.push_back({ParamKey::Kind::text, path(key), 0, 0, choices});
  }
  void begin(const char* key, const char*) override { prefix_.push_back(path(key)); }
  void end() override { prefix_.pop_back(); }

 private:
  std::string path(const char* key) const { return prefix_.empty() ? key : prefix_.back() + "." + key; }
  std::vector<ParamKey>& out_;
  std::vector<std::string> prefix_;
};

}  // namespace

std::vector<ParamKey> param_keys() {
  std::vector<ParamKey> keys;
  ChipParams params{};
  KeyLister lister(keys);
  params.visit(lister);
  return keys;
}

ChipParams read_chip_params(const Config& config) {
  ChipParams params{};
  ParamReader reader(config);
  params.visit(reader);
  std::vector<std::string> errors = reader.finish();
  // The energy and area tables are named relative to the file that names them.
  for (auto [key, table] :
       {std::pair{"energy.table", &params.energy.table}, std::pair{"energy.area_table", &params.energy.area_table}}) {
    const std::string origin = config.origin(key);
    if (table->empty() || (*table)[0] == '/' || origin.rfind("--set", 0) == 0) continue;
    const std::string file = origin.substr(0, origin.find(':'));
    const size_t slash = file.find_last_of('/');
    if (slash != std::string::npos) *table = file.substr(0, slash + 1) + *table;
  }
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    throw ConfigError(message);
  }
  return params;
}

void to_json(nlohmann::json& out, const ChipParams& params) {
  ChipParams copy = params;  // visit() takes fields by reference
  JsonWriter writer(out);
  copy.visit(writer);
}

}  // namespace tpu::sim
