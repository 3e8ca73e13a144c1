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

// Entries per PE per non-zero activation: how long a PE's share of a column is.
double column_entries(const EieReport& r, const EieLayer& l) {
  return double(l.entries) / double(l.activations) / double(r.pes);
}

void times_section(std::ostringstream& md, const EieReport& r) {
  md << "\n## Times against the paper's measurements (Table IV)\n\n"
        "| layer | simulated µs | EIE measured µs | difference | the difference per non-zero activation, cycles | "
        "entries per PE per column | simulated over its ideal | simulated over the MAC ideal | EIE over the MAC "
        "ideal |\n|---|---|---|---|---|---|---|---|---|\n";
  std::vector<double> over, gap;
  std::string more, less;  // layers the silicon takes longer on than the model, and shorter
  for (const EieLayer& l : r.layers) {
    const auto it = paper::kMeasuredUs.find(l.name);
    if (it == paper::kMeasuredUs.end()) continue;
    gap.push_back((it->second - l.us) * r.engine_mhz / double(l.activations));
    std::string& list = gap.back() > 0 ? more : less;
    list += (list.empty() ? "" : " and ") + l.name;
    over.push_back(100 * (l.us / l.ideal_us - 1));
    md << "| " << l.name << " | " << fmt("%.2f", l.us) << " | " << fmt("%.1f", it->second) << " | "
       << signed_percent(l.us / it->second - 1) << " | " << fmt("%+.2f", gap.back()) << " | "
       << fmt("%.1f", column_entries(r, l)) << " | " << signed_percent(l.us / l.ideal_us - 1) << " | "
       << signed_percent(l.us / l.mac_ideal_us - 1) << " | " << signed_percent(it->second / l.mac_ideal_us - 1)
       << " |\n";
  }
  if (gap.empty()) return;
  auto range = [](const std::vector<double>& v, const char* format) {
    return fmt(format, *std::min_element(v.begin(), v.end())) + " to " + fmt(format, *std::max_element(v.begin(), v.end()));
  };
  md << "\nThe model's time is its PEs' work (an entry a cycle, fillers included, and a cycle for a column "
        "with no entries) behind the broadcast; its ideal is that work spread evenly over the PEs, so the time "
        "over the ideal is the load imbalance and the broadcast's waits. The paper measures its AlexNet times "
        "about "
     << fmt("%.0f%%", 100 * paper::kOverIdeal) << " above its ideal for load imbalance; the model's lie "
     << range(over, "%+.1f%%")
     << " above theirs: the seeded layers scatter their non-zeros uniformly, where real pruned layers cluster "
        "them by row and column. The silicon takes longer than the model on "
     << (more.empty() ? std::string("none") : more) << " and less on " << (less.empty() ? std::string("none") : less)
     << "; spread over the non-zero activations, the differences come to "
     << range(gap, "%+.2f")
     << " cycles per column, so no single per-column cost the model leaves out (it overlaps each column's pointer "
        "read with the previous column's entries and reads the sparse-matrix words as fast as the entries are "
        "used) closes all three. What the silicon spends beyond the model is not in the paper, and the model leaves "
        "these differences unexplained beyond the imbalance real weights add.\n";
}

