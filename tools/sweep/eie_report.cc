// The EIE validation report's runs and figures; eie_report_text.cc writes them out.

#include "tools/sweep/eie_report.h"

#include <algorithm>
#include <filesystem>

#include "sim/base/config.h"
#include "sim/top/isolated_run.h"
#include "tools/compiler/compiler.h"
#include "tools/report/workload.h"
#include "tools/sweep/eie_report_parts.h"
#include "tools/sweep/runner.h"
#include "tools/sweep/sweep_spec.h"

namespace tpu::sweep {

namespace {

uint64_t unit(const nlohmann::json& r, const char* counter) {
  return r["units"]["sparse_engine"][counter].get<uint64_t>();
}

nlohmann::json run(const sim::ChipParams& chip, const isa::Program& program, const report::Workload* inputs) {
  sim::IsolatedOptions o;
  o.memories = false;
  o.compute_values = inputs != nullptr;
  if (inputs)
    for (auto& [name, bytes] : report::workload_inputs(*inputs, program)) o.inputs[name] = std::move(bytes);
  nlohmann::json r = sim::run_isolated(chip, program, o).result;
  if (r["status"] != "halted")
    throw SweepError("the EIE report: " + (inputs ? inputs->file : std::string("a dense run")) +
                     " did not halt: " + r.value("fault", std::string("?")));
  return r;
}

double engine_mhz(const sim::ChipParams& chip) {
  return chip.sparse_engine.clock_mhz > 0 ? chip.sparse_engine.clock_mhz : chip.clock_mhz;
}

// The figures of one layer's run at batch 1 on the engine's chip.
EieLayer layer_figures(const report::Workload& w, const sim::ChipParams& chip, const nlohmann::json& r) {
  const compiler::Graph g = compiler::load_model(w.model, 1, false);
  const compiler::Layer& l = g.layers.back();
  EieLayer e;
  e.name = w.name;
  e.file = w.file;
  e.rows = static_cast<uint64_t>(l.units);
  e.cols = static_cast<uint64_t>(g.layers[static_cast<size_t>(l.inputs[0])].shape.back());
  e.weight_density = l.density;
  e.activation_density = w.input_density.value_or(1);
  e.activations = unit(r, "activations");
  e.entries = unit(r, "entries");
  e.fillers = unit(r, "filler_entries");
  e.macs = unit(r, "macs");
  e.slices = unit(r, "layer_loads");
  e.cycles = unit(r, "array_cycles");
  const double mhz = engine_mhz(chip), pes = static_cast<double>(chip.sparse_engine.pes);
  e.us = static_cast<double>(e.cycles) / mhz;
  e.ideal_us = static_cast<double>(unit(r, "pe_busy_cycles")) / pes / mhz;
  e.mac_ideal_us = static_cast<double>(e.macs) / pes / mhz;
  e.load_imbalance = r["sparse_engine"]["load_imbalance"].get<double>();
  e.gops = 2.0 * static_cast<double>(e.macs) / (e.us * 1e3);
  e.dense_gops = 2.0 * static_cast<double>(unit(r, "dense_macs")) / (e.us * 1e3);
  for (const nlohmann::json& ev : r["energy"]["events"]) {
    const std::string c = ev["counter"];
    if (c.rfind("sparse_engine.", 0) != 0 || c == "sparse_engine.load_bytes") continue;
    e.energy_uj[c.substr(14)] = ev["pj"].get<double>() / 1e6;
    e.dynamic_uj += ev["pj"].get<double>() / 1e6;
  }
  // Leakage is per mm2 of die (sim/top/energy.h): the engine's share is its blocks' area.
  double engine_mm2 = 0;
  for (const auto& [block, mm2] : r["area"]["by_unit_mm2"].items())
    if (block.rfind("sparse", 0) == 0) engine_mm2 += mm2.get<double>();
  e.leakage_w = r["energy"]["static_w"]["leakage"].get<double>() * engine_mm2 / r["area"]["total_mm2"].get<double>();
  e.power_w = e.dynamic_uj / e.us + e.leakage_w;
  e.load_us = static_cast<double>(unit(r, "load_wait_cycles")) / chip.clock_mhz;
  return e;
}

EieComparison comparison(const std::string& layer, const std::string& chip, int64_t batch, const nlohmann::json& r) {
  const double n = static_cast<double>(batch);
  return {layer,
          chip,
          batch,
          r["latency_us"].get<double>(),
          r["energy"]["per_inference_uj"].get<double>(),
          r["energy"]["dynamic_uj"].get<double>() / n,
          r["units"]["weight_memory"]["read_bytes"].get<double>() / n};
}

// What the report reads of a sweep: its first axis `key` at each of `values`, every layer of the
// report, and each of `metrics`. Throws SweepError naming what the file lacks.
struct SweepNeeds {
  std::string key;
  std::vector<int64_t> values;
  std::vector<std::string> metrics;
};

void check_sweep(const std::string& file, const SweepSpec& spec, const std::vector<Point>& points,
                 const SweepNeeds& needs) {
  std::string missing;
  auto lacks = [&](const std::string& what) { missing += (missing.empty() ? "" : ", ") + what; };
  for (const char* stem : kEieLayers)
    if (std::none_of(spec.workloads.begin(), spec.workloads.end(),
                     [&](const WorkloadRef& w) { return std::filesystem::path(w.file).stem() == stem; }))
      lacks("workload workloads/eie/" + std::string(stem) + ".yaml");
  for (const Point& p : points)
    if (p.values.empty() || p.values[0].first != needs.key)
      lacks("a first axis " + needs.key + " at point " + std::to_string(p.index));
  for (int64_t v : needs.values)
    if (std::none_of(points.begin(), points.end(), [&](const Point& p) {
          return !p.values.empty() && p.values[0].second == std::to_string(v);
        }))
      lacks(needs.key + " " + std::to_string(v));
  for (const std::string& m : needs.metrics)
    if (std::none_of(spec.metrics.begin(), spec.metrics.end(), [&](const auto& sm) { return sm.first == m; }))
      lacks("metric " + m);
  if (!missing.empty()) throw SweepError(file + ": not a sweep the EIE report can read: it lacks " + missing);
}

const SweepNeeds kQueueNeeds{"sparse_engine.queue_depth", {1, 8}, {"array_cycles", "pe_idle_cycles"}};
const SweepNeeds kPeNeeds{"sparse_engine.pes", {1, 64}, {"array_cycles", "filler_entries", "macs"}};

// The sweep's metrics per workload name and value of its first axis, run (or resumed) in DIR/NAME.
std::map<std::string, std::map<int64_t, nlohmann::json>> sweep_metrics(const std::string& file, const std::string& dir,
                                                                       int jobs, const SweepNeeds& needs) {
  const SweepSpec spec = load_sweep(file);
  const std::vector<Point> points = expand(spec);
  check_sweep(file, spec, points, needs);
  std::map<std::string, std::string> names;  // workload id -> name
  for (const WorkloadRef& w : spec.workloads) names[w.id] = w.file.empty() ? w.name : report::load_workload(w.file).name;
  const std::string results = dir + "/" + spec.name;
  run_study(spec, points, results, jobs);
  std::map<std::string, std::map<int64_t, nlohmann::json>> m;
  for (const nlohmann::json& rec : read_results(results)) {
    const int64_t value = std::stoll(points.at(rec["point"].get<size_t>()).values.at(0).second);
    m[names.at(rec["workload"].get<std::string>())][value] = rec["metrics"];
  }
  return m;
}

}  // namespace

EieReport eie_report(const EieOptions& options) {
  // Paths relative to the options' root (absolute ones as they are).
  auto in_root = [&](const std::string& path) {
    return options.root.empty() || std::filesystem::path(path).is_absolute() ? path : options.root + "/" + path;
  };
  const sim::ChipParams eie = sim::read_chip_params(sim::Config::load(in_root(options.config)));
  const sim::ChipParams tpu = sim::read_chip_params(sim::Config::load(in_root(options.dense_config)));
  if (eie.sparse_engine.pes == 0) throw SweepError(options.config + ": the EIE report needs a chip with a sparse engine");
  // The sweeps are checked before anything runs.
  for (const auto& [file, needs] : {std::pair{&options.queue_sweep, &kQueueNeeds}, std::pair{&options.pe_sweep, &kPeNeeds}}) {
    const SweepSpec spec = load_sweep(in_root(*file));
    check_sweep(in_root(*file), spec, expand(spec), *needs);
  }
  EieReport rep;
  rep.pes = eie.sparse_engine.pes;
  rep.engine_mhz = engine_mhz(eie);
  rep.peak_gops = 2.0 * static_cast<double>(rep.pes) * rep.engine_mhz / 1e3;
  rep.spmat_bytes = eie.sparse_engine.spmat_bytes;
  rep.pointer_bytes = eie.sparse_engine.pointer_bytes;
  rep.dense_mhz = tpu.clock_mhz;
  rep.dense_nm = tpu.energy.technology_nm;
  rep.eie_mhz = eie.clock_mhz;
  rep.eie_nm = eie.energy.technology_nm;
  for (const char* stem : kEieLayers) {
    const report::Workload w = report::load_workload(in_root(options.workloads) + "/" + stem + ".yaml");
    if (w.batch != 1) throw SweepError(w.file + ": the EIE report runs its layers at batch 1; this workload says " +
                                       std::to_string(w.batch));
    // Batch 1: the layer loads, then runs once from its resident image.
    const nlohmann::json r = run(eie, report::workload_program(w, eie), &w);
    rep.layers.push_back(layer_figures(w, eie, r));
    for (const auto& [block, mm2] : r["area"]["by_unit_mm2"].items())
      if (block.rfind("sparse", 0) == 0) rep.engine_mm2[block] = mm2.get<double>();
    // As the source tree names them, wherever the report reads it from.
    auto from_root = [&](std::string path) {
      const std::string prefix = options.root + "/";
      return !options.root.empty() && path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : path;
    };
    rep.energy_table = from_root(r["energy"]["table"]);
    rep.area_table = from_root(r["area"]["table"]);
    rep.comparisons.push_back(comparison(w.name, "EIE chip sparse", 1, r));
    for (int64_t batch : {int64_t{1}, options.batch}) {
      compiler::CompileOptions dense;
      dense.batch = batch;
      dense.timing_only = true;
      dense.sparse = compiler::CompileOptions::Sparse::kNone;
      for (const auto& [chip, params] : {std::pair{"TPU v1 dense", &tpu}, std::pair{"EIE chip dense", &eie}})
        rep.comparisons.push_back(comparison(
            w.name, chip, batch, run(*params, compiler::compile_model(w.model, *params, dense).lowered.program, nullptr)));
    }
    auto batched = [&](int64_t batch) {
      compiler::CompileOptions sparse;
      sparse.batch = batch;
      report::Workload b = w;
      b.batch = batch;
      return run(eie, compiler::compile_model(w.model, eie, sparse).lowered.program, &b);
    };
    rep.comparisons.push_back(comparison(w.name, "EIE chip sparse", options.batch, batched(options.batch)));
    // A second inference, the image resident: what batch 2 adds to batch 1.
    const EieComparison one = comparison(w.name, "", 1, r), two = comparison(w.name, "", 2, batched(2));
    // (Latency is the run's; energy and bytes are per inference, so batch 2's total is twice its.)
    const EieComparison resident{w.name, "EIE chip sparse, resident", 1, two.latency_us - one.latency_us,
                                 2 * two.energy_uj - one.energy_uj, 2 * two.dynamic_uj - one.dynamic_uj,
                                 2 * two.dram_bytes - one.dram_bytes};
    if (!(resident.latency_us > 0 && resident.energy_uj > 0 && resident.dram_bytes >= 0))
      throw SweepError(w.file + ": a second inference at batch 2 took no time, energy or bytes more than the first");
    rep.comparisons.push_back(resident);
  }
  for (const auto& [layer, by_depth] :
       sweep_metrics(in_root(options.queue_sweep), options.results_dir, options.jobs, kQueueNeeds))
    for (const auto& [depth, m] : by_depth) {
      const double cycles = m["array_cycles"].get<double>();
      rep.queue_cycles[layer][depth] = cycles;
      rep.queue_idle[layer][depth] =
          m["pe_idle_cycles"].get<double>() / (cycles * static_cast<double>(eie.sparse_engine.pes));
    }
  for (const auto& [layer, by_pes] :
       sweep_metrics(in_root(options.pe_sweep), options.results_dir, options.jobs, kPeNeeds))
    for (const auto& [pes, m] : by_pes) {
      rep.pe_cycles[layer][pes] = m["array_cycles"].get<double>();
      rep.pe_fillers_per_mac[layer][pes] = m["filler_entries"].get<double>() / m["macs"].get<double>();
    }
  write_eie_text(options, &rep);
  return rep;
}

}  // namespace tpu::sweep
