#include "tools/continual/study_runner.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "isa/program.h"
#include "sim/base/config.h"
#include "tools/compiler/compiler.h"
#include "tools/continual/run.h"
#include "tools/report/workload.h"
#include "tools/sweep/runner.h"
#include "tools/sweep/sweep_spec.h"
#include "tools/train/export.h"

namespace tpu::continual {

namespace fs = std::filesystem;

namespace {

// What every result depends on: the study file, the model and chip files it names, and the build.
std::string fingerprint(const StudySpec& s) {
  uint64_t h = report::fnv1a(isa::read_file(s.file), report::fnv1a(report::build_identity()));
  h = report::fnv1a(isa::read_file(s.model), h);
  if (s.compress.on()) h = report::fnv1a(isa::read_file(s.compress.plan), h);
  return report::hex(report::fnv1a(isa::read_file(s.deploy.chip), h));
}

}  // namespace

void claim_study_directory(const StudySpec& spec, const std::string& dir) {
  fs::create_directories(dir + "/runs");
  const std::string mark = dir + "/study.json", id = fingerprint(spec);
  if (fs::exists(mark)) {
    const nlohmann::json m = nlohmann::json::parse(isa::read_file(mark), nullptr, false);
    if (m.is_discarded() || m.value("fingerprint", "") != id)
      throw sweep::SweepError(dir + " holds the results of another study (" +
                              (m.is_discarded() ? std::string("unreadable study.json") : m.value("file", std::string("?"))) +
                              ", or an edited study, model or chip file, or another tpusim build); give another --out or "
                              "remove it");
    return;
  }
  isa::write_file_atomically(
      mark, nlohmann::json{{"name", spec.name}, {"file", fs::absolute(spec.file).lexically_normal().string()}, {"fingerprint", id}}
                    .dump(1) +
                "\n");
}

namespace {

std::vector<sweep::Task> tasks_of(const StudySpec& spec, const std::vector<StudyPoint>& points, const std::string& dir) {
  const std::string id = fingerprint(spec);
  std::vector<sweep::Task> tasks;
  for (const StudyPoint& p : points) {
    const Setting& s = spec.settings[p.setting];
    char name[48];
    std::snprintf(name, sizeof name, "/runs/p%06zu-", p.index);
    tasks.push_back({dir + name + id + ".json",
                     "point " + std::to_string(p.index) + ", " + s.scenario + " " + s.label() + " #" + std::to_string(p.bootstrap),
                     {{"point", p.index}, {"setting", s.label()}, {"experiment", s.experiment}, {"scenario", s.scenario},
                      {"bootstrap", p.bootstrap}}});
  }
  return tasks;
}

// A bootstrap's initial model: read from DIR/initial/, or trained and kept there (written whole under
// another name first, so a reader never sees half of one; two processes training it write the same).
train::Network cached_initial(const StudySpec& spec, const std::string& scenario, int64_t bootstrap, const Stream& stream,
                              const std::string& dir) {
  const std::string kept = dir + "/initial/" + scenario + "-" + std::to_string(bootstrap);
  if (fs::exists(kept + "/model.yaml"))
    return train::Network::from_graph(compiler::load_model(kept + "/model.yaml", 1, true), 0);
  train::Network net = initial_model(spec, scenario, bootstrap, stream);
  const std::string draft = kept + ".draft-" + std::to_string(getpid());
  train::write_trained_model(spec.model, net, "a continual study's initial model", draft,
                             {{net.trained().back().layer, {{"units", std::to_string(net.classes())}}}});
  std::error_code ec;
  fs::rename(draft, kept, ec);
  if (ec) fs::remove_all(draft);  // another process kept its own first
  return net;
}

void aggregate(const std::vector<sweep::Task>& tasks, const std::string& dir) {
  std::string jsonl, csv =
                         "point,experiment,scenario,setting,bootstrap,step,classes,training_set,iterations,training_macs,"
                         "accuracy,chip_accuracy,latency_us,energy_uj,weight_image_bytes,changed_weight_bytes,upload_us\n";
  for (const sweep::Task& t : tasks) {
    if (!fs::exists(t.record)) continue;
    nlohmann::json rec = nlohmann::json::parse(isa::read_file(t.record), nullptr, false);
    if (rec.is_discarded()) continue;
    rec.erase("wall");
    jsonl += rec.dump() + "\n";
    if (!rec.contains("steps")) continue;
    for (const nlohmann::json& s : rec["steps"]) {
      std::ostringstream row;
      row.precision(10);
      const nlohmann::json& c = s["chip"];
      row << rec["point"] << "," << rec["experiment"].get<std::string>() << "," << rec["scenario"].get<std::string>() << ","
          << rec["setting"].get<std::string>() << "," << rec["bootstrap"] << "," << s["step"] << "," << s["classes"] << ","
          << s["training_set"] << "," << s["iterations"] << "," << s["training_macs"] << "," << s["accuracy"].get<double>()
          << "," << c["accuracy"].get<double>() << "," << c["latency_us"].get<double>() << "," << c["energy_uj"].get<double>()
          << "," << c["weight_image_bytes"] << "," << c["changed_weight_bytes"] << "," << c["upload_us"].get<double>()
          << "\n";
      csv += row.str();
    }
  }
  isa::write_file_atomically(dir + "/results.jsonl", jsonl);
  isa::write_file_atomically(dir + "/results.csv", csv);
}

}  // namespace

sweep::PoolOutcome run_study_local(const StudySpec& spec, const StudyRunOptions& o) {
  const std::vector<StudyPoint> points = study_points(spec);
  const std::vector<size_t> mine = sweep::shard_positions(points.size(), o.shard, o.shards, o.runs_file);
  claim_study_directory(spec, o.out_dir);
  const std::vector<sweep::Task> tasks = tasks_of(spec, points, o.out_dir);
  // Read once here, each point's process sharing them (not for writing the results files alone).
  train::Dataset train, test;
  if (!o.aggregate_only) {
    train = train::load_fashion_mnist(train::Split::kTrain, o.data);
    test = train::load_fashion_mnist(train::Split::kTest, o.data);
  }
  const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(spec.deploy.chip));
  const auto work = [&](size_t i) {
    const StudyPoint& p = points[i];
    const Setting& s = spec.settings[p.setting];
    nlohmann::json rec = tasks[i].crash;
    try {
      const Stream stream = draw_stream(spec, s.scenario, p.bootstrap, train);
      const std::string scratch = o.out_dir + "/work/p" + std::to_string(p.index);
      const RunResult r = run_point(spec, p, stream, cached_initial(spec, s.scenario, p.bootstrap, stream, o.out_dir), test,
                                    chip, scratch, o.out_dir + "/chip_cache");
      fs::remove_all(scratch);
      rec = to_json(spec, p, r);
      rec["status"] = "done";
      rec["exit_status"] = 0;
    } catch (const std::exception& e) {
      rec["status"] = "failed";
      rec["reason"] = e.what();
      rec["exit_status"] = 1;
    }
    isa::write_file_atomically(tasks[i].record, rec.dump(1) + "\n");
  };
  const sweep::PoolOutcome out = sweep::run_tasks(tasks, mine, o.aggregate_only, {o.jobs, o.progress}, work);
  if (o.shards == 1 && o.runs_file.empty()) aggregate(tasks, o.out_dir);
  return out;
}

sweep::SlurmSubmission submit_study_slurm(const StudySpec& spec, const sweep::SlurmOptions& o, const std::string& data) {
  claim_study_directory(spec, o.out_dir);
  const std::vector<sweep::Task> tasks = tasks_of(spec, study_points(spec), o.out_dir);
  std::vector<size_t> missing;
  for (size_t i = 0; i < tasks.size(); ++i)
    if (!sweep::finished(tasks[i].record)) missing.push_back(i);
  const std::string file = fs::absolute(spec.file).lexically_normal().string();
  const std::string dir = fs::absolute(o.out_dir).lexically_normal().string();
  const auto q = sweep::shell_quote;
  return sweep::submit_array(
      {spec.name, dir, q(sweep::self_executable()) + " train continual " + q(file) + " --out " + q(dir) + " --data " + q(fs::absolute(data).lexically_normal().string()) + " -q -j 1",
       missing},
      o);
}

std::vector<nlohmann::json> read_study_results(const std::string& out_dir) { return sweep::read_results(out_dir); }

}  // namespace tpu::continual