void energy_section(std::ostringstream& md, const EieReport& r) {
  md << "\n## Energy and power (Table II)\n\n"
        "Each layer's energy in computing (its load from weight DRAM aside), from the engine's counters "
        "priced by the energy table's SRAM and arithmetic rules (`"
     << r.energy_table << "`), and its "
        "average power: that energy over the time, plus the leakage of the engine's blocks.\n\n"
        "| layer | sparse-matrix reads µJ | pointers µJ | arithmetic µJ | accumulators µJ | queues µJ | total µJ "
        "| dynamic W | leakage W | power W |\n|---|---|---|---|---|---|---|---|---|---|\n";
  auto module_uj = [](const EieLayer& l, size_t m) {
    double uj = 0;
    for (const std::string& c : kModuleCounters[m]) uj += l.energy_uj.count(c) ? l.energy_uj.at(c) : 0;
    return uj;
  };
  double total_uj = 0, total_us = 0;
  for (const EieLayer& l : r.layers) {
    md << "| " << l.name;
    for (size_t m = 0; m < paper::kModules.size(); ++m) md << " | " << fmt("%.2f", module_uj(l, m));
    md << " | " << fmt("%.2f", l.dynamic_uj) << " | " << fmt("%.2f", l.dynamic_uj / l.us) << " | "
       << fmt("%.2f", l.leakage_w) << " | " << fmt("%.2f", l.power_w) << " |\n";
    total_uj += l.dynamic_uj;
    total_us += l.us;
  }
  const double pes = static_cast<double>(r.pes);
  md << "\nPer PE, over the nine layers together (energy over time), against the paper's Table II:\n\n"
        "| module | simulated mW | EIE mW | ratio |\n|---|---|---|---|\n";
  double sim_total = 0;
  for (size_t i = 0; i < paper::kModules.size(); ++i) {
    const paper::Module& m = paper::kModules[i];
    double uj = 0;
    for (const EieLayer& l : r.layers) uj += module_uj(l, i);
    const double mw = uj / total_us / pes * 1e3;
    sim_total += mw;
    md << "| " << m.name << " | " << fmt("%.3f", mw) << " | " << fmt("%.3f", m.mw) << " | " << fmt("%.2f", mw / m.mw)
       << " |\n";
  }
  const double leakage_w = r.layers.front().leakage_w;
  md << "| dynamic, all | " << fmt("%.3f", sim_total) << " | " << fmt("%.3f", paper::kPeMw) << " (all) | "
     << fmt("%.2f", sim_total / paper::kPeMw) << " |\n\n"
     << "The " << r.pes << " PEs draw " << fmt("%.2f", total_uj / total_us) << " W dynamic on average, "
     << fmt("%.2f", total_uj / total_us + leakage_w) << " W with the leakage of their blocks ("
     << fmt("%.2f", leakage_w) << " W), against the paper's " << fmt("%.2f", paper::kPowerW)
     << " W for everything. Where the model differs:\n\n"
        "- **Sparse-matrix reads**: every 64-bit word is priced as a read of a "
     << r.spmat_bytes / 1024 << " KB macro by Horowitz's "
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
  const double pes = double(r.pes), spmat = pes * paper::kModules[0].um2 / 1e6, pointers = pes * paper::kModules[1].um2 / 1e6;
  md << "| engine | " << fmt("%.1f", total) << " |\n\nEIE's 64 PEs take " << fmt("%.1f", paper::kAreaMm2)
     << " mm2; by Table II, " << r.pes << " PEs hold " << fmt("%.1f", spmat) << " mm2 of sparse-matrix SRAM and "
     << fmt("%.1f", pointers) << " mm2 of pointers, where the model has "
     << fmt("%.1f", r.engine_mm2.at("sparse_spmat") / spmat) << "x and "
     << fmt("%.1f", r.engine_mm2.at("sparse_pointers") / pointers)
     << "x as much. The model's SRAM area comes from one rule for every memory of the chip (the area table, "
        "`"
     << r.area_table << "`): mm2 per byte calibrated to TPU v1's unified buffer and accumulators "
        "on its die photo, whose share includes their wiring and ports, scaled to 45 nm by the square of the "
        "node; EIE's SRAMs are dense single-ported macros. The same rule gives the leakage above.\n";
}

