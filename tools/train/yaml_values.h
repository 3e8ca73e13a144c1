#pragma once

// Numbers of the training and plan files, checked where they are read: a
// mistake names the file, the line and the key.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "isa/text.h"
#include "tools/compiler/graph.h"

namespace tpu::train {

// The file's YAML; a file that cannot be read or parsed is a ModelError naming it (and the line).
inline YAML::Node yaml_load(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw compiler::ModelError(path + ": cannot be read");
  } catch (const YAML::ParserException& e) {
    throw compiler::ModelError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
}

inline std::string yaml_where(const std::string& path, const YAML::Node& n) {
  return path + ":" + std::to_string(n.Mark().line + 1) + ": ";
}

inline std::string yaml_string(const std::string& path, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) throw compiler::ModelError(yaml_where(path, n) + key + " should be a word");
  return n.as<std::string>();
}

// A section that must be a mapping of keys.
inline void yaml_mapping(const std::string& path, const YAML::Node& n, const std::string& key) {
  if (!n.IsMap()) throw compiler::ModelError(yaml_where(path, n) + key + " should be a mapping of keys");
}

inline double yaml_number(const std::string& path, const YAML::Node& n, const std::string& key, double lo, double hi) {
  double v = 0;
  try {
    v = n.as<double>();
  } catch (const YAML::Exception&) {
    throw compiler::ModelError(yaml_where(path, n) + key + " should be a number");
  }
  if (!(v >= lo && v <= hi))
    throw compiler::ModelError(yaml_where(path, n) + key + " must lie in [" + std::to_string(lo) + ", " +
                               std::to_string(hi) + "]");
  return v;
}

inline int64_t yaml_whole(const std::string& path, const YAML::Node& n, const std::string& key, double lo, double hi) {
  const double v = yaml_number(path, n, key, lo, hi);
  if (v != std::floor(v)) throw compiler::ModelError(yaml_where(path, n) + key + " should be a whole number");
  return static_cast<int64_t>(v);
}

// Every key of a mapping is one of `known`; else the error names the line, the key (after
// `section`, "prune." say) and the nearest known one.
inline void yaml_check_keys(const std::string& path, const YAML::Node& node, const std::vector<std::string>& known,
                            const std::string& section) {
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::vector<std::string_view> views(known.begin(), known.end());
    throw compiler::ModelError(yaml_where(path, kv.first) + "unknown key '" + section + key + "'" +
                               isa::did_you_mean(key, views));
  }
}

}  // namespace tpu::train
