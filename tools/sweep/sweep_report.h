#pragma once

// The report of a sweep's results directory (`tpusim report sweep DIR`):
// DIR/report.md with each metric against each swept axis (a series per
// workload), the Pareto front of the objectives, the front's points with
// their values, the failed runs and the sweep's definition; the charts are
// drawn by gnuplot as SVG into DIR/charts/.

#include <string>

namespace tpu::sweep {

// Writes DIR/report.md and its charts and returns the report's path. Throws SweepError for a
// directory without a sweep's results or when gnuplot fails.
std::string write_sweep_report(const std::string& dir);

}  // namespace tpu::sweep
