#pragma once

// Chip: the top of the model. It builds every unit from the parameters, wires
// them as in the block diagram, loads a program (its weight-DRAM and host
// images, then any input tensors) and runs it to `halt`, a fault, a deadlock
// or the watchdog. A process can elaborate SystemC only once, so a Chip is
// built and run once per process.
//
//   host memory --HostInterface--> instruction buffer --> Sequencer --+--> unit queues
//   HostInterface <--> UnifiedBuffer <--> MatrixUnit --> Accumulators --> ActivationUnit
//   WeightMemory --> WeightFifo --> MatrixUnit
//   WeightMemory --> SparseEngine <--> UnifiedBuffer   (when the chip has one)

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "isa/program.h"
#include "sim/base/context.h"
#include "sim/base/paged_memory.h"
#include "sim/base/params.h"
#include "sim/units/sequencer/sequencer.h"

namespace tpu::sim {

class UnifiedBuffer;
class Accumulators;
class WeightFifo;
class WeightMemory;
class HostInterface;
class MatrixUnit;
class ActivationUnit;
class SparseEngine;

struct RunOptions {
  bool compute_values = true;  // false: timing only
  bool trace = false;          // record per-instruction slices
  std::string vcd_path;        // empty: no waveform
};

// Everything a run produced, before it is written out.
struct RunOutcome {
  bool halted = false;
  std::optional<FaultInfo> fault;
  Cycle cycles = 0;
  std::vector<const StatGroup*> stats;  // every unit's statistics, in chip order
  std::array<uint64_t, 256> instructions_by_opcode{};
  std::vector<Interrupt> interrupts;
  std::vector<RegionMark> regions;
  std::vector<TraceSlice> trace;
  std::vector<TraceCounter> trace_counters;
  uint64_t ub_bytes_used = 0;
};

class Chip {
 public:
  Chip(const ChipParams& params, const isa::Program& program, const RunOptions& options);
  ~Chip();

  // Writes `bytes` into host memory at the address of input tensor `name`;
  // throws std::invalid_argument if the name or the size is wrong.
  void set_input(const std::string& name, const std::vector<uint8_t>& bytes);
  RunOutcome run();
  // The bytes of a tensor after the run (host, ub or dram, by its space).
  std::vector<uint8_t> tensor_bytes(const isa::TensorDesc& t) const;
  // Memory contents after the run, for tests and debugging.
  std::vector<uint8_t> unified_buffer_bytes() const;
  std::vector<int32_t> accumulator_values() const;  // entries x cols, row-major
  std::vector<uint8_t> host_bytes(uint64_t addr, uint64_t n) const;
  uint64_t pe_steps() const;  // cycles the pe fidelity stepped the array

 private:
  const ChipParams& params_;
  const isa::Program& program_;
  RunOptions options_;
  ChipContext ctx_;
  TraceRecorder trace_;
  PagedMemory host_memory_;
  std::unique_ptr<sc_core::sc_fifo<int64_t>> instruction_buffer_;
  std::unique_ptr<UnifiedBuffer> ub_;
  std::unique_ptr<Accumulators> acc_;
  std::unique_ptr<WeightFifo> fifo_;
  std::unique_ptr<WeightMemory> weight_memory_;
  std::unique_ptr<HostInterface> host_;
  std::unique_ptr<Sequencer> sequencer_;
  std::unique_ptr<MatrixUnit> matrix_;
  std::unique_ptr<ActivationUnit> activation_;
  std::unique_ptr<SparseEngine> sparse_;  // null without one (sparse_engine.pes: 0)
  sc_core::sc_trace_file* vcd_ = nullptr;
};

}  // namespace tpu::sim
