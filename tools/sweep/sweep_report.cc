#include "tools/sweep/sweep_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "isa/program.h"
#include "tools/sweep/sweep_spec.h"

namespace tpu::sweep {

namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) { return isa::read_file(path); }

std::optional<double> number(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

// A run's metric, or null when the run has none.
nlohmann::json metric_of(const nlohmann::json& run, const std::string& name) {
  const auto m = run.find("metrics");
  if (m == run.end() || !m->is_object()) return nullptr;
  return m->value(name, nlohmann::json());
}

// A file name from a key or metric.
std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

// Text in a gnuplot string (the terminal draws plain text, not enhanced).
std::string gnuplot_text(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '"' ? std::string("\\\"") : c == '\\' ? std::string("\\\\") : std::string(1, c);
  return out;
}

// Draws `script` (which writes its own output) with gnuplot.
void draw(const std::string& script_path) {
  const std::string cmd = "gnuplot " + script_path + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) throw SweepError("cannot run gnuplot (install gnuplot-nox)");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  if (pclose(pipe) != 0) throw SweepError("gnuplot failed on " + script_path + ": " + out);
}

struct Series {
  std::string title;
  std::vector<std::pair<double, double>> points;
  std::string style = "with points pointsize 1.2";
};

// One chart of series of (x, y) points, false (and nothing drawn) when there are none; a log x axis
// (base 2) when the values span a decade.
bool chart(const std::string& dir, const std::string& name, const std::string& xlabel, const std::string& ylabel,
           const std::vector<Series>& series) {
  size_t points = 0;
  for (const Series& one : series) points += one.points.size();
  if (points == 0) return false;
  std::string data;
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& one : series) {
    for (const auto& [x, y] : one.points) {
      char line[96];
      std::snprintf(line, sizeof line, "%.17g %.17g\n", x, y);
      data += line;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    data += "\n\n";
  }
  isa::write_file_atomically(dir + "/" + name + ".dat", data);
  std::string gp = "set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'\nset output '" + dir + "/" +
                   name + ".svg'\nset grid\nset key outside right top font ',10'\nset xlabel \"" + gnuplot_text(xlabel) +
                   "\"\nset ylabel \"" + gnuplot_text(ylabel) + "\"\n";
  if (lo > 0 && hi / lo >= 10) gp += "set logscale x 2\n";
  gp += "plot ";
  for (size_t i = 0; i < series.size(); ++i)
    gp += std::string(i ? ", " : "") + "'" + dir + "/" + name + ".dat' index " + std::to_string(i) + " " +
          series[i].style + " title \"" + gnuplot_text(series[i].title) + "\"";
  gp += "\n";
  isa::write_file_atomically(dir + "/" + name + ".gp", gp);
  draw(dir + "/" + name + ".gp");
  return true;
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    rows.emplace_back();
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) rows.back().push_back(cell);
  }
  return rows;
}

// A Markdown table cell: its own '|' and line breaks would end it.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : c == '\n' ? std::string("<br>") : std::string(1, c);
  return out;
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return "";
  std::string md = "|";
  for (const std::string& h : rows[0]) md += " " + h + " |";
  md += "\n|";
  for (size_t i = 0; i < rows[0].size(); ++i) md += "---|";
  md += "\n";
  for (size_t r = 1; r < rows.size(); ++r) {
    md += "|";
    for (const std::string& c : rows[r]) md += " " + cell(c) + " |";
    md += "\n";
  }
  return md;
}

}  // namespace

