#include "tools/compiler/compiler.h"

#include "isa/sparse_image.h"
#include "sim/units/sparse_engine/pe_array.h"
#include "tools/compiler/compress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace tpu::compiler {

Compiled compile_model(const std::string& path, const sim::ChipParams& chip, const CompileOptions& options) {
  auto graph = std::make_unique<Graph>(load_model(path, options.batch, !options.timing_only));
  // --sparse all and auto take the dense layers the engine can run: not those with given integer weights.
  for (Layer& l : graph->layers) {
    if (l.op != Op::kDense || options.sparse == CompileOptions::Sparse::kAsModel) continue;
    const double density = l.sparse ? l.density : options.density;
    const Layer& in = graph->layers[static_cast<size_t>(l.inputs[0])];
    const int64_t K = in.shape.back(), samples = elements(in.shape) / K;
    const bool placed = !l.given && (options.sparse == CompileOptions::Sparse::kAll ||
                                     (options.sparse == CompileOptions::Sparse::kAuto &&
                                      sparse_is_faster(chip, K, l.units, samples, density)));
    if (placed) l.density = density;
    l.sparse = placed;
  }
  for (Layer& l : graph->layers) l.slices = l.sparse && (l.slices || options.sparse_slices);
  // A sparse layer's timing depends on where its zeros are: even a timing-only compile needs its
  // weights (generated as a full compile would, so both place the same zeros).
  if (options.timing_only && std::any_of(graph->layers.begin(), graph->layers.end(), [](const Layer& l) {
        return l.sparse && l.weights.empty();
      }))
    generate_weights(*graph);
  return compile_graph(std::move(graph), chip, options);
}

bool sparse_is_faster(const sim::ChipParams& chip, int64_t K, int64_t M, int64_t samples, double density) {
  const sim::SparseEngineParams& e = chip.sparse_engine;
  if (e.pes == 0) return false;
  const double bytes_per_cycle = chip.weight_memory.bandwidth_gb_s * 1e9 / (chip.clock_mhz * 1e6);
  const double tiles = std::ceil(double(K) / double(chip.matrix_unit.rows)) *
                       std::ceil(double(M) / double(chip.matrix_unit.cols));
  const double matrix = std::max(tiles * double(chip.matrix_unit.rows * chip.matrix_unit.cols) / bytes_per_cycle,
                                 double(samples) * tiles);
  const double kept = density * double(K) * double(M), pes = double(e.pes);
  const double local_rows = std::ceil(double(M) / pes), per_column = density * local_rows;
  // What the engine must hold: a PE's pointers and accumulators, and (about) its entries.
  if (!isa::sparse::sram_problem(uint64_t(M), uint64_t(K), uint64_t(e.pes), uint64_t(e.spmat_bytes),
                                 uint64_t(e.pointer_bytes), uint64_t(e.activation_bytes))
           .empty() ||
      per_column * double(K) > std::min<double>(double(e.spmat_bytes), double(isa::sparse::kMaxEntriesPerPe)))
    return false;
  const double load = (kept + pes * 2 * double(K + 1)) / bytes_per_cycle;
  const double engine_per_chip = e.clock_mhz > 0 ? chip.clock_mhz / e.clock_mhz : 1.0;
  // Every PE takes every column, at least a cycle each (pe_array.h).
  const double per_sample = (double(K) * std::max(1.0, per_column) +
                             double(sim::detector_levels(e.pes, e.detector_fanin)) + double(e.pipeline_stages)) *
                            engine_per_chip;
  return load + double(samples) * per_sample < matrix;
}

