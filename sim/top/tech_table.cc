#include "sim/top/tech_table.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string_view>

#include "isa/text.h"
#include "sim/base/config.h"

namespace tpu::sim {

namespace {

std::string dotted(const std::string& where, const std::string& key) { return where.empty() ? key : where + "." + key; }

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// yaml-cpp keeps both entries of a key given twice in one map, and a lookup
// finds the first, so the second would be ignored without a word.
void refuse_duplicate_keys(const TechTable& table, const YAML::Node& node, const std::string& where) {
  if (node.IsSequence()) {
    for (const auto& item : node) refuse_duplicate_keys(table, item, where);
    return;
  }
  if (!node.IsMap()) return;
  std::map<std::string, YAML::Mark> first;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;  // only() refuses it, with the section's name
    const std::string key = kv.first.Scalar();
    const auto [seen, fresh] = first.emplace(key, kv.first.Mark());
    if (!fresh)
      throw ConfigError(table.at(kv.first) + ": " + dotted(where, key) + ": given twice (first at line " +
                        std::to_string(seen->second.line + 1) + ")");
    refuse_duplicate_keys(table, kv.second, dotted(where, key));
  }
}

}  // namespace

TechTable::TechTable(const std::string& path) : path_(path) {
  try {
    root_ = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConfigError(path + ": cannot open the table");
  } catch (const YAML::ParserException& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  if (!root_.IsMap()) throw ConfigError(path + ": expected a map of settings");
  refuse_duplicate_keys(*this, root_, "");
}

std::string TechTable::at(const YAML::Node& node) const {
  const YAML::Mark m = node.Mark();
  if (m.line < 0) return path_;
  return path_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

YAML::Node TechTable::section(const YAML::Node& parent, const std::string& where, const std::string& key) const {
  const YAML::Node n = parent[key];
  if (!n) throw ConfigError(at(parent) + ": " + dotted(where, key) + ": missing");
  if (!n.IsMap()) throw ConfigError(at(n) + ": " + dotted(where, key) + ": expected a map of settings");
  return n;
}

double TechTable::number(const YAML::Node& section, const std::string& where, const std::string& key, double min,
                         double max) const {
  const YAML::Node n = section[key];
  if (!n) throw ConfigError(at(section) + ": " + dotted(where, key) + ": missing");
  return number(n, dotted(where, key), min, max);
}

double TechTable::number(const YAML::Node& value, const std::string& what, double min, double max) const {
  if (!value.IsScalar()) throw ConfigError(at(value) + ": " + what + ": expected a number");
  const std::string& text = value.Scalar();
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(d))
    throw ConfigError(at(value) + ": " + what + ": expected a number, got '" + text + "'");
  if (d < min || d > max)
    throw ConfigError(at(value) + ": " + what + ": " + text + " is out of range (" + number_text(min) + " to " +
                      number_text(max) + ")");
  return d;
}

void TechTable::only(const YAML::Node& section, const std::string& where, const std::vector<std::string>& known) const {
  std::vector<std::string_view> views(known.begin(), known.end());
  for (const auto& kv : section) {
    if (!kv.first.IsScalar()) throw ConfigError(at(kv.first) + ": " + where + ": a key must be a plain name");
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw ConfigError(at(kv.first) + ": " + dotted(where, key) + ": unknown key" + isa::did_you_mean(key, views));
  }
}

}  // namespace tpu::sim