std::string write_sweep_report(const std::string& dir) {
  const nlohmann::json mark = nlohmann::json::parse(read_text(dir + "/sweep.json"), nullptr, false);
  if (mark.is_discarded() || !mark.contains("file"))
    throw SweepError(dir + ": not a sweep's results directory (no sweep.json); run tpusim sweep first");
  const SweepSpec spec = load_sweep(mark["file"].get<std::string>());
  std::vector<nlohmann::json> runs;  // as results.jsonl has them
  std::istringstream lines(read_text(dir + "/results.jsonl"));
  for (std::string line; std::getline(lines, line);) runs.push_back(nlohmann::json::parse(line));
  if (runs.empty()) throw SweepError(dir + ": no results yet (results.jsonl is empty)");
  const std::string charts = dir + "/charts";
  fs::create_directories(charts);

  std::ostringstream md;
  size_t failed = 0;
  for (const auto& r : runs) failed += r.value("exit_status", 1) != 0;
  md << "# Sweep " << spec.name << "\n\n" << runs.size() << " runs (" << runs.size() / spec.workloads.size()
     << " points x " << spec.workloads.size() << " workload" << (spec.workloads.size() == 1 ? "" : "s") << "), "
     << failed << " failed, on `" << fs::path(spec.config).filename().string() << "`"
     << (spec.timing_only ? ", timing only" : ", with values") << ". Generated by `tpusim report sweep " << dir
     << "` from the run records.\n\n";

  // The swept axes with numeric values (derived keys follow them, so they are not axes of their own).
  const auto is_derived = [&](const std::string& key) {
    return std::any_of(spec.derived.begin(), spec.derived.end(), [&](const auto& d) { return d.first == key; });
  };
  std::vector<std::string> declared;  // in the order the sweep file gives them
  for (const auto& [key, values] : spec.grid) declared.push_back(key);
  for (const auto& [key, values] : spec.zip) declared.push_back(key);
  if (!spec.points.empty())
    for (const auto& [key, value] : spec.points.front()) declared.push_back(key);
  for (const auto& [key, sampler] : spec.random) declared.push_back(key);
  std::vector<std::string> axes;
  for (const std::string& key : declared) {
    bool numeric = true;
    for (const auto& r : runs) numeric = numeric && number(r["values"].value(key, nlohmann::json())).has_value();
    if (numeric) axes.push_back(key);
  }
  md << "## Metrics against the axes\n\n";
  for (const std::string& axis : axes)
    for (const auto& [metric, path] : spec.metrics) {
      // A line per workload and setting of the other axes, in the order the runs come.
      std::vector<Series> series;
      std::map<std::string, size_t> index;
      for (const WorkloadRef& w : spec.workloads)
        for (const auto& r : runs) {
          if (r["workload"] != w.id || r.value("exit_status", 1) != 0) continue;
          const auto x = number(r["values"][axis]);
          const auto y = number(metric_of(r, metric));
          if (!x || !y) continue;
          std::string title = w.name;
          for (const auto& [other, value] : r["values"].items())
            if (other != axis && !is_derived(other)) title += ", " + other + "=" + value.get<std::string>();
          if (!index.count(title)) {
            index[title] = series.size();
            series.push_back({title, {}, "with linespoints pointsize 1.1"});
          }
          series[index[title]].points.emplace_back(*x, *y);
        }
      // Points that share no setting of the other keys (random samples, zipped axes) make one scatter
      // per workload instead of a line each.
      if (std::all_of(series.begin(), series.end(), [](const Series& one) { return one.points.size() <= 1; })) {
        std::vector<Series> scatter;
        for (const WorkloadRef& w : spec.workloads) {
          Series one{w.name, {}, "with points pointsize 1.1"};
          for (const Series& single : series)
            if (single.title == w.name || single.title.rfind(w.name + ", ", 0) == 0)
              one.points.insert(one.points.end(), single.points.begin(), single.points.end());
          scatter.push_back(one);
        }
        series = scatter;
      }
      for (Series& one : series) std::sort(one.points.begin(), one.points.end());
      const std::string name = slug(metric) + "_vs_" + slug(axis);
      if (chart(charts, name, axis, path == metric ? metric : metric + " (" + path + ")", series))
        md << "![" << metric << " against " << axis << "](charts/" << name << ".svg)\n\n";
      else
        md << "No run gives " << metric << " against " << axis << ".\n\n";
    }

  if (spec.minimize.size() + spec.maximize.size() >= 2 && fs::exists(dir + "/pareto.csv")) {
    std::vector<std::string> objectives = spec.minimize;
    objectives.insert(objectives.end(), spec.maximize.begin(), spec.maximize.end());
    const auto front = csv_rows(read_text(dir + "/pareto.csv"));
    md << "## Pareto front\n\nObjectives: "
       << (spec.minimize.empty() ? "" : "minimize " + [&] {
            std::string s;
            for (const auto& o : spec.minimize) s += (s.empty() ? "" : ", ") + o;
            return s;
          }())
       << (spec.maximize.empty() ? "" : std::string(spec.minimize.empty() ? "" : "; ") + "maximize " + [&] {
            std::string s;
            for (const auto& o : spec.maximize) s += (s.empty() ? "" : ", ") + o;
            return s;
          }())
       << ". The points no other point matches or beats on every objective:\n\n"
       << table(front) << "\n";
    // The first two objectives: every point, and the front.
    // The objectives of each point: means from means.csv, metrics of the one workload's runs that ran.
    std::map<std::string, std::pair<double, double>> all;
    const auto means = csv_rows(read_text(dir + "/means.csv"));
    const auto column = [&](const std::string& name) {
      for (size_t c = 0; !means.empty() && c < means[0].size(); ++c)
        if (means[0][c] == name) return c;
      return size_t{0};
    };
    const size_t ia = column(objectives[0]), ib = column(objectives[1]);
    for (size_t r = 1; ia > 0 && ib > 0 && r < means.size(); ++r)
      if (ia < means[r].size() && ib < means[r].size() && !means[r][ia].empty() && !means[r][ib].empty())
        all[means[r][0]] = {std::stod(means[r][ia]), std::stod(means[r][ib])};
    for (const auto& r : runs) {
      if (r.value("exit_status", 1) != 0) continue;
      const auto a = ia > 0 ? std::nullopt : number(metric_of(r, objectives[0]));
      const auto b = ib > 0 ? std::nullopt : number(metric_of(r, objectives[1]));
      if (a && b) all[std::to_string(r["point"].get<uint64_t>())] = {*a, *b};
    }
    std::vector<std::pair<double, double>> everything, best;
    for (const auto& [p, v] : all) everything.push_back(v);
    for (size_t r = 1; r < front.size(); ++r)
      if (all.count(front[r][0])) best.push_back(all.at(front[r][0]));
    std::sort(best.begin(), best.end());
    const std::string front_style = objectives.size() == 2 ? "with linespoints" : "with points";
    if (chart(charts, "pareto", objectives[0], objectives[1],
              {{"all points", everything, "with points pointtype 6 pointsize 1.2"},
               {"Pareto front" + std::string(objectives.size() > 2 ? " (of all objectives)" : ""), best,
                front_style + " pointtype 7 pointsize 1.2"}}))
      md << "![Pareto front](charts/pareto.svg)\n\n";
  }

  md << "## Failed runs\n\n";
  if (failed == 0) md << "None.\n\n";
  else {
    std::vector<std::vector<std::string>> rows{{"point", "workload", "status", "reason"}};
    for (const auto& r : runs)
      if (r.value("exit_status", 1) != 0)
        rows.push_back({std::to_string(r["point"].get<uint64_t>()), r["workload"].get<std::string>(),
                        r.value("status", ""), r.value("reason", "")});
    md << table(rows) << "\n";
  }
  md << "## The sweep\n\n`" << mark["file"].get<std::string>() << "`:\n\n```yaml\n" << read_text(spec.path) << "```\n";
  const std::string out = dir + "/report.md";
  isa::write_file_atomically(out, md.str());
  return out;
}

}  // namespace tpu::sweep
