#pragma once

// The EIE validation report (`tpusim report eie` -> reports/eie_validation.md):
// the sparse engine on configs/eie.yaml against Han et al., "EIE: Efficient
// Inference Engine on Compressed Deep Neural Network", ISCA 2016. The nine
// benchmark layers of its Table III (workloads/eie/), each run once with its
// weights resident: cycles, the ideal time and the load imbalance, fillers,
// GOP/s, energy and power by memory against the paper's Table II, its measured
// AlexNet times (Table IV); two sweeps (activation queue depth, PE count) as
// charts; and the same layers dense on the matrix unit against compressed on
// the engine, at batch 1 and a larger batch.

#include <map>
#include <string>
#include <vector>

#include "tools/report/plot.h"

namespace tpu::sweep {

// workloads/eie/<stem>.yaml, in the order of the paper's Table III.
inline constexpr const char* kEieLayers[] = {"alex6", "alex7", "alex8", "vgg6", "vgg7", "vgg8", "nt_we", "nt_wd",
                                             "nt_lstm"};

// What the paper publishes that the report compares with (Han et al., ISCA 2016).
namespace eie_paper {
inline constexpr double kPeakGops = 102;   // 64 PEs at 800 MHz, on compressed layers (Sec. VI)
inline constexpr double kPowerW = 0.59;    // 64 PEs (Table II and Sec. VI)
inline constexpr double kAreaMm2 = 40.8;   // 64 PEs
inline constexpr double kPeMw = 9.157;     // one PE at 800 MHz (Table II)
inline constexpr double kIdleAtDepthOne = 0.5;  // "about half" of the cycles idle with queues of 1 (Sec. VI-B)
inline constexpr double kOverIdeal = 0.10;  // the measured AlexNet times are about 10% above the ideal (Sec. VI)
// Table II, one PE: power (mW) and area (um2) by module.
struct Module {
  const char* name;
  double mw, um2;
};
inline const std::vector<Module> kModules = {{"sparse-matrix read", 4.955, 469412},
                                             {"pointer read", 1.807, 121849},
                                             {"arithmetic", 1.162, 3110},
                                             {"activation read/write", 1.122, 18934},
                                             {"activation queue", 0.112, 758}};
// Table IV: EIE's measured times, in microseconds.
inline const std::map<std::string, double> kMeasuredUs = {{"Alex-6", 30.3}, {"Alex-7", 12.2}, {"Alex-8", 9.9}};
}  // namespace eie_paper

// The engine's priced counters behind each of the paper's modules, in kModules' order.
inline const std::vector<std::vector<std::string>> kModuleCounters = {
    {"spmat_read_bytes"}, {"pointer_read_bytes"}, {"macs", "outputs"},
    {"accumulator_read_bytes", "accumulator_write_bytes"}, {"queue_bits"}};

// One benchmark layer's run on the engine, its weights resident (batch 1).
struct EieLayer {
  std::string name;     // Alex-6
  std::string file;     // its workload
  uint64_t rows = 0, cols = 0;
  double weight_density = 0;      // the model's
  double activation_density = 0;  // the workload's (the paper's Table III)
  uint64_t activations = 0;       // non-zero inputs broadcast
  uint64_t entries = 0, fillers = 0, macs = 0, slices = 0;
  uint64_t cycles = 0;            // the PE array's, in engine cycles
  double us = 0, ideal_us = 0;    // ideal: the PEs' work spread evenly (mean PE's busy cycles)
  double load_imbalance = 0;      // busiest PE's work over the mean PE's
  double gops = 0, dense_gops = 0;  // 2 x MACs (non-zero, and rows x cols) per second
  std::map<std::string, double> energy_uj;  // computing (the load aside), by the engine's priced counter
  double dynamic_uj = 0, leakage_w = 0, power_w = 0;  // power: dynamic over the time, plus leakage
  double mac_ideal_us = 0;        // the MACs alone spread evenly, at one a cycle per PE
  double load_us = 0;             // streaming its image from weight DRAM, before the first run
};

// A layer dense on a chip's matrix unit or compressed on its engine, at a batch.
struct EieComparison {
  // chip: "TPU v1 dense", "EIE chip dense", "EIE chip sparse", "EIE chip sparse, resident" (a
  // second inference, its image already loaded: batch 2 less batch 1)
  std::string layer, chip;
  int64_t batch = 0;
  double latency_us = 0, energy_uj = 0, dynamic_uj = 0, dram_bytes = 0;  // energy and bytes per inference
};

struct EieReport {
  std::string markdown;
  std::vector<report::Chart> charts;
  std::vector<EieLayer> layers;
  // Sweeps: per layer, per value (queue depth or PEs), the PE array's cycles and its PEs' idle share.
  std::map<std::string, std::map<int64_t, double>> queue_cycles, queue_idle, pe_cycles;
  std::map<std::string, std::map<int64_t, double>> pe_fillers_per_mac;  // the PE sweep's filler entries per MAC
  std::vector<EieComparison> comparisons;
  int64_t pes = 0;
  double engine_mhz = 0;
  int64_t spmat_bytes = 0, pointer_bytes = 0;  // per PE
  // The two chips as the comparison names them: clock and node.
  double dense_mhz = 0, dense_nm = 0, eie_mhz = 0, eie_nm = 0;
  double peak_gops = 0;  // 2 x PEs x the engine's clock
  std::map<std::string, double> engine_mm2;  // by block (sparse_spmat, ...)
  std::string energy_table, area_table;      // the engine's chip's, as its runs name them
};

struct EieOptions {
  std::string config = "configs/eie.yaml";  // the engine's chip, as the report names it
  std::string dense_config = "configs/tpu_v1.yaml";
  std::string workloads = "workloads/eie";  // the nine layers
  std::string queue_sweep = "configs/sweeps/eie_queue_depth.yaml";
  std::string pe_sweep = "configs/sweeps/eie_pes.yaml";
  std::string results_dir = "build/studies";  // the sweeps' results go to DIR/NAME
  std::string charts_folder = "eie_validation";  // how the markdown names the chart folder
  std::string root;  // prefixed to the relative paths above when reading (the source tree), not in the text
  int jobs = 1;
  int64_t batch = 64;  // the larger batch of the comparison
};

// Runs what it needs and builds the report. Throws SweepError (or the errors of what it runs).
EieReport eie_report(const EieOptions& options);

}  // namespace tpu::sweep
