#include "tools/report/tpu_v1_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sim/base/config.h"
#include "tools/report/text.h"
#include "sim/top/area.h"
#include "sim/top/isolated_run.h"
#include "sim/top/results.h"
#include "tools/compiler/compiler.h"
#include "tools/report/workload.h"

namespace tpu::report {

namespace {

struct App {
  Workload w;
  nlohmann::json result;
  uint64_t macs = 0;          // per batch
  uint64_t weight_bytes = 0;  // of the model
  double moved_bytes = 0;     // weight bytes the run read (padding of partial tiles and re-reads included)
  uint64_t ub_peak = 0;       // compile-time plan
  double tops = 0;
  double roof = 0;  // what the roofline allows at its MACs per weight byte
};

double share(const nlohmann::json& r, const char* counter) {
  return 100.0 * r["counters"][counter]["share"].get<double>();
}

// A counter in percent, as Table 3 states it: MACs as shares of the array's peak, the rest of all cycles.
double table3_share(const nlohmann::json& r, const std::string& counter) {
  const auto& c = r["counters"][counter];
  return 100.0 * (c.contains("share_of_peak") ? c["share_of_peak"] : c["share"]).get<double>();
}

// Rows of the paper's Table 3 beside the simulated counters: "simulated / published (difference)".
void table3_comparison(std::ostream& md, const std::vector<App>& apps) {
  std::string source;
  for (const App& a : apps)
    if (!a.w.reference_counters_source.empty()) source = a.w.reference_counters_source;
  if (source.empty()) return;
  md << "\nThe same counters beside the published ones (" << source
     << "), in percent: simulated / published (difference in points).\n\n| counter |";
  for (const App& a : apps) md << " " << a.w.name << " |";
  md << "\n|---|";
  for (size_t i = 0; i < apps.size(); ++i) md << "---|";
  md << "\n";
  for (const auto& [name, label] : kTable3Counters) {
    md << "| " << label << " |";
    for (const App& a : apps) {
      const double sim = table3_share(a.result, name);
      const auto it = std::find_if(a.w.reference_counters.begin(), a.w.reference_counters.end(),
                                   [&](const auto& kv) { return kv.first == name; });
      if (it == a.w.reference_counters.end())
        md << " " << fmt("%.1f", sim) << " / - |";
      else
        md << " " << fmt("%.1f", sim) << " / " << fmt("%.1f", it->second) << " (" << fmt("%+.1f", sim - it->second)
           << ") |";
    }
    md << "\n";
  }
}

// The roofline: two operations per MAC, at most the peak, at most the weight bandwidth times the intensity.
double roof_tops(const sim::ChipParams& chip, double macs_per_weight_byte) {
  return std::min(sim::peak_tops(chip), 2 * macs_per_weight_byte * chip.weight_memory.bandwidth_gb_s * 1e9 / 1e12);
}

// The roofline chart: the roof, each application as simulated, and as measured in the paper.
Chart roofline(const std::vector<App>& apps, const sim::ChipParams& chip) {
  Chart c;
  c.name = "roofline";
  c.xlabel = "MACs per weight byte (operational intensity)";
  c.ylabel = "TOPS";
  c.log_x = true;
  c.log_x_base = 10;
  c.log_y = true;
  c.x_range = {{10, 10000}};
  c.y_range = {{0.5, 200}};
  c.key = "inside left top";
  Series roof{"roofline: min(peak, 2 x weight bandwidth x intensity)", {}, "with lines lw 2 lc rgb 'black'", {}};
  for (int i = 0; i <= 60; ++i) {
    const double x = 10 * std::pow(1000.0, i / 60.0);
    roof.points.emplace_back(x, roof_tops(chip, x));
  }
  Series simulated{"simulated, at the weight bytes the run moved", {}, "with points pointtype 7 pointsize 1.3 lc rgb '#1f77b4'", {}};
  Series measured{"measured (Jouppi et al. 2017, Table 3), at the model's", {}, "with points pointtype 5 pointsize 1.1 lc rgb '#d62728'", {}};
  for (const App& a : apps) {
    // Simulated at the intensity of the bytes the run moved, measured at the model's (Table 1's).
    const double x = static_cast<double>(a.macs) / a.moved_bytes;
    simulated.points.emplace_back(x, a.tops);
    if (a.w.reference_tops)
      measured.points.emplace_back(static_cast<double>(a.macs) / static_cast<double>(a.weight_bytes),
                                   *a.w.reference_tops);
    c.extra.push_back("set label \"" + gnuplot_text(a.w.name) + "\" at " + fmt("%.6g", x) + "," + fmt("%.6g", a.tops) +
                      " offset char 0.8,0.7 font ',10'");
  }
  c.series = {roof, simulated, measured};
  return c;
}

// What the run spent its cycles on, from its counters and the chip's parameters: a description
// that changes with the configuration, for an application whose TOPS differ from the measurement.
std::string where_the_time_goes(const App& a, const sim::ChipParams& chip) {
  const auto& r = a.result;
  const double intensity = static_cast<double>(a.macs) / a.moved_bytes;
  const double ridge =
      chip.matrix_unit.rows * chip.matrix_unit.cols * chip.clock_mhz * 1e6 / (chip.weight_memory.bandwidth_gb_s * 1e9);
  const double host = 100.0 * r["utilization"]["host_interface"].get<double>();
  std::string s = "simulated " + fmt("%.2f", a.tops) + " TOPS of " + fmt("%.1f", sim::peak_tops(chip)) + " peak. At " +
                  fmt("%.0f", intensity) + " MACs per weight byte moved against a ridge of " + fmt("%.0f", ridge) + " (" +
                  fmt("%g", chip.weight_memory.bandwidth_gb_s) + " GB/s of weight memory) the application is " +
                  (intensity < ridge ? "bound by weight bandwidth" : "bound by the array") + "; the array is active " +
                  fmt("%.1f%%", share(r, "array_active")) + " of the cycles, waits for weights " +
                  fmt("%.1f%%", share(r, "weight_stall") + share(r, "weight_shift")) + ", behind syncs (RAW) " +
                  fmt("%.1f%%", share(r, "raw_stall")) + " and for a unified-buffer read port (input) " +
                  fmt("%.1f%%", share(r, "input_stall")) + "; the host link is busy " + fmt("%.1f%%", host) + ".";
  const double moved = r["units"]["weight_memory"]["read_bytes"].get<double>();
  const double padding = r["units"]["weight_memory"]["padding_bytes"].get<double>();
  if (moved > 0 && padding > 0.05 * moved)
    s += " " + fmt("%.0f%%", 100 * padding / moved) + " of the weight bytes moved are padding: " +
         (chip.weight_memory.tile_reads == "whole" ? "partial tiles move whole (" +
                                                         std::to_string(chip.matrix_unit.rows * chip.matrix_unit.cols) +
                                                         " bytes each), and the layers' widths are not multiples of the "
                                                         "array's"
                                                   : std::string("reads are whole bursts")) +
         ".";
  return s;
}

// Files a configuration names (its tables), however the path to them was written, compare as one file.
void canonical_files(nlohmann::json& j) {
  if (j.is_object() || j.is_array()) {
    for (auto& v : j) canonical_files(v);
  } else if (j.is_string()) {
    std::error_code ec;
    const std::string path = j.get<std::string>();
    if (!path.empty() && std::filesystem::is_regular_file(path, ec))
      j = std::filesystem::weakly_canonical(path, ec).string();
  }
}

// A note holds for the configuration it was written for: a chip whose parameters are that configuration's.
bool note_applies(const Workload::Note& note, const sim::ChipParams& chip) {
  nlohmann::json mine, theirs;
  sim::to_json(mine, chip);
  sim::to_json(theirs, sim::read_chip_params(sim::Config::load(note.config)));
  canonical_files(mine);
  canonical_files(theirs);
  // Neither changes a run's figures: the fidelities agree, and a run that meets the watchdog is no report.
  for (nlohmann::json* j : {&mine, &theirs}) {
    j->erase("fidelity");
    j->erase("watchdog_cycles");
  }
  return mine == theirs;
}

// The chip's area against the published floorplan, its idle power against the
// measured 28 W, and the calibrated MAC against its cells.
std::string area_and_power(const nlohmann::json& result, const sim::ChipParams& chip) {
  const auto& area = result["area"];
  const double die = area["total_mm2"].get<double>();
  const auto mm2 = [&](std::initializer_list<const char*> blocks) {
    double sum = 0;
    for (const char* b : blocks) sum += area["by_unit_mm2"][b].get<double>();
    return sum;
  };
  std::ostringstream md;
  md << "\nArea (`configs/energy/28nm_area.yaml`, calibrated to the published floorplan: Sec. 2, Fig. 2 caption; "
        "Table 2 puts the die at no more than half of Haswell's 662 mm2):\n\n"
     << "| block | area (mm2) | share of die | published |\n|---|---|---|---|\n";
  struct Row {
    const char* name;
    std::initializer_list<const char*> blocks;
    const char* published;
  };
  const Row rows[] = {{"matrix unit", {"matrix_unit"}, "a quarter"},
                      {"unified buffer", {"unified_buffer"}, "almost a third"},
                      {"data buffers (unified buffer, accumulators, weight FIFO)",
                       {"unified_buffer", "accumulators", "weight_fifo"},
                       "37%"},
                      {"compute (matrix and activation units)", {"matrix_unit", "activation_unit"}, "30%"},
                      {"I/O (host link, DRAM interface)", {"host_interface", "weight_memory"}, "10%"},
                      {"control", {"control"}, "2%"},
                      {"other", {"other"}, "21% (unassigned)"}};
  for (const Row& r : rows)
    md << "| " << r.name << " | " << fmt("%.1f", mm2(r.blocks)) << " | " << fmt("%.1f%%", 100 * mm2(r.blocks) / die)
       << " | " << r.published << " |\n";
  md << "| die | " << fmt("%.1f", die) << " | 100% | at most 331 |\n";
  const sim::AreaTable t = sim::load_area_table(chip.energy.area_table);
  const double cells = (t.cross_int8_mult_um2 + t.cross_int32_add_um2 + sim::kFlopsPerPe * t.cross_flop_um2) *
                       (t.node_nm / 45) * (t.node_nm / 45);
  const auto& s = result["energy"]["static_w"];
  md << "\nA MAC takes " << fmt("%.0f", t.mac_um2) << " um2; its cells at 45 nm (8-bit multiplier, 32-bit adder, "
     << sim::kFlopsPerPe << " register bits) scaled by (" << fmt("%g", t.node_nm) << "/45)^2 take "
     << fmt("%.0f", cells) << " um2 (" << fmt("%.1f", t.mac_um2 / cells)
     << "x, the wiring and layout over the cells). Idle (static) power: "
     << fmt("%.2f", result["energy"]["static_power_w"].get<double>()) << " W (leakage "
     << fmt("%.2f", s["leakage"].get<double>()) << ", array clock " << fmt("%.2f", s["array_clock"].get<double>())
     << ", DRAM standby " << fmt("%.2f", s["dram_standby"].get<double>())
     << ") against the measured 28 W, to which the leakage density is calibrated.\n";
  return md.str();
}

}  // namespace

ValidationReport tpu_v1_report(const std::vector<std::string>& workloads, const sim::ChipParams& chip,
                               const std::string& config_name) {
  std::vector<App> apps;
  for (const std::string& file : workloads) {
    App a;
    a.w = load_workload(file);
    compiler::CompileOptions options;
    options.batch = a.w.batch;
    const compiler::Compiled c = compiler::compile_model(a.w.model, chip, options);
    for (const auto& l : c.lowered.report.layers) {
      a.macs += l.macs;
      a.weight_bytes += l.weight_bytes;
    }
    a.ub_peak = c.lowered.report.ub_peak_bytes;
    sim::IsolatedOptions run_options;
    run_options.compute_values = false;  // timing and counters do not depend on values
    run_options.memories = false;
    a.result = sim::run_isolated(chip, c.lowered.program, run_options).result;
    if (a.result["status"] != "halted")
      throw compiler::ModelError(file + ": the program faulted on this chip, so it has no figures to report: " +
                                 a.result["fault"]["reason"].get<std::string>());
    a.tops = a.result["throughput"]["tops"].get<double>();
    a.moved_bytes = a.result["units"]["weight_memory"]["read_bytes"].get<double>();
    // The bound on this run: every byte it moved at the weight bandwidth, or the peak.
    a.roof = roof_tops(chip, static_cast<double>(a.macs) / a.moved_bytes);
    apps.push_back(std::move(a));
  }

  std::ostringstream md;
  md << "# TPU v1 validation\n\n"
     << "<!-- Generated by `tpusim report tpu-v1`; do not edit by hand. A test checks that a fresh run gives "
        "these numbers. -->\n\n"
     << "The six production applications of Jouppi et al., \"In-Datacenter Performance Analysis of a Tensor "
        "Processing Unit\" (ISCA 2017), reconstructed from the paper's Table 1 (`models/`), compiled for and "
        "simulated on `"
     << config_name << "` (" << chip.matrix_unit.rows << " x " << chip.matrix_unit.cols << " array at "
     << fmt("%g", chip.clock_mhz) << " MHz, " << fmt("%g", chip.unified_buffer.size_bytes / 1048576.0)
     << " MiB unified buffer with " << chip.unified_buffer.read_ports << " read and "
     << chip.unified_buffer.write_ports << " write port"
     << (chip.unified_buffer.read_ports + chip.unified_buffer.write_ports > 2 ? "s" : "") << ", "
     << fmt("%g", chip.weight_memory.bandwidth_gb_s) << " GB/s weight memory, "
     << fmt("%g", chip.host_interface.bandwidth_gb_s)
     << " GB/s host link each way) at the paper's batch sizes (`workloads/tpu_v1/`). Simulated TOPS count "
        "two operations per multiply-accumulate of the network (as the compiler counts them: pooling's identity "
        "tiles do not count) over the whole run, from the first instruction to `halt`, including the "
        "input's transfer over PCIe; the paper's figures exclude host overhead. No parameter of the model is tuned "
        "to these results.\n\n";
  md << "| app | batch | MACs per batch | MACs per weight byte | cycles | latency (us) | simulated TOPS | "
        "measured TOPS | difference |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const App& a : apps) {
    const double diff = a.w.reference_tops ? (a.tops - *a.w.reference_tops) / *a.w.reference_tops * 100 : 0;
    md << "| " << a.w.name << " | " << a.w.batch << " | " << a.macs << " | "
       << fmt("%.0f", static_cast<double>(a.macs) / a.weight_bytes) << " | " << a.result["cycles"].get<uint64_t>()
       << " | " << fmt("%.1f", a.result["latency_us"].get<double>()) << " | " << fmt("%.2f", a.tops) << " | "
       << (a.w.reference_tops ? fmt("%.1f", *a.w.reference_tops) : "-") << " | "
       << (a.w.reference_tops ? fmt("%+.1f%%", diff) : "-") << " |\n";
  }
  md << "\n## Performance counters\n\nShares of all cycles, as in the paper's Table 3: array active, weight stall, "
        "weight shift and non-matrix cycles add up to 100%; useful and unused MACs are shares of the array's peak; "
        "RAW and input stalls are shares of all cycles. As in the paper, they are counted from the matrix unit's "
        "point of view: RAW stalls are the cycles it has nothing to run because its next `mmul` is held behind a "
        "`sync` waiting for another unit's results, so they never overlap its active, weight-stall or "
        "weight-shift cycles.\n\n"
     << "| app | array active | weight stall | weight shift | non-matrix | useful MACs | unused MACs | RAW stalls | "
        "input stalls |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const App& a : apps) {
    const auto& r = a.result;
    md << "| " << a.w.name << " | " << fmt("%.1f%%", share(r, "array_active")) << " | "
       << fmt("%.1f%%", share(r, "weight_stall")) << " | " << fmt("%.1f%%", share(r, "weight_shift")) << " | "
       << fmt("%.1f%%", share(r, "non_matrix")) << " | "
       << fmt("%.1f%%", 100 * r["counters"]["useful_macs"]["share_of_peak"].get<double>()) << " | "
       << fmt("%.1f%%", 100 * r["counters"]["unused_macs"]["share_of_peak"].get<double>()) << " | "
       << fmt("%.1f%%", share(r, "raw_stall")) << " | " << fmt("%.1f%%", share(r, "input_stall")) << " |\n";
  }
  table3_comparison(md, apps);
  md << "\n## Memory and energy\n\nUnified-buffer peak: the compiler's plan (tensors live at once, with padding) and "
        "the bytes the run wrote. Energy: the events the units counted, priced by the energy table scaled to "
     << fmt("%g", chip.energy.technology_nm)
     << " nm, plus static power from the die's area (leakage, DRAM standby and, without clock gating, the array's "
        "clock; the area table is calibrated so TPU v1 idles at its measured 28 W). Measured power: "
        "Table 2's busy power per die, a comparison only (no energy parameter is set from it).\n\n"
     << "| app | unified buffer, planned (MiB) | unified buffer, written (MiB) | weight bytes (MB) | energy per "
        "inference (uJ) | static power (W) | dynamic power (W) | average power (W) | measured power (W) | TOPS/W "
        "|\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (const App& a : apps) {
    const auto& r = a.result;
    const auto& e = r["energy"];
    md << "| " << a.w.name << " | " << fmt("%.2f", a.ub_peak / 1048576.0) << " | "
       << fmt("%.2f", r["unified_buffer_peak_bytes"].get<double>() / 1048576.0) << " | "
       << fmt("%.1f", a.weight_bytes / 1e6) << " | " << fmt("%.1f", e["per_inference_uj"].get<double>()) << " | "
       << fmt("%.1f", e["static_power_w"].get<double>()) << " | " << fmt("%.1f", e["dynamic_power_w"].get<double>())
       << " | " << fmt("%.1f", e["average_power_w"].get<double>()) << " | "
       << (a.w.reference_power_w ? fmt("%.0f", *a.w.reference_power_w) : "-") << " | "
       << fmt("%.2f", r["efficiency"]["tops_per_w"].get<double>()) << " |\n";
  }
  for (const App& a : apps) {
    if (!a.w.reference_power_w) continue;
    Workload power_only = a.w;
    power_only.reference_tops.reset();
    power_only.deadline_ms.reset();
    md << "\n" << verdict_text(power_only, workload_verdict(power_only, a.result));
  }
  md << area_and_power(apps.front().result, chip);
  md << "\n## Roofline\n\n![Roofline of the six applications](tpu_v1_validation/roofline.svg)\n\n"
     << "The roof is min(" << fmt("%.1f", sim::peak_tops(chip)) << " TOPS, 2 x "
     << fmt("%g", chip.weight_memory.bandwidth_gb_s)
     << " GB/s x MACs per weight byte). Circles are simulated, at the MACs per weight byte the run moved (the "
        "padding of partial tiles and any re-reads included); squares are measured, at the model's MACs per "
        "weight byte.\n\n";
  md << "## Differences over 10%\n\n";
  bool any = false;
  for (const App& a : apps) {
    if (!a.w.reference_tops) continue;
    const double diff = (a.tops - *a.w.reference_tops) / *a.w.reference_tops * 100;
    if (std::fabs(diff) <= 10) continue;
    any = true;
    md << "- **" << a.w.name << "** (" << fmt("%+.1f%%", diff) << "): " << where_the_time_goes(a, chip);
    if (*a.w.reference_tops > a.roof)
      md << " At the weight bytes it moves, the reconstruction can reach at most " << fmt("%.2f", a.roof)
         << " TOPS on this chip, below the " << fmt("%.1f", *a.w.reference_tops) << " TOPS measured on TPU v1.";
    if (a.w.note && note_applies(*a.w.note, chip)) md << " " << a.w.note->text;
    md << "\n";
  }
  if (!any) md << "None.\n";
  for (const App& a : apps) {
    Workload deadline_only = a.w;  // the tables above compare TOPS
    deadline_only.reference_tops.reset();
    deadline_only.reference_power_w.reset();  // and power
    const nlohmann::json verdict = workload_verdict(deadline_only, a.result);
    if (!verdict.empty()) md << "\n" << verdict_text(a.w, verdict);
  }
  md << "\n## Per layer\n\nEach layer's cycles run from its first instruction's issue to the next layer's (so "
        "they add up to the run), with its network MACs, the array's counters, the weight-DRAM bytes it read and "
        "its energy (dynamic and its share of static).\n";
  for (const App& a : apps) {
    const auto& layers = a.result["layers"];
    md << "\n<details><summary>" << a.w.name << ": " << layers.size() << " rows</summary>\n\n"
       << "| layer | cycles | MACs | array active | weight stall | weight shift | RAW stall | DRAM bytes | energy (uJ) "
          "|\n"
          "|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& l : layers)
      md << "| " << l["name"].get<std::string>() << " | " << l["cycles"].get<uint64_t>() << " | "
         << l["macs"].get<uint64_t>() << " | " << l["array_active_cycles"].get<uint64_t>() << " | "
         << l["weight_stall_cycles"].get<uint64_t>() << " | " << l["weight_shift_cycles"].get<uint64_t>() << " | "
         << l["raw_stall_cycles"].get<uint64_t>() << " | " << l["weight_dram_bytes"].get<uint64_t>() << " | "
         << fmt("%.1f", l["energy_uj"].get<double>()) << " |\n";
    md << "\n</details>\n";
  }
  ValidationReport report{md.str(), roofline(apps, chip), {}};
  for (const App& a : apps)
    report.figures.push_back({a.w.name, a.tops, a.roof,
                              roof_tops(chip, static_cast<double>(a.macs) / static_cast<double>(a.weight_bytes)),
                              a.w.reference_tops, a.w.band});
  return report;
}

}  // namespace tpu::report
