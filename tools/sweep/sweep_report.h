#pragma once

// The report of a sweep's results directory (`tpusim report sweep DIR`):
// DIR/report.md with each metric against each swept axis (a series per
// workload), heat maps of the means over each pair of grid axes, the Pareto front of the objectives, the front's points with
// their values, the failed runs and the sweep's definition; the charts are
// drawn by gnuplot as SVG into DIR/charts/.

#include <string>

namespace tpu::sweep {

struct SweepReportOptions {
  std::string output;      // the markdown; empty: DIR/report.md
  std::string charts;      // the chart folder; empty: DIR/charts (or, with output, its name without .md)
  std::string sweep_name;  // how the report names the sweep file; empty: its absolute path
  std::string command;     // the command that regenerates the report; empty: tpusim report sweep DIR
};

// Writes the report of DIR and its charts and returns the report's path. Throws SweepError for a
// directory without a sweep's results or when gnuplot fails.
std::string write_sweep_report(const std::string& dir, const SweepReportOptions& options = {});

}  // namespace tpu::sweep
