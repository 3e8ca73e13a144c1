// The EIE validation report's runs and figures; eie_report_text.cc writes them out.

#include "tools/sweep/eie_report.h"

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

// A sweep's metric per workload name and swept value (the first axis).
std::map<std::string, std::map<int64_t, nlohmann::json>> sweep_metrics(const std::string& file, const std::string& dir,
                                                                       int jobs) {
  const SweepSpec spec = load_sweep(file);
  const std::vector<Point> points = expand(spec);
  const std::string results = dir + "/" + spec.name;
  run_study(spec, points, results, jobs);
  std::map<std::string, std::map<int64_t, nlohmann::json>> m;
  for (const nlohmann::json& rec : read_results(results))
    for (const WorkloadRef& w : spec.workloads)
      if (w.id == rec["workload"]) {
        const int64_t value = std::stoll(points.at(rec["point"].get<size_t>()).values.at(0).second);
        m[report::load_workload(w.file).name][value] = rec["metrics"];
      }
  return m;
}

}  // namespace

EieReport eie_report(const EieOptions& options) {
  namespace fs = std::filesystem;
  const std::string root = options.root.empty() ? "" : options.root + "/";
  const sim::ChipParams eie = sim::read_chip_params(sim::Config::load(root + options.config));
  const sim::ChipParams tpu = sim::read_chip_params(sim::Config::load(root + options.dense_config));
  if (eie.sparse_engine.pes == 0) throw SweepError(options.config + ": the EIE report needs a chip with a sparse engine");
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
    const report::Workload w = report::load_workload(root + options.workloads + "/" + stem + ".yaml");
    // Batch 1: the layer loads, then runs once from its resident image.
    const nlohmann::json r = run(eie, report::workload_program(w, eie), &w);
    rep.layers.push_back(layer_figures(w, eie, r));
    for (const auto& [block, mm2] : r["area"]["by_unit_mm2"].items())
      if (block.rfind("sparse", 0) == 0) rep.engine_mm2[block] = mm2.get<double>();
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
    rep.comparisons.push_back({w.name, "EIE chip sparse, resident", 1, two.latency_us - one.latency_us,
                               2 * two.energy_uj - one.energy_uj, 2 * two.dynamic_uj - one.dynamic_uj,
                               2 * two.dram_bytes - one.dram_bytes});
  }
  for (const auto& [layer, by_depth] : sweep_metrics(root + options.queue_sweep, options.results_dir, options.jobs))
    for (const auto& [depth, m] : by_depth) {
      const double cycles = m["array_cycles"].get<double>();
      rep.queue_cycles[layer][depth] = cycles;
      rep.queue_idle[layer][depth] =
          m["pe_idle_cycles"].get<double>() / (cycles * static_cast<double>(eie.sparse_engine.pes));
    }
  for (const auto& [layer, by_pes] : sweep_metrics(root + options.pe_sweep, options.results_dir, options.jobs))
    for (const auto& [pes, m] : by_pes) {
      rep.pe_cycles[layer][pes] = m["array_cycles"].get<double>();
      rep.pe_fillers_per_mac[layer][pes] = m["filler_entries"].get<double>() / m["macs"].get<double>();
    }
  write_eie_text(options, &rep);
  return rep;
}

}  // namespace tpu::sweep
