#pragma once

// Lowering a quantized graph to a program for a configured chip: weight
// tiles in DRAM in the order the matrix unit consumes them, read ahead so the
// FIFO stays full; activations in the unified buffer, allocated by liveness;
// accumulators used in two halves so the activation unit drains one while
// the matrix unit fills the other; a `sync` only where one unit reads or
// overwrites what another has not finished with.

#include <cstdint>
#include <string>
#include <vector>

#include "isa/program.h"
#include "sim/base/params.h"
#include "tools/compiler/quantize.h"

namespace tpu::compiler {

struct LayerReport {
  std::string name;
  std::string op;
  uint64_t macs = 0;          // the network's multiply-accumulates, over all passes
  uint64_t weight_bytes = 0;  // int8 weights of the layer
  uint64_t tiles = 0;         // weight tiles fetched
  uint64_t instructions = 0;
  // On the sparse engine: its image's non-zero weights, fillers and bytes by part.
  bool sparse = false;
  uint64_t nonzeros = 0, fillers = 0;
  uint64_t index_bytes = 0, pointer_bytes = 0, image_bytes = 0;  // the rest: codebook, biases, header
  uint64_t slices = 0;                                            // images (column slices) of the layer
};

struct CompileReport {
  std::vector<LayerReport> layers;
  uint64_t ub_peak_bytes = 0;  // highest unified-buffer address in use
  uint64_t dram_bytes = 0;
  uint64_t instructions = 0;
};

struct Lowered {
  isa::Program program;
  CompileReport report;
};

// The tensors of one pass do not fit the unified buffer.
class UnifiedBufferOverflow : public ModelError {
 public:
  using ModelError::ModelError;
};

// What of a chip its programs depend on: the compiler is given only this, so chips that agree on
// it (differing in clock, bandwidths, latencies, ports, energy...) run the same program, and a
// compile cache keyed on it is exact.
struct CompileTarget {
  int64_t rows = 0, cols = 0;         // of the matrix unit
  int64_t accumulator_entries = 0;
  int64_t unified_buffer_bytes = 0;
  int64_t weight_fifo_tiles = 0;
  int64_t weight_dram_bytes = 0;
  // The sparse engine's PEs (0: none) and each PE's SRAMs.
  int64_t sparse_pes = 0, sparse_spmat_bytes = 0, sparse_pointer_bytes = 0, sparse_activation_bytes = 0;
  static CompileTarget of(const sim::ChipParams& chip);
  std::string key() const;  // for cache keys
};

// `passes` runs of the graph (each over its batch) one after another, reading
// and writing consecutive slices of the program's input and outputs: a batch
// too large for the unified buffer runs in sub-batches.
// Throws ModelError naming the layer and the limit when a layer cannot fit the chip.
Lowered lower(const QGraph& q, const CompileTarget& target, int64_t passes = 1);

}  // namespace tpu::compiler
