#pragma once

// The TPU v1 validation report: the six production applications on the TPU
// v1 configuration, their simulated TOPS next to the paper's measurements,
// the performance counters, memory and energy, a roofline chart, and an
// explanation of every difference over 10%.

#include <optional>
#include <string>
#include <vector>

#include "sim/base/params.h"
#include "tools/report/plot.h"

namespace tpu::report {

struct ValidationReport {
  std::string markdown;
  Chart roofline;  // drawn beside the markdown, in tpu_v1_validation/
  // Each application's simulated TOPS beside what its workload states: the published figure and the band.
  struct Figure {
    std::string app;
    double tops = 0;
    double roof = 0;        // the run's bound: min(peak, 2 x weight bandwidth x MACs per weight byte moved)
    double model_roof = 0;  // the same at the model's own weight bytes (no padding, no re-reads)
    std::optional<double> reference_tops;
    std::optional<std::pair<double, double>> band;
  };
  std::vector<Figure> figures;
};

// `config_name` is how the report names the configuration (for example configs/tpu_v1.yaml).
ValidationReport tpu_v1_report(const std::vector<std::string>& workloads, const sim::ChipParams& chip,
                               const std::string& config_name);

}  // namespace tpu::report
