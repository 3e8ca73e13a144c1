#pragma once

// The compiler's entry point: a model file in, a program for a configured chip
// out, with the quantized graph kept for the reference interpreter.

#include <memory>
#include <string>

#include "sim/base/params.h"
#include "tools/compiler/graph.h"
#include "tools/compiler/lower.h"
#include "tools/compiler/quantize.h"

namespace tpu::compiler {

struct CompileOptions {
  int64_t batch = 0;               // 0: the model's own
  int calibration_samples = 1;     // synthetic samples, when no calibration data is given
  double percentile = 100.0;       // of |activation| that maps to 127
  std::vector<float> calibration;  // samples of the input, back to back; empty: synthetic ones
  // The program's timing alone: no weights generated, no calibration, no weight or parameter
  // bytes in the program (which then runs only without values, with the same timing).
  bool timing_only = false;
  // Where dense layers run: as the model says (`engine:`), all on the sparse engine (compressed
  // to their own `density`, or to `density` here when they give none), or all on the matrix unit.
  enum class Sparse { kAsModel, kAll, kNone } sparse = Sparse::kAsModel;
  double density = 0.1;
};

struct Compiled {
  std::unique_ptr<Graph> graph;  // stable: the quantized graph points into it; graph->files_read: what was read
  QGraph qgraph;
  Lowered lowered;
  int64_t passes = 1;  // sub-batches the program runs one after another (the graph holds one)
};

Compiled compile_model(const std::string& path, const sim::ChipParams& chip, const CompileOptions& options = {});
// The same for a graph already loaded (with its float weights).
Compiled compile_graph(std::unique_ptr<Graph> graph, const sim::ChipParams& chip, const CompileOptions& options = {});

// The compile report as a table: per layer MACs, weight bytes, tiles, instructions.
std::string report_text(const Compiled& c);

}  // namespace tpu::compiler
