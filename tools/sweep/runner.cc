#include "tools/sweep/runner.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <csignal>
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

// A record that is there, whole, and not of a run that died: a crashed run is run again.
bool finished(const std::string& record) {
  if (!fs::exists(record)) return false;
  const nlohmann::json rec = nlohmann::json::parse(read_text(record), nullptr, false);
  return !rec.is_discarded() && rec.value("status", "") != "crashed";
}

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

// The child's work: one run, its record written atomically. Never returns.
[[noreturn]] void run_child(const SweepSpec& spec, const Run& run, pid_t parent) {
  // A sweep killed (even with SIGKILL) takes its runs with it, so none writes a record after it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(6);
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
  try {
    isa::write_file_atomically(run.record, rec.dump(1) + "\n");
  } catch (...) {
    _exit(5);
  }
  std::cout.flush();
  _exit(0);
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

namespace {

// The positions of the runs a shard takes: every N-th of all runs, or of those a runs file lists.
std::vector<size_t> shard_positions(size_t total, const LocalRunOptions& o) {
  std::vector<size_t> listed;
  if (o.runs_file.empty()) {
    for (size_t i = 0; i < total; ++i) listed.push_back(i);
  } else {
    if (!fs::is_regular_file(o.runs_file)) throw SweepError(o.runs_file + ": no such runs file");
    std::istringstream lines(read_text(o.runs_file));
    std::set<size_t> seen;
    size_t line_no = 0;
    for (std::string line; std::getline(lines, line);) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      char* end = nullptr;
      const unsigned long long v = std::strtoull(line.c_str(), &end, 10);
      const std::string where = o.runs_file + ":" + std::to_string(line_no) + ": '" + line + "' ";
      if (line.empty() || *end != '\0' || v >= total)
        throw SweepError(where + "is not the position of a run of this sweep (" +
                         (total == 0 ? std::string("it has none") : "0 to " + std::to_string(total - 1)) + ")");
      if (!seen.insert(static_cast<size_t>(v)).second) throw SweepError(where + "is listed twice");
      listed.push_back(static_cast<size_t>(v));
    }
  }
  std::vector<size_t> mine;
  for (size_t j = 0; j < listed.size(); ++j)
    if (static_cast<int>(j % static_cast<size_t>(o.shards)) == o.shard) mine.push_back(listed[j]);
  return mine;
}

}  // namespace

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
  const std::vector<size_t> mine = shard_positions(points.size() * spec.workloads.size(), o);  // before any file
  const bool created = claim_directory(spec, dir);
  const std::vector<Run> runs = plan(spec, points, dir);
  SweepOutcome out;
  std::vector<const Run*> todo;
  for (const size_t i : mine) {
    ++out.runs;
    if (finished(runs[i].record)) {
      ++out.reused;
    } else if (!o.aggregate_only) {
      todo.push_back(&runs[i]);
      ++out.ran;
    } else {
      ++out.missing;
    }
  }
  const bool tty = o.progress && isatty(STDERR_FILENO);
  std::map<pid_t, const Run*> running;
  size_t next = 0, completed = 0, failures = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::cout.flush();
  std::cerr.flush();
  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && running.size() < static_cast<size_t>(std::max(1, o.jobs))) {
      const Run* r = todo[next++];
      const pid_t parent = getpid();
      const pid_t pid = fork();
      if (pid < 0) throw SweepError("cannot start a process for point " + std::to_string(r->point->index));
      if (pid == 0) run_child(spec, *r, parent);
      running[pid] = r;
    }
    int wstatus = 0;
    const pid_t pid = waitpid(-1, &wstatus, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) throw SweepError(std::string("waiting for the runs: ") + std::strerror(errno));
    const Run* r = running.at(pid);
    running.erase(pid);
    ++completed;
    if (!fs::exists(r->record)) {
      // The process died before writing its record: record why, so the sweep goes on.
      nlohmann::json rec{{"point", r->point->index}, {"workload", workload_id(spec.workloads[r->workload])},
                         {"status", "crashed"}, {"exit_status", 4},
                         {"reason", WIFSIGNALED(wstatus) ? "the run was killed by signal " + std::to_string(WTERMSIG(wstatus))
                                                         : "the run exited with status " + std::to_string(WEXITSTATUS(wstatus))}};
      rec["values"] = nlohmann::json::object();
      for (const auto& [key, value] : r->point->values) rec["values"][key] = value;
      isa::write_file_atomically(r->record, rec.dump(1) + "\n");
    }
    {
      const nlohmann::json rec = nlohmann::json::parse(read_text(r->record), nullptr, false);
      failures += rec.is_discarded() || rec.value("exit_status", 1) != 0;
      // A metric path that a run which ran to its end does not have is a mistake in the sweep file:
      // stop at the first such run, keeping nothing of this start of a new directory.
      if (!rec.is_discarded() && rec.contains("bad_metric")) {
        for (const auto& [child, run] : running) kill(child, SIGKILL);
        while (!running.empty()) {
          if (waitpid(-1, nullptr, 0) > 0 || errno != EINTR) running.erase(running.begin());
        }
        const std::string reason = rec["reason"];
        // Only a directory this sweep made, and not a shard's (other shards write into it).
        if (created && o.shards == 1 && o.runs_file.empty()) fs::remove_all(dir);
        throw SweepError(reason + " (the first run that ran to its end)");
      }
    }
    if (o.progress) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double rate = completed / std::max(s, 1e-9);
      const double eta = (todo.size() - completed) / std::max(rate, 1e-9);
      char line[200];
      std::snprintf(line, sizeof line, "%s[%zu/%zu] %zu failed; point %zu, %s  %.1f runs/s, %.0f s left%s",
                    tty ? "\r" : "", completed, todo.size(), failures, r->point->index,
                    fs::path(workload_id(spec.workloads[r->workload])).filename().c_str(), rate, eta, tty ? "\033[K" : "");
      std::cerr << line << (tty ? "" : "\n") << std::flush;
    }
  }
  if (tty) std::cerr << "\n";
  for (const size_t i : mine) {
    if (!fs::exists(runs[i].record)) continue;  // missing (aggregate_only)
    const nlohmann::json rec = nlohmann::json::parse(read_text(runs[i].record), nullptr, false);
    if (rec.is_discarded() || rec.value("exit_status", 1) != 0) ++out.failed;
  }
  if (o.shards == 1 && o.runs_file.empty()) aggregate(spec, runs, dir);
  return out;
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