Compiled compile_graph(std::unique_ptr<Graph> graph, const sim::ChipParams& chip, const CompileOptions& options) {
  Compiled c;
  c.graph = std::move(graph);
  Graph& g = *c.graph;
  const std::string& path = g.file;
  // Calibrate on a batch of `calibration_samples`, reshaping the graph in place
  // (its weights are large), then give it back its batch without the float
  // weights, which the quantized graph has replaced.
  const int64_t batch = g.layers[0].shape[0];
  const int64_t per_sample = elements(g.layers[0].shape) / batch;
  // Layers for the sparse engine are compressed first, so calibration sees the network as it runs.
  for (Layer& l : g.layers)
    if (l.sparse && !l.weights.empty()) l.weights = compressed(std::move(l.weights), l.density, (1 << l.bits) - 1);
  if (options.timing_only && !options.calibration.empty())
    throw ModelError(path + ": a timing-only compile takes no calibration data (it does not calibrate)");
  if (!options.calibration.empty() && options.calibration.size() % static_cast<size_t>(per_sample) != 0)
    throw ModelError(path + ": calibration data holds " + std::to_string(options.calibration.size()) +
                     " values, not a whole number of " + std::to_string(per_sample) + "-value input samples");
  if (options.timing_only) {
    c.qgraph = quantize_for_timing(g);
  } else {
    g.layers[0].shape[0] = options.calibration.empty() ? options.calibration_samples
                                                       : static_cast<int64_t>(options.calibration.size()) / per_sample;
    infer_shapes(g);
    c.qgraph = quantize(
        g, options.calibration.empty() ? synthetic_inputs(g, 1) : std::vector<std::vector<float>>{options.calibration},
        options.percentile);
  }
  for (Layer& l : g.layers) {
    std::vector<float>().swap(l.weights);
    std::vector<float>().swap(l.bias);
  }
  // The whole batch at once if it fits the unified buffer, else the fewest equal sub-batches that do.
  for (int64_t passes = 1; passes <= batch; ++passes) {
    if (batch % passes != 0) continue;
    g.layers[0].shape[0] = batch / passes;
    infer_shapes(g);
    try {
      c.lowered = lower(c.qgraph, CompileTarget::of(chip), passes);
      c.passes = passes;
      return c;
    } catch (const UnifiedBufferOverflow&) {
      if (batch / passes == 1) throw;
    }
  }
  return c;
}

std::string report_text(const Compiled& c) {
  std::ostringstream s;
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %-15s %14s %12s %8s %8s\n", "layer", "op", "MACs", "weight B", "tiles",
                "insns");
  s << line;
  uint64_t macs = 0, bytes = 0, tiles = 0;
  for (const LayerReport& l : c.lowered.report.layers) {
    std::snprintf(line, sizeof line, "%-24s %-15s %14llu %12llu %8llu %8llu\n", l.name.c_str(), l.op.c_str(),
                  static_cast<unsigned long long>(l.macs), static_cast<unsigned long long>(l.weight_bytes),
                  static_cast<unsigned long long>(l.tiles), static_cast<unsigned long long>(l.instructions));
    s << line;
    macs += l.macs;
    bytes += l.weight_bytes;
    tiles += l.tiles;
  }
  std::snprintf(line, sizeof line, "%-24s %-15s %14llu %12llu %8llu %8llu\n", "total", "",
                static_cast<unsigned long long>(macs), static_cast<unsigned long long>(bytes),
                static_cast<unsigned long long>(tiles), static_cast<unsigned long long>(c.lowered.report.instructions));
  s << line;
  // Sparse layers, when there are any: what their images hold (other: codebook, biases, header,
  // padding), and the dense int8 weights over the image.
  bool sparse_header = false;
  for (size_t i = 0; i < c.lowered.report.layers.size(); ++i) {
    const LayerReport& l = c.lowered.report.layers[i];
    if (!l.sparse || l.image_bytes == 0) continue;
    if (!sparse_header) {
      std::snprintf(line, sizeof line, "%-24s %10s %9s %10s %10s %9s %10s %8s %7s\n", "sparse layer", "non-zeros",
                    "fillers", "indices B", "pointers B", "other B", "image B", "ratio", "slices");
      s << line;
      sparse_header = true;
    }
    const Layer& g = c.graph->layers[i];
    const double dense = double(c.graph->layers[static_cast<size_t>(g.inputs[0])].shape.back()) * double(g.units);
    std::snprintf(line, sizeof line, "%-24s %10llu %9llu %10llu %10llu %9llu %10llu %7.1fx %7llu\n", l.name.c_str(),
                  static_cast<unsigned long long>(l.nonzeros), static_cast<unsigned long long>(l.fillers),
                  static_cast<unsigned long long>(l.index_bytes), static_cast<unsigned long long>(l.pointer_bytes),
                  static_cast<unsigned long long>(l.image_bytes - l.index_bytes - l.pointer_bytes),
                  static_cast<unsigned long long>(l.image_bytes), dense / double(l.image_bytes),
                  static_cast<unsigned long long>(l.slices));
    s << line;
  }
  std::snprintf(line, sizeof line, "unified buffer peak %llu bytes, weight DRAM %llu bytes\n",
                static_cast<unsigned long long>(c.lowered.report.ub_peak_bytes),
                static_cast<unsigned long long>(c.lowered.report.dram_bytes));
  s << line;
  return s.str();
}

}  // namespace tpu::compiler
