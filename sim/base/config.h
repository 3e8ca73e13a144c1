#pragma once

// Configuration as the user writes it: YAML files (a file may name a `base`
// file it overrides) plus `--set path=value` overrides. Every value remembers
// where it came from, so a bad one is reported at its file, line and column.
// Typed parameter structs are read from a Config by ParamReader (params.h).

#include <yaml-cpp/yaml.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tpu::sim {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Config {
 public:
  // Reads `path`, after the chain of files its `base:` keys name (relative to
  // the naming file), each overriding the one before, key by key.
  static Config load(const std::string& path);
  static Config parse(const std::string& yaml, const std::string& origin);

  // Applies "a.b.c=value"; value is YAML (a number, true/false, a string).
  void set(const std::string& assignment);

  const YAML::Node& root() const { return root_; }
  // Where the value at a dotted path came from: "file:line:column" or "--set ...".
  std::string origin(const std::string& path) const;

 private:
  void merge(const YAML::Node& from, YAML::Node into, const std::string& prefix, const std::string& file);

  YAML::Node root_ = YAML::Node(YAML::NodeType::Map);
  std::map<std::string, std::string> origins_;
  std::string top_origin_;
};

}  // namespace tpu::sim
