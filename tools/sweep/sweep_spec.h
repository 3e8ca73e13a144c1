#pragma once

// A design-space sweep as its YAML file describes it (configs/sweeps/*.yaml):
//
//   name: array_shape            # default: the file's stem
//   config: ../tpu_v1.yaml       # the base chip, relative to this file
//   mode: timing                 # timing (no values, no calibration) or values
//   workloads:                   # workload files, or a model and a batch
//     - ../../workloads/resnet50.yaml
//     - {model: ../../models/mlp0.yaml, batch: 200}
//   grid:                        # every combination
//     matrix_unit.rows: [128, 256, 512]
//   zip:                         # varied in lockstep: lists of one length
//     clock_mhz: [700, 1050]
//     weight_memory.bandwidth_gb_s: [34, 180]
//   points:                      # given points
//     - {sequencer.unit_queue: 2}
//   random:                      # seeded samples
//     seed: 1
//     samples: 20
//     axes:
//       weight_memory.bandwidth_gb_s: {log_uniform: [10, 200]}
//       matrix_unit.rows: {powers_of_two: [64, 1024]}
//       clock_mhz: {uniform: [500, 1000]}
//       activation_unit.lanes: {choice: [128, 256]}
//   derived:                     # keys computed from the point
//     matrix_unit.cols: ${matrix_unit.rows}
//   constraints:                 # points failing one are dropped before they run
//     - matrix_unit.rows * matrix_unit.cols <= 262144
//   metrics:                     # name: path of a figure in the run's JSON
//     tops: throughput.tops
//   means:                       # over the workloads, per point
//     tops_gmean: {metric: tops, mean: geometric}
//     tops_mix: {metric: tops, mean: weighted, weights: {mlp0: 0.6, cnn0: 0.4}}
//   objectives:                  # for Pareto fronts, over means (or metrics
//     minimize: [latency_us]     # of a sweep of one workload)
//     maximize: [tops_gmean]
//
// An axis is any key of the chip configuration, or an entry of its energy or
// area table: energy.table.offchip_pj.dram_read_bit, energy.area_table.static.
// leakage_w_per_mm2 (tools/sweep/table_axes.h).
//
// The points are the product of the blocks given (grid x zip x points x
// random), in that order, each block in its own order; then derived keys are
// set and constraints applied. Every mistake is reported at its file, line
// and column, before anything runs.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sim/base/params.h"
#include "tools/sweep/expr.h"
#include "tools/sweep/table_axes.h"

namespace tpu::sweep {

class SweepError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value of a config key at a point, as YAML text ("256", "8MiB", "pe").
using Assignment = std::pair<std::string, std::string>;

struct Point {
  size_t index = 0;                 // in the sweep, after constraints
  std::vector<Assignment> values;   // axes in the order they are declared, then derived keys
};

struct WorkloadRef {
  std::string file;   // a workload file, or
  std::string model;  // a model with
  int64_t batch = 0;  // its batch
  std::string name;   // the workload file's stem (mlp0), or the model's stem and batch (resnet50@1)
  std::string id;     // as the sweep file names it, relative to its folder: the same from any working directory
  std::string where;  // file:line:column
};

struct Sampler {
  enum class Kind { uniform, log_uniform, powers_of_two, choice } kind;
  double lo = 0, hi = 0;
  std::vector<std::string> choices;
};

struct SweepSpec {
  std::string path;
  std::string name;
  std::string config;  // resolved path
  bool timing_only = true;
  std::vector<WorkloadRef> workloads;

  // Axes: a list of values per key (grid), lists of one length (zip), given points, samplers (random).
  std::vector<std::pair<std::string, std::vector<std::string>>> grid, zip;
  std::vector<std::vector<Assignment>> points;
  uint64_t seed = 0, samples = 0;
  std::vector<std::pair<std::string, Sampler>> random;
  std::vector<std::pair<std::string, std::string>> derived;  // key, text with ${...}
  std::vector<std::pair<std::string, Expr>> constraints;     // text, expression
  std::vector<std::pair<std::string, std::string>> metrics;  // name, JSON path
  struct Mean {
    std::string name, metric;
    enum class Kind { arithmetic, geometric, weighted } kind = Kind::arithmetic;
    std::vector<double> weights;  // weighted: one per workload, in their order
  };
  std::vector<Mean> means;
  std::vector<std::string> minimize, maximize;

  // Where each key of the file was given, for messages about a point.
  std::map<std::string, std::string> where;
};

// Reads and checks `path`; throws SweepError naming file:line:column.
SweepSpec load_sweep(const std::string& path);

// The points, in order, with derived keys set and constraints applied; a point
// whose derived value or constraint cannot be computed is an error naming it.
std::vector<Point> expand(const SweepSpec& spec);

// A point's chip: the base configuration with its values set, checked as any configuration is
// (throws sim::ConfigError naming what is wrong). Where table-entry axes change a table, the
// configuration names a copy of it (table_axes.h) that this does not write: `tables` receives the
// copies, for a run to write (write_table) before its chip reads them.
sim::ChipParams point_params(const SweepSpec& spec, const Point& point, std::vector<TableCopy>* tables = nullptr);

// The count before constraints (the product of the blocks' sizes).
uint64_t product_size(const SweepSpec& spec);

}  // namespace tpu::sweep
