#include "tools/sweep/runner.h"


#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "isa/program.h"
#include "sim/base/config.h"
#include "sim/base/params.h"
#include "sim/top/chip.h"
#include "sim/top/energy.h"
#include "sim/top/results.h"
#include "tools/report/workload.h"
#include "tools/sweep/task_pool.h"

namespace tpu::sweep {

namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) { return isa::read_file(path); }

report::Workload workload_of(const WorkloadRef& ref) {
  if (!ref.file.empty()) return report::load_workload(ref.file);
  report::Workload w;
  w.model = ref.model;
  w.batch = ref.batch;
  w.name = ref.name;
  return w;
}

const std::string& workload_id(const WorkloadRef& ref) { return ref.id; }

// What a run's result depends on besides the build: the workload's files, and the point's resolved
// configuration with the contents of the tables it names (a point whose configuration is invalid is
// named by its values).
std::string workload_identity(const WorkloadRef& w) {
  std::string what = w.id + "\n" + read_text(w.file.empty() ? w.model : w.file) + "\n";
  if (!w.file.empty()) what += read_text(report::load_workload(w.file).model);
  return what;
}
std::string point_identity(const SweepSpec& spec, const Point& p) {
  std::string what = spec.timing_only ? "timing\n" : "values\n";
  try {
    std::vector<TableCopy> copies;
    const sim::ChipParams params = point_params(spec, p, &copies);
    nlohmann::json j;
    sim::to_json(j, params);
    // The tables by their contents, not where they are (a point's own copy lives in the cache and
    // may not be written yet).
    j["energy"].erase("table");
    j["energy"].erase("area_table");
    what += j.dump();
    for (const std::string& table : {params.energy.table, params.energy.area_table}) {
      const auto copy = std::find_if(copies.begin(), copies.end(), [&](const TableCopy& c) { return c.file == table; });
      what += copy != copies.end() ? copy->text : read_text(table);
    }
  } catch (const std::exception&) {
    for (const auto& [key, value] : p.values) what += "\n" + key + "=" + value;
  }
  return what;
}


struct Run {
  const Point* point;
  size_t workload;
  std::string record;  // its file
};