void queue_section(std::ostringstream& md, const EieReport& r, const std::string& folder) {
  std::vector<double> idle1, idle8, gain;
  for (const auto& [layer, by] : r.queue_idle) {
    idle1.push_back(by.at(1));
    idle8.push_back(by.at(8));
    const auto& c = r.queue_cycles.at(layer);
    gain.push_back(1 - c.rbegin()->second / c.at(8));
  }
  auto per_column = [&](const EieLayer& l) { return column_entries(r, l); };
  auto by_idle = [&](const EieLayer& a, const EieLayer& b) { return r.queue_idle.at(a.name).at(1) < r.queue_idle.at(b.name).at(1); };
  const EieLayer* most = &*std::max_element(r.layers.begin(), r.layers.end(), by_idle);
  const EieLayer* least = &*std::min_element(r.layers.begin(), r.layers.end(), by_idle);
  md << "\n## Activation queue depth\n\n![PE idle share against queue depth](" << folder
     << "/queue_depth.svg)\n\n| layer | idle at depth 1 | idle at 8 | time at the deepest against 8 |\n|---|---|---|---|\n";
  for (const EieLayer& l : r.layers) {
    const auto& by = r.queue_idle.at(l.name);
    const auto& c = r.queue_cycles.at(l.name);
    md << "| " << l.name << " | " << percent(by.at(1)) << " | " << percent(by.at(8)) << " | "
       << signed_percent(c.rbegin()->second / c.at(8) - 1) << " |\n";
  }
  const int64_t deepest = r.queue_cycles.begin()->second.rbegin()->first;
  md << "\nWith queues of one, " << percent(mean_of(idle1)) << " of the PEs' cycles are idle on average over the "
     << r.layers.size() << " layers (the paper: about " << fmt("%.0f%%", 100 * paper::kIdleAtDepthOne) << "); at 8, "
     << percent(mean_of(idle8)) << ", and " << deepest << " entries save " << percent(mean_of(gain))
     << " of the time more (the paper: marginal gains beyond 8). Idle time with short queues comes of how "
        "unevenly a column's work falls on the PEs against its mean: most in "
     << most->name << " (" << fmt("%.1f", per_column(*most)) << " entries per PE per column), least in " << least->name
     << " (" << fmt("%.1f", per_column(*least))
     << "). The model idles less than the paper at depth 1 because its seeded non-zeros are uniform: a column's "
        "work varies less from PE to PE than in real layers, so a queue of one leaves a PE waiting less often than in real layers.\n";
}

void pe_section(std::ostringstream& md, const EieReport& r, const std::string& folder) {
  const int64_t most = r.pe_cycles.begin()->second.rbegin()->first;
  const EieLayer& fewest = *std::min_element(r.layers.begin(), r.layers.end(),
                                             [](const EieLayer& a, const EieLayer& b) { return a.rows < b.rows; });
  const auto& fc = r.pe_cycles.at(fewest.name);
  md << "\n## PE count\n\n![Speedup per PE against the PE count](" << folder
     << "/pe_speedup.svg)\n\nThe sweep keeps the engine's total sparse-matrix SRAM and accumulators as the PEs grow "
        "in number (each keeps its pointers; a layer too large for them runs in slices).\n\n"
        "| layer | speedup at 64 | at " << most << " | fillers per MAC at 1 PE | at 64 |\n|---|---|---|---|---|\n";
  for (const EieLayer& l : r.layers) {
    const auto& c = r.pe_cycles.at(l.name);
    const auto& f = r.pe_fillers_per_mac.at(l.name);
    md << "| " << l.name << " | " << fmt("%.1f", c.at(1) / c.at(64)) << " | " << fmt("%.1f", c.at(1) / c.at(most))
       << " | " << fmt("%.2f", f.at(1)) << " | " << fmt("%.2f", f.at(64)) << " |\n";
  }
  std::string beyond;
  for (const EieLayer& l : r.layers)
    if (r.pe_cycles.at(l.name).at(1) / r.pe_cycles.at(l.name).at(64) > 64) beyond += (beyond.empty() ? "" : ", ") + l.name;
  md << "\nTwo effects the paper's scalability figure does not separate. More PEs give each a shorter "
        "column (its rows i mod PEs): a run of zeros ends at a column's end, so fewer runs exceed 15 and "
        "need a filler, and at 64 PEs "
     << (beyond.empty() ? std::string("no layer") : beyond)
     << " speed" << (beyond.find(',') == std::string::npos && !beyond.empty() ? "s" : "")
     << " up by more than the PE count. With few rows per "
        "PE the opposite: a PE whose part of a column is empty still spends the cycle of its pointer read, "
        "so "
     << fewest.name << " (" << fewest.rows << " rows: " << fmt("%.1f", double(fewest.rows) / double(most))
     << " per PE at " << most << ") gains only " << fmt("%.1f", fc.at(64) / fc.at(most)) << "x from 64 PEs to " << most
     << ".\n";
}

