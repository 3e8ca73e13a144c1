#include "sim/base/config.h"

#include <fstream>
#include <set>
#include <sstream>

namespace tpu::sim {

namespace {

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::string where(const std::string& file, const YAML::Mark& mark) {
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

YAML::Node parse_yaml(const std::string& text, const std::string& file) {
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(where(file, e.mark) + ": YAML syntax error: " + e.msg);
  }
  if (node.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!node.IsMap()) throw ConfigError(file + ": expected a map of settings at the top level");
  return node;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError(path + ": cannot open the configuration file");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

Config Config::load(const std::string& path) {
  std::vector<std::string> chain;  // this file first, then its bases
  std::vector<YAML::Node> docs;
  std::set<std::string> seen;
  for (std::string file = path;;) {
    if (!seen.insert(file).second) throw ConfigError(file + ": `base` files form a cycle");
    YAML::Node doc = parse_yaml(read_file(file), file);
    chain.push_back(file);
    docs.push_back(doc);
    const YAML::Node base = doc["base"];
    if (!base) break;
    if (!base.IsScalar()) throw ConfigError(where(file, base.Mark()) + ": base: expected a file name");
    const std::string name = base.as<std::string>();
    file = !name.empty() && name[0] == '/' ? name : directory_of(file) + name;
  }
  Config config;
  config.top_origin_ = path;
  for (size_t i = chain.size(); i-- > 0;) {
    YAML::Node doc = docs[i];
    doc.remove("base");
    config.merge(doc, config.root_, "", chain[i]);
  }
  return config;
}

Config Config::parse(const std::string& yaml, const std::string& origin) {
  Config config;
  config.top_origin_ = origin;
  config.merge(parse_yaml(yaml, origin), config.root_, "", origin);
  return config;
}

void Config::merge(const YAML::Node& from, YAML::Node into, const std::string& prefix, const std::string& file) {
  for (const auto& kv : from) {
    const std::string key = kv.first.as<std::string>();
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    const YAML::Node value = kv.second;
    if (value.IsMap()) {
      if (!into[key] || !into[key].IsMap()) into[key] = YAML::Node(YAML::NodeType::Map);
      origins_[path] = where(file, kv.first.Mark());
      merge(value, into[key], path, file);
    } else {
      into[key] = YAML::Clone(value);
      origins_[path] = where(file, value.Mark());
    }
  }
}

void Config::set(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set " + assignment + ": expected PATH=VALUE, e.g. matrix_unit.rows=128");
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError("--set " + assignment + ": cannot read the value: " + e.msg);
  }
  std::vector<std::string> keys;
  for (size_t start = 0;;) {
    const size_t dot = path.find('.', start);
    keys.push_back(path.substr(start, dot - start));
    if (keys.back().empty()) throw ConfigError("--set " + assignment + ": empty key in '" + path + "'");
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  YAML::Node node = root_;
  std::string walked;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    walked += (walked.empty() ? "" : ".") + keys[i];
    YAML::Node child = node[keys[i]];
    if (!child) {
      node[keys[i]] = YAML::Node(YAML::NodeType::Map);
      child = node[keys[i]];
    } else if (!child.IsMap()) {
      throw ConfigError("--set " + assignment + ": '" + walked + "' is a value, not a section");
    }
    node.reset(child);  // rebind; plain assignment would overwrite the parent's contents
  }
  node[keys.back()] = value;
  origins_[path] = "--set " + assignment;
}

std::string Config::origin(const std::string& path) const {
  // The nearest recorded ancestor: a value inside a --set map, or a key in a file.
  for (std::string p = path;;) {
    const auto it = origins_.find(p);
    if (it != origins_.end()) return it->second;
    const size_t dot = p.find_last_of('.');
    if (dot == std::string::npos) return top_origin_;
    p = p.substr(0, dot);
  }
}

}  // namespace tpu::sim
