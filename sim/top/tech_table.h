#pragma once

// Reading a technology table (configs/energy/*.yaml): every number is checked
// once, and every mistake (a missing, unknown or repeated key, a value that is
// not a number or out of range) is a ConfigError naming the file, line, column
// and key, with the nearest known key for a misspelt one.

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace tpu::sim {

class TechTable {
 public:
  // Throws ConfigError if the file cannot be read, is not YAML, or gives a key
  // twice in one map (anywhere in the file).
  explicit TechTable(const std::string& path);

  const std::string& path() const { return path_; }
  const YAML::Node& root() const { return root_; }
  // "file:line:column" of a node.
  std::string at(const YAML::Node& node) const;

  // The map at `key` of `section` (named `where` in messages).
  YAML::Node section(const YAML::Node& parent, const std::string& where, const std::string& key) const;
  // The number at `key` of `section`, within [min, max].
  double number(const YAML::Node& section, const std::string& where, const std::string& key, double min,
                double max) const;
  // A scalar node read as a number within [min, max]; `what` names it in messages.
  double number(const YAML::Node& value, const std::string& what, double min, double max) const;
  // Every key of the map `section` is one of `known`.
  void only(const YAML::Node& section, const std::string& where, const std::vector<std::string>& known) const;

 private:
  std::string path_;
  YAML::Node root_;
};

}  // namespace tpu::sim