// The child's work: one run, its record written atomically.
void run_child(const SweepSpec& spec, const Run& run) {
  nlohmann::json rec;
  rec["point"] = run.point->index;
  rec["workload"] = workload_id(spec.workloads[run.workload]);
  rec["values"] = nlohmann::json::object();
  for (const auto& [key, value] : run.point->values) rec["values"][key] = value;
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  try {
    std::vector<TableCopy> tables;
    const sim::ChipParams params = point_params(spec, *run.point, &tables);
    for (const TableCopy& t : tables) write_table(t);
    sim::to_json(rec["config"], params);
    const report::Workload w = workload_of(spec.workloads[run.workload]);
    const isa::Program program = report::workload_program(w, params, spec.timing_only);
    sim::RunOptions options;
    options.compute_values = !spec.timing_only;
    sim::Chip chip(params, program, options);
    if (!spec.timing_only)
      for (const auto& [name, bytes] : report::workload_inputs(w, program)) chip.set_input(name, bytes);
    const auto s0 = std::chrono::steady_clock::now();
    const sim::RunOutcome outcome = chip.run();
    rec["simulate_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    const sim::EnergyModel model = sim::load_energy_model(params);
    const sim::EnergyReport energy = sim::price(model, params, outcome.stats, outcome.cycles);
    const nlohmann::json result = sim::to_json(sim::RunRecord{outcome, params, program, energy, {}, &model});
    rec["status"] = result["status"];
    if (outcome.fault) {
      rec["reason"] = result["fault"]["reason"];
      status = 3;
    }
    rec["metrics"] = nlohmann::json::object();
    for (const auto& [name, path] : spec.metrics) {
      const std::optional<nlohmann::json> figure = at_path(result, path);
      rec["metrics"][name] = figure ? *figure : nlohmann::json();
      if (!figure && !outcome.fault) {
        rec["status"] = "failed";
        rec["reason"] = spec.where.at("metric " + name) + ": metrics." + name + ": the run's JSON has no figure at '" +
                        path + "'";
        rec["bad_metric"] = name;
        status = 1;
      }
    }
  } catch (const sim::ConfigError& e) {
    rec["status"] = "failed";
    rec["reason"] = std::string("configuration: ") + e.what();
    status = 2;
  } catch (const std::exception& e) {
    rec["status"] = "failed";
    rec["reason"] = e.what();
    status = 1;
  }
  rec["exit_status"] = status;
  rec["build"] = report::build_identity();
  rec["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  isa::write_file_atomically(run.record, rec.dump(1) + "\n");
}

// The identity of a sweep definition: its file's text and the build. (What each run depends on
// beyond that names its record: workload_identity and point_identity.)
std::string fingerprint(const SweepSpec& spec) {
  return report::hex(report::fnv1a(read_text(spec.path), report::fnv1a(report::build_identity())));
}

std::string csv_field(const nlohmann::json& v) {
  if (v.is_null()) return "";
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

nlohmann::json value_of(const Point& p, const std::string& key) {
  for (const auto& [k, v] : p.values)
    if (k == key) return v;
  return nullptr;
}

// The value of each mean (and, for one workload, each metric) at each point, from the records; NaN
// where a run failed or a figure is missing.
std::vector<std::map<std::string, double>> point_values(const SweepSpec& spec, const std::vector<Run>& runs) {
  const size_t nw = spec.workloads.size();
  std::vector<std::map<std::string, double>> out(runs.size() / std::max<size_t>(1, nw));
  for (size_t p = 0; p < out.size(); ++p) {
    std::map<std::string, std::vector<double>> by_metric;  // per workload
    for (size_t w = 0; w < nw; ++w) {
      const Run& r = runs[p * nw + w];
      const nlohmann::json rec = nlohmann::json::parse(read_text(r.record), nullptr, false);
      for (const auto& [name, path] : spec.metrics) {
        const nlohmann::json v = rec.is_discarded() || rec.value("exit_status", 1) != 0 || !rec.contains("metrics")
                                     ? nlohmann::json()
                                     : rec["metrics"].value(name, nlohmann::json());
        by_metric[name].push_back(v.is_number() ? v.get<double>() : NAN);
      }
    }
    if (nw == 1)
      for (const auto& [name, values] : by_metric) out[p][name] = values[0];
    for (const SweepSpec::Mean& m : spec.means) {
      const std::vector<double>& v = by_metric[m.metric];
      double sum = 0, weights = 0;
      for (size_t w = 0; w < nw; ++w) {
        const double weight = m.kind == SweepSpec::Mean::Kind::weighted ? m.weights[w] : 1.0;
        if (weight == 0) continue;
        sum += weight * (m.kind == SweepSpec::Mean::Kind::geometric ? (v[w] > 0 ? std::log(v[w]) : NAN) : v[w]);
        weights += weight;
      }
      out[p][m.name] = m.kind == SweepSpec::Mean::Kind::geometric ? std::exp(sum / weights) : sum / weights;
    }
  }
  return out;
}

std::string number_field(double v) {
  if (std::isnan(v)) return "";
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

// means.csv (a row per point) and pareto.csv (the points no other point beats on every objective).
void write_means_and_front(const SweepSpec& spec, const std::vector<Run>& runs, const std::vector<std::string>& axes,
                           const std::string& dir) {
  const std::vector<std::map<std::string, double>> values = point_values(spec, runs);
  const size_t nw = std::max<size_t>(1, spec.workloads.size());
  auto head = [&](const std::vector<std::string>& columns) {
    std::string h = "point";
    for (const std::string& a : axes) h += "," + a;
    for (const std::string& c : columns) h += "," + c;
    return h + "\n";
  };
  auto row = [&](size_t p, const std::vector<std::string>& columns) {
    std::string line = std::to_string(p);
    for (const std::string& a : axes) line += "," + csv_field(value_of(*runs[p * nw].point, a));
    for (const std::string& c : columns) line += "," + number_field(values[p].at(c));
    return line + "\n";
  };
  if (!spec.means.empty()) {
    std::vector<std::string> names;
    for (const SweepSpec::Mean& m : spec.means) names.push_back(m.name);
    std::string csv = head(names);
    for (size_t p = 0; p < values.size(); ++p) csv += row(p, names);
    isa::write_file_atomically(dir + "/means.csv", csv);
  }
  if (spec.minimize.empty() && spec.maximize.empty()) return;
  std::vector<std::string> objectives = spec.minimize;
  objectives.insert(objectives.end(), spec.maximize.begin(), spec.maximize.end());
  // Larger is better after turning each minimized objective around.
  auto score = [&](size_t p, size_t k) {
    const double v = values[p].at(objectives[k]);
    return k < spec.minimize.size() ? -v : v;
  };
  auto complete = [&](size_t p) {
    for (size_t k = 0; k < objectives.size(); ++k)
      if (std::isnan(score(p, k))) return false;
    return true;
  };
  std::string csv = head(objectives);
  for (size_t p = 0; p < values.size(); ++p) {
    if (!complete(p)) continue;
    bool dominated = false;
    for (size_t q = 0; q < values.size() && !dominated; ++q) {
      if (q == p || !complete(q)) continue;
      bool no_worse = true, better = false;
      for (size_t k = 0; k < objectives.size(); ++k) {
        no_worse = no_worse && score(q, k) >= score(p, k);
        better = better || score(q, k) > score(p, k);
      }
      dominated = no_worse && better;
    }
    if (!dominated) csv += row(p, objectives);
  }
  isa::write_file_atomically(dir + "/pareto.csv", csv);
}

// results.jsonl and results.csv from the records, in point order, without what varies between reruns.
void aggregate(const SweepSpec& spec, const std::vector<Run>& runs, const std::string& dir) {
  std::string jsonl, csv = "point,workload,status";
  std::vector<std::string> axes;
  if (!runs.empty())
    for (const auto& [key, value] : runs.front().point->values) axes.push_back(key);
  for (const std::string& a : axes) csv += "," + a;
  for (const auto& [name, path] : spec.metrics) csv += "," + name;
  csv += ",reason\n";
  for (const Run& r : runs) {
    if (!finished(r.record)) continue;
    nlohmann::json rec = nlohmann::json::parse(read_text(r.record));
    rec.erase("wall_seconds");
    rec.erase("simulate_seconds");
    rec.erase("config");  // in the record; the axes say what differs
    jsonl += rec.dump() + "\n";
    csv += std::to_string(rec["point"].get<uint64_t>()) + "," + csv_field(rec["workload"]) + "," + csv_field(rec["status"]);
    for (const std::string& a : axes) csv += "," + csv_field(rec["values"].value(a, nlohmann::json()));
    for (const auto& [name, path] : spec.metrics)
      csv += "," + csv_field(rec.contains("metrics") ? rec["metrics"].value(name, nlohmann::json()) : nlohmann::json());
    csv += "," + csv_field(rec.value("reason", nlohmann::json())) + "\n";
  }
  isa::write_file_atomically(dir + "/results.jsonl", jsonl);
  isa::write_file_atomically(dir + "/results.csv", csv);
  write_means_and_front(spec, runs, axes, dir);
}

// Each run's record is named by its point, its workload and the hash of what it runs.
std::vector<Run> plan(const SweepSpec& spec, const std::vector<Point>& points, const std::string& dir) {
  const std::string id = fingerprint(spec);
  std::vector<Run> runs;
  std::vector<std::string> workloads;  // each read once
  for (const WorkloadRef& w : spec.workloads) workloads.push_back(workload_identity(w));
  for (const Point& p : points) {
    const std::string chip = point_identity(spec, p);
    for (size_t w = 0; w < spec.workloads.size(); ++w) {
      const std::string what = id + "\n" + workloads[w] + chip;
      char name[64];
      std::snprintf(name, sizeof name, "/runs/p%06zu-w%02zu-", p.index, w);
      runs.push_back({&p, w, dir + name + report::hex(report::fnv1a(what)) + ".json"});
    }
  }
  return runs;
}

}  // namespace

std::vector<size_t> missing_runs(const SweepSpec& spec, const std::vector<Point>& points, const std::string& out_dir) {
  std::vector<size_t> missing;
  const std::vector<Run> runs = plan(spec, points, out_dir);
  for (size_t i = 0; i < runs.size(); ++i)
    if (!finished(runs[i].record)) missing.push_back(i);
  return missing;
}

bool claim_directory(const SweepSpec& spec, const std::string& dir) {
  const bool created = !fs::exists(dir);
  fs::create_directories(dir + "/runs");
  const std::string mark = dir + "/sweep.json";
  const std::string id = fingerprint(spec);
  if (fs::exists(mark)) {
    const nlohmann::json m = nlohmann::json::parse(read_text(mark), nullptr, false);
    if (m.is_discarded() || m.value("fingerprint", "") != id)
      throw SweepError(dir + " holds the results of another sweep definition (" +
                       (m.is_discarded() ? std::string("unreadable sweep.json") : m.value("file", std::string("?"))) +
                       ", or an edited file, base configuration or tpusim build); give another --out or remove it");
  } else {
    isa::write_file_atomically(
        mark, nlohmann::json{{"name", spec.name}, {"file", fs::absolute(spec.path).lexically_normal().string()},
                             {"fingerprint", id}}
                      .dump(1) +
                  "\n");
  }
  return created;
}

SweepOutcome run_local(const SweepSpec& spec, const std::vector<Point>& points, const LocalRunOptions& o) {
  const std::string dir = o.out_dir;
  const std::vector<size_t> mine =  // before any file
      shard_positions(points.size() * spec.workloads.size(), o.shard, o.shards, o.runs_file);
  const bool created = claim_directory(spec, dir);
  const std::vector<Run> runs = plan(spec, points, dir);
  std::vector<Task> tasks;
  for (const Run& r : runs) {
    const std::string workload = workload_id(spec.workloads[r.workload]);
    nlohmann::json crash{{"point", r.point->index}, {"workload", workload}, {"values", nlohmann::json::object()}};
    for (const auto& [key, value] : r.point->values) crash["values"][key] = value;
    tasks.push_back({r.record, "point " + std::to_string(r.point->index) + ", " + fs::path(workload).filename().string(), crash});
  }
  // A metric path that a run which ran to its end does not have is a mistake in the sweep file:
  // stop at the first such run, keeping nothing of this start of a new directory (and nothing of
  // a shard's: other shards write into it).
  bool stopped = false;
  const auto bad_metric = [&](const nlohmann::json& rec) -> std::string {
    if (!rec.contains("bad_metric")) return "";
    stopped = true;
    return rec["reason"].get<std::string>() + " (the first run that ran to its end)";
  };
  PoolOutcome p;
  try {
    p = run_tasks(tasks, mine, o.aggregate_only, {o.jobs, o.progress}, [&](size_t i) { run_child(spec, runs[i]); },
                  bad_metric);
  } catch (const SweepError&) {
    if (stopped && created && o.shards == 1 && o.runs_file.empty()) fs::remove_all(dir);  // the runs are gone
    throw;
  }
  if (o.shards == 1 && o.runs_file.empty()) aggregate(spec, runs, dir);
  return {p.runs, p.reused, p.ran, p.failed, p.missing};
}

void run_study(const SweepSpec& spec, const std::vector<Point>& points, const std::string& out_dir, int jobs) {
  try {
    claim_directory(spec, out_dir);
  } catch (const SweepError&) {
    fs::remove_all(out_dir);
  }
  LocalRunOptions o;
  o.out_dir = out_dir;
  o.jobs = jobs;
  o.progress = false;
  const SweepOutcome outcome = run_local(spec, points, o);
  if (outcome.failed > 0)
    throw SweepError(out_dir + ": " + std::to_string(outcome.failed) + " of " + std::to_string(outcome.runs) +
                     " runs failed; a study needs every run (see " + out_dir + "/results.csv)");
}

std::optional<nlohmann::json> at_path(const nlohmann::json& j, const std::string& path) {
  const nlohmann::json* node = &j;
  size_t from = 0;
  for (;;) {
    const size_t dot = path.find('.', from);
    const std::string key = path.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
    if (!node->is_object() || !node->contains(key)) return std::nullopt;
    node = &(*node)[key];
    if (dot == std::string::npos) return *node;
    from = dot + 1;
  }
}

std::vector<nlohmann::json> read_results(const std::string& out_dir) {
  std::vector<nlohmann::json> runs;
  std::istringstream lines(read_text(out_dir + "/results.jsonl"));
  for (std::string line; std::getline(lines, line);) runs.push_back(nlohmann::json::parse(line));
  return runs;
}

int default_jobs() { return static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN))); }

}  // namespace tpu::sweep
