#include "tools/sweep/table_axes.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string_view>

#include "isa/program.h"
#include "isa/text.h"
#include "tools/report/workload.h"
#include "tools/sweep/expr.h"
#include "tools/sweep/sweep_spec.h"

namespace tpu::sweep {

namespace {

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  for (size_t from = 0;;) {
    const size_t dot = path.find('.', from);
    parts.push_back(path.substr(from, dot == std::string::npos ? std::string::npos : dot - from));
    if (dot == std::string::npos) return parts;
    from = dot + 1;
  }
}

// Every scalar reachable through maps, by dotted path.
void leaves(const YAML::Node& n, const std::string& prefix, std::vector<std::string>* out) {
  if (n.IsScalar()) out->push_back(prefix);
  if (!n.IsMap()) return;
  for (const auto& kv : n) leaves(kv.second, prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar(), out);
}

YAML::Node load(const std::string& file) {
  try {
    return YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    throw SweepError(file + ": cannot read the table (" + e.what() + ")");
  }
}

}  // namespace

std::optional<TableEntry> table_entry(const std::string& axis) {
  for (const char* key : {"energy.table.", "energy.area_table."}) {
    const std::string prefix = key;
    if (axis.size() > prefix.size() && axis.compare(0, prefix.size(), prefix) == 0)
      return TableEntry{prefix.substr(0, prefix.size() - 1), axis.substr(prefix.size())};
  }
  return std::nullopt;
}

std::string check_table_entry(const std::string& table_file, const std::string& path) {
  YAML::Node node = load(table_file);
  for (const std::string& part : split(path)) {
    if (!node.IsMap() || !node[part]) {
      node = YAML::Node();
      break;
    }
    node.reset(node[part]);
  }
  if (node && node.IsScalar() && parse_number(node.Scalar())) return "";
  std::vector<std::string> all;
  leaves(load(table_file), "", &all);
  std::vector<std::string_view> views(all.begin(), all.end());
  return "'" + path + "' is not a number of " + table_file + isa::did_you_mean(path, views);
}

TableCopy table_with(const std::string& table_file, const std::vector<std::pair<std::string, std::string>>& entries) {
  YAML::Node root = load(table_file);
  for (const auto& [path, value] : entries) {
    // The table the point names (another axis may choose it) must have the entry, and the value be a number.
    if (const std::string problem = check_table_entry(table_file, path); !problem.empty()) throw SweepError(problem);
    if (!parse_number(value)) throw SweepError("'" + path + "' of " + table_file + ": '" + value + "' is not a number");
    const std::vector<std::string> parts = split(path);
    YAML::Node node = root;
    for (size_t i = 0; i + 1 < parts.size(); ++i) node.reset(node[parts[i]]);
    node[parts.back()] = value;
  }
  YAML::Emitter out;
  out << root;
  TableCopy copy;
  copy.text = std::string(out.c_str()) + "\n";
  std::string dir = report::cache_dir();
  if (dir.empty()) dir = (std::filesystem::temp_directory_path() / "tpusim").string();
  copy.file = dir + "/tables/" + report::hex(report::fnv1a(copy.text)) + ".yaml";
  return copy;
}

void write_table(const TableCopy& copy) {
  if (isa::read_file(copy.file) == copy.text) return;
  std::filesystem::create_directories(std::filesystem::path(copy.file).parent_path());
  isa::write_file_atomically(copy.file, copy.text);
}

}  // namespace tpu::sweep
