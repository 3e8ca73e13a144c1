// The EIE validation report's markdown and charts, from the figures eie_report.cc measured.

#include <algorithm>
#include <functional>
#include <cmath>
#include <numeric>
#include <sstream>

#include "tools/report/text.h"
#include "tools/sweep/eie_report_parts.h"
#include "tools/sweep/sweep_spec.h"

namespace tpu::sweep {

namespace {

using report::fmt;
namespace paper = eie_paper;

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

std::string percent(double share) { return fmt("%.1f%%", 100 * share); }
std::string signed_percent(double share) { return fmt("%+.1f%%", 100 * share); }

void layer_table(std::ostringstream& md, const EieReport& r) {
  md << "| layer | size | weights | activations (Table III) | input non-zero | entries | fillers | slices | cycles | µs | ideal µs | load "
        "imbalance | GOP/s | dense-equivalent GOP/s | image load µs |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const EieLayer& l : r.layers)
    md << "| " << l.name << " | " << l.cols << " → " << l.rows << " | " << percent(l.weight_density) << " | "
       << percent(l.activation_density) << " | " << percent(double(l.activations) / double(l.cols)) << " | " << l.entries << " | " << l.fillers << " | "
       << l.slices << " | " << l.cycles << " | " << fmt("%.2f", l.us) << " | " << fmt("%.2f", l.ideal_us) << " | "
       << fmt("%.3f", l.load_imbalance) << " | " << fmt("%.1f", l.gops) << " | " << fmt("%.0f", l.dense_gops)
       << " | " << fmt("%.1f", l.load_us) << " |\n";
}

void times_section(std::ostringstream& md, const EieReport& r) {
  md << "\n## Times against the paper's measurements (Table IV)\n\n"
        "| layer | simulated µs | EIE measured µs | difference | with a cycle more per column, µs |\n"
        "|---|---|---|---|---|\n";
  for (const EieLayer& l : r.layers) {
    const auto it = paper::kMeasuredUs.find(l.name);
    if (it == paper::kMeasuredUs.end()) continue;
    const double more = l.us + double(l.activations) / r.engine_mhz;
    md << "| " << l.name << " | " << fmt("%.2f", l.us) << " | " << fmt("%.1f", it->second) << " | "
       << signed_percent(l.us / it->second - 1) << " | " << fmt("%.2f", more) << " |\n";
  }
  std::vector<double> over;  // time over the ideal
  for (const EieLayer& l : r.layers) over.push_back(l.us / l.ideal_us - 1);
  md << "\nThe model's time is its PEs' work (an entry a cycle, fillers included, and a cycle for a column "
        "with no entries) behind the broadcast, with the imbalance that comes of where the non-zeros lie. "
        "The seeded layers scatter their non-zeros uniformly, so every PE gets nearly the same share: the "
        "simulated times lie "
     << signed_percent(*std::min_element(over.begin(), over.end())) << " to "
     << signed_percent(*std::max_element(over.begin(), over.end()))
     << " above the ideal, where the paper measures about 10% on real AlexNet weights and activations, "
        "whose non-zeros cluster by row and column. The last column is a what-if the model does not "
        "charge: a cycle per non-zero activation on top (a pointer read that does not overlap the "
        "previous column's entries). Columns are short in Alex-8 (1000 rows: about 4 entries per PE at "
        "25%), so such a per-column cost weighs most there: it is the layer the model runs fastest "
        "against the silicon.\n";
}

void energy_section(std::ostringstream& md, const EieReport& r) {
  md << "\n## Energy and power (Table II)\n\n"
        "Each layer's energy in computing (its load from weight DRAM aside), from the engine's counters "
        "priced by the energy table's SRAM and arithmetic rules (`configs/energy/45nm.yaml`), and its "
        "average power: that energy over the time, plus the leakage of the engine's blocks.\n\n"
        "| layer | sparse-matrix reads µJ | pointers µJ | arithmetic µJ | accumulators µJ | queues µJ | total µJ "
        "| dynamic W | leakage W | power W |\n|---|---|---|---|---|---|---|---|---|---|\n";
  auto module_uj = [](const EieLayer& l, const paper::Module& m) {
    double uj = 0;
    for (const std::string& c : m.counters) uj += l.energy_uj.count(c) ? l.energy_uj.at(c) : 0;
    return uj;
  };
  const std::vector<const paper::Module*> order = {&paper::kModules[2], &paper::kModules[1], &paper::kModules[3],
                                                   &paper::kModules[4], &paper::kModules[0]};
  double total_uj = 0, total_us = 0;
  for (const EieLayer& l : r.layers) {
    md << "| " << l.name;
    for (const paper::Module* m : order) md << " | " << fmt("%.2f", module_uj(l, *m));
    md << " | " << fmt("%.2f", l.dynamic_uj) << " | " << fmt("%.2f", l.dynamic_uj / l.us) << " | "
       << fmt("%.2f", l.leakage_w) << " | " << fmt("%.2f", l.power_w) << " |\n";
    total_uj += l.dynamic_uj;
    total_us += l.us;
  }
  const double pes = static_cast<double>(r.pes);
  md << "\nPer PE, over the nine layers together (energy over time), against the paper's Table II:\n\n"
        "| module | simulated mW | EIE mW | ratio |\n|---|---|---|---|\n";
  double sim_total = 0;
  for (const paper::Module& m : paper::kModules) {
    double uj = 0;
    for (const EieLayer& l : r.layers) uj += module_uj(l, m);
    const double mw = uj / total_us / pes * 1e3;
    sim_total += mw;
    md << "| " << m.name << " | " << fmt("%.3f", mw) << " | " << fmt("%.3f", m.mw) << " | " << fmt("%.2f", mw / m.mw)
       << " |\n";
  }
  const double leakage_w = r.layers.front().leakage_w;
  md << "| dynamic, all | " << fmt("%.3f", sim_total) << " | " << fmt("%.3f", paper::kPeMw) << " (all) | "
     << fmt("%.2f", sim_total / paper::kPeMw) << " |\n\n"
     << "The 64 PEs draw " << fmt("%.2f", total_uj / total_us) << " W dynamic on average, "
     << fmt("%.2f", total_uj / total_us + leakage_w) << " W with the leakage of their blocks ("
     << fmt("%.2f", leakage_w) << " W), against the paper's " << fmt("%.2f", paper::kPowerW)
     << " W for everything. Where the model differs:\n\n"
        "- **Sparse-matrix reads**: every 64-bit word is priced as a read of a 128 KB macro by Horowitz's "
        "cache energies (tags included: the table says they overstate a scratchpad) plus its bits' wires "
        "across the memory; EIE's figure comes from its synthesized SRAM.\n"
        "- **Accumulators**: the engine keeps int32 sums in SRAM, each multiply-accumulate reading and "
        "writing 4 bytes; EIE's destination activations are 16-bit registers beside the arithmetic.\n"
        "- **Arithmetic and queues**: priced as two int8 multiplies and an int32 add per MAC, and one "
        "register bit per queued bit, with no clock or control overhead, which EIE's figures include.\n"
        "- **Leakage**: the area table's leakage per mm2 (calibrated to TPU v1's idle power at 28 nm, "
        "scaled to 45 nm) over the engine's area below; EIE states no leakage apart.\n";
}

void area_section(std::ostringstream& md, const EieReport& r) {
  double total = 0;
  for (const auto& [block, mm2] : r.engine_mm2) total += mm2;
  md << "\n## Area\n\n| block | simulated mm2 |\n|---|---|\n";
  for (const auto& [block, mm2] : r.engine_mm2) md << "| " << block << " | " << fmt("%.1f", mm2) << " |\n";
  md << "| engine | " << fmt("%.1f", total) << " |\n\nEIE's 64 PEs take " << fmt("%.1f", paper::kAreaMm2)
     << " mm2 (Table II: " << fmt("%.3f", 64 * paper::kModules[2].um2 / 1e6) << " mm2 of sparse-matrix SRAM, "
     << fmt("%.3f", 64 * paper::kModules[1].um2 / 1e6)
     << " mm2 of pointers). The model's SRAM area comes from one rule for every memory of the chip (the "
        "area table, `configs/energy/28nm_area.yaml`): mm2 per byte calibrated to TPU v1's unified buffer and "
        "accumulators on its die photo, whose share includes their wiring and ports, scaled to 45 nm by the "
        "square of the node. That makes the engine's SRAMs "
     << fmt("%.1f", total / paper::kAreaMm2)
     << "x EIE's, whose SRAMs are dense single-ported macros; the same rule gives its leakage above.\n";
}

void queue_section(std::ostringstream& md, const EieReport& r, const std::string& folder) {
  std::vector<double> idle1, idle8, gain;
  for (const auto& [layer, by] : r.queue_idle) {
    idle1.push_back(by.at(1));
    idle8.push_back(by.at(8));
    const auto& c = r.queue_cycles.at(layer);
    gain.push_back(1 - c.rbegin()->second / c.at(8));
  }
  auto per_column = [&](const EieLayer& l) { return double(l.entries) / double(l.activations) / double(r.pes); };
  auto by_idle = [&](const EieLayer& a, const EieLayer& b) { return r.queue_idle.at(a.name).at(1) < r.queue_idle.at(b.name).at(1); };
  const EieLayer* most = &*std::max_element(r.layers.begin(), r.layers.end(), by_idle);
  const EieLayer* least = &*std::min_element(r.layers.begin(), r.layers.end(), by_idle);
  md << "\n## Activation queue depth\n\n![PE idle share against queue depth](" << folder
     << "/queue_depth.svg)\n\n| layer | idle at depth 1 | idle at 8 | time at 256 against 8 |\n|---|---|---|---|\n";
  for (const EieLayer& l : r.layers) {
    const auto& by = r.queue_idle.at(l.name);
    const auto& c = r.queue_cycles.at(l.name);
    md << "| " << l.name << " | " << percent(by.at(1)) << " | " << percent(by.at(8)) << " | "
       << signed_percent(c.rbegin()->second / c.at(8) - 1) << " |\n";
  }
  md << "\nWith queues of one, " << percent(mean_of(idle1))
     << " of the PEs' cycles are idle on average over the nine layers (the paper: about half); at 8, "
     << percent(mean_of(idle8)) << ", and 256 entries save " << percent(mean_of(gain))
     << " of the time more (the paper: marginal gains beyond 8). Idle time with short queues comes of how "
        "unevenly a column's work falls on the PEs against its mean: most in "
     << most->name << " (" << fmt("%.1f", per_column(*most)) << " entries per PE per column), least in " << least->name
     << " (" << fmt("%.1f", per_column(*least)) << ").\n";
}

void pe_section(std::ostringstream& md, const EieReport& r, const std::string& folder) {
  md << "\n## PE count\n\n![Speedup per PE against the PE count](" << folder
     << "/pe_speedup.svg)\n\nThe same 8 MiB of sparse-matrix SRAM and 128 KiB of accumulators over 1 to 256 PEs "
        "(each keeps its 32 KiB of pointers; a layer too large for them runs in slices).\n\n"
        "| layer | speedup at 64 | at 256 | fillers per MAC at 1 PE | at 64 |\n|---|---|---|---|---|\n";
  for (const EieLayer& l : r.layers) {
    const auto& c = r.pe_cycles.at(l.name);
    const auto& f = r.pe_fillers_per_mac.at(l.name);
    md << "| " << l.name << " | " << fmt("%.1f", c.at(1) / c.at(64)) << " | " << fmt("%.1f", c.at(1) / c.at(256))
       << " | " << fmt("%.2f", f.at(1)) << " | " << fmt("%.2f", f.at(64)) << " |\n";
  }
  md << "\nTwo effects the paper's scalability figure does not separate. More PEs give each a shorter "
        "column (its rows i mod PEs): a run of zeros ends at a column's end, so fewer runs exceed 15 and "
        "need a filler, and the sparsest layers speed up by more than the PE count. With few rows per "
        "PE the opposite: a PE whose part of a column is empty still spends the cycle of its pointer read, "
        "so NT-We (600 rows: 2 or 3 per PE at 256) gains only "
     << fmt("%.1f", r.pe_cycles.at("NT-We").at(64) / r.pe_cycles.at("NT-We").at(256)) << "x from 64 PEs to 256.\n";
}

void comparison_section(std::ostringstream& md, const EieReport& r, int64_t batch) {
  md << "\n## Dense on the matrix unit against compressed on the engine\n\n"
        "Each layer dense (int8, every weight) on TPU v1 (`configs/tpu_v1.yaml`: 700 MHz, 28 nm) and on the "
        "EIE configuration's matrix unit (the same chip as the engine: 800 MHz, 45 nm), and compressed on "
        "the engine, at batch 1 and "
     << batch
     << ". Latency is the whole run's, from the first instruction (the engine's image load included); "
        "energy (all of each chip, its static power included; dynamic in brackets) and weight-DRAM bytes "
        "are per inference.\n\n| layer | batch | TPU v1 dense µs | EIE chip dense µs | EIE sparse µs | TPU v1 "
        "dense µJ | EIE chip dense µJ | EIE sparse µJ | TPU v1 dense B | EIE sparse B |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n";
  auto find = [&](const std::string& layer, const std::string& chip, int64_t b) -> const EieComparison& {
    for (const EieComparison& c : r.comparisons)
      if (c.layer == layer && c.chip == chip && c.batch == b) return c;
    throw SweepError("the EIE report has no run of " + layer + " on " + chip);
  };
  std::vector<double> speed1, speedb;
  for (const EieLayer& l : r.layers)
    for (int64_t b : {int64_t{1}, batch}) {
      const EieComparison &t = find(l.name, "TPU v1 dense", b), &d = find(l.name, "EIE chip dense", b),
                          &s = find(l.name, "EIE chip sparse", b);
      (b == 1 ? speed1 : speedb).push_back(d.latency_us / s.latency_us);
      md << "| " << l.name << " | " << b << " | " << fmt("%.1f", t.latency_us) << " | " << fmt("%.1f", d.latency_us)
         << " | " << fmt("%.1f", s.latency_us) << " | " << fmt("%.0f", t.energy_uj) << " ("
         << fmt("%.1f", t.dynamic_uj) << ") | " << fmt("%.0f", d.energy_uj) << " (" << fmt("%.1f", d.dynamic_uj)
         << ") | " << fmt("%.0f", s.energy_uj) << " (" << fmt("%.1f", s.dynamic_uj) << ") | "
         << fmt("%.0f", t.dram_bytes) << " | " << fmt("%.0f", s.dram_bytes) << " |\n";
    }
  md << "\nOn the same chip the matrix unit takes " << fmt("%.1f", *std::min_element(speed1.begin(), speed1.end()))
     << "x to " << fmt("%.1f", *std::max_element(speed1.begin(), speed1.end()))
     << "x the engine's time at batch 1, the engine's image load included: the matrix unit streams every "
        "int8 weight from weight DRAM, the engine a compressed image a fraction of the size. At batch "
     << batch << " the matrix unit reuses each weight tile across the batch while the engine works through "
        "its entries once per sample: "
     << fmt("%.1f", *std::min_element(speedb.begin(), speedb.end())) << "x to "
     << fmt("%.1f", *std::max_element(speedb.begin(), speedb.end()))
     << "x. VGG-6 runs in two column slices, which cannot both stay in the SRAMs, so it loads both for every "
        "sample and its weight-DRAM bytes grow with the batch. Energy per inference follows the time, the "
        "chips' static power (the whole TPU v1 die's) being most of it.\n";
}

// One line per layer over a sweep's values (log2 x), y computed from the layer's figures and x.
report::Chart sweep_chart(const EieReport& r, const char* name, const char* xlabel, const char* ylabel,
                          const std::map<std::string, std::map<int64_t, double>>& figures,
                          const std::function<double(const std::map<int64_t, double>&, int64_t)>& y) {
  report::Chart c;
  c.name = name;
  c.xlabel = xlabel;
  c.ylabel = ylabel;
  c.log_x = true;
  c.log_x_base = 2;
  c.log_y = false;
  c.key = "outside right top";
  for (const EieLayer& l : r.layers) {
    const auto& by = figures.at(l.name);
    report::Series s{l.name, {}, "with linespoints lw 1.5 pointsize 0.9"};
    for (const auto& [x, figure] : by) s.points.emplace_back(double(x), y(by, x));
    c.series.push_back(s);
  }
  return c;
}

}  // namespace

void write_eie_text(const EieOptions& options, EieReport* report) {
  const EieReport& r = *report;
  std::ostringstream md;
  md << "# EIE validation: the sparse engine against the EIE paper\n\n"
        "Generated by `build/tpusim report eie` on `"
     << options.config << "` from the nine layers of `" << options.workloads << "/` and the sweeps `"
     << options.queue_sweep << "` and `" << options.pe_sweep
     << "`; a test checks this file against a fresh run. The reference is Han et al., \"EIE: Efficient Inference "
        "Engine on Compressed Deep Neural Network\", ISCA 2016. Each layer's weights are seeded, pruned by "
        "magnitude to the paper's density and shared 15 ways by the compiler; its input is seeded with the "
        "paper's fraction of non-zero activations. Times are the PE array's cycles at the engine's "
     << fmt("%.0f", r.engine_mhz)
     << " MHz with the layer resident; its load from weight DRAM, before the first run, is listed apart.\n\n"
        "## The benchmark layers (Table III)\n\n";
  layer_table(md, r);
  std::vector<double> mac_share;
  for (const EieLayer& l : r.layers) mac_share.push_back(l.gops / r.peak_gops);
  md << "\nIdeal: the PEs' work (entries and empty columns) spread evenly over them; the load imbalance is "
        "the busiest PE's work over the mean's. GOP/s counts two operations per multiply-accumulate on a "
        "non-zero weight and a non-zero activation; the dense-equivalent figure counts every weight of the "
        "uncompressed layer. The engine's peak is "
     << fmt("%.1f", r.peak_gops) << " GOP/s (the paper's " << fmt("%.0f", paper::kPeakGops)
     << "); the layers reach " << percent(*std::min_element(mac_share.begin(), mac_share.end())) << " to "
     << percent(*std::max_element(mac_share.begin(), mac_share.end()))
     << " of it, the rest going to fillers, empty columns, the broadcast's waits and the pipeline.\n";
  times_section(md, r);
  energy_section(md, r);
  area_section(md, r);
  queue_section(md, r, options.charts_folder);
  pe_section(md, r, options.charts_folder);
  comparison_section(md, r, options.batch);
  report->markdown = md.str();
  report::Chart queue = sweep_chart(r, "queue_depth", "activation queue depth", "PE cycles idle (%)", r.queue_idle,
                                    [](const auto& by, int64_t depth) { return 100 * by.at(depth); });
  report::Chart pes = sweep_chart(r, "pe_speedup", "PEs", "speedup over one PE, per PE", r.pe_cycles,
                                  [](const auto& by, int64_t n) { return by.at(1) / by.at(n) / double(n); });
  report::Series linear{"linear", {}, "with lines dt 2 lw 2 lc rgb 'black'"};
  for (const auto& [n, cycles] : r.pe_cycles.begin()->second) linear.points.emplace_back(double(n), 1.0);
  pes.series.push_back(linear);
  report->charts = {queue, pes};
}

}  // namespace tpu::sweep