void comparison_section(std::ostringstream& md, const EieReport& r, const EieOptions& o) {
  const int64_t batch = o.batch;
  md << "\n## Dense on the matrix unit against compressed on the engine\n\n"
        "Each layer dense (int8, every weight) on TPU v1 (`"
     << o.dense_config << "`: " << fmt("%.0f", r.dense_mhz) << " MHz, " << fmt("%.0f", r.dense_nm)
     << " nm) and on the matrix unit of the engine's own chip (`" << o.config << "`: " << fmt("%.0f", r.eie_mhz)
     << " MHz, " << fmt("%.0f", r.eie_nm) << " nm), and compressed on the engine, at batch 1 and " << batch
     << ". Latency is the whole run's, from the first instruction (the engine's image load included); energy (all "
        "of each chip, its static power included; dynamic in brackets) and weight-DRAM bytes are per inference. "
        "The matrix unit streams its weights every inference; the engine keeps its image, so a second "
        "inference at batch 1 (resident: batch 2 less batch 1) costs less than the first.\n\n"
        "| layer | batch | TPU v1 dense µs | EIE chip dense µs | EIE sparse µs | resident µs | TPU v1 dense µJ | "
        "EIE chip dense µJ | EIE sparse µJ | resident µJ | dense B | EIE sparse B | resident B |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  auto find = [&](const std::string& layer, const std::string& chip, int64_t b) -> const EieComparison& {
    for (const EieComparison& c : r.comparisons)
      if (c.layer == layer && c.chip == chip && c.batch == b) return c;
    throw SweepError("the EIE report has no run of " + layer + " on " + chip);
  };
  auto energy = [](const EieComparison& c) { return fmt("%.0f", c.energy_uj) + " (" + fmt("%.1f", c.dynamic_uj) + ")"; };
  std::vector<double> speed1, speedb, resident;
  std::vector<std::string> reloaded;
  for (const EieLayer& l : r.layers)
    for (int64_t b : {int64_t{1}, batch}) {
      const EieComparison &t = find(l.name, "TPU v1 dense", b), &d = find(l.name, "EIE chip dense", b),
                          &s = find(l.name, "EIE chip sparse", b);
      (b == 1 ? speed1 : speedb).push_back(d.latency_us / s.latency_us);
      md << "| " << l.name << " | " << b << " | " << fmt("%.1f", t.latency_us) << " | " << fmt("%.1f", d.latency_us)
         << " | " << fmt("%.1f", s.latency_us) << " | ";
      if (b == 1) {
        const EieComparison& w = find(l.name, "EIE chip sparse, resident", 1);
        resident.push_back(d.latency_us / w.latency_us);
        md << fmt("%.1f", w.latency_us) << " | " << energy(t) << " | " << energy(d) << " | " << energy(s) << " | "
           << energy(w) << " | " << fmt("%.0f", t.dram_bytes) << " | " << fmt("%.0f", s.dram_bytes) << " | "
           << fmt("%.0f", w.dram_bytes) << " |\n";
      } else {
        md << " | " << energy(t) << " | " << energy(d) << " | " << energy(s) << " |  | " << fmt("%.0f", t.dram_bytes)
           << " | " << fmt("%.0f", s.dram_bytes) << " |  |\n";
        if (s.dram_bytes > 0.5 * find(l.name, "EIE chip sparse", 1).dram_bytes) reloaded.push_back(l.name);
      }
    }
  auto range = [](const std::vector<double>& v) {
    return fmt("%.1f", *std::min_element(v.begin(), v.end())) + "x to " + fmt("%.1f", *std::max_element(v.begin(), v.end())) + "x";
  };
  md << "\nOn the same chip the matrix unit takes " << range(speed1)
     << " the engine's time at batch 1, the engine's image load included, and " << range(resident)
     << " with the image resident: the matrix unit streams every int8 weight from weight DRAM, the engine a "
        "compressed image a fraction of the size, once. At batch "
     << batch << " the matrix unit reuses each weight tile across the batch while the engine works through its "
        "entries once per sample: " << range(speedb) << ".";
  std::string sliced;
  for (const EieLayer& l : r.layers)
    if (l.slices > 1)
      sliced += (sliced.empty() ? "" : ", ") + l.name + " (" + std::to_string(l.slices) + " slices)";
  if (!sliced.empty())
    md << " Too large for a PE's SRAMs or what its 16-bit pointers reach, and run in column slices: " << sliced << ".";
  for (const std::string& name : reloaded)
    md << " " << name << "'s slices cannot all stay in the SRAMs, so every sample loads them again and its "
          "weight-DRAM bytes per inference do not fall with the batch.";
  md << " Energy per inference follows the time, each chip's static power being most of it.\n";
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
  comparison_section(md, r, options);
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
