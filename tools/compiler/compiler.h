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
  // Where dense layers run: as the model says (`engine:`), all on the sparse engine (a layer the
  // model already puts there keeps its density, the others get `density` here), all on the matrix
  // unit, or each where sparse_is_faster says.
  enum class Sparse { kAsModel, kAll, kNone, kAuto } sparse = Sparse::kAsModel;
  double density = 0.1;
  // Every sparse layer may run in column slices when too large for the engine's SRAMs (as the
  // model's `slices: true` says for one).
  bool sparse_slices = false;
};

// The cost model of --sparse auto, in chip cycles for one run of a dense layer of K inputs and M
// outputs over `samples` rows. The matrix unit streams its whole R x C tiles from weight DRAM
// (ceil(K/R) ceil(M/C) of them) while it multiplies every row by each, so it takes the longer of
// the two: bytes over the DRAM's bytes per cycle, or samples x tiles cycles. The sparse engine
// loads its image (about the kept weights, a byte each, and 2 (K + 1) bytes of pointers per PE)
// once, then per sample every PE takes every column (every activation counted as non-zero), each
// in max(1, density x its rows) cycles, plus its detector levels and pipeline, at its clock. The
// layer goes to the engine when that is less, on a chip that has one and whose PEs' SRAMs hold it.
bool sparse_is_faster(const sim::ChipParams& chip, int64_t K, int64_t M, int64_t samples, double density);

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
