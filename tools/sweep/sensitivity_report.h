#pragma once

// The TPU v1 sensitivity study (configs/sweeps/tpu_v1_sensitivity.yaml ->
// reports/tpu_v1_sensitivity.md): the TPU paper's Section 7 (Jouppi et al.,
// ISCA 2017, Figure 11 and TPU') on the simulated chip. Each point of the
// sweep changes some keys of TPU v1 by one factor; the report names a point
// by the keys it changes (memory, clock, clock+, matrix, matrix+, or a TPU'
// point), gives each application's performance relative to TPU v1 and the
// weighted mean the sweep file defines, and sets the paper's statements
// beside the simulated figures with the model's reason for each difference.

#include <map>
#include <string>
#include <vector>

#include "tools/report/plot.h"

namespace tpu::sweep {

struct SensitivityPoint {
  size_t point = 0;
  std::string variant;  // "memory", "clock", "clock+", "matrix", "matrix+", "TPU v1", or the keys changed
  double scale = 1;     // the factor of the variant's main key
  std::map<std::string, double> speedup;  // per workload name, inferences/s over TPU v1's
  double weighted = 0, geometric = 0;     // means of the speedups
  std::map<std::string, double> weight_bytes;  // weight DRAM bytes per run, per workload
  std::string tpu_prime;  // for a TPU' design point: "clock" (1050 MHz), "memory" (GDDR5-class), "both"
};

// What the verdicts take "about 3x" (the paper's gain from 4x bandwidth, and its abstract's from
// GDDR5 weight memory) to admit of a weighted mean.
constexpr double kAboutThreeLow = 2.0, kAboutThreeHigh = 3.5;

struct SensitivityReport {
  std::string markdown;
  std::vector<report::Chart> charts;  // drawn into the folder beside the markdown
  std::vector<SensitivityPoint> points;
  // The paper's statements checked against the model: statement -> agrees.
  std::vector<std::pair<std::string, bool>> verdicts;
};

struct SensitivityOptions {
  std::string sweep_file;
  std::string sweep_name;     // how the report names it (configs/sweeps/tpu_v1_sensitivity.yaml)
  std::string results_dir;    // the sweep's results, resumed (or started afresh when another sweep's)
  int jobs = 1;
  std::string charts_folder;  // how the markdown names the chart folder
};

// Runs (or resumes) the sweep and builds the report. Throws SweepError.
SensitivityReport sensitivity_report(const SensitivityOptions& options);

}  // namespace tpu::sweep
